//! Patient checks: several patients in a selection, and the host page's
//! `context.patient` against the DICOM patient.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader_core::patient::{
    check_patients, mismatches, ContextPatient, PatientField, PatientWarning,
};
use auraloader_core::scan::{InstanceMeta, PersonName};
use auraloader_core::study::{group_instances, FileKey, Patient, Study};

fn patient(name: &str, birth_date: &str, sex: &str) -> Patient {
    Patient {
        name: PersonName::from_raw(name),
        id: "ID-1".into(),
        birth_date: birth_date.into(),
        sex: sex.into(),
        ..Patient::default()
    }
}

fn context(given: &str, family: &str, dob: &str, sex: &str) -> ContextPatient {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    ContextPatient {
        given_names: some(given),
        family_name: some(family),
        date_of_birth: some(dob),
        sex: some(sex),
    }
}

#[test]
fn compares_the_context_patient_case_and_format_insensitively() {
    use PatientField::{DateOfBirth, Name, Sex};
    let cases: &[(&str, &str, &str, ContextPatient, &[PatientField])] = &[
        // name, birth date, sex (DICOM) | host page | differing fields
        (
            "DOE^JANE",
            "19700102",
            "F",
            context("Jane", "Doe", "1970-01-02", "female"),
            &[],
        ),
        (
            "Doe^Jane^Q^^",
            "19700102",
            "F",
            context("jane q", "DOE", "1970-01-02", "F"),
            &[],
        ),
        (
            "Doe Jane",
            "19700102",
            "F",
            context("Jane", "Doe", "19700102", "f"),
            &[],
        ),
        (
            "Doe^Jane",
            "",
            "",
            context("Jane", "Doe", "1970-01-02", "F"),
            &[],
        ),
        (
            "MULLER^HANS",
            "19650412",
            "M",
            context("Hans", "Müller", "1965-04-12", "male"),
            &[],
        ),
        (
            "van der Berg^Anna",
            "19900101",
            "F",
            context("Anna", "Van-der Berg", "1990-01-01", "F"),
            &[],
        ),
        ("Doe^Jane", "19700102", "F", context("", "", "", ""), &[]),
        (
            "Doe^Jane",
            "19700102",
            "F",
            context("John", "Doe", "1970-01-02", "F"),
            &[Name],
        ),
        (
            "Doe^Jane",
            "19700102",
            "F",
            context("Jane", "Smith", "1970-01-02", "F"),
            &[Name],
        ),
        (
            "Doe^Jane",
            "19700102",
            "F",
            context("Jane", "Doe", "1970-02-01", "F"),
            &[DateOfBirth],
        ),
        (
            "Doe^Jane",
            "19700102",
            "F",
            context("Jane", "Doe", "1970-01-02", "male"),
            &[Sex],
        ),
        (
            "Doe^Jane",
            "19700102",
            "O",
            context("Jane", "Doe", "1970-01-02", "other"),
            &[],
        ),
        (
            "Roe^Rick",
            "19800101",
            "M",
            context("Jane", "Doe", "1970-01-02", "F"),
            &[Name, DateOfBirth, Sex],
        ),
    ];
    for (name, dob, sex, host, expected) in cases {
        assert_eq!(
            mismatches(&patient(name, dob, sex), host),
            *expected,
            "{name} {dob} {sex} vs {host:?}"
        );
    }
}

fn study(uid: &str, name: &str, id: &str, birth_date: &str) -> Vec<(FileKey, InstanceMeta)> {
    vec![(
        FileKey::new(format!("{uid}/1"), 10),
        InstanceMeta {
            patient_name: PersonName::from_raw(name),
            patient_id: id.into(),
            patient_birth_date: birth_date.into(),
            patient_sex: "F".into(),
            study_instance_uid: uid.into(),
            series_instance_uid: format!("{uid}.1"),
            sop_instance_uid: format!("{uid}.1.1"),
            study_date: format!("2024010{}", uid.len()),
            number_of_frames: 1,
            ..InstanceMeta::default()
        },
    )]
}

fn studies(parts: Vec<Vec<(FileKey, InstanceMeta)>>) -> Vec<Study> {
    group_instances(parts.into_iter().flatten()).studies
}

#[test]
fn one_patient_written_differently_is_one_identity() {
    let selection = studies(vec![
        study("1", "Doe^Jane", "ID-1", "19700102"),
        study("22", "DOE^JANE^^^", "id-1 ", "19700102"),
        study("333", "Jane Doe", "ID-1", "1970-01-02"),
    ]);
    assert_eq!(check_patients(&selection, None), vec![]);
}

#[test]
fn warns_when_the_selection_has_several_patients() {
    let selection = studies(vec![
        study("1", "Doe^Jane", "ID-1", "19700102"),
        study("22", "Doe^Jane", "ID-2", "19700102"),
        study("333", "Doe^Jane", "ID-1", "19700102"),
    ]);
    let warnings = check_patients(&selection, None);
    assert_eq!(
        warnings,
        vec![PatientWarning::SeveralPatients {
            studies_by_patient: vec![vec!["1".into(), "333".into()], vec!["22".into()]]
        }]
    );
    let sentence = warnings[0].to_string();
    assert_eq!(
        sentence,
        "the selected studies belong to 2 different patients: remove the studies of other patients before uploading"
    );
}

#[test]
fn warns_per_patient_that_does_not_match_the_page_and_never_shows_patient_data() {
    let selection = studies(vec![
        study("1", "Doe^Jane", "ID-1", "19700102"),
        study("22", "Roe^Rick", "ID-2", "19800101"),
    ]);
    let host = context("Jane", "Doe", "1970-01-02", "");
    let warnings = check_patients(&selection, Some(&host));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(
        warnings[1],
        PatientWarning::ContextMismatch {
            study_uids: vec!["22".into()],
            fields: vec![PatientField::Name, PatientField::DateOfBirth],
        }
    );
    let sentence = warnings[1].to_string();
    assert_eq!(
        sentence,
        "1 selected study does not match this page's patient (name, date of birth): check that these are the right images"
    );
    for warning in &warnings {
        let text = warning.to_string();
        for private in ["Roe", "Rick", "Jane", "Doe", "1980", "ID-2"] {
            assert!(!text.contains(private), "{text}");
        }
    }
}

#[test]
fn reads_the_context_patient_from_the_host_json() {
    let host: ContextPatient = serde_json::from_str(
        r#"{"given_names":"Jane","family_name":"Doe","date_of_birth":"1970-01-02","sex":null}"#,
    )
    .unwrap();
    assert_eq!(host, context("Jane", "Doe", "1970-01-02", ""));
    let empty: ContextPatient = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, ContextPatient::default());
}
