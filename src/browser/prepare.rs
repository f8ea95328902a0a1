//! Preparing a study's zip before its upload: the exact archive length, and
//! any byte range as a `Blob`, without the study's bytes in wasm memory.
//!
//! tus sets `Upload-Length` when the upload is created, so the archive's
//! length must be known before its first byte: [`prepare_study`] runs once
//! over the study's files. Entries to deflate are compressed (in the
//! [`Engine`]'s workers, or on the main thread in slices) into one
//! compressed `Blob` each, kept by the browser outside wasm memory; entries
//! to store are only read for their CRC-32 and are never copied: their bytes
//! come from the original `File` when sent. Then [`PreparedStudy::blob`]
//! builds any range from parts: header bytes from [`StudyZip`], slices of
//! the original files, slices of the compressed `Blob`s.
//!
//! The deflate settings are fixed and every file is pushed to the compressor
//! in pieces of exactly [`PUSH_BYTES`] (workers and main thread alike), so
//! the same files always give the same archive, byte for byte: a study
//! re-added after a page reload resumes its upload.
//!
//! [`PrepareQueue`] prepares the studies of an upload one after the other,
//! one ahead of the consumer: study k+1 prepares while study k uploads.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use auraloader_core::study::{FileKey, Study};
use auraloader_core::zip::{entry_name, Compression, Method, Piece, StudyZip, ZipEntry};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::scan::{Clock, Yielder, SLICE_MS};
use super::worker::{describe, gate, set, Engine, EntryJob, Request, WorkerPool};

/// The compressor is fed in pieces of exactly this many bytes (the last piece
/// of a file may be shorter), on every path, so the output never depends on
/// where the work ran.
pub const PUSH_BYTES: usize = 256 * 1024;

/// Bytes per read of a file while preparing (a multiple of [`PUSH_BYTES`]).
pub const READ_BYTES: u64 = 4 * PUSH_BYTES as u64;

/// Requests in flight per worker, so none waits for its next file.
const PER_WORKER: usize = 2;

/// Compressed output is moved out of wasm memory in parts of this size.
const OUTPUT_PART: usize = 1 << 20;

/// How often (ms) the worker path reports progress and looks at the cancel
/// token while it waits.
const TICK_MS: i32 = 100;

/// One file of a study to prepare.
#[derive(Debug, Clone)]
pub struct PrepareFile {
    /// The original `File` (or any `Blob`).
    pub blob: web_sys::Blob,
    /// Its name in the archive (see [`entry_name`]).
    pub name: String,
    /// Stored or deflated.
    pub method: Method,
}

impl PrepareFile {
    /// The files of `study` in archive order (series, then instances, as the
    /// grouping sorted them), named by their UIDs, with the method
    /// `compression` gives each one's transfer syntax. `blob_of` finds the
    /// `Blob` of a scanned file.
    pub fn for_study(
        study: &Study,
        compression: Compression,
        mut blob_of: impl FnMut(&FileKey) -> Option<web_sys::Blob>,
    ) -> Result<Vec<PrepareFile>, JsValue> {
        let mut files = Vec::with_capacity(study.image_count() as usize);
        for series in &study.series {
            for instance in &series.instances {
                let meta = &instance.meta;
                let name = entry_name(
                    &study.study_instance_uid,
                    &series.series_instance_uid,
                    &meta.sop_instance_uid,
                );
                let blob = blob_of(&instance.key).ok_or_else(|| {
                    JsError::new(&format!(
                        "the file of zip entry {name} is no longer available"
                    ))
                })?;
                files.push(PrepareFile {
                    blob,
                    method: compression.method_for(&meta.transfer_syntax_uid),
                    name,
                });
            }
        }
        Ok(files)
    }
}

/// How far a preparation is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PrepareProgress {
    /// Bytes of the study's files read so far.
    pub bytes: u64,
    /// Bytes of all the study's files together.
    pub total: u64,
}

/// Stops a preparation (or a [`PrepareQueue`]) at its next step.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Rc<Cell<bool>>);

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every preparation holding a clone of this token.
    pub fn cancel(&self) {
        self.0.set(true);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.get()
    }
}

/// The error of a cancelled preparation.
fn cancelled() -> JsValue {
    let error = js_sys::Error::new("the preparation was cancelled");
    error.set_name("AbortError");
    error.into()
}

/// What a preparation measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareStats {
    /// Workers used (0: the main thread).
    pub workers: usize,
    /// Largest wasm memory of any worker seen so far, in bytes.
    pub worker_peak_memory: f64,
}

/// A study's archive, ready to upload: its exact length and any byte range.
#[derive(Debug, Clone)]
pub struct PreparedStudy {
    zip: StudyZip,
    /// Per entry: the original file (stored) or the compressed `Blob`
    /// (deflated).
    sources: Vec<web_sys::Blob>,
    stats: PrepareStats,
}

impl PreparedStudy {
    /// The archive's exact length in bytes (tus `Upload-Length`).
    pub fn len(&self) -> u64 {
        self.zip.len()
    }

    /// Whether the archive has no entries.
    pub fn is_empty(&self) -> bool {
        self.zip.is_empty()
    }

    /// The layout: entries with their methods, sizes and CRCs.
    pub fn zip(&self) -> &StudyZip {
        &self.zip
    }

    /// Where entry `index`'s data comes from: the original file (stored) or
    /// the compressed part (deflated).
    pub fn source(&self, index: usize) -> Option<&web_sys::Blob> {
        self.sources.get(index)
    }

    /// What the preparation measured.
    pub fn stats(&self) -> PrepareStats {
        self.stats
    }

    /// Bytes `start..end` of the archive as a `Blob` made of parts (header
    /// bytes, slices of the original files and of the compressed parts): no
    /// entry data is read until the `Blob` is.
    pub fn blob(&self, start: u64, end: u64) -> Result<web_sys::Blob, JsValue> {
        let pieces = self
            .zip
            .pieces(start..end)
            .map_err(|e| JsValue::from(JsError::new(&e.to_string())))?;
        let parts = Array::new();
        for piece in pieces {
            match piece {
                Piece::Bytes(bytes) => {
                    parts.push(&Uint8Array::from(bytes.as_slice()));
                }
                Piece::Data { entry, range } => {
                    let source = self.sources.get(entry).ok_or_else(|| {
                        JsValue::from(JsError::new(&format!("no source for zip entry {entry}")))
                    })?;
                    let slice =
                        source.slice_with_f64_and_f64(range.start as f64, range.end as f64)?;
                    parts.push(&slice);
                }
            }
        }
        web_sys::Blob::new_with_blob_sequence(&parts)
    }
}

/// What preparing one entry gave.
struct Prepared {
    crc32: u32,
    size: u64,
    compressed_size: u64,
    /// The compressed `Blob` (deflated entries).
    blob: Option<web_sys::Blob>,
}

/// Prepares `files` into a [`PreparedStudy`]: reads every file once,
/// compressing the deflated entries and taking the CRC-32 of all. Calls
/// `on_progress` as it goes and at the end. Fails when a file cannot be read
/// or changed size, or when `cancel` is cancelled.
pub async fn prepare_study(
    files: Vec<PrepareFile>,
    engine: &Engine,
    on_progress: &mut dyn FnMut(PrepareProgress),
    cancel: &CancelToken,
) -> Result<PreparedStudy, JsValue> {
    let sizes: Vec<u64> = files.iter().map(|f| blob_size(&f.blob)).collect();
    let total = sizes.iter().sum();
    on_progress(PrepareProgress { bytes: 0, total });
    let (prepared, stats) = match engine.pool() {
        Some(pool) => {
            let prepared = prepare_in_workers(&files, &sizes, pool, on_progress, cancel).await?;
            let stats = PrepareStats {
                workers: pool.size(),
                worker_peak_memory: pool.peak_memory_bytes(),
            };
            (prepared, stats)
        }
        None => (
            prepare_on_main_thread(&files, &sizes, on_progress, cancel).await?,
            PrepareStats::default(),
        ),
    };
    let mut entries = Vec::with_capacity(files.len());
    let mut sources = Vec::with_capacity(files.len());
    for ((file, size), done) in files.into_iter().zip(sizes).zip(prepared) {
        if done.size != size {
            return Err(JsError::new(&format!(
                "the file of zip entry {} changed while it was prepared ({size} bytes, then {})",
                file.name, done.size
            ))
            .into());
        }
        let source = match (file.method, done.blob) {
            (Method::Stored, _) => file.blob,
            (Method::Deflated, Some(blob)) => blob,
            (Method::Deflated, None) => {
                return Err(
                    JsError::new(&format!("zip entry {} was not compressed", file.name)).into(),
                )
            }
        };
        if file.method == Method::Deflated && blob_size(&source) != done.compressed_size {
            return Err(JsError::new(&format!(
                "the compressed part of zip entry {} has the wrong size",
                file.name
            ))
            .into());
        }
        entries.push(ZipEntry {
            name: file.name,
            method: file.method,
            crc32: done.crc32,
            compressed_size: done.compressed_size,
            uncompressed_size: done.size,
        });
        sources.push(source);
    }
    let zip = StudyZip::new(entries).map_err(|e| JsValue::from(JsError::new(&e.to_string())))?;
    on_progress(PrepareProgress {
        bytes: total,
        total,
    });
    Ok(PreparedStudy {
        zip,
        sources,
        stats,
    })
}

thread_local! {
    static NEXT_JOB: Cell<u32> = const { Cell::new(1) };
}

/// The worker path: up to [`PER_WORKER`] files per worker in flight.
async fn prepare_in_workers(
    files: &[PrepareFile],
    sizes: &[u64],
    pool: &Rc<WorkerPool>,
    on_progress: &mut dyn FnMut(PrepareProgress),
    cancel: &CancelToken,
) -> Result<Vec<Prepared>, JsValue> {
    let total: u64 = sizes.iter().sum();
    let mut results: Vec<Option<Prepared>> = (0..files.len()).map(|_| None).collect();
    // Bytes read of the files in flight, and of the files done.
    let partial: Rc<RefCell<Vec<u64>>> = Rc::new(RefCell::new(vec![0; files.len()]));
    let mut done_bytes = 0u64;
    let mut pending: Vec<(usize, u32, Request)> = Vec::new();
    let mut next = 0usize;
    let limit = pool.size() * PER_WORKER;
    let mut last_report = 0u64;
    // Bounded: every round either starts a file, finishes one, or ticks
    // (and a tick past cancellation returns).
    loop {
        if cancel.is_cancelled() {
            for (_, job, request) in &pending {
                pool.cancel(request.worker, *job);
            }
            return Err(cancelled());
        }
        while pending.len() < limit && next < files.len() {
            let index = next;
            next += 1;
            let job = NEXT_JOB.with(|n| n.replace(n.get().wrapping_add(1)));
            let message = Object::new();
            set(&message, "type", &"entry".into())?;
            set(&message, "job", &job.into())?;
            set(&message, "file", &files[index].blob)?;
            set(
                &message,
                "deflate",
                &(files[index].method == Method::Deflated).into(),
            )?;
            set(&message, "push", &(PUSH_BYTES as f64).into())?;
            set(&message, "read", &(READ_BYTES as f64).into())?;
            let sink = Rc::clone(&partial);
            let on_bytes = Box::new(move |bytes: f64| {
                if let Some(slot) = sink.borrow_mut().get_mut(index) {
                    *slot = bytes as u64;
                }
            });
            let request = pool.send(&message, &Array::new(), Some(on_bytes))?;
            pending.push((index, job, request));
        }
        if pending.is_empty() {
            break;
        }
        // Wait until a request settles, or a tick.
        if !pending.iter().any(|(_, _, r)| r.is_settled()) {
            let (settled, wake) = gate();
            pool.wake_on_settle(wake);
            let _ = JsFuture::from(Promise::race(&Array::of2(&settled, &sleep(TICK_MS)))).await;
        }
        let mut slot = 0;
        while slot < pending.len() {
            if !pending[slot].2.is_settled() {
                slot += 1;
                continue;
            }
            let (index, _, request) = pending.swap_remove(slot);
            match request.done().await {
                Ok(answer) => {
                    done_bytes += sizes[index];
                    if let Some(bytes) = partial.borrow_mut().get_mut(index) {
                        *bytes = 0;
                    }
                    results[index] = Some(read_answer(&answer)?);
                }
                Err(error) => {
                    for (_, job, request) in &pending {
                        pool.cancel(request.worker, *job);
                    }
                    return Err(JsError::new(&format!(
                        "preparing zip entry {} failed: {}",
                        files[index].name,
                        describe(&error)
                    ))
                    .into());
                }
            }
        }
        let bytes = done_bytes + partial.borrow().iter().sum::<u64>();
        if bytes != last_report {
            last_report = bytes;
            on_progress(PrepareProgress {
                bytes: bytes.min(total),
                total,
            });
        }
    }
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.ok_or_else(|| {
                JsError::new(&format!("zip entry {} was not prepared", files[i].name)).into()
            })
        })
        .collect()
}

/// The worker's answer to an `entry` message.
fn read_answer(answer: &JsValue) -> Result<Prepared, JsValue> {
    let number = |key: &str| -> Result<f64, JsValue> {
        Reflect::get(answer, &key.into())?
            .as_f64()
            .ok_or_else(|| JsError::new(&format!("the worker's answer has no {key}")).into())
    };
    let blob = Reflect::get(answer, &"blob".into())?
        .dyn_into::<web_sys::Blob>()
        .ok();
    Ok(Prepared {
        crc32: number("crc32")? as u32,
        size: number("size")? as u64,
        compressed_size: number("compressedSize")? as u64,
        blob,
    })
}

/// The main-thread path: one file after the other, reads in flight while
/// compressing, yielding to the event loop every [`SLICE_MS`].
async fn prepare_on_main_thread(
    files: &[PrepareFile],
    sizes: &[u64],
    on_progress: &mut dyn FnMut(PrepareProgress),
    cancel: &CancelToken,
) -> Result<Vec<Prepared>, JsValue> {
    let total: u64 = sizes.iter().sum();
    let clock = Clock::new();
    let yielder = Yielder::new()?;
    let mut slice_start = clock.now();
    let mut done_bytes = 0u64;
    let mut results = Vec::with_capacity(files.len());
    for (file, &size) in files.iter().zip(sizes) {
        let deflate = file.method == Method::Deflated;
        let mut job = EntryJob::new(deflate);
        let parts = Array::new();
        let mut compressed = 0u64;
        let mut offset = 0u64;
        let read = |at: u64| -> Result<JsFuture, JsValue> {
            let end = size.min(at + READ_BYTES);
            let slice = file.blob.slice_with_f64_and_f64(at as f64, end as f64)?;
            Ok(JsFuture::from(slice.array_buffer()))
        };
        let mut next = if size > 0 { Some(read(0)?) } else { None };
        while let Some(reading) = next.take() {
            let buffer = reading.await.map_err(|e| {
                JsValue::from(JsError::new(&format!(
                    "reading the file of zip entry {} failed: {}",
                    file.name,
                    describe(&e)
                )))
            })?;
            let bytes = Uint8Array::new(&buffer).to_vec();
            if bytes.is_empty() {
                return Err(JsError::new(&format!(
                    "the file of zip entry {} is shorter than its size says",
                    file.name
                ))
                .into());
            }
            offset += bytes.len() as u64;
            if offset < size {
                next = Some(read(offset)?);
            }
            for piece in bytes.chunks(PUSH_BYTES) {
                job.push(piece)
                    .map_err(|why| JsValue::from(JsError::new(&why)))?;
                if job.output().len() >= OUTPUT_PART {
                    compressed += move_out(&mut job, &parts);
                }
                if clock.now() - slice_start >= SLICE_MS {
                    on_progress(PrepareProgress {
                        bytes: done_bytes + offset,
                        total,
                    });
                    yielder.yield_now().await?;
                    slice_start = clock.now();
                    if cancel.is_cancelled() {
                        return Err(cancelled());
                    }
                }
            }
        }
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        job.finish()
            .map_err(|why| JsValue::from(JsError::new(&why)))?;
        compressed += move_out(&mut job, &parts);
        done_bytes += size;
        results.push(Prepared {
            crc32: job.crc32(),
            size: offset,
            compressed_size: if deflate { compressed } else { offset },
            blob: if deflate {
                Some(web_sys::Blob::new_with_u8_array_sequence(&parts)?)
            } else {
                None
            },
        });
    }
    Ok(results)
}

/// Moves the job's output out of wasm memory into `parts`; returns its length.
fn move_out(job: &mut EntryJob, parts: &Array) -> u64 {
    let output = job.take_output();
    if !output.is_empty() {
        parts.push(&Uint8Array::from(output.as_slice()));
    }
    output.len() as u64
}

/// A promise resolving to `undefined` after `ms` milliseconds.
fn sleep(ms: i32) -> Promise {
    Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Some(set_timeout) = Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        {
            let _ = set_timeout.call2(&global, &resolve, &JsValue::from(ms));
        } else {
            let _ = resolve.call0(&JsValue::NULL);
        }
    })
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

// ---------------------------------------------------------------------------
// The queue.

/// A study being prepared: its result once there, and a promise that
/// resolves then.
struct Slot {
    result: Rc<RefCell<Option<Result<PreparedStudy, JsValue>>>>,
    done: Promise,
}

/// Prepares the studies of an upload in order, one ahead of the consumer:
/// [`next`](Self::next) returns study k and starts preparing study k+1, so it
/// prepares while study k uploads.
pub struct PrepareQueue {
    studies: RefCell<VecDeque<Vec<PrepareFile>>>,
    engine: Engine,
    cancel: CancelToken,
    on_progress: Rc<dyn Fn(usize, PrepareProgress)>,
    ahead: RefCell<Option<Slot>>,
    started: Cell<usize>,
}

impl std::fmt::Debug for PrepareQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrepareQueue")
            .field("waiting", &self.studies.borrow().len())
            .field("started", &self.started.get())
            .finish()
    }
}

impl PrepareQueue {
    /// A queue over `studies` (each a list of files), preparing on `engine`;
    /// `on_progress(k, progress)` reports study k. Starts the first study at
    /// once.
    pub fn new(
        studies: Vec<Vec<PrepareFile>>,
        engine: Engine,
        on_progress: impl Fn(usize, PrepareProgress) + 'static,
    ) -> Self {
        let queue = Self {
            studies: RefCell::new(studies.into()),
            engine,
            cancel: CancelToken::new(),
            on_progress: Rc::new(on_progress),
            ahead: RefCell::new(None),
            started: Cell::new(0),
        };
        let first = queue.start_next();
        *queue.ahead.borrow_mut() = first;
        queue
    }

    /// Starts preparing the next waiting study, if any.
    fn start_next(&self) -> Option<Slot> {
        let files = self.studies.borrow_mut().pop_front()?;
        let index = self.started.get();
        self.started.set(index + 1);
        let result = Rc::new(RefCell::new(None));
        let (done, resolve) = {
            let mut resolve = None;
            let done = Promise::new(&mut |r, _| resolve = Some(r));
            (done, resolve)
        };
        let engine = self.engine.clone();
        let cancel = self.cancel.clone();
        let on_progress = Rc::clone(&self.on_progress);
        let sink = Rc::clone(&result);
        wasm_bindgen_futures::spawn_local(async move {
            let mut report = |p: PrepareProgress| on_progress(index, p);
            let prepared = prepare_study(files, &engine, &mut report, &cancel).await;
            *sink.borrow_mut() = Some(prepared);
            if let Some(resolve) = resolve {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        Some(Slot { result, done })
    }

    /// The next study, prepared (or why it could not be); `None` when all
    /// were given. Starts preparing the study after it.
    pub async fn next(&self) -> Option<Result<PreparedStudy, JsValue>> {
        let slot = self.ahead.borrow_mut().take()?;
        let _ = JsFuture::from(slot.done.clone()).await;
        let result = slot.result.borrow_mut().take();
        let after = self.start_next();
        *self.ahead.borrow_mut() = after;
        Some(
            result.unwrap_or_else(|| {
                Err(JsError::new("the preparation ended without a result").into())
            }),
        )
    }

    /// Cancels the study preparing now and every later one.
    pub fn cancel(&self) {
        self.cancel.cancel();
        self.studies.borrow_mut().clear();
    }
}
