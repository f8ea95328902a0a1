//! Person names (VR PN): the raw DICOM form and a display form.

use serde::{Deserialize, Serialize};

/// A DICOM person name, kept raw and shown as a person would write it.
///
/// DICOM writes `Family^Given^Middle^Prefix^Suffix`, optionally followed by
/// ideographic and phonetic groups after `=`. The display form puts the given
/// name first: `Doe^John^Paul^Dr.` → `Dr. John Paul Doe`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PersonName {
    /// The decoded value as stored, e.g. `Doe^John` (padding trimmed).
    pub raw: String,
    /// Given name(s) then family name, e.g. `John Doe`.
    pub display: String,
}

impl PersonName {
    /// Builds both forms from a decoded (Unicode) PN value.
    pub fn from_raw(raw: &str) -> Self {
        let raw = raw.trim();
        let parts = Self::parts_of(raw);
        let display = [parts[3], parts[1], parts[2], parts[0], parts[4]]
            .iter()
            .map(|part| part.trim())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            raw: raw.to_owned(),
            display,
        }
    }

    /// The five components (family, given, middle, prefix, suffix) of the
    /// first non-empty component group of the first value; missing ones are
    /// empty.
    pub fn components(&self) -> [&str; 5] {
        Self::parts_of(&self.raw)
    }

    /// The family name component (the whole name when it has no `^`).
    pub fn family(&self) -> &str {
        self.components()[0]
    }

    /// The given name component.
    pub fn given(&self) -> &str {
        self.components()[1]
    }

    /// Whether the name has no text at all.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    fn parts_of(raw: &str) -> [&str; 5] {
        let first_value = raw.split('\\').next().unwrap_or_default();
        let group = first_value
            .split('=')
            .find(|group| !group.trim_matches(['^', ' ']).is_empty())
            .unwrap_or_default();
        let mut parts = [""; 5];
        for (slot, part) in parts.iter_mut().zip(group.split('^')) {
            *slot = part.trim();
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_given_before_family_with_prefix_and_suffix() {
        let name = PersonName::from_raw("Doe^John^Paul^Dr.^Jr.");
        assert_eq!(name.display, "Dr. John Paul Doe Jr.");
        assert_eq!(name.raw, "Doe^John^Paul^Dr.^Jr.");
        assert_eq!(name.family(), "Doe");
        assert_eq!(name.given(), "John");
    }

    #[test]
    fn uses_the_first_non_empty_component_group() {
        assert_eq!(PersonName::from_raw("=山田^太郎").display, "太郎 山田");
        assert_eq!(
            PersonName::from_raw("Yamada^Tarou=山田^太郎=やまだ^たろう").display,
            "Tarou Yamada"
        );
    }

    #[test]
    fn keeps_unstructured_names_and_empty_names() {
        assert_eq!(PersonName::from_raw("John Doe").display, "John Doe");
        assert_eq!(PersonName::from_raw("Doe^^^^").display, "Doe");
        assert!(PersonName::from_raw("").is_empty());
        assert_eq!(PersonName::from_raw("").display, "");
    }
}
