//! Preparing a study's zip before its upload: the exact archive length, and
//! any byte range as a `Blob`, without the study's bytes in wasm memory.
//!
//! tus sets `Upload-Length` when the upload is created, so the archive's
//! length must be known before its first byte: [`prepare_study`] runs once
//! over the study's files. Runs of consecutive entries to deflate (up to
//! [`PACK_BYTES`] or [`PACK_FILES`]) are compressed together (in the
//! [`Engine`]'s workers, or on the main thread in slices) into one "pack"
//! `Blob` holding each entry's local header and compressed bytes as they sit
//! in the archive, kept by the browser outside wasm memory (local headers do
//! not depend on where an entry sits, so they can be written before the
//! layout is known). A worker reads a group's files as one `Blob` made of
//! them all, in reads of [`READ_BYTES`] that span file boundaries, with
//! [`READS_AHEAD`] in flight: in Chromium each read of a disk-backed `File`
//! has a fixed cost in the browser process, so one read per small file cost
//! more than compressing it (the reads alone of 2,000 files of 16 KiB in 2
//! workers: 1.07 s one read per file, 0.34 s in composite reads of 64
//! files). Entries to store are only read for their CRC-32 and never
//! copied: their bytes come from the original `File` when sent. Then
//! [`PreparedStudy::blob`] builds any range from few parts: whole or sliced
//! packs, the original files, header bytes from [`StudyZip`]. Few parts
//! matter: in Chromium every `Blob.slice` and every part costs the page's
//! thread a fraction of a millisecond, so one part per entry would make a
//! range of 2,000 small entries a long task.
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
use auraloader_core::zip::{
    entry_name, local_header, Compression, Method, Piece, StudyZip, ZipEntry,
};
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
/// Small enough that one push stays a few milliseconds on a slow machine
/// (the main-thread path yields between pushes).
pub const PUSH_BYTES: usize = 64 * 1024;

/// Bytes per read while preparing (a multiple of [`PUSH_BYTES`]). A worker
/// reads a group's files as one `Blob` made of them all, in reads of this
/// size that span file boundaries; the main thread reads each file alone.
pub const READ_BYTES: u64 = 16 * PUSH_BYTES as u64;

/// Reads a worker keeps in flight per group, so the next bytes arrive while
/// the last ones are compressed. Measured on 2,000 small files in 2
/// workers: 3 in flight were no faster than 2 (0.54 s both), nor were 3
/// groups in flight per worker instead of 2 (0.53 s).
pub const READS_AHEAD: usize = 2;

/// On the main thread, the parts of a pack are folded into one `Blob` every
/// this many parts, so that no single `Blob` construction is a long task.
const FOLD_PARTS: u32 = 64;

/// Requests in flight per worker, so none waits for its next file.
const PER_WORKER: usize = 2;

/// Compressed output is moved out of wasm memory in parts of this size.
const OUTPUT_PART: usize = 1 << 20;

/// How often (ms) the worker path reports progress and looks at the cancel
/// token while it waits.
const TICK_MS: u64 = 100;

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

/// A run of the archive's bytes, in archive order.
#[derive(Debug, Clone)]
enum Segment {
    /// Local headers and compressed data of consecutive deflated entries,
    /// as one `Blob` made by the preparation.
    Pack { blob: web_sys::Blob },
    /// One stored entry: its local header (from the layout), then the
    /// original file, never copied.
    Stored { entry: usize, file: web_sys::Blob },
}

/// A study's archive, ready to upload: its exact length and any byte range.
#[derive(Debug, Clone)]
pub struct PreparedStudy {
    zip: StudyZip,
    segments: Vec<Segment>,
    /// Where each segment starts in the archive.
    starts: Vec<u64>,
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

    /// The original file a stored entry's data is read from (`None` for a
    /// deflated entry, whose data is in a prepared `Blob`).
    pub fn stored_source(&self, index: usize) -> Option<&web_sys::Blob> {
        self.segments.iter().find_map(|s| match s {
            Segment::Stored { entry, file } if *entry == index => Some(file),
            _ => None,
        })
    }

    /// What the preparation measured.
    pub fn stats(&self) -> PrepareStats {
        self.stats
    }

    /// Bytes `start..end` of the archive as a `Blob` made of parts: whole or
    /// sliced prepared `Blob`s, slices of the original files, header bytes.
    /// No entry data is read until the `Blob` is, and the parts are few (one
    /// per prepared pack or stored entry in the range, plus one for the
    /// central directory), so this stays cheap on the page's thread.
    pub fn blob(&self, start: u64, end: u64) -> Result<web_sys::Blob, JsValue> {
        if start > end || end > self.len() {
            return Err(JsError::new(&format!(
                "bytes {start}..{end} are outside the archive of {} bytes",
                self.len()
            ))
            .into());
        }
        let parts = Array::new();
        let cd = self.zip.central_directory_offset();
        let first = self
            .starts
            .partition_point(|&s| s <= start)
            .saturating_sub(1);
        let mut at = start;
        for (i, segment) in self.segments.iter().enumerate().skip(first) {
            let seg_start = self.starts[i];
            let seg_end = self.starts.get(i + 1).copied().unwrap_or(cd);
            if at >= end.min(cd) {
                break;
            }
            if seg_end <= at {
                continue;
            }
            let stop = end.min(seg_end);
            match segment {
                Segment::Pack { blob } => {
                    if at == seg_start && stop == seg_end {
                        parts.push(blob);
                    } else {
                        let slice = blob.slice_with_f64_and_f64(
                            (at - seg_start) as f64,
                            (stop - seg_start) as f64,
                        )?;
                        parts.push(&slice);
                    }
                }
                Segment::Stored { entry, file } => {
                    for piece in self.zip.pieces(at..stop).map_err(zip_error)? {
                        match piece {
                            Piece::Bytes(bytes) => {
                                parts.push(&Uint8Array::from(bytes.as_slice()));
                            }
                            Piece::Data { entry: e, range } if e == *entry => {
                                if range.start == 0 && range.end as f64 == file.size() {
                                    parts.push(file);
                                } else {
                                    let slice = file.slice_with_f64_and_f64(
                                        range.start as f64,
                                        range.end as f64,
                                    )?;
                                    parts.push(&slice);
                                }
                            }
                            Piece::Data { entry: e, .. } => {
                                return Err(JsError::new(&format!(
                                    "zip entry {e} is not where the layout says"
                                ))
                                .into())
                            }
                        }
                    }
                }
            }
            at = stop;
        }
        if end > cd {
            // Central directory and end records: header bytes only, as one part.
            let mut tail = Vec::with_capacity((end - start.max(cd)) as usize);
            for piece in self.zip.pieces(start.max(cd)..end).map_err(zip_error)? {
                if let Piece::Bytes(bytes) = piece {
                    tail.extend_from_slice(&bytes);
                }
            }
            parts.push(&Uint8Array::from(tail.as_slice()));
        }
        web_sys::Blob::new_with_blob_sequence(&parts)
    }
}

fn zip_error(error: auraloader_core::zip::ZipError) -> JsValue {
    JsError::new(&error.to_string()).into()
}

/// Consecutive files of one method, prepared together: one worker request,
/// and (deflated) one `Blob`.
#[derive(Debug, Clone)]
struct Group {
    files: std::ops::Range<usize>,
    deflate: bool,
}

/// A group ends at this many input bytes or [`PACK_FILES`] files: big enough
/// that a range spans few `Blob`s, small enough to spread over the workers.
pub const PACK_BYTES: u64 = 4 << 20;

/// Most files in a group: posting a `File` to a worker costs the page's
/// thread a fraction of a millisecond, so one request of hundreds of files
/// would be a long task.
pub const PACK_FILES: usize = 64;

fn groups(files: &[PrepareFile], sizes: &[u64]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut bytes = 0u64;
    for (i, file) in files.iter().enumerate() {
        let deflate = file.method == Method::Deflated;
        match out.last_mut() {
            Some(g)
                if g.deflate == deflate
                    && bytes < PACK_BYTES
                    && g.files.end - g.files.start < PACK_FILES =>
            {
                g.files.end = i + 1;
                bytes += sizes[i];
            }
            _ => {
                out.push(Group {
                    files: i..i + 1,
                    deflate,
                });
                bytes = sizes[i];
            }
        }
    }
    out
}

/// What preparing a group gave: each entry's CRC and sizes, and the pack
/// `Blob` of a deflated group.
struct Prepared {
    entries: Vec<(u32, u64, u64)>,
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
    let groups = groups(&files, &sizes);
    let (prepared, stats) = match engine.pool() {
        Some(pool) => {
            let prepared =
                prepare_in_workers(&files, &sizes, &groups, pool, on_progress, cancel).await?;
            let stats = PrepareStats {
                workers: pool.size(),
                worker_peak_memory: pool.peak_memory_bytes(),
            };
            (prepared, stats)
        }
        None => (
            prepare_on_main_thread(&files, &sizes, &groups, on_progress, cancel).await?,
            PrepareStats::default(),
        ),
    };
    let mut entries = Vec::with_capacity(files.len());
    for (group, done) in groups.iter().zip(&prepared) {
        if done.entries.len() != group.files.len() {
            return Err(JsError::new("a worker answered for the wrong number of files").into());
        }
        for (i, &(crc32, size, compressed_size)) in group.files.clone().zip(&done.entries) {
            let file = &files[i];
            if size != sizes[i] {
                return Err(JsError::new(&format!(
                    "the file of zip entry {} changed while it was prepared ({} bytes, then {size})",
                    file.name, sizes[i]
                ))
                .into());
            }
            entries.push(ZipEntry {
                name: file.name.clone(),
                method: file.method,
                crc32,
                compressed_size,
                uncompressed_size: size,
            });
        }
    }
    let zip = StudyZip::new(entries).map_err(zip_error)?;
    let mut segments = Vec::new();
    let mut starts = Vec::new();
    for (group, done) in groups.iter().zip(prepared) {
        let first = group.files.start;
        let start = zip.header_offset(first).unwrap_or(0);
        if group.deflate {
            let blob = done
                .blob
                .ok_or_else(|| JsError::new("a compressed group has no data"))?;
            let end = zip
                .header_offset(group.files.end)
                .unwrap_or_else(|| zip.central_directory_offset());
            if blob_size(&blob) != end - start {
                return Err(JsError::new(&format!(
                    "the prepared data of zip entries {}..{} has {} bytes, not {}",
                    group.files.start,
                    group.files.end,
                    blob_size(&blob),
                    end - start
                ))
                .into());
            }
            starts.push(start);
            segments.push(Segment::Pack { blob });
        } else {
            for i in group.files.clone() {
                starts.push(zip.header_offset(i).unwrap_or(0));
                segments.push(Segment::Stored {
                    entry: i,
                    file: files[i].blob.clone(),
                });
            }
        }
    }
    on_progress(PrepareProgress {
        bytes: total,
        total,
    });
    Ok(PreparedStudy {
        zip,
        segments,
        starts,
        stats,
    })
}

thread_local! {
    static NEXT_JOB: Cell<u32> = const { Cell::new(1) };
}

/// The worker path: up to [`PER_WORKER`] groups per worker in flight.
async fn prepare_in_workers(
    files: &[PrepareFile],
    sizes: &[u64],
    groups: &[Group],
    pool: &Rc<WorkerPool>,
    on_progress: &mut dyn FnMut(PrepareProgress),
    cancel: &CancelToken,
) -> Result<Vec<Prepared>, JsValue> {
    let total: u64 = sizes.iter().sum();
    let mut results: Vec<Option<Prepared>> = (0..groups.len()).map(|_| None).collect();
    // Bytes read of the groups in flight.
    let partial: Rc<RefCell<Vec<u64>>> = Rc::new(RefCell::new(vec![0; groups.len()]));
    let mut done_bytes = 0u64;
    let mut pending: Vec<(usize, u32, Request)> = Vec::new();
    let mut next = 0usize;
    let limit = pool.size() * PER_WORKER;
    let mut last_report = 0u64;
    // Bounded: every round either starts a group, finishes one, or ticks
    // (and a tick past cancellation returns).
    loop {
        if cancel.is_cancelled() {
            for (_, job, request) in &pending {
                request.cancel(*job);
            }
            return Err(cancelled());
        }
        while pending.len() < limit && next < groups.len() {
            let index = next;
            next += 1;
            let group = &groups[index];
            let job = NEXT_JOB.with(|n| n.replace(n.get().wrapping_add(1)));
            let message = Object::new();
            let blobs: Array = files[group.files.clone()]
                .iter()
                .map(|f| JsValue::from(&f.blob))
                .collect();
            let names: Array = files[group.files.clone()]
                .iter()
                .map(|f| JsValue::from_str(&f.name))
                .collect();
            set(&message, "type", &"pack".into())?;
            set(&message, "job", &job.into())?;
            set(&message, "files", &blobs)?;
            set(&message, "names", &names)?;
            set(&message, "deflate", &group.deflate.into())?;
            set(&message, "push", &(PUSH_BYTES as f64).into())?;
            set(&message, "read", &(READ_BYTES as f64).into())?;
            set(&message, "ahead", &(READS_AHEAD as f64).into())?;
            let sink = Rc::clone(&partial);
            let on_bytes = Box::new(move |bytes: f64| {
                if let Some(slot) = sink.borrow_mut().get_mut(index) {
                    *slot = bytes as u64;
                }
            });
            // The worker reads every byte of the group's files.
            let reads = sizes[group.files.clone()].iter().sum::<u64>();
            let request = pool.send(&message, &Array::new(), Some(on_bytes), reads)?;
            pending.push((index, job, request));
        }
        if pending.is_empty() {
            break;
        }
        // Wait until a request settles, or a tick.
        if !pending.iter().any(|(_, _, r)| r.is_settled()) {
            let (settled, wake) = gate();
            pool.wake_on_settle(wake);
            let _ = JsFuture::from(Promise::race(&Array::of2(
                &settled,
                &crate::browser::timer::sleep(TICK_MS),
            )))
            .await;
        }
        let mut slot = 0;
        while slot < pending.len() {
            if !pending[slot].2.is_settled() {
                slot += 1;
                continue;
            }
            let (index, _, request) = pending.swap_remove(slot);
            let group = &groups[index];
            match request.done().await {
                Ok(answer) => {
                    done_bytes += sizes[group.files.clone()].iter().sum::<u64>();
                    if let Some(bytes) = partial.borrow_mut().get_mut(index) {
                        *bytes = 0;
                    }
                    results[index] = Some(read_answer(&answer)?);
                }
                Err(error) => {
                    for (_, job, request) in &pending {
                        request.cancel(*job);
                    }
                    return Err(JsError::new(&format!(
                        "preparing zip entries {} to {} failed: {}",
                        files[group.files.start].name,
                        files[group.files.end - 1].name,
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
        .map(|r| r.ok_or_else(|| JsError::new("a group of zip entries was not prepared").into()))
        .collect()
}

/// The worker's answer to a `pack` message.
fn read_answer(answer: &JsValue) -> Result<Prepared, JsValue> {
    let missing =
        |what: &str| JsValue::from(JsError::new(&format!("the worker's answer has no {what}")));
    let list = Reflect::get(answer, &"entries".into())?
        .dyn_into::<Array>()
        .map_err(|_| missing("entries"))?;
    let mut entries = Vec::with_capacity(list.length() as usize);
    for item in list.iter() {
        let number = |key: &str| -> Result<f64, JsValue> {
            Reflect::get(&item, &key.into())?
                .as_f64()
                .ok_or_else(|| missing(key))
        };
        entries.push((
            number("crc32")? as u32,
            number("size")? as u64,
            number("compressedSize")? as u64,
        ));
    }
    let blob = Reflect::get(answer, &"blob".into())?
        .dyn_into::<web_sys::Blob>()
        .ok();
    Ok(Prepared { entries, blob })
}

/// The main-thread path: one file after the other, the next read in flight
/// while compressing, yielding to the event loop every [`SLICE_MS`].
async fn prepare_on_main_thread(
    files: &[PrepareFile],
    sizes: &[u64],
    groups: &[Group],
    on_progress: &mut dyn FnMut(PrepareProgress),
    cancel: &CancelToken,
) -> Result<Vec<Prepared>, JsValue> {
    let total: u64 = sizes.iter().sum();
    let clock = Clock::new();
    let yielder = Yielder::new()?;
    let mut slice_start = clock.now();
    let mut done_bytes = 0u64;
    let mut results = Vec::with_capacity(groups.len());
    for group in groups {
        let parts = Array::new();
        let mut entries = Vec::with_capacity(group.files.len());
        for i in group.files.clone() {
            let (file, size) = (&files[i], sizes[i]);
            let mut job = EntryJob::new(group.deflate);
            let data = Array::new();
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
                        move_out(&mut job, &data);
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
            move_out(&mut job, &data);
            let entry = job.entry(&file.name);
            if group.deflate {
                parts.push(&Uint8Array::from(local_header(&entry).as_slice()));
                for part in data.iter() {
                    parts.push(&part);
                }
                if parts.length() >= FOLD_PARTS {
                    let folded = web_sys::Blob::new_with_blob_sequence(&parts)?;
                    parts.set_length(0);
                    parts.push(&folded);
                }
            }
            entries.push((entry.crc32, entry.uncompressed_size, entry.compressed_size));
            done_bytes += size;
        }
        let blob = if group.deflate {
            Some(web_sys::Blob::new_with_blob_sequence(&parts)?)
        } else {
            None
        };
        results.push(Prepared { entries, blob });
    }
    Ok(results)
}

/// Moves the job's output out of wasm memory into `parts`.
fn move_out(job: &mut EntryJob, parts: &Array) {
    let output = job.take_output();
    if !output.is_empty() {
        parts.push(&Uint8Array::from(output.as_slice()));
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

// ---------------------------------------------------------------------------
// The queue.

/// What a [`PrepareQueue`] reports of study k.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueReport {
    /// Its preparation moved on (the first report has 0 bytes).
    Progress(PrepareProgress),
    /// Its zip is ready: the archive's exact length.
    Ready {
        /// Bytes of the archive.
        bytes: u64,
    },
    /// Its preparation failed or was cancelled.
    Failed,
}

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
    on_report: Rc<dyn Fn(usize, QueueReport)>,
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
    /// `on_report(k, report)` reports study k. Starts the first study at
    /// once.
    pub fn new(
        studies: Vec<Vec<PrepareFile>>,
        engine: Engine,
        on_report: impl Fn(usize, QueueReport) + 'static,
    ) -> Self {
        let queue = Self {
            studies: RefCell::new(studies.into()),
            engine,
            cancel: CancelToken::new(),
            on_report: Rc::new(on_report),
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
        let on_report = Rc::clone(&self.on_report);
        let sink = Rc::clone(&result);
        wasm_bindgen_futures::spawn_local(async move {
            let mut report = |p: PrepareProgress| on_report(index, QueueReport::Progress(p));
            let prepared = prepare_study(files, &engine, &mut report, &cancel).await;
            on_report(
                index,
                match &prepared {
                    Ok(study) => QueueReport::Ready { bytes: study.len() },
                    Err(_) => QueueReport::Failed,
                },
            );
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
