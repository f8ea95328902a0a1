//! The state objects of `onStateChange` and the `state` getter, as JS
//! values: the published fields and auraloader's extras of a
//! [`Snapshot`] (`auraloader_core::session::published`), and the arrays
//! (`studies`, `skipped`, `warnings`) shared between objects until they
//! change, as the published widget's shallow copies share theirs.

use std::rc::Rc;

use auraloader_core::patient::PatientWarning;
use auraloader_core::session::published::Snapshot;
use auraloader_core::session::state::{SkippedRow, State};
use auraloader_core::study::StudyInfo;
use js_sys::{Object, Reflect};
use serde::Serialize;
use wasm_bindgen::JsValue;

/// One of the shared arrays, with the Rust value it was made from.
struct Cached<T> {
    source: T,
    value: JsValue,
}

/// Builds state objects, reusing the arrays while they are unchanged.
#[derive(Default)]
pub struct StateObjects {
    studies: Option<Cached<Rc<Vec<StudyInfo>>>>,
    skipped: Option<Cached<Rc<Vec<SkippedRow>>>>,
    warnings: Option<Cached<Vec<PatientWarning>>>,
}

impl std::fmt::Debug for StateObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateObjects")
    }
}

impl StateObjects {
    /// A fresh state object for `state` with `snapshot`'s fields.
    pub fn object(&mut self, state: &State, snapshot: &Snapshot) -> JsValue {
        let object = Object::new();
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        // Field order as the published widget's; `studies` after
        // `seriesCount`, as there.
        let published = &snapshot.published;
        let set = |key: &str, value: JsValue| {
            let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
        };
        set("step", JsValue::from_str(published.step));
        set("totalFiles", JsValue::from(published.total_files as f64));
        set(
            "studiesCount",
            JsValue::from(published.studies_count as f64),
        );
        set("seriesCount", JsValue::from(published.series_count as f64));
        set("studies", self.studies(&state.infos));
        set("complete", JsValue::from_bool(published.complete));
        set("studyId", JsValue::from_str(&published.study_id));
        set("zipping", JsValue::from_bool(published.zipping));
        set("errorMessage", JsValue::from_str(&published.error_message));
        set(
            "connectionIssues",
            JsValue::from_bool(published.connection_issues),
        );
        if let Ok(extras) = snapshot.extras.serialize(&serializer) {
            let _ = Object::assign(&object, &Object::from(extras));
        }
        set("skipped", self.skipped(&state.skipped));
        set("warnings", self.warnings(&state.warnings));
        object.into()
    }

    fn studies(&mut self, infos: &Rc<Vec<StudyInfo>>) -> JsValue {
        cached(&mut self.studies, infos, |a, b| Rc::ptr_eq(a, b) || a == b)
    }

    fn skipped(&mut self, skipped: &Rc<Vec<SkippedRow>>) -> JsValue {
        cached(&mut self.skipped, skipped, |a, b| {
            Rc::ptr_eq(a, b) || a == b
        })
    }

    fn warnings(&mut self, warnings: &[PatientWarning]) -> JsValue {
        let owned = warnings.to_vec();
        cached(&mut self.warnings, &owned, |a, b| a == b)
    }
}

/// The JS array of `source`, from `slot` when it was made from an equal value.
fn cached<T, S>(slot: &mut Option<Cached<T>>, source: &T, same: impl Fn(&T, &T) -> bool) -> JsValue
where
    T: Clone + std::ops::Deref<Target = S>,
    S: Serialize + ?Sized,
{
    if let Some(cached) = slot.as_ref() {
        if same(&cached.source, source) {
            return cached.value.clone();
        }
    }
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let value = (**source)
        .serialize(&serializer)
        .unwrap_or_else(|_| js_sys::Array::new().into());
    *slot = Some(Cached {
        source: source.clone(),
        value: value.clone(),
    });
    value
}
