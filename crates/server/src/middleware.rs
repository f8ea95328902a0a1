//! Request logging and CORS, around every route.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Headers a browser may read cross-origin: those of `TUS.md`, and
/// `Retry-After` so that a client obeys a 429 or 503.
pub const EXPOSE_HEADERS: &str = "Upload-Offset, Location, Upload-Length, Tus-Version, \
Tus-Resumable, Tus-Max-Size, Tus-Extension, Upload-Metadata, Upload-Expires, Retry-After";

/// Headers a browser may send cross-origin: those of `TUS.md` plus `X-Api-Key`.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Upload-Length, Upload-Offset, \
Tus-Resumable, Upload-Metadata, Upload-Defer-Length, Upload-Checksum, X-Request-ID, X-Api-Key";

/// Headers a browser may send cross-origin to `POST /api/auth/exchange`:
/// the signing headers too, so that a page that signs the exchange itself
/// (the published widget's example page does, for demonstration) can send
/// it from an allowed origin.
pub const ALLOW_HEADERS_EXCHANGE: &str =
    "Authorization, Content-Type, X-Api-Key, X-Aura-Timestamp, X-Aura-Nonce, X-Request-ID";

/// The path of the token exchange.
const EXCHANGE_PATH: &str = "/api/auth/exchange";

/// Methods a browser may use cross-origin.
pub const ALLOW_METHODS: &str = "GET, POST, PATCH, HEAD, DELETE, OPTIONS";

/// Logs method, path (never the query, which can carry a token), status and
/// duration of every request.
pub(crate) async fn log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// CORS for the allowed origins: answers preflights itself and adds
/// `Access-Control-Allow-Origin` and `-Expose-Headers` to other answers.
/// A disallowed origin gets no CORS headers (the browser then blocks it).
pub(crate) async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let allowed = origin.filter(|o| o.to_str().is_ok_and(|o| state.s().origins.allows(o)));
    let preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let exchange = request.uri().path() == EXCHANGE_PATH;
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        if let Some(origin) = allowed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(if exchange {
                    ALLOW_HEADERS_EXCHANGE
                } else {
                    ALLOW_HEADERS
                }),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    response
}

/// Largest body of a non-JSON error answer that is rewritten; axum's own
/// rejections are one short line.
const MAX_REWRITTEN_ERROR: usize = 4096;

/// Gives errors that axum answers itself (405 without a body, a JSON body
/// over the size limit, a query string it cannot parse) the
/// `{"message":"…"}` shape of `API.md`, so every client can show them.
/// Answers that are already JSON, and successes, pass unchanged.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_REWRITTEN_ERROR)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let mut message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    } else {
        text.to_lowercase()
    };
    if status == StatusCode::METHOD_NOT_ALLOWED {
        // axum adds the `Allow` header after this layer has run.
        message = "method not allowed on this route; its allow header lists the methods it \
                   accepts (see API.md)"
            .to_owned();
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        message = format!(
            "request body is larger than the {} MiB this endpoint reads",
            crate::MAX_JSON_BODY >> 20
        );
    }
    let body = serde_json::json!({ "message": message }).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
