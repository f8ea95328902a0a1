//! Accessibility of every step, checked with axe-core (npm, from
//! `www/node_modules`) in headless Chromium: the root component is rendered
//! with a state for each step, light and dark, into a shadow root with the
//! widget's styles (as `mount()` does), and axe must find no serious or
//! critical violation. Keyboard basics are checked too: every control is a
//! native button (or summary) reachable with Tab, and the step's heading
//! takes focus when the step changes.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::rc::Rc;

use auraloader::ui::state::{ScanCounts, SkippedRow, StudyRow};
use auraloader::ui::theme::STYLE;
use auraloader::ui::{Action, App, AppProps, Failure, State, Strings, Theme};
use auraloader_core::patient::{PatientField, PatientWarning};
use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use yew::Callback;

wasm_bindgen_test_configure!(run_in_browser);

/// axe-core's browser build; `npm install` in `www/` puts it there
/// (`cargo xtask setup` runs it).
const AXE: &str = include_str!("../www/node_modules/axe-core/axe.min.js");

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
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

fn load_axe() {
    if Reflect::get(&window(), &"axe".into())
        .unwrap()
        .is_undefined()
    {
        js_sys::eval(AXE).unwrap();
    }
}

fn row(uid: &str, description: &str) -> StudyRow {
    StudyRow {
        uid: uid.to_owned(),
        patient_name: "Jane Doe".to_owned(),
        birth_date: "1970-01-02".to_owned(),
        study_date: "2024-01-31".to_owned(),
        description: description.to_owned(),
        modalities: vec!["CT".to_owned(), "SR".to_owned()],
        series: 3,
        images: 120,
        bytes: 64_000_000,
    }
}

/// A state on each step, with everything the step can show.
fn states() -> Vec<(&'static str, State)> {
    let idle = State::default();
    let mut processing = State::default();
    processing.reduce(Action::ScanStarted { total: 2000 });
    processing.reduce(Action::ScanProgressed(ScanCounts {
        scanned: 700,
        total: 2000,
        skipped: 3,
    }));
    let mut pending = processing.clone();
    pending.reduce(Action::ScanFinished {
        infos: Vec::new(),
        studies: vec![row("1.2.3", "CT CHEST"), row("1.2.4", "")],
        skipped: vec![
            SkippedRow {
                path: "CD/README.TXT".to_owned(),
                reason: "not a DICOM file".to_owned(),
            },
            SkippedRow {
                path: "CD/DICOMDIR".to_owned(),
                reason: "a DICOMDIR (the CD's index, not an image)".to_owned(),
            },
        ],
        warnings: vec![
            PatientWarning::SeveralPatients {
                studies_by_patient: vec![vec!["1.2.3".to_owned()], vec!["1.2.4".to_owned()]],
            },
            PatientWarning::ContextMismatch {
                study_uids: vec!["1.2.4".to_owned()],
                fields: vec![PatientField::Name, PatientField::DateOfBirth],
            },
        ],
    });
    let mut empty = processing.clone();
    empty.reduce(Action::ScanFinished {
        infos: Vec::new(),
        studies: vec![],
        skipped: vec![],
        warnings: vec![],
    });
    let mut uploading = pending.clone();
    uploading.reduce(Action::UploadStarted);
    uploading.reduce(Action::StudyPrepared {
        uid: "1.2.3".to_owned(),
        bytes: 60_000_000,
    });
    uploading.reduce(Action::StudyProgressed {
        uid: "1.2.3".to_owned(),
        sent: 20_000_000,
        in_flight: 8_000_000,
    });
    uploading.reduce(Action::Throughput {
        bytes_per_second: 4_000_000.0,
        seconds_left: Some(26.0),
    });
    uploading.reduce(Action::Retrying { in_seconds: 4 });
    let mut complete = uploading.clone();
    complete.reduce(Action::UploadComplete);
    let mut error = uploading.clone();
    error.reduce(Action::Failed(Failure::new(
        "network_error",
        "the connection to the upload server was lost: check the network and retry",
        None,
    )));
    let mut cancelled = uploading.clone();
    cancelled.reduce(Action::Cancelled);
    vec![
        ("idle", idle),
        ("processing", processing),
        ("pending", pending),
        ("pending (no studies)", empty),
        ("uploading", uploading),
        ("complete", complete),
        ("error", error),
        ("cancelled", cancelled),
    ]
}

/// Renders the root component with `state` in a fresh shadow root.
async fn render(
    state: State,
    theme: Theme,
) -> (web_sys::Element, web_sys::ShadowRoot, yew::AppHandle<App>) {
    let document = window().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let shadow = host
        .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
        .unwrap();
    let style = document.create_element("style").unwrap();
    style.set_text_content(Some(STYLE));
    shadow.append_child(&style).unwrap();
    let root = document.create_element("div").unwrap();
    shadow.append_child(&root).unwrap();
    let props = AppProps {
        state: Rc::new(state),
        strings: Rc::new(Strings::default()),
        theme,
        on_command: Callback::noop(),
    };
    let app = yew::Renderer::<App>::with_root_and_props(root, props).render();
    for _ in 0..100 {
        if shadow.query_selector("section").unwrap().is_some() {
            break;
        }
        sleep(10).await;
    }
    (host, shadow, app)
}

/// axe's serious and critical violations in `host`, as readable lines.
async fn serious_violations(host: &web_sys::Element) -> Vec<String> {
    load_axe();
    let axe = Reflect::get(&window(), &"axe".into()).unwrap();
    let run: js_sys::Function = Reflect::get(&axe, &"run".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let options = js_sys::JSON::parse(r#"{"resultTypes":["violations"]}"#).unwrap();
    let promise: js_sys::Promise = run.call2(&axe, host, &options).unwrap().dyn_into().unwrap();
    let results = JsFuture::from(promise).await.unwrap();
    let text = js_sys::JSON::stringify(&Reflect::get(&results, &"violations".into()).unwrap())
        .unwrap()
        .as_string()
        .unwrap();
    let violations: serde_json::Value = serde_json::from_str(&text).unwrap();
    violations
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["html"].as_str().unwrap_or("").chars().take(120).collect())
                .collect();
            format!("{} ({}): {}", v["id"], v["impact"], nodes.join(" | "))
        })
        .collect()
}

#[wasm_bindgen_test]
async fn no_serious_or_critical_axe_violations_in_any_step() {
    let mut found = Vec::new();
    for theme in [Theme::Light, Theme::Dark] {
        for (name, state) in states() {
            let (host, shadow, app) = render(state, theme).await;
            // The skipped list open too, so its rows are checked.
            if let Some(details) = shadow.query_selector("details").unwrap() {
                details.set_attribute("open", "").unwrap();
            }
            for violation in serious_violations(&host).await {
                found.push(format!("{name} ({theme:?}): {violation}"));
            }
            app.destroy();
            host.remove();
        }
    }
    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
}

#[wasm_bindgen_test]
async fn axe_finds_a_planted_violation() {
    // The check above can fail: an unlabeled button in the same setup is caught.
    let (host, shadow, app) = render(State::default(), Theme::Light).await;
    let document = window().document().unwrap();
    let button = document.create_element("button").unwrap();
    shadow
        .query_selector("section")
        .unwrap()
        .unwrap()
        .append_child(&button)
        .unwrap();
    let violations = serious_violations(&host).await;
    assert!(
        violations.iter().any(|v| v.contains("button-name")),
        "{violations:?}"
    );
    app.destroy();
    host.remove();
}

#[wasm_bindgen_test]
async fn every_control_is_a_native_focusable_control_with_a_name() {
    for (name, state) in states() {
        let (host, shadow, app) = render(state, Theme::Light).await;
        if let Some(details) = shadow.query_selector("details").unwrap() {
            details.set_attribute("open", "").unwrap();
        }
        let controls = shadow
            .query_selector_all("button:not([hidden]), summary, input:not([hidden])")
            .unwrap();
        for i in 0..controls.length() {
            let control: web_sys::HtmlElement = controls.get(i).unwrap().unchecked_into();
            assert!(
                control.tab_index() >= 0,
                "{name}: {} not in the tab order",
                control.outer_html()
            );
            let named = !control.text_content().unwrap_or_default().trim().is_empty()
                || control.get_attribute("aria-label").is_some();
            assert!(named, "{name}: {} has no name", control.outer_html());
            control.focus().unwrap();
            assert_eq!(
                shadow.active_element().map(|e| e.outer_html()),
                Some(control.outer_html()),
                "{name}: cannot focus {}",
                control.outer_html()
            );
        }
        let bars = shadow.query_selector_all("[role=progressbar]").unwrap();
        for i in 0..bars.length() {
            let bar: web_sys::Element = bars.get(i).unwrap().unchecked_into();
            for attribute in [
                "aria-valuenow",
                "aria-valuemin",
                "aria-valuemax",
                "aria-labelledby",
            ] {
                assert!(
                    bar.has_attribute(attribute),
                    "{name}: progressbar without {attribute}"
                );
            }
        }
        app.destroy();
        host.remove();
    }
}

#[wasm_bindgen_test]
async fn focus_moves_to_the_new_steps_heading_but_not_at_mount() {
    let document = window().document().unwrap();
    let outside = document.create_element("button").unwrap();
    document.body().unwrap().append_child(&outside).unwrap();
    outside
        .unchecked_ref::<web_sys::HtmlElement>()
        .focus()
        .unwrap();
    let (host, shadow, mut app) = render(State::default(), Theme::Light).await;
    assert_eq!(
        document.active_element().map(|e| e.outer_html()),
        Some(outside.outer_html()),
        "mounting leaves the host page's focus alone"
    );
    let mut processing = State::default();
    processing.reduce(Action::ScanStarted { total: 3 });
    app.update(AppProps {
        state: Rc::new(processing),
        strings: Rc::new(Strings::default()),
        theme: Theme::Light,
        on_command: Callback::noop(),
    });
    let mut focused = None;
    for _ in 0..100 {
        focused = shadow.active_element().map(|e| e.tag_name());
        if focused.is_some() {
            break;
        }
        sleep(10).await;
    }
    assert_eq!(focused.as_deref(), Some("H2"));
    let live = shadow.query_selector("[aria-live]").unwrap().unwrap();
    assert_eq!(live.text_content().unwrap(), "Reading files…");
    app.destroy();
    host.remove();
    outside.remove();
}
