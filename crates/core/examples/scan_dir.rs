//! Scans every file under a folder the way the widget does and prints one
//! JSON line of counts and timing; the native half of `cargo xtask bench
//! scan`, and a quick way to try the scanner on a real CD.
//!
//! ```sh
//! cargo run --release -p auraloader-core --example scan_dir -- DIR
//! ```
//!
//! Each file is opened and its head read from disk: `SUGGESTED_FIRST_READ`
//! bytes, then only what the scanner asks for. The files are listed before
//! the clock starts (the browser has its `File` objects before it scans).
//! Prints `{"files":…,"instances":…,"studies":…,"skipped":…,"bytes_read":…,
//! "bytes_total":…,"seconds":…}`; no attribute values.

use auraloader_core::scan::{scan_head, Scan, ScanRules, SkipReason, SUGGESTED_FIRST_READ};
use auraloader_core::study::{FileKey, StudyGrouper};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Folder depth and file count limits of the listing.
const MAX_DEPTH: usize = 32;
const MAX_FILES: usize = 1_000_000;

/// Reads per file before giving up (the scanner at least doubles each ask).
const MAX_READS: usize = 48;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: scan_dir DIR");
        return ExitCode::FAILURE;
    };
    let mut files = Vec::new();
    if let Err(e) = list(&dir, 0, &mut files) {
        eprintln!("scan_dir: cannot list {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    files.sort();
    let rules = ScanRules::default();
    let started = Instant::now();
    let mut grouper = StudyGrouper::new();
    let (mut bytes_read, mut bytes_total) = (0u64, 0u64);
    let mut head = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let (scan, size, read) = scan_file(path, &name, &rules, &mut head);
        bytes_read += read;
        bytes_total += size;
        let key = FileKey::new(name, size);
        match scan {
            Scan::Instance(meta) => grouper.add_instance(key, meta),
            Scan::Skipped(reason) => grouper.add_skipped(key, reason),
            Scan::NeedMore { read_up_to } => {
                grouper.add_skipped(key, SkipReason::Truncated { offset: read_up_to })
            }
        }
    }
    let grouping = grouper.finish();
    let seconds = started.elapsed().as_secs_f64();
    let instances: u64 = grouping.studies.iter().map(|s| s.image_count()).sum();
    let line = serde_json::json!({
        "files": files.len(),
        "instances": instances,
        "studies": grouping.studies.len(),
        "skipped": grouping.skipped.len(),
        "bytes_read": bytes_read,
        "bytes_total": bytes_total,
        "seconds": seconds,
    });
    println!("{line}");
    ExitCode::SUCCESS
}

/// Scans one file from disk; returns the answer, the file size and the
/// bytes read. `head` is a reused buffer.
fn scan_file(path: &Path, name: &str, rules: &ScanRules, head: &mut Vec<u8>) -> (Scan, u64, u64) {
    let unreadable = |e: std::io::Error, size, read| {
        let why = e.kind().to_string();
        (Scan::Skipped(SkipReason::Unreadable { why }), size, read)
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) => return unreadable(e, 0, 0),
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    head.clear();
    let mut want = SUGGESTED_FIRST_READ.min(size);
    for _ in 0..MAX_READS {
        let have = head.len() as u64;
        if let Err(e) = (&mut file).take(want - have).read_to_end(head) {
            return unreadable(e, size, head.len() as u64);
        }
        let read = head.len() as u64;
        match scan_head(head, size, name, rules) {
            Scan::NeedMore { read_up_to } if read_up_to > read => want = read_up_to,
            Scan::NeedMore { .. } => {
                return (
                    Scan::Skipped(SkipReason::Truncated { offset: read }),
                    size,
                    read,
                )
            }
            done => return (done, size, read),
        }
    }
    let limit = rules.max_header_bytes;
    let read = head.len() as u64;
    (
        Scan::Skipped(SkipReason::HeaderTooLarge { limit }),
        size,
        read,
    )
}

/// Lists the files under `dir`, depth-first, within the limits.
fn list(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            list(&path, depth + 1, out)?;
        } else if out.len() < MAX_FILES {
            out.push(path);
        }
    }
    Ok(())
}
