//! Fuzz target: `scan_head` never panics, whatever the bytes, the prefix
//! length and the declared file length, and `NeedMore` always asks for more
//! than it was given and at most the file length.

#![no_main]

use auraloader_core::scan::{scan_head, Scan, ScanRules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first 4 bytes choose how much of the file is given and how much
    // longer the file is than the bytes; the rest is the file.
    let Some((control, file)) = data.split_first_chunk::<4>() else {
        return;
    };
    let given = usize::from(u16::from_le_bytes([control[0], control[1]])) % (file.len() + 1);
    let file_len = file.len() as u64 + u64::from(u16::from_le_bytes([control[2], control[3]]));
    let rules = ScanRules::default();
    for (prefix, len) in [(&file[..given], file_len), (file, file.len() as u64)] {
        if let Scan::NeedMore { read_up_to } = scan_head(prefix, len, "FUZZ", &rules) {
            assert!(read_up_to > prefix.len() as u64, "asked for no new bytes");
            assert!(read_up_to <= len, "asked for more than the file");
        }
    }
});
