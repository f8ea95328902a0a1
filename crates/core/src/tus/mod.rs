//! A tus 1.0.0 client with no IO: it is told the time and what the network
//! answered, and it says which request to send next and when to wake up.
//!
//! The shape is quinn-proto's (`shared/STYLE.md`): a [`TusUpload`] takes
//! input through `handle_response`, `handle_progress`, `handle_failure` and
//! `handle_timeout(now)`, and gives output through
//! [`TusUpload::poll_action`] (requests to send, requests to abort),
//! [`TusUpload::poll_timeout`] (when to call `handle_timeout`) and
//! [`TusUpload::poll_event`] (what the user should know). Time is
//! milliseconds since the Unix epoch (`Date.now()` in the browser), always
//! passed in, so the tests drive it with a virtual clock.
//!
//! The protocol is core tus plus `creation`, `termination` and
//! `expiration` (`shared/spec/TUS.md`). A PATCH carries no bytes here, only
//! the range of the study archive it must send
//! ([`HttpRequest::body`]); the shell reads that range from
//! [`crate::zip::StudyZip::read_at`], so an upload holds at most one chunk in
//! memory whatever the study's size.
//!
//! The shell's loop, here with a stand-in for the network:
//!
//! ```
//! use auraloader_core::tus::{Action, HttpResponse, TusConfig, TusEvent, TusUpload, UploadSpec};
//!
//! let spec = UploadSpec::new("https://up.example/files/", "lift-token", 10);
//! let mut upload = TusUpload::new(TusConfig::default(), spec)?;
//! let mut now = 0;
//! while !upload.is_finished() {
//!     match upload.poll_action(now) {
//!         Some(Action::Send(request)) => {
//!             // Send `request`; a PATCH's body is `request.body`, a byte
//!             // range of the study archive. Report `handle_progress` while
//!             // it goes, then the answer (or `handle_failure`).
//!             let response = match &request.body {
//!                 None => HttpResponse::new(201).with_header("Location", "/files/1"),
//!                 Some(range) => HttpResponse::new(204)
//!                     .with_header("Upload-Offset", range.end.to_string()),
//!             };
//!             upload.handle_response(request.id, now, &response);
//!         }
//!         Some(Action::Abort(_id)) => { /* abort that request's fetch */ }
//!         None => {
//!             // Sleep until the deadline (or the next answer), then:
//!             now = upload.poll_timeout().unwrap_or(now);
//!             upload.handle_timeout(now);
//!         }
//!     }
//! }
//! let events: Vec<TusEvent> = std::iter::from_fn(|| upload.poll_event()).collect();
//! assert!(matches!(
//!     events.last(),
//!     Some(TusEvent::Completed { url }) if url == "https://up.example/files/1"
//! ));
//! # Ok::<(), auraloader_core::tus::TusError>(())
//! ```
//!
//! Around the single upload:
//! - [`UploadQueue`] runs several uploads, a few at a time (default 2);
//! - [`fingerprint`] and [`FingerprintStore`] let a reloaded page find the
//!   upload URL of the same study again and resume instead of starting over;
//! - [`SpeedEstimator`] turns acknowledged bytes and time into a smoothed
//!   speed and an ETA.

mod date;
mod fingerprint;
mod http;
mod queue;
mod speed;
mod upload;

pub use date::{parse_http_date, parse_retry_after};
pub use fingerprint::{fingerprint, FileStamp, FingerprintStore, MemoryFingerprintStore};
pub use http::{resolve_location, HttpRequest, HttpResponse, Method, RequestId};
pub use queue::{UploadKey, UploadQueue, DEFAULT_CONCURRENCY};
pub use speed::SpeedEstimator;
pub use upload::{
    Action, FailureKind, Progress, StudyMetadata, TusConfig, TusEvent, TusUpload, UploadSpec,
};

/// The protocol version sent in `Tus-Resumable` on every request.
pub const TUS_VERSION: &str = "1.0.0";

/// Why a request is retried (or the upload re-created): carried by
/// [`TusEvent::Retrying`] and, when retries run out, by
/// [`TusError::RetriesExhausted`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// The server answered with this 5xx status.
    ServerError(u16),
    /// The server answered 429: too many requests.
    RateLimited,
    /// The server answered 423: another request is still writing the upload.
    Locked,
    /// The server answered 409: its offset is not the one sent.
    Conflict,
    /// A PATCH was accepted but the server's offset did not move forward.
    NoProgress,
    /// The request failed before an answer: connection refused, reset, offline.
    Network(String),
    /// The request was aborted by someone other than this client.
    Aborted,
    /// Nothing arrived for this many milliseconds: the request was aborted.
    Stalled(u64),
    /// The server no longer has the upload (this status, 404 or 410): it is
    /// created again.
    Gone(u16),
    /// The server's upload has another length than the archive (this many
    /// bytes): it belongs to something else and is created again.
    LengthMismatch(u64),
}

impl std::fmt::Display for RetryReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ServerError(status) => write!(f, "the upload server failed (HTTP {status})"),
            Self::RateLimited => f.write_str("the upload server asked to slow down (HTTP 429)"),
            Self::Locked => f.write_str("the upload was busy on the server (HTTP 423)"),
            Self::Conflict => f.write_str("the server had another offset than expected (HTTP 409)"),
            Self::NoProgress => f.write_str("the server accepted a chunk but kept none of it"),
            Self::Network(why) => write!(f, "the connection failed: {why}"),
            Self::Aborted => f.write_str("the request was aborted"),
            Self::Stalled(ms) => write!(f, "nothing moved for {} s", ms.div_ceil(1000)),
            Self::Gone(status) => {
                write!(f, "the server no longer has the upload (HTTP {status})")
            }
            Self::LengthMismatch(len) => write!(
                f,
                "the server's upload is {len} bytes long, not the study's length"
            ),
        }
    }
}

/// Why an upload stopped for good. Every message says what happened and
/// what the person at the screen can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TusError {
    /// The upload was set up wrongly by the calling code: an endpoint that
    /// is not http(s), a zero chunk size or stall timeout, a bad metadata key.
    InvalidUpload(String),
    /// 401: the lift token expired or is not valid.
    Unauthorized,
    /// 403: the server refuses this origin, project or upload session.
    Forbidden,
    /// 413: the archive is larger than the server accepts.
    TooLarge {
        /// The archive's length in bytes.
        length: u64,
    },
    /// 415: the server refuses the content type or the kind of file.
    UnsupportedMediaType,
    /// 412: the server does not speak tus 1.0.0.
    UnsupportedVersion,
    /// 404 or 410 to the creation request: the endpoint is wrong.
    EndpointNotFound {
        /// The status the server answered.
        status: u16,
    },
    /// Another 4xx (or 409 outside a PATCH): the server rejected the request
    /// and repeating it would not help.
    Rejected {
        /// The status the server answered.
        status: u16,
    },
    /// Every retry failed (or the total failure bound was reached).
    RetriesExhausted {
        /// How many attempts failed.
        attempts: u32,
        /// Why the last one failed.
        last: RetryReason,
    },
    /// The server lost the upload (404, 410, expiry) more often than allowed.
    TooManyRecreations {
        /// How many times the upload was lost.
        count: u32,
    },
    /// The server answered something tus 1.0.0 does not allow, such as a HEAD
    /// without `Upload-Offset` or an offset past the end; going on could
    /// corrupt the upload.
    Protocol(String),
    /// Reading the study's bytes for a PATCH failed (the shell said so).
    Source(String),
}

impl std::fmt::Display for TusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidUpload(why) => write!(f, "the upload is set up wrongly: {why}"),
            Self::Unauthorized => f.write_str(
                "the upload permission expired or is not valid (HTTP 401); \
                 reload the page to get a new one",
            ),
            Self::Forbidden => f.write_str(
                "the upload server refused this upload (HTTP 403): this page or project \
                 may not upload there; ask the site's administrator",
            ),
            Self::TooLarge { length } => write!(
                f,
                "the study ({length} bytes) is larger than the upload server accepts \
                 (HTTP 413); upload fewer series at a time or ask the site's \
                 administrator for a higher limit"
            ),
            Self::UnsupportedMediaType => f.write_str(
                "the upload server does not accept this kind of file (HTTP 415); \
                 ask the site's administrator whether it accepts zip archives",
            ),
            Self::UnsupportedVersion => f.write_str(
                "the upload server does not speak tus 1.0.0 (HTTP 412); \
                 check the upload endpoint in the widget's configuration",
            ),
            Self::EndpointNotFound { status } => write!(
                f,
                "the upload address was not found (HTTP {status}); \
                 check the upload endpoint in the widget's configuration"
            ),
            Self::Rejected { status } => write!(
                f,
                "the upload server rejected the upload (HTTP {status}); \
                 try again, and report it to the site's administrator if it happens again"
            ),
            Self::RetriesExhausted { attempts, last } => write!(
                f,
                "the upload failed {attempts} times, last because {last}; \
                 check the connection and try again: it continues where it stopped"
            ),
            Self::TooManyRecreations { count } => write!(
                f,
                "the upload server lost the upload {count} times; try again later"
            ),
            Self::Protocol(why) => write!(
                f,
                "the upload server answered outside the tus protocol: {why}; \
                 report this to the site's administrator"
            ),
            Self::Source(why) => write!(
                f,
                "the study's files could not be read: {why}; \
                 they may have been moved or changed, so add them again"
            ),
        }
    }
}

impl std::error::Error for TusError {}
