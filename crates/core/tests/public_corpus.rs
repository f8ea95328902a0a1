//! Real files checked against another reader: the DICOM test files bundled
//! in the pydicom wheel (see `fixtures/README.md`), scanned the way the
//! widget scans them and compared with what pydicom reads from them.
//!
//! The test makes a temporary Python venv, installs the pinned pydicom into
//! it with pip, and runs `fixtures/pydicom_reference.py`, which lists the
//! bundled files and prints pydicom's values as JSON. It fails (never skips)
//! when Python, venv or pip is unavailable. `PYTHON` names another Python 3.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader_core::scan::SUGGESTED_FIRST_READ;
use auraloader_core::scan::{scan_head, InstanceMeta, Scan, ScanRules, SkipReason};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The pydicom release whose bundled files and values the test uses.
const PYDICOM_VERSION: &str = "3.0.2";

/// Media Storage SOP Class UID of a DICOMDIR.
const DICOMDIR_CLASS: &str = "1.2.840.10008.1.3.10";

/// Files whose outcome may differ from pydicom's, each with the reason.
/// A listed file that agrees with pydicom fails the test, so the list stays
/// true.
///
/// None at present: the multi-byte character sets with ISO 2022 code
/// extensions (chrH32, chrI2, chrKoreanMulti) and the implicit VR data set
/// labelled JPEG Baseline (SC_rgb_jpeg) once were, and now agree.
const EXCEPTIONS: &[(&str, &str)] = &[];

#[derive(Debug, Deserialize)]
struct Reference {
    pydicom: String,
    root: PathBuf,
    files: Vec<ReferenceFile>,
}

#[derive(Debug, Deserialize)]
struct ReferenceFile {
    path: String,
    size: u64,
    read: bool,
    error: Option<String>,
    attributes: Option<Attributes>,
}

/// pydicom's values, named by DICOM keyword.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attributes {
    #[serde(rename = "StudyInstanceUID")]
    study_instance_uid: String,
    #[serde(rename = "SeriesInstanceUID")]
    series_instance_uid: String,
    #[serde(rename = "SOPInstanceUID")]
    sop_instance_uid: String,
    #[serde(rename = "SOPClassUID")]
    sop_class_uid: String,
    #[serde(rename = "MediaStorageSOPClassUID")]
    media_storage_sop_class_uid: String,
    modality: String,
    #[serde(rename = "PatientID")]
    patient_id: String,
    patient_name: String,
    study_date: String,
    number_of_frames: u32,
    #[serde(rename = "TransferSyntaxUID")]
    transfer_syntax_uid: String,
}

impl Attributes {
    /// Our instance's values in the same shape (the file meta class is not
    /// kept by the scanner, so pydicom's is copied).
    fn of(meta: &InstanceMeta, reference: &Self) -> Self {
        Self {
            study_instance_uid: meta.study_instance_uid.clone(),
            series_instance_uid: meta.series_instance_uid.clone(),
            sop_instance_uid: meta.sop_instance_uid.clone(),
            sop_class_uid: meta.sop_class_uid.clone(),
            media_storage_sop_class_uid: reference.media_storage_sop_class_uid.clone(),
            modality: meta.modality.clone(),
            patient_id: meta.patient_id.clone(),
            patient_name: meta.patient_name.raw.clone(),
            study_date: meta.study_date.clone(),
            number_of_frames: meta.number_of_frames,
            transfer_syntax_uid: meta.transfer_syntax_uid.clone(),
        }
    }

    /// The Study, Series and SOP Instance UIDs pydicom did not find.
    fn missing_uids(&self) -> Vec<&'static str> {
        [
            ("Study Instance UID", &self.study_instance_uid),
            ("Series Instance UID", &self.series_instance_uid),
            ("SOP Instance UID", &self.sop_instance_uid),
        ]
        .into_iter()
        .filter(|(_, uid)| uid.is_empty())
        .map(|(name, _)| name)
        .collect()
    }

    fn is_dicomdir(&self) -> bool {
        self.media_storage_sop_class_uid == DICOMDIR_CLASS || self.sop_class_uid == DICOMDIR_CLASS
    }

    /// The names of the attributes whose values differ.
    fn differences(&self, other: &Self) -> Vec<&'static str> {
        let pairs: [(&str, bool); 10] = [
            (
                "StudyInstanceUID",
                self.study_instance_uid == other.study_instance_uid,
            ),
            (
                "SeriesInstanceUID",
                self.series_instance_uid == other.series_instance_uid,
            ),
            (
                "SOPInstanceUID",
                self.sop_instance_uid == other.sop_instance_uid,
            ),
            ("SOPClassUID", self.sop_class_uid == other.sop_class_uid),
            ("Modality", self.modality == other.modality),
            ("PatientID", self.patient_id == other.patient_id),
            (
                "PatientName",
                same_name(&self.patient_name, &other.patient_name),
            ),
            ("StudyDate", self.study_date == other.study_date),
            (
                "NumberOfFrames",
                self.number_of_frames == other.number_of_frames,
            ),
            (
                "TransferSyntaxUID",
                self.transfer_syntax_uid == other.transfer_syntax_uid,
            ),
        ];
        pairs
            .into_iter()
            .filter(|(_, same)| !same)
            .map(|(name, _)| name)
            .collect()
    }
}

/// Person names compared as DICOM defines them: trailing empty components
/// and component groups are insignificant (pydicom drops them, the scanner
/// keeps the value as stored).
fn same_name(a: &str, b: &str) -> bool {
    fn normal(name: &str) -> String {
        let groups: Vec<&str> = name
            .split('=')
            .map(|group| group.trim_end_matches(['^', ' ']))
            .collect();
        let used = groups
            .iter()
            .rposition(|g| !g.is_empty())
            .map_or(0, |i| i + 1);
        groups[..used].join("=")
    }
    normal(a) == normal(b)
}

/// Deletes the temporary venv however the test ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a command to completion within `limit`; returns its stdout, or a
/// message with its stderr.
fn run(cmd: &mut Command, what: &str, limit: Duration) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot {what}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("could not {what} within {} s", limit.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    if status.success() {
        Ok(out)
    } else {
        Err(format!("could not {what} ({status}):\n{err}"))
    }
}

/// pydicom's reference values, from a fresh venv.
fn pydicom_reference(venv: &Path) -> Reference {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let fail = |message: String| -> ! {
        panic!(
            "the public corpus test needs Python 3.10+ with venv and pip, and PyPI \
             (it installs pydicom=={PYDICOM_VERSION} into a temporary venv): {message}"
        )
    };
    run(
        Command::new(&python).args(["-m", "venv"]).arg(venv),
        &format!("create a venv with `{python} -m venv`"),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| fail(e));
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    run(
        Command::new(bin.join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "--only-binary=:all:",
            ])
            .arg(format!("pydicom=={PYDICOM_VERSION}")),
        &format!("pip install pydicom=={PYDICOM_VERSION}"),
        Duration::from_secs(120),
    )
    .unwrap_or_else(|e| fail(e));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pydicom_reference.py");
    let json = run(
        Command::new(bin.join("python")).arg(&script),
        "run fixtures/pydicom_reference.py",
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| fail(e));
    serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("pydicom_reference.py printed unreadable JSON: {e}"))
}

/// Scans like the widget: a first read, then each read the scanner asks
/// for. Returns the answer and the bytes read.
fn scan_like_widget(file: &[u8], name: &str) -> (Scan, u64) {
    let len = file.len() as u64;
    let mut read = SUGGESTED_FIRST_READ.min(len);
    for _ in 0..64 {
        let prefix = &file[..usize::try_from(read).unwrap()];
        match scan_head(prefix, len, name, &ScanRules::default()) {
            Scan::NeedMore { read_up_to } => {
                assert!(
                    read_up_to > read && read_up_to <= len,
                    "{name}: bad NeedMore"
                );
                read = read_up_to;
            }
            other => return (other, read),
        }
    }
    panic!("{name}: still asking for more bytes after 64 reads");
}

/// What the table shows for our outcome: the kind, never patient data.
fn outcome(scan: &Scan) -> String {
    match scan {
        Scan::Instance(_) => "instance".to_owned(),
        Scan::NeedMore { .. } => "need more".to_owned(),
        Scan::Skipped(reason) => match serde_json::to_value(reason) {
            Ok(value) => format!("skipped: {}", value["kind"].as_str().unwrap_or("?")),
            Err(_) => "skipped".to_owned(),
        },
    }
}

/// Whether our skip reason fits what pydicom saw; `None` when it does, else
/// why not.
fn skip_mismatch(reason: &SkipReason, reference: &ReferenceFile, name: &str) -> Option<String> {
    let attributes = reference.attributes.as_ref().filter(|_| reference.read);
    let base = name.rsplit('/').next().unwrap_or(name);
    let dicomdir_name = base.eq_ignore_ascii_case("DICOMDIR");
    let damaged = matches!(
        reason,
        SkipReason::Truncated { .. } | SkipReason::BadLength { .. } | SkipReason::Malformed { .. }
    );
    match attributes {
        Some(a) if a.is_dicomdir() || dicomdir_name => {
            (*reason != SkipReason::Dicomdir).then(|| "pydicom reads a DICOMDIR".to_owned())
        }
        Some(a) if a.missing_uids().is_empty() => {
            Some("pydicom reads all three UIDs, we skip it".to_owned())
        }
        // pydicom found no UID at all (it reads anything with force=True:
        // text files become empty or garbage data sets).
        Some(a) if a.missing_uids().len() == 3 => match reason {
            SkipReason::NotDicom { .. } | SkipReason::MissingUid { .. } => None,
            _ if damaged => None,
            other => Some(format!(
                "pydicom finds no UID; our reason {other:?} does not fit"
            )),
        },
        Some(a) => match reason {
            SkipReason::MissingUid { which } => {
                let ours: BTreeSet<&str> = which.split(" and ").collect();
                let theirs: BTreeSet<&str> = a.missing_uids().into_iter().collect();
                (ours != theirs).then(|| format!("we miss {ours:?}, pydicom misses {theirs:?}"))
            }
            other => Some(format!(
                "pydicom misses some UIDs; our reason {other:?} does not fit"
            )),
        },
        None => match reason {
            SkipReason::NotDicom { .. } => None,
            _ if damaged => None,
            other => Some(format!(
                "pydicom cannot read it; our reason {other:?} does not fit"
            )),
        },
    }
}

#[test]
fn pydicom_bundled_files_scan_to_pydicom_values() {
    let started = Instant::now();
    let venv = TempDir(std::env::temp_dir().join(format!(
        "auraloader-pydicom-{}-{}",
        std::process::id(),
        started.elapsed().as_nanos()
    )));
    let reference = pydicom_reference(&venv.0);
    assert_eq!(reference.pydicom, PYDICOM_VERSION);
    assert!(
        reference.files.len() > 100,
        "pydicom {PYDICOM_VERSION} bundles about 190 files; found {}",
        reference.files.len()
    );

    let mut problems = Vec::new();
    let mut differing: BTreeSet<&str> = BTreeSet::new();
    let (mut compared, mut skipped, mut total_bytes, mut read_bytes) = (0, 0, 0u64, 0u64);
    println!(
        "{:<72} {:>8} {:>8}  {:<22} {:<26} check",
        "file (pydicom/data/…)", "size", "read", "pydicom", "auraloader"
    );
    for file in &reference.files {
        let bytes = std::fs::read(reference.root.join(&file.path)).unwrap();
        assert_eq!(bytes.len() as u64, file.size, "{}", file.path);
        let (scan, read) = scan_like_widget(&bytes, &file.path);
        total_bytes += file.size;
        read_bytes += read;
        let theirs = match (&file.attributes, &file.error) {
            (Some(a), _) if file.read && a.missing_uids().is_empty() => "3 UIDs".to_owned(),
            (Some(a), _) if file.read => format!("{} UIDs", 3 - a.missing_uids().len()),
            (_, Some(error)) => format!("error: {error}"),
            _ => "error".to_owned(),
        };
        let mismatch = match (&scan, &file.attributes) {
            (Scan::Instance(meta), Some(a)) if file.read && a.missing_uids().is_empty() => {
                compared += 1;
                let diff = a.differences(&Attributes::of(meta, a));
                (!diff.is_empty()).then(|| format!("differs in {}", diff.join(", ")))
            }
            (Scan::Instance(_), _) => {
                Some("we read an instance, pydicom finds no 3 UIDs".to_owned())
            }
            (Scan::Skipped(reason), _) => {
                skipped += 1;
                skip_mismatch(reason, file, &file.path)
            }
            (Scan::NeedMore { .. }, _) => Some("still needs more bytes".to_owned()),
        };
        let exception = EXCEPTIONS.iter().find(|(path, _)| *path == file.path);
        let check = match (&mismatch, exception) {
            (None, None) => "ok".to_owned(),
            (Some(why), Some((_, because))) => {
                differing.insert(&file.path);
                format!("exception: {why} ({because})")
            }
            (Some(why), None) => {
                problems.push(format!("{}: {why}", file.path));
                format!("FAIL: {why}")
            }
            (None, Some(_)) => {
                problems.push(format!("{}: listed as an exception but agrees", file.path));
                "FAIL: stale exception".to_owned()
            }
        };
        println!(
            "{:<72} {:>8} {:>8}  {:<22} {:<26} {check}",
            file.path,
            file.size,
            read,
            theirs,
            outcome(&scan)
        );
    }
    for (path, _) in EXCEPTIONS {
        if !reference.files.iter().any(|f| f.path == *path) {
            problems.push(format!(
                "{path}: listed as an exception but not in the corpus"
            ));
        }
    }
    println!(
        "{} files: {compared} compared attribute by attribute, {skipped} skipped, {} exceptions; \
         read {read_bytes} of {total_bytes} bytes; {:.1} s",
        reference.files.len(),
        differing.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(compared >= 100, "only {compared} files compared");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
