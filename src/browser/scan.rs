//! Scanning dropped files in the browser: the IO around `auraloader_core`'s
//! header scanner.
//!
//! Each file's head is read with `Blob.slice(start, end).arrayBuffer()`:
//! first [`SUGGESTED_FIRST_READ`] bytes, then only the bytes the scanner asks
//! for (`NeedMore`), so Pixel Data is never read. The first reads run in the
//! shared [`Engine`]'s Web Workers, [`HEAD_BATCH`] files per request, which
//! answer with transferred buffers (in Chromium a read of a disk-backed
//! `File` costs the reading thread most of a millisecond, so reads spread
//! over workers finish sooner than on the page's thread); without workers
//! they run on the main thread. Several reads are in flight at once, the outcomes go
//! into a [`StudyGrouper`], and the scan yields to the event loop after
//! every [`SLICE_MS`] of work so the page stays responsive: no task of the
//! scan runs much longer than a slice plus one file. Progress is reported
//! after each slice, and before the scan waits for a worker's answer, so
//! the count shown is not left behind while reads are slow.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use auraloader_core::scan::{scan_head, Scan, ScanRules, SkipReason, SUGGESTED_FIRST_READ};
use auraloader_core::study::{FileKey, Grouping, StudyGrouper};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::worker::{set, Engine, Request, WorkerPool};

/// How long the scan works before it yields to the event loop, in
/// milliseconds: well under the 50 ms of a "long task".
pub const SLICE_MS: f64 = 8.0;

/// How many head reads are in flight at once on the main thread.
pub const READS_IN_FLIGHT: usize = 32;

/// Files per head-read request to a worker.
pub const HEAD_BATCH: usize = 16;

/// Head-read requests in flight per worker.
const BATCHES_PER_WORKER: usize = 3;

/// Bound on the reads of one file: the scanner at least doubles what it asks
/// for each time and never asks past its header limit, so real files need
/// one or two.
const MAX_READS_PER_FILE: usize = 48;

/// One file to scan: the blob to read and how the user sees it.
#[derive(Debug, Clone)]
pub struct DroppedFile {
    /// The `File` (or any `Blob`).
    pub blob: web_sys::Blob,
    /// Relative path, `/`-separated (e.g. `CD/DICOM/IM0001`).
    pub path: String,
}

/// The files of a scan, taken one at a time as the scan reaches them, so a
/// drop of 100,000 files costs no up-front pass on the main thread.
pub trait DroppedFiles {
    /// How many files there are.
    fn count(&self) -> usize;
    /// File `index` (below [`count`](Self::count)); an error aborts the scan.
    fn file(&self, index: usize) -> Result<DroppedFile, JsValue>;
}

impl DroppedFiles for [DroppedFile] {
    fn count(&self) -> usize {
        self.len()
    }

    fn file(&self, index: usize) -> Result<DroppedFile, JsValue> {
        self.get(index)
            .cloned()
            .ok_or_else(|| JsError::new(&format!("no file {index}")).into())
    }
}

impl DroppedFiles for Vec<DroppedFile> {
    fn count(&self) -> usize {
        self.as_slice().count()
    }

    fn file(&self, index: usize) -> Result<DroppedFile, JsValue> {
        self.as_slice().file(index)
    }
}

/// How far a scan is, as reported to the progress callback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScanProgress {
    /// Files scanned so far (instances and skipped files).
    pub scanned: u64,
    /// Files in the scan.
    pub total: u64,
    /// Files skipped so far (duplicates are only known at the end).
    pub skipped: u64,
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct ScanOutcome {
    /// Studies, and the files not uploaded with their reasons.
    pub grouping: Grouping,
    /// Files scanned.
    pub files: u64,
    /// Bytes read from all files together.
    pub bytes_read: u64,
    /// Sizes of all files together.
    pub bytes_total: u64,
}

/// Scans `files`: reads each head, scans it, groups the instances. Calls
/// `on_progress` after each slice of work, before waiting for a worker's
/// answer (when the count changed) and once at the end. A file that
/// cannot be read is skipped as [`SkipReason::Unreadable`]; the scan fails
/// only when `files` does (an entry that is not a file) or the platform lacks
/// what it needs (e.g. `MessageChannel`).
pub async fn scan_dropped_files(
    files: &(impl DroppedFiles + ?Sized),
    rules: &ScanRules,
    on_progress: &mut dyn FnMut(ScanProgress),
) -> Result<ScanOutcome, JsValue> {
    let engine = Engine::shared().await;
    scan_with(&engine, files, rules, on_progress).await
}

/// [`scan_dropped_files`] with the head reads on `engine` (its workers, or
/// the main thread).
pub async fn scan_with(
    engine: &Engine,
    files: &(impl DroppedFiles + ?Sized),
    rules: &ScanRules,
    on_progress: &mut dyn FnMut(ScanProgress),
) -> Result<ScanOutcome, JsValue> {
    let clock = Clock::new();
    let yielder = Yielder::new()?;
    let mut grouper = StudyGrouper::new();
    let count = files.count();
    let mut progress = ScanProgress {
        total: count as u64,
        ..ScanProgress::default()
    };
    let (mut bytes_read, mut bytes_total) = (0u64, 0u64);
    let mut pending: VecDeque<(DroppedFile, u64, Read)> = VecDeque::new();
    let mut next = 0usize;
    let mut slice_start = clock.now();
    let mut reported = progress;
    let in_flight = match engine.pool() {
        Some(pool) => pool.size() * BATCHES_PER_WORKER * HEAD_BATCH,
        None => READS_IN_FLIGHT,
    };
    for _ in 0..count {
        while pending.len() < in_flight && next < count {
            match engine.pool() {
                Some(pool) => {
                    let end = count.min(next + HEAD_BATCH);
                    let batch = (next..end)
                        .map(|i| files.file(i))
                        .collect::<Result<Vec<_>, _>>()?;
                    next = end;
                    let reads = BatchRead::start(pool, &batch);
                    for (i, file) in batch.into_iter().enumerate() {
                        let size = blob_size(&file.blob);
                        let read = match &reads {
                            Ok(reads) => Read::Batch(Rc::clone(reads), i),
                            // The worker refused the message: read here.
                            Err(_) => Read::start(&file.blob, 0, SUGGESTED_FIRST_READ.min(size)),
                        };
                        pending.push_back((file, size, read));
                    }
                }
                None => {
                    let file = files.file(next)?;
                    let size = blob_size(&file.blob);
                    let read = Read::start(&file.blob, 0, SUGGESTED_FIRST_READ.min(size));
                    pending.push_back((file, size, read));
                    next += 1;
                }
            }
        }
        let Some((file, size, first)) = pending.pop_front() else {
            break;
        };
        bytes_total += size;
        // About to wait for a worker's answer (slow media, a busy machine):
        // show what is done so far rather than the count of the last slice.
        if first.would_wait() && progress != reported {
            on_progress(progress);
            reported = progress;
        }
        let (scan, read) = scan_file(&file, size, first, rules).await;
        bytes_read += read;
        progress.scanned += 1;
        let key = FileKey::new(file.path, size);
        match scan {
            Scan::Instance(meta) => grouper.add_instance(key, meta),
            Scan::Skipped(reason) => {
                progress.skipped += 1;
                grouper.add_skipped(key, reason);
            }
            // scan_file never returns NeedMore; keep the file visible if it did.
            Scan::NeedMore { read_up_to } => {
                progress.skipped += 1;
                grouper.add_skipped(key, SkipReason::Truncated { offset: read_up_to });
            }
        }
        if clock.now() - slice_start >= SLICE_MS {
            on_progress(progress);
            reported = progress;
            yielder.yield_now().await?;
            slice_start = clock.now();
        }
    }
    let grouping = grouper.finish();
    progress.skipped = grouping.skipped.len() as u64;
    on_progress(progress);
    Ok(ScanOutcome {
        grouping,
        files: progress.scanned,
        bytes_read,
        bytes_total,
    })
}

/// Scans one file from its first read, reading more while the scanner asks.
/// Returns the answer (never `NeedMore`) and the bytes read.
async fn scan_file(file: &DroppedFile, size: u64, first: Read, rules: &ScanRules) -> (Scan, u64) {
    let mut head = match first.bytes().await {
        Ok(bytes) => bytes,
        Err(why) => return (Scan::Skipped(SkipReason::Unreadable { why }), 0),
    };
    let mut read = head.len() as u64;
    for _ in 0..MAX_READS_PER_FILE {
        match scan_head(&head, size, &file.path, rules) {
            Scan::NeedMore { read_up_to } if read_up_to > read && read_up_to <= size => {
                match Read::start(&file.blob, read, read_up_to).bytes().await {
                    Ok(more) if !more.is_empty() => {
                        read += more.len() as u64;
                        head.extend_from_slice(&more);
                    }
                    Ok(_) => {
                        let why = "the file is shorter than its size says".to_owned();
                        return (Scan::Skipped(SkipReason::Unreadable { why }), read);
                    }
                    Err(why) => return (Scan::Skipped(SkipReason::Unreadable { why }), read),
                }
            }
            Scan::NeedMore { .. } => {
                return (Scan::Skipped(SkipReason::Truncated { offset: read }), read)
            }
            done => return (done, read),
        }
    }
    let limit = rules.max_header_bytes;
    (Scan::Skipped(SkipReason::HeaderTooLarge { limit }), read)
}

/// A read of `start..end` of a blob, started at once (the browser reads
/// while the scan goes on), or file `i` of a worker's batch of head reads.
enum Read {
    Own(Result<JsFuture, String>),
    Batch(Rc<BatchRead>, usize),
}

impl Read {
    fn start(blob: &web_sys::Blob, start: u64, end: u64) -> Self {
        let promise = blob
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map(|slice| slice.array_buffer())
            .map_err(|e| describe(&e));
        Self::Own(promise.map(JsFuture::from))
    }

    /// Whether reading would wait for a worker that has not answered yet.
    fn would_wait(&self) -> bool {
        match self {
            Self::Own(_) => false,
            Self::Batch(batch, _) => batch.answer.borrow().is_none() && !batch.request.is_settled(),
        }
    }

    async fn bytes(self) -> Result<Vec<u8>, String> {
        match self {
            Self::Own(read) => {
                let buffer = read?.await.map_err(|e| describe(&e))?;
                Ok(Uint8Array::new(&buffer).to_vec())
            }
            Self::Batch(batch, index) => batch.bytes(index).await,
        }
    }
}

/// The first reads of a batch of files, done by a worker: its answer is an
/// array of `ArrayBuffer`s (or, for a failed read, the error's name).
struct BatchRead {
    request: Request,
    answer: RefCell<Option<Result<Array, String>>>,
}

impl BatchRead {
    fn start(pool: &WorkerPool, files: &[DroppedFile]) -> Result<Rc<Self>, JsValue> {
        let blobs: Array = files.iter().map(|f| JsValue::from(&f.blob)).collect();
        let message = Object::new();
        set(&message, "type", &"heads".into())?;
        set(&message, "files", &blobs)?;
        set(&message, "bytes", &(SUGGESTED_FIRST_READ as f64).into())?;
        let request = pool.send(&message, &Array::new(), None)?;
        Ok(Rc::new(Self {
            request,
            answer: RefCell::new(None),
        }))
    }

    async fn bytes(&self, index: usize) -> Result<Vec<u8>, String> {
        if self.answer.borrow().is_none() {
            let answer = self
                .request
                .done()
                .await
                .map_err(|e| describe(&e))
                .and_then(|a| a.dyn_into::<Array>().map_err(|_| "no answer".to_owned()));
            *self.answer.borrow_mut() = Some(answer);
        }
        let answer = self.answer.borrow();
        match answer.as_ref() {
            Some(Ok(buffers)) => {
                let item = buffers.get(u32::try_from(index).unwrap_or(u32::MAX));
                match item.as_string() {
                    Some(why) => Err(why),
                    None if item.is_instance_of::<js_sys::ArrayBuffer>() => {
                        Ok(Uint8Array::new(&item).to_vec())
                    }
                    None => Err("read error".to_owned()),
                }
            }
            Some(Err(why)) => Err(why.clone()),
            None => Err("read error".to_owned()),
        }
    }
}

/// A blob's size in bytes.
fn blob_size(blob: &web_sys::Blob) -> u64 {
    let size = blob.size();
    if size.is_finite() && size > 0.0 {
        size as u64
    } else {
        0
    }
}

/// A short description of a JS error: its name, else its text. Never the
/// file's content.
fn describe(error: &JsValue) -> String {
    Reflect::get(error, &JsValue::from_str("name"))
        .ok()
        .and_then(|name| name.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "read error".to_owned())
}

/// Milliseconds from `performance.now()` (in windows and workers), else
/// `Date.now()`.
pub(crate) struct Clock(Option<web_sys::Performance>);

impl Clock {
    pub(crate) fn new() -> Self {
        let performance = Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
            .ok()
            .filter(|p| p.is_object())
            .map(JsCast::unchecked_into::<web_sys::Performance>);
        Self(performance)
    }

    pub(crate) fn now(&self) -> f64 {
        match &self.0 {
            Some(performance) => performance.now(),
            None => js_sys::Date::now(),
        }
    }
}

/// Yields to the event loop through a `MessageChannel` message: a new task
/// right after pending input and rendering, without `setTimeout`'s 4 ms
/// clamp for nested timers.
pub(crate) struct Yielder {
    channel: web_sys::MessageChannel,
}

impl Yielder {
    pub(crate) fn new() -> Result<Self, JsValue> {
        Ok(Self {
            channel: web_sys::MessageChannel::new()?,
        })
    }

    pub(crate) async fn yield_now(&self) -> Result<(), JsValue> {
        let port1 = self.channel.port1();
        let port2 = self.channel.port2();
        let promise = Promise::new(&mut |resolve, _reject| {
            port1.set_onmessage(Some(&resolve));
        });
        port2.post_message(&JsValue::NULL)?;
        JsFuture::from(promise).await?;
        port1.set_onmessage(None);
        Ok(())
    }
}
