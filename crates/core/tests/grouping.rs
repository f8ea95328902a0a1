//! Grouping a scanned folder tree into studies, series and instances, and
//! the exact `StudyInfo` JSON of spec/API.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader_core::patient::{check_patients, PatientWarning};
use auraloader_core::scan::{
    scan_head, InstanceMeta, PersonName, Scan, ScanRules, SkipReason, SUGGESTED_FIRST_READ,
};
use auraloader_core::study::{group_instances, studies_map, FileKey, Grouping, StudyGrouper};
use auraloader_core::synth::{
    StudyTree, SynthError, SynthSyntax, ABSURD_LENGTH, HOSTILE_FILES, HOSTILE_PATIENT_NAME,
    HOSTILE_STUDY_DESCRIPTION,
};
use std::collections::BTreeSet;

/// Every file of a tree, in memory.
fn files_of(tree: &StudyTree) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    tree.for_each_file(|path, bytes| {
        files.push((path.to_owned(), bytes.to_vec()));
        Ok::<(), SynthError>(())
    })
    .unwrap();
    files
}

/// Scans every file like the widget and groups the outcomes.
fn scan_and_group(files: &[(String, Vec<u8>)]) -> Grouping {
    let mut grouper = StudyGrouper::new();
    for (path, bytes) in files {
        let len = bytes.len() as u64;
        let mut read = SUGGESTED_FIRST_READ.min(len) as usize;
        let key = FileKey::new(path.clone(), len);
        loop {
            match scan_head(&bytes[..read], len, path, &ScanRules::default()) {
                Scan::NeedMore { read_up_to } => read = read_up_to as usize,
                Scan::Instance(meta) => break grouper.add_instance(key, meta),
                Scan::Skipped(reason) => break grouper.add_skipped(key, reason),
            }
        }
    }
    grouper.finish()
}

fn tree() -> StudyTree {
    StudyTree {
        studies: 4,
        series: 2,
        instances: 3,
        pixel_bytes: 2000,
        syntax: SynthSyntax::ExplicitLe,
        preamble: true,
        junk: true,
        dicomdir: true,
        patient_count: None,
        hostile: false,
        seed: 7,
    }
}

#[test]
fn groups_a_tree_of_several_patients_and_studies() {
    let mut files = files_of(&tree());
    // A copy of one image under another name: a duplicate.
    let (first_path, first_bytes) = files
        .iter()
        .find(|(p, _)| p.starts_with("PAT01/ST001/SE001/"))
        .cloned()
        .unwrap();
    files.push(("COPY/IMAGE".to_owned(), first_bytes.clone()));
    let grouping = scan_and_group(&files);

    assert_eq!(grouping.studies.len(), 4);
    for study in &grouping.studies {
        assert_eq!(study.series.len(), 2);
        assert_eq!(study.image_count(), 6);
        assert_eq!(study.frame_count(), 6);
        assert_eq!(study.modalities().len(), 1);
        for series in &study.series {
            assert_eq!(series.image_count(), 3);
            assert!(series
                .instances
                .iter()
                .all(|i| i.meta.study_instance_uid == study.study_instance_uid));
            let sizes: u64 = series.instances.iter().map(|i| i.meta.file_size).sum();
            assert_eq!(series.byte_total(), sizes);
        }
    }
    // Byte totals are the files' sizes.
    let dicom_bytes: u64 = files
        .iter()
        .filter(|(p, _)| p.starts_with("PAT"))
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert_eq!(
        grouping.studies.iter().map(|s| s.byte_total()).sum::<u64>(),
        dicom_bytes
    );
    // Sorted by study date then time.
    let dates: Vec<(&str, &str)> = grouping
        .studies
        .iter()
        .map(|s| (s.study_date(), s.study_time()))
        .collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted);
    // Series sorted by number.
    for study in &grouping.studies {
        let numbers: Vec<&str> = study.series.iter().map(|s| s.series_number()).collect();
        assert_eq!(numbers, ["1", "2"]);
    }

    // Every file not uploaded is listed with its reason.
    let skipped: Vec<(&str, &SkipReason)> = grouping
        .skipped
        .iter()
        .map(|s| (s.key.path.as_str(), &s.reason))
        .collect();
    assert_eq!(skipped.len(), 5, "{skipped:?}");
    let reason = |path: &str| {
        skipped
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, r)| (*r).clone())
            .unwrap()
    };
    assert_eq!(reason("DICOMDIR"), SkipReason::Dicomdir);
    assert!(matches!(reason("README.TXT"), SkipReason::NotDicom { .. }));
    assert!(matches!(reason("AUTORUN.INF"), SkipReason::NotDicom { .. }));
    assert!(matches!(
        reason("VIEWER/VIEWER.EXE"),
        SkipReason::NotDicom { .. }
    ));
    let SkipReason::Duplicate { kept, .. } = reason("COPY/IMAGE") else {
        panic!("the copy is not a duplicate");
    };
    assert_eq!(kept, first_path);

    // Two patients, two studies each.
    let warnings = check_patients(&grouping.studies, None);
    let [PatientWarning::SeveralPatients { studies_by_patient }] = warnings.as_slice() else {
        panic!("{warnings:?}");
    };
    assert_eq!(studies_by_patient.len(), 2);
    assert!(studies_by_patient.iter().all(|uids| uids.len() == 2));
    // The Latin-1 patient of the tree decodes to Unicode.
    let names: BTreeSet<String> = grouping
        .studies
        .iter()
        .map(|s| s.patient().name.display)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["Hans Müller".to_owned(), "Jane Q Doe".to_owned()])
    );
}

#[test]
fn the_same_seed_gives_the_same_files_and_another_seed_other_uids() {
    let small = StudyTree {
        studies: 1,
        series: 1,
        instances: 2,
        pixel_bytes: 100,
        ..tree()
    };
    assert_eq!(files_of(&small), files_of(&small));
    let other = StudyTree {
        seed: 8,
        ..small.clone()
    };
    let uids = |t: &StudyTree| {
        scan_and_group(&files_of(t))
            .studies
            .iter()
            .map(|s| s.study_instance_uid.clone())
            .collect::<Vec<_>>()
    };
    assert_ne!(uids(&small), uids(&other));
}

#[test]
fn every_transfer_syntax_of_the_generator_groups_the_same() {
    for syntax in SynthSyntax::ALL {
        for preamble in [true, false] {
            let t = StudyTree {
                studies: 2,
                series: 1,
                instances: 2,
                pixel_bytes: 500,
                syntax,
                preamble,
                junk: false,
                dicomdir: false,
                patient_count: None,
                hostile: false,
                seed: 3,
            };
            let grouping = scan_and_group(&files_of(&t));
            assert_eq!(grouping.studies.len(), 2, "{syntax:?}");
            assert!(
                grouping.skipped.is_empty(),
                "{syntax:?}: {:?}",
                grouping.skipped
            );
            assert_eq!(grouping.studies[0].image_count(), 2);
        }
    }
}

fn meta(study: &str, series: &str, sop: &str, modality: &str, number: &str) -> InstanceMeta {
    InstanceMeta {
        patient_name: PersonName::from_raw("Doe^Jane"),
        patient_id: "PAT-1".into(),
        patient_birth_date: "19700102".into(),
        institution_name: "General".into(),
        study_description: "CHEST".into(),
        study_date: "20240131".into(),
        study_time: "101500".into(),
        series_description: format!("{modality} series"),
        series_number: number.into(),
        series_date: "20240131".into(),
        series_time: "102000".into(),
        modality: modality.into(),
        body_part_examined: "CHEST".into(),
        study_instance_uid: study.into(),
        series_instance_uid: series.into(),
        sop_instance_uid: sop.into(),
        number_of_frames: 1,
        file_size: 100,
        ..InstanceMeta::default()
    }
}

#[test]
fn study_info_is_exactly_the_json_of_the_spec() {
    let grouping = group_instances([
        (
            FileKey::new("a/1", 100),
            meta("1.2", "1.2.10", "1.2.10.1", "CT", "10"),
        ),
        (
            FileKey::new("a/2", 100),
            meta("1.2", "1.2.10", "1.2.10.2", "CT", "10"),
        ),
        (
            FileKey::new("a/3", 100),
            meta("1.2", "1.2.2", "1.2.2.1", "SR", "2"),
        ),
        (
            FileKey::new("a/4", 100),
            meta("1.2", "1.2.3", "1.2.3.1", "CT", "3"),
        ),
    ]);
    let json = serde_json::to_string(&studies_map(&grouping.studies)).unwrap();
    let expected = concat!(
        r#"{"1.2":{"study_uid":"1.2","study_description":"CHEST","institution_name":"General","#,
        r#""patient_id":"PAT-1","patient_name":"Jane Doe","study_date":"20240131","study_time":"101500","#,
        r#""modalities":["CT","SR"],"series":{"#,
        r#""1.2.10":{"study_instance_uid":"1.2","series_instance_uid":"1.2.10","modality":"CT","#,
        r#""series_description":"CT series","body_part_examined":"CHEST","series_date":"20240131","#,
        r#""series_time":"102000","study_date":"20240131","series_number":"10"},"#,
        r#""1.2.2":{"study_instance_uid":"1.2","series_instance_uid":"1.2.2","modality":"SR","#,
        r#""series_description":"SR series","body_part_examined":"CHEST","series_date":"20240131","#,
        r#""series_time":"102000","study_date":"20240131","series_number":"2"},"#,
        r#""1.2.3":{"study_instance_uid":"1.2","series_instance_uid":"1.2.3","modality":"CT","#,
        r#""series_description":"CT series","body_part_examined":"CHEST","series_date":"20240131","#,
        r#""series_time":"102000","study_date":"20240131","series_number":"3"}},"#,
        r#""images":4,"series_count":3}}"#
    );
    assert_eq!(json, expected);
    // Series are ordered by number, not by UID, in the grouping.
    let numbers: Vec<&str> = grouping.studies[0]
        .series
        .iter()
        .map(|s| s.series_number())
        .collect();
    assert_eq!(numbers, ["2", "3", "10"]);
    assert_eq!(grouping.studies[0].byte_total(), 400);
}

#[test]
fn duplicates_keep_the_first_file_added() {
    let grouping = group_instances([
        (
            FileKey::new("b/1", 100),
            meta("1.2", "1.2.1", "1.2.1.1", "CT", "1"),
        ),
        (
            FileKey::new("a/1", 100),
            meta("1.2", "1.2.1", "1.2.1.1", "CT", "1"),
        ),
    ]);
    assert_eq!(grouping.studies[0].image_count(), 1);
    assert_eq!(grouping.studies[0].series[0].instances[0].key.path, "b/1");
    assert_eq!(grouping.skipped.len(), 1);
    assert_eq!(grouping.skipped[0].key.path, "a/1");
    assert_eq!(
        grouping.skipped[0].reason.to_string(),
        "a copy of b/1 (same SOP Instance UID 1.2.1.1): only one is uploaded"
    );
}

#[test]
fn a_patient_count_equal_to_the_studies_gives_each_study_its_own_patient() {
    let tree = StudyTree {
        studies: 3,
        patient_count: Some(3),
        junk: false,
        dicomdir: false,
        ..tree()
    };
    assert_eq!(tree.patients(), 3);
    let grouping = scan_and_group(&files_of(&tree));
    assert_eq!(grouping.studies.len(), 3);
    assert!(grouping.skipped.is_empty(), "{:?}", grouping.skipped);
    let ids: BTreeSet<String> = grouping
        .studies
        .iter()
        .map(|s| s.patient().id.clone())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let warnings = check_patients(&grouping.studies, None);
    let [PatientWarning::SeveralPatients { studies_by_patient }] = warnings.as_slice() else {
        panic!("{warnings:?}");
    };
    assert_eq!(studies_by_patient.len(), 3);
}

#[test]
fn a_hostile_tree_has_an_empty_a_truncated_and_an_absurd_length_file_and_a_markup_name() {
    let tree = StudyTree {
        studies: 2,
        patient_count: Some(2),
        junk: false,
        dicomdir: false,
        hostile: true,
        ..tree()
    };
    let files = files_of(&tree);
    let size = |path: &str| files.iter().find(|(p, _)| p == path).map(|(_, b)| b.len());
    assert_eq!(size(HOSTILE_FILES[0]), Some(0));
    assert!(size(HOSTILE_FILES[1]).is_some_and(|n| n > 132));
    assert!(size(HOSTILE_FILES[2]).is_some_and(|n| n > 132));

    let grouping = scan_and_group(&files);
    assert_eq!(
        grouping.studies.len(),
        2,
        "the hostile files form no study: {:?}",
        grouping.skipped
    );
    let reason = |path: &str| {
        grouping
            .skipped
            .iter()
            .find(|s| s.key.path == path)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{path} is not skipped"))
    };
    assert_eq!(
        reason(HOSTILE_FILES[0]),
        SkipReason::NotDicom {
            why: "the file is empty".to_owned()
        }
    );
    assert!(
        matches!(reason(HOSTILE_FILES[1]), SkipReason::Truncated { .. }),
        "{:?}",
        reason(HOSTILE_FILES[1])
    );
    let SkipReason::BadLength { tag, declared, .. } = reason(HOSTILE_FILES[2]) else {
        panic!("{:?}", reason(HOSTILE_FILES[2]));
    };
    assert_eq!(tag, "(0009,1001)");
    assert_eq!(declared, u64::from(ABSURD_LENGTH));
    assert_eq!(grouping.skipped.len(), 3, "{:?}", grouping.skipped);

    // The first patient's name and description are the markup, read back
    // verbatim (the name's display form too: given name, then family
    // name); the second patient's are plain.
    let hostile = grouping
        .studies
        .iter()
        .find(|s| s.patient().name.raw == HOSTILE_PATIENT_NAME)
        .expect("a study of the hostile patient");
    assert_eq!(
        hostile.patient().name.display,
        "<b>Bold</b> <script>alert('pwned')</script>"
    );
    assert_eq!(hostile.study_description(), HOSTILE_STUDY_DESCRIPTION);
    let plain = grouping
        .studies
        .iter()
        .find(|s| s.patient().name.raw != HOSTILE_PATIENT_NAME)
        .expect("a study of the other patient");
    assert!(!plain.patient().name.raw.contains('<'));
    assert!(!plain.study_description().contains('<'));
}
