//! `cargo xtask gen-study`: writes a deterministic folder of synthetic DICOM
//! studies (plus, on request, CD junk and a DICOMDIR) for tests, end-to-end
//! runs and benchmarks. The files come from `auraloader_core::synth`.

use auraloader_core::synth::{StudyTree, SynthError, SynthSyntax};
use std::path::{Path, PathBuf};

/// Usage of the subcommand.
pub const USAGE: &str = "usage: cargo xtask gen-study --out DIR [options]

options:
  --studies N          studies (default 2)
  --patients N         patients (default ceil(studies / 2)); study s belongs to patient s % N,
                       so --patients equal to --studies gives every study its own patient
  --series N           series per study (default 3)
  --instances N        instances per series (default 10)
  --pixel-bytes N      pixel payload per instance (default 65536)
  --transfer-syntax S  explicit-le | implicit-le | explicit-be | deflated | jpeg-baseline
  --no-preamble        write DICM at byte 0 (no 128-byte preamble)
  --junk               add README.TXT, AUTORUN.INF and VIEWER/VIEWER.EXE
  --dicomdir           add a DICOMDIR
  --hostile            add HOSTILE/EMPTY.DCM (0 bytes), HOSTILE/TRUNCATED.DCM (cut inside its
                       header) and HOSTILE/BADLENGTH.DCM (an element declaring 4 GiB), and give
                       the first patient's studies HTML/script markup as name and description
  --seed S             seed of every UID, name and byte (default 1)";

/// Parsed options: the tree and where to write it.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    /// Output folder (created; existing files with the same names are replaced).
    pub out: PathBuf,
    /// What to generate.
    pub tree: StudyTree,
}

impl Options {
    /// Parses the subcommand's arguments.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        let mut tree = StudyTree::default();
        let mut out = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
            };
            let number = |name: &str, text: String| {
                text.parse::<u64>()
                    .map_err(|_| format!("{name} must be a whole number, not {text:?}"))
            };
            match arg.as_str() {
                "--out" => out = Some(PathBuf::from(value("--out")?)),
                "--studies" => tree.studies = to_usize(number(arg, value(arg)?)?)?,
                "--patients" => {
                    let n = to_usize(number(arg, value(arg)?)?)?;
                    if n == 0 {
                        return Err(format!("--patients must be at least 1\n\n{USAGE}"));
                    }
                    tree.patient_count = Some(n);
                }
                "--series" => tree.series = to_usize(number(arg, value(arg)?)?)?,
                "--instances" => tree.instances = to_usize(number(arg, value(arg)?)?)?,
                "--pixel-bytes" => tree.pixel_bytes = to_usize(number(arg, value(arg)?)?)?,
                "--seed" => tree.seed = number(arg, value(arg)?)?,
                "--transfer-syntax" => {
                    let name = value(arg)?;
                    tree.syntax = SynthSyntax::from_name(&name)
                        .ok_or_else(|| format!("unknown transfer syntax {name:?}\n\n{USAGE}"))?;
                }
                "--no-preamble" => tree.preamble = false,
                "--junk" => tree.junk = true,
                "--dicomdir" => tree.dicomdir = true,
                "--hostile" => tree.hostile = true,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
            }
        }
        let out = out.ok_or_else(|| format!("--out is required\n\n{USAGE}"))?;
        Ok(Self { out, tree })
    }
}

fn to_usize(n: u64) -> Result<usize, String> {
    usize::try_from(n).map_err(|_| format!("{n} is too large"))
}

/// Why writing the tree failed.
enum GenError {
    Synth(SynthError),
    Io(String),
}

impl From<SynthError> for GenError {
    fn from(error: SynthError) -> Self {
        Self::Synth(error)
    }
}

/// Parses the arguments and writes the files.
pub fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = Options::from_args(args)?;
    let (files, bytes) = write_tree(&options.tree, &options.out)?;
    println!(
        "wrote {files} files ({:.1} MiB) to {}",
        bytes as f64 / (1024.0 * 1024.0),
        options.out.display()
    );
    Ok(())
}

/// Writes every file of the tree under `out`; returns the file count and
/// total size.
pub fn write_tree(tree: &StudyTree, out: &Path) -> Result<(u64, u64), String> {
    let mut files = 0u64;
    let mut bytes = 0u64;
    tree.for_each_file(|path, data| {
        let target = out.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| GenError::Io(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&target, data)
            .map_err(|e| GenError::Io(format!("cannot write {}: {e}", target.display())))?;
        files += 1;
        bytes += data.len() as u64;
        Ok(())
    })
    .map_err(|e| match e {
        GenError::Synth(e) => e.to_string(),
        GenError::Io(message) => message,
    })?;
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_every_option() {
        let options = Options::from_args(&args(&[
            "--out",
            "x",
            "--studies",
            "3",
            "--series",
            "4",
            "--instances",
            "5",
            "--pixel-bytes",
            "6",
            "--transfer-syntax",
            "deflated",
            "--no-preamble",
            "--junk",
            "--dicomdir",
            "--patients",
            "3",
            "--hostile",
            "--seed",
            "9",
        ]))
        .unwrap();
        assert_eq!(
            options,
            Options {
                out: PathBuf::from("x"),
                tree: StudyTree {
                    studies: 3,
                    series: 4,
                    instances: 5,
                    pixel_bytes: 6,
                    syntax: SynthSyntax::Deflated,
                    preamble: false,
                    junk: true,
                    dicomdir: true,
                    patient_count: Some(3),
                    hostile: true,
                    seed: 9,
                },
            }
        );
    }

    #[test]
    fn rejects_missing_out_and_bad_values() {
        assert!(Options::from_args(&args(&["--studies", "2"])).is_err());
        assert!(Options::from_args(&args(&["--out", "x", "--studies", "two"])).is_err());
        assert!(Options::from_args(&args(&["--out", "x", "--transfer-syntax", "rle"])).is_err());
        assert!(Options::from_args(&args(&["--out"])).is_err());
        assert!(Options::from_args(&args(&["--out", "x", "--patients", "0"])).is_err());
    }

    #[test]
    fn writes_the_tree_into_nested_folders() {
        let out = std::env::temp_dir().join(format!("gen-study-test-{}", std::process::id()));
        let tree = StudyTree {
            studies: 1,
            series: 1,
            instances: 2,
            pixel_bytes: 10,
            junk: true,
            dicomdir: true,
            ..StudyTree::default()
        };
        let (files, _) = write_tree(&tree, &out).unwrap();
        assert_eq!(files, 2 + 3 + 1);
        assert!(out.join("DICOMDIR").is_file());
        assert!(out.join("VIEWER/VIEWER.EXE").is_file());
        assert!(out.join("PAT01/ST001/SE001").is_dir());
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn writes_one_patient_per_study_and_the_hostile_files() {
        let out = std::env::temp_dir().join(format!("gen-study-hostile-{}", std::process::id()));
        let options = Options::from_args(&args(&[
            "--out",
            &out.to_string_lossy(),
            "--studies",
            "3",
            "--patients",
            "3",
            "--series",
            "1",
            "--instances",
            "1",
            "--pixel-bytes",
            "10",
            "--hostile",
        ]))
        .unwrap();
        let (files, _) = write_tree(&options.tree, &out).unwrap();
        assert_eq!(files, 3 + 3);
        for patient in ["PAT01/ST001", "PAT02/ST002", "PAT03/ST003"] {
            assert!(out.join(patient).is_dir(), "{patient}");
        }
        assert_eq!(
            std::fs::metadata(out.join("HOSTILE/EMPTY.DCM"))
                .unwrap()
                .len(),
            0
        );
        assert!(out.join("HOSTILE/TRUNCATED.DCM").is_file());
        assert!(out.join("HOSTILE/BADLENGTH.DCM").is_file());
        let first = std::fs::read_dir(out.join("PAT01/ST001/SE001"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let bytes = std::fs::read(first).unwrap();
        let markup = auraloader_core::synth::HOSTILE_PATIENT_NAME.as_bytes();
        assert!(bytes.windows(markup.len()).any(|w| w == markup));
        std::fs::remove_dir_all(&out).unwrap();
    }
}
