//! The browser shell of the tus client: it runs an [`UploadQueue`] of
//! `auraloader-core` to completion by performing its requests, feeding back
//! answers, failures, upload progress and the time (`Date.now()`, as the
//! core expects: it compares `Upload-Expires` with it), sleeping with
//! `setTimeout` until the core's next deadline, and aborting what the core
//! says to abort. Nothing protocol-specific lives here: retries, offsets,
//! stall detection and resume decisions are the core's.
//!
//! # Why PATCH goes through `XMLHttpRequest`
//!
//! `fetch` has no upload progress events. The core's stall timer (30 s by
//! default) counts from the last sign of life of a request; with `fetch`,
//! the only sign of life of a PATCH is its answer, so a 5 MiB chunk on a
//! 1 Mbit/s uplink (40 s) would be aborted as stalled although it was
//! healthy, and retried forever. The progress bar would also jump by whole
//! chunks. `XMLHttpRequest` reports `upload.onprogress` as the browser hands
//! bytes to the network, so the stall timer only fires when nothing moves,
//! the UI shows bytes in flight as they go, and `abort()` cancels it like an
//! `AbortController`. (Streaming request bodies with `fetch` need HTTP/2 and
//! `duplex: "half"`, are Chromium-only, and still give no progress.) The
//! bodiless requests (POST, HEAD, DELETE) use `fetch` with an
//! `AbortController` each. A PATCH body is a `Blob` from a [`BodySource`]
//! (a slice of the user's files), so no chunk is copied into wasm memory or
//! the JS heap.
//!
//! # Shape
//!
//! [`TusDriver::start`] takes the uploads, a [`FingerprintStore`] and a
//! callback for [`DriverEvent`]s; it returns at once and works from the
//! event loop until its last event, whether or not the caller keeps the
//! handle. Every network callback and timer only queues an input and
//! schedules one "pump" on the microtask queue; the pump feeds the inputs to
//! the queue, sends what it asks for and then calls the event callback with
//! no borrow held, so the callback may call [`TusDriver::cancel`] or
//! [`TusDriver::stop`].

mod net;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::{Rc, Weak};

use auraloader_core::tus::{
    Action, FailureKind, FingerprintStore, Progress, RequestId, TusConfig, TusError, TusEvent,
    TusUpload, UploadKey, UploadQueue, UploadSpec, DEFAULT_CONCURRENCY,
};
use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

pub use net::{parse_header_block, READ_HEADERS};

use crate::browser::body::BodySource;
use net::{InFlight, Outcome};

use crate::browser::timer::Timer;

/// One upload for the driver: where and how (the core's [`UploadSpec`]),
/// the bytes, and the key under which its URL is kept for a resume.
pub struct DriverUpload {
    /// The endpoint, token, length and metadata. Its `length` must equal
    /// `body.len()`. A `resume_url` is filled from the store when
    /// `fingerprint` finds one.
    pub spec: UploadSpec,
    /// The bytes to send.
    pub body: Rc<dyn BodySource>,
    /// The key of the upload in the fingerprint store (from
    /// [`auraloader_core::tus::fingerprint`]); `None` for no resume.
    pub fingerprint: Option<String>,
}

impl std::fmt::Debug for DriverUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverUpload")
            .field("spec", &self.spec)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// How the driver runs the uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverConfig {
    /// Chunking, retries and the stall timeout of each upload.
    pub tus: TusConfig,
    /// How many uploads run at once (default 2).
    pub concurrency: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            tus: TusConfig::default(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// What the UI hears from the driver, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum DriverEvent {
    /// An event of upload `key`, as the core reports it: created, progress
    /// (at most one per turn of the event loop), retrying in N ms,
    /// completed, failed, terminated.
    Upload {
        /// Which upload (the index in the list given to `start`).
        key: UploadKey,
        /// What happened.
        event: TusEvent,
    },
    /// All uploads together after a turn with progress: bytes acknowledged
    /// and in flight, the summed speed and the ETA.
    Overall(Progress),
    /// Every upload completed, failed or was terminated. The last event.
    Finished,
    /// [`TusDriver::stop`] abandoned the uploads (as a page unload does);
    /// their URLs stay in the store for a resume. The last event.
    Stopped,
}

/// The driver's inputs, queued by callbacks and applied by the pump.
#[derive(Debug)]
enum Input {
    Outcome {
        key: UploadKey,
        id: RequestId,
        outcome: Outcome,
    },
    Timer,
    Cancel(Option<UploadKey>),
    Stop,
}

struct State {
    queue: UploadQueue,
    bodies: Vec<Rc<dyn BodySource>>,
    fingerprints: Vec<Option<String>>,
    store: Box<dyn FingerprintStore>,
    requests: BTreeMap<(UploadKey, RequestId), InFlight>,
    timer: Option<(u64, Timer)>,
    /// Finished or stopped: nothing more happens.
    over: bool,
}

/// The UI's callback.
type EventCallback = Box<dyn FnMut(&DriverEvent)>;

struct Shared {
    state: RefCell<State>,
    inbox: RefCell<VecDeque<Input>>,
    on_event: RefCell<EventCallback>,
    pumping: Cell<bool>,
    scheduled: Cell<bool>,
    pumps: Cell<u64>,
    /// The run itself, until its last event: network callbacks and timers
    /// hold only weak references, so without this a caller that drops its
    /// handle (a JS `TusRun` collected by the garbage collector) would stop
    /// the uploads silently.
    keep_alive: RefCell<Option<Rc<Shared>>>,
    /// Resolves the promise of [`TusDriver::done`].
    resolve: RefCell<Option<Function>>,
    done: Promise,
}

/// A running set of uploads. Cloning gives another handle to the same run.
#[derive(Clone)]
pub struct TusDriver {
    shared: Rc<Shared>,
}

impl std::fmt::Debug for TusDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TusDriver").finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    // Date.now() is a whole number of ms since the epoch, positive.
    js_sys::Date::now().max(0.0) as u64
}

impl TusDriver {
    /// Starts `uploads` and returns at once; `on_event` hears what happens.
    /// An upload whose fingerprint is in `store` resumes at its stored URL
    /// (the core asks the server for the offset first). Fails, before
    /// anything is sent, if an upload is set up wrongly.
    pub fn start(
        config: DriverConfig,
        uploads: Vec<DriverUpload>,
        store: Box<dyn FingerprintStore>,
        on_event: impl FnMut(&DriverEvent) + 'static,
    ) -> Result<Self, TusError> {
        let mut queue = UploadQueue::new(config.concurrency);
        let mut bodies = Vec::with_capacity(uploads.len());
        let mut fingerprints = Vec::with_capacity(uploads.len());
        for (i, upload) in uploads.into_iter().enumerate() {
            let mut spec = upload.spec;
            if spec.length != upload.body.len() {
                return Err(TusError::InvalidUpload(format!(
                    "upload {i} declares {} bytes but its body has {}",
                    spec.length,
                    upload.body.len()
                )));
            }
            if spec.resume_url.is_none() {
                spec.resume_url = upload.fingerprint.as_deref().and_then(|fp| store.get(fp));
            }
            queue.push(TusUpload::new(config.tus.clone(), spec)?);
            bodies.push(upload.body);
            fingerprints.push(upload.fingerprint);
        }
        let mut resolve = None;
        let done = Promise::new(&mut |res, _rej| resolve = Some(res));
        let shared = Rc::new(Shared {
            state: RefCell::new(State {
                queue,
                bodies,
                fingerprints,
                store,
                requests: BTreeMap::new(),
                timer: None,
                over: false,
            }),
            inbox: RefCell::new(VecDeque::new()),
            on_event: RefCell::new(Box::new(on_event)),
            pumping: Cell::new(false),
            scheduled: Cell::new(false),
            pumps: Cell::new(0),
            keep_alive: RefCell::new(None),
            resolve: RefCell::new(resolve),
            done,
        });
        *shared.keep_alive.borrow_mut() = Some(Rc::clone(&shared));
        schedule(&shared);
        Ok(Self { shared })
    }

    /// Cancels every upload: requests in flight are aborted and uploads on
    /// the server terminated (DELETE); each ends with
    /// [`TusEvent::Terminated`] and its fingerprint is forgotten.
    pub fn cancel(&self) {
        self.push(Input::Cancel(None));
    }

    /// Cancels upload `key` only.
    pub fn cancel_upload(&self, key: UploadKey) {
        self.push(Input::Cancel(Some(key)));
    }

    /// Abandons every upload at once, as a page unload would: requests are
    /// aborted, nothing is deleted, and stored fingerprints stay so that a
    /// later driver resumes. Ends with [`DriverEvent::Stopped`].
    pub fn stop(&self) {
        self.push(Input::Stop);
    }

    /// A promise that resolves (to `undefined`) after the last event,
    /// [`DriverEvent::Finished`] or [`DriverEvent::Stopped`].
    pub fn done(&self) -> Promise {
        self.shared.done.clone()
    }

    /// Bytes acknowledged and in flight of all uploads, speed and ETA.
    pub fn progress(&self) -> Option<Progress> {
        self.shared
            .state
            .try_borrow()
            .ok()
            .map(|s| s.queue.progress())
    }

    /// A one-line state of the run for diagnostics: pumps so far, whether
    /// one is running or scheduled, inputs waiting, requests out, the timer.
    pub fn diagnostics(&self) -> String {
        let shared = &self.shared;
        let state = match shared.state.try_borrow() {
            Ok(state) => format!(
                "requests {:?}, timer {:?}, now {}, over {}, {:?}",
                state.requests.keys().collect::<Vec<_>>(),
                state.timer.as_ref().map(|(at, _)| *at),
                now_ms(),
                state.over,
                state.queue.progress(),
            ),
            Err(_) => "state borrowed".to_owned(),
        };
        format!(
            "pumps {}, pumping {}, scheduled {}, inbox {}, {state}",
            shared.pumps.get(),
            shared.pumping.get(),
            shared.scheduled.get(),
            shared.inbox.try_borrow().map_or(usize::MAX, |i| i.len()),
        )
    }

    fn push(&self, input: Input) {
        self.shared.inbox.borrow_mut().push_back(input);
        schedule(&self.shared);
    }
}

/// Runs [`pump`] soon (a microtask), once however often it is asked.
fn schedule(shared: &Rc<Shared>) {
    if shared.scheduled.replace(true) {
        return;
    }
    let weak = Rc::downgrade(shared);
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(shared) = weak.upgrade() {
            shared.scheduled.set(false);
            pump(&shared);
        }
    });
}

fn push_weak(weak: &Weak<Shared>, input: Input) {
    if let Some(shared) = weak.upgrade() {
        shared.inbox.borrow_mut().push_back(input);
        schedule(&shared);
    }
}

/// Applies queued inputs, sends what the queue asks for, arms the timer,
/// then hands the events to the callback; again until no input is left.
fn pump(shared: &Rc<Shared>) {
    if shared.pumping.replace(true) {
        return;
    }
    shared.pumps.set(shared.pumps.get() + 1);
    for _round in 0..10_000 {
        let events = match shared.state.try_borrow_mut() {
            Ok(mut state) => turn(shared, &mut state),
            Err(_) => break,
        };
        if !events.is_empty() {
            if let Ok(mut on_event) = shared.on_event.try_borrow_mut() {
                for event in &events {
                    on_event(event);
                }
            }
        }
        let last = events
            .iter()
            .any(|e| matches!(e, DriverEvent::Finished | DriverEvent::Stopped));
        if last {
            if let Some(resolve) = shared.resolve.borrow_mut().take() {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
            // Let the callback's captures and the run itself go.
            if let Ok(mut on_event) = shared.on_event.try_borrow_mut() {
                *on_event = Box::new(|_| {});
            }
            shared.keep_alive.borrow_mut().take();
        }
        if shared.inbox.borrow().is_empty() {
            break;
        }
    }
    shared.pumping.set(false);
    if !shared.inbox.borrow().is_empty() {
        schedule(shared);
    }
}

/// One turn: inputs in, requests out, events collected.
fn turn(shared: &Rc<Shared>, state: &mut State) -> Vec<DriverEvent> {
    let mut events = Vec::new();
    if state.over {
        shared.inbox.borrow_mut().clear();
        return events;
    }
    let now = now_ms();
    loop {
        let input = shared.inbox.borrow_mut().pop_front();
        let Some(input) = input else { break };
        match input {
            Input::Outcome { key, id, outcome } => {
                if !matches!(outcome, Outcome::Progress(_)) {
                    state.requests.remove(&(key, id));
                }
                match outcome {
                    Outcome::Progress(sent) => state.queue.handle_progress(key, id, now, sent),
                    Outcome::Response(response) => {
                        state.queue.handle_response(key, id, now, &response);
                    }
                    Outcome::Failure(kind) => state.queue.handle_failure(key, id, now, kind),
                }
            }
            Input::Timer => state.timer = None,
            Input::Cancel(None) => state.queue.cancel_all(now),
            Input::Cancel(Some(key)) => state.queue.cancel(key, now),
            Input::Stop => {
                for request in state.requests.values() {
                    request.abort();
                }
                state.requests.clear();
                state.timer = None;
                state.over = true;
                shared.inbox.borrow_mut().clear();
                events.push(DriverEvent::Stopped);
                return events;
            }
        }
    }
    state.queue.handle_timeout(now);
    let mut progressed = false;
    // Each round either sends, aborts or reports; bounded for safety.
    for _ in 0..100_000 {
        if let Some((key, action)) = state.queue.poll_action(now) {
            perform(shared, state, key, action, now);
            continue;
        }
        let Some((key, event)) = state.queue.poll_event() else {
            break;
        };
        if let Some(Some(fp)) = state.fingerprints.get(key.0) {
            let fp = fp.clone();
            state.store.record(&fp, &event);
        }
        if matches!(event, TusEvent::Progress(_)) {
            progressed = true;
            // Keep only the newest progress of each upload in a turn.
            events.retain(|e| {
                !matches!(e, DriverEvent::Upload { key: k, event: TusEvent::Progress(_) } if *k == key)
            });
        }
        events.push(DriverEvent::Upload { key, event });
    }
    if progressed {
        events.push(DriverEvent::Overall(state.queue.progress()));
    }
    if state.queue.is_finished() {
        for request in state.requests.values() {
            request.abort();
        }
        state.requests.clear();
        state.timer = None;
        state.over = true;
        events.push(DriverEvent::Finished);
        return events;
    }
    arm_timer(shared, state, now);
    events
}

/// Sends or aborts for the queue.
fn perform(shared: &Rc<Shared>, state: &mut State, key: UploadKey, action: Action, now: u64) {
    match action {
        Action::Abort(id) => {
            if let Some(request) = state.requests.remove(&(key, id)) {
                request.abort();
            }
        }
        Action::Send(request) => {
            let Some(body) = state.bodies.get(key.0).cloned() else {
                state.queue.handle_failure(
                    key,
                    request.id,
                    now,
                    FailureKind::Source("the upload has no body".to_owned()),
                );
                return;
            };
            let weak = Rc::downgrade(shared);
            let id = request.id;
            let report: net::Report = Rc::new(move |outcome| {
                push_weak(&weak, Input::Outcome { key, id, outcome });
            });
            match net::send(&request, body.as_ref(), report) {
                Ok(in_flight) => {
                    state.requests.insert((key, id), in_flight);
                }
                Err(kind) => state.queue.handle_failure(key, id, now, kind),
            }
        }
    }
}

/// Sleeps until the queue's next deadline (a stall check or a retry).
fn arm_timer(shared: &Rc<Shared>, state: &mut State, now: u64) {
    let Some(deadline) = state.queue.poll_timeout() else {
        state.timer = None;
        return;
    };
    // Every progress report moves the stall deadline later; a timer that
    // fires before the deadline only costs a turn that re-arms it, which is
    // cheaper than a new timer per progress event.
    if state.timer.as_ref().is_some_and(|(at, _)| *at <= deadline) {
        return;
    }
    let weak = Rc::downgrade(shared);
    // A millisecond late, so that `now >= deadline` holds when it fires.
    let delay = deadline.saturating_sub(now).saturating_add(1);
    state.timer = Timer::new(delay, move || push_weak(&weak, Input::Timer))
        .ok()
        .map(|timer| (deadline, timer));
}

/// A short sentence for the UI about `event`: "retrying in 3 s: …".
pub fn describe_event(event: &TusEvent) -> String {
    match event {
        TusEvent::Created { .. } => "the upload was created on the server".to_owned(),
        TusEvent::Progress(p) => format!("{} of {} bytes uploaded", p.acknowledged, p.total),
        TusEvent::Retrying { in_ms, reason } => {
            format!("retrying in {} s: {reason}", in_ms.div_ceil(1000))
        }
        TusEvent::Completed { .. } => "the upload is complete".to_owned(),
        TusEvent::Failed(error) => error.to_string(),
        TusEvent::Terminated { deleted: true } => "the upload was cancelled".to_owned(),
        TusEvent::Terminated { deleted: false } => {
            "the upload was cancelled; the server drops what it has when it expires".to_owned()
        }
    }
}
