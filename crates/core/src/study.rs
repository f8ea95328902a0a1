//! Grouping scanned files into studies → series → instances, and the
//! `StudyInfo` JSON of `upload/init` and `onStudiesFound` (spec/API.md).
//!
//! Feed a [`StudyGrouper`] each file's outcome as it is scanned, then
//! [`StudyGrouper::finish`]: studies come out sorted by date, time and UID,
//! series by number, instances by path; every file that is not uploaded is
//! in [`Grouping::skipped`] with its reason, including duplicates (same SOP
//! Instance UID: the first file added is kept).

use crate::scan::{InstanceMeta, PersonName, SkipReason};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Identifies a file for the caller: its relative path and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileKey {
    /// Path relative to what the user dropped, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

impl FileKey {
    /// A key from a path and a size.
    pub fn new(path: impl Into<String>, size: u64) -> Self {
        Self {
            path: path.into(),
            size,
        }
    }
}

/// One DICOM file of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The caller's key of the file.
    pub key: FileKey,
    /// What the scanner read.
    pub meta: InstanceMeta,
}

/// A file that is not uploaded, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    /// The caller's key of the file.
    pub key: FileKey,
    /// Why it is skipped.
    pub reason: SkipReason,
}

/// The patient of a study, as its first instance names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patient {
    /// Patient's Name.
    pub name: PersonName,
    /// Patient ID.
    pub id: String,
    /// Issuer of Patient ID.
    pub issuer_of_id: String,
    /// Other Patient IDs.
    pub other_ids: String,
    /// Patient's Birth Date as stored.
    pub birth_date: String,
    /// Patient's Sex as stored.
    pub sex: String,
}

impl Patient {
    fn of(meta: &InstanceMeta) -> Self {
        Self {
            name: meta.patient_name.clone(),
            id: meta.patient_id.clone(),
            issuer_of_id: meta.issuer_of_patient_id.clone(),
            other_ids: meta.other_patient_ids.clone(),
            birth_date: meta.patient_birth_date.clone(),
            sex: meta.patient_sex.clone(),
        }
    }
}

/// A series: instances sharing a Series Instance UID within a study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Series Instance UID.
    pub series_instance_uid: String,
    /// Instances, sorted by path.
    pub instances: Vec<Instance>,
}

impl Series {
    /// The first instance, whose series attributes stand for the series.
    fn first(&self) -> Option<&InstanceMeta> {
        self.instances.first().map(|i| &i.meta)
    }

    /// Modality of the series.
    pub fn modality(&self) -> &str {
        self.first().map_or("", |m| m.modality.as_str())
    }

    /// Series Number as stored.
    pub fn series_number(&self) -> &str {
        self.first().map_or("", |m| m.series_number.as_str())
    }

    /// Number of files (instances).
    pub fn image_count(&self) -> u64 {
        self.instances.len() as u64
    }

    /// Number of frames over all instances (multi-frame files count each frame).
    pub fn frame_count(&self) -> u64 {
        self.instances
            .iter()
            .map(|i| u64::from(i.meta.number_of_frames))
            .sum()
    }

    /// Total size of the files in bytes.
    pub fn byte_total(&self) -> u64 {
        self.instances.iter().map(|i| i.key.size).sum()
    }

    /// The series as `StudyInfo.series[uid]`.
    pub fn info(&self) -> SeriesInfo {
        let meta = self.first().cloned().unwrap_or_default();
        SeriesInfo {
            study_instance_uid: meta.study_instance_uid,
            series_instance_uid: self.series_instance_uid.clone(),
            modality: meta.modality,
            series_description: meta.series_description,
            body_part_examined: meta.body_part_examined,
            series_date: meta.series_date,
            series_time: meta.series_time,
            study_date: meta.study_date,
            series_number: meta.series_number,
        }
    }
}

/// A study: series sharing a Study Instance UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Study {
    /// Study Instance UID.
    pub study_instance_uid: String,
    /// Series, sorted by series number (numerically) then UID.
    pub series: Vec<Series>,
}

impl Study {
    /// The first instance of the first series, whose study and patient
    /// attributes stand for the study.
    fn first(&self) -> Option<&InstanceMeta> {
        self.series.first().and_then(Series::first)
    }

    /// The study's patient.
    pub fn patient(&self) -> Patient {
        self.first().map(Patient::of).unwrap_or_default()
    }

    /// Study Description.
    pub fn study_description(&self) -> &str {
        self.first().map_or("", |m| m.study_description.as_str())
    }

    /// Study Date as stored.
    pub fn study_date(&self) -> &str {
        self.first().map_or("", |m| m.study_date.as_str())
    }

    /// Study Time as stored.
    pub fn study_time(&self) -> &str {
        self.first().map_or("", |m| m.study_time.as_str())
    }

    /// The modalities of the series: sorted, unique, without empty ones.
    pub fn modalities(&self) -> Vec<String> {
        let mut modalities: Vec<String> = self
            .series
            .iter()
            .map(|s| s.modality().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        modalities.sort();
        modalities.dedup();
        modalities
    }

    /// Number of files (instances).
    pub fn image_count(&self) -> u64 {
        self.series.iter().map(Series::image_count).sum()
    }

    /// Number of frames over all instances.
    pub fn frame_count(&self) -> u64 {
        self.series.iter().map(Series::frame_count).sum()
    }

    /// Total size of the files in bytes.
    pub fn byte_total(&self) -> u64 {
        self.series.iter().map(Series::byte_total).sum()
    }

    /// The study as sent in `upload/init` and `onStudiesFound`.
    ///
    /// `patient_name` is the display form (`John Doe`); `images` counts files.
    pub fn info(&self) -> StudyInfo {
        let meta = self.first().cloned().unwrap_or_default();
        StudyInfo {
            study_uid: self.study_instance_uid.clone(),
            study_description: meta.study_description,
            institution_name: meta.institution_name,
            patient_id: meta.patient_id,
            patient_name: meta.patient_name.display,
            study_date: meta.study_date,
            study_time: meta.study_time,
            modalities: self.modalities(),
            series: self
                .series
                .iter()
                .map(|s| (s.series_instance_uid.clone(), s.info()))
                .collect(),
            images: self.image_count(),
            series_count: self.series.len() as u64,
        }
    }
}

/// `StudyInfo` of spec/API.md: one study in `upload/init` and
/// `onStudiesFound`. Field order is the spec's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyInfo {
    /// Study Instance UID.
    pub study_uid: String,
    /// Study Description.
    pub study_description: String,
    /// Institution Name.
    pub institution_name: String,
    /// Patient ID.
    pub patient_id: String,
    /// Patient's Name, display form (given names first).
    pub patient_name: String,
    /// Study Date as stored (`YYYYMMDD`).
    pub study_date: String,
    /// Study Time as stored.
    pub study_time: String,
    /// Modalities of the series, sorted and unique.
    pub modalities: Vec<String>,
    /// The series, keyed by Series Instance UID.
    pub series: BTreeMap<String, SeriesInfo>,
    /// Number of files.
    pub images: u64,
    /// Number of series.
    pub series_count: u64,
}

/// One series of a [`StudyInfo`]. Field order is the spec's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// Study Instance UID.
    pub study_instance_uid: String,
    /// Series Instance UID.
    pub series_instance_uid: String,
    /// Modality.
    pub modality: String,
    /// Series Description.
    pub series_description: String,
    /// Body Part Examined.
    pub body_part_examined: String,
    /// Series Date as stored.
    pub series_date: String,
    /// Series Time as stored.
    pub series_time: String,
    /// Study Date as stored.
    pub study_date: String,
    /// Series Number as stored (a string, as DICOM's IS is text).
    pub series_number: String,
}

/// The `studies` object of `upload/init`: [`StudyInfo`] keyed by Study
/// Instance UID.
pub fn studies_map(studies: &[Study]) -> BTreeMap<String, StudyInfo> {
    studies
        .iter()
        .map(|s| (s.study_instance_uid.clone(), s.info()))
        .collect()
}

/// The result of grouping: studies to upload and files skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouping {
    /// Studies, sorted by study date, time, then UID.
    pub studies: Vec<Study>,
    /// Files not uploaded, in the order they were added.
    pub skipped: Vec<SkippedFile>,
}

/// Collects scan outcomes file by file and groups them.
#[derive(Debug, Default)]
pub struct StudyGrouper {
    /// study uid → series uid → instances.
    studies: HashMap<String, HashMap<String, Vec<Instance>>>,
    /// SOP Instance UID → path of the file kept.
    seen: HashMap<String, String>,
    skipped: Vec<SkippedFile>,
}

impl StudyGrouper {
    /// An empty grouper.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a scanned instance; a second file with the same SOP Instance UID
    /// is recorded as skipped ([`SkipReason::Duplicate`]).
    pub fn add_instance(&mut self, key: FileKey, meta: InstanceMeta) {
        if let Some(kept) = self.seen.get(&meta.sop_instance_uid) {
            self.skipped.push(SkippedFile {
                key,
                reason: SkipReason::Duplicate {
                    sop_instance_uid: meta.sop_instance_uid,
                    kept: kept.clone(),
                },
            });
            return;
        }
        self.seen
            .insert(meta.sop_instance_uid.clone(), key.path.clone());
        self.studies
            .entry(meta.study_instance_uid.clone())
            .or_default()
            .entry(meta.series_instance_uid.clone())
            .or_default()
            .push(Instance { key, meta });
    }

    /// Records a file the scanner skipped.
    pub fn add_skipped(&mut self, key: FileKey, reason: SkipReason) {
        self.skipped.push(SkippedFile { key, reason });
    }

    /// The studies, sorted, and the skipped files.
    pub fn finish(self) -> Grouping {
        let mut studies: Vec<Study> = self
            .studies
            .into_iter()
            .map(|(study_instance_uid, series)| {
                let mut series: Vec<Series> = series
                    .into_iter()
                    .map(|(series_instance_uid, mut instances)| {
                        instances.sort_by(|a, b| a.key.cmp(&b.key));
                        Series {
                            series_instance_uid,
                            instances,
                        }
                    })
                    .collect();
                series.sort_by(|a, b| {
                    let number =
                        |s: &Series| s.series_number().trim().parse::<i64>().unwrap_or(i64::MAX);
                    number(a)
                        .cmp(&number(b))
                        .then_with(|| a.series_instance_uid.cmp(&b.series_instance_uid))
                });
                Study {
                    study_instance_uid,
                    series,
                }
            })
            .collect();
        studies.sort_by(|a, b| {
            (a.study_date(), a.study_time(), &a.study_instance_uid).cmp(&(
                b.study_date(),
                b.study_time(),
                &b.study_instance_uid,
            ))
        });
        Grouping {
            studies,
            skipped: self.skipped,
        }
    }
}

/// Groups instances in one call (see [`StudyGrouper`]).
pub fn group_instances(instances: impl IntoIterator<Item = (FileKey, InstanceMeta)>) -> Grouping {
    let mut grouper = StudyGrouper::new();
    for (key, meta) in instances {
        grouper.add_instance(key, meta);
    }
    grouper.finish()
}
