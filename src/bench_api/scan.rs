//! `scanFiles(files, paths, onProgress)`: the scan of dropped files, for the
//! UI and the benchmark page (and `scanFilesWith`, which can keep the reads
//! on the main thread or shape them otherwise, and `warmScan`, what `mount()`
//! runs to get the scan ready). An internal API (not in the published
//! `StandaloneAuraloader` surface): a few lines into [`crate::browser::scan`].

use auraloader_core::scan::{ScanRules, SkipReason};
use auraloader_core::study::StudyInfo;
use js_sys::Array;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::scan::{
    scan_tuned, DroppedFile, DroppedFiles, ScanOutcome, ScanProgress, ScanTuning,
};
use crate::browser::worker::Engine;

/// The result of `scanFiles`, as JSON-compatible JS values.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    /// Studies found, as the `StudyInfo` of spec/API.md, sorted by date,
    /// time and UID.
    pub studies: Vec<StudyInfo>,
    /// Files not uploaded, in the order given (duplicates last).
    pub skipped: Vec<SkippedReport>,
    /// Files scanned.
    pub files: u64,
    /// Bytes read from all files together (headers only).
    pub bytes_read: u64,
    /// Sizes of all files together.
    pub bytes_total: u64,
}

/// One skipped file in a [`ScanReport`].
#[derive(Debug, Clone, Serialize)]
pub struct SkippedReport {
    /// The path given for the file.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Why it is skipped: `{"kind": "not_dicom", "why": "…"}` and so on.
    pub reason: SkipReason,
    /// The reason as a sentence for the user.
    pub message: String,
}

impl From<&ScanOutcome> for ScanReport {
    fn from(outcome: &ScanOutcome) -> Self {
        Self {
            studies: outcome.grouping.studies.iter().map(|s| s.info()).collect(),
            skipped: outcome
                .grouping
                .skipped
                .iter()
                .map(|s| SkippedReport {
                    path: s.key.path.clone(),
                    size: s.key.size,
                    reason: s.reason.clone(),
                    message: s.reason.to_string(),
                })
                .collect(),
            files: outcome.files,
            bytes_read: outcome.bytes_read,
            bytes_total: outcome.bytes_total,
        }
    }
}

/// Scans `files` (an array of `File` or `Blob`) into studies. `paths[i]`
/// names file `i` (a relative path); when absent, the file's
/// `webkitRelativePath` or `name` is used. `onProgress`, if a function, is
/// called with `{scanned, total, skipped}` as the scan goes. Resolves to a
/// [`ScanReport`]; rejects if an entry of `files` is not a `Blob` (found when
/// the scan reaches it).
#[wasm_bindgen(js_name = scanFiles)]
pub async fn scan_files(
    files: Array,
    paths: JsValue,
    on_progress: JsValue,
) -> Result<JsValue, JsValue> {
    scan_files_with(files, paths, on_progress, JsValue::UNDEFINED).await
}

/// `scanFiles` with `options` (for the benchmark): `workers: 0` reads on the
/// main thread instead of the page's shared Web Workers; `batch` (files per
/// head-read request), `inFlight` (requests in flight per worker, or on the
/// main thread) and `firstRead` (bytes of each file's first read) replace the
/// defaults of [`ScanTuning`].
#[wasm_bindgen(js_name = scanFilesWith)]
pub async fn scan_files_with(
    files: Array,
    paths: JsValue,
    on_progress: JsValue,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let option = |name: &str| {
        options
            .is_object()
            .then(|| js_sys::Reflect::get(&options, &name.into()).ok())
            .flatten()
            .and_then(|v| v.as_f64())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let main_thread = option("workers") == Some(0.0);
    let defaults = ScanTuning::default();
    let tuning = ScanTuning {
        batch: option("batch").map_or(defaults.batch, |v| v as usize),
        in_flight: option("inFlight").map_or(defaults.in_flight, |v| v as usize),
        first_read: option("firstRead").map_or(defaults.first_read, |v| v as u64),
    };
    let engine = if main_thread {
        Engine::MainThread
    } else {
        Engine::shared().await
    };
    let files = JsFiles {
        files,
        paths: paths.dyn_into::<Array>().ok(),
    };
    let callback = on_progress.dyn_into::<js_sys::Function>().ok();
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let mut report_progress = |progress: ScanProgress| {
        if let (Some(callback), Ok(value)) = (&callback, progress.serialize(&serializer)) {
            // A throwing callback must not stop the scan.
            let _ = callback.call1(&JsValue::NULL, &value);
        }
    };
    let outcome = scan_tuned(
        &engine,
        &files,
        &ScanRules::default(),
        tuning,
        &mut report_progress,
    )
    .await?;
    ScanReport::from(&outcome)
        .serialize(&serializer)
        .map_err(|e| JsError::new(&format!("cannot build the scan report: {e}")).into())
}

/// `warmScan()`: what `mount()` runs to get the scan ready (starts the Web
/// Workers, scans one tiny in-memory file so the browser compiles the scan
/// code); resolves to whether that scan worked. For the benchmark, which has
/// no mounted widget.
#[wasm_bindgen(js_name = warmScan)]
pub async fn warm_scan() -> bool {
    crate::browser::scan::warm_up().await
}

/// `scanTuning()`: how `scanFiles` shapes its head reads by default,
/// `{batch, inFlight, firstRead, workers}` (`workers`: how many the shared
/// pool runs here, 0 without workers; starts it if needed), so the
/// benchmark's floors read the same way.
#[wasm_bindgen(js_name = scanTuning)]
pub async fn scan_tuning() -> JsValue {
    let tuning = ScanTuning::default();
    let workers = Engine::shared().await.pool().map_or(0, |pool| pool.size());
    let value = serde_json::json!({
        "batch": tuning.batch,
        "inFlight": tuning.in_flight,
        "firstRead": tuning.first_read,
        "workers": workers,
    });
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// The JS arrays of `scanFiles`, read one entry at a time.
struct JsFiles {
    files: Array,
    paths: Option<Array>,
}

impl DroppedFiles for JsFiles {
    fn count(&self) -> usize {
        self.files.length() as usize
    }

    fn file(&self, index: usize) -> Result<DroppedFile, JsValue> {
        let i = u32::try_from(index).unwrap_or(u32::MAX);
        let blob = self.files.get(i).dyn_into::<web_sys::Blob>().map_err(|_| {
            JsValue::from(JsError::new(&format!(
                "scanFiles: files[{index}] is not a File or Blob"
            )))
        })?;
        let given = self
            .paths
            .as_ref()
            .and_then(|p| p.get(i).as_string())
            .filter(|p| !p.is_empty());
        let path = given.unwrap_or_else(|| match blob.dyn_ref::<web_sys::File>() {
            Some(file) => js_sys::Reflect::get(file, &JsValue::from_str("webkitRelativePath"))
                .ok()
                .and_then(|p| p.as_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| file.name()),
            None => format!("file-{index}"),
        });
        Ok(DroppedFile { blob, path })
    }
}
