//! [`TusPipeline`]: the widget's real [`UploadPipeline`]. For each study of
//! an upload it prepares the zip ([`PrepareQueue`]: study k+1 prepares while
//! study k uploads, in the page's shared Web Workers or on the main thread),
//! then sends it with the tus driver ([`TusDriver`]) to the endpoint of
//! `GET /uploader/config` with the lift token, `Upload-Metadata` as
//! `docs/spec/TUS.md` says, the host page's chunk size and stall timeout, and at most
//! `parallelUploads` studies on the wire at once. Each study's upload URL is
//! kept in `localStorage` under a fingerprint of the endpoint, the study,
//! the archive's length and its files' names, sizes and modification times,
//! so a study added again after a reload (the same files) resumes.
//!
//! Driver and preparation events become [`PipelineEvent`]s: bytes
//! acknowledged and in flight per study, the summed speed with an ETA over
//! everything left (studies not prepared yet count with their files' sizes),
//! "retrying in N s" and the recovery after it, and each study's completion
//! with its upload URL.
//!
//! When the abort signal fires, preparation stops and the uploads are
//! terminated on the server (tus DELETE), unless the signal's reason is
//! [`DESTROYED`] (`destroy()`): then every request is aborted at once and
//! nothing more is sent, and the stored URLs stay for a later resume.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use auraloader_core::study::FileKey;
use auraloader_core::tus::{
    fingerprint, FileStamp, StudyMetadata, TusConfig, TusEvent, UploadSpec,
};
use auraloader_core::zip::Compression;
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::browser::body::BodySource;
use crate::browser::prepare::{PrepareFile, PrepareQueue, PreparedStudy, QueueReport};
use crate::browser::scan::DroppedFile;
use crate::browser::storage::LocalStorageFingerprintStore;
use crate::browser::tus::{DriverConfig, DriverEvent, DriverUpload, TusDriver};
use crate::browser::worker::Engine;
use crate::pipeline::{
    EventSink, PipelineError, PipelineEvent, RunFuture, UploadJob, UploadPipeline,
};

/// The abort reason (a string) with which `destroy()` aborts a run: the
/// pipeline then abandons its uploads without deleting them.
pub const DESTROYED: &str = "destroyed";

impl BodySource for PreparedStudy {
    fn len(&self) -> u64 {
        PreparedStudy::len(self)
    }

    fn blob(&self, start: u64, end: u64) -> Result<web_sys::Blob, JsValue> {
        PreparedStudy::blob(self, start, end)
    }
}

/// The zip + tus pipeline (the widget's default).
#[derive(Debug, Clone)]
pub struct TusPipeline {
    /// How entries are compressed (default: deflate what is not compressed
    /// already).
    pub compression: Compression,
    /// Retry delays and bounds of each upload (its chunk size and stall
    /// timeout are replaced by the job's).
    pub tus: TusConfig,
    /// `localStorage` namespace of the upload URLs kept for a resume.
    pub namespace: String,
}

impl Default for TusPipeline {
    fn default() -> Self {
        Self {
            compression: Compression::Auto,
            tus: TusConfig::default(),
            namespace: LocalStorageFingerprintStore::DEFAULT_NAMESPACE.to_owned(),
        }
    }
}

impl UploadPipeline for TusPipeline {
    fn run(&self, job: UploadJob, events: EventSink, abort: web_sys::AbortSignal) -> RunFuture {
        let pipeline = self.clone();
        Box::pin(async move { pipeline.send(job, events, abort).await })
    }
}

fn failure(code: &str, message: impl Into<String>) -> PipelineError {
    PipelineError {
        code: code.to_owned(),
        message: message.into(),
        status: None,
    }
}

/// The message of a JS error value, without patient data (preparation
/// errors name zip entries by UIDs only).
fn js_message(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// How one study's upload ended.
#[derive(Debug, Clone)]
enum Outcome {
    Completed,
    Failed(PipelineError),
    Terminated,
}

/// One study on the wire.
struct Active {
    index: usize,
    done: Promise,
    outcome: Rc<RefCell<Option<Outcome>>>,
}

/// Progress of every study, for the summed speed and the ETA.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    /// Archive length once prepared, else the files' sizes.
    total: u64,
    acknowledged: u64,
    speed: f64,
    done: bool,
}

/// What the run shares with its callbacks.
struct Run {
    events: EventSink,
    tallies: RefCell<Vec<Tally>>,
    /// Whether a retry was announced and nothing succeeded since.
    retrying: Cell<bool>,
    aborted: Cell<bool>,
    destroyed: Cell<bool>,
    drivers: RefCell<Vec<TusDriver>>,
    queue: RefCell<Option<Rc<PrepareQueue>>>,
}

impl Run {
    fn emit(&self, event: PipelineEvent) {
        (self.events)(event);
    }

    fn recovered(&self) {
        if self.retrying.replace(false) {
            self.emit(PipelineEvent::Reconnected);
        }
    }

    fn throughput(&self) {
        let (speed, left) = {
            let tallies = self.tallies.borrow();
            let speed: f64 = tallies.iter().filter(|t| !t.done).map(|t| t.speed).sum();
            let left: u64 = tallies
                .iter()
                .map(|t| t.total.saturating_sub(t.acknowledged))
                .sum();
            (speed, left)
        };
        let seconds_left = (speed > 0.0).then(|| left as f64 / speed);
        self.emit(PipelineEvent::Throughput {
            bytes_per_second: speed,
            seconds_left,
        });
    }

    /// Stops preparing and ends every upload: DELETE, or (destroyed) an
    /// abandon with no further request.
    fn abort(&self, destroyed: bool) {
        self.aborted.set(true);
        self.destroyed.set(destroyed);
        if let Some(queue) = self.queue.borrow().as_ref() {
            queue.cancel();
        }
        let drivers = self.drivers.borrow().clone();
        for driver in drivers {
            if destroyed {
                driver.stop();
            } else {
                driver.cancel();
            }
        }
    }
}

/// A promise resolved when `signal` aborts (at once if it has), and the
/// listener to remove afterwards.
fn on_abort(
    signal: &web_sys::AbortSignal,
    run: &Rc<Run>,
) -> (Promise, Option<Closure<dyn FnMut()>>) {
    let mut resolve_slot: Option<js_sys::Function> = None;
    let promise = Promise::new(&mut |resolve, _| resolve_slot = Some(resolve));
    let destroyed =
        |signal: &web_sys::AbortSignal| signal.reason().as_string().as_deref() == Some(DESTROYED);
    if signal.aborted() {
        run.abort(destroyed(signal));
        if let Some(resolve) = &resolve_slot {
            let _ = resolve.call0(&JsValue::NULL);
        }
        return (promise, None);
    }
    let weak = Rc::downgrade(run);
    let watched = signal.clone();
    let closure = Closure::<dyn FnMut()>::new(move || {
        if let Some(run) = weak.upgrade() {
            run.abort(destroyed(&watched));
        }
        if let Some(resolve) = &resolve_slot {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = signal.add_event_listener_with_callback("abort", closure.as_ref().unchecked_ref());
    (promise, Some(closure))
}

/// The fingerprint of a study's upload: endpoint, study, archive length and
/// each file's name, size and modification time.
fn stamps(files: &[DroppedFile]) -> Vec<FileStamp> {
    files
        .iter()
        .map(|f| match f.blob.dyn_ref::<web_sys::File>() {
            Some(file) => FileStamp {
                name: f.path.clone(),
                size: file.size().max(0.0) as u64,
                last_modified: file.last_modified().max(0.0) as u64,
            },
            None => FileStamp {
                name: f.path.clone(),
                size: f.blob.size().max(0.0) as u64,
                last_modified: 0,
            },
        })
        .collect()
}

impl TusPipeline {
    async fn send(
        self,
        job: UploadJob,
        events: EventSink,
        signal: web_sys::AbortSignal,
    ) -> Result<(), PipelineError> {
        let run = Rc::new(Run {
            events,
            tallies: RefCell::new(
                job.studies
                    .iter()
                    .map(|s| Tally {
                        total: s.files.iter().map(|f| f.blob.size().max(0.0) as u64).sum(),
                        ..Tally::default()
                    })
                    .collect(),
            ),
            retrying: Cell::new(false),
            aborted: Cell::new(false),
            destroyed: Cell::new(false),
            drivers: RefCell::new(Vec::new()),
            queue: RefCell::new(None),
        });
        let (aborted, listener) = on_abort(&signal, &run);
        let result = self.send_all(&job, &run, aborted).await;
        if let Some(listener) = listener {
            let _ = signal
                .remove_event_listener_with_callback("abort", listener.as_ref().unchecked_ref());
        }
        if run.aborted.get() {
            return Err(failure("cancelled", "the upload was cancelled"));
        }
        if result.is_err() {
            // Stop what still runs: a failed study fails the whole upload.
            if let Some(queue) = run.queue.borrow().as_ref() {
                queue.cancel();
            }
            let drivers = run.drivers.borrow().clone();
            for driver in drivers {
                driver.cancel();
            }
        }
        result
    }

    async fn send_all(
        &self,
        job: &UploadJob,
        run: &Rc<Run>,
        aborted: Promise,
    ) -> Result<(), PipelineError> {
        if run.aborted.get() {
            return Ok(());
        }
        let mut lists = Vec::with_capacity(job.studies.len());
        for study in &job.studies {
            let blobs: HashMap<&str, &web_sys::Blob> = study
                .files
                .iter()
                .map(|f| (f.path.as_str(), &f.blob))
                .collect();
            let files = PrepareFile::for_study(&study.study, self.compression, |key: &FileKey| {
                blobs.get(key.path.as_str()).map(|b| (*b).clone())
            })
            .map_err(|e| {
                failure(
                    "upload_failed",
                    format!("{}: add the files again", js_message(&e)),
                )
            })?;
            lists.push(files);
        }
        let engine = Engine::shared().await;
        let uids: Vec<String> = job
            .studies
            .iter()
            .map(|s| s.study.study_instance_uid.clone())
            .collect();
        let reporter = Rc::downgrade(run);
        let queue = Rc::new(PrepareQueue::new(lists, engine, move |k, report| {
            let (Some(run), Some(uid)) = (reporter.upgrade(), uids.get(k)) else {
                return;
            };
            match report {
                QueueReport::Progress(p) if p.bytes == 0 => {
                    run.emit(PipelineEvent::StudyPreparing { uid: uid.clone() });
                }
                QueueReport::Ready { bytes } => {
                    if let Some(tally) = run.tallies.borrow_mut().get_mut(k) {
                        tally.total = bytes;
                    }
                    run.emit(PipelineEvent::StudyPrepared {
                        uid: uid.clone(),
                        bytes,
                    });
                }
                QueueReport::Progress(_) | QueueReport::Failed => {}
            }
        }));
        *run.queue.borrow_mut() = Some(Rc::clone(&queue));
        if run.aborted.get() {
            queue.cancel();
            return Ok(());
        }
        let parallel = job.options.parallel_uploads.max(1) as usize;
        let mut active: Vec<Active> = Vec::new();
        let mut next = 0;
        loop {
            while active.len() < parallel && next < job.studies.len() && !run.aborted.get() {
                let prepared = match queue.next().await {
                    Some(Ok(prepared)) => prepared,
                    Some(Err(e)) => {
                        if run.aborted.get() {
                            return Ok(());
                        }
                        run.emit(PipelineEvent::StudyFailed {
                            uid: job.studies[next].study.study_instance_uid.clone(),
                        });
                        return Err(failure(
                            "upload_failed",
                            format!(
                                "study {} of {} could not be packed for upload: {}",
                                next + 1,
                                job.studies.len(),
                                js_message(&e)
                            ),
                        ));
                    }
                    None => break,
                };
                if run.aborted.get() {
                    return Ok(());
                }
                active.push(self.start_study(job, next, prepared, run)?);
                next += 1;
            }
            if active.is_empty() || run.aborted.get() {
                return Ok(());
            }
            let waits = Array::new();
            waits.push(&aborted);
            for upload in &active {
                waits.push(&upload.done);
            }
            let _ = JsFuture::from(Promise::race(&waits)).await;
            if run.aborted.get() {
                return Ok(());
            }
            let mut still = Vec::with_capacity(active.len());
            for upload in active {
                let outcome = upload.outcome.borrow().clone();
                match outcome {
                    None => still.push(upload),
                    Some(Outcome::Completed) => {}
                    Some(Outcome::Terminated) => {
                        return Err(failure(
                            "upload_failed",
                            format!(
                            "the upload of study {} of {} was ended before it completed; try again",
                            upload.index + 1,
                            job.studies.len()
                        ),
                        ))
                    }
                    Some(Outcome::Failed(error)) => return Err(error),
                }
            }
            active = still;
        }
    }

    /// Starts the tus upload of study `index`, prepared.
    fn start_study(
        &self,
        job: &UploadJob,
        index: usize,
        prepared: PreparedStudy,
        run: &Rc<Run>,
    ) -> Result<Active, PipelineError> {
        let study = &job.studies[index];
        let uid = study.study.study_instance_uid.clone();
        let length = prepared.len();
        if let Some(tally) = run.tallies.borrow_mut().get_mut(index) {
            tally.total = length;
        }
        let lift = &job.config.lift;
        let metadata = StudyMetadata {
            filename: format!("study-{}.zip", index + 1),
            upload_id: job.upload_id.clone(),
            bucket: lift.bucket.clone(),
            mode: job.config.mode.clone(),
            study_uid: uid.clone(),
        };
        let spec = UploadSpec::for_study(&lift.endpoint, &lift.token, length, &metadata);
        let key = fingerprint(&lift.endpoint, &uid, length, &stamps(&study.files));
        let mut tus = self.tus.clone();
        tus.chunk_size = job.options.chunk_size;
        tus.stall_timeout_ms = job.options.stall_timeout_ms;
        let config = DriverConfig {
            tus,
            concurrency: 1,
        };
        let outcome = Rc::new(RefCell::new(None));
        let recorded = Rc::clone(&outcome);
        let weak = Rc::downgrade(run);
        let study_count = job.studies.len();
        let on_event = move |event: &DriverEvent| {
            let Some(run) = weak.upgrade() else {
                return;
            };
            if run.aborted.get() {
                return;
            }
            match event {
                DriverEvent::Upload { event, .. } => match event {
                    TusEvent::Created { .. } => run.recovered(),
                    TusEvent::Progress(p) => {
                        let advanced = {
                            let mut tallies = run.tallies.borrow_mut();
                            match tallies.get_mut(index) {
                                Some(tally) => {
                                    let advanced = p.acknowledged > tally.acknowledged;
                                    tally.acknowledged = p.acknowledged;
                                    tally.total = p.total;
                                    advanced
                                }
                                None => false,
                            }
                        };
                        if advanced {
                            run.recovered();
                        }
                        run.emit(PipelineEvent::StudyProgress {
                            uid: uid.clone(),
                            sent: p.acknowledged,
                            in_flight: p.in_flight,
                        });
                    }
                    TusEvent::Retrying { in_ms, .. } => {
                        run.retrying.set(true);
                        run.emit(PipelineEvent::Retrying {
                            in_seconds: u32::try_from(in_ms.div_ceil(1000)).unwrap_or(u32::MAX),
                        });
                    }
                    TusEvent::Completed { url } => {
                        if let Some(tally) = run.tallies.borrow_mut().get_mut(index) {
                            tally.acknowledged = tally.total;
                            tally.done = true;
                            tally.speed = 0.0;
                        }
                        run.recovered();
                        *recorded.borrow_mut() = Some(Outcome::Completed);
                        run.emit(PipelineEvent::StudyComplete {
                            uid: uid.clone(),
                            url: Some(url.clone()),
                        });
                        run.throughput();
                    }
                    TusEvent::Failed(error) => {
                        if let Some(tally) = run.tallies.borrow_mut().get_mut(index) {
                            tally.done = true;
                        }
                        let status = match error {
                            auraloader_core::tus::TusError::Unauthorized => Some(401),
                            auraloader_core::tus::TusError::Forbidden => Some(403),
                            auraloader_core::tus::TusError::EndpointNotFound { status }
                            | auraloader_core::tus::TusError::Rejected { status } => Some(*status),
                            _ => None,
                        };
                        let code = match error {
                            auraloader_core::tus::TusError::Unauthorized
                            | auraloader_core::tus::TusError::Forbidden => "auth_failed",
                            auraloader_core::tus::TusError::RetriesExhausted { .. } => {
                                "network_error"
                            }
                            _ => "upload_failed",
                        };
                        *recorded.borrow_mut() = Some(Outcome::Failed(PipelineError {
                            code: code.to_owned(),
                            message: format!(
                                "study {} of {study_count} could not be uploaded: {error}",
                                index + 1
                            ),
                            status,
                        }));
                        run.emit(PipelineEvent::StudyFailed { uid: uid.clone() });
                    }
                    TusEvent::Terminated { .. } => {
                        let mut slot = recorded.borrow_mut();
                        if slot.is_none() {
                            *slot = Some(Outcome::Terminated);
                        }
                    }
                },
                DriverEvent::Overall(p) => {
                    if let Some(tally) = run.tallies.borrow_mut().get_mut(index) {
                        if !tally.done {
                            tally.speed = p.bytes_per_second.unwrap_or(0.0);
                        }
                    }
                    run.throughput();
                }
                DriverEvent::Finished | DriverEvent::Stopped => {}
            }
        };
        let upload = DriverUpload {
            spec,
            body: Rc::new(prepared),
            fingerprint: Some(key),
        };
        let store = Box::new(LocalStorageFingerprintStore::new(&self.namespace));
        let driver = TusDriver::start(config, vec![upload], store, on_event).map_err(|e| {
            failure(
                "upload_failed",
                format!(
                    "study {} of {study_count} could not be sent: {e}",
                    index + 1
                ),
            )
        })?;
        run.drivers.borrow_mut().push(driver.clone());
        if run.aborted.get() {
            if run.destroyed.get() {
                driver.stop();
            } else {
                driver.cancel();
            }
        }
        Ok(Active {
            index,
            done: driver.done(),
            outcome,
        })
    }
}
