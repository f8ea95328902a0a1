//! The widget's UI and JS API in headless Chromium: mount, unmount and
//! destroy, constructor validation, the callbacks and their shapes, the
//! upload lifecycle against a fake Aura API (a `fetch` stand-in) with a
//! scripted [`UploadPipeline`], events inside the shadow root, and patient
//! names holding markup rendered as text.
//!
//! Fixtures: synthetic DICOM from `auraloader_core::synth`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::rc::Rc;

use auraloader::browser::scan::DroppedFile;
use auraloader::pipeline::{
    EventSink, PipelineError, PipelineEvent, RunFuture, UploadJob, UploadPipeline,
};
use auraloader::StandaloneAuraloader;
use auraloader_core::synth::{SynthError, SynthFile};
use dicom_core::VR;
use dicom_dictionary_std::tags;
use js_sys::{Array, Object, Reflect, Uint8Array};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------- helpers

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap()
}

fn to_json(value: &JsValue) -> Value {
    if value.is_undefined() {
        return Value::Null;
    }
    let text = js_sys::JSON::stringify(value).unwrap().as_string().unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn sleep(ms: i32) {
    JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    }))
    .await
    .unwrap();
}

/// Polls `condition` every 10 ms for at most 5 s.
async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        sleep(10).await;
    }
    panic!("timed out waiting for {what}");
}

fn container(id: &str) -> web_sys::Element {
    let document = window().document().unwrap();
    let element = document.create_element("div").unwrap();
    element.set_id(id);
    document.body().unwrap().append_child(&element).unwrap();
    element
}

/// A `File` holding `bytes`.
fn file(bytes: &[u8], name: &str) -> web_sys::File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    web_sys::File::new_with_u8_array_sequence(&parts, name).unwrap()
}

/// Two studies (two files each) of one patient; `name` is the patient's
/// name of every file, `description` the description of the first study.
fn study_files(name: &str, description: &str) -> Vec<DroppedFile> {
    let mut files = Vec::new();
    for (s, desc) in [(1, description), (2, "MR KNEE")] {
        for i in 0..2 {
            let bytes = SynthFile::new(
                &format!("2.25.{s}"),
                &format!("2.25.{s}.1"),
                &format!("2.25.{s}.1.{i}"),
            )
            .with(tags::PATIENT_NAME, VR::PN, name)
            .with(tags::STUDY_DESCRIPTION, VR::LO, desc)
            .to_bytes()
            .map_err(|e: SynthError| e.to_string())
            .unwrap();
            let path = format!("CD/ST{s}/IM{i}");
            files.push(DroppedFile {
                blob: file(&bytes, &format!("IM{i}")).into(),
                path,
            });
        }
    }
    files.push(DroppedFile {
        blob: file(b"not dicom at all", "README.TXT").into(),
        path: "CD/README.TXT".to_owned(),
    });
    files
}

/// Installs a fake Aura API as `window.fetch`: `GET /uploader/config`
/// answers a usable config, `upload/init` one id per study (`st_1`, …),
/// the other lifecycle calls 200, unless `window.__aura.routes[path]` says
/// otherwise (`{status, body}` or `"hang"`: wait until aborted). Calls are
/// recorded in `window.__aura.calls`.
fn install_fake_api() -> JsValue {
    let original = get(&window(), "fetch");
    let install = js_sys::Function::new_no_args(
        r#"
        const state = { calls: [], routes: {}, aborted: 0 };
        window.__aura = state;
        window.fetch = async (input, init) => {
          const req = input instanceof Request ? input : new Request(input, init);
          const path = new URL(req.url).pathname.replace(/^.*\/api/, "");
          const body = req.method === "GET" ? null : await req.text();
          state.calls.push({ method: req.method, path, body: body ? JSON.parse(body) : null,
            auth: req.headers.get("Authorization"), key: req.headers.get("X-Api-Key") });
          const route = state.routes[path];
          if (route === "hang") {
            return new Promise((_, reject) => {
              const abort = () => { state.aborted += 1; reject(new DOMException("aborted", "AbortError")); };
              if (req.signal.aborted) abort(); else req.signal.addEventListener("abort", abort);
            });
          }
          let answer = route;
          if (!answer && path === "/uploader/config") {
            answer = { status: 200, body: { lift: { endpoint: "http://127.0.0.1:9/files/", token: "t.s", bucket: "b" }, mode: "bulk" } };
          }
          if (!answer && path === "/uploader/upload/init") {
            const ids = Object.keys(JSON.parse(body).studies).map((_, i) => ({ id: `st_${i + 1}` }));
            answer = { status: 200, body: { studies: ids } };
          }
          answer = answer || { status: 200, body: { success: true } };
          return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { "Content-Type": "application/json" } });
        };
        "#,
    );
    install.call0(&JsValue::NULL).unwrap();
    original
}

fn restore_fetch(original: JsValue) {
    Reflect::set(&window(), &"fetch".into(), &original).unwrap();
}

fn fake_state() -> JsValue {
    get(&window(), "__aura")
}

/// The lifecycle calls made so far: `["/uploader/config", …]`.
fn call_paths() -> Vec<String> {
    to_json(&get(&fake_state(), "calls"))
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap().to_owned())
        .collect()
}

fn set_route(path: &str, route: Value) {
    let routes = get(&fake_state(), "routes");
    let value = js_sys::JSON::parse(&route.to_string()).unwrap();
    Reflect::set(&routes, &path.into(), &value).unwrap();
}

/// What the callbacks received, in order: `[name, argument]`.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Vec<(String, Value, JsValue)>>>);

impl Recorder {
    /// A `callbacks` object recording into `self`.
    fn callbacks(&self) -> JsValue {
        let object = Object::new();
        for name in [
            "onUploadComplete",
            "onUploadError",
            "onUploadCancel",
            "onStudiesFound",
            "onStateChange",
        ] {
            let sink = self.0.clone();
            let closure =
                wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |arg: JsValue| {
                    sink.borrow_mut()
                        .push((name.to_owned(), to_json(&arg), arg.clone()));
                });
            Reflect::set(&object, &name.into(), closure.as_ref()).unwrap();
            closure.forget();
        }
        object.into()
    }

    /// The steps of the state objects `onStateChange` received, each once
    /// per run of objects with the same step.
    fn states(&self) -> Vec<String> {
        let mut steps: Vec<String> = Vec::new();
        for (_, v, _) in self
            .0
            .borrow()
            .iter()
            .filter(|(n, _, _)| n == "onStateChange")
        {
            let step = v["step"].as_str().unwrap().to_owned();
            if steps.last() != Some(&step) {
                steps.push(step);
            }
        }
        steps
    }

    /// The state objects `onStateChange` received, as JSON.
    fn state_objects(&self) -> Vec<Value> {
        self.0
            .borrow()
            .iter()
            .filter(|(n, _, _)| n == "onStateChange")
            .map(|(_, v, _)| v.clone())
            .collect()
    }

    fn last(&self, name: &str) -> Option<(Value, JsValue)> {
        self.0
            .borrow()
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, js)| (v.clone(), js.clone()))
    }

    fn count(&self, name: &str) -> usize {
        self.0.borrow().iter().filter(|(n, _, _)| n == name).count()
    }
}

/// The step of the widget's state object (`state.step`).
fn step(widget: &StandaloneAuraloader) -> String {
    Reflect::get(&widget.state(), &"step".into())
        .unwrap()
        .as_string()
        .unwrap()
}

fn config(container: &str, extra: Value, callbacks: Option<JsValue>) -> JsValue {
    let mut base = json!({
        "apiToken": "key",
        "apiBaseUrl": "http://127.0.0.1:9/api",
        "uploadToken": "aubt_test",
        "containerId": container,
    });
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    let config = js_sys::JSON::parse(&base.to_string()).unwrap();
    if let Some(callbacks) = callbacks {
        Reflect::set(&config, &"callbacks".into(), &callbacks).unwrap();
    }
    config
}

/// A pipeline that plays `script` (a few ms apart), then waits for the
/// abort signal if `hang`, then resolves with `outcome`. It records the jobs
/// it was given.
struct ScriptedPipeline {
    script: Vec<PipelineEvent>,
    hang: bool,
    outcome: Result<(), PipelineError>,
    jobs: Rc<RefCell<Vec<UploadJob>>>,
}

impl ScriptedPipeline {
    fn new(script: Vec<PipelineEvent>) -> Self {
        Self {
            script,
            hang: false,
            outcome: Ok(()),
            jobs: Rc::default(),
        }
    }
}

impl UploadPipeline for ScriptedPipeline {
    fn run(&self, job: UploadJob, events: EventSink, abort: web_sys::AbortSignal) -> RunFuture {
        self.jobs.borrow_mut().push(job);
        let script = self.script.clone();
        let hang = self.hang;
        let outcome = self.outcome.clone();
        Box::pin(async move {
            for event in script {
                if abort.aborted() {
                    break;
                }
                events(event);
                sleep(5).await;
            }
            if hang {
                for _ in 0..1000 {
                    if abort.aborted() {
                        break;
                    }
                    sleep(5).await;
                }
            }
            outcome
        })
    }
}

/// A complete script for studies `2.25.1` and `2.25.2`.
fn happy_script() -> Vec<PipelineEvent> {
    let mut script = Vec::new();
    for uid in ["2.25.1", "2.25.2"] {
        script.push(PipelineEvent::StudyPrepared {
            uid: uid.to_owned(),
            bytes: 1000,
        });
        script.push(PipelineEvent::StudyProgress {
            uid: uid.to_owned(),
            sent: 500,
            in_flight: 250,
        });
        script.push(PipelineEvent::StudyComplete {
            uid: uid.to_owned(),
            url: Some(format!("http://127.0.0.1:1/files/{uid}")),
        });
    }
    script
}

/// A mounted widget with the fake API, and what it needs to be torn down.
struct Mounted {
    widget: StandaloneAuraloader,
    element: web_sys::Element,
    fetch: JsValue,
    recorder: Recorder,
}

impl Mounted {
    async fn new(id: &str, extra: Value) -> Self {
        let element = container(id);
        let fetch = install_fake_api();
        let recorder = Recorder::default();
        let widget =
            StandaloneAuraloader::new(config(id, extra, Some(recorder.callbacks()))).unwrap();
        JsFuture::from(widget.init()).await.unwrap();
        widget.mount().unwrap();
        let mounted = Self {
            widget,
            element,
            fetch,
            recorder,
        };
        wait_for("the first render", || {
            mounted.text().contains("Upload imaging")
        })
        .await;
        mounted
    }

    fn shadow(&self) -> web_sys::ShadowRoot {
        self.widget.shadow_root().expect("mounted in a shadow root")
    }

    fn text(&self) -> String {
        self.widget
            .shadow_root()
            .and_then(|s| s.text_content())
            .unwrap_or_default()
    }

    fn query(&self, selector: &str) -> Option<web_sys::HtmlElement> {
        self.shadow()
            .query_selector(selector)
            .unwrap()
            .map(|e| e.unchecked_into())
    }

    fn query_all(&self, selector: &str) -> u32 {
        self.shadow().query_selector_all(selector).unwrap().length()
    }

    async fn add(&self, files: Vec<DroppedFile>) {
        self.widget.add_dropped_files(files).await.unwrap();
        wait_for("the studies table", || self.query("table").is_some()).await;
    }

    fn finish(self) {
        self.widget.destroy();
        restore_fetch(self.fetch);
        self.element.remove();
    }
}

// ------------------------------------------------------------------ tests

#[wasm_bindgen_test]
fn the_constructor_rejects_unusable_configs_with_clear_messages() {
    let missing = js_sys::JSON::parse(r#"{"apiToken":"k"}"#).unwrap();
    let error = StandaloneAuraloader::new(missing).err().unwrap();
    assert_eq!(get(&error, "code").as_string().unwrap(), "invalid_config");
    let message = String::from(error.unchecked_ref::<js_sys::Error>().message());
    assert!(message.contains("apiBaseUrl"), "{message}");

    let bad_theme = config("x", json!({"theme": "purple"}), None);
    let error = StandaloneAuraloader::new(bad_theme).err().unwrap();
    let message = String::from(error.unchecked_ref::<js_sys::Error>().message());
    assert!(message.contains("purple"), "{message}");

    let bad_strings = config("x", json!({"strings": {"title": 5}}), None);
    assert!(StandaloneAuraloader::new(bad_strings).is_err());

    let fine = config(
        "x",
        json!({"theme": "dark", "chunkSize": 1048576, "parallelUploads": 3, "stallTimeoutMs": 10000,
               "strings": {"title": "Hochladen"}, "allowedModalities": ["CT"],
               "rejectRules": [{"description": "no SR", "modality": "SR"}],
               "patientId": "p-1", "context": {"referral_id": "r-1"}}),
        None,
    );
    let widget = StandaloneAuraloader::new(fine).unwrap();
    assert_eq!(step(&widget), "start");
}

#[wasm_bindgen_test]
async fn mounts_in_a_shadow_root_and_destroy_leaves_the_container_reusable() {
    let mounted = Mounted::new("ui-mount", json!({})).await;
    assert_eq!(mounted.element.child_element_count(), 1, "one host element");
    assert!(mounted.query("style").is_some(), "scoped styles");
    assert_eq!(
        mounted
            .query("section")
            .unwrap()
            .get_attribute("data-theme")
            .as_deref(),
        Some("light")
    );
    let live = mounted.query("[aria-live]").unwrap();
    assert_eq!(live.get_attribute("aria-live").as_deref(), Some("polite"));
    mounted.widget.destroy();
    assert!(!mounted.widget.is_mounted());
    assert_eq!(mounted.element.child_element_count(), 0);
    // A destroyed instance says so.
    let error = mounted.widget.mount().unwrap_err();
    assert_eq!(get(&error, "code").as_string().unwrap(), "destroyed");

    // A new instance mounts in the same container.
    let second = StandaloneAuraloader::new(config(
        "ui-mount",
        json!({"theme": "dark", "strings": {"title": "Bilder hochladen"}}),
        None,
    ))
    .unwrap();
    JsFuture::from(second.init()).await.unwrap();
    second.mount().unwrap();
    let shadow = second.shadow_root().unwrap();
    wait_for("the second render", || {
        shadow
            .text_content()
            .unwrap_or_default()
            .contains("Bilder hochladen")
    })
    .await;
    let section = shadow.query_selector("section").unwrap().unwrap();
    assert_eq!(section.get_attribute("data-theme").as_deref(), Some("dark"));
    second.destroy();
    assert_eq!(mounted.element.child_element_count(), 0);
    restore_fetch(mounted.fetch);
    mounted.element.remove();
}

#[wasm_bindgen_test]
async fn host_page_css_does_not_reach_into_the_widget() {
    let document = window().document().unwrap();
    let style = document.create_element("style").unwrap();
    style.set_text_content(Some(
        "button { display: none !important; } h2 { color: rgb(255, 0, 0) !important; }",
    ));
    document.head().unwrap().append_child(&style).unwrap();
    let mounted = Mounted::new("ui-css", json!({})).await;
    let button = mounted.query("button").unwrap();
    let shown = window()
        .get_computed_style(&button)
        .unwrap()
        .unwrap()
        .get_property_value("display")
        .unwrap();
    assert_ne!(shown, "none");
    let heading = mounted.query("h2").unwrap();
    let color = window()
        .get_computed_style(&heading)
        .unwrap()
        .unwrap()
        .get_property_value("color")
        .unwrap();
    assert_ne!(color, "rgb(255, 0, 0)");
    style.remove();
    mounted.finish();
}

#[wasm_bindgen_test]
async fn the_whole_flow_fires_the_callbacks_with_the_published_shapes() {
    let mounted = Mounted::new(
        "ui-flow",
        json!({"patientId": "p-1", "context": {"referral_id": "r-9"}}),
    )
    .await;
    let pipeline = ScriptedPipeline::new(happy_script());
    let jobs = pipeline.jobs.clone();
    mounted.widget.set_pipeline(Rc::new(pipeline));
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    assert_eq!(step(&mounted.widget), "pending");

    let (studies, _) = mounted.recorder.last("onStudiesFound").unwrap();
    let studies = studies.as_array().unwrap();
    assert_eq!(studies.len(), 2);
    let first = &studies[0];
    for key in [
        "study_uid",
        "study_description",
        "institution_name",
        "patient_id",
        "patient_name",
        "study_date",
        "study_time",
        "modalities",
        "series",
        "images",
        "series_count",
    ] {
        assert!(first.get(key).is_some(), "StudyInfo.{key} in {first}");
    }
    assert_eq!(first["images"], 2);
    assert_eq!(first["modalities"], json!(["CT"]));
    assert!(mounted.text().contains("README.TXT") || mounted.query("details").is_some());

    JsFuture::from(mounted.widget.upload()).await.unwrap();
    assert_eq!(step(&mounted.widget), "complete");
    assert_eq!(
        mounted.recorder.states(),
        ["processing", "pending", "uploading", "complete"]
    );
    let (result, _) = mounted.recorder.last("onUploadComplete").unwrap();
    assert_eq!(
        result["studies"],
        json!([
            {"id": "st_1", "studyUid": "2.25.1", "uploadUrl": "http://127.0.0.1:1/files/2.25.1"},
            {"id": "st_2", "studyUid": "2.25.2", "uploadUrl": "http://127.0.0.1:1/files/2.25.2"}
        ])
    );
    let upload_id = result["uploadId"].as_str().unwrap().to_owned();
    assert_eq!(upload_id.len(), 36);
    assert_eq!(
        call_paths(),
        [
            "/uploader/config",
            "/uploader/upload/init",
            "/uploader/upload/start",
            "/uploader/upload/complete"
        ]
    );
    let calls = to_json(&get(&fake_state(), "calls"));
    let init = &calls[1]["body"];
    assert_eq!(init["upload_id"], upload_id.as_str());
    assert_eq!(init["source"], "standalone-uploader");
    assert_eq!(init["type"], "uploader");
    assert_eq!(init["mode"], "bulk");
    assert_eq!(init["patient_id"], "p-1");
    assert_eq!(init["context"], json!({"referral_id": "r-9"}));
    assert_eq!(init["studies"].as_object().unwrap().len(), 2);
    assert_eq!(calls[1]["auth"], "Bearer aubt_test");
    assert_eq!(calls[1]["key"], "key");
    assert_eq!(calls[2]["body"]["upload_id"], upload_id.as_str());
    assert_eq!(calls[2]["body"]["mode"], "uploader");
    assert_eq!(
        calls[2]["body"]["assembly_id"],
        calls[3]["body"]["assembly_id"]
    );

    {
        let jobs = jobs.borrow();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].studies.len(), 2);
        assert_eq!(jobs[0].studies[1].server_id, "st_2");
        assert_eq!(jobs[0].studies[0].files.len(), 2, "the study's own files");
        assert_eq!(jobs[0].config.lift.token, "t.s");
    }

    wait_for("the complete step", || {
        mounted.text().contains("Upload complete")
    })
    .await;
    mounted.finish();
}

#[wasm_bindgen_test]
async fn remove_and_upload_buttons_work_inside_the_shadow_root() {
    let mounted = Mounted::new("ui-click", json!({})).await;
    mounted
        .widget
        .set_pipeline(Rc::new(ScriptedPipeline::new(happy_script())));
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    assert_eq!(mounted.query_all("tbody tr"), 2);
    mounted.query("button.aul-remove").unwrap().click();
    wait_for("one row left", || mounted.query_all("tbody tr") == 1).await;
    // removeStudy() from JS: unknown ids are ignored, known ones removed.
    mounted.widget.remove_study("no-such-uid").unwrap();
    mounted.widget.remove_study("2.25.2").unwrap();
    wait_for("no rows left", || mounted.query("table").is_none()).await;
    assert!(mounted.text().contains("No imaging studies"));
    let error = JsFuture::from(mounted.widget.upload()).await.unwrap_err();
    assert_eq!(get(&error, "code").as_string().unwrap(), "invalid_state");

    // Start over, add again, upload with the button.
    mounted.widget.reset();
    wait_for("the start step", || step(&mounted.widget) == "start").await;
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    mounted.query("button.aul-upload").unwrap().click();
    wait_for("completion", || step(&mounted.widget) == "complete").await;
    let (result, _) = mounted.recorder.last("onUploadComplete").unwrap();
    assert_eq!(result["studies"].as_array().unwrap().len(), 2);
    mounted.finish();
}

#[wasm_bindgen_test]
async fn markup_in_patient_data_is_rendered_as_text() {
    Reflect::delete_property(&window(), &"__auraXss".into()).unwrap();
    let mounted = Mounted::new("ui-xss", json!({})).await;
    let name = "<b>Doe</b>^<img src>";
    let description = "<img src=x onerror=window.__auraXss=1>";
    mounted.add(study_files(name, description)).await;
    let cell = mounted.query("td.aul-patient").unwrap();
    assert_eq!(cell.text_content().unwrap(), "<img src> <b>Doe</b>");
    assert_eq!(mounted.query_all("table b"), 0);
    assert_eq!(mounted.query_all("table img"), 0);
    assert!(mounted.text().contains(description));
    sleep(50).await;
    assert!(get(&window(), "__auraXss").is_undefined(), "no markup ran");
    mounted.finish();
}

#[wasm_bindgen_test]
async fn upload_errors_reach_on_upload_error_and_retry_uploads_again() {
    let mounted = Mounted::new("ui-error", json!({})).await;
    let mut failing = ScriptedPipeline::new(vec![PipelineEvent::Retrying { in_seconds: 3 }]);
    failing.outcome = Err(PipelineError {
        code: "network_error".to_owned(),
        message: "the connection to the upload server was lost".to_owned(),
        status: None,
    });
    mounted.widget.set_pipeline(Rc::new(failing));
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    JsFuture::from(mounted.widget.upload()).await.unwrap();
    assert_eq!(step(&mounted.widget), "error");
    let (_, error) = mounted.recorder.last("onUploadError").unwrap();
    assert_eq!(get(&error, "name").as_string().unwrap(), "AuraloaderError");
    assert_eq!(get(&error, "code").as_string().unwrap(), "network_error");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert!(
        call_paths().contains(&"/uploader/upload/error".to_owned()) || {
            // The error report is sent in the background.
            sleep(50).await;
            call_paths().contains(&"/uploader/upload/error".to_owned())
        }
    );
    wait_for("the message and Retry", || {
        mounted
            .text()
            .contains("connection to the upload server was lost")
            && mounted.query("button.aul-retry").is_some()
    })
    .await;
    let live = mounted
        .query("[aria-live]")
        .unwrap()
        .text_content()
        .unwrap();
    assert!(
        live.contains("connection to the upload server was lost"),
        "{live}"
    );

    mounted
        .widget
        .set_pipeline(Rc::new(ScriptedPipeline::new(happy_script())));
    mounted.query("button.aul-retry").unwrap().click();
    wait_for("completion after retry", || {
        step(&mounted.widget) == "complete"
    })
    .await;
    assert_eq!(
        mounted.recorder.states(),
        [
            "processing",
            "pending",
            "uploading",
            "error",
            "uploading",
            "complete"
        ]
    );
    mounted.finish();
}

/// The published fields of a state object, in the published order, then
/// auraloader's extras.
const STATE_KEYS: [&str; 20] = [
    "step",
    "totalFiles",
    "studiesCount",
    "seriesCount",
    "studies",
    "complete",
    "studyId",
    "zipping",
    "errorMessage",
    "connectionIssues",
    "scan",
    "bytesSent",
    "bytesTotal",
    "bytesPerSecond",
    "secondsLeft",
    "retryInSeconds",
    "uploads",
    "errorCode",
    "skipped",
    "warnings",
];

#[wasm_bindgen_test]
async fn state_objects_follow_zipping_a_dropped_connection_and_the_end() {
    let mounted = Mounted::new("ui-states", json!({})).await;
    let uid = "2.25.1";
    let script = vec![
        PipelineEvent::StudyPreparing {
            uid: uid.to_owned(),
        },
        PipelineEvent::StudyPrepared {
            uid: uid.to_owned(),
            bytes: 1000,
        },
        PipelineEvent::StudyProgress {
            uid: uid.to_owned(),
            sent: 0,
            in_flight: 400,
        },
        PipelineEvent::Retrying { in_seconds: 2 },
        PipelineEvent::Reconnected,
        PipelineEvent::StudyProgress {
            uid: uid.to_owned(),
            sent: 1000,
            in_flight: 0,
        },
        PipelineEvent::StudyComplete {
            uid: uid.to_owned(),
            url: None,
        },
        PipelineEvent::StudyComplete {
            uid: "2.25.2".to_owned(),
            url: None,
        },
    ];
    mounted
        .widget
        .set_pipeline(Rc::new(ScriptedPipeline::new(script)));
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    JsFuture::from(mounted.widget.upload()).await.unwrap();
    assert_eq!(step(&mounted.widget), "complete");
    let states = mounted.recorder.state_objects();
    for state in &states {
        let keys: Vec<&str> = state
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, STATE_KEYS, "{state}");
    }
    // A fresh object on each change only.
    for pair in states.windows(2) {
        assert_ne!(pair[0], pair[1], "two equal state objects in a row");
    }
    let first = &states[0];
    assert_eq!(first["step"], "processing");
    let pending = states.iter().find(|s| s["step"] == "pending").unwrap();
    assert_eq!(pending["studiesCount"], 2);
    assert_eq!(pending["totalFiles"], 4, "two studies of two files");
    assert_eq!(pending["seriesCount"], 2);
    assert_eq!(pending["studies"].as_array().unwrap().len(), 2);
    assert_eq!(
        pending["studies"][0]["study_uid"],
        mounted.recorder.last("onStudiesFound").unwrap().0[0]["study_uid"]
    );
    let uploading: Vec<&Value> = states.iter().filter(|s| s["step"] == "uploading").collect();
    // The published flags change in this order, each in an object of its own.
    let flags: Vec<(bool, bool, String)> = uploading
        .iter()
        .map(|s| {
            (
                s["zipping"].as_bool().unwrap(),
                s["connectionIssues"].as_bool().unwrap(),
                s["studyId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut transitions = flags.clone();
    transitions.dedup();
    assert_eq!(
        transitions,
        [
            (false, false, String::new()),
            (false, false, "st_2".to_owned()),
            (true, false, "st_2".to_owned()),
            (false, false, "st_2".to_owned()),
            (false, true, "st_2".to_owned()),
            (false, false, "st_2".to_owned()),
        ],
        "zipping, then the lost connection, each true then false, after upload/init's last id"
    );
    let retrying = uploading
        .iter()
        .find(|s| s["connectionIssues"] == true)
        .unwrap();
    assert_eq!(retrying["retryInSeconds"], 2);
    let last = states.last().unwrap();
    assert_eq!(last["step"], "complete");
    assert_eq!(last["complete"], true);
    assert_eq!(last["studyId"], "st_2");
    assert_eq!(last["errorMessage"], "");
    // The getter returns the same object as the last callback, freshly made.
    let now = to_json(&mounted.widget.state());
    assert_eq!(&now, last);
    assert!(!js_sys::Object::is(
        &mounted.widget.state(),
        &mounted.widget.state()
    ));
    let (result, _) = mounted.recorder.last("onUploadComplete").unwrap();
    assert_eq!(result["successful"], 4);
    assert_eq!(result["failed"], 0);
    mounted.finish();
}

#[wasm_bindgen_test]
async fn an_error_state_carries_its_message_and_the_error_its_context() {
    let mounted = Mounted::new("ui-error-state", json!({})).await;
    let mut failing = ScriptedPipeline::new(Vec::new());
    failing.outcome = Err(PipelineError {
        code: "network_error".to_owned(),
        message: "the connection to the upload server was lost".to_owned(),
        status: None,
    });
    mounted.widget.set_pipeline(Rc::new(failing));
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    JsFuture::from(mounted.widget.upload()).await.unwrap();
    let states = mounted.recorder.state_objects();
    let last = states.last().unwrap();
    assert_eq!(last["step"], "error");
    assert_eq!(
        last["errorMessage"],
        "the connection to the upload server was lost"
    );
    assert_eq!(last["errorCode"], "network_error");
    assert_eq!(last["complete"], false);
    let (_, error) = mounted.recorder.last("onUploadError").unwrap();
    assert_eq!(get(&error, "context").as_string().unwrap(), "upload");
    assert_eq!(
        get(&error, "message"),
        last["errorMessage"].as_str().unwrap()
    );
    // A rejected method says where, too.
    let rejected = JsFuture::from(
        mounted
            .widget
            .add_files(js_sys::Array::of1(&JsValue::from(3)).into()),
    )
    .await
    .unwrap_err();
    assert_eq!(get(&rejected, "context").as_string().unwrap(), "addFiles");
    assert_eq!(
        get(&rejected, "code").as_string().unwrap(),
        "invalid_argument"
    );
    mounted.finish();
}

#[wasm_bindgen_test]
async fn mount_replaces_what_the_container_held() {
    let element = container("ui-placeholder");
    element.set_inner_html("<p>Complete steps above to start uploading.</p>");
    let fetch = install_fake_api();
    let widget = StandaloneAuraloader::new(config("ui-placeholder", json!({}), None)).unwrap();
    JsFuture::from(widget.init()).await.unwrap();
    assert!(
        element.text_content().unwrap().contains("Complete steps"),
        "init() leaves it"
    );
    widget.mount().unwrap();
    assert_eq!(element.child_element_count(), 1);
    assert!(
        !element
            .text_content()
            .unwrap_or_default()
            .contains("Complete steps"),
        "the placeholder is gone"
    );
    widget.destroy();
    assert_eq!(element.child_nodes().length(), 0, "an empty container");
    restore_fetch(fetch);
    element.remove();
}

#[wasm_bindgen_test]
async fn a_rejected_token_during_upload_offers_only_start_over() {
    let mounted = Mounted::new("ui-auth", json!({})).await;
    mounted
        .widget
        .set_pipeline(Rc::new(ScriptedPipeline::new(happy_script())));
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    set_route(
        "/uploader/upload/init",
        json!({"status": 401, "body": {"error": {"code": "token_expired", "message": "upload token expired"}}}),
    );
    JsFuture::from(mounted.widget.upload()).await.unwrap();
    let (_, error) = mounted.recorder.last("onUploadError").unwrap();
    assert_eq!(get(&error, "code").as_string().unwrap(), "auth_failed");
    assert_eq!(get(&error, "statusCode").as_f64(), Some(401.0));
    wait_for("the error step", || {
        mounted.text().contains("upload token expired")
    })
    .await;
    let hint = mounted.query(".aul-error-hint").expect("the auth hint");
    assert!(
        hint.text_content()
            .unwrap_or_default()
            .contains("Reload the page"),
        "{:?}",
        hint.text_content()
    );
    assert!(mounted.query("button.aul-retry").is_none());
    assert!(
        !call_paths().contains(&"/uploader/upload/start".to_owned()),
        "nothing sent after a failed init"
    );
    mounted.finish();
}

#[wasm_bindgen_test]
async fn cancel_aborts_the_pipeline_tells_the_server_and_fires_on_upload_cancel() {
    let mounted = Mounted::new("ui-cancel", json!({})).await;
    let mut pipeline = ScriptedPipeline::new(vec![
        PipelineEvent::StudyPrepared {
            uid: "2.25.1".to_owned(),
            bytes: 4000,
        },
        PipelineEvent::StudyProgress {
            uid: "2.25.1".to_owned(),
            sent: 1000,
            in_flight: 500,
        },
        PipelineEvent::Throughput {
            bytes_per_second: 2000.0,
            seconds_left: Some(4.0),
        },
        PipelineEvent::Retrying { in_seconds: 5 },
    ]);
    pipeline.hang = true;
    mounted.widget.set_pipeline(Rc::new(pipeline));
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    let upload = JsFuture::from(mounted.widget.upload());
    wait_for("the retry notice", || {
        mounted.text().contains("Connection lost, retrying in 5 s")
    })
    .await;
    let bars = mounted.query_all("[role=progressbar]");
    assert_eq!(bars, 3, "overall and one per study");
    let overall = mounted.query("[role=progressbar]").unwrap();
    assert_eq!(overall.get_attribute("aria-valuemin").as_deref(), Some("0"));
    assert_eq!(
        overall.get_attribute("aria-valuemax").as_deref(),
        Some("100")
    );
    // 1000 of 4000 + (scanned size of study 2) bytes.
    let now: u64 = overall
        .get_attribute("aria-valuenow")
        .unwrap()
        .parse()
        .unwrap();
    assert!(now > 0 && now < 25, "{now}");
    assert!(mounted.text().contains("about 4 s left"));

    mounted.query("button.aul-cancel").unwrap().click();
    upload.await.unwrap();
    assert_eq!(step(&mounted.widget), "cancelled");
    assert_eq!(mounted.recorder.count("onUploadCancel"), 1);
    assert_eq!(mounted.recorder.count("onUploadComplete"), 0);
    wait_for("upload/cancel", || {
        call_paths().contains(&"/uploader/upload/cancel".to_owned())
    })
    .await;
    mounted.finish();
}

#[wasm_bindgen_test]
async fn destroy_aborts_requests_in_flight() {
    let mounted = Mounted::new("ui-destroy", json!({})).await;
    mounted
        .widget
        .set_pipeline(Rc::new(ScriptedPipeline::new(happy_script())));
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    set_route("/uploader/upload/init", json!("hang"));
    let upload = JsFuture::from(mounted.widget.upload());
    wait_for("upload/init sent", || {
        call_paths().contains(&"/uploader/upload/init".to_owned())
    })
    .await;
    let states_before = mounted.recorder.states().len();
    mounted.widget.destroy();
    upload.await.unwrap();
    assert_eq!(get(&fake_state(), "aborted").as_f64(), Some(1.0));
    assert_eq!(mounted.element.child_element_count(), 0);
    sleep(30).await;
    assert_eq!(
        mounted.recorder.states().len(),
        states_before,
        "no callbacks after destroy"
    );
    assert_eq!(mounted.recorder.count("onUploadError"), 0);
    restore_fetch(mounted.fetch);
    mounted.element.remove();
}

#[wasm_bindgen_test]
async fn allowed_modalities_and_patient_checks_shape_the_review() {
    let mounted = Mounted::new(
        "ui-review",
        json!({"allowedModalities": ["MR"],
               "context": {"patient": {"given_names": "John", "family_name": "Smith"}}}),
    )
    .await;
    mounted
        .widget
        .add_dropped_files(study_files("Doe^Jane", "CT CHEST"))
        .await
        .unwrap();
    wait_for("the review", || {
        mounted.text().contains("No imaging studies")
    })
    .await;
    // Both synthetic studies are CT: with only MR allowed, none is left.
    assert!(mounted.text().contains("No imaging studies"));
    let (studies, _) = mounted.recorder.last("onStudiesFound").unwrap();
    assert_eq!(studies, json!([]));
    let summary = mounted
        .query("details summary")
        .unwrap()
        .text_content()
        .unwrap();
    assert_eq!(summary, "Files not uploaded: 5");
    mounted.widget.reset();
    mounted.finish();

    let mounted = Mounted::new(
        "ui-review-2",
        json!({"context": {"patient": {"given_names": "John", "family_name": "Smith"}}}),
    )
    .await;
    mounted.add(study_files("Doe^Jane", "CT CHEST")).await;
    let warnings = mounted
        .query(".aul-warnings")
        .unwrap()
        .text_content()
        .unwrap();
    assert!(
        warnings.contains("2 studies do not match this patient (name)"),
        "{warnings}"
    );
    mounted.finish();
}

#[wasm_bindgen_test]
async fn folder_walk_reads_every_batch_depth_first_and_skips_unreadable_files() {
    // Entries shaped like Chromium's (web-sys calls them structurally):
    // readEntries answers at most 100 entries per call, then an empty batch.
    let build = js_sys::Function::new_no_args(
        r#"
        const fileEntry = (fullPath, ok = true) => ({
          isFile: true, isDirectory: false, name: fullPath.split("/").pop(), fullPath,
          file(resolve, reject) {
            setTimeout(() => ok ? resolve(new File([fullPath], fullPath.split("/").pop()))
                                : reject(new DOMException("gone", "NotFoundError")), 0);
          },
        });
        const dirEntry = (fullPath, children) => ({
          isFile: false, isDirectory: true, name: fullPath.split("/").pop(), fullPath,
          createReader() {
            let at = 0;
            return { readEntries(resolve) {
              setTimeout(() => { const batch = children.slice(at, at + 100); at += batch.length; resolve(batch); }, 0);
            } };
          },
        });
        const many = Array.from({ length: 250 }, (_, i) => fileEntry(`/CD/DICOM/IM${String(i).padStart(4, "0")}`));
        return [
          dirEntry("/CD", [fileEntry("/CD/README.TXT"), dirEntry("/CD/DICOM", many),
                           fileEntry("/CD/BROKEN", false), dirEntry("/CD/EMPTY", [])]),
          fileEntry("/LOOSE.dcm"),
        ];
        "#,
    );
    let entries: Vec<web_sys::FileSystemEntry> = Array::from(&build.call0(&JsValue::NULL).unwrap())
        .iter()
        .map(JsCast::unchecked_into)
        .collect();
    let files = auraloader::browser::files::walk_entries(entries)
        .await
        .unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths.len(), 252, "250 + README + LOOSE, without BROKEN");
    assert_eq!(paths[0], "CD/README.TXT");
    assert_eq!(paths[1], "CD/DICOM/IM0000");
    assert_eq!(paths[250], "CD/DICOM/IM0249");
    assert_eq!(paths[251], "LOOSE.dcm");
    assert!(!paths.contains(&"CD/BROKEN"));
    assert_eq!(files[251].blob.size(), "/LOOSE.dcm".len() as f64);
}

#[wasm_bindgen_test]
async fn a_callback_may_call_back_into_the_widget() {
    // onStateChange("processing") cancels at once, from inside the callback.
    let element = container("ui-reentrant");
    let fetch = install_fake_api();
    let slot: Rc<RefCell<Option<Rc<StandaloneAuraloader>>>> = Rc::default();
    let states = Rc::new(RefCell::new(Vec::<String>::new()));
    let callbacks = Object::new();
    {
        let (slot, states) = (slot.clone(), states.clone());
        // `Fn`, not `FnMut`: wasm-bindgen refuses to re-enter an `FnMut`
        // closure, and this one is re-entered (cancel fires "cancelled").
        let on_state =
            wasm_bindgen::closure::Closure::<dyn Fn(JsValue)>::new(move |state: JsValue| {
                let state = Reflect::get(&state, &"step".into())
                    .unwrap()
                    .as_string()
                    .unwrap();
                if states.borrow().last() == Some(&state) {
                    return;
                }
                states.borrow_mut().push(state.clone());
                if state == "processing" {
                    if let Some(widget) = slot.borrow().as_ref() {
                        widget.cancel();
                    }
                }
            });
        Reflect::set(&callbacks, &"onStateChange".into(), on_state.as_ref()).unwrap();
        on_state.forget();
    }
    let found = Rc::new(RefCell::new(0));
    {
        let found = found.clone();
        let on_found = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |_| {
            *found.borrow_mut() += 1;
        });
        Reflect::set(&callbacks, &"onStudiesFound".into(), on_found.as_ref()).unwrap();
        on_found.forget();
    }
    let widget = Rc::new(
        StandaloneAuraloader::new(config("ui-reentrant", json!({}), Some(callbacks.into())))
            .unwrap(),
    );
    *slot.borrow_mut() = Some(widget.clone());
    JsFuture::from(widget.init()).await.unwrap();
    widget.mount().unwrap();
    widget
        .add_dropped_files(study_files("Doe^Jane", "CT CHEST"))
        .await
        .unwrap();
    assert_eq!(*states.borrow(), ["processing", "cancelled"]);
    assert_eq!(step(&widget), "cancelled");
    assert_eq!(*found.borrow(), 0, "a cancelled scan reports no studies");
    let shadow = widget.shadow_root().unwrap();
    wait_for("the cancelled step", || {
        shadow
            .text_content()
            .unwrap_or_default()
            .contains("Upload cancelled")
    })
    .await;
    slot.borrow_mut().take();
    widget.destroy();
    restore_fetch(fetch);
    element.remove();
}

#[wasm_bindgen_test]
async fn files_dropped_on_the_drop_zone_inside_the_shadow_root_are_scanned() {
    let mounted = Mounted::new("ui-drop", json!({})).await;
    let transfer = web_sys::DataTransfer::new().unwrap();
    for dropped in study_files("Doe^Jane", "CT CHEST") {
        let file: web_sys::File = dropped.blob.unchecked_into();
        transfer.items().add_with_file(&file).unwrap();
    }
    let zone = mounted.query(".aul-dropzone").unwrap();
    let fire = |kind: &str| {
        let init = web_sys::DragEventInit::new();
        init.set_bubbles(true);
        init.set_cancelable(true);
        init.set_data_transfer(Some(&transfer));
        let event = web_sys::DragEvent::new_with_event_init_dict(kind, &init).unwrap();
        zone.dispatch_event(&event).unwrap();
        event
    };
    let over = fire("dragover");
    assert!(over.default_prevented(), "the zone accepts drops");
    let enter = fire("dragenter");
    assert!(enter.default_prevented());
    wait_for("the drop highlight", || {
        zone.get_attribute("data-over").as_deref() == Some("true")
    })
    .await;
    fire("drop");
    wait_for("the studies table", || mounted.query("table").is_some()).await;
    assert_eq!(mounted.query_all("tbody tr"), 2);
    assert_eq!(
        mounted.recorder.states(),
        ["processing", "pending"],
        "the drop went through the scan"
    );
    mounted.finish();
}
