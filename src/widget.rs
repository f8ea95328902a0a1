//! `StandaloneAuraloader` as wasm sees it. The published JS class of the same
//! name (in `www/js/facade.js`) wraps this one: it validates the constructor's
//! config synchronously (the wasm module may still be loading then) and calls
//! these methods once the module is ready. Each method is a few lines into
//! [`crate::session`].

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::files::relative_path;
use crate::browser::scan::DroppedFile;
use crate::pipeline::UploadPipeline;
use crate::session::{js_error, Session};

/// The widget instance behind the JS `StandaloneAuraloader`.
#[wasm_bindgen]
pub struct StandaloneAuraloader {
    session: Rc<Session>,
}

#[wasm_bindgen]
impl StandaloneAuraloader {
    /// Takes the host page's config object (already validated by the JS class).
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<StandaloneAuraloader, JsValue> {
        Ok(Self {
            session: Rc::new(Session::new(config)?),
        })
    }

    /// Checks that the container exists and fetches `GET /uploader/config`.
    pub fn init(&self) -> js_sys::Promise {
        let session = Rc::clone(&self.session);
        wasm_bindgen_futures::future_to_promise(async move {
            session.init().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Renders the widget into its container; fails before `init()`.
    pub fn mount(&self) -> Result<(), JsValue> {
        self.session.mount()
    }

    /// Whether the UI is currently rendered.
    #[wasm_bindgen(getter, js_name = isMounted)]
    pub fn is_mounted(&self) -> bool {
        self.session.is_mounted()
    }

    /// The current state object (the published `UploaderState`: `step`,
    /// `totalFiles`, …, and auraloader's extras), a fresh copy.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> JsValue {
        self.session.state_object()
    }

    /// Scans `files` (an array of `File`s) as if they were dropped; resolves
    /// when the studies are listed.
    #[wasm_bindgen(js_name = addFiles)]
    pub fn add_files(&self, files: JsValue) -> js_sys::Promise {
        let session = Rc::clone(&self.session);
        wasm_bindgen_futures::future_to_promise(async move {
            let files = dropped_files(files)?;
            session.add_files(files).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Uploads the studies listed; resolves when the upload is over (its
    /// failures go to `onUploadError`); rejects when there is nothing to
    /// upload or an upload is running.
    pub fn upload(&self) -> js_sys::Promise {
        let session = Rc::clone(&self.session);
        wasm_bindgen_futures::future_to_promise(async move {
            session.upload().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Cancels the scan or the upload; does nothing in other steps.
    pub fn cancel(&self) {
        self.session.cancel();
    }

    /// Returns to the start step.
    pub fn reset(&self) {
        self.session.reset();
    }

    /// Removes a study (by Study Instance UID) before the upload.
    #[wasm_bindgen(js_name = removeStudy)]
    pub fn remove_study(&self, study_instance_uid: &str) -> Result<(), JsValue> {
        self.session.remove_study(study_instance_uid)
    }

    /// Unmounts the UI, aborts every request and releases the files.
    pub fn destroy(&self) {
        self.session.destroy();
    }
}

impl StandaloneAuraloader {
    /// Replaces the upload pipeline (tests, and the zip + tus pipeline).
    pub fn set_pipeline(&self, pipeline: Rc<dyn UploadPipeline>) {
        self.session.set_pipeline(pipeline);
    }

    /// Scans `files` as if dropped (tests).
    pub async fn add_dropped_files(&self, files: Vec<DroppedFile>) -> Result<(), JsValue> {
        self.session.add_files(files).await
    }

    /// The shadow root the UI renders into, while mounted (tests).
    pub fn shadow_root(&self) -> Option<web_sys::ShadowRoot> {
        self.session.shadow_root()
    }
}

/// The `File`s of a JS array (or `FileList`).
fn dropped_files(files: JsValue) -> Result<Vec<DroppedFile>, JsValue> {
    let array = Array::from(&files);
    array
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let file = value.dyn_into::<web_sys::File>().map_err(|_| {
                js_error(
                    "addFiles",
                    "invalid_argument",
                    &format!("addFiles: files[{i}] is not a File"),
                    None,
                )
            })?;
            let path = relative_path(&file);
            Ok(DroppedFile {
                blob: file.into(),
                path,
            })
        })
        .collect()
}
