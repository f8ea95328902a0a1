//! Saying what a file that is not DICOM probably is, so the skip reason is
//! something a person recognises ("a Windows program"), not a parser error.

/// A short description of a non-DICOM file from its first bytes and name.
pub(crate) fn describe(head: &[u8], file_name: &str) -> String {
    let name = base_name(file_name).to_ascii_lowercase();
    let what = if head.starts_with(b"MZ") {
        "a Windows program (such as a CD viewer)"
    } else if head.starts_with(b"\x7fELF") {
        "a Linux program"
    } else if head.starts_with(&[0xCF, 0xFA, 0xED, 0xFE])
        || head.starts_with(&[0xCA, 0xFE, 0xBA, 0xBE])
    {
        "a macOS program"
    } else if head.starts_with(b"%PDF") {
        "a PDF document"
    } else if head.starts_with(b"PK\x03\x04") {
        "a zip archive: unzip it and add the folder instead"
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "a JPEG picture"
    } else if head.starts_with(b"\x89PNG") {
        "a PNG picture"
    } else if looks_like_text(head) {
        if name.ends_with(".inf") {
            "a CD autorun settings file"
        } else if name.ends_with(".htm") || name.ends_with(".html") {
            "a web page"
        } else {
            "a text file"
        }
    } else {
        "no DICM marker at byte 128 and no DICOM data set at the start"
    };
    what.to_owned()
}

/// The last path component, for `/` and `\` separators.
pub(crate) fn base_name(file_name: &str) -> &str {
    file_name.rsplit(['/', '\\']).next().unwrap_or(file_name)
}

/// Whether the head is plausibly text: valid UTF-8 (allowing a cut
/// character at the end) without control characters other than whitespace.
fn looks_like_text(head: &[u8]) -> bool {
    let sample = head.get(..head.len().min(512)).unwrap_or(head);
    let valid = match std::str::from_utf8(sample) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(sample.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or("")
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\x0c'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_non_dicom_files() {
        assert_eq!(
            describe(b"MZ\x90\0", "VIEWER.EXE"),
            "a Windows program (such as a CD viewer)"
        );
        assert_eq!(
            describe(b"[autorun]\r\nopen=x.exe", "AUTORUN.INF"),
            "a CD autorun settings file"
        );
        assert_eq!(
            describe(b"This CD holds images", "README.TXT"),
            "a text file"
        );
        assert!(describe(&[0, 1, 2, 3, 0xFF], "x").starts_with("no DICM marker"));
    }

    #[test]
    fn base_name_handles_both_separators() {
        assert_eq!(base_name("a/b\\DICOMDIR"), "DICOMDIR");
        assert_eq!(base_name("DICOMDIR"), "DICOMDIR");
    }
}
