//! Table tests: every reason a file is skipped, and its sentence.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader_core::scan::{scan_head, RejectRule, Scan, ScanRules, SkipReason};
use auraloader_core::synth::{dicomdir_bytes, SynthFile, SynthSyntax};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{tags, uids};
use std::time::{Duration, Instant};

fn base() -> SynthFile {
    SynthFile::new("1.2.3.4", "1.2.3.4.5", "1.2.3.4.5.6")
}

/// The whole file, scanned at once.
fn scan(bytes: &[u8], name: &str, rules: &ScanRules) -> Scan {
    scan_head(bytes, bytes.len() as u64, name, rules)
}

fn skipped(bytes: &[u8], name: &str) -> SkipReason {
    match scan(bytes, name, &ScanRules::default()) {
        Scan::Skipped(reason) => reason,
        other => panic!("{name}: expected a skip, got {other:?}"),
    }
}

fn not_dicom(why: &str) -> SkipReason {
    SkipReason::NotDicom {
        why: why.to_owned(),
    }
}

/// `DICM` (no preamble) + a short meta declaring `ts`, then `data_set`.
fn dicm(ts: &str, data_set: &[u8]) -> Vec<u8> {
    let mut meta = Vec::new();
    for (element, value) in [(0x0002u16, "1.2"), (0x0003, "1.3"), (0x0010, ts)] {
        let mut value = value.as_bytes().to_vec();
        if value.len() % 2 == 1 {
            value.push(0);
        }
        meta.extend_from_slice(&[0x02, 0x00]);
        meta.extend_from_slice(&element.to_le_bytes());
        meta.extend_from_slice(b"UI");
        meta.extend_from_slice(&(value.len() as u16).to_le_bytes());
        meta.extend_from_slice(&value);
    }
    let mut out = b"DICM".to_vec();
    out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(data_set);
    out
}

/// The same with the 128-byte preamble.
fn part10(ts: &str, data_set: &[u8]) -> Vec<u8> {
    [vec![0u8; 128], dicm(ts, data_set)].concat()
}

fn implicit(tag: Tag, len: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&tag.0.to_le_bytes());
    out.extend_from_slice(&tag.1.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value);
    out
}

#[test]
fn skips_dicomdir_by_name_and_by_media_storage_class() {
    let image = base().to_bytes().unwrap();
    assert_eq!(skipped(&image, "CD/DICOMDIR"), SkipReason::Dicomdir);
    let dicomdir = dicomdir_bytes(&["PAT01/IM1".to_owned()]).unwrap();
    assert_eq!(skipped(&dicomdir, "CD/INDEX"), SkipReason::Dicomdir);
    assert!(SkipReason::Dicomdir.to_string().contains("DICOMDIR"));
}

#[test]
fn says_what_non_dicom_files_are() {
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
    exe.resize(4096, 0x90);
    let mut binary = vec![0x13u8, 0x37, 0xAB, 0xCD];
    binary.resize(300, 0xEE);
    let readme =
        b"This disc contains medical images.\r\nRun VIEWER.EXE to view them.\r\n".repeat(4);
    let cases: [(&[u8], &str, SkipReason); 8] = [
        (b"", "EMPTY", not_dicom("the file is empty")),
        (&readme, "README.TXT", not_dicom("a text file")),
        (
            b"[autorun]\r\nopen=VIEWER.EXE\r\n",
            "AUTORUN.INF",
            not_dicom("a CD autorun settings file"),
        ),
        (
            &exe,
            "VIEWER/VIEWER.EXE",
            not_dicom("a Windows program (such as a CD viewer)"),
        ),
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
            "REPORT.PDF",
            not_dicom("a PDF document"),
        ),
        (
            b"<html><body>viewer</body></html>",
            "INDEX.HTM",
            not_dicom("a web page"),
        ),
        (b"abc", "X", not_dicom("a text file")),
        (
            &binary,
            "DATA.BIN",
            not_dicom("no DICM marker at byte 128 and no DICOM data set at the start"),
        ),
    ];
    for (bytes, name, expected) in cases {
        assert_eq!(skipped(bytes, name), expected, "{name}");
    }
    assert_eq!(
        not_dicom("a text file").to_string(),
        "not a DICOM file: a text file"
    );
}

#[test]
fn rejects_examcards_by_default_and_by_configured_rules() {
    let examcard = base()
        .with(tags::SOP_CLASS_UID, VR::UI, uids::RAW_DATA_STORAGE)
        .with(tags::PROTOCOL_NAME, VR::LO, "ExamCard")
        .to_bytes()
        .unwrap();
    let reason = skipped(&examcard, "XX0001");
    assert_eq!(
        reason,
        SkipReason::Rejected {
            rule: "Philips ExamCard (scanner settings, not images)".to_owned()
        }
    );
    assert_eq!(
        reason.to_string(),
        "left out by rule: Philips ExamCard (scanner settings, not images)"
    );
    // Raw data that is not an ExamCard is kept.
    let raw = base()
        .with(tags::SOP_CLASS_UID, VR::UI, uids::RAW_DATA_STORAGE)
        .with(tags::PROTOCOL_NAME, VR::LO, "SPECTRO")
        .to_bytes()
        .unwrap();
    assert!(matches!(
        scan(&raw, "XX0002", &ScanRules::default()),
        Scan::Instance(_)
    ));
    // No rules: the ExamCard is kept too.
    assert!(matches!(
        scan(&examcard, "XX0001", &ScanRules::accept_all()),
        Scan::Instance(_)
    ));
    // A configured rule.
    let rules = ScanRules {
        reject: vec![RejectRule {
            description: "structured reports".to_owned(),
            sop_class_uid: None,
            protocol_name: None,
            modality: Some("SR".to_owned()),
        }],
        ..ScanRules::default()
    };
    let report = base()
        .with(tags::MODALITY, VR::CS, "SR")
        .to_bytes()
        .unwrap();
    assert_eq!(
        scan(&report, "SR1", &rules),
        Scan::Skipped(SkipReason::Rejected {
            rule: "structured reports".to_owned()
        })
    );
}

#[test]
fn names_every_missing_uid() {
    let cases = [
        (vec![tags::STUDY_INSTANCE_UID], "Study Instance UID"),
        (vec![tags::SERIES_INSTANCE_UID], "Series Instance UID"),
        (vec![tags::SOP_INSTANCE_UID], "SOP Instance UID"),
        (
            vec![tags::STUDY_INSTANCE_UID, tags::SERIES_INSTANCE_UID],
            "Study Instance UID and Series Instance UID",
        ),
    ];
    for (removed, which) in cases {
        for syntax in [SynthSyntax::ExplicitLe, SynthSyntax::ImplicitLe] {
            let file = removed
                .iter()
                .fold(base().syntax(syntax), |file, tag| file.without(*tag))
                .to_bytes()
                .unwrap();
            let reason = skipped(&file, "IM");
            assert_eq!(
                reason,
                SkipReason::MissingUid {
                    which: which.to_owned()
                },
                "{syntax:?}"
            );
            assert_eq!(
                reason.to_string(),
                format!("a DICOM file without {which}: it cannot be placed in a study")
            );
        }
    }
}

#[test]
fn cut_files_are_truncated_not_need_more() {
    let file = base().syntax(SynthSyntax::ImplicitLe).to_bytes().unwrap();
    let name_at = file.windows(8).position(|w| w == b"Doe^Jane").unwrap();
    // The whole file is the cut prefix (file_len says so), cut inside an
    // element header, inside the file meta group, inside a value.
    let reason = skipped(&file[..name_at - 5], "IM");
    assert_eq!(
        reason,
        SkipReason::Truncated {
            offset: name_at as u64 - 8
        }
    );
    assert!(reason.to_string().contains("incomplete"));
    assert!(matches!(
        skipped(&file[..150], "IM"),
        SkipReason::Truncated { .. }
    ));
    assert_eq!(
        skipped(&file[..name_at + 3], "IM"),
        SkipReason::BadLength {
            tag: "(0010,0010)".to_owned(),
            offset: name_at as u64 - 8,
            declared: 8
        }
    );
    // A deflated file cut in its compressed data set.
    let deflated = base().syntax(SynthSyntax::Deflated).to_bytes().unwrap();
    let cut = &deflated[..deflated.len() / 3];
    assert!(
        matches!(
            skipped(cut, "IM"),
            SkipReason::Truncated { .. } | SkipReason::Malformed { .. }
        ),
        "{:?}",
        skipped(cut, "IM")
    );
}

#[test]
fn a_huge_declared_length_is_a_skip_not_an_allocation() {
    // 200 bytes: DICM, implicit VR; Patient's Name declares 0xFFFFFFF0.
    let mut file = dicm(
        uids::IMPLICIT_VR_LITTLE_ENDIAN,
        &implicit(tags::PATIENT_NAME, 0xFFFF_FFF0, b"Doe^John"),
    );
    assert!(file.len() < 200);
    file.resize(200, b' ');
    let started = Instant::now();
    let reason = skipped(&file, "IM");
    assert!(started.elapsed() < Duration::from_secs(2));
    let SkipReason::BadLength {
        tag,
        declared,
        offset,
    } = &reason
    else {
        panic!("{reason:?}");
    };
    assert_eq!(tag, "(0010,0010)");
    assert_eq!(*declared, 0xFFFF_FFF0);
    assert_eq!(
        &file[*offset as usize..*offset as usize + 4],
        &[0x10, 0x00, 0x10, 0x00]
    );
    assert!(reason.to_string().contains("declares 4294967280 bytes"));
    // Given only 150 bytes of it, with the true file length: still a skip.
    assert!(matches!(
        scan_head(&file[..150], 200, "IM", &ScanRules::default()),
        Scan::Skipped(SkipReason::BadLength { .. })
    ));
}

#[test]
fn huge_lengths_anywhere_in_the_header_are_skips() {
    // An element the scanner does not need, explicit VR UT with a 4-byte length.
    let mut explicit = Vec::new();
    explicit.extend_from_slice(&[0x09, 0x00, 0x10, 0x10, b'U', b'T', 0, 0]);
    explicit.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    explicit.resize(64, 0);
    let explicit = part10(uids::EXPLICIT_VR_LITTLE_ENDIAN, &explicit);
    // A sequence item inside an undefined-length sequence.
    let mut item = Vec::new();
    item.extend_from_slice(&[0x08, 0x00, 0x10, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
    item.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
    item.extend_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
    item.resize(64, 0);
    let item = part10(uids::IMPLICIT_VR_LITTLE_ENDIAN, &item);
    for (name, file) in [("explicit", explicit), ("item", item)] {
        assert!(
            matches!(skipped(&file, name), SkipReason::BadLength { .. }),
            "{name}: {:?}",
            skipped(&file, name)
        );
    }
}

#[test]
fn garbage_after_the_dicm_marker_is_malformed() {
    let file = part10(
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        b"\x08\x00\x18\x00\x01\x02\x03\x04garbage!",
    );
    let reason = skipped(&file, "IM");
    assert!(matches!(reason, SkipReason::Malformed { .. }), "{reason:?}");
    assert!(reason.to_string().starts_with("damaged DICOM file: "));
}

#[test]
fn a_header_longer_than_the_limit_is_too_large() {
    let file = base()
        .with(Tag(0x0008, 0x4000), VR::UT, &"x".repeat(50_000))
        .to_bytes()
        .unwrap();
    let rules = ScanRules {
        max_header_bytes: 10_000,
        ..ScanRules::default()
    };
    // The limit is on what the scanner asks for: from a first read, the
    // element after the long one is out of reach.
    let first_read = &file[..8192];
    let len = file.len() as u64;
    assert_eq!(
        scan_head(first_read, len, "IM", &rules),
        Scan::Skipped(SkipReason::HeaderTooLarge { limit: 10_000 })
    );
    assert!(matches!(
        scan_head(first_read, len, "IM", &ScanRules::default()),
        Scan::NeedMore { .. }
    ));
    let deflated = base()
        .syntax(SynthSyntax::Deflated)
        .with(Tag(0x0008, 0x4000), VR::UT, &"x".repeat(50_000))
        .to_bytes()
        .unwrap();
    assert_eq!(
        scan(&deflated, "IM", &rules),
        Scan::Skipped(SkipReason::HeaderTooLarge { limit: 10_000 })
    );
}

#[test]
fn skip_reasons_serialise_with_a_kind() {
    let json = serde_json::to_string(&SkipReason::Duplicate {
        sop_instance_uid: "1.2".to_owned(),
        kept: "A/IM1".to_owned(),
    })
    .unwrap();
    assert_eq!(
        json,
        r#"{"kind":"duplicate","sop_instance_uid":"1.2","kept":"A/IM1"}"#
    );
    assert_eq!(
        serde_json::to_string(&SkipReason::Dicomdir).unwrap(),
        r#"{"kind":"dicomdir"}"#
    );
}
