//! The upload pipeline behind `upload()`: the seam between the widget's
//! session (Aura API lifecycle, UI state, callbacks) and the code that turns
//! studies into bytes on the wire (zip preparation in workers, the tus
//! driver). The session calls [`UploadPipeline::run`] after `upload/init`
//! and `upload/start`; the pipeline reports [`PipelineEvent`]s as it goes
//! and resolves when every study is sent, on the first failure, or soon
//! after the abort signal fires.
//!
//! The widget's default is [`crate::upload::TusPipeline`] (zips prepared in
//! Web Workers, sent with the tus driver); tests drive the session with
//! their own pipelines through `set_pipeline`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use auraloader_core::api::UploaderConfig;
use auraloader_core::study::Study;

use crate::browser::scan::DroppedFile;

/// One study to send.
#[derive(Debug, Clone)]
pub struct StudyJob {
    /// The scanned study (series, instances, file keys).
    pub study: Study,
    /// The server's id of the study, from `upload/init`.
    pub server_id: String,
    /// Its files, in the order of the study's instances.
    pub files: Vec<DroppedFile>,
}

/// Tuning the host page may set (`chunkSize`, `parallelUploads`,
/// `stallTimeoutMs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineOptions {
    /// Bytes per tus PATCH.
    pub chunk_size: u64,
    /// Studies sent at once.
    pub parallel_uploads: u32,
    /// A tus request without progress or answer for this long is aborted
    /// and retried.
    pub stall_timeout_ms: u64,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            chunk_size: auraloader_core::tus::TusConfig::DEFAULT_CHUNK_SIZE,
            parallel_uploads: 2,
            stall_timeout_ms: auraloader_core::tus::TusConfig::DEFAULT_STALL_TIMEOUT_MS,
        }
    }
}

/// Everything a pipeline needs for one `upload()`.
#[derive(Debug, Clone)]
pub struct UploadJob {
    /// The session's id (`upload/init`).
    pub upload_id: String,
    /// This transfer batch's id (`upload/start`).
    pub assembly_id: String,
    /// The tus endpoint and lift token of `GET /uploader/config`.
    pub config: UploaderConfig,
    /// The studies, in table order.
    pub studies: Vec<StudyJob>,
    /// Chunk size, parallelism and stall timeout.
    pub options: PipelineOptions,
}

/// What a pipeline reports; each becomes a UI [`Action`](crate::ui::Action).
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    /// A study's zip is being prepared (read and compressed).
    StudyPreparing {
        /// Study Instance UID.
        uid: String,
    },
    /// A study's zip is ready; its exact length in bytes.
    StudyPrepared {
        /// Study Instance UID.
        uid: String,
        /// Exact bytes.
        bytes: u64,
    },
    /// Bytes acknowledged by the server and on the wire, for one study.
    StudyProgress {
        /// Study Instance UID.
        uid: String,
        /// Acknowledged bytes.
        sent: u64,
        /// Bytes sent but not yet acknowledged.
        in_flight: u64,
    },
    /// Throughput over all studies.
    Throughput {
        /// Bytes per second.
        bytes_per_second: f64,
        /// Seconds left, if known.
        seconds_left: Option<f64>,
    },
    /// The connection is lost; next attempt in this many seconds.
    Retrying {
        /// Seconds.
        in_seconds: u32,
    },
    /// Requests succeed again.
    Reconnected,
    /// A study's last byte is acknowledged.
    StudyComplete {
        /// Study Instance UID.
        uid: String,
        /// The server's upload URL of the study's zip (tus `Location`).
        url: Option<String>,
    },
    /// A study failed; the run then resolves with the error.
    StudyFailed {
        /// Study Instance UID.
        uid: String,
    },
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineError {
    /// Machine code (`network_error`, `upload_failed`, `auth_failed`, …).
    pub code: String,
    /// A sentence a person can act on; never patient data.
    pub message: String,
    /// HTTP status, for HTTP failures.
    pub status: Option<u16>,
}

/// Receives a pipeline's events.
pub type EventSink = Rc<dyn Fn(PipelineEvent)>;

/// The future of a run.
pub type RunFuture = Pin<Box<dyn Future<Output = Result<(), PipelineError>>>>;

/// Sends studies. Implementations must stop soon after `abort` fires (and
/// may then resolve either way: the session ignores the outcome of an
/// aborted run) and must not panic.
pub trait UploadPipeline {
    /// Starts sending `job`'s studies.
    fn run(&self, job: UploadJob, events: EventSink, abort: web_sys::AbortSignal) -> RunFuture;
}
