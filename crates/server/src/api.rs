//! The Aura API endpoints of `API.md`: token exchange, uploader config, the
//! upload lifecycle, manage, and viewer links.

use std::collections::{BTreeMap, HashMap};

use aura_hmac::token::{LiftToken, ServeToken};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::auth::{authorize_signed, authorize_token, token_hash, Requirement, SCOPES};
use crate::db::{NewEvent, NewToken, SessionInit};
use crate::ratelimit::RateClass;
use crate::state::AppState;
use crate::timefmt::rfc3339;
use crate::{random, Error};

/// Default upload-token lifetime when `ttl` is not sent, in seconds.
const DEFAULT_TTL_SECS: u64 = 3_600;

/// Field errors collected while validating a body.
type FieldErrors = BTreeMap<String, Vec<String>>;

fn push(errors: &mut FieldErrors, field: &str, message: String) {
    errors.entry(field.to_owned()).or_default().push(message);
}

/// Parses a JSON object body; an empty body is `{}` when `empty_ok`.
/// Anything else is a 422 on the `body` field.
fn parse_object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        if empty_ok {
            return Ok(Map::new());
        }
        return Err(Error::field(
            "body",
            "request body is empty; send a json object",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::field("body", "request body must be a json object")),
        Err(e) => Err(Error::field(
            "body",
            format!("request body is not valid json: {e}"),
        )),
    }
}

/// An upload id: 1–128 of letters, digits, `.`, `_`, `-`.
fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The required `upload_id` field.
fn upload_id(map: &Map<String, Value>, errors: &mut FieldErrors) -> String {
    match map.get("upload_id") {
        None | Some(Value::Null) => {
            push(
                errors,
                "upload_id",
                "the upload_id field is required".to_owned(),
            );
            String::new()
        }
        Some(Value::String(id)) if is_valid_id(id) => id.clone(),
        Some(_) => {
            push(
                errors,
                "upload_id",
                "upload_id must be 1-128 letters, digits, '.', '_' or '-'".to_owned(),
            );
            String::new()
        }
    }
}

/// An optional string field.
fn optional_str(map: &Map<String, Value>, field: &str, errors: &mut FieldErrors) -> Option<String> {
    match map.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            push(errors, field, format!("{field} must be a string"));
            None
        }
    }
}

/// `POST /api/auth/exchange`: an AURA-HMAC-SHA256 request with `X-Api-Key`
/// gets an upload token.
pub(crate) async fn exchange(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    let app = authorize_signed(&state, &method, &uri, &headers, &body, RateClass::Exchange)?;
    let map = parse_object(&body, true)?;
    let cap = state.config().limits.max_token_ttl_secs;
    let mut errors = FieldErrors::new();

    let ttl = match map.get("ttl") {
        None | Some(Value::Null) => DEFAULT_TTL_SECS.min(cap),
        Some(value) => match value.as_u64() {
            Some(ttl) if (1..=cap).contains(&ttl) => ttl,
            Some(ttl) if ttl > cap => {
                push(
                    &mut errors,
                    "ttl",
                    format!("ttl may not be greater than {cap} seconds"),
                );
                0
            }
            _ => {
                push(
                    &mut errors,
                    "ttl",
                    format!("ttl must be a whole number of seconds from 1 to {cap}"),
                );
                0
            }
        },
    };

    let scopes: Vec<String> = match map.get("scopes") {
        None | Some(Value::Null) => SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        Some(Value::Array(items)) => {
            let mut scopes = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(scope) if SCOPES.contains(&scope) => {
                        if !scopes.iter().any(|s| s == scope) {
                            scopes.push(scope.to_owned());
                        }
                    }
                    _ => push(
                        &mut errors,
                        "scopes",
                        format!("scopes may only contain {}", SCOPES.join(", ")),
                    ),
                }
            }
            if items.is_empty() {
                push(
                    &mut errors,
                    "scopes",
                    "scopes must name at least one scope".to_owned(),
                );
            }
            scopes
        }
        Some(_) => {
            push(
                &mut errors,
                "scopes",
                "scopes must be an array of scope names".to_owned(),
            );
            Vec::new()
        }
    };

    let max_uses = match map.get("max_uses") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                push(
                    &mut errors,
                    "max_uses",
                    "max_uses must be a whole number of at least 1".to_owned(),
                );
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(Error::fields(errors));
    }

    let now = state.now();
    let token = random::upload_token()?;
    let expires_at = now.saturating_add(ttl);
    state.s().db.insert_token(&NewToken {
        token_sha256: &token_hash(&token),
        app_id: &app.app_id,
        scopes: &scopes,
        max_uses,
        created_at: now,
        expires_at,
    })?;
    tracing::info!(app_id = %app.app_id, ttl, "upload token issued");
    Ok(Json(json!({
        "token": token,
        "expires_at": rfc3339(expires_at),
        "scopes": scopes,
        "max_uses": max_uses,
    })))
}

/// `GET /api/uploader/config`: the tus endpoint and a lift token for it.
///
/// An optional `?upload_id=` binds the lift token to that upload session.
pub(crate) async fn uploader_config(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Error> {
    let auth = authorize_token(
        &state,
        &headers,
        Requirement {
            scope: "integration:read",
            api_key: true,
            rate: RateClass::Config,
        },
    )?;
    let upload_id = match query.get("upload_id") {
        Some(id) if is_valid_id(id) => Some(id.clone()),
        Some(_) => {
            return Err(Error::field(
                "upload_id",
                "upload_id must be 1-128 letters, digits, '.', '_' or '-'",
            ))
        }
        None => None,
    };
    let limits = &state.config().limits;
    let now = state.now();
    let lift = LiftToken {
        project_name: auth.app.bucket.clone(),
        max_size: limits.max_upload_bytes,
        allowed_types: vec!["application/zip".to_owned()],
        iat: now,
        exp: now.saturating_add(limits.lift_token_ttl_secs),
        visibility: Some("private".to_owned()),
        upload_id,
    };
    let token = lift.mint(&state.s().lift_secret)?;
    Ok(Json(json!({
        "lift": {
            "endpoint": format!("{}/files/", state.public_url()),
            "token": token,
            "bucket": auth.app.bucket,
        },
        "mode": "bulk",
    })))
}

/// `POST /api/uploader/upload/init`: stores the session and its studies.
pub(crate) async fn upload_init(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    let auth = authorize_token(
        &state,
        &headers,
        Requirement {
            scope: "upload:init",
            api_key: true,
            rate: RateClass::Lifecycle,
        },
    )?;
    let map = parse_object(&body, false)?;
    let mut errors = FieldErrors::new();
    let upload_id = upload_id(&map, &mut errors);
    let mode = optional_str(&map, "mode", &mut errors);
    let kind = optional_str(&map, "type", &mut errors);
    let source = optional_str(&map, "source", &mut errors);
    let mut studies = Vec::new();
    match map.get("studies") {
        Some(Value::Object(by_uid)) if !by_uid.is_empty() => {
            for (uid, info) in by_uid {
                if uid.is_empty() || uid.len() > 128 {
                    push(
                        &mut errors,
                        "studies",
                        "each study must be keyed by its StudyInstanceUID".to_owned(),
                    );
                } else if !info.is_object() {
                    push(
                        &mut errors,
                        "studies",
                        "each study must be a StudyInfo object".to_owned(),
                    );
                } else {
                    studies.push((uid.clone(), info.clone()));
                }
            }
        }
        Some(Value::Object(_)) => push(
            &mut errors,
            "studies",
            "studies must contain at least one study".to_owned(),
        ),
        None | Some(Value::Null) => push(
            &mut errors,
            "studies",
            "the studies field is required".to_owned(),
        ),
        Some(_) => push(
            &mut errors,
            "studies",
            "studies must be an object keyed by StudyInstanceUID".to_owned(),
        ),
    }
    if !errors.is_empty() {
        return Err(Error::fields(errors));
    }
    let context = map.get("context").filter(|c| !c.is_null());
    let ids = state.s().db.init_session(
        &SessionInit {
            app_id: &auth.app.app_id,
            upload_id: &upload_id,
            mode: mode.as_deref(),
            kind: kind.as_deref(),
            source: source.as_deref(),
            context,
            at: state.now(),
        },
        &studies,
        || Ok(format!("st_{}", uuid::Uuid::new_v4().simple())),
    )?;
    tracing::info!(upload_id = %upload_id, studies = ids.len(), "upload session initialised");
    Ok(Json(json!({
        "studies": ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
    })))
}

/// One of the lifecycle calls after `init`.
#[derive(Debug, Clone, Copy)]
enum Step {
    Start,
    Complete,
    Failed,
    Cancel,
    Submit,
    Withdraw,
}

impl Step {
    fn kind(self) -> &'static str {
        match self {
            Step::Start => "start",
            Step::Complete => "complete",
            Step::Failed => "error",
            Step::Cancel => "cancel",
            Step::Submit => "submit",
            Step::Withdraw => "withdraw",
        }
    }

    fn status(self) -> &'static str {
        match self {
            Step::Start => "uploading",
            Step::Complete => "completed",
            Step::Failed => "failed",
            Step::Cancel => "cancelled",
            Step::Submit => "submitted",
            Step::Withdraw => "withdrawn",
        }
    }

    fn is_manage(self) -> bool {
        matches!(self, Step::Submit | Step::Withdraw)
    }
}

/// Records one lifecycle step; the shared body of the handlers below.
async fn step(
    state: AppState,
    headers: HeaderMap,
    body: Bytes,
    step: Step,
) -> Result<Json<Value>, Error> {
    let auth = authorize_token(
        &state,
        &headers,
        Requirement {
            scope: "upload:manage",
            api_key: !step.is_manage(),
            rate: RateClass::Lifecycle,
        },
    )?;
    let map = parse_object(&body, false)?;
    let mut errors = FieldErrors::new();
    let upload_id = upload_id(&map, &mut errors);
    let assembly_id = optional_str(&map, "assembly_id", &mut errors);
    let message = match step {
        Step::Failed => optional_str(&map, "message", &mut errors),
        Step::Withdraw => optional_str(&map, "reason", &mut errors),
        _ => None,
    };
    let details = match step {
        Step::Submit => map.get("metadata").filter(|m| !m.is_null()),
        _ => None,
    };
    if let Some(details) = details {
        if !details.is_object() {
            push(
                &mut errors,
                "metadata",
                "metadata must be an object".to_owned(),
            );
        }
    }
    if !errors.is_empty() {
        return Err(Error::fields(errors));
    }
    state.s().db.record_event(&NewEvent {
        app_id: &auth.app.app_id,
        upload_id: &upload_id,
        kind: step.kind(),
        status: step.status(),
        assembly_id: assembly_id.as_deref(),
        message: message.as_deref(),
        details,
        at: state.now(),
    })?;
    tracing::info!(upload_id = %upload_id, event = step.kind(), "lifecycle event recorded");
    let mut answer = json!({
        "success": true,
        "upload_id": upload_id,
        "status": step.status(),
    });
    if step.is_manage() {
        answer["message"] = Value::Null;
    }
    Ok(Json(answer))
}

/// `POST /api/uploader/upload/start`.
pub(crate) async fn upload_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    step(state, headers, body, Step::Start).await
}

/// `POST /api/uploader/upload/complete`.
pub(crate) async fn upload_complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    step(state, headers, body, Step::Complete).await
}

/// `POST /api/uploader/upload/error`.
pub(crate) async fn upload_error(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    step(state, headers, body, Step::Failed).await
}

/// `POST /api/uploader/upload/cancel`.
pub(crate) async fn upload_cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    step(state, headers, body, Step::Cancel).await
}

/// `POST /api/uploader/manage/submit` (Bearer only).
pub(crate) async fn manage_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    step(state, headers, body, Step::Submit).await
}

/// `POST /api/uploader/manage/withdraw` (Bearer only).
pub(crate) async fn manage_withdraw(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    step(state, headers, body, Step::Withdraw).await
}

/// `POST /api/integrations/transfers/{transfer_id}/viewer-link`: a signed
/// read link to a stored upload, with a PIN.
///
/// `transfer_id` is a tus upload id, a study id from `upload/init`, or an
/// upload session id (its first completed upload).
pub(crate) async fn viewer_link(
    State(state): State<AppState>,
    Path(transfer_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Error> {
    let app = authorize_signed(&state, &method, &uri, &headers, &body, RateClass::Lifecycle)?;
    parse_object(&body, true)?;
    let s = state.s();
    let upload =
        s.db.resolve_transfer(&transfer_id, &app.bucket)?
            .ok_or_else(|| {
                Error::NotFound(
                    "no completed upload for this transfer id; finish the upload first".to_owned(),
                )
            })?;
    let now = state.now();
    let ttl = state.config().limits.viewer_link_ttl_secs;
    let file = format!("{upload}.zip");
    let token = ServeToken::mint(&app.serve_secret, &app.bucket, &file, now, ttl)?;
    let expires_at = now.saturating_add(ttl.clamp(
        aura_hmac::token::MIN_SERVE_SECS,
        aura_hmac::token::MAX_SERVE_SECS,
    ));
    let pin = random::pin()?;
    s.db.insert_viewer_link(&app.app_id, &transfer_id, &upload, &pin, now, expires_at)?;
    Ok(Json(json!({
        "url": format!("{}/{}/{file}?token={token}", state.public_url(), app.bucket),
        "pin": pin,
        "expires_at": rfc3339(expires_at),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_is_a_422_on_the_body_field() {
        match parse_object(b"{not json", false) {
            Err(Error::Validation { errors, .. }) => assert!(errors.contains_key("body")),
            other => panic!("expected 422, got {other:?}"),
        }
        assert!(parse_object(b"  ", true).unwrap().is_empty());
        assert!(matches!(
            parse_object(b"[1]", true),
            Err(Error::Validation { .. })
        ));
    }

    #[test]
    fn upload_ids_cannot_hold_path_characters() {
        assert!(is_valid_id("550e8400-e29b-41d4-a716-446655440000"));
        assert!(is_valid_id("your-upload-id"));
        for bad in ["", "../x", "a/b", "a b", &"x".repeat(129)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
