//! `StandaloneAuraloader` as wasm sees it. The published JS class of the same
//! name (in `www/js/facade.js`) wraps this one: it validates the constructor's
//! config synchronously (the wasm module may still be loading then) and calls
//! these methods once the module is ready.

use std::cell::RefCell;
use std::rc::Rc;

use auraloader_core::api::{error_message, UploaderConfig};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::browser::element_by_id;
use crate::ui::{App, AppProps};

/// The host page's configuration, as passed to `new StandaloneAuraloader(config)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WidgetConfig {
    api_token: String,
    api_base_url: String,
    upload_token: String,
    container_id: String,
    // `patientId` and `context` are read when `upload/init` is sent (issue 7);
    // serde ignores them until then.
}

/// Everything a mounted widget holds; shared with the promises of async methods.
struct Inner {
    config: WidgetConfig,
    server: Option<UploaderConfig>,
    app: Option<yew::AppHandle<App>>,
}

/// The widget instance behind the JS `StandaloneAuraloader`.
#[wasm_bindgen]
pub struct StandaloneAuraloader {
    inner: Rc<RefCell<Inner>>,
}

#[wasm_bindgen]
impl StandaloneAuraloader {
    /// Takes the host page's config object (already validated by the JS class).
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<StandaloneAuraloader, JsError> {
        let config: WidgetConfig = serde_wasm_bindgen::from_value(config)
            .map_err(|e| JsError::new(&format!("invalid config: {e}")))?;
        Ok(Self {
            inner: Rc::new(RefCell::new(Inner {
                config,
                server: None,
                app: None,
            })),
        })
    }

    /// Checks that the container exists and fetches `GET /uploader/config`.
    pub fn init(&self) -> js_sys::Promise {
        let inner = Rc::clone(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move {
            let config = inner.borrow().config.clone();
            if element_by_id(&config.container_id).is_none() {
                return Err(widget_error(
                    "container_not_found",
                    &format!("container element #{} not found", config.container_id),
                    None,
                ));
            }
            let server = fetch_uploader_config(&config).await?;
            inner.borrow_mut().server = Some(server);
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Renders the widget into its container; fails before `init()`.
    pub fn mount(&self) -> Result<(), JsValue> {
        let mut inner = self.inner.borrow_mut();
        if inner.server.is_none() {
            return Err(widget_error(
                "not_initialized",
                "init() must complete before mount()",
                None,
            ));
        }
        if inner.app.is_some() {
            return Ok(());
        }
        let root = element_by_id(&inner.config.container_id).ok_or_else(|| {
            widget_error(
                "container_not_found",
                &format!("container element #{} not found", inner.config.container_id),
                None,
            )
        })?;
        let handle = yew::Renderer::<App>::with_root_and_props(root, AppProps {}).render();
        inner.app = Some(handle);
        Ok(())
    }

    /// Whether the UI is currently rendered.
    #[wasm_bindgen(getter, js_name = isMounted)]
    pub fn is_mounted(&self) -> bool {
        self.inner.borrow().app.is_some()
    }

    /// Starts uploading the studies found. Not in this build yet: the scan,
    /// zip and tus pieces land with the issues that build them.
    pub fn upload(&self) -> Result<(), JsValue> {
        Err(not_yet("upload()"))
    }

    /// Cancels the current upload (not in this build yet).
    pub fn cancel(&self) -> Result<(), JsValue> {
        Err(not_yet("cancel()"))
    }

    /// Returns to the start step (not in this build yet).
    pub fn reset(&self) -> Result<(), JsValue> {
        Err(not_yet("reset()"))
    }

    /// Removes a study from the queue (not in this build yet).
    #[wasm_bindgen(js_name = removeStudy)]
    pub fn remove_study(&self, _study_instance_uid: &str) -> Result<(), JsValue> {
        Err(not_yet("removeStudy()"))
    }

    /// Unmounts the UI and forgets the server configuration.
    pub fn destroy(&self) {
        let mut inner = self.inner.borrow_mut();
        if let Some(app) = inner.app.take() {
            app.destroy();
        }
        inner.server = None;
    }
}

/// `GET {apiBaseUrl}/uploader/config` with the upload token and API key.
async fn fetch_uploader_config(config: &WidgetConfig) -> Result<UploaderConfig, JsValue> {
    let url = format!(
        "{}/uploader/config",
        config.api_base_url.trim_end_matches('/')
    );
    let response = gloo_net::http::Request::get(&url)
        .header("X-Api-Key", &config.api_token)
        .header("Authorization", &format!("Bearer {}", config.upload_token))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| {
            widget_error(
                "network_error",
                &format!("could not reach the Aura API at {url}: {e}"),
                None,
            )
        })?;
    let status = response.status();
    let body = response.binary().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        let code = match status {
            401 | 403 => "auth_failed",
            _ => "config_failed",
        };
        return Err(widget_error(
            code,
            &error_message(status, &body),
            Some(status),
        ));
    }
    UploaderConfig::from_json(&body)
        .map_err(|e| widget_error("config_invalid", &e.to_string(), Some(status)))
}

/// The error of a method this build does not have yet.
fn not_yet(method: &str) -> JsValue {
    widget_error(
        "not_implemented",
        &format!("{method} is not available in this build of auraloader yet"),
        None,
    )
}

/// A JS `Error` carrying `code` and, for HTTP failures, `statusCode`: the
/// `AuraloaderError` shape that callbacks and rejected promises deliver.
fn widget_error(code: &str, message: &str, status: Option<u16>) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("AuraloaderError");
    let _ = js_sys::Reflect::set(&error, &"code".into(), &code.into());
    if let Some(status) = status {
        let _ = js_sys::Reflect::set(&error, &"statusCode".into(), &status.into());
    }
    error.into()
}
