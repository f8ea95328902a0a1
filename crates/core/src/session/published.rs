//! The published `UploaderState` object's fields (`docs/spec/API.md`, "The
//! widget's JavaScript surface"), computed from the session's [`State`]: what
//! the widget's `onStateChange` receives and the CLI's `--json` prints.
//!
//! Its fields are those of the published widget, with its values, plus
//! auraloader's extras (bytes, speed, time left, per-study progress, scan
//! progress, the error's code; the arrays `studies`, `skipped` and
//! `warnings` come from the state as they are). A shell gives its user a
//! new state object when [`due`] says so: at once when a published field
//! changed, at most every [`EXTRAS_EVERY_MS`] when only the extras'
//! counters did (and the last one always).

use serde::Serialize;

use super::state::{State, StudyPhase};

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
        let uploading = state.step == super::state::Step::Uploading;
        let failure = state
            .failure
            .as_ref()
            .filter(|_| state.step == super::state::Step::Error);
        Self {
            published: Published {
                step: state.step.published(),
                total_files: state.studies.iter().map(|s| s.images).sum(),
                studies_count: state.studies.len() as u64,
                series_count: state.studies.iter().map(|s| s.series).sum(),
                complete: state.step == super::state::Step::Complete,
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
    use crate::session::state::{Action, Failure, ScanCounts, Step, StudyRow};

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
