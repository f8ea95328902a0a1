//! Turning raw attribute bytes into Unicode strings, per Specific Character
//! Set, with dicom-rs's text codecs.

use dicom_encoding::text::{SpecificCharacterSet, TextCodec};

/// The character set named by a Specific Character Set (0008,0005) value.
///
/// The value may hold several terms (`ISO 2022 IR 6\ISO 2022 IR 87`); the
/// first term that dicom-rs knows and that is not the default repertoire
/// wins, because the default repertoire (ASCII) is a subset of all others.
/// Unknown or absent terms give the default, which dicom-rs decodes as
/// ISO 8859-1 (a superset of ASCII), so text is never lost.
pub(crate) fn charset(value: Option<&[u8]>) -> SpecificCharacterSet {
    let Some(value) = value else {
        return SpecificCharacterSet::default();
    };
    String::from_utf8_lossy(value)
        .split('\\')
        .filter_map(|term| SpecificCharacterSet::from_code(term.trim_matches([' ', '\0'])))
        .find(|cs| *cs != SpecificCharacterSet::ISO_IR_6)
        .unwrap_or_default()
}

/// Decodes a value with the character set and trims DICOM padding (spaces,
/// NULs) on both sides. Bytes that the character set cannot decode become
/// `\ooo` escapes (dicom-rs's behaviour), never an error.
pub(crate) fn decode(charset: &SpecificCharacterSet, value: Option<&[u8]>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    let text = charset
        .decode(value)
        .unwrap_or_else(|_| String::from_utf8_lossy(value).into_owned());
    trim(&text).to_owned()
}

/// Trims DICOM padding: spaces, NULs and other whitespace on both sides.
pub(crate) fn trim(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_non_default_term_of_a_multi_valued_charset() {
        assert_eq!(
            charset(Some(b"ISO 2022 IR 6\\ISO 2022 IR 100")),
            SpecificCharacterSet::ISO_IR_100
        );
        assert_eq!(
            charset(Some(b"ISO_IR 192 ")),
            SpecificCharacterSet::ISO_IR_192
        );
        assert_eq!(
            charset(Some(b"NO SUCH SET")),
            SpecificCharacterSet::default()
        );
        assert_eq!(charset(None), SpecificCharacterSet::default());
    }

    #[test]
    fn decodes_latin1_and_trims_padding() {
        let cs = charset(Some(b"ISO_IR 100"));
        assert_eq!(decode(&cs, Some(b"M\xfcller^Hans ")), "Müller^Hans");
        assert_eq!(decode(&cs, Some(b"1.2.3\0")), "1.2.3");
        assert_eq!(decode(&cs, None), "");
    }
}
