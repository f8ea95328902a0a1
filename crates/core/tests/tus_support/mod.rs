//! For the tus tests: an in-memory tus 1.0.0 server (creation, HEAD, PATCH,
//! DELETE, expiry) with injectable faults, a study archive whose PATCH bodies
//! are read through `StudyZip::read_at`, and a driver loop that moves
//! requests and answers between client and server on a virtual clock.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

use auraloader_core::tus::{
    Action, FailureKind, HttpRequest, HttpResponse, Method, TusConfig, TusError, TusEvent,
    TusUpload, UploadKey, UploadQueue, UploadSpec,
};
use auraloader_core::zip::{deflate, entry_name, EntryCrc, EntrySource, Method as ZipMethod};
use auraloader_core::zip::{StudyZip, ZipEntry};

/// The creation endpoint of the test server.
pub const ENDPOINT: &str = "https://tus.test/files/";
/// The lift token the server accepts.
pub const TOKEN: &str = "lift.token.for-tests";
/// The virtual clock's start: 2023-11-14, in Unix milliseconds.
pub const START: u64 = 1_700_000_000_000;

// ---------------------------------------------------------------- archive

/// Entry data held in memory, read the way the widget reads files.
pub struct MemorySource(Vec<Vec<u8>>);

impl EntrySource for MemorySource {
    fn read_entry(&mut self, entry: usize, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let data = self.0.get(entry).ok_or("no such entry")?;
        let start = usize::try_from(offset).map_err(|e| e.to_string())?;
        let slice = data
            .get(start..start + buf.len())
            .ok_or("read past the entry")?;
        buf.copy_from_slice(slice);
        Ok(())
    }
}

/// A study archive laid out by `StudyZip`, with its entry data in memory.
pub struct Archive {
    pub zip: StudyZip,
    source: MemorySource,
}

fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if i % 3 == 0 {
                (i % 200) as u8
            } else {
                state as u8
            }
        })
        .collect()
}

impl Archive {
    /// A study of `files` instances of about `file_size` bytes each, every
    /// other one deflated.
    pub fn study(files: usize, file_size: usize, seed: u32) -> Self {
        let mut entries = Vec::new();
        let mut data = Vec::new();
        for i in 0..files {
            let bytes = noise(file_size + i * 13, seed.wrapping_add(i as u32));
            let name = entry_name("1.2.840.9", "1.2.840.9.1", &format!("1.2.840.9.1.{i}"));
            if i % 2 == 0 {
                let (compressed, info) = deflate(&bytes).unwrap();
                entries.push(ZipEntry {
                    name,
                    method: ZipMethod::Deflated,
                    crc32: info.crc32,
                    compressed_size: info.compressed_size,
                    uncompressed_size: info.uncompressed_size,
                });
                data.push(compressed);
            } else {
                let mut crc = EntryCrc::new();
                crc.update(&bytes);
                entries.push(ZipEntry {
                    name,
                    method: ZipMethod::Stored,
                    crc32: crc.finish(),
                    compressed_size: bytes.len() as u64,
                    uncompressed_size: bytes.len() as u64,
                });
                data.push(bytes);
            }
        }
        Self {
            zip: StudyZip::new(entries).unwrap(),
            source: MemorySource(data),
        }
    }

    /// The archive's length.
    pub fn len(&self) -> u64 {
        self.zip.len()
    }

    /// Bytes `range` of the archive, as the shell reads a PATCH body.
    pub fn read(&mut self, range: Range<u64>) -> Vec<u8> {
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        let n = self
            .zip
            .read_at(range.start, &mut buf, &mut self.source)
            .unwrap();
        assert_eq!(n, buf.len(), "the archive has every byte of a PATCH range");
        buf
    }

    /// The whole archive, to compare with what the server stored.
    pub fn bytes(&mut self) -> Vec<u8> {
        self.read(0..self.len())
    }
}

// ---------------------------------------------------------------- server

/// Something going wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The connection drops; the server keeps `keep_permille`/1000 of a
    /// PATCH body (bytes it received before the drop).
    Drop { keep_permille: u16 },
    /// The server never answers; it keeps `keep_permille`/1000 of a PATCH
    /// body.
    Stall { keep_permille: u16 },
    /// The server answers this status and does nothing else.
    Status(u16),
    /// 429 with `Retry-After` in seconds.
    RateLimited { retry_after_secs: u64 },
    /// Before handling, the upload loses this many bytes at its end (they
    /// were not durable): its offset moves back.
    LoseTail(u64),
    /// Before handling, the upload expires.
    Expire,
    /// 503 with `Retry-After` as an HTTP date this many seconds ahead.
    Unavailable { retry_after_secs: u64 },
    /// The answer lacks `Upload-Offset` (a server not exposing it to CORS).
    HideOffset,
    /// The answer's `Upload-Offset` is this much larger than the truth.
    InflateOffset(u64),
    /// A PATCH is answered 204 but nothing is written.
    SwallowBody,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer.
    Answer(HttpResponse),
    /// The connection dropped after the server received `received` body bytes.
    Drop { received: u64 },
    /// No answer ever; the server received `received` body bytes.
    Stall { received: u64 },
}

/// One upload on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub length: u64,
    pub data: Vec<u8>,
    pub metadata: String,
    pub expires_at: u64,
    pub terminated: bool,
}

impl Stored {
    pub fn is_complete(&self) -> bool {
        self.data.len() as u64 == self.length
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub at: u64,
    pub method: Method,
    pub url: String,
    pub offset: Option<u64>,
    pub body: u64,
    pub headers: Vec<(String, String)>,
}

/// An in-memory tus 1.0.0 server with creation, termination and expiration.
#[derive(Debug, Default)]
pub struct TusServer {
    pub uploads: BTreeMap<String, Stored>,
    next_id: u32,
    /// How long an upload lives after creation; `None`: forever.
    pub expiry_ms: Option<u64>,
    /// The server's clock minus the client's, for `Upload-Expires`.
    pub clock_skew_ms: i64,
    /// Answer expired and unknown uploads with 404 instead of 410.
    pub gone_is_404: bool,
    /// Send `Location` relative to the host.
    pub relative_location: bool,
    /// Refuse uploads larger than this (413).
    pub max_size: Option<u64>,
    /// One fault per request, in order (`None`: no fault).
    pub faults: VecDeque<Option<Fault>>,
    /// A fault for every request after `faults` ran out.
    pub fault_forever: Option<Fault>,
    pub seen: Vec<Seen>,
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` from Unix milliseconds.
pub fn http_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = secs / 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let rem = secs % 86_400;
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

fn keep(len: usize, permille: u16) -> usize {
    len * usize::from(permille.min(1000)) / 1000
}

impl TusServer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The faults for the next requests, in order.
    pub fn with_faults(mut self, faults: impl IntoIterator<Item = Option<Fault>>) -> Self {
        self.faults = faults.into_iter().collect();
        self
    }

    /// The upload at `url`.
    pub fn upload(&self, url: &str) -> Option<&Stored> {
        self.uploads.get(url)
    }

    /// The requests of one method, in order.
    pub fn seen(&self, method: Method) -> Vec<&Seen> {
        self.seen.iter().filter(|s| s.method == method).collect()
    }

    /// Every request's method, in order.
    pub fn methods(&self) -> Vec<Method> {
        self.seen.iter().map(|s| s.method).collect()
    }

    fn expires_header(&self, upload: &Stored) -> String {
        http_date(upload.expires_at.saturating_add_signed(self.clock_skew_ms))
    }

    fn gone(&self) -> HttpResponse {
        HttpResponse::new(if self.gone_is_404 { 404 } else { 410 })
    }

    /// Handles one request at `now` with its body.
    pub fn handle(&mut self, now: u64, request: &HttpRequest, body: &[u8]) -> Outcome {
        self.seen.push(Seen {
            at: now,
            method: request.method,
            url: request.url.clone(),
            offset: request.header("Upload-Offset").and_then(|v| v.parse().ok()),
            body: body.len() as u64,
            headers: request
                .headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect(),
        });
        let fault = self.faults.pop_front().unwrap_or(self.fault_forever);
        let answer = |response: HttpResponse| {
            Outcome::Answer(response.with_header("Tus-Resumable", "1.0.0"))
        };
        if request.header("Tus-Resumable") != Some("1.0.0") {
            return answer(HttpResponse::new(412).with_header("Tus-Version", "1.0.0"));
        }
        if request.header("Authorization") != Some(&format!("Bearer {TOKEN}")) {
            return answer(HttpResponse::new(401));
        }
        if let Some(upload) = self.uploads.get_mut(&request.url) {
            match fault {
                Some(Fault::LoseTail(n)) => {
                    let len = upload.data.len().saturating_sub(n as usize);
                    upload.data.truncate(len);
                }
                Some(Fault::Expire) => upload.expires_at = now,
                _ => {}
            }
        }
        match fault {
            Some(Fault::Status(status)) => return answer(HttpResponse::new(status)),
            Some(Fault::RateLimited { retry_after_secs }) => {
                return answer(
                    HttpResponse::new(429).with_header("Retry-After", retry_after_secs.to_string()),
                )
            }
            Some(Fault::Unavailable { retry_after_secs }) => {
                return answer(
                    HttpResponse::new(503)
                        .with_header("Retry-After", http_date(now + retry_after_secs * 1000)),
                )
            }
            Some(Fault::Drop { .. } | Fault::Stall { .. }) if request.method != Method::Patch => {
                return if matches!(fault, Some(Fault::Drop { .. })) {
                    Outcome::Drop { received: 0 }
                } else {
                    Outcome::Stall { received: 0 }
                };
            }
            _ => {}
        }
        let outcome = match request.method {
            Method::Post => self.create(now, request),
            Method::Head => self.head(now, request),
            Method::Patch => self.patch(now, request, body, fault),
            Method::Delete => self.delete(request),
        };
        match outcome {
            Outcome::Answer(mut response) => {
                if let Some(value) = response
                    .headers
                    .iter_mut()
                    .find(|(n, _)| n == "Upload-Offset")
                    .map(|(_, v)| v)
                {
                    match fault {
                        Some(Fault::HideOffset) => value.clear(),
                        Some(Fault::InflateOffset(extra)) => {
                            *value = (value.parse::<u64>().unwrap() + extra).to_string();
                        }
                        _ => {}
                    }
                }
                response.headers.retain(|(_, v)| !v.is_empty());
                answer(response)
            }
            other => other,
        }
    }

    fn create(&mut self, now: u64, request: &HttpRequest) -> Outcome {
        let Some(length) = request
            .header("Upload-Length")
            .and_then(|v| v.parse::<u64>().ok())
        else {
            return Outcome::Answer(HttpResponse::new(400));
        };
        if self.max_size.is_some_and(|max| length > max) {
            return Outcome::Answer(HttpResponse::new(413));
        }
        self.next_id += 1;
        let path = format!("/files/{:08x}", self.next_id);
        let url = format!("https://tus.test{path}");
        let upload = Stored {
            length,
            data: Vec::new(),
            metadata: request.header("Upload-Metadata").unwrap_or("").to_owned(),
            expires_at: self.expiry_ms.map_or(u64::MAX / 2, |e| now + e),
            terminated: false,
        };
        let mut response = HttpResponse::new(201).with_header(
            "Location",
            if self.relative_location {
                path
            } else {
                url.clone()
            },
        );
        if self.expiry_ms.is_some() {
            response = response.with_header("Upload-Expires", self.expires_header(&upload));
        }
        self.uploads.insert(url, upload);
        Outcome::Answer(response)
    }

    /// The live upload at the request's URL, or the answer for a gone one.
    fn live(&self, now: u64, url: &str) -> Result<&Stored, HttpResponse> {
        let Some(upload) = self.uploads.get(url) else {
            return Err(HttpResponse::new(404));
        };
        if upload.terminated || (!upload.is_complete() && now >= upload.expires_at) {
            return Err(self.gone());
        }
        Ok(upload)
    }

    fn head(&mut self, now: u64, request: &HttpRequest) -> Outcome {
        let upload = match self.live(now, &request.url) {
            Ok(upload) => upload,
            Err(response) => return Outcome::Answer(response),
        };
        let mut response = HttpResponse::new(200)
            .with_header("Upload-Offset", upload.data.len().to_string())
            .with_header("Upload-Length", upload.length.to_string())
            .with_header("Cache-Control", "no-store");
        if self.expiry_ms.is_some() && !upload.is_complete() {
            response = response.with_header("Upload-Expires", self.expires_header(upload));
        }
        Outcome::Answer(response)
    }

    fn patch(
        &mut self,
        now: u64,
        request: &HttpRequest,
        body: &[u8],
        fault: Option<Fault>,
    ) -> Outcome {
        if let Err(response) = self.live(now, &request.url) {
            return Outcome::Answer(response);
        }
        if request.header("Content-Type") != Some("application/offset+octet-stream") {
            return Outcome::Answer(HttpResponse::new(415));
        }
        let expiry = self.expiry_ms.is_some();
        let skew = self.clock_skew_ms;
        let Some(upload) = self.uploads.get_mut(&request.url) else {
            return Outcome::Answer(HttpResponse::new(404));
        };
        let offset = request
            .header("Upload-Offset")
            .and_then(|v| v.parse::<u64>().ok());
        if offset != Some(upload.data.len() as u64) {
            return Outcome::Answer(
                HttpResponse::new(409).with_header("Upload-Offset", upload.data.len().to_string()),
            );
        }
        if upload.data.len() + body.len() > upload.length as usize {
            return Outcome::Answer(HttpResponse::new(400));
        }
        match fault {
            Some(Fault::Drop { keep_permille }) => {
                let n = keep(body.len(), keep_permille);
                upload.data.extend_from_slice(&body[..n]);
                return Outcome::Drop { received: n as u64 };
            }
            Some(Fault::Stall { keep_permille }) => {
                let n = keep(body.len(), keep_permille);
                upload.data.extend_from_slice(&body[..n]);
                return Outcome::Stall { received: n as u64 };
            }
            Some(Fault::SwallowBody) => {}
            _ => upload.data.extend_from_slice(body),
        }
        let mut response =
            HttpResponse::new(204).with_header("Upload-Offset", upload.data.len().to_string());
        if expiry && !upload.is_complete() {
            response = response.with_header(
                "Upload-Expires",
                http_date(upload.expires_at.saturating_add_signed(skew)),
            );
        }
        Outcome::Answer(response)
    }

    fn delete(&mut self, request: &HttpRequest) -> Outcome {
        let Some(upload) = self.uploads.get_mut(&request.url) else {
            return Outcome::Answer(HttpResponse::new(404));
        };
        if upload.terminated {
            return Outcome::Answer(HttpResponse::new(410));
        }
        upload.terminated = true;
        upload.data.clear();
        Outcome::Answer(HttpResponse::new(204))
    }
}

// ---------------------------------------------------------------- driver

/// The tests' configuration: small chunks so that archives of a few
/// hundred kilobytes take many PATCHes.
pub fn config(chunk_size: u64) -> TusConfig {
    TusConfig {
        chunk_size,
        ..TusConfig::default()
    }
}

/// An upload of `archive` to the test server.
pub fn spec(archive: &Archive) -> UploadSpec {
    UploadSpec::new(ENDPOINT, TOKEN, archive.len())
}

/// Milliseconds a request of `bytes` body bytes takes: 5 ms and 1 MB/s.
pub fn latency(bytes: u64) -> u64 {
    5 + bytes / 1_000
}

/// How a driven upload ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    Completed(String),
    Failed(TusError),
    Terminated { deleted: bool },
}

/// What the shell does, on a virtual clock: sends each request to the
/// server with its body read from the archive, reports progress, answers,
/// failures and timeouts.
pub struct Driver {
    pub clock: u64,
    pub server: TusServer,
    pub archive: Archive,
    /// A request the server never answers.
    pub stalled: Option<auraloader_core::tus::RequestId>,
    pub aborted: Vec<auraloader_core::tus::RequestId>,
    pub events: Vec<TusEvent>,
    pub steps: usize,
    /// Cancel the upload when this many PATCHes were sent.
    pub cancel_after_patches: Option<usize>,
}

impl Driver {
    pub fn new(server: TusServer, archive: Archive) -> Self {
        Self {
            clock: START,
            server,
            archive,
            stalled: None,
            aborted: Vec::new(),
            events: Vec::new(),
            steps: 0,
            cancel_after_patches: None,
        }
    }

    /// A new upload of the archive at the current time.
    pub fn upload(&self, config: TusConfig) -> TusUpload {
        TusUpload::new(config, UploadSpec::new(ENDPOINT, TOKEN, self.archive.len())).unwrap()
    }

    fn drain(&mut self, upload: &mut TusUpload) {
        while let Some(event) = upload.poll_event() {
            self.events.push(event);
        }
    }

    /// Sends one request and feeds the outcome back.
    fn exchange(&mut self, upload: &mut TusUpload, request: HttpRequest, chunk_size: u64) {
        assert!(
            self.stalled.is_none(),
            "a second request while {:?} is in flight",
            self.stalled
        );
        assert!(
            request.body_len() <= chunk_size,
            "a PATCH holds at most one chunk"
        );
        let body = match &request.body {
            Some(range) => self.archive.read(range.clone()),
            None => Vec::new(),
        };
        let id = request.id;
        match self.server.handle(self.clock, &request, &body) {
            Outcome::Answer(response) => {
                // Half the body is through halfway, as a browser reports it.
                let took = latency(body.len() as u64);
                self.clock += took / 2;
                if !body.is_empty() {
                    upload.handle_progress(id, self.clock, body.len() as u64 / 2);
                }
                self.clock += took - took / 2;
                if !body.is_empty() {
                    upload.handle_progress(id, self.clock, body.len() as u64);
                }
                upload.handle_response(id, self.clock, &response);
            }
            Outcome::Drop { received } => {
                self.clock += latency(received);
                if received > 0 {
                    upload.handle_progress(id, self.clock, received);
                }
                upload.handle_failure(
                    id,
                    self.clock,
                    FailureKind::Network("connection reset".into()),
                );
            }
            Outcome::Stall { received } => {
                if received > 0 {
                    self.clock += latency(received);
                    upload.handle_progress(id, self.clock, received);
                }
                self.stalled = Some(id);
            }
        }
    }

    /// Drives `upload` until it finishes; panics past `max_steps` actions
    /// and waits (an endless loop is a failure too).
    pub fn run(&mut self, upload: &mut TusUpload, chunk_size: u64, max_steps: usize) -> End {
        self.run_until(upload, chunk_size, max_steps, |_| false)
            .expect("the upload finished")
    }

    /// Like [`Driver::run`], but returns `None` as soon as `stop` holds
    /// before an action (the page is closed).
    pub fn run_until(
        &mut self,
        upload: &mut TusUpload,
        chunk_size: u64,
        max_steps: usize,
        stop: impl Fn(&Driver) -> bool,
    ) -> Option<End> {
        loop {
            if stop(self) {
                self.drain(upload);
                return None;
            }
            self.steps += 1;
            assert!(
                self.steps <= max_steps,
                "no end after {max_steps} steps; last events: {:?}",
                &self.events[self.events.len().saturating_sub(5)..]
            );
            self.drain(upload);
            if let Some(n) = self.cancel_after_patches {
                if self.server.seen(Method::Patch).len() >= n {
                    self.cancel_after_patches = None;
                    upload.cancel(self.clock);
                }
            }
            match upload.poll_action(self.clock) {
                Some(Action::Abort(id)) => {
                    if self.stalled == Some(id) {
                        self.stalled = None;
                    }
                    self.aborted.push(id);
                }
                Some(Action::Send(request)) => self.exchange(upload, request, chunk_size),
                None if upload.is_finished() => {
                    self.drain(upload);
                    return Some(self.end());
                }
                None => {
                    let at = upload
                        .poll_timeout()
                        .expect("an unfinished upload with nothing to send has a deadline");
                    assert!(
                        at > self.clock || self.stalled.is_some(),
                        "a deadline in the past with nothing to do"
                    );
                    self.clock = self.clock.max(at);
                    upload.handle_timeout(self.clock);
                }
            }
        }
    }

    /// How the upload ended, from its events.
    pub fn end(&self) -> End {
        for event in self.events.iter().rev() {
            match event {
                TusEvent::Completed { url } => return End::Completed(url.clone()),
                TusEvent::Failed(error) => return End::Failed(error.clone()),
                TusEvent::Terminated { deleted } => return End::Terminated { deleted: *deleted },
                _ => {}
            }
        }
        panic!(
            "the upload finished without a final event: {:?}",
            self.events
        );
    }

    /// The retry reasons, in order.
    pub fn retries(&self) -> Vec<(u64, auraloader_core::tus::RetryReason)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                TusEvent::Retrying { in_ms, reason } => Some((*in_ms, reason.clone())),
                _ => None,
            })
            .collect()
    }

    /// Asserts the upload at `url` holds exactly the archive.
    pub fn assert_stored_identical(&mut self, url: &str) {
        let expected = self.archive.bytes();
        let stored = self
            .server
            .upload(url)
            .expect("the upload exists on the server");
        assert!(!stored.terminated);
        assert_eq!(stored.length, expected.len() as u64);
        assert!(
            stored.data == expected,
            "stored bytes differ from the archive (stored {} of {})",
            stored.data.len(),
            expected.len()
        );
    }
}

/// Drives a queue of uploads against one server: each round sends every
/// request the queue hands out, then answers them all. Returns the most
/// requests that were in flight at once.
pub fn run_queue(
    queue: &mut UploadQueue,
    server: &mut TusServer,
    archives: &mut [Archive],
    clock: &mut u64,
    events: &mut Vec<(UploadKey, TusEvent)>,
    max_steps: usize,
) -> usize {
    let mut most_in_flight = 0;
    for _ in 0..max_steps {
        while let Some(event) = queue.poll_event() {
            events.push(event);
        }
        let mut pending = Vec::new();
        while let Some((key, action)) = queue.poll_action(*clock) {
            if let Action::Send(request) = action {
                pending.push((key, request));
            }
        }
        most_in_flight = most_in_flight.max(pending.len());
        if pending.is_empty() {
            if queue.is_finished() {
                while let Some(event) = queue.poll_event() {
                    events.push(event);
                }
                return most_in_flight;
            }
            let at = queue
                .poll_timeout()
                .expect("a waiting queue has a deadline");
            *clock = (*clock).max(at);
            queue.handle_timeout(*clock);
            continue;
        }
        let mut slowest = 0;
        for (key, request) in pending {
            let body = match &request.body {
                Some(range) => archives[key.0].read(range.clone()),
                None => Vec::new(),
            };
            let took = latency(body.len() as u64);
            slowest = slowest.max(took);
            match server.handle(*clock, &request, &body) {
                Outcome::Answer(response) => {
                    queue.handle_response(key, request.id, *clock + took, &response);
                }
                Outcome::Drop { .. } | Outcome::Stall { .. } => {
                    queue.handle_failure(key, request.id, *clock + took, FailureKind::Aborted);
                }
            }
        }
        *clock += slowest;
    }
    panic!("the queue did not finish in {max_steps} steps");
}
