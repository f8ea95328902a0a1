//! Properties over hostile input: `scan_head` never panics, and `NeedMore`
//! always asks for more than it was given and at most the file length, so a
//! caller's read loop always ends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader_core::scan::{scan_head, Scan, ScanRules};
use auraloader_core::synth::{Layout, SynthFile, SynthSyntax};
use dicom_core::VR;
use dicom_dictionary_std::tags;
use proptest::prelude::*;
use std::sync::OnceLock;

/// Checks the NeedMore contract for one call.
fn check(bytes: &[u8], file_len: u64, name: &str) -> Scan {
    let given = (bytes.len() as u64).min(file_len);
    let scan = scan_head(bytes, file_len, name, &ScanRules::default());
    if let Scan::NeedMore { read_up_to } = scan {
        assert!(
            read_up_to > given,
            "asked for {read_up_to} with {given} given"
        );
        assert!(
            read_up_to <= file_len,
            "asked for {read_up_to} of {file_len}"
        );
    }
    scan
}

/// Runs the widget's read loop over a whole (possibly mutated) file.
fn read_loop(file: &[u8], first: usize) {
    let len = file.len() as u64;
    let mut read = first.min(file.len());
    let mut rounds = 0;
    while let Scan::NeedMore { read_up_to } = check(&file[..read], len, "IM") {
        read = read_up_to as usize;
        rounds += 1;
        assert!(rounds < 64, "too many rounds");
    }
}

/// Valid files of every kind, built once.
fn valid_files() -> &'static Vec<Vec<u8>> {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut files = Vec::new();
        for syntax in SynthSyntax::ALL {
            for layout in [
                Layout::Part10,
                Layout::NoPreamble,
                Layout::BareMeta,
                Layout::NoMeta,
            ] {
                let file = SynthFile::new("1.2.3", "1.2.3.4", "1.2.3.4.5")
                    .syntax(syntax)
                    .layout(layout)
                    .with(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192")
                    .with(tags::PATIENT_NAME, VR::PN, "山田^太郎")
                    .pixel_bytes(300);
                if let Ok(bytes) = file.to_bytes() {
                    files.push(bytes);
                }
            }
        }
        files
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        extra in 0u64..5000,
        name in "[A-Za-z0-9./]{0,12}",
    ) {
        check(&bytes, bytes.len() as u64 + extra, &name);
        check(&bytes, bytes.len() as u64, &name);
    }

    #[test]
    fn arbitrary_bytes_after_dicm_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..600),
        extra in 0u64..5000,
    ) {
        let mut bytes = vec![0u8; 128];
        bytes.extend_from_slice(b"DICM");
        bytes.extend_from_slice(&tail);
        check(&bytes, bytes.len() as u64 + extra, "IM");
        check(&bytes, bytes.len() as u64, "IM");
        bytes.drain(..128);
        check(&bytes, bytes.len() as u64, "IM");
    }

    #[test]
    fn mutated_valid_files_never_panic_and_the_read_loop_ends(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        first in 0usize..700,
    ) {
        let mut file = which.get(valid_files()).clone();
        for (at, value) in &mutations {
            let at = at.index(file.len());
            file[at] = *value;
        }
        read_loop(&file, first);
        let cut = cut.index(file.len() + 1);
        read_loop(&file[..cut], first);
    }
}
