//! Patient checks before upload: do the selected studies belong to one
//! patient, and is it the patient the host page says it is?
//!
//! Warnings are data for the UI ([`PatientWarning`]); their `Display` never
//! contains patient data, so they can be logged or sent with an error.

use crate::study::{Patient, Study};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The patient the host page passes in `context.patient`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextPatient {
    /// Given name(s), e.g. `Jane Q`.
    #[serde(default)]
    pub given_names: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Sex: `M`/`F`/`O`, or `male`/`female`/`other`, any case.
    #[serde(default)]
    pub sex: Option<String>,
}

/// A patient attribute compared with the host page's patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientField {
    /// Given and family names.
    Name,
    /// Date of birth.
    DateOfBirth,
    /// Sex.
    Sex,
}

impl fmt::Display for PatientField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Name => "name",
            Self::DateOfBirth => "date of birth",
            Self::Sex => "sex",
        })
    }
}

/// Something about the patients of the selected studies the user should
/// check before uploading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PatientWarning {
    /// The studies carry more than one patient identity (name, ID and birth
    /// date, normalised).
    SeveralPatients {
        /// Study Instance UIDs grouped by patient identity.
        studies_by_patient: Vec<Vec<String>>,
    },
    /// Studies whose patient differs from the host page's patient.
    ContextMismatch {
        /// The Study Instance UIDs concerned.
        study_uids: Vec<String>,
        /// Which attributes differ.
        fields: Vec<PatientField>,
    },
}

impl fmt::Display for PatientWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SeveralPatients { studies_by_patient } => write!(
                f,
                "the selected studies belong to {} different patients: remove the studies of other patients before uploading",
                studies_by_patient.len()
            ),
            Self::ContextMismatch { study_uids, fields } => {
                let fields: Vec<String> = fields.iter().map(ToString::to_string).collect();
                let studies = if study_uids.len() == 1 {
                    "1 selected study does".to_owned()
                } else {
                    format!("{} selected studies do", study_uids.len())
                };
                write!(
                    f,
                    "{studies} not match this page's patient ({}): check that these are the right images",
                    fields.join(", ")
                )
            }
        }
    }
}

/// A patient identity, normalised so that formatting differences do not
/// count: name tokens (lowercase, sorted, any separator), ID (trimmed,
/// lowercase), birth date (digits only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientIdentity {
    name: Vec<String>,
    id: String,
    birth_date: String,
}

impl PatientIdentity {
    /// The identity of a study's patient.
    pub fn of(patient: &Patient) -> Self {
        let mut name = tokens(&patient.name.raw);
        name.sort();
        Self {
            name,
            id: patient.id.trim().to_lowercase(),
            birth_date: digits(&patient.birth_date),
        }
    }
}

/// Checks the selected studies: one warning if they carry several patient
/// identities, one per differing identity if `context` is given and does not
/// match. Empty values on either side are not compared.
pub fn check_patients(studies: &[Study], context: Option<&ContextPatient>) -> Vec<PatientWarning> {
    // identity → (patient, study uids), in first-seen order.
    let mut identities: Vec<(PatientIdentity, Patient, Vec<String>)> = Vec::new();
    for study in studies {
        let patient = study.patient();
        let identity = PatientIdentity::of(&patient);
        let uid = study.study_instance_uid.clone();
        match identities
            .iter_mut()
            .find(|(known, _, _)| *known == identity)
        {
            Some((_, _, uids)) => uids.push(uid),
            None => identities.push((identity, patient, vec![uid])),
        }
    }
    let mut warnings = Vec::new();
    if identities.len() > 1 {
        warnings.push(PatientWarning::SeveralPatients {
            studies_by_patient: identities.iter().map(|(_, _, uids)| uids.clone()).collect(),
        });
    }
    if let Some(context) = context {
        for (_, patient, uids) in &identities {
            let fields = mismatches(patient, context);
            if !fields.is_empty() {
                warnings.push(PatientWarning::ContextMismatch {
                    study_uids: uids.clone(),
                    fields,
                });
            }
        }
    }
    warnings
}

/// Which attributes of a DICOM patient differ from the host page's patient.
pub fn mismatches(patient: &Patient, context: &ContextPatient) -> Vec<PatientField> {
    let mut fields = Vec::new();
    let given = tokens(context.given_names.as_deref().unwrap_or_default());
    let family = tokens(context.family_name.as_deref().unwrap_or_default());
    if (!given.is_empty() || !family.is_empty())
        && !patient.name.is_empty()
        && !names_match(&patient.name.raw, &given, &family)
    {
        fields.push(PatientField::Name);
    }
    let birth = digits(context.date_of_birth.as_deref().unwrap_or_default());
    let dicom_birth = digits(&patient.birth_date);
    if !birth.is_empty() && !dicom_birth.is_empty() && birth != dicom_birth {
        fields.push(PatientField::DateOfBirth);
    }
    if let (Some(sex), Some(dicom_sex)) = (
        normalise_sex(context.sex.as_deref().unwrap_or_default()),
        normalise_sex(&patient.sex),
    ) {
        if sex != dicom_sex {
            fields.push(PatientField::Sex);
        }
    }
    fields
}

/// Whether a DICOM name (`Family^Given^Middle^…` or free text) is the host's
/// given and family names: the family names are equal and the first given
/// names are equal (when both have one), or failing that, both names have
/// the same words in any order (free-text names, swapped fields).
fn names_match(raw: &str, given: &[String], family: &[String]) -> bool {
    let first_group = raw
        .split('\\')
        .next()
        .unwrap_or_default()
        .split('=')
        .next()
        .unwrap_or_default();
    if first_group.contains('^') {
        let mut parts = first_group.split('^');
        let dicom_family = tokens(parts.next().unwrap_or_default());
        let dicom_given = tokens(parts.next().unwrap_or_default());
        let family_ok = family.is_empty() || dicom_family == family;
        let given_ok = match (given.first(), dicom_given.first()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if family_ok && given_ok {
            return true;
        }
    }
    let mut host: Vec<&String> = given.iter().chain(family).collect();
    let mut dicom = tokens(first_group);
    host.sort();
    dicom.sort();
    host.len() == dicom.len() && host.iter().zip(&dicom).all(|(a, b)| *a == b)
}

/// Lowercase words of a name without Latin diacritics (`Müller` and
/// `MULLER` match), split at anything that is not a letter or digit (`^`,
/// spaces, commas, hyphens, dots).
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase().chars().map(fold).collect::<String>())
        .collect()
}

/// A lowercase Latin letter without its diacritic (`ß` stays: it is a
/// letter of its own, written `ss` only by convention).
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
        'ł' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ş' => 's',
        'ť' | 'ţ' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// The digits of a date: `1970-01-02` and `19700102` both give `19700102`.
fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// `M`/`F`/`O` from DICOM codes or words in any case; `None` if unknown.
fn normalise_sex(text: &str) -> Option<char> {
    match text.trim().to_lowercase().as_str() {
        "m" | "male" | "man" => Some('M'),
        "f" | "female" | "woman" => Some('F'),
        "o" | "other" => Some('O'),
        _ => None,
    }
}
