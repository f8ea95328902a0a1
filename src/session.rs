//! One widget instance's life: configuration, the mounted UI, the scan of
//! dropped files, the upload (Aura API lifecycle around an
//! [`UploadPipeline`]), and the JS callbacks.
//!
//! The state lives in a [`State`] reducer; every change goes through
//! `dispatch`, which re-renders the UI and fires `onStateChange` when the
//! step changed. No `RefCell` borrow is held across an `await` or while a JS
//! callback runs, so callbacks may call back into the widget.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use auraloader_core::api::{UploadInit, UploaderConfig, UPLOAD_SOURCE};
use auraloader_core::patient::{check_patients, ContextPatient};
use auraloader_core::scan::{RejectRule, ScanRules};
use auraloader_core::study::{studies_map, Study, StudyInfo};
use js_sys::{Function, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use yew::{AppHandle, Callback};

use crate::browser::api::{ApiError, AuraApi};
use crate::browser::element_by_id;
use crate::browser::files::walk_entries;
use crate::browser::scan::{scan_dropped_files, DroppedFile, DroppedFiles, ScanProgress};
use crate::browser::timer::Timer;
use crate::pipeline::{
    EventSink, PipelineError, PipelineEvent, PipelineOptions, StudyJob, UploadJob, UploadPipeline,
};
use crate::published::StateObjects;
use crate::ui::state::{rows_of, ScanCounts, SkippedRow};
use crate::ui::theme::STYLE;
use crate::ui::{Action, App, AppProps, Command, Failure, FileSource, State, Step, Strings, Theme};
use crate::upload::{TusPipeline, DESTROYED};
use auraloader_core::session::published::{due, Due, Snapshot};

/// The host page's configuration, as passed to `new StandaloneAuraloader(config)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetConfig {
    /// Service API key (`X-Api-Key`).
    pub api_token: String,
    /// Base URL of the Aura API, ending in `/api`.
    pub api_base_url: String,
    /// The `aubt_` upload token.
    pub upload_token: String,
    /// Id of the container element.
    pub container_id: String,
    /// Aurabox patient id, sent with `upload/init`.
    #[serde(default)]
    pub patient_id: Option<String>,
    /// Extra metadata sent with `upload/init`; `context.patient` is checked
    /// against the studies' patients.
    #[serde(default)]
    pub context: Option<serde_json::Value>,
    /// Text overrides.
    #[serde(default)]
    pub strings: Strings,
    /// Colour scheme.
    #[serde(default)]
    pub theme: Theme,
    /// Bytes per tus PATCH.
    #[serde(default)]
    pub chunk_size: Option<u64>,
    /// Studies sent at once.
    #[serde(default)]
    pub parallel_uploads: Option<u32>,
    /// Milliseconds without progress after which a tus request is retried.
    #[serde(default)]
    pub stall_timeout_ms: Option<u64>,
    /// Instances to leave out, besides the default rules.
    #[serde(default)]
    pub reject_rules: Vec<RejectRuleOption>,
    /// Modalities accepted; series of other modalities are left out.
    #[serde(default)]
    pub allowed_modalities: Option<Vec<String>>,
}

/// One entry of the `rejectRules` option (camelCase in JS).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectRuleOption {
    /// What the rule leaves out, shown to the user.
    pub description: String,
    /// SOP Class UID to match.
    #[serde(default)]
    pub sop_class_uid: Option<String>,
    /// Protocol Name to match.
    #[serde(default)]
    pub protocol_name: Option<String>,
    /// Modality to match.
    #[serde(default)]
    pub modality: Option<String>,
}

/// The host page's callbacks.
#[derive(Debug, Clone, Default)]
struct Callbacks {
    on_upload_complete: Option<Function>,
    on_upload_error: Option<Function>,
    on_upload_cancel: Option<Function>,
    on_studies_found: Option<Function>,
    on_state_change: Option<Function>,
}

impl Callbacks {
    fn of(config: &JsValue) -> Self {
        let callbacks = Reflect::get(config, &"callbacks".into()).unwrap_or(JsValue::UNDEFINED);
        let get = |name: &str| {
            if !callbacks.is_object() {
                return None;
            }
            Reflect::get(&callbacks, &name.into())
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
        };
        Self {
            on_upload_complete: get("onUploadComplete"),
            on_upload_error: get("onUploadError"),
            on_upload_cancel: get("onUploadCancel"),
            on_studies_found: get("onStudiesFound"),
            on_state_change: get("onStateChange"),
        }
    }
}

/// What `onUploadComplete` receives.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadResult {
    upload_id: String,
    studies: Vec<UploadedStudy>,
    /// DICOM files in the archives the server acknowledged.
    successful: u64,
    /// DICOM files of studies whose upload failed: 0 here, since a failed
    /// study ends the upload in `onUploadError` (whose Retry sends the rest).
    failed: u64,
}

/// One study of [`UploadResult`]: the server's id (`upload/init`), its
/// Study Instance UID and the tus upload URL of its zip.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadedStudy {
    id: String,
    study_uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_url: Option<String>,
}

/// An upload in progress.
struct Run {
    generation: u64,
    upload_id: String,
    abort: web_sys::AbortController,
}

struct Inner {
    config: WidgetConfig,
    callbacks: Callbacks,
    strings: Rc<Strings>,
    state: Rc<State>,
    server: Option<UploaderConfig>,
    app: Option<AppHandle<App>>,
    host: Option<web_sys::Element>,
    on_command: Option<Callback<Command>>,
    pipeline: Rc<dyn UploadPipeline>,
    /// Files of the last scan, by path.
    files: HashMap<String, DroppedFile>,
    /// Studies of the last scan still selected.
    studies: Vec<Study>,
    scan_generation: u64,
    run_generation: u64,
    run: Option<Run>,
    /// Aborts every request when the widget is destroyed.
    lifetime: Option<web_sys::AbortController>,
    destroyed: bool,
    /// Builds the state objects of `onStateChange` and `state`.
    objects: StateObjects,
    /// The fields of the last state object given to `onStateChange`, and when.
    notified: (Snapshot, f64),
    /// Gives the host page the state's extras once their time is up.
    notify_later: Option<Timer>,
}

impl Inner {
    fn api(&self, signal: Option<web_sys::AbortSignal>) -> AuraApi {
        let api = AuraApi::new(
            &self.config.api_base_url,
            &self.config.api_token,
            &self.config.upload_token,
        );
        match signal.or_else(|| self.lifetime.as_ref().map(|c| c.signal())) {
            Some(signal) => api.with_abort(signal),
            None => api,
        }
    }

    fn rules(&self) -> ScanRules {
        let mut rules = ScanRules::default();
        rules
            .reject
            .extend(self.config.reject_rules.iter().map(|r| RejectRule {
                description: r.description.clone(),
                sop_class_uid: r.sop_class_uid.clone(),
                protocol_name: r.protocol_name.clone(),
                modality: r.modality.clone(),
            }));
        rules
    }

    fn context_patient(&self) -> Option<ContextPatient> {
        let patient = self.config.context.as_ref()?.get("patient")?;
        serde_json::from_value(patient.clone()).ok()
    }

    fn props(&self) -> Option<AppProps> {
        Some(AppProps {
            state: self.state.clone(),
            strings: self.strings.clone(),
            theme: self.config.theme,
            on_command: self.on_command.clone()?,
        })
    }
}

/// A widget instance: what `StandaloneAuraloader` holds.
pub struct Session {
    inner: Rc<RefCell<Inner>>,
}

type Shared = Rc<RefCell<Inner>>;

impl Session {
    /// Reads the config object (already checked by the JS class).
    pub fn new(config: JsValue) -> Result<Self, JsValue> {
        let callbacks = Callbacks::of(&config);
        let parsed: WidgetConfig = serde_wasm_bindgen::from_value(config).map_err(|e| {
            js_error(
                "config",
                "invalid_config",
                &format!("invalid config: {e}"),
                None,
            )
        })?;
        Ok(Self {
            inner: Rc::new(RefCell::new(Inner {
                strings: Rc::new(parsed.strings.clone()),
                config: parsed,
                callbacks,
                state: Rc::new(State::default()),
                server: None,
                app: None,
                host: None,
                on_command: None,
                pipeline: Rc::new(TusPipeline::default()),
                files: HashMap::new(),
                studies: Vec::new(),
                scan_generation: 0,
                run_generation: 0,
                run: None,
                lifetime: web_sys::AbortController::new().ok(),
                destroyed: false,
                objects: StateObjects::default(),
                notified: (Snapshot::of(&State::default()), f64::NEG_INFINITY),
                notify_later: None,
            })),
        })
    }

    /// Replaces the upload pipeline (tests; the real zip + tus pipeline).
    pub fn set_pipeline(&self, pipeline: Rc<dyn UploadPipeline>) {
        self.inner.borrow_mut().pipeline = pipeline;
    }

    /// The current state object (the published `UploaderState`).
    pub fn state_object(&self) -> JsValue {
        let mut inner = self.inner.borrow_mut();
        let state = Rc::clone(&inner.state);
        let snapshot = Snapshot::of(&state);
        inner.objects.object(&state, &snapshot)
    }

    /// The current step's published name.
    pub fn step_name(&self) -> &'static str {
        self.inner.borrow().state.step.published()
    }

    /// The shadow root the UI renders into, while mounted.
    pub fn shadow_root(&self) -> Option<web_sys::ShadowRoot> {
        self.inner.borrow().host.as_ref()?.shadow_root()
    }

    /// Checks the container and fetches `GET /uploader/config`.
    pub async fn init(&self) -> Result<(), JsValue> {
        let (container_id, api) = {
            let inner = self.inner.borrow();
            if inner.destroyed {
                return Err(destroyed_error("init"));
            }
            (inner.config.container_id.clone(), inner.api(None))
        };
        if element_by_id(&container_id).is_none() {
            return Err(js_error(
                "init",
                "container_not_found",
                &format!("container element #{container_id} not found"),
                None,
            ));
        }
        let server = api
            .uploader_config()
            .await
            .map_err(|e| api_error_js("init", &e))?;
        self.inner.borrow_mut().server = Some(server);
        Ok(())
    }

    /// Renders the UI into a shadow root inside the container, and gets the
    /// scan ready in the background (workers started, scan code compiled).
    pub fn mount(&self) -> Result<(), JsValue> {
        let mut inner = self.inner.borrow_mut();
        if inner.destroyed {
            return Err(destroyed_error("mount"));
        }
        if inner.server.is_none() {
            return Err(js_error(
                "mount",
                "not_initialized",
                "init() must complete before mount()",
                None,
            ));
        }
        if inner.app.is_some() {
            return Ok(());
        }
        let container = element_by_id(&inner.config.container_id).ok_or_else(|| {
            js_error(
                "mount",
                "container_not_found",
                &format!("container element #{} not found", inner.config.container_id),
                None,
            )
        })?;
        let (host, root) = shadow_mount(&container)?;
        let weak = Rc::downgrade(&self.inner);
        inner.on_command = Some(Callback::from(move |command| {
            if let Some(shared) = weak.upgrade() {
                handle(&shared, command);
            }
        }));
        let props = inner.props().ok_or_else(|| {
            js_error(
                "mount",
                "mount_failed",
                "the widget could not be rendered",
                None,
            )
        })?;
        inner.app = Some(yew::Renderer::<App>::with_root_and_props(root, props).render());
        inner.host = Some(host);
        // Start the workers and compile the scan code now, not on the first
        // drop (see `browser::scan::warm_up`).
        wasm_bindgen_futures::spawn_local(async {
            crate::browser::scan::warm_up().await;
        });
        Ok(())
    }

    /// Whether the UI is rendered.
    pub fn is_mounted(&self) -> bool {
        self.inner.borrow().app.is_some()
    }

    /// Scans `files` as if dropped; resolves when the scan is over.
    pub async fn add_files(&self, files: Vec<DroppedFile>) -> Result<(), JsValue> {
        scan(self.inner.clone(), FileSource::Files(files)).await
    }

    /// Starts the upload; resolves when it is over (complete, failed or
    /// cancelled: failures go to `onUploadError`, not to this promise).
    pub async fn upload(&self) -> Result<(), JsValue> {
        let generation = begin_upload(&self.inner)?;
        run_upload(self.inner.clone(), generation).await;
        Ok(())
    }

    /// Cancels the scan or the upload.
    pub fn cancel(&self) {
        cancel(&self.inner);
    }

    /// Back to the start step.
    pub fn reset(&self) {
        reset(&self.inner);
    }

    /// Removes a study before the upload.
    pub fn remove_study(&self, uid: &str) -> Result<(), JsValue> {
        let step = self.inner.borrow().state.step;
        if matches!(step, Step::Uploading) {
            return Err(js_error(
                "removeStudy",
                "invalid_state",
                "removeStudy() works before upload(): this upload has started; cancel() it first",
                None,
            ));
        }
        remove_study(&self.inner, uid);
        Ok(())
    }

    /// Unmounts, aborts every request and forgets everything.
    pub fn destroy(&self) {
        let (app, host, run, lifetime) = {
            let mut inner = self.inner.borrow_mut();
            inner.destroyed = true;
            inner.scan_generation += 1;
            inner.run_generation += 1;
            inner.on_command = None;
            inner.server = None;
            inner.files.clear();
            inner.studies.clear();
            inner.state = Rc::new(State::default());
            inner.notify_later = None;
            (
                inner.app.take(),
                inner.host.take(),
                inner.run.take(),
                inner.lifetime.take(),
            )
        };
        if let Some(run) = run {
            // The pipeline abandons its uploads (no DELETE) on this reason.
            run.abort.abort_with_reason(&JsValue::from_str(DESTROYED));
        }
        if let Some(lifetime) = lifetime {
            lifetime.abort();
        }
        if let Some(app) = app {
            app.destroy();
        }
        if let Some(host) = host {
            host.remove();
        }
    }
}

/// Creates `<div class="auraloader">` in `container` with an open shadow
/// root holding the style sheet and the element Yew renders into.
fn shadow_mount(
    container: &web_sys::Element,
) -> Result<(web_sys::Element, web_sys::Element), JsValue> {
    let document = container.owner_document().ok_or_else(|| {
        js_error(
            "mount",
            "mount_failed",
            "the container is not in a document",
            None,
        )
    })?;
    let host = document.create_element("div")?;
    host.set_class_name("auraloader");
    let shadow =
        host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?;
    let style = document.create_element("style")?;
    style.set_text_content(Some(STYLE));
    shadow.append_child(&style)?;
    let root = document.create_element("div")?;
    shadow.append_child(&root)?;
    // The published widget replaces what the container held (a host page's
    // placeholder text, say); destroy() leaves it empty.
    container.replace_children_with_node_1(&host);
    Ok((host, root))
}

/// Applies `action`; re-renders and gives the host page the new state
/// object (see [`notify`]). Entering the error step fires nothing else: the
/// caller fires `onUploadError`.
fn dispatch(shared: &Shared, action: Action) {
    {
        let Ok(mut inner) = shared.try_borrow_mut() else {
            return;
        };
        if inner.destroyed {
            return;
        }
        if !Rc::make_mut(&mut inner.state).reduce(action) {
            return;
        }
    }
    render(shared);
    notify(shared);
}

/// Calls `onStateChange` with a fresh state object when one is due: at once
/// when a published field changed, after [`crate::published::EXTRAS_EVERY_MS`]
/// when only auraloader's extra counters did (a timer then delivers the
/// newest state, unless a published change came first).
fn notify(shared: &Shared) {
    let (callback, object) = {
        let Ok(mut inner) = shared.try_borrow_mut() else {
            return;
        };
        if inner.destroyed || inner.callbacks.on_state_change.is_none() {
            return;
        }
        let state = Rc::clone(&inner.state);
        let snapshot = Snapshot::of(&state);
        let now = js_sys::Date::now();
        match due(Some((&inner.notified.0, inner.notified.1)), &snapshot, now) {
            Due::Never => return,
            Due::In(ms) => {
                if inner.notify_later.is_none() {
                    let weak = Rc::downgrade(shared);
                    inner.notify_later = Timer::new(ms.ceil().max(0.0) as u64, move || {
                        if let Some(shared) = weak.upgrade() {
                            if let Ok(mut inner) = shared.try_borrow_mut() {
                                inner.notify_later = None;
                            }
                            notify(&shared);
                        }
                    })
                    .ok();
                }
                return;
            }
            Due::Now => {}
        }
        inner.notify_later = None;
        let object = inner.objects.object(&state, &snapshot);
        inner.notified = (snapshot, now);
        (inner.callbacks.on_state_change.clone(), object)
    };
    call(callback, &object, "onStateChange");
}

/// Hands the current state to the mounted UI.
fn render(shared: &Shared) {
    let (app, props) = {
        let mut inner = shared.borrow_mut();
        let props = inner.props();
        (inner.app.take(), props)
    };
    if let Some(mut app) = app {
        if let Some(props) = props {
            app.update(props);
        }
        let mut inner = shared.borrow_mut();
        if inner.destroyed {
            drop(inner);
            app.destroy();
        } else {
            inner.app = Some(app);
        }
    }
}

/// Calls a host page callback; a callback that throws does not stop the widget.
fn call(callback: Option<Function>, arg: &JsValue, name: &str) {
    if let Some(callback) = callback {
        if callback.call1(&JsValue::NULL, arg).is_err() {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "auraloader: the {name} callback threw; the widget carries on"
            )));
        }
    }
}

/// Carries out a user intent from the UI.
fn handle(shared: &Shared, command: Command) {
    match command {
        Command::AddFiles(source) => {
            let shared = shared.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // Failures are shown on the error step; nothing to return to.
                let _ = scan(shared, source).await;
            });
        }
        Command::RemoveStudy(uid) => remove_study(shared, &uid),
        Command::Upload => {
            if let Ok(generation) = begin_upload(shared) {
                let shared = shared.clone();
                wasm_bindgen_futures::spawn_local(run_upload(shared, generation));
            }
        }
        Command::Cancel => cancel(shared),
        Command::Reset => reset(shared),
    }
}

/// Whether scan `generation` is still the one to report.
fn scan_is_current(shared: &Shared, generation: u64) -> bool {
    let inner = shared.borrow();
    !inner.destroyed && inner.scan_generation == generation && inner.state.step == Step::Processing
}

/// Least time between two renders of the scan's progress, in milliseconds:
/// the scan's slices are much shorter.
const PROGRESS_RENDER_MS: f64 = 100.0;

/// Shows scan progress at most every [`PROGRESS_RENDER_MS`], and a report
/// that came too soon once that time is up (a timer), so the count shown
/// catches up even when the scan then waits for slow reads.
struct ProgressThrottle<F: Fn(ScanProgress) + 'static> {
    show: Rc<F>,
    last_render: Rc<std::cell::Cell<f64>>,
    /// The newest report not shown yet, and whether a timer will show it.
    waiting: Rc<std::cell::Cell<Option<ScanProgress>>>,
    timer_set: Rc<std::cell::Cell<bool>>,
}

impl<F: Fn(ScanProgress) + 'static> ProgressThrottle<F> {
    fn new(show: F) -> Self {
        Self {
            show: Rc::new(show),
            last_render: Rc::new(std::cell::Cell::new(f64::NEG_INFINITY)),
            waiting: Rc::new(std::cell::Cell::new(None)),
            timer_set: Rc::new(std::cell::Cell::new(false)),
        }
    }

    fn report(&mut self, progress: ScanProgress) {
        let now = js_sys::Date::now();
        let since = now - self.last_render.get();
        if since >= PROGRESS_RENDER_MS || progress.scanned >= progress.total {
            self.waiting.set(None);
            self.last_render.set(now);
            (self.show)(progress);
            return;
        }
        self.waiting.set(Some(progress));
        if self.timer_set.get() {
            return;
        }
        let (show, last_render, waiting, timer_set) = (
            Rc::clone(&self.show),
            Rc::clone(&self.last_render),
            Rc::clone(&self.waiting),
            Rc::clone(&self.timer_set),
        );
        let later = Closure::once_into_js(move || {
            timer_set.set(false);
            if let Some(progress) = waiting.take() {
                last_render.set(js_sys::Date::now());
                show(progress);
            }
        });
        let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(set_timeout) = set_timeout {
            let delay = JsValue::from(PROGRESS_RENDER_MS - since);
            if set_timeout.call2(&JsValue::NULL, &later, &delay).is_ok() {
                self.timer_set.set(true);
            }
        }
    }
}

/// Walks and scans dropped files, then shows the studies.
async fn scan(shared: Shared, source: FileSource) -> Result<(), JsValue> {
    let generation = {
        let mut inner = shared.borrow_mut();
        if inner.destroyed {
            return Err(destroyed_error("addFiles"));
        }
        if matches!(inner.state.step, Step::Uploading) {
            return Err(js_error(
                "addFiles",
                "invalid_state",
                "files cannot be added during an upload: cancel() it or wait for it to finish",
                None,
            ));
        }
        inner.scan_generation += 1;
        inner.scan_generation
    };
    // Processing starts (and a previous review is dropped) before the walk,
    // which can take a while on a big folder.
    let step = shared.borrow().state.step;
    if matches!(step, Step::Processing | Step::Pending) {
        dispatch(&shared, Action::Reset);
    }
    dispatch(&shared, Action::ScanStarted { total: 0 });
    let files = match source {
        FileSource::Files(files) => files,
        FileSource::Dropped { entries, mut files } => match walk_entries(entries).await {
            Ok(walked) => {
                files.extend(walked);
                files
            }
            Err(_) => {
                fail_scan(
                    &shared,
                    generation,
                    "the dropped folders could not be read: try the \"Choose folder\" button",
                );
                return Ok(());
            }
        },
    };
    if !scan_is_current(&shared, generation) {
        return Ok(());
    }
    let total = files.len() as u64;
    dispatch(
        &shared,
        Action::ScanProgressed(ScanCounts {
            scanned: 0,
            total,
            skipped: 0,
        }),
    );
    let rules = shared.borrow().rules();
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(&shared);
    let show = move |progress: ScanProgress| {
        if let Some(shared) = weak.upgrade() {
            if scan_is_current(&shared, generation) {
                dispatch(
                    &shared,
                    Action::ScanProgressed(ScanCounts {
                        scanned: progress.scanned,
                        total: progress.total,
                        skipped: progress.skipped,
                    }),
                );
            }
        }
    };
    let mut throttle = ProgressThrottle::new(show);
    let mut on_progress = |progress: ScanProgress| throttle.report(progress);
    let watched = Watched {
        files: &files,
        shared: &shared,
        generation,
    };
    let outcome = scan_dropped_files(&watched, &rules, &mut on_progress).await;
    if !scan_is_current(&shared, generation) {
        return Ok(());
    }
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(_) => {
            fail_scan(
                &shared,
                generation,
                "the files could not be read: choose them again",
            );
            return Ok(());
        }
    };
    let (allowed, context) = {
        let inner = shared.borrow();
        (
            inner.config.allowed_modalities.clone(),
            inner.context_patient(),
        )
    };
    let (studies, mut skipped) = {
        let (_, skipped) = rows_of(&outcome.grouping);
        let (studies, left_out) = keep_modalities(outcome.grouping.studies, allowed.as_deref());
        let mut skipped = skipped;
        skipped.extend(left_out);
        (studies, skipped)
    };
    skipped.shrink_to_fit();
    let warnings = check_patients(&studies, context.as_ref());
    let rows = studies.iter().map(crate::ui::state::StudyRow::of).collect();
    let infos: Vec<StudyInfo> = studies.iter().map(Study::info).collect();
    let found = infos.clone();
    {
        let mut inner = shared.borrow_mut();
        inner.files = files.into_iter().map(|f| (f.path.clone(), f)).collect();
        inner.studies = studies;
    }
    dispatch(
        &shared,
        Action::ScanFinished {
            studies: rows,
            infos: found,
            skipped,
            warnings,
        },
    );
    let callback = shared.borrow().callbacks.on_studies_found.clone();
    if callback.is_some() {
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        if let Ok(value) = infos.serialize(&serializer) {
            call(callback, &value, "onStudiesFound");
        }
    }
    Ok(())
}

/// The files of a scan that stops early once it is no longer current
/// (cancelled, reset, destroyed, or replaced by a new drop): the scan asks
/// for each file as it reaches it, and an error ends it.
struct Watched<'a> {
    files: &'a [DroppedFile],
    shared: &'a Shared,
    generation: u64,
}

impl DroppedFiles for Watched<'_> {
    fn count(&self) -> usize {
        self.files.len()
    }

    fn file(&self, index: usize) -> Result<DroppedFile, JsValue> {
        if !scan_is_current(self.shared, self.generation) {
            return Err(JsValue::from_str("the scan was stopped"));
        }
        self.files.file(index)
    }
}

/// Leaves out series whose modality is not in `allowed` (when given);
/// studies left without series go too. Their files become skipped rows.
fn keep_modalities(
    studies: Vec<Study>,
    allowed: Option<&[String]>,
) -> (Vec<Study>, Vec<SkippedRow>) {
    let Some(allowed) = allowed else {
        return (studies, Vec::new());
    };
    let accepts = |modality: &str| {
        allowed
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case(modality.trim()))
    };
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for mut study in studies {
        let (keep, drop): (Vec<_>, Vec<_>) = study
            .series
            .into_iter()
            .partition(|series| accepts(series.modality()));
        for series in drop {
            let reason = format!("modality {} is not accepted here", series.modality());
            skipped.extend(series.instances.iter().map(|i| SkippedRow {
                path: i.key.path.clone(),
                reason: reason.clone(),
            }));
        }
        study.series = keep;
        if !study.series.is_empty() {
            kept.push(study);
        }
    }
    (kept, skipped)
}

fn fail_scan(shared: &Shared, generation: u64, message: &str) {
    if scan_is_current(shared, generation) {
        let mut failure = Failure::new("scan_failed", message, None);
        failure.context = "scan";
        fail(shared, &failure);
    }
}

/// Enters the error step and fires `onUploadError`.
fn fail(shared: &Shared, failure: &Failure) {
    dispatch(shared, Action::Failed(failure.clone()));
    let callback = shared.borrow().callbacks.on_upload_error.clone();
    call(
        callback,
        &js_error(
            failure.context,
            &failure.code,
            &failure.message,
            failure.status,
        ),
        "onUploadError",
    );
}

fn remove_study(shared: &Shared, uid: &str) {
    {
        let mut inner = shared.borrow_mut();
        if inner.state.step != Step::Pending {
            return;
        }
        inner.studies.retain(|s| s.study_instance_uid != uid);
    }
    dispatch(shared, Action::RemoveStudy(uid.to_owned()));
}

/// Checks that an upload can start and enters the uploading step; returns
/// the run's generation.
fn begin_upload(shared: &Shared) -> Result<u64, JsValue> {
    let generation = {
        let mut inner = shared.borrow_mut();
        if inner.destroyed {
            return Err(destroyed_error("upload"));
        }
        if inner.server.is_none() {
            return Err(js_error(
                "upload",
                "not_initialized",
                "init() must complete before upload()",
                None,
            ));
        }
        if inner.run.is_some() || inner.state.step == Step::Uploading {
            return Err(js_error(
                "upload",
                "invalid_state",
                "an upload is already running",
                None,
            ));
        }
        if !inner.state.can_upload() {
            return Err(js_error(
                "upload",
                "invalid_state",
                "there is nothing to upload: add files and wait for the studies to be listed first",
                None,
            ));
        }
        let upload_id = crate::browser::random_uuid_v4().map_err(JsValue::from)?;
        let abort = web_sys::AbortController::new()?;
        inner.run_generation += 1;
        let generation = inner.run_generation;
        inner.run = Some(Run {
            generation,
            upload_id,
            abort,
        });
        generation
    };
    dispatch(shared, Action::UploadStarted);
    Ok(generation)
}

fn run_is_current(shared: &Shared, generation: u64) -> bool {
    let inner = shared.borrow();
    !inner.destroyed
        && inner
            .run
            .as_ref()
            .is_some_and(|r| r.generation == generation)
}

/// `upload/init`, `upload/start`, the pipeline, `upload/complete`; then the
/// complete or error step and its callback. A cancelled, reset or destroyed
/// run ends quietly.
async fn run_upload(shared: Shared, generation: u64) {
    let prepared = {
        let inner = shared.borrow();
        match (&inner.run, &inner.server) {
            (Some(run), Some(server)) if run.generation == generation => Some((
                run.upload_id.clone(),
                run.abort.signal(),
                server.clone(),
                inner.api(Some(run.abort.signal())),
                inner.pipeline.clone(),
                inner.studies.clone(),
                inner.files.clone(),
                inner.config.clone(),
            )),
            _ => None,
        }
    };
    let Some((upload_id, signal, server, api, pipeline, studies, files, config)) = prepared else {
        return;
    };
    let mut initialised = false;
    let urls: Rc<RefCell<HashMap<String, String>>> = Rc::default();
    let result: Result<Vec<UploadedStudy>, Failure> = async {
        let init = UploadInit {
            upload_id: upload_id.clone(),
            studies: studies_map(&studies),
            mode: server.mode.clone(),
            kind: "uploader".to_owned(),
            source: UPLOAD_SOURCE.to_owned(),
            patient_id: config.patient_id.clone(),
            context: config.context.clone(),
        };
        let ids = api.init(&init).await.map_err(|e| failure_of_api(&e))?;
        initialised = true;
        if let Some(last) = ids.last() {
            if run_is_current(&shared, generation) {
                dispatch(
                    &shared,
                    Action::Initialised {
                        study_id: last.id.clone(),
                    },
                );
            }
        }
        if ids.len() != studies.len() {
            return Err(Failure::new(
                "upload_failed",
                format!(
                    "the server acknowledged {} of {} studies in upload/init; try again",
                    ids.len(),
                    studies.len()
                ),
                None,
            ));
        }
        // `upload/init` sends the studies as an object keyed by UID, in UID
        // order, and the server answers its ids in that order.
        let ids_by_uid: HashMap<String, String> = init
            .studies
            .keys()
            .cloned()
            .zip(ids.into_iter().map(|r| r.id))
            .collect();
        let id_of = |study: &Study| {
            ids_by_uid
                .get(&study.study_instance_uid)
                .cloned()
                .unwrap_or_default()
        };
        let assembly_id = crate::browser::random_uuid_v4().map_err(|_| {
            Failure::new("upload_failed", "no random numbers for an upload id", None)
        })?;
        api.start(&upload_id, &assembly_id)
            .await
            .map_err(|e| failure_of_api(&e))?;
        let job = UploadJob {
            upload_id: upload_id.clone(),
            assembly_id: assembly_id.clone(),
            config: server.clone(),
            studies: studies
                .iter()
                .map(|study| StudyJob {
                    files: study
                        .series
                        .iter()
                        .flat_map(|s| &s.instances)
                        .filter_map(|i| files.get(&i.key.path).cloned())
                        .collect(),
                    study: study.clone(),
                    server_id: id_of(study),
                })
                .collect(),
            options: PipelineOptions {
                chunk_size: config
                    .chunk_size
                    .unwrap_or(PipelineOptions::default().chunk_size),
                parallel_uploads: config
                    .parallel_uploads
                    .unwrap_or(PipelineOptions::default().parallel_uploads),
                stall_timeout_ms: config
                    .stall_timeout_ms
                    .unwrap_or(PipelineOptions::default().stall_timeout_ms),
            },
        };
        let weak = Rc::downgrade(&shared);
        let seen = Rc::clone(&urls);
        let events: EventSink = Rc::new(move |event: PipelineEvent| {
            if let PipelineEvent::StudyComplete {
                uid,
                url: Some(url),
            } = &event
            {
                seen.borrow_mut().insert(uid.clone(), url.clone());
            }
            if let Some(shared) = weak.upgrade() {
                if run_is_current(&shared, generation) {
                    dispatch(&shared, action_of(event));
                }
            }
        });
        pipeline
            .run(job, events, signal)
            .await
            .map_err(|e| failure_of_pipeline(&e))?;
        if !run_is_current(&shared, generation) {
            return Ok(Vec::new());
        }
        api.complete(&upload_id, &assembly_id)
            .await
            .map_err(|e| failure_of_api(&e))?;
        let urls = urls.borrow();
        Ok(studies
            .iter()
            .map(|study| UploadedStudy {
                id: id_of(study),
                study_uid: study.study_instance_uid.clone(),
                upload_url: urls.get(&study.study_instance_uid).cloned(),
            })
            .collect())
    }
    .await;
    if !run_is_current(&shared, generation) {
        return;
    }
    shared.borrow_mut().run = None;
    match result {
        Ok(studies) => {
            dispatch(&shared, Action::UploadComplete);
            let callback = shared.borrow().callbacks.on_upload_complete.clone();
            let serializer = serde_wasm_bindgen::Serializer::json_compatible();
            let successful = shared.borrow().state.studies.iter().map(|s| s.images).sum();
            let result = UploadResult {
                upload_id: upload_id.clone(),
                studies,
                successful,
                failed: 0,
            };
            if let Ok(value) = result.serialize(&serializer) {
                call(callback, &value, "onUploadComplete");
            }
        }
        Err(failure) => {
            if initialised {
                let api = shared.borrow().api(None);
                let message = failure.message.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    // Best effort: the user already sees the error.
                    let _ = api.error(&upload_id, &message).await;
                });
            }
            fail(&shared, &failure);
        }
    }
}

fn action_of(event: PipelineEvent) -> Action {
    match event {
        PipelineEvent::StudyPreparing { uid } => Action::StudyPreparing(uid),
        PipelineEvent::StudyPrepared { uid, bytes } => Action::StudyPrepared { uid, bytes },
        PipelineEvent::StudyProgress {
            uid,
            sent,
            in_flight,
        } => Action::StudyProgressed {
            uid,
            sent,
            in_flight,
        },
        PipelineEvent::Throughput {
            bytes_per_second,
            seconds_left,
        } => Action::Throughput {
            bytes_per_second,
            seconds_left,
        },
        PipelineEvent::Retrying { in_seconds } => Action::Retrying { in_seconds },
        PipelineEvent::Reconnected => Action::Reconnected,
        PipelineEvent::StudyComplete { uid, .. } => Action::StudyComplete(uid),
        PipelineEvent::StudyFailed { uid } => Action::StudyFailed(uid),
    }
}

fn failure_of_api(error: &ApiError) -> Failure {
    Failure::new(error.code, error.message.clone(), error.status)
}

fn failure_of_pipeline(error: &PipelineError) -> Failure {
    Failure::new(&error.code, error.message.clone(), error.status)
}

/// Stops the scan or the upload (telling the server), and fires `onUploadCancel`.
fn cancel(shared: &Shared) {
    let (run, api) = {
        let mut inner = shared.borrow_mut();
        if !inner.state.can_cancel() || inner.destroyed {
            return;
        }
        inner.scan_generation += 1;
        (inner.run.take(), inner.api(None))
    };
    if let Some(run) = &run {
        run.abort.abort();
    }
    dispatch(shared, Action::Cancelled);
    if let Some(run) = run {
        wasm_bindgen_futures::spawn_local(async move {
            // Best effort: a session the server never saw answers 4xx.
            let _ = api.cancel(&run.upload_id).await;
        });
    }
    let callback = shared.borrow().callbacks.on_upload_cancel.clone();
    call(callback, &JsValue::UNDEFINED, "onUploadCancel");
}

/// Back to the start: stops any scan or upload (telling the server about an
/// upload) and forgets the files.
fn reset(shared: &Shared) {
    let (run, api) = {
        let mut inner = shared.borrow_mut();
        if inner.destroyed {
            return;
        }
        inner.scan_generation += 1;
        inner.files.clear();
        inner.studies.clear();
        (inner.run.take(), inner.api(None))
    };
    if let Some(run) = run {
        run.abort.abort();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = api.cancel(&run.upload_id).await;
        });
    }
    dispatch(shared, Action::Reset);
}

/// The error of an instance after `destroy()`, for a call of `method`.
fn destroyed_error(method: &str) -> JsValue {
    js_error(
        method,
        "destroyed",
        "this widget was destroyed: create a new StandaloneAuraloader",
        None,
    )
}

/// The JS form of an API failure during `context`.
pub fn api_error_js(context: &str, error: &ApiError) -> JsValue {
    js_error(context, error.code, &error.message, error.status)
}

/// A JS `Error` named `AuraloaderError`: the published `context` (where it
/// happened: `init`, `mount`, `scan`, `upload`, `addFiles`, `removeStudy`,
/// `config`), `message` and, for HTTP failures, `statusCode`, plus
/// auraloader's machine `code`. What callbacks and rejected promises deliver.
pub fn js_error(context: &str, code: &str, message: &str, status: Option<u16>) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("AuraloaderError");
    let _ = Reflect::set(&error, &"context".into(), &context.into());
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    if let Some(status) = status {
        let _ = Reflect::set(&error, &"statusCode".into(), &status.into());
    }
    error.into()
}
