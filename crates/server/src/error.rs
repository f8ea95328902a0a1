//! The server's one error type, and how each variant becomes an HTTP answer.
//!
//! Bodies follow the three shapes of `API.md` ("Error bodies"): validation
//! (422) `{"message","errors":{field:[…]}}`, auth (401/403)
//! `{"error":{"code","message"}}`, and everything else `{"message"}`.

use std::collections::BTreeMap;
use std::fmt;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Everything a request (or starting the server) can fail with.
///
/// Messages are lowercase and say what to do. They never contain a secret, a
/// token or patient data, so they can be logged and sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The body or a field failed validation (422); `errors` maps each field to
    /// its messages.
    Validation {
        /// One line summing the errors up.
        message: String,
        /// Field name → messages.
        errors: BTreeMap<String, Vec<String>>,
    },
    /// Authentication failed (401): missing or bad signature, token or API key.
    Unauthorized {
        /// A stable snake_case code, e.g. `signature_mismatch`.
        code: &'static str,
        /// What failed and what to do.
        message: String,
    },
    /// Authenticated, but not allowed to do this (403).
    Forbidden {
        /// A stable snake_case code, e.g. `insufficient_scope`.
        code: &'static str,
        /// What is missing.
        message: String,
    },
    /// Too many requests for this credential in the current minute (429).
    RateLimited {
        /// Seconds until the window resets, sent as `Retry-After`.
        retry_after_secs: u64,
    },
    /// The request is malformed in a way that is not a field validation (400).
    BadRequest(String),
    /// Nothing exists under this id (404).
    NotFound(String),
    /// It existed, but was terminated or expired (410).
    Gone(String),
    /// The tus `Upload-Offset` does not match the server's offset (409).
    OffsetMismatch {
        /// The offset the server has.
        expected: u64,
        /// The offset the request claimed.
        got: u64,
    },
    /// Another request is writing to this upload right now (423).
    Locked,
    /// The upload is larger than allowed (413).
    TooLarge(String),
    /// Wrong content type, or the bytes are not of an allowed type (415).
    UnsupportedMediaType(String),
    /// The project's storage quota would be exceeded (402).
    QuotaExceeded(String),
    /// The request's `Tus-Resumable` is missing or not `1.0.0` (412).
    UnsupportedTusVersion,
    /// A tus chunk does not match its `Upload-Checksum` (460); it was discarded.
    ChecksumMismatch,
    /// A serve-token URL is invalid, expired or for another path (403 with the
    /// fixed body of `TOKENS.md`).
    InvalidServeToken,
    /// A call this server made to another HTTP server failed (502).
    Upstream(String),
    /// The embedded database failed (500).
    Database(rusqlite::Error),
    /// Reading or writing the data directory failed (500).
    Io(std::io::Error),
    /// The configuration cannot work (at start-up).
    Config(String),
    /// Anything else that is the server's fault (500).
    Internal(String),
}

impl Error {
    /// A 422 with one message for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Error {
        let message = message.into();
        Error::Validation {
            message: message.clone(),
            errors: BTreeMap::from([(field.to_owned(), vec![message])]),
        }
    }

    /// A 422 from field errors collected while validating a body; the summary
    /// joins every message with ", " as clients do.
    pub fn fields(errors: BTreeMap<String, Vec<String>>) -> Error {
        let message = errors
            .values()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        Error::Validation { message, errors }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } | Error::InvalidServeToken => StatusCode::FORBIDDEN,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Gone(_) => StatusCode::GONE,
            Error::OffsetMismatch { .. } => StatusCode::CONFLICT,
            Error::Locked => StatusCode::LOCKED,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::QuotaExceeded(_) => StatusCode::PAYMENT_REQUIRED,
            Error::UnsupportedTusVersion => StatusCode::PRECONDITION_FAILED,
            Error::ChecksumMismatch => checksum_mismatch_status(),
            Error::Upstream(_) => StatusCode::BAD_GATEWAY,
            Error::Database(_) | Error::Io(_) | Error::Config(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// 460 "Checksum Mismatch" of the tus checksum extension.
fn checksum_mismatch_status() -> StatusCode {
    StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Validation { message, .. } => f.write_str(message),
            Error::Unauthorized { message, .. } | Error::Forbidden { message, .. } => {
                f.write_str(message)
            }
            Error::RateLimited { retry_after_secs } => write!(
                f,
                "rate limit exceeded for this credential; retry after {retry_after_secs} s"
            ),
            Error::BadRequest(m)
            | Error::NotFound(m)
            | Error::Gone(m)
            | Error::TooLarge(m)
            | Error::UnsupportedMediaType(m)
            | Error::QuotaExceeded(m)
            | Error::Upstream(m)
            | Error::Config(m)
            | Error::Internal(m) => f.write_str(m),
            Error::OffsetMismatch { expected, got } => write!(
                f,
                "upload-offset {got} does not match the server's offset {expected}; send HEAD to get the offset and resume from there"
            ),
            Error::Locked => f.write_str(
                "another request is writing to this upload; wait for it to finish, then HEAD and resume",
            ),
            Error::UnsupportedTusVersion => {
                f.write_str("tus-resumable must be 1.0.0; this server speaks tus 1.0.0 only")
            }
            Error::ChecksumMismatch => f.write_str(
                "upload-checksum does not match the chunk; the chunk was discarded, send it again",
            ),
            Error::InvalidServeToken => f.write_str("Invalid or expired signature"),
            Error::Database(e) => write!(f, "database error: {e}"),
            Error::Io(e) => write!(f, "storage error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Database(e) => Some(e),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Database(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<aura_hmac::Error> for Error {
    /// Signature and token failures are authentication failures (401) with
    /// aura-hmac's code and message.
    fn from(e: aura_hmac::Error) -> Self {
        Error::Unauthorized {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The details go to the log only; they name no patient data.
            tracing::error!(error = %self, "request failed");
        }
        let body = match &self {
            Error::Validation { message, errors } => {
                json!({ "message": message, "errors": errors })
            }
            Error::Unauthorized { code, message } | Error::Forbidden { code, message } => {
                json!({ "error": { "code": code, "message": message } })
            }
            _ if status.is_server_error() => {
                json!({ "message": "internal server error; see the server log" })
            }
            other => json!({ "message": other.to_string() }),
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Error::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Error::UnsupportedTusVersion => {
                headers.insert("tus-version", HeaderValue::from_static("1.0.0"));
            }
            _ => {}
        }
        response
    }
}
