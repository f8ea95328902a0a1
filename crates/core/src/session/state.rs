//! The upload session's state and its reducer: every step of the published
//! widget (`start` → `processing` → `pending` → `uploading` → `complete` /
//! `error` / `cancelled`) and what each shows. Plain data: the
//! [`UploadSession`](super::UploadSession) feeds it [`Action`]s from the
//! scan, the Aura API, the preparation and the transfers; the widget renders
//! it and the CLI prints it.

use std::rc::Rc;

use crate::patient::PatientWarning;
use crate::study::{Grouping, Study, StudyInfo};

/// The widget's step, named as `onStateChange` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Step {
    /// Waiting for files: the drop zone.
    #[default]
    Idle,
    /// Reading the files' headers.
    Processing,
    /// Studies found, waiting for Upload.
    Pending,
    /// Sending the studies.
    Uploading,
    /// Every study is uploaded.
    Complete,
    /// The scan or the upload failed.
    Error,
    /// The user cancelled.
    Cancelled,
}

impl Step {
    /// The `UploaderStep` of the published widget (`state.step`).
    pub fn published(self) -> &'static str {
        match self {
            Self::Idle => "start",
            Self::Processing => "processing",
            Self::Pending => "pending",
            Self::Uploading => "uploading",
            Self::Complete => "complete",
            Self::Error => "error",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One row of the studies table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyRow {
    /// Study Instance UID (the key of `removeStudy`).
    pub uid: String,
    /// Patient's name, given names first.
    pub patient_name: String,
    /// Birth date, `YYYY-MM-DD` when stored as a DICOM date.
    pub birth_date: String,
    /// Study date, `YYYY-MM-DD` when stored as a DICOM date.
    pub study_date: String,
    /// Study Description.
    pub description: String,
    /// Modalities, sorted.
    pub modalities: Vec<String>,
    /// Number of series.
    pub series: u64,
    /// Number of files.
    pub images: u64,
    /// Bytes of all its files.
    pub bytes: u64,
}

impl StudyRow {
    /// The row of a scanned study.
    pub fn of(study: &Study) -> Self {
        let patient = study.patient();
        Self {
            uid: study.study_instance_uid.clone(),
            patient_name: patient.name.display.clone(),
            birth_date: dicom_date(&patient.birth_date),
            study_date: dicom_date(study.study_date()),
            description: study.study_description().to_owned(),
            modalities: study.modalities(),
            series: study.series.len() as u64,
            images: study.image_count(),
            bytes: study.byte_total(),
        }
    }
}

/// `YYYYMMDD` as `YYYY-MM-DD`; anything else unchanged (trimmed).
pub fn dicom_date(value: &str) -> String {
    let value = value.trim();
    if value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &value[..4], &value[4..6], &value[6..])
    } else {
        value.to_owned()
    }
}

/// A file that will not be uploaded, and why (`state.skipped[]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedRow {
    /// The file's relative path.
    pub path: String,
    /// The reason, as a sentence.
    pub reason: String,
}

/// How far the scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanCounts {
    /// Files read so far.
    pub scanned: u64,
    /// Files in the drop.
    pub total: u64,
    /// Files skipped so far.
    pub skipped: u64,
}

/// Where one study's upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StudyPhase {
    /// Not started, or prepared and waiting for its turn.
    #[default]
    Waiting,
    /// Its zip is being prepared (read and compressed).
    Preparing,
    /// Bytes of it are going out.
    Sending,
    /// The server has every byte.
    Done,
    /// It failed.
    Failed,
}

/// Upload progress of one study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyProgress {
    /// Study Instance UID.
    pub uid: String,
    /// Bytes to send: the scanned size until the zip's exact length is known.
    pub total: u64,
    /// Bytes the server acknowledged.
    pub sent: u64,
    /// Bytes on the wire, not yet acknowledged.
    pub in_flight: u64,
    /// Its phase.
    pub phase: StudyPhase,
}

impl StudyProgress {
    /// Bytes that left the browser: acknowledged plus on the wire, at most
    /// the total. On a slow link a whole chunk is on the wire for a long
    /// time before the server acknowledges it, and a bar of acknowledged
    /// bytes alone would stand still meanwhile; when a request fails its
    /// bytes leave `in_flight`, so the bar goes back to what the server holds.
    pub fn shown(&self) -> u64 {
        self.sent.saturating_add(self.in_flight).min(self.total)
    }
}

/// Progress of the whole upload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UploadProgress {
    /// One entry per study, in table order.
    pub studies: Vec<StudyProgress>,
    /// Recent throughput, bytes per second, once measured.
    pub bytes_per_second: Option<f64>,
    /// Estimated seconds left, once measured.
    pub seconds_left: Option<f64>,
    /// Set while the connection is lost: seconds until the next attempt.
    pub retry_in_seconds: Option<u32>,
}

impl UploadProgress {
    /// Bytes acknowledged over all studies.
    pub fn sent(&self) -> u64 {
        self.studies.iter().map(|s| s.sent).sum()
    }

    /// Bytes that left the browser over all studies (see
    /// [`StudyProgress::shown`]): what the progress bars show.
    pub fn shown(&self) -> u64 {
        self.studies.iter().map(StudyProgress::shown).sum()
    }

    /// Bytes to send over all studies.
    pub fn total(&self) -> u64 {
        self.studies.iter().map(|s| s.total).sum()
    }

    /// Whether a study's zip is being prepared.
    pub fn zipping(&self) -> bool {
        self.studies
            .iter()
            .any(|s| s.phase == StudyPhase::Preparing)
    }

    /// Studies done.
    pub fn done(&self) -> usize {
        self.studies
            .iter()
            .filter(|s| s.phase == StudyPhase::Done)
            .count()
    }
}

/// What the error step offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Upload the same studies again (network, server and rate-limit errors).
    RetryUpload,
    /// Only starting over helps (bad files, a rejected token: the host page
    /// must give a new one).
    StartOver,
}

/// A failure as the error step shows it and `onUploadError` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Machine code, e.g. `network_error`, `auth_failed`.
    pub code: String,
    /// A sentence a person can act on; never patient data.
    pub message: String,
    /// The HTTP status, for HTTP failures.
    pub status: Option<u16>,
    /// Where it happened (`AuraloaderError.context`): `scan` or `upload`.
    pub context: &'static str,
    /// What the user can do.
    pub recovery: Recovery,
}

impl Failure {
    /// A failure whose recovery follows from its code and status: network
    /// errors, 408, 429 and 5xx can be retried; everything else starts over.
    pub fn new(code: &str, message: impl Into<String>, status: Option<u16>) -> Self {
        let retryable = match status {
            Some(408 | 429) => true,
            Some(s) => s >= 500,
            None => matches!(code, "network_error" | "upload_failed" | "timeout"),
        };
        Self {
            code: code.to_owned(),
            message: message.into(),
            status,
            context: "upload",
            recovery: if retryable {
                Recovery::RetryUpload
            } else {
                Recovery::StartOver
            },
        }
    }
}

/// Everything the widget shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// The current step.
    pub step: Step,
    /// Scan progress (processing).
    pub scan: ScanCounts,
    /// Studies to upload (pending and later), in scan order.
    pub studies: Vec<StudyRow>,
    /// The same studies as `onStudiesFound` gives them (shared: handed to
    /// every state object without a copy).
    pub infos: Rc<Vec<StudyInfo>>,
    /// The server's id of the last study of `upload/init`, once answered.
    pub study_id: String,
    /// Files not uploaded (shared: the list can be long).
    pub skipped: Rc<Vec<SkippedRow>>,
    /// Patient checks the user should look at.
    pub warnings: Vec<PatientWarning>,
    /// Upload progress (uploading and later).
    pub upload: UploadProgress,
    /// The failure of the error step.
    pub failure: Option<Failure>,
    /// Studies uploaded, on the complete step.
    pub uploaded: usize,
}

/// Everything that changes the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Files were dropped or picked: the scan begins.
    ScanStarted {
        /// Files to read.
        total: u64,
    },
    /// The scan moved on.
    ScanProgressed(ScanCounts),
    /// The scan is done.
    ScanFinished {
        /// Studies, in scan order.
        studies: Vec<StudyRow>,
        /// The same studies as `StudyInfo`s, in the same order.
        infos: Vec<StudyInfo>,
        /// Files not uploaded.
        skipped: Vec<SkippedRow>,
        /// Patient checks.
        warnings: Vec<PatientWarning>,
    },
    /// The user or `removeStudy(uid)` took a study out.
    RemoveStudy(String),
    /// `upload()`: the upload of the remaining studies begins (again, after
    /// a retryable error).
    UploadStarted,
    /// `upload/init` answered: the server's id of its last study.
    Initialised {
        /// The id (`state.studyId`).
        study_id: String,
    },
    /// A study's zip is being prepared.
    StudyPreparing(String),
    /// A study's zip is ready: its exact length (it waits for its turn
    /// until bytes of it move).
    StudyPrepared {
        /// Study Instance UID.
        uid: String,
        /// Exact bytes to send.
        bytes: u64,
    },
    /// Bytes of a study moved.
    StudyProgressed {
        /// Study Instance UID.
        uid: String,
        /// Bytes acknowledged by the server.
        sent: u64,
        /// Bytes on the wire.
        in_flight: u64,
    },
    /// New throughput figures.
    Throughput {
        /// Bytes per second.
        bytes_per_second: f64,
        /// Seconds left, if known.
        seconds_left: Option<f64>,
    },
    /// The connection is lost; the next attempt is in this many seconds.
    Retrying {
        /// Seconds to the next attempt.
        in_seconds: u32,
    },
    /// Bytes flow again after a retry.
    Reconnected,
    /// A study's last byte is acknowledged.
    StudyComplete(String),
    /// A study failed (the upload fails with [`Action::Failed`]).
    StudyFailed(String),
    /// Every study is uploaded and the server told.
    UploadComplete,
    /// The scan or the upload failed.
    Failed(Failure),
    /// The user or `cancel()` stopped.
    Cancelled,
    /// Back to the start (`reset()`, "Start over", "Upload more").
    Reset,
}

impl State {
    /// Applies `action`. Returns whether the state changed: actions that do
    /// not apply to the current step (a late progress event after a cancel,
    /// an upload without studies) are ignored.
    pub fn reduce(&mut self, action: Action) -> bool {
        use Action as A;
        use Step as S;
        match (self.step, action) {
            (_, A::Reset) => {
                let changed = *self != State::default();
                *self = State::default();
                changed
            }
            (S::Idle | S::Cancelled | S::Complete | S::Error, A::ScanStarted { total }) => {
                *self = State {
                    step: S::Processing,
                    scan: ScanCounts {
                        total,
                        ..ScanCounts::default()
                    },
                    ..State::default()
                };
                true
            }
            (S::Processing, A::ScanProgressed(counts)) => {
                let changed = self.scan != counts;
                self.scan = counts;
                changed
            }
            (
                S::Processing,
                A::ScanFinished {
                    studies,
                    infos,
                    skipped,
                    warnings,
                },
            ) => {
                self.scan.scanned = self.scan.total.max(self.scan.scanned);
                self.scan.skipped = skipped.len() as u64;
                self.studies = studies;
                self.infos = Rc::new(infos);
                self.skipped = Rc::new(skipped);
                self.warnings = warnings;
                self.step = S::Pending;
                true
            }
            (S::Pending, A::RemoveStudy(uid)) => {
                let before = self.studies.len();
                self.studies.retain(|s| s.uid != uid);
                if self.studies.len() == before {
                    return false;
                }
                Rc::make_mut(&mut self.infos).retain(|s| s.study_uid != uid);
                self.warnings = self
                    .warnings
                    .drain(..)
                    .filter_map(|w| without_study(w, &uid))
                    .collect();
                true
            }
            (S::Pending, A::UploadStarted) | (S::Error, A::UploadStarted) => {
                if self.studies.is_empty() {
                    return false;
                }
                self.upload = UploadProgress {
                    studies: self
                        .studies
                        .iter()
                        .map(|s| StudyProgress {
                            uid: s.uid.clone(),
                            total: s.bytes,
                            sent: 0,
                            in_flight: 0,
                            phase: StudyPhase::Waiting,
                        })
                        .collect(),
                    ..UploadProgress::default()
                };
                self.failure = None;
                self.study_id.clear();
                self.step = S::Uploading;
                true
            }
            (S::Uploading, A::Initialised { study_id }) => {
                let changed = self.study_id != study_id;
                self.study_id = study_id;
                changed
            }
            (S::Uploading, A::StudyPreparing(uid)) => self.with_study(&uid, |s| {
                if s.phase == StudyPhase::Waiting {
                    s.phase = StudyPhase::Preparing;
                }
            }),
            (S::Uploading, A::StudyPrepared { uid, bytes }) => self.with_study(&uid, |s| {
                s.total = bytes;
                if s.phase == StudyPhase::Preparing {
                    s.phase = StudyPhase::Waiting;
                }
            }),
            (
                S::Uploading,
                A::StudyProgressed {
                    uid,
                    sent,
                    in_flight,
                },
            ) => {
                let changed = self.with_study(&uid, |s| {
                    s.sent = sent;
                    // Before the exact length is known the total is the
                    // scanned size; never show more sent than total.
                    s.total = s.total.max(sent);
                    s.in_flight = in_flight;
                    if matches!(s.phase, StudyPhase::Waiting | StudyPhase::Preparing) {
                        s.phase = StudyPhase::Sending;
                    }
                });
                if changed && sent > 0 {
                    self.upload.retry_in_seconds = None;
                }
                changed
            }
            (
                S::Uploading,
                A::Throughput {
                    bytes_per_second,
                    seconds_left,
                },
            ) => {
                self.upload.bytes_per_second = Some(bytes_per_second);
                self.upload.seconds_left = seconds_left;
                true
            }
            (S::Uploading, A::Retrying { in_seconds }) => {
                self.upload.retry_in_seconds = Some(in_seconds);
                true
            }
            (S::Uploading, A::Reconnected) => self.upload.retry_in_seconds.take().is_some(),
            (S::Uploading, A::StudyComplete(uid)) => self.with_study(&uid, |s| {
                s.sent = s.total;
                s.in_flight = 0;
                s.phase = StudyPhase::Done;
            }),
            (S::Uploading, A::StudyFailed(uid)) => self.with_study(&uid, |s| {
                s.in_flight = 0;
                s.phase = StudyPhase::Failed;
            }),
            (S::Uploading, A::UploadComplete) => {
                for study in &mut self.upload.studies {
                    study.sent = study.total;
                    study.in_flight = 0;
                    study.phase = StudyPhase::Done;
                }
                self.upload.retry_in_seconds = None;
                self.uploaded = self.upload.studies.len();
                self.step = S::Complete;
                true
            }
            (S::Processing | S::Pending | S::Uploading, A::Failed(failure)) => {
                // A failed scan has nothing to retry.
                let failure = if self.step == S::Processing {
                    Failure {
                        recovery: Recovery::StartOver,
                        context: "scan",
                        ..failure
                    }
                } else {
                    failure
                };
                self.failure = Some(failure);
                self.upload.retry_in_seconds = None;
                self.step = S::Error;
                true
            }
            (S::Processing | S::Pending | S::Uploading, A::Cancelled) => {
                self.upload.retry_in_seconds = None;
                self.step = S::Cancelled;
                true
            }
            _ => false,
        }
    }

    /// Runs `change` on the upload entry of study `uid`; false if none.
    fn with_study(&mut self, uid: &str, change: impl FnOnce(&mut StudyProgress)) -> bool {
        match self.upload.studies.iter_mut().find(|s| s.uid == uid) {
            Some(study) => {
                let before = study.clone();
                change(study);
                *study != before
            }
            None => false,
        }
    }

    /// Whether the Upload button does something.
    pub fn can_upload(&self) -> bool {
        match self.step {
            Step::Pending => !self.studies.is_empty(),
            Step::Error => {
                !self.studies.is_empty()
                    && self
                        .failure
                        .as_ref()
                        .is_some_and(|f| f.recovery == Recovery::RetryUpload)
            }
            _ => false,
        }
    }

    /// Whether Cancel does something.
    pub fn can_cancel(&self) -> bool {
        matches!(
            self.step,
            Step::Processing | Step::Pending | Step::Uploading
        )
    }
}

/// A warning with study `uid` removed; `None` once it no longer applies.
fn without_study(warning: PatientWarning, uid: &str) -> Option<PatientWarning> {
    match warning {
        PatientWarning::SeveralPatients { studies_by_patient } => {
            let groups: Vec<Vec<String>> = studies_by_patient
                .into_iter()
                .map(|g| g.into_iter().filter(|u| u != uid).collect::<Vec<_>>())
                .filter(|g| !g.is_empty())
                .collect();
            (groups.len() > 1).then_some(PatientWarning::SeveralPatients {
                studies_by_patient: groups,
            })
        }
        PatientWarning::ContextMismatch { study_uids, fields } => {
            let study_uids: Vec<String> = study_uids.into_iter().filter(|u| u != uid).collect();
            (!study_uids.is_empty())
                .then_some(PatientWarning::ContextMismatch { study_uids, fields })
        }
    }
}

/// The rows of a finished scan: studies and skipped files.
pub fn rows_of(grouping: &Grouping) -> (Vec<StudyRow>, Vec<SkippedRow>) {
    let studies = grouping.studies.iter().map(StudyRow::of).collect();
    let skipped = grouping
        .skipped
        .iter()
        .map(|s| SkippedRow {
            path: s.key.path.clone(),
            reason: s.reason.to_string(),
        })
        .collect();
    (studies, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patient::PatientField;

    fn row(uid: &str, bytes: u64) -> StudyRow {
        StudyRow {
            uid: uid.to_owned(),
            patient_name: "Jane Doe".to_owned(),
            birth_date: "1970-01-01".to_owned(),
            study_date: "2024-01-02".to_owned(),
            description: format!("CT {uid}"),
            modalities: vec!["CT".to_owned()],
            series: 2,
            images: 20,
            bytes,
        }
    }

    fn skipped(path: &str) -> SkippedRow {
        SkippedRow {
            path: path.to_owned(),
            reason: "not a DICOM file".to_owned(),
        }
    }

    /// A state on the pending step with studies `a` (100 bytes) and `b` (300).
    fn pending() -> State {
        let mut state = State::default();
        assert!(state.reduce(Action::ScanStarted { total: 3 }));
        assert!(state.reduce(Action::ScanFinished {
            infos: Vec::new(),
            studies: vec![row("a", 100), row("b", 300)],
            skipped: vec![skipped("README.TXT")],
            warnings: vec![],
        }));
        state
    }

    fn uploading() -> State {
        let mut state = pending();
        assert!(state.reduce(Action::UploadStarted));
        state
    }

    #[test]
    fn published_step_names() {
        let names: Vec<&str> = [
            Step::Idle,
            Step::Processing,
            Step::Pending,
            Step::Uploading,
            Step::Complete,
            Step::Error,
            Step::Cancelled,
        ]
        .iter()
        .map(|s| s.published())
        .collect();
        assert_eq!(
            names,
            [
                "start",
                "processing",
                "pending",
                "uploading",
                "complete",
                "error",
                "cancelled"
            ]
        );
    }

    #[test]
    fn scan_goes_from_idle_through_processing_to_pending() {
        let mut state = State::default();
        assert_eq!(state.step, Step::Idle);
        assert!(state.reduce(Action::ScanStarted { total: 3 }));
        assert_eq!(state.step, Step::Processing);
        assert_eq!(state.scan.total, 3);
        let counts = ScanCounts {
            scanned: 2,
            total: 3,
            skipped: 1,
        };
        assert!(state.reduce(Action::ScanProgressed(counts)));
        assert!(!state.reduce(Action::ScanProgressed(counts)), "no change");
        assert_eq!(state.scan, counts);
        assert!(state.reduce(Action::ScanFinished {
            infos: Vec::new(),
            studies: vec![row("a", 1)],
            skipped: vec![skipped("x"), skipped("y")],
            warnings: vec![],
        }));
        assert_eq!(state.step, Step::Pending);
        assert_eq!(state.scan.scanned, 3);
        assert_eq!(state.scan.skipped, 2);
        assert_eq!(state.skipped.len(), 2);
        assert!(state.can_upload());
        assert!(state.can_cancel());
    }

    #[test]
    fn scan_progress_outside_processing_is_ignored() {
        let mut state = pending();
        let before = state.clone();
        assert!(!state.reduce(Action::ScanProgressed(ScanCounts::default())));
        assert!(!state.reduce(Action::ScanFinished {
            infos: Vec::new(),
            studies: vec![],
            skipped: vec![],
            warnings: vec![],
        }));
        assert_eq!(state, before);
    }

    #[test]
    fn remove_study_drops_its_row_and_only_in_pending() {
        let mut state = pending();
        assert!(state.reduce(Action::RemoveStudy("a".to_owned())));
        assert_eq!(state.studies.len(), 1);
        assert_eq!(state.studies[0].uid, "b");
        assert!(!state.reduce(Action::RemoveStudy("nope".to_owned())));
        assert!(state.reduce(Action::RemoveStudy("b".to_owned())));
        assert!(state.studies.is_empty());
        assert!(!state.can_upload(), "nothing left to upload");
        assert!(!state.reduce(Action::UploadStarted));
        assert_eq!(state.step, Step::Pending);

        let mut state = uploading();
        assert!(!state.reduce(Action::RemoveStudy("a".to_owned())));
        assert_eq!(state.studies.len(), 2);
    }

    #[test]
    fn removing_studies_updates_the_patient_warnings() {
        let mut state = State::default();
        state.reduce(Action::ScanStarted { total: 3 });
        state.reduce(Action::ScanFinished {
            infos: Vec::new(),
            studies: vec![row("a", 1), row("b", 1), row("c", 1)],
            skipped: vec![],
            warnings: vec![
                PatientWarning::SeveralPatients {
                    studies_by_patient: vec![
                        vec!["a".to_owned(), "b".to_owned()],
                        vec!["c".to_owned()],
                    ],
                },
                PatientWarning::ContextMismatch {
                    study_uids: vec!["c".to_owned()],
                    fields: vec![PatientField::DateOfBirth],
                },
            ],
        });
        assert_eq!(state.warnings.len(), 2);
        state.reduce(Action::RemoveStudy("a".to_owned()));
        assert_eq!(state.warnings.len(), 2, "b and c still differ");
        state.reduce(Action::RemoveStudy("c".to_owned()));
        assert!(
            state.warnings.is_empty(),
            "one patient left, and it matches"
        );
    }

    #[test]
    fn upload_tracks_prepared_sizes_progress_and_completion() {
        let mut state = uploading();
        assert_eq!(state.step, Step::Uploading);
        assert_eq!(state.upload.total(), 400, "scanned sizes until prepared");
        assert!(!state.can_upload());
        assert!(state.reduce(Action::StudyPreparing("a".to_owned())));
        assert_eq!(state.upload.studies[0].phase, StudyPhase::Preparing);
        assert!(state.upload.zipping());
        assert!(state.reduce(Action::StudyPrepared {
            uid: "a".to_owned(),
            bytes: 120,
        }));
        assert_eq!(
            state.upload.studies[0].phase,
            StudyPhase::Waiting,
            "prepared, waiting for its turn"
        );
        assert!(!state.upload.zipping());
        assert_eq!(state.upload.total(), 420);
        assert!(state.reduce(Action::StudyProgressed {
            uid: "a".to_owned(),
            sent: 60,
            in_flight: 30,
        }));
        assert_eq!(state.upload.studies[0].phase, StudyPhase::Sending);
        assert_eq!(state.upload.sent(), 60);
        assert_eq!(state.upload.shown(), 90, "bytes on the wire count as sent");
        assert!(state.reduce(Action::StudyProgressed {
            uid: "b".to_owned(),
            sent: 350,
            in_flight: 0,
        }));
        assert_eq!(
            state.upload.studies[1].total, 350,
            "the estimate grows with the bytes sent"
        );
        assert!(!state.reduce(Action::StudyProgressed {
            uid: "zzz".to_owned(),
            sent: 1,
            in_flight: 0,
        }));
        assert!(state.reduce(Action::Throughput {
            bytes_per_second: 1000.0,
            seconds_left: Some(3.0),
        }));
        assert_eq!(state.upload.seconds_left, Some(3.0));
        assert!(state.reduce(Action::StudyComplete("a".to_owned())));
        assert_eq!(state.upload.studies[0].sent, 120);
        assert_eq!(state.upload.done(), 1);
        assert!(state.reduce(Action::UploadComplete));
        assert_eq!(state.step, Step::Complete);
        assert_eq!(state.uploaded, 2);
        assert_eq!(state.upload.sent(), state.upload.total());
        assert!(!state.can_cancel());
    }

    #[test]
    fn retrying_shows_until_bytes_flow_again() {
        let mut state = uploading();
        assert!(state.reduce(Action::Retrying { in_seconds: 4 }));
        assert_eq!(state.upload.retry_in_seconds, Some(4));
        assert!(state.reduce(Action::Retrying { in_seconds: 3 }));
        assert_eq!(state.upload.retry_in_seconds, Some(3));
        assert!(state.reduce(Action::StudyProgressed {
            uid: "b".to_owned(),
            sent: 10,
            in_flight: 0,
        }));
        assert_eq!(state.upload.retry_in_seconds, None);
        state.reduce(Action::Retrying { in_seconds: 2 });
        assert!(state.reduce(Action::Reconnected));
        assert!(!state.reduce(Action::Reconnected));
        assert_eq!(state.upload.retry_in_seconds, None);
    }

    #[test]
    fn a_retryable_error_offers_retry_and_uploads_again_from_zero() {
        let mut state = uploading();
        state.reduce(Action::StudyProgressed {
            uid: "a".to_owned(),
            sent: 50,
            in_flight: 0,
        });
        state.reduce(Action::StudyFailed("a".to_owned()));
        assert_eq!(state.upload.studies[0].phase, StudyPhase::Failed);
        let failure = Failure::new("network_error", "the connection dropped", None);
        assert_eq!(failure.recovery, Recovery::RetryUpload);
        assert!(state.reduce(Action::Failed(failure.clone())));
        assert_eq!(state.step, Step::Error);
        assert_eq!(state.failure, Some(failure));
        assert!(state.can_upload());
        assert!(state.reduce(Action::UploadStarted));
        assert_eq!(state.step, Step::Uploading);
        assert_eq!(state.failure, None);
        assert_eq!(state.upload.sent(), 0);
        assert_eq!(state.upload.studies[0].phase, StudyPhase::Waiting);
    }

    #[test]
    fn errors_that_retrying_cannot_fix_only_start_over() {
        assert_eq!(
            Failure::new("auth_failed", "token expired", Some(401)).recovery,
            Recovery::StartOver
        );
        assert_eq!(
            Failure::new("upload_failed", "busy", Some(503)).recovery,
            Recovery::RetryUpload
        );
        assert_eq!(
            Failure::new("upload_failed", "slow down", Some(429)).recovery,
            Recovery::RetryUpload
        );
        let mut state = uploading();
        state.reduce(Action::Failed(Failure::new("auth_failed", "no", Some(403))));
        assert!(!state.can_upload());
        assert!(!state.reduce(Action::RemoveStudy("a".to_owned())));
    }

    #[test]
    fn a_failed_scan_cannot_be_retried() {
        let mut state = State::default();
        state.reduce(Action::ScanStarted { total: 1 });
        state.reduce(Action::Failed(Failure::new("scan_failed", "boom", None)));
        assert_eq!(state.step, Step::Error);
        assert_eq!(
            state.failure.as_ref().map(|f| f.recovery),
            Some(Recovery::StartOver)
        );
        assert!(!state.can_upload());
        assert!(state.reduce(Action::ScanStarted { total: 2 }), "new files");
        assert_eq!(state.step, Step::Processing);
        assert_eq!(state.failure, None);
    }

    #[test]
    fn cancel_applies_while_working_and_late_events_are_ignored() {
        for mut state in [pending(), uploading()] {
            assert!(state.reduce(Action::Cancelled));
            assert_eq!(state.step, Step::Cancelled);
            let before = state.clone();
            assert!(!state.reduce(Action::StudyComplete("a".to_owned())));
            assert!(!state.reduce(Action::UploadComplete));
            assert!(!state.reduce(Action::Failed(Failure::new("x", "y", None))));
            assert!(!state.reduce(Action::Cancelled));
            assert_eq!(state, before);
        }
        let mut state = State::default();
        assert!(!state.reduce(Action::Cancelled), "nothing to cancel");
        state.reduce(Action::ScanStarted { total: 1 });
        assert!(state.reduce(Action::Cancelled));
    }

    #[test]
    fn reset_returns_to_idle_from_every_step() {
        let mut error = uploading();
        error.reduce(Action::Failed(Failure::new("x", "y", None)));
        let mut complete = uploading();
        complete.reduce(Action::UploadComplete);
        let mut cancelled = pending();
        cancelled.reduce(Action::Cancelled);
        let mut processing = State::default();
        processing.reduce(Action::ScanStarted { total: 9 });
        for mut state in [
            pending(),
            uploading(),
            error,
            complete,
            cancelled,
            processing,
        ] {
            assert!(state.reduce(Action::Reset));
            assert_eq!(state, State::default());
        }
        assert!(!State::default().reduce(Action::Reset));
    }

    #[test]
    fn new_files_after_the_end_start_a_new_scan() {
        let mut state = uploading();
        state.reduce(Action::UploadComplete);
        assert!(state.reduce(Action::ScanStarted { total: 5 }));
        assert_eq!(state.step, Step::Processing);
        assert!(state.studies.is_empty());
        assert!(state.skipped.is_empty());
        let mut busy = uploading();
        assert!(
            !busy.reduce(Action::ScanStarted { total: 5 }),
            "not while uploading"
        );
    }

    #[test]
    fn dicom_dates_are_shown_with_dashes() {
        assert_eq!(dicom_date("20240102"), "2024-01-02");
        assert_eq!(dicom_date(" 19700101 "), "1970-01-01");
        assert_eq!(dicom_date("2024"), "2024");
        assert_eq!(dicom_date(""), "");
    }
}
