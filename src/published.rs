//! The published `UploaderState` object: what `onStateChange` receives and
//! the `state` getter returns (`docs/spec/API.md`, "The widget's JavaScript
//! surface"), computed from the widget's [`State`].
//!
//! Its fields are those of the published widget, with its values, plus
//! auraloader's extras (bytes, speed, time left, per-study progress, scan
//! progress, skipped files, patient warnings, the error's code). The host
//! page gets a fresh object on every change: the published fields' changes
//! at once, changes that touch only the extras' counters at most every
//! [`EXTRAS_EVERY_MS`] (the last one always arrives). The arrays (`studies`,
//! `skipped`, `warnings`) are shared between the objects until they change,
//! as the published widget's shallow copies share theirs.

use std::rc::Rc;

use auraloader_core::patient::PatientWarning;
use auraloader_core::study::StudyInfo;
use js_sys::{Object, Reflect};
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::ui::state::{SkippedRow, State, StudyPhase};

/// Least time between two state objects that differ only in their extras'
/// counters (bytes, speed, scan counts), in milliseconds.
pub const EXTRAS_EVERY_MS: f64 = 250.0;

/// The published fields (`UploaderState` of `@aurabx/standalone-uploader`),
/// without `studies`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    /// `start`, `processing`, `pending`, `uploading`, `complete`, `error`,
    /// `cancelled`.
    pub step: &'static str,
    /// DICOM files of the studies to upload.
    pub total_files: u64,
    /// Studies to upload.
    pub studies_count: u64,
    /// Series of those studies.
    pub series_count: u64,
    /// True once the upload finished.
    pub complete: bool,
    /// The server's id of the last study of `upload/init`, else `""`.
    pub study_id: String,
    /// True while a study's zip is being prepared.
    pub zipping: bool,
    /// The error step's message, else `""`.
    pub error_message: String,
    /// True while a lost connection is being retried.
    pub connection_issues: bool,
}

/// auraloader's extra fields, besides the arrays.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Extras {
    /// Scan progress: files read, files in the drop, files skipped so far.
    pub scan: ScanExtra,
    /// Bytes that left the browser (acknowledged plus on the wire).
    pub bytes_sent: u64,
    /// Bytes to send (the files' sizes until each zip's exact length is known).
    pub bytes_total: u64,
    /// Recent throughput, once measured.
    pub bytes_per_second: Option<f64>,
    /// Estimated seconds left, once measured.
    pub seconds_left: Option<f64>,
    /// Seconds until the next attempt while the connection is lost.
    pub retry_in_seconds: Option<u32>,
    /// One entry per study being uploaded, in table order.
    pub uploads: Vec<UploadExtra>,
    /// The error's code (`AuraloaderError.code`) in the error step, else `""`.
    pub error_code: String,
}

/// `state.scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScanExtra {
    /// Files read so far.
    pub scanned: u64,
    /// Files in the drop.
    pub total: u64,
    /// Files skipped so far.
    pub skipped: u64,
}

/// One entry of `state.uploads`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadExtra {
    /// Study Instance UID.
    pub study_uid: String,
    /// `waiting`, `preparing`, `sending`, `done` or `failed`.
    pub status: &'static str,
    /// Bytes that left the browser.
    pub bytes_sent: u64,
    /// Bytes to send.
    pub bytes_total: u64,
}

/// The state object's scalar fields, from the widget's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The published fields.
    pub published: Published,
    /// The extras.
    pub extras: Extras,
}

impl Snapshot {
    /// The fields of `state`.
    pub fn of(state: &State) -> Self {
        let upload = &state.upload;
        let uploading = state.step == crate::ui::Step::Uploading;
        let failure = state
            .failure
            .as_ref()
            .filter(|_| state.step == crate::ui::Step::Error);
        Self {
            published: Published {
                step: state.step.published(),
                total_files: state.studies.iter().map(|s| s.images).sum(),
                studies_count: state.studies.len() as u64,
                series_count: state.studies.iter().map(|s| s.series).sum(),
                complete: state.step == crate::ui::Step::Complete,
                study_id: state.study_id.clone(),
                zipping: uploading && upload.zipping(),
                error_message: failure.map(|f| f.message.clone()).unwrap_or_default(),
                connection_issues: uploading && upload.retry_in_seconds.is_some(),
            },
            extras: Extras {
                scan: ScanExtra {
                    scanned: state.scan.scanned,
                    total: state.scan.total,
                    skipped: state.scan.skipped,
                },
                bytes_sent: upload.shown(),
                bytes_total: upload.total(),
                bytes_per_second: upload.bytes_per_second.filter(|_| uploading),
                seconds_left: upload.seconds_left.filter(|_| uploading),
                retry_in_seconds: upload.retry_in_seconds.filter(|_| uploading),
                uploads: upload
                    .studies
                    .iter()
                    .map(|s| UploadExtra {
                        study_uid: s.uid.clone(),
                        status: phase_name(s.phase),
                        bytes_sent: s.shown(),
                        bytes_total: s.total,
                    })
                    .collect(),
                error_code: failure.map(|f| f.code.clone()).unwrap_or_default(),
            },
        }
    }
}

/// `state.uploads[].status`.
fn phase_name(phase: StudyPhase) -> &'static str {
    match phase {
        StudyPhase::Waiting => "waiting",
        StudyPhase::Preparing => "preparing",
        StudyPhase::Sending => "sending",
        StudyPhase::Done => "done",
        StudyPhase::Failed => "failed",
    }
}

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

/// Whether a new state object is due: `now` and the last object's time and
/// fields decide. Published fields that changed are due at once; extras
/// alone after [`EXTRAS_EVERY_MS`]. `Some(ms)` asks to look again in `ms`.
pub fn due(last: Option<(&Snapshot, f64)>, next: &Snapshot, now: f64) -> Due {
    match last {
        None => Due::Now,
        Some((last, _)) if last.published != next.published => Due::Now,
        Some((last, _)) if last.extras == next.extras => Due::Never,
        Some((_, at)) if now - at >= EXTRAS_EVERY_MS => Due::Now,
        Some((_, at)) => Due::In(EXTRAS_EVERY_MS - (now - at)),
    }
}

/// When the next state object goes to the host page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Due {
    /// Now.
    Now,
    /// Nothing changed.
    Never,
    /// After this many milliseconds, if nothing else is due first.
    In(f64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::state::{Action, Failure, ScanCounts, StudyRow};
    use crate::ui::Step;

    fn row(uid: &str, series: u64, images: u64) -> StudyRow {
        StudyRow {
            uid: uid.to_owned(),
            patient_name: String::new(),
            birth_date: String::new(),
            study_date: String::new(),
            description: String::new(),
            modalities: vec!["CT".to_owned()],
            series,
            images,
            bytes: 1000,
        }
    }

    fn uploading() -> State {
        let mut state = State::default();
        state.reduce(Action::ScanStarted { total: 30 });
        state.reduce(Action::ScanFinished {
            studies: vec![row("a", 2, 10), row("b", 1, 15)],
            infos: Vec::new(),
            skipped: Vec::new(),
            warnings: Vec::new(),
        });
        state.reduce(Action::UploadStarted);
        state
    }

    #[test]
    fn the_start_state_has_the_published_initial_values() {
        let snapshot = Snapshot::of(&State::default());
        assert_eq!(
            snapshot.published,
            Published {
                step: "start",
                total_files: 0,
                studies_count: 0,
                series_count: 0,
                complete: false,
                study_id: String::new(),
                zipping: false,
                error_message: String::new(),
                connection_issues: false,
            }
        );
    }

    #[test]
    fn counts_follow_the_studies_left_in_the_review() {
        let mut state = State::default();
        state.reduce(Action::ScanStarted { total: 30 });
        state.reduce(Action::ScanFinished {
            studies: vec![row("a", 2, 10), row("b", 1, 15)],
            infos: Vec::new(),
            skipped: Vec::new(),
            warnings: Vec::new(),
        });
        let p = Snapshot::of(&state).published;
        assert_eq!(
            (p.step, p.total_files, p.studies_count, p.series_count),
            ("pending", 25, 2, 3)
        );
        state.reduce(Action::RemoveStudy("a".to_owned()));
        let p = Snapshot::of(&state).published;
        assert_eq!((p.total_files, p.studies_count, p.series_count), (15, 1, 1));
    }

    #[test]
    fn upload_fields_follow_init_zipping_retries_and_the_end() {
        let mut state = uploading();
        assert_eq!(Snapshot::of(&state).published.study_id, "");
        state.reduce(Action::Initialised {
            study_id: "srv-2".to_owned(),
        });
        state.reduce(Action::StudyPreparing("a".to_owned()));
        let p = Snapshot::of(&state).published;
        assert_eq!((p.study_id.as_str(), p.zipping), ("srv-2", true));
        state.reduce(Action::StudyPrepared {
            uid: "a".to_owned(),
            bytes: 900,
        });
        assert!(!Snapshot::of(&state).published.zipping);
        state.reduce(Action::Retrying { in_seconds: 3 });
        let snapshot = Snapshot::of(&state);
        assert!(snapshot.published.connection_issues);
        assert_eq!(snapshot.extras.retry_in_seconds, Some(3));
        state.reduce(Action::StudyProgressed {
            uid: "a".to_owned(),
            sent: 100,
            in_flight: 0,
        });
        let snapshot = Snapshot::of(&state);
        assert!(!snapshot.published.connection_issues, "bytes flow again");
        assert_eq!(snapshot.extras.bytes_sent, 100);
        assert_eq!(snapshot.extras.uploads[0].status, "sending");
        state.reduce(Action::UploadComplete);
        let p = Snapshot::of(&state).published;
        assert_eq!((p.step, p.complete, p.zipping), ("complete", true, false));
    }

    #[test]
    fn the_error_step_carries_its_message_and_code() {
        let mut state = uploading();
        state.reduce(Action::Failed(Failure::new(
            "network_error",
            "The connection was lost",
            None,
        )));
        let snapshot = Snapshot::of(&state);
        assert_eq!(snapshot.published.step, "error");
        assert_eq!(snapshot.published.error_message, "The connection was lost");
        assert_eq!(snapshot.extras.error_code, "network_error");
        state.reduce(Action::Reset);
        assert_eq!(Snapshot::of(&state).published.error_message, "");
    }

    #[test]
    fn published_changes_are_due_at_once_and_counters_at_most_every_quarter_second() {
        let mut state = State::default();
        state.reduce(Action::ScanStarted { total: 10 });
        let first = Snapshot::of(&state);
        assert_eq!(due(None, &first, 0.0), Due::Now);
        assert_eq!(due(Some((&first, 0.0)), &first, 10.0), Due::Never);
        state.reduce(Action::ScanProgressed(ScanCounts {
            scanned: 5,
            total: 10,
            skipped: 0,
        }));
        let counted = Snapshot::of(&state);
        assert_eq!(
            due(Some((&first, 0.0)), &counted, 100.0),
            Due::In(150.0),
            "extras alone wait for their time"
        );
        assert_eq!(due(Some((&first, 0.0)), &counted, 250.0), Due::Now);
        state.reduce(Action::Failed(Failure::new(
            "scan_failed",
            "unreadable",
            None,
        )));
        let failed = Snapshot::of(&state);
        assert_eq!(failed.published.step, Step::Error.published());
        assert_eq!(
            due(Some((&counted, 0.0)), &failed, 1.0),
            Due::Now,
            "a step change never waits"
        );
    }
}
