//! `startTusUploads(options, onEvent)`: the browser tus driver for the
//! browser tests and `cargo xtask bench tus`. An internal API (not in the
//! published `StandaloneAuraloader` surface, and not in `index.d.ts`): a few
//! lines into [`crate::browser::tus`].

use std::cell::RefCell;
use std::rc::Rc;

use auraloader_core::tus::{
    FingerprintStore, MemoryFingerprintStore, TusConfig, TusEvent, UploadSpec,
};
use js_sys::{Array, Object, Promise};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::prepare::PreparedZip;
use crate::browser::body::BodySource;
use crate::browser::storage::LocalStorageFingerprintStore;
use crate::browser::tus::{describe_event, DriverConfig, DriverEvent, DriverUpload, TusDriver};

/// The options of `startTusUploads`, besides `uploads`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    endpoint: String,
    token: String,
    chunk_size: Option<u64>,
    concurrency: Option<usize>,
    retry_delays_ms: Option<Vec<u64>>,
    stall_timeout_ms: Option<u64>,
    /// `"localStorage"` (default) or `"memory"`.
    store: Option<String>,
    namespace: Option<String>,
}

fn error(message: &str) -> JsValue {
    JsError::new(&format!("startTusUploads: {message}")).into()
}

fn js_value(value: &Value) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// Starts uploading with tus. `options`: `{endpoint, token, uploads: [{blob |
/// zip, fingerprint?, metadata?: {key: value}}], chunkSize?, concurrency?,
/// retryDelaysMs?, stallTimeoutMs?, store?: "localStorage" | "memory",
/// namespace?}`. `onEvent`, if a function, is called with plain objects:
/// `{type: "created" | "progress" | "retrying" | "completed" | "failed" |
/// "terminated", upload, …}`, `{type: "overall", acknowledged, inFlight,
/// total, bytesPerSecond, etaMs}`, and last `{type: "finished"}` or
/// `{type: "stopped"}`. An upload's body is either `blob` (a `Blob` or
/// `File`, sent as slices) or `zip`, a `PreparedZip` from `prepareStudy`,
/// sent as the widget's pipeline sends a study: each PATCH body is the
/// prepared study's byte range as a `Blob` built from its parts. A `zip` is
/// taken over: its JS object is empty afterwards (`length` and the other
/// getters throw), so read what you need from it before. Internal: for tests
/// and benchmarks.
#[wasm_bindgen(js_name = startTusUploads)]
pub fn start_tus_uploads(options: JsValue, on_event: JsValue) -> Result<TusRun, JsValue> {
    let parsed: Options = serde_wasm_bindgen::from_value(options.clone())
        .map_err(|e| error(&format!("bad options: {e}")))?;
    let list = js_sys::Reflect::get(&options, &JsValue::from_str("uploads"))
        .ok()
        .and_then(|v| v.dyn_into::<Array>().ok())
        .ok_or_else(|| error("options.uploads must be an array"))?;
    let mut uploads = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let field = |name: &str| js_sys::Reflect::get(&entry, &JsValue::from_str(name)).ok();
        let body: Rc<dyn BodySource> = match field("zip").filter(|z| !z.is_undefined()) {
            Some(zip) => Rc::new(
                PreparedZip::try_from_js_value_ref(&zip)
                    .ok_or_else(|| {
                        error(&format!(
                            "uploads[{i}].zip must be a PreparedZip from prepareStudy (not one already handed to startTusUploads)"
                        ))
                    })?
                    .into_inner(),
            ),
            None => Rc::new(
                field("blob")
                    .and_then(|b| b.dyn_into::<web_sys::Blob>().ok())
                    .ok_or_else(|| {
                        error(&format!("uploads[{i}] needs a blob (Blob or File) or a zip (PreparedZip)"))
                    })?,
            ),
        };
        let length = body.len();
        let mut spec = UploadSpec::new(parsed.endpoint.clone(), parsed.token.clone(), length);
        if let Some(metadata) = field("metadata").filter(|m| m.is_object()) {
            for pair in Object::entries(metadata.unchecked_ref()).iter() {
                let pair: Array = pair.unchecked_into();
                if let (Some(key), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string())
                {
                    spec = spec.with_metadata(key, value);
                }
            }
        }
        uploads.push(DriverUpload {
            spec,
            body,
            fingerprint: field("fingerprint").and_then(|f| f.as_string()),
        });
    }
    let mut tus = TusConfig::default();
    if let Some(chunk) = parsed.chunk_size {
        tus.chunk_size = chunk;
    }
    if let Some(delays) = parsed.retry_delays_ms {
        tus.retry_delays_ms = delays;
    }
    if let Some(stall) = parsed.stall_timeout_ms {
        tus.stall_timeout_ms = stall;
    }
    let config = DriverConfig {
        tus,
        concurrency: parsed
            .concurrency
            .unwrap_or(DriverConfig::default().concurrency),
    };
    let namespace = parsed
        .namespace
        .unwrap_or_else(|| LocalStorageFingerprintStore::DEFAULT_NAMESPACE.to_owned());
    let store: Box<dyn FingerprintStore> = match parsed.store.as_deref() {
        None | Some("localStorage") => Box::new(LocalStorageFingerprintStore::new(&namespace)),
        Some("memory") => Box::new(MemoryFingerprintStore::new()),
        Some(other) => {
            return Err(error(&format!(
                "options.store must be \"localStorage\" or \"memory\", not {other:?}"
            )))
        }
    };
    let outcomes = Rc::new(RefCell::new(vec![Value::Null; list.length() as usize]));
    let callback = on_event.dyn_into::<js_sys::Function>().ok();
    let recorded = Rc::clone(&outcomes);
    let driver = TusDriver::start(config, uploads, store, move |event| {
        let value = event_json(event);
        if let DriverEvent::Upload { key, event } = event {
            let outcome = match event {
                TusEvent::Completed { url } => Some(json!({"state": "completed", "url": url})),
                TusEvent::Failed(e) => Some(json!({"state": "failed", "error": e.to_string()})),
                TusEvent::Terminated { deleted } => {
                    Some(json!({"state": "terminated", "deleted": deleted}))
                }
                _ => None,
            };
            if let (Some(outcome), Some(slot)) = (outcome, recorded.borrow_mut().get_mut(key.0)) {
                *slot = outcome;
            }
        }
        if let Some(callback) = &callback {
            // A throwing callback must not stop the uploads.
            let _ = callback.call1(&JsValue::NULL, &js_value(&value));
        }
    })
    .map_err(|e| error(&e.to_string()))?;
    Ok(TusRun { driver, outcomes })
}

fn event_json(event: &DriverEvent) -> Value {
    match event {
        DriverEvent::Upload { key, event } => {
            let mut value = match event {
                TusEvent::Created { url } => json!({"type": "created", "url": url}),
                TusEvent::Progress(p) => json!({
                    "type": "progress",
                    "acknowledged": p.acknowledged,
                    "inFlight": p.in_flight,
                    "total": p.total,
                    "bytesPerSecond": p.bytes_per_second,
                    "etaMs": p.eta_ms,
                }),
                TusEvent::Retrying { in_ms, .. } => json!({"type": "retrying", "inMs": in_ms}),
                TusEvent::Completed { url } => json!({"type": "completed", "url": url}),
                TusEvent::Failed(_) => json!({"type": "failed"}),
                TusEvent::Terminated { deleted } => {
                    json!({"type": "terminated", "deleted": deleted})
                }
            };
            if let Some(object) = value.as_object_mut() {
                object.insert("upload".to_owned(), json!(key.0));
                object.insert("message".to_owned(), json!(describe_event(event)));
            }
            value
        }
        DriverEvent::Overall(p) => json!({
            "type": "overall",
            "acknowledged": p.acknowledged,
            "inFlight": p.in_flight,
            "total": p.total,
            "bytesPerSecond": p.bytes_per_second,
            "etaMs": p.eta_ms,
        }),
        DriverEvent::Finished => json!({"type": "finished"}),
        DriverEvent::Stopped => json!({"type": "stopped"}),
    }
}

/// A run of `startTusUploads`. Internal: for tests and benchmarks.
#[wasm_bindgen]
pub struct TusRun {
    driver: TusDriver,
    outcomes: Rc<RefCell<Vec<Value>>>,
}

#[wasm_bindgen]
impl TusRun {
    /// Cancels every upload (DELETE on the server).
    pub fn cancel(&self) {
        self.driver.cancel();
    }

    /// Abandons every upload as a page unload would (no DELETE; the stored
    /// URLs stay for a resume).
    pub fn stop(&self) {
        self.driver.stop();
    }

    /// The driver's state in one line, for diagnosing a run that hangs.
    pub fn diagnostics(&self) -> String {
        self.driver.diagnostics()
    }

    /// Resolves after the last event to `[{state: "completed", url} |
    /// {state: "failed", error} | {state: "terminated", deleted} | null]`,
    /// one per upload (`null`: stopped before it ended).
    pub fn done(&self) -> Promise {
        let outcomes = Rc::clone(&self.outcomes);
        let done = self.driver.done();
        wasm_bindgen_futures::future_to_promise(async move {
            wasm_bindgen_futures::JsFuture::from(done).await?;
            let list = Value::Array(outcomes.borrow().clone());
            Ok(js_value(&list))
        })
    }
}
