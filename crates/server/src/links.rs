//! `GET /<project>/<file>?token=…`: a stored upload behind a serve token.

use std::collections::HashMap;

use aura_hmac::token::ServeToken;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use crate::state::AppState;
use crate::Error;

/// Streams a completed upload when the serve token is valid for exactly this
/// project and file and not expired; 403 `Invalid or expired signature`
/// otherwise.
pub(crate) async fn serve_upload(
    State(state): State<AppState>,
    Path((project, file)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
) -> Result<Response, Error> {
    let s = state.s();
    let Some(app) = s.db.app_by_bucket(&project)? else {
        // Not a bucket: a static file (e.g. /npm/index.js) or nothing.
        let mounts = &state.config().static_mounts;
        return match crate::assets::try_serve(mounts, &method, &uri).await? {
            Some(response) => Ok(response),
            None => Err(Error::InvalidServeToken),
        };
    };
    let token = query.get("token").ok_or(Error::InvalidServeToken)?;
    ServeToken::verify(&app.serve_secret, token, &project, &file, state.now())
        .map_err(|_| Error::InvalidServeToken)?;
    let not_found = || Error::NotFound("the upload behind this link no longer exists".to_owned());
    let id = file.strip_suffix(".zip").ok_or_else(not_found)?;
    let upload = s.db.tus_upload(id)?.ok_or_else(not_found)?;
    if upload.project != project || upload.completed_at.is_none() || upload.deleted_at.is_some() {
        return Err(not_found());
    }
    let handle = tokio::fs::File::open(state.upload_path(&upload.id)).await?;
    let mut response =
        (StatusCode::OK, Body::from_stream(ReaderStream::new(handle))).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(upload.length));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}
