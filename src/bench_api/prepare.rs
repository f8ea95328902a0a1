//! `prepareStudy(files, names, methods, options)`: a study's zip prepared
//! for upload, for the benchmark page and tests. An internal API (not in the
//! published `StandaloneAuraloader` surface): a few lines into
//! [`crate::browser::prepare`].

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::prepare::{
    prepare_study, CancelToken, PrepareFile, PrepareProgress, PreparedStudy,
};
use crate::browser::worker::{Engine, WORKER_SCRIPT};
use auraloader_core::zip::Method;

/// A prepared study archive: its exact `length` and any byte range as a `Blob`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct PreparedZip {
    inner: PreparedStudy,
}

impl PreparedZip {
    /// The prepared study, as the widget's upload pipeline sends it (its
    /// byte ranges as `Blob`s built from parts, see [`PreparedStudy::blob`]).
    pub(crate) fn into_inner(self) -> PreparedStudy {
        self.inner
    }
}

#[wasm_bindgen]
impl PreparedZip {
    /// The archive's exact length in bytes.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> f64 {
        self.inner.len() as f64
    }

    /// Bytes `start..end` of the archive, as a `Blob` built from parts.
    pub fn blob(&self, start: f64, end: f64) -> Result<web_sys::Blob, JsValue> {
        if !(start >= 0.0 && end >= start) {
            return Err(JsError::new(&format!("bad byte range {start}..{end}")).into());
        }
        self.inner.blob(start as u64, end as u64)
    }

    /// Workers that prepared it (0: the main thread).
    #[wasm_bindgen(getter)]
    pub fn workers(&self) -> usize {
        self.inner.stats().workers
    }

    /// The largest wasm memory a worker had, in bytes (0 without workers).
    #[wasm_bindgen(getter, js_name = workerPeakMemory)]
    pub fn worker_peak_memory(&self) -> f64 {
        self.inner.stats().worker_peak_memory
    }
}

/// Prepares the archive of `files` (`Blob`s) named `names[i]`, each
/// `"stored"` or `"deflated"` (`methods[i]`). `options.workers`: absent for
/// the page's shared workers, 0 for the main thread, N for N new workers;
/// `options.onProgress({bytes, total})` reports progress.
#[wasm_bindgen(js_name = prepareStudy)]
pub async fn prepare_study_js(
    files: Array,
    names: Array,
    methods: Array,
    options: JsValue,
) -> Result<PreparedZip, JsValue> {
    let mut prepare = Vec::with_capacity(files.length() as usize);
    for i in 0..files.length() {
        let blob = files
            .get(i)
            .dyn_into::<web_sys::Blob>()
            .map_err(|_| JsError::new(&format!("prepareStudy: files[{i}] is not a Blob")))?;
        let name = names
            .get(i)
            .as_string()
            .ok_or_else(|| JsError::new(&format!("prepareStudy: names[{i}] is not a string")))?;
        let method = match methods.get(i).as_string().as_deref() {
            Some("stored") => Method::Stored,
            Some("deflated") => Method::Deflated,
            _ => {
                return Err(JsError::new(&format!(
                    "prepareStudy: methods[{i}] must be \"stored\" or \"deflated\""
                ))
                .into())
            }
        };
        prepare.push(PrepareFile { blob, name, method });
    }
    let option = |key: &str| {
        if options.is_object() {
            Reflect::get(&options, &key.into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    };
    let engine = match option("workers").as_f64() {
        None => Engine::shared().await,
        Some(n) => Engine::start(n.max(0.0) as usize, WORKER_SCRIPT).await,
    };
    let callback = option("onProgress").dyn_into::<js_sys::Function>().ok();
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let mut report = |progress: PrepareProgress| {
        if let Some(callback) = &callback {
            if let Ok(value) = serde::Serialize::serialize(&progress, &serializer) {
                let _ = callback.call1(&JsValue::NULL, &value);
            }
        }
    };
    let inner = prepare_study(prepare, &engine, &mut report, &CancelToken::new()).await?;
    Ok(PreparedZip { inner })
}
