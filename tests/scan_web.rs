//! The browser scan driver in a real browser: synthetic DICOM files (the
//! core's `synth` writer) become `File` objects, and `scanFiles` reads their
//! heads, groups them and says why files are skipped.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader::browser::scan::{scan_dropped_files, scan_tuned, DroppedFile, ScanTuning};
use auraloader::browser::worker::Engine;
use auraloader::scan_files;
use auraloader_core::scan::{ScanRules, SkipReason, SUGGESTED_FIRST_READ};
use auraloader_core::synth::{StudyTree, SynthError, SynthFile};
use dicom_dictionary_std::tags;
use js_sys::{Array, Uint8Array};
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A `File` in the browser holding `bytes`.
fn file(bytes: &[u8], name: &str) -> web_sys::File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    web_sys::File::new_with_u8_array_sequence(&parts, name).unwrap()
}

/// Every file of a synthetic tree as (path, File).
fn tree_files(tree: &StudyTree) -> Vec<(String, web_sys::File)> {
    let mut files = Vec::new();
    tree.for_each_file(|path, bytes| {
        let name = path.rsplit('/').next().unwrap_or(path);
        files.push((path.to_owned(), file(bytes, name)));
        Ok::<(), SynthError>(())
    })
    .unwrap();
    files
}

/// Calls the exported `scanFiles` and returns its report as JSON, and the
/// progress reports it made.
async fn scan_report(files: &[(String, web_sys::File)]) -> (Value, Vec<Value>) {
    let blobs: Array = files.iter().map(|(_, f)| JsValue::from(f)).collect();
    let paths: Array = files.iter().map(|(p, _)| JsValue::from_str(p)).collect();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |progress: JsValue| {
        let text = js_sys::JSON::stringify(&progress)
            .unwrap()
            .as_string()
            .unwrap();
        sink.borrow_mut().push(serde_json::from_str(&text).unwrap());
    });
    let report = scan_files(blobs, paths.into(), on_progress.as_ref().clone())
        .await
        .unwrap();
    let text = js_sys::JSON::stringify(&report)
        .unwrap()
        .as_string()
        .unwrap();
    let progress = seen.borrow().clone();
    (serde_json::from_str(&text).unwrap(), progress)
}

fn dropped(files: &[(String, web_sys::File)]) -> Vec<DroppedFile> {
    files
        .iter()
        .map(|(path, file)| DroppedFile {
            blob: file.clone().into(),
            path: path.clone(),
        })
        .collect()
}

fn skipped_kind<'a>(report: &'a Value, path: &str) -> &'a str {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not among the skipped files"))["reason"]["kind"]
        .as_str()
        .unwrap()
}

#[wasm_bindgen_test]
async fn groups_a_cd_into_studies_and_says_why_files_are_skipped() {
    let tree = StudyTree {
        studies: 3,
        series: 2,
        instances: 4,
        pixel_bytes: 32 * 1024,
        junk: true,
        dicomdir: true,
        ..StudyTree::default()
    };
    let files = tree_files(&tree);
    let (report, _) = scan_report(&files).await;

    assert_eq!(report["files"], 3 * 2 * 4 + 4);
    let studies = report["studies"].as_array().unwrap();
    assert_eq!(studies.len(), 3);
    for study in studies {
        assert_eq!(study["images"], 8);
        assert_eq!(study["series_count"], 2);
        assert_eq!(study["series"].as_object().unwrap().len(), 2);
        let uid = study["study_uid"].as_str().unwrap();
        assert!(
            (0..3).any(|s| tree.uid(&[1, s]) == uid),
            "unknown study {uid}"
        );
        assert_eq!(study["institution_name"], "Synthetic Hospital");
    }
    assert_eq!(report["skipped"].as_array().unwrap().len(), 4);
    assert_eq!(skipped_kind(&report, "DICOMDIR"), "dicomdir");
    for junk in ["README.TXT", "AUTORUN.INF", "VIEWER/VIEWER.EXE"] {
        assert_eq!(skipped_kind(&report, junk), "not_dicom", "{junk}");
    }
    for skipped in report["skipped"].as_array().unwrap() {
        assert!(!skipped["message"].as_str().unwrap().is_empty());
        assert!(skipped["size"].as_u64().unwrap() > 0);
    }
}

#[wasm_bindgen_test]
async fn reads_only_the_heads_of_files_with_large_pixel_data() {
    let tree = StudyTree {
        studies: 1,
        series: 2,
        instances: 10,
        pixel_bytes: 2 * 1024 * 1024,
        ..StudyTree::default()
    };
    let files = tree_files(&tree);
    let outcome = scan_dropped_files(&dropped(&files), &ScanRules::default(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(outcome.grouping.studies.len(), 1);
    assert_eq!(outcome.grouping.studies[0].image_count(), 20);
    assert!(outcome.grouping.skipped.is_empty());
    assert!(outcome.bytes_total > 20 * 2 * 1024 * 1024);
    assert!(
        outcome.bytes_read <= 20 * SUGGESTED_FIRST_READ,
        "read {} bytes of {}",
        outcome.bytes_read,
        outcome.bytes_total
    );
    assert!(outcome.bytes_read * 50 < outcome.bytes_total);
}

#[wasm_bindgen_test]
async fn reads_on_when_the_header_is_longer_than_the_first_read() {
    let address = "Long Street ".repeat(4000);
    let bytes = SynthFile::new("1.2.3", "1.2.3.4", "1.2.3.4.5")
        .with(tags::INSTITUTION_ADDRESS, dicom_core::VR::ST, &address)
        .pixel_bytes(1024 * 1024)
        .to_bytes()
        .unwrap();
    let files = vec![("CD/IM0001".to_owned(), file(&bytes, "IM0001"))];
    let outcome = scan_dropped_files(&dropped(&files), &ScanRules::default(), &mut |_| {})
        .await
        .unwrap();
    let study = &outcome.grouping.studies[0];
    let instance = &study.series[0].instances[0];
    assert_eq!(instance.meta.sop_instance_uid, "1.2.3.4.5");
    assert_eq!(instance.meta.institution_address, address.trim());
    assert!(outcome.bytes_read > SUGGESTED_FIRST_READ);
    assert!(
        outcome.bytes_read < bytes.len() as u64 / 4,
        "read {} of {}",
        outcome.bytes_read,
        bytes.len()
    );
}

#[wasm_bindgen_test]
async fn a_study_whose_headers_all_outgrow_the_first_read_scans_the_same() {
    // Every header is longer than a 300-byte first read, so every file of
    // the first batches needs a second read and the first read widens.
    let tree = StudyTree {
        studies: 2,
        series: 2,
        instances: 30,
        pixel_bytes: 64 * 1024,
        junk: true,
        ..StudyTree::default()
    };
    let dropped = dropped(&tree_files(&tree));
    let rules = ScanRules::default();
    let usual = scan_dropped_files(&dropped, &rules, &mut |_| {})
        .await
        .unwrap();
    let small = ScanTuning {
        first_read: 300,
        ..ScanTuning::default()
    };
    for engine in [Engine::shared().await, Engine::MainThread] {
        let outcome = scan_tuned(&engine, &dropped, &rules, small, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(outcome.grouping, usual.grouping);
        assert_eq!(outcome.files, usual.files);
        assert!(outcome.bytes_read < outcome.bytes_total / 20);
    }
    assert_eq!(usual.grouping.studies.len(), 2);
    assert_eq!(usual.grouping.skipped.len(), 3);
}

#[wasm_bindgen_test]
async fn reports_duplicates_and_files_without_uids() {
    let image = SynthFile::new("1.2.3", "1.2.3.4", "1.2.3.4.5")
        .to_bytes()
        .unwrap();
    let no_series = SynthFile::new("1.2.3", "1.2.3.4", "1.2.3.4.6")
        .without(tags::SERIES_INSTANCE_UID)
        .to_bytes()
        .unwrap();
    let files = vec![
        ("A/IM1".to_owned(), file(&image, "IM1")),
        ("B/IM1".to_owned(), file(&image, "IM1")),
        ("A/IM2".to_owned(), file(&no_series, "IM2")),
    ];
    let outcome = scan_dropped_files(&dropped(&files), &ScanRules::default(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(outcome.grouping.studies[0].image_count(), 1);
    let reasons: Vec<(&str, &SkipReason)> = outcome
        .grouping
        .skipped
        .iter()
        .map(|s| (s.key.path.as_str(), &s.reason))
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons.iter().any(|(path, reason)| *path == "A/IM2"
        && matches!(reason, SkipReason::MissingUid { which } if which == "Series Instance UID")));
    assert!(reasons.iter().any(|(path, reason)| *path == "B/IM1"
        && matches!(reason, SkipReason::Duplicate { kept, .. } if kept == "A/IM1")));
}

#[wasm_bindgen_test]
async fn reports_progress_up_to_the_total() {
    let tree = StudyTree {
        studies: 2,
        series: 3,
        instances: 20,
        pixel_bytes: 1024,
        junk: true,
        ..StudyTree::default()
    };
    let files = tree_files(&tree);
    let (report, progress) = scan_report(&files).await;
    let total = files.len() as u64;
    assert!(!progress.is_empty());
    let mut last = 0;
    for step in &progress {
        assert_eq!(step["total"], total);
        let scanned = step["scanned"].as_u64().unwrap();
        assert!(scanned >= last && scanned <= total);
        last = scanned;
    }
    let final_step = progress.last().unwrap();
    assert_eq!(final_step["scanned"], total);
    assert_eq!(final_step["skipped"], 3);
    assert_eq!(report["files"], total);
}

#[wasm_bindgen_test]
async fn names_files_by_their_file_name_when_no_paths_are_given() {
    let image = SynthFile::new("1.2.3", "1.2.3.4", "1.2.3.4.5")
        .to_bytes()
        .unwrap();
    let files: Array = [file(&image, "IM1"), file(b"index", "DICOMDIR")]
        .iter()
        .map(JsValue::from)
        .collect();
    let report = scan_files(files, JsValue::UNDEFINED, JsValue::UNDEFINED)
        .await
        .unwrap();
    let text = js_sys::JSON::stringify(&report)
        .unwrap()
        .as_string()
        .unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["studies"].as_array().unwrap().len(), 1);
    assert_eq!(skipped_kind(&report, "DICOMDIR"), "dicomdir");
}

#[wasm_bindgen_test]
async fn rejects_entries_that_are_not_files() {
    let files = Array::of1(&JsValue::from_f64(3.0));
    let error = scan_files(files, JsValue::UNDEFINED, JsValue::UNDEFINED)
        .await
        .unwrap_err();
    let message = js_sys::Reflect::get(&error, &"message".into()).unwrap();
    assert!(message.as_string().unwrap().contains("files[0]"));
    let _ = error.dyn_into::<js_sys::Error>().unwrap();
}
