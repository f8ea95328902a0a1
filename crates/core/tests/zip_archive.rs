//! Study archives: predicted length equals produced length, archives read back
//! byte-identical with the `zip` crate, Python's `zipfile` and `unzip -t`, any
//! byte range can be produced on its own, and the same input gives the same
//! bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Seek, SeekFrom};
use std::process::Command;

use auraloader_core::zip::{
    deflate, entry_name, EntryCrc, EntrySource, Method, Piece, StudyZip, ZipEntry,
};
use proptest::prelude::*;

/// An entry's original bytes and how to store it.
struct Input {
    name: String,
    bytes: Vec<u8>,
    method: Method,
}

/// Entry data held in memory: compressed bytes for deflated entries.
struct MemorySource(Vec<Vec<u8>>);

impl EntrySource for MemorySource {
    fn read_entry(&mut self, entry: usize, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let data = self.0.get(entry).ok_or("no such entry")?;
        let start = offset as usize;
        let slice = data
            .get(start..start + buf.len())
            .ok_or("read past the entry")?;
        buf.copy_from_slice(slice);
        Ok(())
    }
}

/// The preparation pass, in memory: compress or checksum each input.
fn prepare(inputs: &[Input]) -> (StudyZip, MemorySource) {
    let mut entries = Vec::new();
    let mut data = Vec::new();
    for input in inputs {
        match input.method {
            Method::Deflated => {
                let (compressed, info) = deflate(&input.bytes).unwrap();
                entries.push(ZipEntry {
                    name: input.name.clone(),
                    method: Method::Deflated,
                    crc32: info.crc32,
                    compressed_size: info.compressed_size,
                    uncompressed_size: info.uncompressed_size,
                });
                data.push(compressed);
            }
            Method::Stored => {
                let mut crc = EntryCrc::new();
                crc.update(&input.bytes);
                entries.push(ZipEntry {
                    name: input.name.clone(),
                    method: Method::Stored,
                    crc32: crc.finish(),
                    compressed_size: input.bytes.len() as u64,
                    uncompressed_size: input.bytes.len() as u64,
                });
                data.push(input.bytes.clone());
            }
        }
    }
    (StudyZip::new(entries).unwrap(), MemorySource(data))
}

fn whole(zip: &StudyZip, source: &mut MemorySource) -> Vec<u8> {
    let mut out = vec![0u8; zip.len() as usize];
    let n = zip.read_at(0, &mut out, source).unwrap();
    assert_eq!(
        n as u64,
        zip.len(),
        "predicted length equals produced length"
    );
    out
}

/// CT-like data: smooth 16-bit values with a little noise, which deflate
/// shrinks about as much as real native pixel data.
fn ct_like(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len / 2)
        .flat_map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let value = ((i % 512) as u16 / 4) + (state % 8) as u16 + 1000;
            value.to_le_bytes()
        })
        .collect()
}

fn mixed_inputs() -> Vec<Input> {
    vec![
        Input {
            name: entry_name("1.2.3", "1.2.3.1", "1.2.3.1.1"),
            bytes: ct_like(200_000, 1),
            method: Method::Deflated,
        },
        Input {
            name: entry_name("1.2.3", "1.2.3.1", "1.2.3.1.2"),
            bytes: Vec::new(),
            method: Method::Deflated,
        },
        Input {
            name: entry_name("1.2.3", "1.2.3.2", "1.2.3.2.1"),
            bytes: (0..70_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            method: Method::Stored,
        },
        Input {
            name: entry_name("1.2.3", "1.2.3.2", "1.2.3.2.2"),
            bytes: Vec::new(),
            method: Method::Stored,
        },
        Input {
            name: entry_name("1.2.3", "1.2.3.2", "1.2.3.2.3"),
            bytes: b"DICM".to_vec(),
            method: Method::Deflated,
        },
    ]
}

fn read_back(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().to_owned(), content)
        })
        .collect()
}

#[test]
fn mixed_archive_reads_back_byte_identical_with_the_zip_crate() {
    let inputs = mixed_inputs();
    let (zip, mut source) = prepare(&inputs);
    let bytes = whole(&zip, &mut source);
    assert!(!zip.is_zip64());
    let entries = read_back(&bytes);
    assert_eq!(entries.len(), inputs.len());
    for (input, (name, content)) in inputs.iter().zip(entries) {
        assert_eq!(name, input.name);
        assert_eq!(content, input.bytes, "{name}");
    }
}

#[test]
fn deflate_shrinks_ct_like_data() {
    let inputs = mixed_inputs();
    let (zip, _) = prepare(&inputs);
    let first = zip.entries().next().unwrap();
    assert!(
        first.compressed_size * 2 < first.uncompressed_size,
        "{} of {}",
        first.compressed_size,
        first.uncompressed_size
    );
}

#[test]
fn preparing_the_same_files_twice_gives_the_same_bytes() {
    let (zip_a, mut source_a) = prepare(&mixed_inputs());
    let (zip_b, mut source_b) = prepare(&mixed_inputs());
    assert_eq!(whole(&zip_a, &mut source_a), whole(&zip_b, &mut source_b));
}

#[test]
fn predicted_length_matches_for_many_shapes() {
    for count in [0usize, 1, 2, 17, 300] {
        for method in [Method::Stored, Method::Deflated] {
            let inputs: Vec<Input> = (0..count)
                .map(|i| Input {
                    name: entry_name("9", &format!("9.{}", i % 3), &format!("9.{i}")),
                    bytes: ct_like(i * 37 % 1000, i as u32),
                    method,
                })
                .collect();
            let (zip, mut source) = prepare(&inputs);
            let bytes = whole(&zip, &mut source);
            assert_eq!(bytes.len() as u64, zip.len());
            assert_eq!(read_back(&bytes).len(), count);
        }
    }
}

#[test]
fn seventy_thousand_entries_use_zip64_end_records() {
    let inputs: Vec<Input> = (0..70_000u32)
        .map(|i| Input {
            name: entry_name("1", &format!("1.{}", i / 1000), &format!("1.{i}")),
            bytes: if i % 2 == 0 {
                Vec::new()
            } else {
                vec![i as u8]
            },
            method: Method::Stored,
        })
        .collect();
    let (zip, mut source) = prepare(&inputs);
    assert!(zip.is_zip64());
    let bytes = whole(&zip, &mut source);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    assert_eq!(archive.len(), 70_000);
    let mut last = Vec::new();
    archive
        .by_index(69_999)
        .unwrap()
        .read_to_end(&mut last)
        .unwrap();
    assert_eq!(last, vec![(69_999u32) as u8]);
    if let Some(result) = python_check(&bytes, 70_000) {
        assert_eq!(result, "ok");
    }
}

/// Entry data that is never allocated: a 4 GiB + 100 byte stored entry whose
/// bytes are computed from their offset, then a small one.
struct HugeSource {
    small: Vec<u8>,
}

const HUGE: u64 = (1 << 32) + 100;

fn pattern(offset: u64) -> u8 {
    (offset.wrapping_mul(31) >> 3) as u8
}

impl EntrySource for HugeSource {
    fn read_entry(&mut self, entry: usize, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        match entry {
            0 => {
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = pattern(offset + i as u64);
                }
                Ok(())
            }
            1 => {
                let start = offset as usize;
                buf.copy_from_slice(&self.small[start..start + buf.len()]);
                Ok(())
            }
            _ => Err("no such entry".to_owned()),
        }
    }
}

/// `Read + Seek` over an archive produced on demand.
struct Reader<'a, S: EntrySource> {
    zip: &'a StudyZip,
    source: S,
    pos: u64,
}

impl<S: EntrySource> Read for Reader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self
            .zip
            .read_at(self.pos, buf, &mut self.source)
            .map_err(std::io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: EntrySource> Seek for Reader<'_, S> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => (self.zip.len() as i64 + d) as u64,
            SeekFrom::Current(d) => (self.pos as i64 + d) as u64,
        };
        Ok(self.pos)
    }
}

#[test]
fn entries_past_four_gib_use_zip64_and_read_back() {
    let small = b"after the big one".to_vec();
    let mut crc = EntryCrc::new();
    crc.update(&small);
    let entries = vec![
        ZipEntry {
            name: entry_name("1", "1.1", "1.1.1"),
            method: Method::Stored,
            // The reader below never reads this entry to its end, so its CRC
            // is never checked; computing it would read 4 GiB.
            crc32: 0,
            compressed_size: HUGE,
            uncompressed_size: HUGE,
        },
        ZipEntry {
            name: entry_name("1", "1.1", "1.1.2"),
            method: Method::Stored,
            crc32: crc.finish(),
            compressed_size: small.len() as u64,
            uncompressed_size: small.len() as u64,
        },
    ];
    let zip = StudyZip::new(entries).unwrap();
    assert!(zip.is_zip64());
    assert!(zip.len() > HUGE);
    let second_data = zip.data_offset(1).unwrap();
    assert!(second_data > 1 << 32);

    let reader = Reader {
        zip: &zip,
        source: HugeSource {
            small: small.clone(),
        },
        pos: 0,
    };
    let mut archive = zip::ZipArchive::new(reader).unwrap();
    assert_eq!(archive.len(), 2);
    {
        let big = archive.by_index(0).unwrap();
        assert_eq!(big.size(), HUGE);
        assert_eq!(big.compressed_size(), HUGE);
    }
    let mut content = Vec::new();
    archive
        .by_index(1)
        .unwrap()
        .read_to_end(&mut content)
        .unwrap();
    assert_eq!(content, small);

    // The bytes just before and after the 4 GiB mark come through a range read.
    let mut buf = vec![0u8; 64];
    let at = zip.data_offset(0).unwrap() + (1 << 32) - 32;
    zip.read_at(
        at,
        &mut buf,
        &mut HugeSource {
            small: small.clone(),
        },
    )
    .unwrap();
    let expected: Vec<u8> = (0..64).map(|i| pattern((1 << 32) - 32 + i)).collect();
    assert_eq!(buf, expected);
}

#[test]
fn pieces_never_hold_entry_data() {
    let (zip, _) = prepare(&mixed_inputs());
    let pieces = zip.pieces(0..zip.len()).unwrap();
    let header_bytes: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::Bytes(b) => b.len(),
            Piece::Data { .. } => 0,
        })
        .sum();
    let data_bytes: u64 = zip.entries().map(|e| e.compressed_size).sum();
    assert_eq!(header_bytes as u64 + data_bytes, zip.len());
    assert!(header_bytes < 2_000, "headers only: {header_bytes}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_range_equals_the_same_slice_of_a_sequential_read(
        cuts in proptest::collection::vec(0.0f64..1.0, 1..12)
    ) {
        let (zip, mut source) = prepare(&mixed_inputs());
        let full = whole(&zip, &mut source);
        let mut points: Vec<u64> = cuts.iter().map(|c| (c * zip.len() as f64) as u64).collect();
        points.push(0);
        points.push(zip.len());
        points.sort_unstable();
        let mut joined = Vec::new();
        for pair in points.windows(2) {
            let mut buf = vec![0u8; (pair[1] - pair[0]) as usize];
            let n = zip.read_at(pair[0], &mut buf, &mut source).unwrap();
            prop_assert_eq!(n, buf.len());
            joined.extend_from_slice(&buf);
        }
        prop_assert_eq!(joined, full);
    }
}

#[test]
fn python_zipfile_and_unzip_accept_the_archive() {
    let inputs = mixed_inputs();
    let (zip, mut source) = prepare(&inputs);
    let bytes = whole(&zip, &mut source);
    if let Some(result) = python_check(&bytes, inputs.len()) {
        assert_eq!(result, "ok");
    }
    let has_unzip = Command::new("unzip").arg("-v").output().is_ok();
    if has_unzip {
        let path = temp_file(&bytes);
        let out = Command::new("unzip").arg("-t").arg(&path).output().unwrap();
        let _ = std::fs::remove_file(&path);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "unzip -t: {text}");
        assert!(text.contains("No errors detected"), "{text}");
    } else {
        eprintln!("unzip not installed: skipped `unzip -t`");
    }
}

fn temp_file(bytes: &[u8]) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "auraloader-zip-{}-{}.zip",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs Python's `zipfile` over the archive: `testzip()` (every CRC) and the
/// entry count. `None` when python3 is missing.
fn python_check(bytes: &[u8], expected_entries: usize) -> Option<String> {
    let path = temp_file(bytes);
    let script = "import sys, zipfile\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  bad = z.testzip()\n\
                  n = len(z.infolist())\n\
                  print('ok' if bad is None and n == int(sys.argv[2]) else f'bad={bad} n={n}')\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .arg(expected_entries.to_string())
        .output();
    let _ = std::fs::remove_file(&path);
    match out {
        Ok(out) => {
            assert!(
                out.status.success(),
                "python zipfile failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        Err(_) => {
            eprintln!("python3 not installed: skipped the zipfile check");
            None
        }
    }
}
