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
/// `\ooo` escapes (dicom-rs's behaviour), never an error. A value with ISO
/// 2022 escape sequences (code extensions, e.g. `ISO 2022 IR 13\ISO 2022 IR
/// 87` or `\ISO 2022 IR 149`) is decoded piece by piece, each piece with the
/// character set its escape sequence designates.
pub(crate) fn decode(charset: &SpecificCharacterSet, value: Option<&[u8]>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    let text = if value.contains(&ESC) {
        decode_extended(charset, value)
    } else {
        decode_one(charset, value)
    };
    trim(&text).to_owned()
}

const ESC: u8 = 0x1B;

/// The escape sequences (the bytes after ESC) of the ISO 2022 character sets
/// DICOM defines (PS3.3 C.12.1.1.2) that dicom-rs decodes, with their
/// defined terms. JIS X 0201 Romaji (`ESC ( J`) is read as ASCII, which it
/// equals but for two symbols.
const DESIGNATIONS: [(&[u8], &str); 15] = [
    (b"(B", "ISO 2022 IR 6"),
    (b"(J", "ISO 2022 IR 6"),
    (b")I", "ISO 2022 IR 13"),
    (b"$B", "ISO 2022 IR 87"),
    (b"$)C", "ISO 2022 IR 149"),
    (b"$)A", "ISO 2022 IR 58"),
    (b"-A", "ISO 2022 IR 100"),
    (b"-B", "ISO 2022 IR 101"),
    (b"-C", "ISO 2022 IR 109"),
    (b"-D", "ISO 2022 IR 110"),
    (b"-F", "ISO 2022 IR 126"),
    (b"-G", "ISO 2022 IR 127"),
    (b"-H", "ISO 2022 IR 138"),
    (b"-L", "ISO 2022 IR 144"),
    (b"-T", "ISO 2022 IR 166"),
];

fn decode_one(charset: &SpecificCharacterSet, bytes: &[u8]) -> String {
    charset
        .decode(bytes)
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
}

/// Decodes a value with code extensions: the bytes before the first escape
/// sequence with `initial`, each later run with the set its escape sequence
/// designates (an unknown sequence keeps the current set). JIS X 0208 runs
/// keep their escape sequence, which dicom-rs's ISO-2022-JP decoder needs.
fn decode_extended(initial: &SpecificCharacterSet, value: &[u8]) -> String {
    let mut out = String::new();
    let mut current = initial.clone();
    let mut prefix: &[u8] = &[];
    let mut rest = value;
    // Each round consumes at least the ESC byte, so this ends.
    for _ in 0..=value.len() {
        let end = rest.iter().position(|b| *b == ESC).unwrap_or(rest.len());
        let (run, after) = rest.split_at(end);
        if !run.is_empty() {
            if prefix.is_empty() {
                out.push_str(&decode_one(&current, run));
            } else {
                out.push_str(&decode_one(&current, &[prefix, run].concat()));
            }
        }
        let Some(sequence) = after.get(1..) else {
            break;
        };
        // Intermediate bytes (0x20–0x2F), then one final byte.
        let intermediates = sequence
            .iter()
            .take_while(|b| (0x20..=0x2F).contains(*b))
            .count();
        let len = (intermediates + 1).min(sequence.len());
        let designation = &sequence[..len];
        if let Some((_, term)) = DESIGNATIONS.iter().find(|(d, _)| *d == designation) {
            if let Some(charset) = SpecificCharacterSet::from_code(term) {
                current = charset;
                prefix = if *term == "ISO 2022 IR 87" {
                    &after[..=len]
                } else {
                    &[]
                };
            }
        }
        rest = &sequence[len..];
    }
    out
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
    fn decodes_japanese_code_extensions_piece_by_piece() {
        let cs = charset(Some(b"ISO 2022 IR 13\\ISO 2022 IR 87"));
        let value = b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\
                      \x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J";
        assert_eq!(
            decode(&cs, Some(value)),
            "\u{ff94}\u{ff8f}\u{ff80}\u{ff9e}^\u{ff80}\u{ff9b}\u{ff73}=山田^太郎=やまだ^たろう"
        );
    }

    #[test]
    fn decodes_korean_code_extensions_without_escape_residue() {
        let cs = charset(Some(b"\\ISO 2022 IR 149"));
        let value = b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\
                      \x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf";
        assert_eq!(decode(&cs, Some(value)), "Hong^Gildong=洪^吉洞=홍^길동");
    }

    #[test]
    fn survives_unknown_and_cut_escape_sequences() {
        let cs = charset(None);
        assert_eq!(decode(&cs, Some(b"A\x1b$(DB")), "AB");
        assert_eq!(decode(&cs, Some(b"A\x1b")), "A");
        assert_eq!(decode(&cs, Some(b"\x1b\x1b\x1b")), "");
        assert_eq!(decode(&cs, Some(b"A\x1b(BC")), "AC");
    }

    #[test]
    fn decodes_latin1_and_trims_padding() {
        let cs = charset(Some(b"ISO_IR 100"));
        assert_eq!(decode(&cs, Some(b"M\xfcller^Hans ")), "Müller^Hans");
        assert_eq!(decode(&cs, Some(b"1.2.3\0")), "1.2.3");
        assert_eq!(decode(&cs, None), "");
    }
}
