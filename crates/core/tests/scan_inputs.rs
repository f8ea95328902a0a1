//! Table tests: every input kind the scanner reads, built with the `synth`
//! writer (dicom-rs), scanned from prefixes the way the widget reads them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader_core::scan::{scan_head, InstanceMeta, Scan, ScanRules, SUGGESTED_FIRST_READ};
use auraloader_core::synth::{Layout, SynthFile, SynthSyntax};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;

/// Scans like the widget: a first read, then each read asked for. Returns
/// the answer and how many bytes were read.
fn scan_like_widget(file: &[u8], first_read: u64) -> (Scan, u64) {
    let len = file.len() as u64;
    let mut read = first_read.min(len);
    loop {
        match scan_head(&file[..read as usize], len, "IM0001", &ScanRules::default()) {
            Scan::NeedMore { read_up_to } => {
                assert!(
                    read_up_to > read && read_up_to <= len,
                    "asked for {read_up_to} after {read} of {len}"
                );
                read = read_up_to;
            }
            other => return (other, read),
        }
    }
}

fn instance(file: &[u8]) -> InstanceMeta {
    match scan_like_widget(file, SUGGESTED_FIRST_READ).0 {
        Scan::Instance(meta) => meta,
        other => panic!("expected an instance, got {other:?}"),
    }
}

fn base() -> SynthFile {
    SynthFile::new("1.2.3.4", "1.2.3.4.5", "1.2.3.4.5.6")
}

const LAYOUTS: [Layout; 4] = [
    Layout::Part10,
    Layout::NoPreamble,
    Layout::BareMeta,
    Layout::NoMeta,
];

/// Every (syntax, layout) pair the writer supports, with its bytes.
fn every_kind(file: &SynthFile) -> Vec<(String, SynthSyntax, Layout, Vec<u8>)> {
    let mut out = Vec::new();
    for syntax in SynthSyntax::ALL {
        for layout in LAYOUTS {
            let no_meta_unsupported = layout == Layout::NoMeta
                && matches!(syntax, SynthSyntax::Deflated | SynthSyntax::JpegBaseline);
            if no_meta_unsupported {
                continue;
            }
            let bytes = file
                .clone()
                .syntax(syntax)
                .layout(layout)
                .to_bytes()
                .unwrap();
            out.push((format!("{syntax:?} {layout:?}"), syntax, layout, bytes));
        }
    }
    out
}

/// Offset of the first occurrence of a tag in either byte order.
fn find_tag(file: &[u8], tag: Tag, big_endian: bool) -> usize {
    let pattern: Vec<u8> = if big_endian {
        [tag.0.to_be_bytes(), tag.1.to_be_bytes()].concat()
    } else {
        [tag.0.to_le_bytes(), tag.1.to_le_bytes()].concat()
    };
    file.windows(4)
        .position(|w| w == pattern)
        .expect("tag present")
}

#[test]
fn reads_every_transfer_syntax_in_every_layout() {
    for (context, syntax, _, file) in every_kind(&base()) {
        let meta = instance(&file);
        assert_eq!(meta.study_instance_uid, "1.2.3.4", "{context}");
        assert_eq!(meta.series_instance_uid, "1.2.3.4.5", "{context}");
        assert_eq!(meta.sop_instance_uid, "1.2.3.4.5.6", "{context}");
        assert_eq!(meta.sop_class_uid, uids::CT_IMAGE_STORAGE, "{context}");
        assert_eq!(meta.patient_name.display, "Jane Doe", "{context}");
        assert_eq!(meta.patient_name.raw, "Doe^Jane", "{context}");
        assert_eq!(meta.patient_birth_date, "19700102", "{context}");
        assert_eq!(meta.modality, "CT", "{context}");
        assert_eq!(meta.number_of_frames, 1, "{context}");
        assert_eq!(meta.file_size, file.len() as u64, "{context}");
        // Without file meta, the syntax is the one recognised from the bytes.
        assert_eq!(meta.transfer_syntax_uid, syntax.uid(), "{context}");
    }
}

#[test]
fn every_prefix_asks_for_more_or_gives_the_final_answer() {
    for (context, _, _, file) in every_kind(&base().pixel_bytes(64)) {
        let len = file.len() as u64;
        let last = scan_head(&file, len, "IM0001", &ScanRules::default());
        assert!(matches!(last, Scan::Instance(_)), "{context}: {last:?}");
        for cut in 0..file.len() {
            match scan_head(&file[..cut], len, "IM0001", &ScanRules::default()) {
                Scan::NeedMore { read_up_to } => assert!(
                    read_up_to > cut as u64 && read_up_to <= len,
                    "{context}: asked for {read_up_to} with {cut} of {len}"
                ),
                other => assert_eq!(other, last, "{context}: prefix of {cut} bytes"),
            }
        }
    }
}

#[test]
fn never_needs_pixel_data_or_elements_after_number_of_frames() {
    let comments = "x".repeat(100_000);
    let file = base()
        .pixel_bytes(300_000)
        .with(Tag(0x0032, 0x4000), VR::UT, &comments);
    for (context, syntax, _, bytes) in every_kind(&file) {
        if syntax == SynthSyntax::Deflated {
            continue; // compressed: offsets of tags are not visible
        }
        let big_endian = syntax == SynthSyntax::ExplicitBe;
        let comments_at = find_tag(&bytes, Tag(0x0032, 0x4000), big_endian);
        let pixels_at = find_tag(&bytes, tags::PIXEL_DATA, big_endian);
        assert!(comments_at < pixels_at, "{context}");
        // The prefix up to and including the first tag past Number of Frames
        // (Rows, written before the comments) is enough.
        let rows_at = find_tag(&bytes, tags::ROWS, big_endian);
        let scan = scan_head(
            &bytes[..rows_at + 4],
            bytes.len() as u64,
            "IM",
            &ScanRules::default(),
        );
        assert!(matches!(scan, Scan::Instance(_)), "{context}: {scan:?}");
        // Read like the widget from a small first read: reads grow by
        // doubling, so at most twice the prefix needed, and never the
        // 100 kB element.
        let needed = rows_at as u64 + 4;
        let (scan, read) = scan_like_widget(&bytes, 256);
        assert!(matches!(scan, Scan::Instance(_)), "{context}");
        assert!(
            read <= 2 * needed,
            "{context}: read {read} bytes, {needed} needed"
        );
    }
}

#[test]
fn deflated_files_inflate_only_a_prefix() {
    let file = base()
        .syntax(SynthSyntax::Deflated)
        .pixel_bytes(2_000_000)
        .to_bytes()
        .unwrap();
    let (scan, read) = scan_like_widget(&file, 1024);
    assert!(matches!(scan, Scan::Instance(_)), "{scan:?}");
    assert!(
        read <= SUGGESTED_FIRST_READ,
        "read {read} of {} bytes",
        file.len()
    );
}

#[test]
fn reads_number_of_frames_of_encapsulated_multi_frame_files() {
    for frames in ["12", " 3 "] {
        let file = base()
            .syntax(SynthSyntax::JpegBaseline)
            .with(tags::NUMBER_OF_FRAMES, VR::IS, frames)
            .pixel_bytes(12 * 1000)
            .to_bytes()
            .unwrap();
        assert_eq!(
            instance(&file).number_of_frames,
            frames.trim().parse::<u32>().unwrap()
        );
    }
    for bad in ["0", "many", ""] {
        let file = base()
            .with(tags::NUMBER_OF_FRAMES, VR::IS, bad)
            .to_bytes()
            .unwrap();
        assert_eq!(instance(&file).number_of_frames, 1, "{bad:?}");
    }
}

#[test]
fn decodes_specific_character_sets() {
    let cases = [
        (
            "ISO_IR 100",
            "Müller^Hans",
            "Hans Müller",
            Some(&b"M\xfcller"[..]),
        ),
        (
            "ISO_IR 192",
            "山田^太郎",
            "太郎 山田",
            Some("山田".as_bytes()),
        ),
        (
            "ISO_IR 192",
            "Παπαδόπουλος^Νίκος",
            "Νίκος Παπαδόπουλος",
            None,
        ),
        (
            "ISO_IR 126",
            "Παπαδόπουλος^Νίκος",
            "Νίκος Παπαδόπουλος",
            Some(&b"\xd0\xe1\xf0"[..]),
        ),
        ("ISO_IR 144", "Иванов^Иван", "Иван Иванов", None),
    ];
    for (charset, raw, display, encoded) in cases {
        for syntax in [
            SynthSyntax::ExplicitLe,
            SynthSyntax::ImplicitLe,
            SynthSyntax::ExplicitBe,
        ] {
            let file = base()
                .syntax(syntax)
                .with(tags::SPECIFIC_CHARACTER_SET, VR::CS, charset)
                .with(tags::PATIENT_NAME, VR::PN, raw)
                .with(tags::INSTITUTION_NAME, VR::LO, raw)
                .to_bytes()
                .unwrap();
            if let Some(encoded) = encoded {
                assert!(
                    file.windows(encoded.len()).any(|w| w == encoded),
                    "{charset}: the writer did not encode the name in the character set"
                );
            }
            let meta = instance(&file);
            assert_eq!(meta.patient_name.raw, raw, "{charset} {syntax:?}");
            assert_eq!(meta.patient_name.display, display, "{charset} {syntax:?}");
            assert_eq!(meta.institution_name, raw, "{charset} {syntax:?}");
        }
    }
}

#[test]
fn reads_every_attribute_of_the_list() {
    let file = base()
        .with(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192")
        .with(tags::PATIENT_NAME, VR::PN, "Doe^John^Paul^Dr.")
        .with(tags::PATIENT_ID, VR::LO, "ID-42")
        .with(Tag(0x0010, 0x1000), VR::LO, "A1\\B2")
        .with(tags::PATIENT_BIRTH_DATE, VR::DA, "19600101")
        .with(tags::PATIENT_SEX, VR::CS, "M")
        .with(tags::ISSUER_OF_PATIENT_ID, VR::LO, "HOSP")
        .with(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "House^Gregory")
        .with(tags::INSTITUTION_NAME, VR::LO, "General")
        .with(tags::INSTITUTION_ADDRESS, VR::ST, "1 Main St")
        .with(tags::STUDY_DESCRIPTION, VR::LO, "HEAD")
        .with(tags::PROTOCOL_NAME, VR::LO, "T1 SE")
        .with(tags::ACCESSION_NUMBER, VR::SH, "ACC9")
        .with(tags::STUDY_ID, VR::SH, "S7")
        .with(tags::STUDY_DATE, VR::DA, "20240102")
        .with(tags::STUDY_TIME, VR::TM, "101112.5")
        .with(tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, "+0100")
        .with(tags::SERIES_DESCRIPTION, VR::LO, "AX T1")
        .with(tags::SERIES_NUMBER, VR::IS, "301")
        .with(tags::SERIES_DATE, VR::DA, "20240103")
        .with(tags::SERIES_TIME, VR::TM, "121314")
        .with(tags::MODALITY, VR::CS, "MR")
        .with(tags::BODY_PART_EXAMINED, VR::CS, "BRAIN")
        .with(tags::SOP_CLASS_UID, VR::UI, uids::MR_IMAGE_STORAGE)
        .with(tags::NUMBER_OF_FRAMES, VR::IS, "2")
        .to_bytes()
        .unwrap();
    let m = instance(&file);
    let expected = InstanceMeta {
        patient_name: auraloader_core::scan::PersonName::from_raw("Doe^John^Paul^Dr."),
        patient_id: "ID-42".into(),
        other_patient_ids: "A1\\B2".into(),
        patient_birth_date: "19600101".into(),
        patient_sex: "M".into(),
        issuer_of_patient_id: "HOSP".into(),
        referring_physician_name: auraloader_core::scan::PersonName::from_raw("House^Gregory"),
        institution_name: "General".into(),
        institution_address: "1 Main St".into(),
        study_description: "HEAD".into(),
        protocol_name: "T1 SE".into(),
        accession_number: "ACC9".into(),
        study_id: "S7".into(),
        study_date: "20240102".into(),
        study_time: "101112.5".into(),
        timezone_offset_from_utc: "+0100".into(),
        series_description: "AX T1".into(),
        series_number: "301".into(),
        series_date: "20240103".into(),
        series_time: "121314".into(),
        modality: "MR".into(),
        body_part_examined: "BRAIN".into(),
        study_instance_uid: "1.2.3.4".into(),
        series_instance_uid: "1.2.3.4.5".into(),
        sop_instance_uid: "1.2.3.4.5.6".into(),
        sop_class_uid: uids::MR_IMAGE_STORAGE.into(),
        transfer_syntax_uid: uids::EXPLICIT_VR_LITTLE_ENDIAN.into(),
        number_of_frames: 2,
        file_size: file.len() as u64,
    };
    assert_eq!(m, expected);
    assert_eq!(m.patient_name.display, "Dr. John Paul Doe");
    assert_eq!(m.referring_physician_name.display, "Gregory House");
}

/// A data set with sequences (nested, undefined length) before the patient
/// attributes, written by dicom-rs.
fn with_sequences(syntax: &str) -> Vec<u8> {
    let item = |uid: &str| {
        InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(uids::CT_IMAGE_STORAGE),
            ),
            DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(uid),
            ),
            // A top-level tag inside an item must not be taken.
            DataElement::new(
                tags::PATIENT_NAME,
                VR::PN,
                PrimitiveValue::from("Wrong^Person"),
            ),
        ])
    };
    let nested = InMemDicomObject::from_element_iter([DataElement::new(
        tags::REFERENCED_IMAGE_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item("9.9.1"), item("9.9.2")]),
    )]);
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uids::CT_IMAGE_STORAGE),
        ),
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("5.6.7"),
        ),
        DataElement::new(
            tags::REFERENCED_STUDY_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![nested, item("9.9.3")]),
        ),
        DataElement::new(
            tags::PROCEDURE_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(Vec::<InMemDicomObject>::new()),
        ),
        DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from("Right^Person"),
        ),
        DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("5.6"),
        ),
        DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("5.6.1"),
        ),
    ]);
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(syntax))
        .unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}

#[test]
fn skips_sequences_and_ignores_attributes_inside_items() {
    for syntax in [
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        uids::IMPLICIT_VR_LITTLE_ENDIAN,
        "1.2.840.10008.1.2.2",
        uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    ] {
        let file = with_sequences(syntax);
        for first_read in [1, 200, SUGGESTED_FIRST_READ] {
            let (scan, _) = scan_like_widget(&file, first_read);
            let Scan::Instance(meta) = scan else {
                panic!("{syntax}: {scan:?}");
            };
            assert_eq!(meta.patient_name.raw, "Right^Person", "{syntax}");
            assert_eq!(meta.series_instance_uid, "5.6.1", "{syntax}");
        }
    }
}

#[test]
fn takes_the_sop_instance_uid_from_the_file_meta_when_the_data_set_lacks_it() {
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("5.6"),
        ),
        DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("5.6.1"),
        ),
    ]);
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)
                .media_storage_sop_instance_uid("5.6.1.1"),
        )
        .unwrap();
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).unwrap();
    let meta = instance(&bytes);
    assert_eq!(meta.sop_instance_uid, "5.6.1.1");
    assert_eq!(meta.sop_class_uid, uids::SECONDARY_CAPTURE_IMAGE_STORAGE);
}

#[test]
fn reads_data_sets_whose_encoding_contradicts_the_file_meta() {
    // The file meta (and preamble) of an explicit VR file…
    let explicit = base().syntax(SynthSyntax::JpegBaseline).to_bytes().unwrap();
    let meta_len = u32::from_le_bytes(explicit[140..144].try_into().unwrap()) as usize;
    let meta_end = 144 + meta_len;
    // …before the data set of an implicit VR file (as some writers do), and
    // the reverse.
    let implicit = base()
        .syntax(SynthSyntax::ImplicitLe)
        .layout(Layout::NoMeta)
        .to_bytes()
        .unwrap();
    let mislabelled_implicit = [&explicit[..meta_end], &implicit[..]].concat();
    let implicit_file = base().syntax(SynthSyntax::ImplicitLe).to_bytes().unwrap();
    let implicit_meta_end =
        144 + u32::from_le_bytes(implicit_file[140..144].try_into().unwrap()) as usize;
    let explicit_set = base()
        .layout(Layout::NoMeta)
        .pixel_bytes(64 * 1024)
        .to_bytes()
        .unwrap();
    let mislabelled_explicit = [&implicit_file[..implicit_meta_end], &explicit_set[..]].concat();
    for (name, file, syntax) in [
        (
            "implicit labelled JPEG",
            mislabelled_implicit,
            uids::JPEG_BASELINE8_BIT,
        ),
        (
            "explicit labelled implicit",
            mislabelled_explicit,
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
        ),
    ] {
        let meta = instance(&file);
        assert_eq!(meta.sop_instance_uid, "1.2.3.4.5.6", "{name}");
        assert_eq!(meta.patient_name.raw, "Doe^Jane", "{name}");
        assert_eq!(
            meta.transfer_syntax_uid, syntax,
            "{name}: the label is reported"
        );
    }
}
