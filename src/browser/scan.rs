//! Scanning dropped files in the browser: the IO around `auraloader_core`'s
//! header scanner.
//!
//! Each file's head is a `Blob.slice(start, end)`: first
//! [`SUGGESTED_FIRST_READ`] bytes, then only the bytes the scanner asks for
//! (`NeedMore`), so Pixel Data is never read. The first reads go in batches
//! of [`HEAD_BATCH`] files: one `arrayBuffer()` of a `Blob` made of the
//! batch's heads, in the shared [`Engine`]'s Web Workers (answered as one
//! transferred buffer) or, without workers, on the main thread. What this
//! is measured against (`BENCHMARKS.md`): in Chromium every `Blob` costs a
//! round trip to the browser process when it is made (~0.1 ms, blocking the
//! thread that makes it: so the workers make them) and every read another
//! fixed cost there, so one read per batch beats one read per file, and the
//! bytes matter less. [`BATCHES_IN_FLIGHT`] requests per worker are under
//! way at once; the outcomes go into a [`StudyGrouper`] in the order given,
//! and the scan yields to the event loop after every [`SLICE_MS`] of work
//! so the page stays responsive: no task of the scan runs much longer than
//! a slice plus one batch. When many files need a second read, later
//! batches read more at first (`FirstRead`). [`warm_up`] gets all this
//! ready before the first drop. Progress is reported after each slice,
//! and before the scan waits for a batch's answer, so the count shown is
//! not left behind while reads are slow.

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

/// How the scan reads the heads. [`ScanTuning::default`] is what the widget
/// uses; `cargo xtask bench scan` measures the choice against the browser's
/// floor (see `BENCHMARKS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanTuning {
    /// Files per head-read request: one read of a `Blob` made of their heads.
    pub batch: usize,
    /// Requests in flight per worker, or on the main thread without workers.
    pub in_flight: usize,
    /// Bytes of each file's first read (the scanner asks for more if needed).
    pub first_read: u64,
}

impl Default for ScanTuning {
    fn default() -> Self {
        Self {
            batch: HEAD_BATCH,
            in_flight: BATCHES_IN_FLIGHT,
            first_read: SUGGESTED_FIRST_READ,
        }
    }
}

/// Files per head-read request (default of [`ScanTuning::batch`]).
pub const HEAD_BATCH: usize = 32;

/// Head-read requests in flight per worker, or on the main thread (default
/// of [`ScanTuning::in_flight`]).
pub const BATCHES_IN_FLIGHT: usize = 2;

/// Largest batch and most requests in flight a [`ScanTuning`] may ask for.
const MAX_BATCH: usize = 4096;
const MAX_IN_FLIGHT: usize = 64;

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

/// Gets the scan ready before the first drop: starts the shared [`Engine`]
/// (its workers) and scans one tiny in-memory file through the same path a
/// drop takes, so the browser has compiled the scan code and the workers'
/// read path when the user's files arrive. `mount()` runs it; without it the
/// first scan pays the workers' start and the compilation (see
/// `BENCHMARKS.md`). Returns whether the scan found the file's instance.
pub async fn warm_up() -> bool {
    let parts = Array::of1(&Uint8Array::from(warm_up_head().as_slice()));
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence(&parts) else {
        return false;
    };
    let files = [DroppedFile {
        blob,
        path: "warm-up".to_owned(),
    }];
    matches!(
        scan_dropped_files(&files[..], &ScanRules::default(), &mut |_| {}).await,
        Ok(outcome) if outcome.grouping.studies.len() == 1
    )
}

/// A minimal Part 10 file (explicit VR little endian, no pixel data) for
/// [`warm_up`]: made-up UIDs, no person.
fn warm_up_head() -> Vec<u8> {
    let mut bytes = vec![0u8; 128];
    bytes.extend_from_slice(b"DICM");
    let mut element = |group: u16, number: u16, vr: &[u8; 2], value: &[u8]| {
        let mut value = value.to_vec();
        if value.len() % 2 == 1 {
            value.push(if vr == b"UI" { 0 } else { b' ' });
        }
        bytes.extend_from_slice(&group.to_le_bytes());
        bytes.extend_from_slice(&number.to_le_bytes());
        bytes.extend_from_slice(vr);
        bytes.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_le_bytes());
        bytes.extend_from_slice(&value);
    };
    element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1");
    element(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.2");
    element(0x0008, 0x0018, b"UI", b"2.25.3.1.1");
    element(0x0008, 0x0060, b"CS", b"OT");
    element(0x0010, 0x0010, b"PN", b"WARM^UP");
    element(0x0020, 0x000D, b"UI", b"2.25.3.1");
    element(0x0020, 0x000E, b"UI", b"2.25.3.1.2");
    element(0x0028, 0x0008, b"IS", b"1");
    element(0x0028, 0x0010, b"US", &1u16.to_le_bytes());
    bytes
}

/// [`scan_dropped_files`] with the head reads on `engine` (its workers, or
/// the main thread).
pub async fn scan_with(
    engine: &Engine,
    files: &(impl DroppedFiles + ?Sized),
    rules: &ScanRules,
    on_progress: &mut dyn FnMut(ScanProgress),
) -> Result<ScanOutcome, JsValue> {
    scan_tuned(engine, files, rules, ScanTuning::default(), on_progress).await
}

/// [`scan_with`] with the reads shaped by `tuning` (the benchmark compares
/// choices; the widget uses the default).
pub async fn scan_tuned(
    engine: &Engine,
    files: &(impl DroppedFiles + ?Sized),
    rules: &ScanRules,
    tuning: ScanTuning,
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
    let mut widen = FirstRead::new(tuning.first_read);
    let mut next = 0usize;
    let mut slice_start = clock.now();
    let mut reported = progress;
    let batch_len = tuning.batch.clamp(1, MAX_BATCH);
    let readers = engine.pool().map_or(1, |pool| pool.size().max(1));
    // Files whose reads may be under way: whole batches, so that a new
    // request starts when a whole batch has been scanned.
    let in_flight = readers * tuning.in_flight.clamp(1, MAX_IN_FLIGHT) * batch_len;
    for _ in 0..count {
        // Start batches while there is room, but not past the slice.
        while next < count
            && pending.len() + batch_len.min(count - next) <= in_flight.max(1)
            && (pending.is_empty() || clock.now() - slice_start < SLICE_MS)
        {
            let end = count.min(next + batch_len);
            let first_read = widen.bytes();
            let here = engine.pool().is_none();
            let mut batch = Vec::with_capacity(end - next);
            let mut sizes = Vec::with_capacity(end - next);
            let mut heads = Vec::with_capacity(if here { end - next } else { 0 });
            for i in next..end {
                let file = files.file(i)?;
                // The first look at a picked `File`'s size makes the browser
                // stat it, and every `slice()` registers a new `Blob` with
                // it: round trips that block this thread, so yield between
                // them when the slice is used up.
                sizes.push(blob_size(&file.blob));
                if here {
                    heads.push(file.blob.slice_with_f64_and_f64(0.0, first_read as f64));
                }
                batch.push(file);
                if clock.now() - slice_start >= SLICE_MS {
                    on_progress(progress);
                    yielder.yield_now().await?;
                    slice_start = clock.now();
                }
            }
            next = end;
            let reads = match engine.pool() {
                Some(pool) => BatchRead::in_worker(pool, &batch, first_read).or_else(|_| {
                    // The worker refused the message: read here.
                    let heads = batch
                        .iter()
                        .map(|f| f.blob.slice_with_f64_and_f64(0.0, first_read as f64))
                        .collect();
                    BatchRead::here(heads)
                }),
                None => BatchRead::here(heads),
            };
            for (i, (file, size)) in batch.into_iter().zip(sizes).enumerate() {
                let read = match &reads {
                    Ok(reads) => Read::Batch(Rc::clone(reads), i),
                    Err(_) => Read::start(&file.blob, 0, first_read.min(size)),
                };
                pending.push_back((file, size, read));
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
        let (scan, read, reads) = scan_file(&file, size, first, rules).await;
        bytes_read += read;
        widen.saw(read, reads);
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
/// Returns the answer (never `NeedMore`), the bytes read and the reads made.
async fn scan_file(
    file: &DroppedFile,
    size: u64,
    first: Read,
    rules: &ScanRules,
) -> (Scan, u64, usize) {
    let mut head = match first.bytes().await {
        Ok(bytes) => bytes,
        Err(why) => return (Scan::Skipped(SkipReason::Unreadable { why }), 0, 1),
    };
    let mut read = head.len() as u64;
    for reads in 1..=MAX_READS_PER_FILE {
        match scan_head(&head, size, &file.path, rules) {
            Scan::NeedMore { read_up_to } if read_up_to > read && read_up_to <= size => {
                match Read::start(&file.blob, read, read_up_to).bytes().await {
                    Ok(more) if !more.is_empty() => {
                        read += more.len() as u64;
                        head.extend_from_slice(&more);
                    }
                    Ok(_) => {
                        let why = "the file is shorter than its size says".to_owned();
                        return (
                            Scan::Skipped(SkipReason::Unreadable { why }),
                            read,
                            reads + 1,
                        );
                    }
                    Err(why) => {
                        return (
                            Scan::Skipped(SkipReason::Unreadable { why }),
                            read,
                            reads + 1,
                        )
                    }
                }
            }
            Scan::NeedMore { .. } => {
                return (
                    Scan::Skipped(SkipReason::Truncated { offset: read }),
                    read,
                    reads,
                )
            }
            done => return (done, read, reads),
        }
    }
    let limit = rules.max_header_bytes;
    (
        Scan::Skipped(SkipReason::HeaderTooLarge { limit }),
        read,
        MAX_READS_PER_FILE + 1,
    )
}

/// The size of the first read, widened when many files need more: a second
/// read is one more round trip per file, made while the scan waits, so a
/// study whose headers are all longer than the first read (measured: every
/// file needing a second read made the scan 3× as long) gets a first read
/// that fits them after its first few batches. One odd file does not widen
/// it: only when at least [`WIDEN_SHARE`] of the files scanned since the
/// last change needed more, and never past [`MAX_FIRST_READ`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FirstRead {
    bytes: u64,
    seen: u64,
    needed_more: u64,
    widest: u64,
}

/// The share of files (one in this many) that must need a second read
/// before the first read widens.
const WIDEN_SHARE: u64 = 8;

/// The largest first read [`FirstRead`] widens to.
const MAX_FIRST_READ: u64 = 1024 * 1024;

impl FirstRead {
    fn new(bytes: u64) -> Self {
        Self {
            bytes: bytes.clamp(1, MAX_FIRST_READ),
            seen: 0,
            needed_more: 0,
            widest: 0,
        }
    }

    /// Bytes to read first from each file of the next batch.
    fn bytes(&self) -> u64 {
        self.bytes
    }

    /// One file scanned: `read` bytes in `reads` reads.
    fn saw(&mut self, read: u64, reads: usize) {
        self.seen += 1;
        if reads > 1 {
            self.needed_more += 1;
            self.widest = self.widest.max(read);
        }
        if self.needed_more >= 2 && self.needed_more * WIDEN_SHARE >= self.seen {
            let wider = self.widest.min(MAX_FIRST_READ);
            if wider > self.bytes {
                self.bytes = wider;
            }
            self.seen = 0;
            self.needed_more = 0;
            self.widest = 0;
        }
    }
}

/// A read of `start..end` of a blob, started at once (the browser reads
/// while the scan goes on), or file `i` of a batch of head reads.
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
            Self::Batch(batch, _) => {
                batch.answer.borrow().is_none()
                    && match &batch.source {
                        Source::Worker(request) => !request.is_settled(),
                        // A promise cannot be asked whether it settled.
                        Source::Here { .. } => true,
                    }
            }
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

/// The first reads of a batch of files, as one read of a `Blob` made of
/// their heads: in Chromium every `Blob` read has a fixed cost in the
/// browser process, so one read of many heads costs less than one read each
/// (see `BENCHMARKS.md`).
///
/// A worker does it ([`BatchRead::in_worker`]; its answer is
/// `{buffer, sizes}`: the heads one after the other in one transferred
/// `ArrayBuffer`, or, when the composite read failed, an array of each
/// head's `ArrayBuffer` or error name), or this thread
/// ([`BatchRead::here`]; when the composite read fails, each head is read
/// alone so only the unreadable files are reported).
struct BatchRead {
    source: Source,
    answer: RefCell<Option<Result<Heads, String>>>,
}

/// Who reads a batch.
enum Source {
    /// A worker's request (kept open until the batch is scanned).
    Worker(Request),
    /// This thread: the composite read, each head's slice (for reads one by
    /// one after a failure) and where each head starts in the composite.
    Here {
        read: Promise,
        heads: Vec<web_sys::Blob>,
        starts: Vec<f64>,
    },
}

/// What a batch read gave.
enum Heads {
    /// The heads one after the other, and where each starts (and the end).
    Composite {
        buffer: js_sys::ArrayBuffer,
        starts: Vec<f64>,
    },
    /// One `ArrayBuffer` per file, or its error's name.
    Each(Array),
    /// The composite read on this thread failed: read each head alone.
    Failed,
}

impl BatchRead {
    /// Asks a worker of `pool` for the first `bytes` of each file.
    fn in_worker(
        pool: &WorkerPool,
        files: &[DroppedFile],
        bytes: u64,
    ) -> Result<Rc<Self>, JsValue> {
        let blobs: Array = files.iter().map(|f| JsValue::from(&f.blob)).collect();
        let message = Object::new();
        set(&message, "type", &"heads".into())?;
        set(&message, "files", &blobs)?;
        set(&message, "bytes", &(bytes as f64).into())?;
        // Heads are transferred to the page: no garbage stays in the worker.
        let request = pool.send(&message, &Array::new(), None, 0)?;
        Ok(Rc::new(Self {
            source: Source::Worker(request),
            answer: RefCell::new(None),
        }))
    }

    /// Reads the heads (each file's first bytes, sliced by the caller) on
    /// this thread; fails if a slice failed.
    fn here(heads: Vec<Result<web_sys::Blob, JsValue>>) -> Result<Rc<Self>, JsValue> {
        let heads = heads.into_iter().collect::<Result<Vec<_>, _>>()?;
        let parts: Array = heads.iter().map(JsValue::from).collect();
        let read = web_sys::Blob::new_with_blob_sequence(&parts)?.array_buffer();
        let mut at = 0.0;
        let mut starts = Vec::with_capacity(heads.len() + 1);
        for head in &heads {
            starts.push(at);
            at += head.size();
        }
        starts.push(at);
        Ok(Rc::new(Self {
            source: Source::Here {
                read,
                heads,
                starts,
            },
            answer: RefCell::new(None),
        }))
    }

    /// Waits for the batch's answer (once).
    async fn answer(&self) -> Result<Heads, String> {
        match &self.source {
            Source::Worker(request) => match request.done().await {
                Ok(answer) => Heads::of(&answer),
                Err(e) => Err(describe(&e)),
            },
            Source::Here { read, starts, .. } => match JsFuture::from(read.clone()).await {
                Ok(buffer) => match buffer.dyn_into::<js_sys::ArrayBuffer>() {
                    Ok(buffer)
                        if starts.last().copied().unwrap_or(0.0) <= buffer.byte_length() as f64 =>
                    {
                        Ok(Heads::Composite {
                            buffer,
                            starts: starts.clone(),
                        })
                    }
                    _ => Ok(Heads::Failed),
                },
                Err(_) => Ok(Heads::Failed),
            },
        }
    }

    async fn bytes(&self, index: usize) -> Result<Vec<u8>, String> {
        if self.answer.borrow().is_none() {
            let answer = self.answer().await;
            *self.answer.borrow_mut() = Some(answer);
        }
        let failed = {
            let answer = self.answer.borrow();
            match answer.as_ref() {
                Some(Ok(Heads::Composite { buffer, starts })) => {
                    let (Some(&start), Some(&end)) = (starts.get(index), starts.get(index + 1))
                    else {
                        return Err("read error".to_owned());
                    };
                    let view = Uint8Array::new_with_byte_offset_and_length(
                        buffer,
                        start as u32,
                        (end - start) as u32,
                    );
                    return Ok(view.to_vec());
                }
                Some(Ok(Heads::Each(buffers))) => {
                    let item = buffers.get(u32::try_from(index).unwrap_or(u32::MAX));
                    return match item.as_string() {
                        Some(why) => Err(why),
                        None if item.is_instance_of::<js_sys::ArrayBuffer>() => {
                            Ok(Uint8Array::new(&item).to_vec())
                        }
                        None => Err("read error".to_owned()),
                    };
                }
                Some(Ok(Heads::Failed)) => true,
                Some(Err(why)) => return Err(why.clone()),
                None => return Err("read error".to_owned()),
            }
        };
        let head = match &self.source {
            Source::Here { heads, .. } => heads.get(index),
            Source::Worker(_) => None,
        };
        match head {
            Some(head) if failed => {
                let buffer = JsFuture::from(head.array_buffer())
                    .await
                    .map_err(|e| describe(&e))?;
                Ok(Uint8Array::new(&buffer).to_vec())
            }
            _ => Err("read error".to_owned()),
        }
    }
}

impl Heads {
    /// Reads a batch answer: `{buffer, sizes}` or an array (see [`BatchRead`]).
    fn of(answer: &JsValue) -> Result<Self, String> {
        if Array::is_array(answer) {
            return Ok(Self::Each(answer.clone().unchecked_into()));
        }
        let buffer = Reflect::get(answer, &"buffer".into())
            .ok()
            .and_then(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok());
        let sizes = Reflect::get(answer, &"sizes".into())
            .ok()
            .and_then(|s| s.dyn_into::<Array>().ok());
        let (Some(buffer), Some(sizes)) = (buffer, sizes) else {
            return Err("no answer".to_owned());
        };
        let mut at = 0.0;
        let mut starts = Vec::with_capacity(sizes.length() as usize + 1);
        for size in sizes.iter() {
            starts.push(at);
            at += size
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(0.0);
        }
        starts.push(at);
        if at > buffer.byte_length() as f64 {
            return Err("the worker's answer is shorter than its sizes".to_owned());
        }
        Ok(Self::Composite { buffer, starts })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_read_widens_when_many_files_need_more() {
        let mut first = FirstRead::new(8192);
        for _ in 0..4 {
            first.saw(8192, 1);
        }
        first.saw(32768, 3);
        first.saw(16384, 2);
        assert_eq!(first.bytes(), 32768);
    }

    #[test]
    fn one_odd_file_does_not_widen_the_first_read() {
        let mut first = FirstRead::new(8192);
        first.saw(4 << 20, 10);
        for _ in 0..200 {
            first.saw(8192, 1);
        }
        first.saw(65536, 4);
        assert_eq!(first.bytes(), 8192);
    }

    #[test]
    fn the_first_read_never_widens_past_its_limit() {
        let mut first = FirstRead::new(8192);
        first.saw(64 << 20, 12);
        first.saw(64 << 20, 12);
        assert_eq!(first.bytes(), MAX_FIRST_READ);
        assert_eq!(FirstRead::new(0).bytes(), 1);
    }

    #[test]
    fn the_warm_up_head_is_one_instance_for_the_scanner() {
        let head = warm_up_head();
        match scan_head(&head, head.len() as u64, "warm-up", &ScanRules::default()) {
            Scan::Instance(meta) => {
                assert_eq!(meta.sop_instance_uid, "2.25.3.1.1");
                assert_eq!(meta.study_instance_uid, "2.25.3.1");
                assert_eq!(meta.series_instance_uid, "2.25.3.1.2");
            }
            other => panic!("the warm-up head scans as {other:?}"),
        }
    }
}
