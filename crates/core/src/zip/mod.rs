//! One zip archive per study, laid out completely before the first byte is
//! sent, and produced on demand for any byte range.
//!
//! tus needs the exact `Upload-Length` at creation, and a resumed upload needs
//! the bytes at any offset again, identical. So the archive is a pure function
//! of its entries' names, methods, CRCs and sizes ([`ZipEntry`]): a
//! preparation pass computes those (compressing the entries that are worth
//! it, see [`deflate`]), then [`StudyZip`] knows every header byte and where
//! every entry's data goes, and [`StudyZip::pieces`] answers which header
//! bytes and which slices of entry data make up `[offset, offset + len)`.
//! Nothing here holds entry data: the shell reads it from the original file
//! (stored entries) or from the prepared compressed part (deflated entries),
//! so memory stays O(chunk) whatever the study's size.
//!
//! The `zip` crate is used to read archives back in the tests, not to write
//! them: its writer needs the data as it writes and cannot answer "which bytes
//! are at offset N" without producing everything before N.

mod deflate;

pub use deflate::{deflate, Deflated, EntryCrc, EntryDeflater, DEFLATE_LEVEL};

use std::ops::Range;

/// How an entry's bytes are stored in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// As is (method 0): for data that is already compressed.
    Stored,
    /// Raw deflate (method 8).
    Deflated,
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated => 8,
        }
    }
}

/// The widget's `compression` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Deflate entries whose pixel data is not compressed already; store the rest.
    #[default]
    Auto,
    /// Store every entry.
    Store,
    /// Deflate every entry.
    Deflate,
}

impl Compression {
    /// The method for a file with this transfer syntax UID.
    ///
    /// `Auto` deflates the native (uncompressed) transfer syntaxes, where
    /// deflate typically halves CT and MR data, and files whose transfer
    /// syntax is unknown; it stores the encapsulated ones (JPEG family,
    /// JPEG-LS, JPEG 2000, HTJ2K, RLE, MPEG/HEVC video) and deflated data
    /// sets, where deflate gains nothing and costs time.
    pub fn method_for(self, transfer_syntax_uid: &str) -> Method {
        match self {
            Compression::Store => Method::Stored,
            Compression::Deflate => Method::Deflated,
            Compression::Auto => {
                if is_compressed_transfer_syntax(transfer_syntax_uid) {
                    Method::Stored
                } else {
                    Method::Deflated
                }
            }
        }
    }
}

/// Whether a transfer syntax carries already-compressed data: encapsulated
/// pixel data or a deflated data set.
pub fn is_compressed_transfer_syntax(uid: &str) -> bool {
    let uid = uid.trim_end_matches(['\0', ' ']);
    uid == "1.2.840.10008.1.2.1.99" // deflated explicit VR little endian
        || uid == "1.2.840.10008.1.2.5" // RLE lossless
        || uid.starts_with("1.2.840.10008.1.2.4.") // JPEG, JPEG-LS, JPEG 2000, HTJ2K, MPEG, HEVC
        || uid.starts_with("1.2.840.10008.1.2.8.") // JPEG XL
}

/// The archive name of an instance: `<study>/<series>/<sop>.dcm`.
///
/// Original file and folder names never appear (they can carry patient
/// names), and two series holding an `IM00001` cannot collide. UIDs are
/// digits and dots; anything else (from a malformed file) becomes `_`, so a
/// name can never climb out of its folder.
pub fn entry_name(study_uid: &str, series_uid: &str, sop_instance_uid: &str) -> String {
    format!(
        "{}/{}/{}.dcm",
        name_part(study_uid),
        name_part(series_uid),
        name_part(sop_instance_uid)
    )
}

fn name_part(uid: &str) -> String {
    let cleaned: String = uid
        .trim_end_matches(['\0', ' '])
        .chars()
        .map(|c| {
            if c.is_ascii_digit() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => format!("_{cleaned}"),
        _ => cleaned,
    }
}

/// One entry of a study archive, as the preparation pass found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// The name in the archive (see [`entry_name`]).
    pub name: String,
    /// Stored or deflated.
    pub method: Method,
    /// CRC-32 of the original (uncompressed) bytes.
    pub crc32: u32,
    /// Size of the data in the archive: the compressed size for deflated
    /// entries, the original size for stored ones.
    pub compressed_size: u64,
    /// Size of the original file.
    pub uncompressed_size: u64,
}

/// Why an archive cannot be laid out or read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZipError {
    /// An entry name is empty or longer than a zip header can hold.
    BadName(String),
    /// Two entries have the same name.
    DuplicateName(String),
    /// A stored entry's compressed and uncompressed sizes differ.
    StoredSizeMismatch(String),
    /// A range asked for lies outside the archive.
    OutOfRange {
        /// The range asked for.
        range: Range<u64>,
        /// The archive's length.
        len: u64,
    },
    /// The entry data source failed or returned the wrong number of bytes.
    Source(String),
}

impl std::fmt::Display for ZipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadName(name) => write!(
                f,
                "zip entry name {name:?} is empty or longer than 65535 bytes"
            ),
            Self::DuplicateName(name) => write!(f, "two zip entries are both named {name:?}"),
            Self::StoredSizeMismatch(name) => write!(
                f,
                "stored zip entry {name:?} has different compressed and uncompressed sizes"
            ),
            Self::OutOfRange { range, len } => write!(
                f,
                "bytes {}..{} are outside the archive of {len} bytes",
                range.start, range.end
            ),
            Self::Source(why) => write!(f, "reading entry data failed: {why}"),
        }
    }
}

impl std::error::Error for ZipError {}

/// A piece of the archive: header bytes generated here, or a slice of one
/// entry's data that the caller reads from its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Header, central directory or end-record bytes.
    Bytes(Vec<u8>),
    /// Bytes `range` of the data of entry `entry` (an index into the entries).
    Data {
        /// Index of the entry.
        entry: usize,
        /// Byte range within that entry's data in the archive.
        range: Range<u64>,
    },
}

/// Reads entry data for [`StudyZip::read_at`]: the compressed bytes of a
/// deflated entry, the original file bytes of a stored one.
pub trait EntrySource {
    /// Fills `buf` with the bytes of entry `entry` starting at `offset`.
    fn read_entry(&mut self, entry: usize, offset: u64, buf: &mut [u8]) -> Result<(), String>;
}

const LOCAL_HEADER_LEN: u64 = 30;
const CENTRAL_HEADER_LEN: u64 = 46;
const EOCD_LEN: u64 = 22;
const ZIP64_EOCD_LEN: u64 = 56;
const ZIP64_LOCATOR_LEN: u64 = 20;
/// The value that says "see the zip64 extra field".
const U32_MARK: u64 = 0xFFFF_FFFF;
const U16_MARK: u64 = 0xFFFF;
/// MS-DOS date of 1980-01-01, the earliest a zip can say: fixed, so that the
/// same files always give the same archive.
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;
/// Version made by: Unix (3), spec 4.5.
const MADE_BY: u16 = (3 << 8) | 45;
/// Regular file, mode 0644.
const EXTERNAL_ATTRS: u32 = 0o100_644 << 16;

/// Where one entry sits in the archive.
#[derive(Debug, Clone)]
struct Placed {
    entry: ZipEntry,
    header_offset: u64,
    /// Whether the local header carries a zip64 extra field (sizes ≥ 4 GiB).
    zip64_sizes: bool,
}

impl Placed {
    fn local_header_len(&self) -> u64 {
        LOCAL_HEADER_LEN + self.entry.name.len() as u64 + if self.zip64_sizes { 20 } else { 0 }
    }

    fn data_offset(&self) -> u64 {
        self.header_offset + self.local_header_len()
    }

    fn end(&self) -> u64 {
        self.data_offset() + self.entry.compressed_size
    }

    fn version_needed(&self) -> u16 {
        if self.zip64_sizes || self.header_offset >= U32_MARK {
            45
        } else {
            20
        }
    }

    /// The central directory's zip64 extra: the overflowing fields, in order.
    fn central_extra(&self) -> Vec<u64> {
        let mut fields = Vec::new();
        if self.entry.uncompressed_size >= U32_MARK {
            fields.push(self.entry.uncompressed_size);
        }
        if self.entry.compressed_size >= U32_MARK {
            fields.push(self.entry.compressed_size);
        }
        if self.header_offset >= U32_MARK {
            fields.push(self.header_offset);
        }
        fields
    }

    fn central_len(&self) -> u64 {
        let extra = self.central_extra();
        let extra_len = if extra.is_empty() {
            0
        } else {
            4 + 8 * extra.len() as u64
        };
        CENTRAL_HEADER_LEN + self.entry.name.len() as u64 + extra_len
    }

    /// The local header: a function of the entry alone (not of where it
    /// sits), so a preparation pass can write an entry's header and data
    /// together before the offsets are known. As Python's `zipfile` does,
    /// its "version needed" is 4.5 only when the header itself carries zip64
    /// sizes; the central record also says 4.5 for an offset past 4 GiB.
    fn local_header(&self) -> Vec<u8> {
        let e = &self.entry;
        let mut out = Vec::with_capacity(self.local_header_len() as usize);
        put_u32(&mut out, 0x0403_4b50);
        put_u16(&mut out, if self.zip64_sizes { 45 } else { 20 });
        put_u16(&mut out, 0);
        put_u16(&mut out, e.method.code());
        put_u16(&mut out, DOS_TIME);
        put_u16(&mut out, DOS_DATE);
        put_u32(&mut out, e.crc32);
        if self.zip64_sizes {
            put_u32(&mut out, U32_MARK as u32);
            put_u32(&mut out, U32_MARK as u32);
        } else {
            put_u32(&mut out, e.compressed_size as u32);
            put_u32(&mut out, e.uncompressed_size as u32);
        }
        put_u16(&mut out, e.name.len() as u16);
        put_u16(&mut out, if self.zip64_sizes { 20 } else { 0 });
        out.extend_from_slice(e.name.as_bytes());
        if self.zip64_sizes {
            put_u16(&mut out, 0x0001);
            put_u16(&mut out, 16);
            put_u64(&mut out, e.uncompressed_size);
            put_u64(&mut out, e.compressed_size);
        }
        out
    }

    fn central_header(&self) -> Vec<u8> {
        let e = &self.entry;
        let extra = self.central_extra();
        let mut out = Vec::with_capacity(self.central_len() as usize);
        put_u32(&mut out, 0x0201_4b50);
        put_u16(&mut out, MADE_BY);
        put_u16(&mut out, self.version_needed());
        put_u16(&mut out, 0);
        put_u16(&mut out, e.method.code());
        put_u16(&mut out, DOS_TIME);
        put_u16(&mut out, DOS_DATE);
        put_u32(&mut out, e.crc32);
        put_u32(&mut out, e.compressed_size.min(U32_MARK) as u32);
        put_u32(&mut out, e.uncompressed_size.min(U32_MARK) as u32);
        put_u16(&mut out, e.name.len() as u16);
        put_u16(
            &mut out,
            if extra.is_empty() {
                0
            } else {
                4 + 8 * extra.len() as u16
            },
        );
        put_u16(&mut out, 0); // comment
        put_u16(&mut out, 0); // disk
        put_u16(&mut out, 0); // internal attributes
        put_u32(&mut out, EXTERNAL_ATTRS);
        put_u32(&mut out, self.header_offset.min(U32_MARK) as u32);
        out.extend_from_slice(e.name.as_bytes());
        if !extra.is_empty() {
            put_u16(&mut out, 0x0001);
            put_u16(&mut out, 8 * extra.len() as u16);
            for field in extra {
                put_u64(&mut out, field);
            }
        }
        out
    }
}

/// The local header of `entry` (signature, fields, name, zip64 sizes when
/// needed): the bytes right before its data, wherever it sits in an archive.
pub fn local_header(entry: &ZipEntry) -> Vec<u8> {
    Placed {
        zip64_sizes: entry.compressed_size >= U32_MARK || entry.uncompressed_size >= U32_MARK,
        entry: entry.clone(),
        header_offset: 0,
    }
    .local_header()
}

/// A study archive, laid out: its exact length, and every byte on demand.
#[derive(Debug, Clone)]
pub struct StudyZip {
    placed: Vec<Placed>,
    /// Offset of each central directory record; one more for the end.
    central_offsets: Vec<u64>,
    zip64_end: bool,
    len: u64,
}

impl StudyZip {
    /// Lays out an archive of `entries`, in this order.
    pub fn new(entries: Vec<ZipEntry>) -> Result<Self, ZipError> {
        let mut names = std::collections::HashSet::with_capacity(entries.len());
        let mut placed = Vec::with_capacity(entries.len());
        let mut offset = 0u64;
        for entry in entries {
            if entry.name.is_empty() || entry.name.len() > usize::from(u16::MAX) {
                return Err(ZipError::BadName(entry.name));
            }
            if entry.method == Method::Stored && entry.compressed_size != entry.uncompressed_size {
                return Err(ZipError::StoredSizeMismatch(entry.name));
            }
            if !names.insert(entry.name.clone()) {
                return Err(ZipError::DuplicateName(entry.name));
            }
            let zip64_sizes =
                entry.compressed_size >= U32_MARK || entry.uncompressed_size >= U32_MARK;
            let p = Placed {
                entry,
                header_offset: offset,
                zip64_sizes,
            };
            offset = p.end();
            placed.push(p);
        }
        let mut central_offsets = Vec::with_capacity(placed.len() + 1);
        for p in &placed {
            central_offsets.push(offset);
            offset += p.central_len();
        }
        central_offsets.push(offset);
        let (cd_start, cd_end) = (central_offsets[0], offset);
        let zip64_end = placed.len() as u64 >= U16_MARK
            || cd_end - cd_start >= U32_MARK
            || cd_start >= U32_MARK;
        let len = cd_end
            + EOCD_LEN
            + if zip64_end {
                ZIP64_EOCD_LEN + ZIP64_LOCATOR_LEN
            } else {
                0
            };
        Ok(Self {
            placed,
            central_offsets,
            zip64_end,
            len,
        })
    }

    /// The archive's exact length in bytes (tus `Upload-Length`).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the archive has no entries (it still has an end record).
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    /// Whether the archive needs zip64 records anywhere.
    pub fn is_zip64(&self) -> bool {
        self.zip64_end || self.placed.iter().any(|p| p.version_needed() == 45)
    }

    /// The entries, in archive order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &ZipEntry> {
        self.placed.iter().map(|p| &p.entry)
    }

    /// Where entry `index`'s data starts in the archive.
    pub fn data_offset(&self, index: usize) -> Option<u64> {
        self.placed.get(index).map(Placed::data_offset)
    }

    /// Where entry `index`'s local header starts in the archive.
    pub fn header_offset(&self, index: usize) -> Option<u64> {
        self.placed.get(index).map(|p| p.header_offset)
    }

    /// Where the central directory starts: the end of the last entry's data.
    pub fn central_directory_offset(&self) -> u64 {
        self.central_offsets[0]
    }

    /// The pieces that make up bytes `range` of the archive, in order.
    pub fn pieces(&self, range: Range<u64>) -> Result<Vec<Piece>, ZipError> {
        if range.start > range.end || range.end > self.len {
            return Err(ZipError::OutOfRange {
                range,
                len: self.len,
            });
        }
        let mut pieces = Vec::new();
        let mut at = range.start;
        while at < range.end {
            // Every piece ends past `at`, so this loop ends.
            let (piece, piece_end) = self.piece_at(at, range.end);
            pieces.push(piece);
            at = piece_end;
        }
        Ok(pieces)
    }

    /// The piece covering offset `at`, cut at `end`, and where it ends.
    fn piece_at(&self, at: u64, end: u64) -> (Piece, u64) {
        let cd_start = self.central_offsets[0];
        if at < cd_start {
            // Inside entry `i`: its local header or its data.
            let i = self.placed.partition_point(|p| p.end() <= at);
            let p = &self.placed[i];
            let data = p.data_offset();
            if at < data {
                let stop = end.min(data);
                let header = p.local_header();
                let from = (at - p.header_offset) as usize;
                let to = (stop - p.header_offset) as usize;
                return (Piece::Bytes(header[from..to].to_vec()), stop);
            }
            let stop = end.min(p.end());
            return (
                Piece::Data {
                    entry: i,
                    range: (at - data)..(stop - data),
                },
                stop,
            );
        }
        let cd_end = self.central_offsets[self.placed.len()];
        if at < cd_end {
            // Inside central record `i`.
            let i = self.central_offsets.partition_point(|&o| o <= at) - 1;
            let start = self.central_offsets[i];
            let stop = end.min(self.central_offsets[i + 1]);
            let record = self.placed[i].central_header();
            let bytes = record[(at - start) as usize..(stop - start) as usize].to_vec();
            return (Piece::Bytes(bytes), stop);
        }
        let tail = self.end_records();
        let bytes = tail[(at - cd_end) as usize..(end - cd_end) as usize].to_vec();
        (Piece::Bytes(bytes), end)
    }

    /// The zip64 end record and locator (when needed) and the end record.
    fn end_records(&self) -> Vec<u8> {
        let count = self.placed.len() as u64;
        let cd_start = self.central_offsets[0];
        let cd_end = self.central_offsets[self.placed.len()];
        let cd_size = cd_end - cd_start;
        let mut out = Vec::new();
        if self.zip64_end {
            put_u32(&mut out, 0x0606_4b50);
            put_u64(&mut out, ZIP64_EOCD_LEN - 12);
            put_u16(&mut out, MADE_BY);
            put_u16(&mut out, 45);
            put_u32(&mut out, 0);
            put_u32(&mut out, 0);
            put_u64(&mut out, count);
            put_u64(&mut out, count);
            put_u64(&mut out, cd_size);
            put_u64(&mut out, cd_start);
            put_u32(&mut out, 0x0706_4b50);
            put_u32(&mut out, 0);
            put_u64(&mut out, cd_end);
            put_u32(&mut out, 1);
        }
        put_u32(&mut out, 0x0605_4b50);
        put_u16(&mut out, 0);
        put_u16(&mut out, 0);
        put_u16(&mut out, count.min(U16_MARK) as u16);
        put_u16(&mut out, count.min(U16_MARK) as u16);
        put_u32(&mut out, cd_size.min(U32_MARK) as u32);
        put_u32(&mut out, cd_start.min(U32_MARK) as u32);
        put_u16(&mut out, 0);
        out
    }

    /// Fills `buf` with the archive bytes at `offset`, reading entry data
    /// from `source`. Returns how many bytes were written (less than
    /// `buf.len()` only at the end of the archive).
    pub fn read_at<S: EntrySource + ?Sized>(
        &self,
        offset: u64,
        buf: &mut [u8],
        source: &mut S,
    ) -> Result<usize, ZipError> {
        let end = self.len.min(offset.saturating_add(buf.len() as u64));
        if offset >= end {
            return Ok(0);
        }
        let mut written = 0usize;
        for piece in self.pieces(offset..end)? {
            match piece {
                Piece::Bytes(bytes) => {
                    buf[written..written + bytes.len()].copy_from_slice(&bytes);
                    written += bytes.len();
                }
                Piece::Data { entry, range } => {
                    let n = (range.end - range.start) as usize;
                    source
                        .read_entry(entry, range.start, &mut buf[written..written + n])
                        .map_err(ZipError::Source)?;
                    written += n;
                }
            }
        }
        Ok(written)
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_deflates_native_and_stores_encapsulated_syntaxes() {
        let auto = Compression::Auto;
        for native in [
            "1.2.840.10008.1.2",
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2.2",
            "",
        ] {
            assert_eq!(auto.method_for(native), Method::Deflated, "{native}");
        }
        for encapsulated in [
            "1.2.840.10008.1.2.4.50",
            "1.2.840.10008.1.2.4.80",
            "1.2.840.10008.1.2.4.90",
            "1.2.840.10008.1.2.4.201",
            "1.2.840.10008.1.2.4.100",
            "1.2.840.10008.1.2.5",
            "1.2.840.10008.1.2.1.99",
            "1.2.840.10008.1.2.4.70\0",
        ] {
            assert_eq!(
                auto.method_for(encapsulated),
                Method::Stored,
                "{encapsulated}"
            );
        }
        assert_eq!(
            Compression::Store.method_for("1.2.840.10008.1.2"),
            Method::Stored
        );
        assert_eq!(
            Compression::Deflate.method_for("1.2.840.10008.1.2.4.50"),
            Method::Deflated
        );
    }

    #[test]
    fn entry_names_are_uid_paths_that_cannot_escape() {
        assert_eq!(
            entry_name("1.2", "1.2.3", "1.2.3.4"),
            "1.2/1.2.3/1.2.3.4.dcm"
        );
        assert_eq!(entry_name("1.2\0", "1.2.3 ", "9"), "1.2/1.2.3/9.dcm");
        assert_eq!(entry_name("..", "a/b", ""), "_../___/_.dcm");
        assert!(!entry_name("../../etc", "x", "y").contains("../"));
    }

    #[test]
    fn rejects_duplicate_names_and_inconsistent_stored_sizes() {
        let entry = |name: &str, method, c, u| ZipEntry {
            name: name.to_owned(),
            method,
            crc32: 0,
            compressed_size: c,
            uncompressed_size: u,
        };
        assert_eq!(
            StudyZip::new(vec![
                entry("a", Method::Stored, 1, 1),
                entry("a", Method::Stored, 1, 1)
            ])
            .err(),
            Some(ZipError::DuplicateName("a".to_owned()))
        );
        assert_eq!(
            StudyZip::new(vec![entry("b", Method::Stored, 1, 2)]).err(),
            Some(ZipError::StoredSizeMismatch("b".to_owned()))
        );
        assert_eq!(
            StudyZip::new(vec![entry("", Method::Stored, 0, 0)]).err(),
            Some(ZipError::BadName(String::new()))
        );
    }

    #[test]
    fn local_headers_do_not_depend_on_where_the_entry_sits() {
        let entry = |name: &str, size: u64| ZipEntry {
            name: name.to_owned(),
            method: Method::Stored,
            crc32: 7,
            compressed_size: size,
            uncompressed_size: size,
        };
        let big = entry("big", U32_MARK + 10);
        let after = entry("after", 3);
        let zip = StudyZip::new(vec![big.clone(), after.clone()]).unwrap();
        assert!(zip.header_offset(1).unwrap() > U32_MARK);
        assert_eq!(
            zip.central_directory_offset(),
            zip.data_offset(1).unwrap() + 3
        );
        for (i, e) in [big, after].iter().enumerate() {
            let start = zip.header_offset(i).unwrap();
            let end = zip.data_offset(i).unwrap();
            assert_eq!(
                zip.pieces(start..end).unwrap(),
                vec![Piece::Bytes(local_header(e))]
            );
        }
        // Version needed: 4.5 with zip64 sizes (the big entry), else 2.0.
        assert_eq!(local_header(&entry("a", U32_MARK))[4..6], [45, 0]);
        assert_eq!(local_header(&entry("a", 1))[4..6], [20, 0]);
    }

    #[test]
    fn an_empty_archive_is_just_the_end_record() {
        let zip = StudyZip::new(Vec::new()).unwrap();
        assert_eq!(zip.len(), 22);
        assert_eq!(
            zip.pieces(0..22).unwrap(),
            vec![Piece::Bytes(vec![
                0x50, 0x4b, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ])]
        );
        assert!(zip.pieces(0..23).is_err());
    }
}
