//! One tus upload as a state machine: creation, HEAD, PATCH chunks,
//! retries, stall detection, expiry, re-creation and termination.

use std::collections::VecDeque;
use std::ops::Range;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::date::{parse_http_date, parse_retry_after};
use super::http::{resolve_location, HttpRequest, HttpResponse, Method, RequestId};
use super::speed::SpeedEstimator;
use super::{RetryReason, TusError, TUS_VERSION};

/// How the client chunks, retries and gives up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TusConfig {
    /// The most bytes one PATCH carries, and so the most the shell holds in
    /// memory for an upload. Default 5 MiB, as the published widget.
    pub chunk_size: u64,
    /// How long to wait before each retry of a failed request. When they
    /// are used up the upload fails; the count starts again whenever the
    /// server's offset passes the highest it had acknowledged. Default
    /// 0, 1, 3, 5 s.
    pub retry_delays_ms: Vec<u64>,
    /// A request without a progress report or an answer for this long is
    /// aborted and retried. Default 30 s. A shell that cannot report upload
    /// progress (plain `fetch`) needs chunks that go through well within it.
    pub stall_timeout_ms: u64,
    /// The most failed requests in the whole upload, however much progress
    /// lies between them: the bound against a server that loses bytes in a
    /// loop. Default 100.
    pub max_failures: u32,
    /// The most times the upload is created again after the server lost it
    /// (404, 410, another length). Default 3.
    pub max_recreations: u32,
    /// The longest `Retry-After` obeyed; longer ones are cut to this.
    /// Default 5 min.
    pub max_retry_after_ms: u64,
}

impl TusConfig {
    /// The default chunk size: 5 MiB.
    pub const DEFAULT_CHUNK_SIZE: u64 = 5 * 1024 * 1024;
    /// The default retry delays: 0, 1, 3 and 5 s.
    pub const DEFAULT_RETRY_DELAYS_MS: [u64; 4] = [0, 1_000, 3_000, 5_000];
    /// The default stall timeout: 30 s.
    pub const DEFAULT_STALL_TIMEOUT_MS: u64 = 30_000;
}

impl Default for TusConfig {
    fn default() -> Self {
        Self {
            chunk_size: Self::DEFAULT_CHUNK_SIZE,
            retry_delays_ms: Self::DEFAULT_RETRY_DELAYS_MS.to_vec(),
            stall_timeout_ms: Self::DEFAULT_STALL_TIMEOUT_MS,
            max_failures: 100,
            max_recreations: 3,
            max_retry_after_ms: 300_000,
        }
    }
}

/// The `Upload-Metadata` the widget sends for one study (`TUS.md`); the
/// `filetype` is always `application/zip`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StudyMetadata {
    /// The archive's file name.
    pub filename: String,
    /// The upload session's UUID.
    pub upload_id: String,
    /// The storage bucket (`lift.bucket`).
    pub bucket: String,
    /// The upload mode (`bulk`).
    pub mode: String,
    /// The StudyInstanceUID.
    pub study_uid: String,
}

impl StudyMetadata {
    /// The key-value pairs, in the order of `TUS.md`.
    pub fn pairs(&self) -> Vec<(String, String)> {
        [
            ("filename", self.filename.as_str()),
            ("filetype", "application/zip"),
            ("upload_id", self.upload_id.as_str()),
            ("bucket", self.bucket.as_str()),
            ("mode", self.mode.as_str()),
            ("study_uid", self.study_uid.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// What to upload, where, with which credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    /// The absolute URL of the tus creation endpoint (`lift.endpoint`).
    pub endpoint: String,
    /// The lift token, sent as `Authorization: Bearer …` on every request.
    pub token: String,
    /// The archive's exact length (`Upload-Length`).
    pub length: u64,
    /// `Upload-Metadata` pairs, sent base64-encoded at creation.
    pub metadata: Vec<(String, String)>,
    /// An upload URL from a [`super::FingerprintStore`]: the upload starts
    /// with a HEAD there instead of a creation. One that is not an http(s)
    /// URL is ignored.
    pub resume_url: Option<String>,
}

impl UploadSpec {
    /// An upload of `length` bytes to `endpoint`, without metadata.
    pub fn new(endpoint: impl Into<String>, token: impl Into<String>, length: u64) -> Self {
        Self {
            endpoint: endpoint.into(),
            token: token.into(),
            length,
            metadata: Vec::new(),
            resume_url: None,
        }
    }

    /// An upload of one study's archive with the metadata of `TUS.md`.
    pub fn for_study(
        endpoint: impl Into<String>,
        token: impl Into<String>,
        length: u64,
        study: &StudyMetadata,
    ) -> Self {
        let mut spec = Self::new(endpoint, token, length);
        spec.metadata = study.pairs();
        spec
    }

    /// Adds a metadata pair.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Resumes the upload at `url` (from a fingerprint store).
    pub fn resuming(mut self, url: impl Into<String>) -> Self {
        self.resume_url = Some(url.into());
        self
    }
}

/// What the shell should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this request and report its progress and outcome.
    Send(HttpRequest),
    /// Abort this request (`AbortController.abort()`): it stalled or the
    /// upload was cancelled. Its outcome no longer matters.
    Abort(RequestId),
}

/// How a request failed without an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The connection failed: refused, reset, offline, CORS-blocked.
    Network(String),
    /// The request was aborted by something other than this client.
    Aborted,
    /// The shell could not read the PATCH body from the study's files.
    Source(String),
}

/// Where an upload stands, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes the server has acknowledged (its offset): these are safe.
    pub acknowledged: u64,
    /// Bytes of the current PATCH the shell reported as sent but the server
    /// has not acknowledged yet: these may still be lost.
    pub in_flight: u64,
    /// The archive's length.
    pub total: u64,
    /// Smoothed speed, once measured.
    pub bytes_per_second: Option<f64>,
    /// Estimated milliseconds until the end, once a speed is known.
    pub eta_ms: Option<u64>,
}

/// What the shell or the user should know about an upload.
#[derive(Debug, Clone, PartialEq)]
pub enum TusEvent {
    /// The server created the upload at `url`: store it under the study's
    /// fingerprint so that a reload can resume.
    Created {
        /// The upload URL.
        url: String,
    },
    /// The bytes acknowledged or in flight changed.
    Progress(Progress),
    /// A request failed and is tried again in `in_ms` milliseconds, or the
    /// upload is created again (`in_ms` 0, reason [`RetryReason::Gone`]).
    Retrying {
        /// Milliseconds until the next attempt.
        in_ms: u64,
        /// What went wrong.
        reason: RetryReason,
    },
    /// Every byte is on the server: forget the fingerprint.
    Completed {
        /// The upload URL.
        url: String,
    },
    /// The upload stopped for good.
    Failed(TusError),
    /// The upload was cancelled: forget the fingerprint.
    Terminated {
        /// Whether the server confirmed that the upload is gone (DELETE
        /// answered 2xx, 404 or 410). Otherwise there was no upload to delete
        /// or the DELETE failed (refused, or still failing after every retry
        /// delay), and the server drops it when it expires.
        deleted: bool,
    },
}

/// The requests of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Head,
    Patch,
    Delete,
}

impl Step {
    fn method(self) -> Method {
        match self {
            Step::Create => Method::Post,
            Step::Head => Method::Head,
            Step::Patch => Method::Patch,
            Step::Delete => Method::Delete,
        }
    }

    /// What to send after this request failed: after a PATCH, the true
    /// offset is unknown, so HEAD.
    fn after_failure(self) -> Step {
        match self {
            Step::Patch => Step::Head,
            other => other,
        }
    }
}

/// The request being sent.
#[derive(Debug, Clone)]
struct InFlight {
    id: RequestId,
    step: Step,
    body: Range<u64>,
    /// Body bytes the shell reported as sent.
    sent: u64,
    /// When the request was sent or last reported progress.
    last_activity: u64,
}

/// How long to wait before a retry.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// The next of the retry delays.
    Delay,
    /// Not at all (409: the HEAD is the remedy).
    Now,
    /// The next retry delay or what `Retry-After` asked, whichever is longer.
    AtLeast(Option<u64>),
}

/// One upload of one archive with tus 1.0.0, without IO.
///
/// Feed it with `handle_*`, drain [`poll_action`](Self::poll_action) and
/// [`poll_event`](Self::poll_event) after each, and call
/// [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout). At most one request is in flight.
#[derive(Debug, Clone)]
pub struct TusUpload {
    config: TusConfig,
    endpoint: String,
    authorization: String,
    length: u64,
    metadata_header: String,
    url: Option<String>,
    /// The offset the server last reported.
    offset: u64,
    /// The highest offset the server has reported for this upload URL.
    high_water: u64,
    next: Step,
    wait_until: Option<u64>,
    in_flight: Option<InFlight>,
    /// Failures since the offset last passed `high_water`.
    retry_index: usize,
    failures: u32,
    recreations: u32,
    /// When the server drops the upload (`Upload-Expires`), Unix ms.
    expires_at: Option<u64>,
    /// Set when the server served an upload our clock says has expired: the
    /// clocks disagree, and only the server's 404/410 counts from then on.
    expiry_untrusted: bool,
    cancelled: bool,
    finished: bool,
    next_id: u64,
    aborts: VecDeque<RequestId>,
    events: VecDeque<TusEvent>,
    /// Bytes sent on the wire, lost ones included: what the speed measures.
    transferred: u64,
    speed: SpeedEstimator,
}

fn is_http_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("http://") && lower.len() > 7)
        || (lower.starts_with("https://") && lower.len() > 8)
}

fn header_value_ok(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// `Upload-Metadata`: comma-separated `key base64(value)`, a bare key for an
/// empty value.
fn metadata_header(pairs: &[(String, String)]) -> Result<String, TusError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut parts = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b',');
        if !valid {
            return Err(TusError::InvalidUpload(format!(
                "metadata key {key:?} must be non-empty ascii without spaces or commas"
            )));
        }
        if !seen.insert(key.as_str()) {
            return Err(TusError::InvalidUpload(format!(
                "metadata key {key:?} is given twice"
            )));
        }
        if value.is_empty() {
            parts.push(key.clone());
        } else {
            parts.push(format!("{key} {}", STANDARD.encode(value)));
        }
    }
    Ok(parts.join(","))
}

/// A non-negative decimal header value.
fn parse_offset(value: &str) -> Option<u64> {
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

impl TusUpload {
    /// Prepares an upload; nothing is sent and no time runs until the first
    /// [`poll_action`](Self::poll_action), so an upload can wait in an
    /// [`super::UploadQueue`] without its speed counting the wait.
    pub fn new(config: TusConfig, spec: UploadSpec) -> Result<Self, TusError> {
        if !is_http_url(&spec.endpoint) || !header_value_ok(&spec.endpoint) {
            return Err(TusError::InvalidUpload(format!(
                "the endpoint {:?} is not an absolute http(s) URL",
                spec.endpoint
            )));
        }
        if spec.token.trim().is_empty() || !header_value_ok(&spec.token) {
            return Err(TusError::InvalidUpload(
                "the lift token is empty or not printable ascii".to_owned(),
            ));
        }
        if config.chunk_size == 0 {
            return Err(TusError::InvalidUpload(
                "the chunk size must be at least one byte".to_owned(),
            ));
        }
        if config.stall_timeout_ms == 0 {
            return Err(TusError::InvalidUpload(
                "the stall timeout must be at least one millisecond".to_owned(),
            ));
        }
        let metadata_header = metadata_header(&spec.metadata)?;
        let resume = spec
            .resume_url
            .filter(|url| is_http_url(url) && header_value_ok(url));
        Ok(Self {
            next: if resume.is_some() {
                Step::Head
            } else {
                Step::Create
            },
            url: resume,
            authorization: format!("Bearer {}", spec.token.trim()),
            endpoint: spec.endpoint.trim().to_owned(),
            length: spec.length,
            metadata_header,
            config,
            offset: 0,
            high_water: 0,
            wait_until: None,
            in_flight: None,
            retry_index: 0,
            failures: 0,
            recreations: 0,
            expires_at: None,
            expiry_untrusted: false,
            cancelled: false,
            finished: false,
            next_id: 0,
            aborts: VecDeque::new(),
            events: VecDeque::new(),
            transferred: 0,
            speed: SpeedEstimator::default(),
        })
    }

    /// The upload URL, once created or given to resume.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The archive's length.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The offset the server last reported.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the upload completed, failed or was terminated. A finished
    /// upload may still have an abort to hand out.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether a request is out.
    pub fn has_request_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The bytes acknowledged and in flight, the speed and the ETA.
    pub fn progress(&self) -> Progress {
        let in_flight = self.in_flight.as_ref().map_or(0, |f| f.sent);
        let remaining = self
            .length
            .saturating_sub(self.offset)
            .saturating_sub(in_flight);
        Progress {
            acknowledged: self.offset,
            in_flight,
            total: self.length,
            bytes_per_second: self.speed.bytes_per_second(),
            eta_ms: self.speed.eta_ms(remaining),
        }
    }

    /// The next thing for the shell to do at `now`: abort a request, or send
    /// one. `None` while a request is out, a retry delay runs, or the upload
    /// is finished.
    pub fn poll_action(&mut self, now: u64) -> Option<Action> {
        if let Some(id) = self.aborts.pop_front() {
            return Some(Action::Abort(id));
        }
        if self.finished || self.in_flight.is_some() {
            return None;
        }
        if let Some(until) = self.wait_until {
            if now < until {
                return None;
            }
            self.wait_until = None;
        }
        let mut step = self.next;
        if matches!(step, Step::Head | Step::Patch) && self.url.is_none() {
            step = Step::Create;
        }
        if step == Step::Patch && self.expired(now) {
            // Ask before sending bytes to an upload that may be gone: a 404
            // or 410 re-creates it, a live one means the clocks disagree.
            step = Step::Head;
        }
        self.next = step;
        Some(Action::Send(self.send(step, now)))
    }

    /// Builds the request for `step` and marks it in flight.
    fn send(&mut self, step: Step, now: u64) -> HttpRequest {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        // The first request starts the speed's clock; later ones count the
        // time since the last bytes (a retry delay lowers the speed).
        self.speed.record(now, self.transferred);
        let mut headers = vec![
            ("Tus-Resumable", TUS_VERSION.to_owned()),
            ("Authorization", self.authorization.clone()),
        ];
        let url = match step {
            Step::Create => self.endpoint.clone(),
            _ => self.url.clone().unwrap_or_default(),
        };
        let mut body = None;
        match step {
            Step::Create => {
                headers.push(("Upload-Length", self.length.to_string()));
                if !self.metadata_header.is_empty() {
                    headers.push(("Upload-Metadata", self.metadata_header.clone()));
                }
            }
            Step::Patch => {
                let end = self
                    .offset
                    .saturating_add(self.config.chunk_size)
                    .min(self.length);
                headers.push(("Upload-Offset", self.offset.to_string()));
                headers.push(("Content-Type", "application/offset+octet-stream".to_owned()));
                body = Some(self.offset..end);
            }
            Step::Head | Step::Delete => {}
        }
        self.in_flight = Some(InFlight {
            id,
            step,
            body: body.clone().unwrap_or(0..0),
            sent: 0,
            last_activity: now,
        });
        HttpRequest {
            id,
            method: step.method(),
            url,
            headers,
            body,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next:
    /// the stall deadline of the request in flight, or the end of a retry
    /// delay. `None` when nothing is timed.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.finished {
            return None;
        }
        match &self.in_flight {
            Some(flight) => Some(
                flight
                    .last_activity
                    .saturating_add(self.config.stall_timeout_ms),
            ),
            None => self.wait_until,
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<TusEvent> {
        self.events.pop_front()
    }

    /// Time has passed: a request without progress for the stall timeout is
    /// aborted and retried. Retry delays end in
    /// [`poll_action`](Self::poll_action).
    pub fn handle_timeout(&mut self, now: u64) {
        let Some(flight) = &self.in_flight else {
            return;
        };
        let deadline = flight
            .last_activity
            .saturating_add(self.config.stall_timeout_ms);
        if now < deadline {
            return;
        }
        let Some(flight) = self.in_flight.take() else {
            return;
        };
        self.aborts.push_back(flight.id);
        if flight.step == Step::Delete {
            self.retry_delete(now, None);
            return;
        }
        if flight.sent > 0 {
            self.push_progress();
        }
        self.retry(
            now,
            RetryReason::Stalled(self.config.stall_timeout_ms),
            flight.step.after_failure(),
            Wait::Delay,
        );
    }

    /// The shell sent `sent` bytes of request `id`'s body so far. Only a
    /// count that grew is a sign of life for stall detection.
    pub fn handle_progress(&mut self, id: RequestId, now: u64, sent: u64) {
        let Some(flight) = self.in_flight.as_mut().filter(|f| f.id == id) else {
            return;
        };
        let sent = sent.min(flight.body.end - flight.body.start);
        if sent <= flight.sent {
            return;
        }
        self.transferred += sent - flight.sent;
        flight.sent = sent;
        flight.last_activity = now;
        self.speed.record(now, self.transferred);
        self.push_progress();
    }

    /// Request `id` failed without an answer.
    pub fn handle_failure(&mut self, id: RequestId, now: u64, kind: FailureKind) {
        let Some(flight) = self.take_in_flight(id) else {
            return;
        };
        if flight.step == Step::Delete {
            self.retry_delete(now, None);
            return;
        }
        if flight.sent > 0 {
            self.push_progress();
        }
        let reason = match kind {
            FailureKind::Source(why) => {
                self.fail(TusError::Source(why));
                return;
            }
            FailureKind::Network(why) => RetryReason::Network(why),
            FailureKind::Aborted => RetryReason::Aborted,
        };
        self.retry(now, reason, flight.step.after_failure(), Wait::Delay);
    }

    /// The server answered request `id`.
    pub fn handle_response(&mut self, id: RequestId, now: u64, response: &HttpResponse) {
        let Some(flight) = self.take_in_flight(id) else {
            return;
        };
        let status = response.status;
        if flight.step == Step::Delete {
            match status {
                _ if response.is_success() => self.terminate(true),
                404 | 410 => self.terminate(true),
                423 | 429 | 500..=599 => {
                    let asked = response
                        .header("Retry-After")
                        .and_then(|v| parse_retry_after(v, now));
                    self.retry_delete(now, asked);
                }
                _ => self.terminate(false),
            }
            return;
        }
        if response.is_success() {
            match flight.step {
                Step::Create => self.on_created(now, response),
                Step::Head => self.on_head(now, response),
                Step::Patch => self.on_patched(now, &flight, response),
                Step::Delete => {}
            }
            return;
        }
        if flight.sent > 0 {
            self.push_progress();
        }
        let step = flight.step;
        let retry_after = || {
            response
                .header("Retry-After")
                .and_then(|v| parse_retry_after(v, now))
        };
        match status {
            404 | 410 if step == Step::Create => {
                self.fail(TusError::EndpointNotFound { status });
            }
            404 | 410 => self.recreate(RetryReason::Gone(status)),
            409 if step == Step::Patch => {
                self.retry(now, RetryReason::Conflict, Step::Head, Wait::Now);
            }
            423 => self.retry(now, RetryReason::Locked, step.after_failure(), Wait::Delay),
            429 => self.retry(
                now,
                RetryReason::RateLimited,
                step.after_failure(),
                Wait::AtLeast(retry_after()),
            ),
            503 => self.retry(
                now,
                RetryReason::ServerError(status),
                step.after_failure(),
                Wait::AtLeast(retry_after()),
            ),
            500..=599 => self.retry(
                now,
                RetryReason::ServerError(status),
                step.after_failure(),
                Wait::Delay,
            ),
            401 => self.fail(TusError::Unauthorized),
            403 => self.fail(TusError::Forbidden),
            412 => self.fail(TusError::UnsupportedVersion),
            413 => self.fail(TusError::TooLarge {
                length: self.length,
            }),
            415 => self.fail(TusError::UnsupportedMediaType),
            400..=499 => self.fail(TusError::Rejected { status }),
            _ => self.fail(TusError::Protocol(format!(
                "HTTP {status} to a {} request",
                step.method()
            ))),
        }
    }

    /// Cancels the upload: the request in flight is aborted, the upload
    /// terminated with DELETE if it exists on the server (tried again after
    /// each retry delay while the server answers 423, 429 or 5xx or cannot
    /// be reached), then [`TusEvent::Terminated`]. Nothing happens to a
    /// finished upload.
    pub fn cancel(&mut self, _now: u64) {
        if self.finished || self.cancelled {
            return;
        }
        self.cancelled = true;
        self.wait_until = None;
        // The DELETE gets every retry delay, whatever the upload used.
        self.retry_index = 0;
        if let Some(flight) = self.in_flight.take() {
            self.aborts.push_back(flight.id);
        }
        if self.url.is_some() {
            self.next = Step::Delete;
        } else {
            self.terminate(false);
        }
    }

    fn take_in_flight(&mut self, id: RequestId) -> Option<InFlight> {
        if self.in_flight.as_ref().is_some_and(|f| f.id == id) {
            self.in_flight.take()
        } else {
            None
        }
    }

    fn expired(&self, now: u64) -> bool {
        !self.expiry_untrusted && self.expires_at.is_some_and(|at| now >= at)
    }

    /// Takes `Upload-Expires` from a successful answer. A date already past
    /// on our clock while the server still serves the upload means the
    /// clocks disagree: expiry is then left to the server's 404/410.
    fn note_expiry(&mut self, now: u64, response: &HttpResponse) {
        let Some(at) = response.header("Upload-Expires").and_then(parse_http_date) else {
            return;
        };
        if at <= now {
            self.expiry_untrusted = true;
            self.expires_at = None;
        } else if !self.expiry_untrusted {
            self.expires_at = Some(at);
        }
    }

    fn on_created(&mut self, now: u64, response: &HttpResponse) {
        let Some(location) = response.header("Location").filter(|l| !l.is_empty()) else {
            self.fail(TusError::Protocol(
                "the creation answer has no Location header (a browser sees it only if the \
                 server lists it in Access-Control-Expose-Headers)"
                    .to_owned(),
            ));
            return;
        };
        let url = resolve_location(&self.endpoint, location);
        if !is_http_url(&url) || !header_value_ok(&url) {
            self.fail(TusError::Protocol(format!(
                "the creation answer's Location {location:?} is not a usable URL"
            )));
            return;
        }
        self.url = Some(url.clone());
        self.offset = 0;
        self.high_water = 0;
        self.note_expiry(now, response);
        self.events.push_back(TusEvent::Created { url });
        if self.length == 0 {
            self.complete();
        } else {
            self.next = Step::Patch;
        }
    }

    /// Reads `Upload-Offset`; `None` after failing the upload.
    fn reported_offset(&mut self, response: &HttpResponse, what: &str) -> Option<u64> {
        let Some(value) = response.header("Upload-Offset") else {
            self.fail(TusError::Protocol(format!(
                "the {what} answer has no Upload-Offset header (a browser sees it only if the \
                 server lists it in Access-Control-Expose-Headers)"
            )));
            return None;
        };
        let Some(offset) = parse_offset(value) else {
            self.fail(TusError::Protocol(format!(
                "the {what} answer's Upload-Offset {value:?} is not a number"
            )));
            return None;
        };
        if offset > self.length {
            self.fail(TusError::Protocol(format!(
                "the {what} answer's Upload-Offset {offset} is past the upload's length {}",
                self.length
            )));
            return None;
        }
        Some(offset)
    }

    fn on_head(&mut self, now: u64, response: &HttpResponse) {
        if let Some(server_length) = response.header("Upload-Length").and_then(parse_offset) {
            if server_length != self.length {
                self.recreate(RetryReason::LengthMismatch(server_length));
                return;
            }
        }
        let Some(offset) = self.reported_offset(response, "HEAD") else {
            return;
        };
        self.note_expiry(now, response);
        // Backwards is allowed: the server lost bytes it had not made
        // durable; they are sent again from its offset.
        self.advance(now, offset);
        if offset == self.length {
            self.complete();
        } else {
            self.next = Step::Patch;
        }
    }

    fn on_patched(&mut self, now: u64, flight: &InFlight, response: &HttpResponse) {
        let Some(offset) = self.reported_offset(response, "PATCH") else {
            return;
        };
        if offset > flight.body.end {
            self.fail(TusError::Protocol(format!(
                "the server reports offset {offset} after a PATCH that ended at {}",
                flight.body.end
            )));
            return;
        }
        self.note_expiry(now, response);
        let acknowledged = offset.saturating_sub(flight.body.start);
        if acknowledged > flight.sent {
            // Bytes the shell did not report as sent went through too.
            self.transferred += acknowledged - flight.sent;
        }
        self.advance(now, offset);
        if offset == self.length {
            self.complete();
        } else if offset <= flight.body.start {
            self.retry(now, RetryReason::NoProgress, Step::Head, Wait::Delay);
        } else {
            self.next = Step::Patch;
        }
    }

    /// The server's offset is `offset`; progress past the highest one
    /// renews the retry budget.
    fn advance(&mut self, now: u64, offset: u64) {
        self.offset = offset;
        if offset > self.high_water {
            self.high_water = offset;
            self.retry_index = 0;
        }
        self.speed.record(now, self.transferred);
        self.push_progress();
    }

    fn push_progress(&mut self) {
        let progress = self.progress();
        self.events.push_back(TusEvent::Progress(progress));
    }

    /// Schedules `then` after a failure, or fails when the budget is spent.
    fn retry(&mut self, now: u64, reason: RetryReason, then: Step, wait: Wait) {
        self.failures = self.failures.saturating_add(1);
        if self.failures > self.config.max_failures {
            self.fail(TusError::RetriesExhausted {
                attempts: self.failures,
                last: reason,
            });
            return;
        }
        let Some(&delay) = self.config.retry_delays_ms.get(self.retry_index) else {
            let attempts = u32::try_from(self.retry_index + 1).unwrap_or(u32::MAX);
            self.fail(TusError::RetriesExhausted {
                attempts,
                last: reason,
            });
            return;
        };
        self.retry_index += 1;
        let in_ms = match wait {
            Wait::Delay => delay,
            Wait::Now => 0,
            Wait::AtLeast(asked) => {
                delay.max(asked.unwrap_or(0).min(self.config.max_retry_after_ms))
            }
        };
        self.next = then;
        self.wait_until = Some(now.saturating_add(in_ms));
        self.events.push_back(TusEvent::Retrying { in_ms, reason });
    }

    /// A DELETE that did not go through: a 423 (typically the server still
    /// holds the PATCH this cancel just aborted), a 429 or 5xx, a network
    /// error or a stall. It is sent again after the next retry delay (at
    /// least `asked`, from `Retry-After`); once the delays are used up the
    /// upload ends undeleted, and the server drops it when it expires.
    fn retry_delete(&mut self, now: u64, asked: Option<u64>) {
        let Some(&delay) = self.config.retry_delays_ms.get(self.retry_index) else {
            self.terminate(false);
            return;
        };
        self.retry_index += 1;
        let in_ms = delay.max(asked.unwrap_or(0).min(self.config.max_retry_after_ms));
        self.next = Step::Delete;
        self.wait_until = Some(now.saturating_add(in_ms));
    }

    /// The server lost the upload: create it again, within the bound.
    fn recreate(&mut self, reason: RetryReason) {
        self.recreations = self.recreations.saturating_add(1);
        if self.recreations > self.config.max_recreations {
            self.fail(TusError::TooManyRecreations {
                count: self.recreations,
            });
            return;
        }
        self.url = None;
        self.offset = 0;
        self.high_water = 0;
        self.retry_index = 0;
        self.expires_at = None;
        self.next = Step::Create;
        self.wait_until = None;
        self.events
            .push_back(TusEvent::Retrying { in_ms: 0, reason });
        self.push_progress();
    }

    fn complete(&mut self) {
        self.finished = true;
        self.push_progress();
        let url = self.url.clone().unwrap_or_default();
        self.events.push_back(TusEvent::Completed { url });
    }

    fn fail(&mut self, error: TusError) {
        self.finished = true;
        self.wait_until = None;
        if let Some(flight) = self.in_flight.take() {
            self.aborts.push_back(flight.id);
        }
        self.events.push_back(TusEvent::Failed(error));
    }

    fn terminate(&mut self, deleted: bool) {
        self.finished = true;
        self.wait_until = None;
        self.events.push_back(TusEvent::Terminated { deleted });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_base64_pairs_and_bad_keys_are_refused() {
        let pairs = StudyMetadata {
            filename: "study.zip".to_owned(),
            upload_id: "u".to_owned(),
            bucket: String::new(),
            mode: "bulk".to_owned(),
            study_uid: "1.2.3".to_owned(),
        }
        .pairs();
        assert_eq!(
            metadata_header(&pairs).ok().as_deref(),
            Some(
                "filename c3R1ZHkuemlw,filetype YXBwbGljYXRpb24vemlw,upload_id dQ==,bucket,\
                 mode YnVsaw==,study_uid MS4yLjM="
            )
        );
        for key in ["", "a b", "a,b", "é"] {
            assert!(
                metadata_header(&[(key.to_owned(), "v".to_owned())]).is_err(),
                "{key:?}"
            );
        }
        assert!(metadata_header(&[
            ("k".to_owned(), "1".to_owned()),
            ("k".to_owned(), "2".to_owned())
        ])
        .is_err());
    }

    #[test]
    fn offsets_are_plain_decimal() {
        assert_eq!(parse_offset("0"), Some(0));
        assert_eq!(parse_offset("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "-1", "+1", "1.0", "0x10", "18446744073709551616"] {
            assert_eq!(parse_offset(bad), None, "{bad:?}");
        }
    }
}
