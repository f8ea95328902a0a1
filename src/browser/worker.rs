//! Web Workers for the heavy parts of scanning and zipping: head reads and
//! entry compression, off the page's main thread and in parallel.
//!
//! # How a worker gets the code
//!
//! The widget ships as an npm package (bundled by Vite, webpack…) and as one
//! script-tag file with the wasm inlined, so it cannot count on a separate
//! worker file being served at a known URL, and the wasm-bindgen glue (an ES
//! module that fetches its `.wasm` beside itself) cannot simply be imported
//! inside a worker. So:
//!
//! - the worker script (`worker.js`, next to this file) is embedded in the
//!   wasm as a string and started from a `Blob` URL: every bundle carries it;
//! - the page posts the widget's own compiled `WebAssembly.Module`
//!   ([`wasm_bindgen::module`]) to each worker, which instantiates it with stub
//!   imports and calls only the `auraloader_job_*` exports below. They take
//!   and return plain numbers, never a `JsValue`, so no glue is needed: one
//!   wasm binary, compiled once by the browser, no second build.
//!
//! Data never passes through the page's wasm memory: the worker reads `Blob`
//! slices itself and sends back one `Blob` per group of entries (their local
//! headers and compressed bytes, see [`crate::browser::prepare`]) or
//! transferred `ArrayBuffer`s (scan heads).
//!
//! A worker that has read [`RECYCLE_AFTER_BYTES`] of files is replaced by a
//! fresh one (once that one has started) and terminated once its requests
//! end: V8 frees a worker's
//! garbage `ArrayBuffer`s late, and only a terminated worker is sure to give
//! them all back, so this keeps a multi-GB study's memory bounded.
//!
//! A worker that dies after it started (its `error` event) fails the
//! requests it had open, so no preparation or scan waits for it forever, and
//! marks its pool broken: the next [`Engine::shared`] starts a new pool.
//!
//! # When workers are not allowed
//!
//! A Content Security Policy without `worker-src blob:` (or `child-src` /
//! `script-src` allowing `blob:`) blocks the worker. Then [`Engine::shared`]
//! falls back to the main thread (the same [`EntryJob`] code, in slices
//! that yield to the event loop) and says so once in the console.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use auraloader_core::zip::{local_header, EntryCrc, EntryDeflater, Method, ZipEntry};
use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The worker script, started from a `Blob` URL.
pub const WORKER_SCRIPT: &str = include_str!("worker.js");

/// Most workers started, whatever `navigator.hardwareConcurrency` says: more
/// cost memory (one wasm instance each) and gain nothing on the reads.
pub const MAX_WORKERS: usize = 4;

/// How long a worker may take to start before the pool gives up on workers.
const START_TIMEOUT_MS: u64 = 10_000;

// ---------------------------------------------------------------------------
// The jobs: what a worker (or the main thread) runs on one entry.

/// Compression (or only the CRC) of one zip entry, fed in pushes.
///
/// The worker drives it through the `auraloader_job_*` exports; the main
/// thread fallback uses it directly. Both push the file in pieces of exactly
/// [`crate::browser::prepare::PUSH_BYTES`], so both give the same bytes.
#[derive(Debug)]
pub struct EntryJob {
    deflate: bool,
    deflater: Option<EntryDeflater>,
    crc: EntryCrc,
    input: Vec<u8>,
    output: Vec<u8>,
    crc32: u32,
    size: u64,
    compressed_size: u64,
}

impl EntryJob {
    /// A job that deflates (`deflate`) or only computes the CRC-32.
    pub fn new(deflate: bool) -> Self {
        Self {
            deflate,
            deflater: deflate.then(EntryDeflater::default),
            crc: EntryCrc::new(),
            input: Vec::new(),
            output: Vec::new(),
            crc32: 0,
            size: 0,
            compressed_size: 0,
        }
    }

    /// Feeds `bytes`; compressed output collects in [`output`](Self::output).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), String> {
        match &mut self.deflater {
            Some(deflater) => deflater
                .push(bytes, &mut self.output)
                .map_err(|e| e.to_string()),
            None => {
                self.crc.update(bytes);
                Ok(())
            }
        }
    }

    /// Ends the entry: the last compressed bytes go to the output, and
    /// [`crc32`](Self::crc32) is known.
    pub fn finish(&mut self) -> Result<(), String> {
        match self.deflater.take() {
            Some(deflater) => {
                let done = deflater
                    .finish(&mut self.output)
                    .map_err(|e| e.to_string())?;
                self.crc32 = done.crc32;
                self.size = done.uncompressed_size;
                self.compressed_size = done.compressed_size;
            }
            None => {
                let crc = std::mem::take(&mut self.crc);
                self.size = crc.len();
                self.compressed_size = self.size;
                self.crc32 = crc.finish();
            }
        }
        Ok(())
    }

    /// The finished entry, named `name`: method, CRC and sizes.
    pub fn entry(&self, name: &str) -> ZipEntry {
        ZipEntry {
            name: name.to_owned(),
            method: if self.deflate {
                Method::Deflated
            } else {
                Method::Stored
            },
            crc32: self.crc32,
            compressed_size: self.compressed_size,
            uncompressed_size: self.size,
        }
    }

    /// Bytes pushed, after [`finish`](Self::finish).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The compressed bytes produced since the last [`take_output`](Self::take_output).
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Takes the compressed bytes produced so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// The CRC-32 of all bytes pushed, after [`finish`](Self::finish).
    pub fn crc32(&self) -> u32 {
        self.crc32
    }
}

thread_local! {
    /// Jobs of the `auraloader_job_*` exports, by handle - 1.
    static JOBS: RefCell<Vec<Option<EntryJob>>> = const { RefCell::new(Vec::new()) };
}

fn with_job<T>(handle: u32, default: T, f: impl FnOnce(&mut EntryJob) -> T) -> T {
    JOBS.with(|jobs| {
        let mut jobs = jobs.borrow_mut();
        match (handle as usize)
            .checked_sub(1)
            .and_then(|i| jobs.get_mut(i))
        {
            Some(Some(job)) => f(job),
            _ => default,
        }
    })
}

/// Version of the job exports' protocol, checked by the worker at start.
#[no_mangle]
pub extern "C" fn auraloader_job_abi() -> u32 {
    1
}

/// Starts a job (`deflate` 1: compress; 0: CRC only); returns its handle
/// (never 0).
#[no_mangle]
pub extern "C" fn auraloader_job_new(deflate: u32) -> u32 {
    JOBS.with(|jobs| {
        let mut jobs = jobs.borrow_mut();
        let job = Some(EntryJob::new(deflate != 0));
        let index = match jobs.iter().position(Option::is_none) {
            Some(free) => {
                jobs[free] = job;
                free
            }
            None => {
                jobs.push(job);
                jobs.len() - 1
            }
        };
        u32::try_from(index + 1).unwrap_or(0)
    })
}

/// Makes the job's input buffer `len` bytes long and returns its address in
/// wasm memory, for the caller to fill before [`auraloader_job_push`].
#[no_mangle]
pub extern "C" fn auraloader_job_input(handle: u32, len: u32) -> u32 {
    with_job(handle, 0, |job| {
        job.input.resize(len as usize, 0);
        job.input.as_mut_ptr() as usize as u32
    })
}

/// Feeds the input buffer to the job. Returns 1, or 0 on failure.
#[no_mangle]
pub extern "C" fn auraloader_job_push(handle: u32) -> u32 {
    with_job(handle, 0, |job| {
        let input = std::mem::take(&mut job.input);
        let ok = job.push(&input).is_ok();
        job.input = input;
        u32::from(ok)
    })
}

/// Ends the job's input. Returns 1, or 0 on failure.
#[no_mangle]
pub extern "C" fn auraloader_job_finish(handle: u32) -> u32 {
    with_job(handle, 0, |job| u32::from(job.finish().is_ok()))
}

/// After [`auraloader_job_finish`]: replaces the job's pending output with
/// the entry's local zip header, the entry named by the first `name_len`
/// bytes of the input buffer (UTF-8). Returns 1, or 0 for a bad name.
#[no_mangle]
pub extern "C" fn auraloader_job_header(handle: u32, name_len: u32) -> u32 {
    with_job(handle, 0, |job| {
        let Some(name) = job
            .input
            .get(..name_len as usize)
            .and_then(|n| std::str::from_utf8(n).ok())
        else {
            return 0;
        };
        if name.is_empty() || name.len() > usize::from(u16::MAX) {
            return 0;
        }
        let header = local_header(&job.entry(name));
        job.output = header;
        1
    })
}

/// Address of the job's pending output in wasm memory.
#[no_mangle]
pub extern "C" fn auraloader_job_output_ptr(handle: u32) -> u32 {
    with_job(handle, 0, |job| job.output.as_ptr() as usize as u32)
}

/// Length of the job's pending output.
#[no_mangle]
pub extern "C" fn auraloader_job_output_len(handle: u32) -> u32 {
    with_job(handle, 0, |job| job.output.len() as u32)
}

/// Drops the job's pending output (the caller copied it out).
#[no_mangle]
pub extern "C" fn auraloader_job_output_clear(handle: u32) {
    with_job(handle, (), |job| job.output.clear());
}

/// The CRC-32 of the job's input, after [`auraloader_job_finish`].
#[no_mangle]
pub extern "C" fn auraloader_job_crc32(handle: u32) -> u32 {
    with_job(handle, 0, |job| job.crc32())
}

/// Ends a job and frees its buffers.
#[no_mangle]
pub extern "C" fn auraloader_job_free(handle: u32) {
    JOBS.with(|jobs| {
        let mut jobs = jobs.borrow_mut();
        if let Some(slot) = (handle as usize)
            .checked_sub(1)
            .and_then(|i| jobs.get_mut(i))
        {
            *slot = None;
        }
        while matches!(jobs.last(), Some(None)) {
            jobs.pop();
        }
    });
}

// ---------------------------------------------------------------------------
// The pool.

/// One started worker and how many requests it has in flight.
struct PoolWorker {
    worker: web_sys::Worker,
    in_flight: Rc<Cell<usize>>,
    /// The requests sent to it that may still be open, to reject if it dies.
    open: Rc<RefCell<Vec<OpenRequest>>>,
    /// Bytes of files it was sent to read (pack requests).
    read: Cell<u64>,
    /// Set when a fresh worker took its place: it gets no new requests and
    /// is terminated when its last one ends.
    retired: Rc<Cell<bool>>,
    /// Set once it was terminated.
    ended: Rc<Cell<bool>>,
    /// Its `error` listener (from the end of the start on).
    on_error: Option<Closure<dyn FnMut(JsValue)>>,
}

impl PoolWorker {
    fn new(url: &str) -> Result<Self, JsValue> {
        Ok(Self {
            worker: web_sys::Worker::new(url)?,
            in_flight: Rc::new(Cell::new(0)),
            open: Rc::new(RefCell::new(Vec::new())),
            read: Cell::new(0),
            retired: Rc::new(Cell::new(false)),
            ended: Rc::new(Cell::new(false)),
            on_error: None,
        })
    }
}

/// Where a fresh worker's start is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Loading,
    /// Its `init` answered with this build's job exports.
    Ready,
    Failed,
}

/// A worker started to take slot `index` of the pool once its `init` answers.
struct Fresh {
    index: usize,
    worker: PoolWorker,
    state: Rc<Cell<Start>>,
    port: web_sys::MessagePort,
    _answered: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _failed: Closure<dyn FnMut(JsValue)>,
}

/// How to settle a request from outside its port (when its worker dies).
type Settle = Rc<RefCell<Option<(js_sys::Function, js_sys::Function)>>>;

struct OpenRequest {
    settle: std::rc::Weak<RefCell<Option<(js_sys::Function, js_sys::Function)>>>,
    settled: Rc<Cell<bool>>,
}

/// Bytes of files a worker reads before a fresh worker takes its place.
///
/// Each read in a worker (`Blob.slice().arrayBuffer()`) makes an
/// `ArrayBuffer` that is garbage once its bytes are in wasm, and V8 collects
/// a worker's garbage `ArrayBuffer`s late: measured in headless Chromium
/// (e2e `big.test.mjs`, 2 GiB deflated study, 2 workers), they grew to
/// 337 MiB, with the study. Nothing a worker can call frees one at once
/// (`ArrayBuffer.prototype.transfer(0)` detached them and hid them from
/// V8's accounting, but the renderer's RSS then grew by the study's size:
/// +537 MiB for 512 MiB, against +135 MiB without it; a BYOB reader on
/// `Blob.stream()` still made ~70 MiB of garbage at 512 MiB and stalled on
/// the 2 GiB study). A terminated worker frees all of its memory, so after
/// this many bytes a fresh worker is started (the compiled module is
/// shared, so it starts in milliseconds); once it has, it takes the old
/// one's place, and the old one is terminated when its requests end. The
/// garbage a worker can hold is bounded by this, whatever the study's size.
pub const RECYCLE_AFTER_BYTES: u64 = 64 << 20;

/// Started workers, each with the widget's wasm instantiated.
pub struct WorkerPool {
    workers: RefCell<Vec<PoolWorker>>,
    /// Workers replaced by fresh ones that may still finish requests.
    retired: RefCell<Vec<PoolWorker>>,
    /// Fresh workers starting, each to take a slot once started.
    fresh: RefCell<Vec<Fresh>>,
    /// The compiled wasm module, for fresh workers.
    module: JsValue,
    url: String,
    /// Bytes a worker reads before it is replaced.
    recycle_after: u64,
    /// How many workers were replaced.
    recycled: Cell<u32>,
    /// How many fresh workers failed to start.
    failed_starts: Cell<u32>,
    /// Highest `memory.buffer.byteLength` any worker reported.
    peak_memory: Rc<Cell<f64>>,
    /// Called (once) when the next request settles.
    waker: Rc<RefCell<Option<js_sys::Function>>>,
    /// Set when a worker died after it started.
    broken: Rc<Cell<bool>>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("workers", &self.workers.borrow().len())
            .field("recycled", &self.recycled.get())
            .finish()
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for w in self
            .workers
            .borrow()
            .iter()
            .chain(self.retired.borrow().iter())
        {
            w.worker.terminate();
        }
        for f in self.fresh.borrow().iter() {
            f.worker.worker.terminate();
        }
        let _ = web_sys::Url::revoke_object_url(&self.url);
    }
}

/// A request in flight: resolves with the worker's `result`.
pub struct Request {
    promise: Promise,
    port: web_sys::MessagePort,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    in_flight: Rc<Cell<usize>>,
    settled: Rc<Cell<bool>>,
    /// The worker that runs it.
    worker: web_sys::Worker,
    /// Whether that worker was retired (terminated once idle).
    retired: Rc<Cell<bool>>,
    ended: Rc<Cell<bool>>,
}

impl Drop for Request {
    fn drop(&mut self) {
        self.port.set_onmessage(None);
        self.port.close();
        let left = self.in_flight.get().saturating_sub(1);
        self.in_flight.set(left);
        if left == 0 && self.retired.get() && !self.ended.replace(true) {
            self.worker.terminate();
        }
    }
}

impl Request {
    /// Waits for the answer: the worker's `result`, or its error message.
    pub async fn done(&self) -> Result<JsValue, JsValue> {
        JsFuture::from(self.promise.clone()).await
    }

    /// Whether the worker answered (done or error).
    pub fn is_settled(&self) -> bool {
        self.settled.get()
    }

    /// Tells the worker to stop job `job` (this request's) at its next read.
    pub fn cancel(&self, job: u32) {
        let message = Object::new();
        if set(&message, "type", &"cancel".into()).is_ok()
            && set(&message, "job", &job.into()).is_ok()
        {
            let _ = self.worker.post_message(&message);
        }
    }
}

/// The `error` listener of a started worker: fails its open requests (so
/// nothing waits for it forever) and marks the pool broken (so the next
/// [`Engine::shared`] starts a new one).
fn error_listener(
    open: &Rc<RefCell<Vec<OpenRequest>>>,
    broken: &Rc<Cell<bool>>,
    waker: &Rc<RefCell<Option<js_sys::Function>>>,
) -> Closure<dyn FnMut(JsValue)> {
    let open = Rc::clone(open);
    let broken = Rc::clone(broken);
    let waker = Rc::clone(waker);
    Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        broken.set(true);
        let why = Reflect::get(&event, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "no reason given".to_owned());
        let error: JsValue = JsError::new(&format!("a worker stopped: {why}")).into();
        for request in open.borrow_mut().drain(..) {
            let settle = request.settle.upgrade();
            let taken = settle.and_then(|s| s.borrow_mut().take());
            if let Some((_, reject)) = taken {
                let _ = reject.call1(&JsValue::NULL, &error);
            }
            request.settled.set(true);
        }
        let wake = waker.borrow_mut().take();
        if let Some(wake) = wake {
            let _ = wake.call0(&JsValue::NULL);
        }
    })
}

/// Whether `answer` (a worker's answer to `init`, or its `error` event)
/// says it started with the job exports of this build; else why not.
fn check_started(answer: &JsValue) -> Result<(), String> {
    let abi = Reflect::get(answer, &"abi".into()).unwrap_or(JsValue::UNDEFINED);
    if abi.is_undefined() {
        let why = Reflect::get(answer, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "it could not load".to_owned());
        return Err(format!("a worker failed to start: {why}"));
    }
    if abi.as_f64() != Some(f64::from(auraloader_job_abi())) {
        return Err("the worker runs another version of the job exports".to_owned());
    }
    Ok(())
}

/// The `init` message that instantiates `module` in a worker.
fn init_message(module: &JsValue) -> Result<Object, JsValue> {
    let message = Object::new();
    set(&message, "type", &"init".into())?;
    set(&message, "module", module)?;
    Ok(message)
}

impl WorkerPool {
    /// Starts `count` workers from `script` and instantiates the widget's
    /// wasm module in each. Fails (terminating any started) when workers are
    /// not allowed here or do not start within 10 s.
    pub async fn start(count: usize, script: &str) -> Result<Self, JsValue> {
        Self::start_recycling(count, script, RECYCLE_AFTER_BYTES).await
    }

    /// [`WorkerPool::start`], replacing a worker after it has read
    /// `recycle_after` bytes (see [`RECYCLE_AFTER_BYTES`]).
    pub async fn start_recycling(
        count: usize,
        script: &str,
        recycle_after: u64,
    ) -> Result<Self, JsValue> {
        let module = wasm_bindgen::module();
        if !module.is_instance_of::<js_sys::WebAssembly::Module>() {
            return Err(JsError::new("the wasm module is not available to hand to workers").into());
        }
        let parts = Array::of1(&JsValue::from_str(script));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("text/javascript");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
        let url = web_sys::Url::create_object_url_with_blob(&blob)?;
        let pool = Self {
            workers: RefCell::new(Vec::new()),
            retired: RefCell::new(Vec::new()),
            fresh: RefCell::new(Vec::new()),
            module,
            url,
            recycle_after: recycle_after.max(1),
            recycled: Cell::new(0),
            failed_starts: Cell::new(0),
            peak_memory: Rc::new(Cell::new(0.0)),
            waker: Rc::new(RefCell::new(None)),
            broken: Rc::new(Cell::new(false)),
        };
        for _ in 0..count.max(1) {
            let worker = PoolWorker::new(&pool.url)?;
            pool.workers.borrow_mut().push(worker);
        }
        // Start them all, then wait for each (with a time limit: a worker
        // that CSP blocked may never answer).
        let mut requests = Vec::new();
        for index in 0..count.max(1) {
            let message = init_message(&pool.module)?;
            requests.push(pool.send_to(index, &message, &Array::new(), None)?);
        }
        // A worker that fails to load (CSP, a broken script) fires `error`.
        let (failed, fail) = gate();
        for w in pool.workers.borrow().iter() {
            w.worker.set_onerror(Some(&fail));
        }
        for request in &requests {
            let started = Promise::race(&Array::of2(&request.promise, &failed));
            let answer = with_timeout(&started, START_TIMEOUT_MS).await?;
            check_started(&answer).map_err(|why| JsValue::from(JsError::new(&why)))?;
        }
        // From now on a worker that dies (out of memory, a crash) fails its
        // open requests and marks the pool broken.
        for w in pool.workers.borrow_mut().iter_mut() {
            let listener = error_listener(&w.open, &pool.broken, &pool.waker);
            w.worker
                .set_onerror(Some(listener.as_ref().unchecked_ref()));
            w.on_error = Some(listener);
        }
        Ok(pool)
    }

    /// Whether a worker died after it started (the pool should be replaced).
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// How many workers take requests.
    pub fn size(&self) -> usize {
        self.workers.borrow().len()
    }

    /// How many workers were replaced by fresh ones so far.
    pub fn recycled(&self) -> u32 {
        self.recycled.get()
    }

    /// How many fresh workers failed to start (their slots kept the old one).
    pub fn failed_starts(&self) -> u32 {
        self.failed_starts.get()
    }

    /// Replaced workers still finishing requests (not terminated yet).
    pub fn retiring(&self) -> usize {
        self.prune_retired();
        self.retired.borrow().len()
    }

    /// The largest wasm memory a worker reported, in bytes.
    pub fn peak_memory_bytes(&self) -> f64 {
        self.peak_memory.get()
    }

    /// Requests in flight on all workers together (replaced ones included).
    pub fn in_flight(&self) -> usize {
        let workers = self.workers.borrow();
        let retired = self.retired.borrow();
        workers
            .iter()
            .chain(retired.iter())
            .map(|w| w.in_flight.get())
            .sum()
    }

    /// Sends `message` to the least busy worker; `transfer` lists objects to
    /// transfer; `on_progress` gets each progress report's `bytes`; `reads`
    /// is how many bytes of files the worker reads for it (0 when it makes
    /// no garbage: see [`RECYCLE_AFTER_BYTES`]).
    pub fn send(
        &self,
        message: &Object,
        transfer: &Array,
        on_progress: Option<Box<dyn FnMut(f64)>>,
        reads: u64,
    ) -> Result<Request, JsValue> {
        self.adopt_fresh();
        let index = {
            let workers = self.workers.borrow();
            (0..workers.len())
                .min_by_key(|&i| workers[i].in_flight.get())
                .ok_or_else(|| JsError::new("the worker pool is empty"))?
        };
        let request = self.send_to(index, message, transfer, on_progress)?;
        if reads > 0 {
            let due = {
                let workers = self.workers.borrow();
                workers.get(index).is_some_and(|w| {
                    w.read.set(w.read.get().saturating_add(reads));
                    w.read.get() >= self.recycle_after
                })
            };
            if due {
                self.start_fresh(index);
            }
        }
        Ok(request)
    }

    /// Starts a fresh worker for slot `index` (unless one is starting). It
    /// takes the slot once its `init` has answered (see
    /// [`WorkerPool::adopt_fresh`]); until then the worker there keeps
    /// taking requests, so no request waits for a worker that is loading or
    /// fails on one that could not start.
    fn start_fresh(&self, index: usize) {
        if self.fresh.borrow().iter().any(|f| f.index == index) {
            return;
        }
        match self.fresh_worker(index) {
            Ok(fresh) => self.fresh.borrow_mut().push(fresh),
            // Try again after as many bytes more.
            Err(_) => self.reset_count(index),
        }
    }

    /// Starts counting slot `index`'s bytes read from 0 again.
    fn reset_count(&self, index: usize) {
        if let Some(w) = self.workers.borrow().get(index) {
            w.read.set(0);
        }
    }

    fn fresh_worker(&self, index: usize) -> Result<Fresh, JsValue> {
        let worker = PoolWorker::new(&self.url)?;
        let state = Rc::new(Cell::new(Start::Loading));
        let channel = web_sys::MessageChannel::new()?;
        let answered = {
            let state = Rc::clone(&state);
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let result =
                    Reflect::get(&event.data(), &"result".into()).unwrap_or(JsValue::UNDEFINED);
                let ready = check_started(&result).is_ok();
                state.set(if ready { Start::Ready } else { Start::Failed });
            })
        };
        let failed = {
            let state = Rc::clone(&state);
            Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| state.set(Start::Failed))
        };
        let port = channel.port1();
        port.set_onmessage(Some(answered.as_ref().unchecked_ref()));
        worker
            .worker
            .set_onerror(Some(failed.as_ref().unchecked_ref()));
        let message = init_message(&self.module)?;
        set(&message, "port", &channel.port2())?;
        let posted = worker
            .worker
            .post_message_with_transfer(&message, &Array::of1(&channel.port2()));
        if let Err(error) = posted {
            worker.worker.terminate();
            return Err(error);
        }
        Ok(Fresh {
            index,
            worker,
            state,
            port,
            _answered: answered,
            _failed: failed,
        })
    }

    /// Puts each fresh worker that has started in its slot; the one there
    /// finishes its requests and is then terminated. A fresh worker that
    /// failed to start is dropped and the old one keeps its slot (a new try
    /// comes after as many bytes more).
    fn adopt_fresh(&self) {
        if self
            .fresh
            .borrow()
            .iter()
            .all(|f| f.state.get() == Start::Loading)
        {
            return;
        }
        self.prune_retired();
        let started: Vec<Fresh> = {
            let mut fresh = self.fresh.borrow_mut();
            let (started, loading) = fresh
                .drain(..)
                .partition(|f| f.state.get() != Start::Loading);
            *fresh = loading;
            started
        };
        for fresh in started {
            fresh.port.set_onmessage(None);
            fresh.port.close();
            let Fresh {
                index,
                mut worker,
                state,
                ..
            } = fresh;
            if state.get() != Start::Ready {
                worker.worker.terminate();
                self.failed_starts
                    .set(self.failed_starts.get().saturating_add(1));
                self.reset_count(index);
                continue;
            }
            let listener = error_listener(&worker.open, &self.broken, &self.waker);
            worker
                .worker
                .set_onerror(Some(listener.as_ref().unchecked_ref()));
            worker.on_error = Some(listener);
            let old = {
                let mut workers = self.workers.borrow_mut();
                match workers.get_mut(index) {
                    Some(slot) => std::mem::replace(slot, worker),
                    None => continue,
                }
            };
            old.retired.set(true);
            if old.in_flight.get() == 0 {
                old.ended.set(true);
                old.worker.terminate();
            } else {
                self.retired.borrow_mut().push(old);
            }
            self.recycled.set(self.recycled.get().saturating_add(1));
        }
    }

    /// Forgets replaced workers that ended (their last request terminated them).
    fn prune_retired(&self) {
        self.retired.borrow_mut().retain(|w| !w.ended.get());
    }

    /// Calls `wake` once, when the next request of this pool settles.
    pub fn wake_on_settle(&self, wake: js_sys::Function) {
        *self.waker.borrow_mut() = Some(wake);
    }

    fn send_to(
        &self,
        index: usize,
        message: &Object,
        transfer: &Array,
        mut on_progress: Option<Box<dyn FnMut(f64)>>,
    ) -> Result<Request, JsValue> {
        let workers = self.workers.borrow();
        let target = workers
            .get(index)
            .ok_or_else(|| JsError::new("no such worker"))?;
        let channel = web_sys::MessageChannel::new()?;
        let port = channel.port1();
        let settle: Settle = Rc::new(RefCell::new(None));
        let sink = Rc::clone(&settle);
        let promise = Promise::new(&mut |resolve, reject| {
            *sink.borrow_mut() = Some((resolve, reject));
        });
        let peak = Rc::clone(&self.peak_memory);
        let settled = Rc::new(Cell::new(false));
        let on_message = {
            let settle = Rc::clone(&settle);
            let settled = Rc::clone(&settled);
            let waker = Rc::clone(&self.waker);
            let peak = Rc::clone(&peak);
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let data = event.data();
                let kind = Reflect::get(&data, &"type".into())
                    .ok()
                    .and_then(|k| k.as_string())
                    .unwrap_or_default();
                if kind == "progress" {
                    if let (Some(report), Some(bytes)) = (
                        on_progress.as_mut(),
                        Reflect::get(&data, &"bytes".into())
                            .ok()
                            .and_then(|b| b.as_f64()),
                    ) {
                        report(bytes);
                    }
                    return;
                }
                if let Some(memory) = Reflect::get(&data, &"memoryBytes".into())
                    .ok()
                    .and_then(|m| m.as_f64())
                {
                    peak.set(peak.get().max(memory));
                }
                let Some((resolve, reject)) = settle.borrow_mut().take() else {
                    return;
                };
                let _ = if kind == "done" {
                    let result = Reflect::get(&data, &"result".into()).unwrap_or(JsValue::NULL);
                    resolve.call1(&JsValue::NULL, &result)
                } else {
                    let why = Reflect::get(&data, &"message".into())
                        .ok()
                        .and_then(|m| m.as_string())
                        .unwrap_or_else(|| "the worker failed".to_owned());
                    reject.call1(&JsValue::NULL, &JsError::new(&why).into())
                };
                settled.set(true);
                let wake = waker.borrow_mut().take();
                if let Some(wake) = wake {
                    let _ = wake.call0(&JsValue::NULL);
                }
            })
        };
        port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        set(message, "port", &channel.port2())?;
        let transfer = transfer.concat(&Array::of1(&channel.port2()));
        target
            .worker
            .post_message_with_transfer(message, &transfer)?;
        target.in_flight.set(target.in_flight.get() + 1);
        {
            let mut open = target.open.borrow_mut();
            open.retain(|r| !r.settled.get() && r.settle.strong_count() > 0);
            open.push(OpenRequest {
                settle: Rc::downgrade(&settle),
                settled: Rc::clone(&settled),
            });
        }
        Ok(Request {
            promise,
            port,
            _on_message: on_message,
            in_flight: Rc::clone(&target.in_flight),
            settled,
            worker: target.worker.clone(),
            retired: Rc::clone(&target.retired),
            ended: Rc::clone(&target.ended),
        })
    }
}

/// Sets `object[key] = value`.
pub(crate) fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(object, &JsValue::from_str(key), value).map(|_| ())
}

/// `promise`, or a rejection after `ms` milliseconds.
async fn with_timeout(promise: &Promise, ms: u64) -> Result<JsValue, JsValue> {
    let error: JsValue =
        JsError::new(&format!("the worker did not start within {} s", ms / 1000)).into();
    let timeout = crate::browser::timer::rejects_after(ms, error);
    JsFuture::from(Promise::race(&Array::of2(promise, &timeout))).await
}

// ---------------------------------------------------------------------------
// Where the work runs.

/// Where the heavy work runs: a pool of workers, or the main thread in slices.
#[derive(Debug, Clone)]
pub enum Engine {
    /// Workers started and ready.
    Workers(Rc<WorkerPool>),
    /// No workers (not allowed here, or not wanted): the main thread, in
    /// slices that yield to the event loop.
    MainThread,
}

thread_local! {
    static SHARED: RefCell<Option<Engine>> = const { RefCell::new(None) };
    static STARTING: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

impl Engine {
    /// The page's shared engine: workers (as many as
    /// `navigator.hardwareConcurrency`, at most [`MAX_WORKERS`]), started on
    /// first use and kept; the main thread when workers cannot start (said
    /// once in the console).
    pub async fn shared() -> Engine {
        let broken = SHARED
            .with(|s| matches!(&*s.borrow(), Some(Engine::Workers(pool)) if pool.is_broken()));
        if broken {
            SHARED.with(|s| *s.borrow_mut() = None);
        }
        if let Some(engine) = SHARED.with(|s| s.borrow().clone()) {
            return engine;
        }
        // Concurrent first callers wait for one start.
        let starting = STARTING.with(|s| s.borrow().clone());
        if let Some(starting) = starting {
            let _ = JsFuture::from(starting).await;
            if let Some(engine) = SHARED.with(|s| s.borrow().clone()) {
                return engine;
            }
        }
        let (gate, open) = gate();
        STARTING.with(|s| *s.borrow_mut() = Some(gate));
        let engine = Self::start(default_workers(), WORKER_SCRIPT).await;
        SHARED.with(|s| *s.borrow_mut() = Some(engine.clone()));
        STARTING.with(|s| *s.borrow_mut() = None);
        let _ = open.call0(&JsValue::NULL);
        engine
    }

    /// Starts `count` workers from `script`; on failure, warns once in the
    /// console and returns [`Engine::MainThread`]. `count` 0 means the main
    /// thread without trying.
    pub async fn start(count: usize, script: &str) -> Engine {
        Self::start_recycling(count, script, RECYCLE_AFTER_BYTES).await
    }

    /// [`Engine::start`] with workers replaced after `recycle_after` bytes
    /// read (see [`RECYCLE_AFTER_BYTES`]).
    pub async fn start_recycling(count: usize, script: &str, recycle_after: u64) -> Engine {
        if count == 0 {
            return Engine::MainThread;
        }
        match WorkerPool::start_recycling(count, script, recycle_after).await {
            Ok(pool) => Engine::Workers(Rc::new(pool)),
            Err(error) => {
                warn_once(&format!(
                    "auraloader: Web Workers are not available ({}); scanning and zipping run \
                     on the main thread, in slices. Allow them with the Content-Security-Policy \
                     `worker-src blob:`.",
                    describe(&error)
                ));
                Engine::MainThread
            }
        }
    }

    /// The worker pool, if workers run.
    pub fn pool(&self) -> Option<&Rc<WorkerPool>> {
        match self {
            Engine::Workers(pool) => Some(pool),
            Engine::MainThread => None,
        }
    }
}

/// A promise and the function that resolves it.
pub(crate) fn gate() -> (Promise, js_sys::Function) {
    let mut open = None;
    let promise = Promise::new(&mut |resolve, _| open = Some(resolve));
    (
        promise,
        open.unwrap_or_else(|| js_sys::Function::new_no_args("")),
    )
}

/// `navigator.hardwareConcurrency`, at least 1, at most [`MAX_WORKERS`].
///
/// More workers than cores gained little when measured (headless Chromium,
/// `hardwareConcurrency` 2, 2 cores, the same preparation code): 100 MiB of
/// CT-like files took 0.81 s in 2 workers, 0.78 s in 3 and 0.77 s in 4, and
/// 2,000 small files 0.54, 0.54 and 0.50 s, for the same CPU time in all:
/// compression is bound by the cores, and the composite reads (see
/// `worker.js`) leave little read latency to hide. Each worker costs its own
/// wasm instance and heap. The page's own thread as an extra compressor
/// would at best gain what a third worker does, and would put compression
/// on the thread the user's page runs on, so it is not used.
fn default_workers() -> usize {
    Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"hardwareConcurrency".into()))
        .ok()
        .and_then(|n| n.as_f64())
        .map_or(2, |n| n as usize)
        .clamp(1, MAX_WORKERS)
}

thread_local! {
    static WARNED: Cell<bool> = const { Cell::new(false) };
}

/// `console.warn(message)`, once per page.
fn warn_once(message: &str) {
    if !WARNED.with(|w| w.replace(true)) {
        web_sys::console::warn_1(&JsValue::from_str(message));
    }
}

/// A short description of a JS error: its message, else its text.
pub(crate) fn describe(error: &JsValue) -> String {
    Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
