//! Header-only DICOM scanning, httparse style: feed the first bytes of a file
//! to [`scan_head`]; it answers with the instance's metadata, with "read up to
//! byte N and call again", or with why the file is skipped.
//!
//! The scanner stops at the first top-level element past the last attribute
//! it needs ([`LAST_NEEDED_TAG`], Number of Frames), so Pixel Data and large
//! trailing elements are never read, and a value is only looked at when its
//! attribute is needed. It never allocates a declared length: a length that
//! runs past the end of the file makes the file a [`SkipReason::BadLength`].
//!
//! Inputs: Part 10 files with the 128-byte preamble and `DICM`; `DICM`
//! without preamble; a file meta group at byte 0; data sets without any file
//! meta group (implicit VR little endian, or explicit VR little/big endian
//! when the bytes say so); explicit VR little and big endian; deflated
//! explicit VR little endian (only the needed prefix is inflated, bounded by
//! [`ScanRules::max_header_bytes`]); any encapsulated transfer syntax, since
//! its metadata is encoded as explicit VR little endian.
//!
//! See `walk.rs` for why the element structure is walked here rather than by
//! dicom-parser.

mod name;
mod sniff;
mod text;
mod walk;

pub use name::PersonName;

use dicom_core::Tag;
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::text::SpecificCharacterSet;
use flate2::{Decompress, FlushDecompress, Status};
use serde::{Deserialize, Serialize};
use std::fmt;
use walk::{Stream, Syntax, WalkError, Walked};

/// How many bytes a caller should read first: enough for the header of
/// most files (real CT headers up to Number of Frames take 2-8 KiB), so most
/// files need a single read. Bytes cost little next to a read's fixed cost,
/// but a larger first read costs more than it saves: in Chromium a 16 KiB
/// first read made the 2,000-file scan of `BENCHMARKS.md` a few per cent
/// slower than 8 KiB, and 64 KiB a third slower.
pub const SUGGESTED_FIRST_READ: u64 = 8 * 1024;

/// The default of [`ScanRules::max_header_bytes`].
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 32 * 1024 * 1024;

/// The last attribute the scanner needs, Number of Frames (0028,0008); the
/// first top-level element after it ends the scan.
pub const LAST_NEEDED_TAG: (u16, u16) = (0x0028, 0x0008);

/// Media Storage SOP Class UID of a DICOMDIR.
const DICOMDIR_CLASS: &str = uids::MEDIA_STORAGE_DIRECTORY_STORAGE;

/// Other Patient IDs (0010,1000): retired in the standard (so dicom-rs's
/// constant is deprecated) but still written by many systems.
const OTHER_PATIENT_IDS: Tag = Tag(0x0010, 0x1000);

/// Explicit VR Big Endian: retired, still found on old CDs.
const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// The data set attributes the scanner reads; all are text.
const NEEDED: [Tag; 28] = [
    tags::SPECIFIC_CHARACTER_SET,
    tags::SOP_CLASS_UID,
    tags::SOP_INSTANCE_UID,
    tags::STUDY_DATE,
    tags::SERIES_DATE,
    tags::STUDY_TIME,
    tags::SERIES_TIME,
    tags::ACCESSION_NUMBER,
    tags::MODALITY,
    tags::INSTITUTION_NAME,
    tags::INSTITUTION_ADDRESS,
    tags::REFERRING_PHYSICIAN_NAME,
    tags::TIMEZONE_OFFSET_FROM_UTC,
    tags::STUDY_DESCRIPTION,
    tags::SERIES_DESCRIPTION,
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::ISSUER_OF_PATIENT_ID,
    tags::PATIENT_BIRTH_DATE,
    tags::PATIENT_SEX,
    OTHER_PATIENT_IDS,
    tags::BODY_PART_EXAMINED,
    tags::PROTOCOL_NAME,
    tags::STUDY_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::STUDY_ID,
    tags::SERIES_NUMBER,
    tags::NUMBER_OF_FRAMES,
];

/// The answer of [`scan_head`] for one file.
// One short-lived value per call: boxing the instance would only add an
// allocation per file.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// A DICOM instance and its metadata.
    Instance(InstanceMeta),
    /// The bytes given end before the header does: call again with the
    /// file's bytes `0..read_up_to`. Always more than given and at most the
    /// file length: at least what the next step needs, and at least twice
    /// what was given, so a long header takes few reads; never more than
    /// twice what the scan needs in the end.
    NeedMore {
        /// Exclusive end offset of the prefix to read next.
        read_up_to: u64,
    },
    /// The file is not uploaded, for the reason given.
    Skipped(SkipReason),
}

/// The attributes of one DICOM instance that the widget shows and sends.
///
/// Strings are decoded to Unicode per Specific Character Set and trimmed of
/// DICOM padding; an absent attribute is an empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceMeta {
    /// Patient's Name (0010,0010).
    pub patient_name: PersonName,
    /// Patient ID (0010,0020).
    pub patient_id: String,
    /// Other Patient IDs (0010,1000), backslash-separated when several.
    pub other_patient_ids: String,
    /// Patient's Birth Date (0010,0030), as stored (normally `YYYYMMDD`).
    pub patient_birth_date: String,
    /// Patient's Sex (0010,0040): `M`, `F`, `O` or empty.
    pub patient_sex: String,
    /// Issuer of Patient ID (0010,0021).
    pub issuer_of_patient_id: String,
    /// Referring Physician's Name (0008,0090).
    pub referring_physician_name: PersonName,
    /// Institution Name (0008,0080).
    pub institution_name: String,
    /// Institution Address (0008,0081).
    pub institution_address: String,
    /// Study Description (0008,1030).
    pub study_description: String,
    /// Protocol Name (0018,1030).
    pub protocol_name: String,
    /// Accession Number (0008,0050).
    pub accession_number: String,
    /// Study ID (0020,0010).
    pub study_id: String,
    /// Study Date (0008,0020), as stored (normally `YYYYMMDD`).
    pub study_date: String,
    /// Study Time (0008,0030), as stored (`HHMMSS.FFFFFF`, parts optional).
    pub study_time: String,
    /// Timezone Offset From UTC (0008,0201), e.g. `+0100`.
    pub timezone_offset_from_utc: String,
    /// Series Description (0008,103E).
    pub series_description: String,
    /// Series Number (0020,0011), as stored.
    pub series_number: String,
    /// Series Date (0008,0021).
    pub series_date: String,
    /// Series Time (0008,0031).
    pub series_time: String,
    /// Modality (0008,0060), e.g. `CT`.
    pub modality: String,
    /// Body Part Examined (0018,0015).
    pub body_part_examined: String,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: String,
    /// Series Instance UID (0020,000E).
    pub series_instance_uid: String,
    /// SOP Instance UID (0008,0018), or the file meta's Media Storage SOP
    /// Instance UID when the data set has none.
    pub sop_instance_uid: String,
    /// SOP Class UID (0008,0016), or the file meta's Media Storage SOP Class
    /// UID when the data set has none.
    pub sop_class_uid: String,
    /// Transfer Syntax UID (0002,0010); for files without file meta, the
    /// syntax the scanner recognised (implicit or explicit VR).
    pub transfer_syntax_uid: String,
    /// Number of Frames (0028,0008); 1 when absent or not a positive integer.
    pub number_of_frames: u32,
    /// The file's size in bytes.
    pub file_size: u64,
}

/// Why a file is not uploaded; `Display` is a sentence the UI can show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// A DICOMDIR: the index of a DICOM CD, not an image. Recognised by its
    /// name or its Media Storage SOP Class UID `1.2.840.10008.1.3.10`.
    Dicomdir,
    /// Not a DICOM file; `why` says what it seems to be instead.
    NotDicom {
        /// What the file seems to be, e.g. "a Windows program".
        why: String,
    },
    /// A DICOM file left out by a [`RejectRule`].
    Rejected {
        /// The rule's description.
        rule: String,
    },
    /// A DICOM file without a UID needed to place it in a study.
    MissingUid {
        /// The missing attributes, e.g. "Series Instance UID".
        which: String,
    },
    /// The file ends inside its DICOM header.
    Truncated {
        /// Where the cut element starts (in the inflated data set for
        /// deflated files).
        offset: u64,
    },
    /// An element declares a value longer than the rest of the file (a
    /// damaged length, or a file cut inside a value).
    BadLength {
        /// The element's tag, e.g. `(0010,0010)`.
        tag: String,
        /// Where the element starts (in the inflated data set for deflated
        /// files).
        offset: u64,
        /// The declared value length.
        declared: u64,
    },
    /// The header goes on past [`ScanRules::max_header_bytes`].
    HeaderTooLarge {
        /// The limit that was reached.
        limit: u64,
    },
    /// The bytes after the DICOM marker are not a valid data set.
    Malformed {
        /// What is wrong.
        why: String,
    },
    /// The file could not be read (removed, moved or unreadable media);
    /// reported by the shell that reads files, never by [`scan_head`].
    Unreadable {
        /// What the platform said, e.g. "NotReadableError".
        why: String,
    },
    /// Another file has the same SOP Instance UID; that one is uploaded.
    Duplicate {
        /// The shared SOP Instance UID.
        sop_instance_uid: String,
        /// The path of the file that is kept.
        kept: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dicomdir => f.write_str(
                "a DICOMDIR index file: it only lists the images, which are scanned on their own",
            ),
            Self::NotDicom { why } => write!(f, "not a DICOM file: {why}"),
            Self::Rejected { rule } => write!(f, "left out by rule: {rule}"),
            Self::MissingUid { which } => write!(
                f,
                "a DICOM file without {which}: it cannot be placed in a study"
            ),
            Self::Truncated { offset } => write!(
                f,
                "the file ends inside its DICOM header (element at byte {offset}): it is incomplete; copy it again from the source"
            ),
            Self::BadLength {
                tag,
                offset,
                declared,
            } => write!(
                f,
                "damaged or incomplete DICOM file: element {tag} at byte {offset} declares {declared} bytes, past the end of the file"
            ),
            Self::HeaderTooLarge { limit } => write!(
                f,
                "the DICOM header goes on past {limit} bytes without reaching the image: the file is damaged or unusual"
            ),
            Self::Malformed { why } => write!(f, "damaged DICOM file: {why}"),
            Self::Unreadable { why } => write!(
                f,
                "the file could not be read ({why}): it may have been moved or the disc removed; add it again"
            ),
            Self::Duplicate {
                sop_instance_uid,
                kept,
            } => write!(
                f,
                "a copy of {kept} (same SOP Instance UID {sop_instance_uid}): only one is uploaded"
            ),
        }
    }
}

impl std::error::Error for SkipReason {}

/// What the scanner leaves out, and how far it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRules {
    /// Instances matching any of these rules are skipped as
    /// [`SkipReason::Rejected`].
    pub reject: Vec<RejectRule>,
    /// The scanner never asks for (or inflates) more header bytes than this.
    pub max_header_bytes: u64,
}

impl Default for ScanRules {
    /// Rejects Philips ExamCards; reads at most [`DEFAULT_MAX_HEADER_BYTES`].
    fn default() -> Self {
        Self {
            reject: vec![RejectRule::philips_examcard()],
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl ScanRules {
    /// No reject rules, default header limit.
    pub fn accept_all() -> Self {
        Self {
            reject: Vec::new(),
            ..Self::default()
        }
    }
}

/// A rule that leaves out instances whose attributes all match.
///
/// Each condition that is set must equal the instance's attribute (trimmed,
/// ASCII case-insensitive). A rule with no condition matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectRule {
    /// What the rule leaves out, shown to the user.
    pub description: String,
    /// SOP Class UID to match.
    #[serde(default)]
    pub sop_class_uid: Option<String>,
    /// Protocol Name to match.
    #[serde(default)]
    pub protocol_name: Option<String>,
    /// Modality to match.
    #[serde(default)]
    pub modality: Option<String>,
}

impl RejectRule {
    /// The default rule: Philips ExamCards (Raw Data Storage,
    /// `1.2.840.10008.5.1.4.1.1.66`, with Protocol Name `ExamCard`), which
    /// hold scanner settings, not images.
    pub fn philips_examcard() -> Self {
        Self {
            description: "Philips ExamCard (scanner settings, not images)".to_owned(),
            sop_class_uid: Some(uids::RAW_DATA_STORAGE.to_owned()),
            protocol_name: Some("ExamCard".to_owned()),
            modality: None,
        }
    }

    /// Whether the instance matches every condition of the rule.
    pub fn matches(&self, meta: &InstanceMeta) -> bool {
        let conditions = [
            (&self.sop_class_uid, &meta.sop_class_uid),
            (&self.protocol_name, &meta.protocol_name),
            (&self.modality, &meta.modality),
        ];
        let mut any = false;
        for (want, have) in conditions {
            if let Some(want) = want {
                any = true;
                if !want.trim().eq_ignore_ascii_case(have.trim()) {
                    return false;
                }
            }
        }
        any
    }
}

/// Scans the first bytes of a file.
///
/// `bytes` is the file's prefix (bytes past `file_len` are ignored),
/// `file_len` its full size, `file_name` its name or relative path (used to
/// recognise `DICOMDIR` and to describe non-DICOM files). Never panics and
/// never allocates more than a small multiple of `bytes.len()` (plus, for
/// deflated files, at most `rules.max_header_bytes` of inflated data).
pub fn scan_head(bytes: &[u8], file_len: u64, file_name: &str, rules: &ScanRules) -> Scan {
    let have = usize::try_from(file_len).map_or(bytes.len(), |len| bytes.len().min(len));
    Scanner {
        bytes: bytes.get(..have).unwrap_or(bytes),
        file_len,
        file_name,
        rules,
    }
    .run()
}

/// What the file meta group said.
#[derive(Default)]
struct FileMeta {
    sop_class_uid: String,
    sop_instance_uid: String,
    transfer_syntax_uid: String,
}

struct Scanner<'a> {
    bytes: &'a [u8],
    file_len: u64,
    file_name: &'a str,
    rules: &'a ScanRules,
}

impl Scanner<'_> {
    fn run(&self) -> Scan {
        if is_dicomdir_name(self.file_name) {
            return Scan::Skipped(SkipReason::Dicomdir);
        }
        if self.file_len == 0 {
            return not_dicom("the file is empty");
        }
        let first = self.file_len.min(132);
        if (self.bytes.len() as u64) < first {
            return self.need(first);
        }
        if self.bytes.get(128..132) == Some(b"DICM") {
            self.meta(132)
        } else if self.bytes.starts_with(b"DICM") {
            self.meta(4)
        } else if starts_like_meta(self.bytes) {
            self.meta(0)
        } else {
            self.guess(0, FileMeta::default())
        }
    }

    /// Asks for bytes up to at least `end` (a file offset).
    fn need(&self, end: u64) -> Scan {
        let have = self.bytes.len() as u64;
        if have >= self.file_len || end <= have {
            // Defensive: cannot happen when the callers are right; never
            // ask for what was given, so a caller cannot loop forever.
            return Scan::Skipped(SkipReason::Truncated { offset: have });
        }
        let grown = have.saturating_mul(2).min(self.rules.max_header_bytes);
        Scan::NeedMore {
            read_up_to: end.max(grown).min(self.file_len),
        }
    }

    /// The bytes from file offset `start` as a walkable stream.
    fn stream_from(&self, start: u64) -> Stream<'_> {
        let from = usize::try_from(start).unwrap_or(usize::MAX);
        Stream {
            data: self.bytes.get(from..).unwrap_or_default(),
            total: Some(self.file_len.saturating_sub(start)),
            limit: self.rules.max_header_bytes.saturating_sub(start),
        }
    }

    /// Reads the file meta group starting at `start`, then the data set.
    fn meta(&self, start: u64) -> Scan {
        let needed = [
            tags::MEDIA_STORAGE_SOP_CLASS_UID,
            tags::MEDIA_STORAGE_SOP_INSTANCE_UID,
            tags::TRANSFER_SYNTAX_UID,
        ];
        let walked = self
            .stream_from(start)
            .walk(Syntax::EXPLICIT_LE, &needed, |tag| tag.0 != 0x0002);
        let (values, end) = match walked {
            Walked::Done { values, end } => (values, end),
            Walked::Need(end) => return self.need(start + end),
            Walked::Failed(error) => return Scan::Skipped(self.reason(error, start)),
        };
        let ascii = SpecificCharacterSet::default();
        let value = |i: usize| text::decode(&ascii, values.get(i).copied().flatten());
        let meta = FileMeta {
            sop_class_uid: value(0),
            sop_instance_uid: value(1),
            transfer_syntax_uid: value(2),
        };
        if meta.sop_class_uid == DICOMDIR_CLASS {
            return Scan::Skipped(SkipReason::Dicomdir);
        }
        let data_set = start + end;
        match meta.transfer_syntax_uid.as_str() {
            "" => self.guess(data_set, meta),
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => self.deflated(data_set, meta),
            uids::IMPLICIT_VR_LITTLE_ENDIAN => {
                self.data_set(data_set, Syntax::IMPLICIT_LE, meta, false)
            }
            EXPLICIT_VR_BIG_ENDIAN => self.data_set(data_set, Syntax::EXPLICIT_BE, meta, false),
            // Explicit VR little endian and every encapsulated syntax.
            _ => self.data_set(data_set, Syntax::EXPLICIT_LE, meta, false),
        }
    }

    /// Recognises the encoding of a data set without a transfer syntax from
    /// its first element: a plausible group (0008–0028, even) in little
    /// endian with a valid VR next is explicit VR little endian; without a
    /// valid VR it is implicit VR little endian if the 4-byte length fits in
    /// the file; a plausible big endian group with a valid VR is explicit VR
    /// big endian. Anything else is not DICOM.
    fn guess(&self, start: u64, mut meta: FileMeta) -> Scan {
        let guessed = start == 0;
        let remaining = self.file_len.saturating_sub(start);
        if remaining < 8 {
            return if guessed {
                not_dicom(&sniff::describe(self.bytes, self.file_name))
            } else {
                self.data_set(start, Syntax::EXPLICIT_LE, meta, false)
            };
        }
        let from = usize::try_from(start).unwrap_or(usize::MAX);
        let Some(head) = self.bytes.get(from..from.saturating_add(8)) else {
            return self.need(start + 8);
        };
        let le = u16::from_le_bytes([head[0], head[1]]);
        let be = u16::from_be_bytes([head[0], head[1]]);
        let vr = [head[4], head[5]];
        let implicit_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let plausible = |group: u16| group % 2 == 0 && (0x0008..=0x0028).contains(&group);
        let syntax = if plausible(le) && walk::is_vr(vr) {
            Some((Syntax::EXPLICIT_LE, uids::EXPLICIT_VR_LITTLE_ENDIAN))
        } else if plausible(le) && u64::from(implicit_len) <= remaining - 8 {
            Some((Syntax::IMPLICIT_LE, uids::IMPLICIT_VR_LITTLE_ENDIAN))
        } else if plausible(be) && walk::is_vr(vr) {
            Some((Syntax::EXPLICIT_BE, EXPLICIT_VR_BIG_ENDIAN))
        } else {
            None
        };
        match syntax {
            Some((syntax, uid)) => {
                meta.transfer_syntax_uid = uid.to_owned();
                self.data_set(start, syntax, meta, guessed)
            }
            None if guessed => not_dicom(&sniff::describe(self.bytes, self.file_name)),
            None => Scan::Skipped(SkipReason::Malformed {
                why: format!("no transfer syntax and no recognisable data set at byte {start}"),
            }),
        }
    }

    /// Walks the data set from file offset `start`. `guessed`: there was no
    /// DICOM marker at all, so a failure means "not DICOM", not "damaged".
    fn data_set(&self, start: u64, syntax: Syntax, meta: FileMeta, guessed: bool) -> Scan {
        let syntax = self.actual_syntax(start, syntax);
        let walked = self
            .stream_from(start)
            .walk(syntax, &NEEDED, |tag| tag > last_needed());
        match walked {
            Walked::Need(end) => self.need(start + end),
            Walked::Failed(_) if guessed => not_dicom(&sniff::describe(self.bytes, self.file_name)),
            Walked::Failed(error) => Scan::Skipped(self.reason(error, start)),
            Walked::Done { values, .. } => {
                if guessed && values.iter().all(Option::is_none) {
                    return not_dicom(&sniff::describe(self.bytes, self.file_name));
                }
                self.finish(&values, meta)
            }
        }
    }

    /// The encoding the data set's first element is really in. Some writers
    /// label an implicit VR data set as explicit (e.g. a JPEG transfer
    /// syntax over implicit VR elements) or the reverse; like pydicom, the
    /// first element decides when it plainly contradicts the label: no valid
    /// VR where one must be (and an implicit length that fits the file), or
    /// a valid VR where an implicit length would run past the file.
    fn actual_syntax(&self, start: u64, syntax: Syntax) -> Syntax {
        if syntax.big_endian {
            return syntax;
        }
        let from = usize::try_from(start).unwrap_or(usize::MAX);
        let Some(head) = self.bytes.get(from..from.saturating_add(8)) else {
            return syntax;
        };
        let remaining = self.file_len.saturating_sub(start.saturating_add(8));
        let implicit_len = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
        match (syntax.explicit, walk::is_vr([head[4], head[5]])) {
            (true, false) if implicit_len <= remaining => Syntax::IMPLICIT_LE,
            (false, true) if implicit_len > remaining => Syntax::EXPLICIT_LE,
            _ => syntax,
        }
    }

    /// Inflates the deflated data set from file offset `start`, only as far
    /// as the walk needs, and walks it.
    fn deflated(&self, start: u64, meta: FileMeta) -> Scan {
        let from = usize::try_from(start).unwrap_or(usize::MAX);
        let input = self.bytes.get(from..).unwrap_or_default();
        let whole_file = self.bytes.len() as u64 == self.file_len;
        let limit = self.rules.max_header_bytes;
        let cap = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut inflater = Decompress::new(false);
        let mut out: Vec<u8> = Vec::new();
        let mut target = 64 * 1024usize;
        let mut ended = false;
        loop {
            let progress = (out.len(), inflater.total_in());
            if !ended {
                match inflate_to(&mut inflater, input, &mut out, target.min(cap)) {
                    Ok(done) => ended = done,
                    Err(()) => {
                        return Scan::Skipped(SkipReason::Malformed {
                            why: "the deflated data set does not inflate".to_owned(),
                        })
                    }
                }
            }
            let stream = Stream {
                data: &out,
                total: ended.then_some(out.len() as u64),
                limit,
            };
            let needed = match stream.walk(Syntax::EXPLICIT_LE, &NEEDED, |tag| tag > last_needed())
            {
                Walked::Done { values, .. } => return self.finish(&values, meta),
                Walked::Failed(error) => return Scan::Skipped(self.reason(error, 0)),
                Walked::Need(end) => usize::try_from(end).unwrap_or(usize::MAX),
            };
            let input_used = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
            let moved = progress != (out.len(), inflater.total_in());
            if moved && !ended && input_used < input.len() && out.len() < cap {
                target = needed.max(target.saturating_mul(2));
                continue;
            }
            if out.len() >= cap {
                return Scan::Skipped(SkipReason::HeaderTooLarge { limit });
            }
            if whole_file || ended {
                return Scan::Skipped(SkipReason::Truncated {
                    offset: out.len() as u64,
                });
            }
            // All compressed bytes given so far are inflated: read more.
            return self.need(self.bytes.len() as u64 + 1);
        }
    }

    /// Builds the instance from the walked values and classifies it.
    fn finish(&self, values: &[Option<&[u8]>], meta: FileMeta) -> Scan {
        let get = |tag: Tag| {
            NEEDED
                .iter()
                .position(|t| *t == tag)
                .and_then(|i| values.get(i).copied().flatten())
        };
        let charset = text::charset(get(tags::SPECIFIC_CHARACTER_SET));
        let s = |tag: Tag| text::decode(&charset, get(tag));
        let or_meta =
            |value: String, fallback: String| if value.is_empty() { fallback } else { value };
        let instance = InstanceMeta {
            patient_name: PersonName::from_raw(&s(tags::PATIENT_NAME)),
            patient_id: s(tags::PATIENT_ID),
            other_patient_ids: s(OTHER_PATIENT_IDS),
            patient_birth_date: s(tags::PATIENT_BIRTH_DATE),
            patient_sex: s(tags::PATIENT_SEX),
            issuer_of_patient_id: s(tags::ISSUER_OF_PATIENT_ID),
            referring_physician_name: PersonName::from_raw(&s(tags::REFERRING_PHYSICIAN_NAME)),
            institution_name: s(tags::INSTITUTION_NAME),
            institution_address: s(tags::INSTITUTION_ADDRESS),
            study_description: s(tags::STUDY_DESCRIPTION),
            protocol_name: s(tags::PROTOCOL_NAME),
            accession_number: s(tags::ACCESSION_NUMBER),
            study_id: s(tags::STUDY_ID),
            study_date: s(tags::STUDY_DATE),
            study_time: s(tags::STUDY_TIME),
            timezone_offset_from_utc: s(tags::TIMEZONE_OFFSET_FROM_UTC),
            series_description: s(tags::SERIES_DESCRIPTION),
            series_number: s(tags::SERIES_NUMBER),
            series_date: s(tags::SERIES_DATE),
            series_time: s(tags::SERIES_TIME),
            modality: s(tags::MODALITY),
            body_part_examined: s(tags::BODY_PART_EXAMINED),
            study_instance_uid: s(tags::STUDY_INSTANCE_UID),
            series_instance_uid: s(tags::SERIES_INSTANCE_UID),
            sop_instance_uid: or_meta(s(tags::SOP_INSTANCE_UID), meta.sop_instance_uid),
            sop_class_uid: or_meta(s(tags::SOP_CLASS_UID), meta.sop_class_uid),
            transfer_syntax_uid: meta.transfer_syntax_uid,
            number_of_frames: s(tags::NUMBER_OF_FRAMES)
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or(1),
            file_size: self.file_len,
        };
        if instance.sop_class_uid == DICOMDIR_CLASS {
            return Scan::Skipped(SkipReason::Dicomdir);
        }
        if let Some(rule) = self.rules.reject.iter().find(|r| r.matches(&instance)) {
            return Scan::Skipped(SkipReason::Rejected {
                rule: rule.description.clone(),
            });
        }
        let missing: Vec<&str> = [
            ("Study Instance UID", &instance.study_instance_uid),
            ("Series Instance UID", &instance.series_instance_uid),
            ("SOP Instance UID", &instance.sop_instance_uid),
        ]
        .into_iter()
        .filter(|(_, uid)| uid.is_empty())
        .map(|(name, _)| name)
        .collect();
        if !missing.is_empty() {
            return Scan::Skipped(SkipReason::MissingUid {
                which: missing.join(" and "),
            });
        }
        Scan::Instance(instance)
    }

    /// The skip reason for a walk error in a stream starting at `base`.
    fn reason(&self, error: WalkError, base: u64) -> SkipReason {
        match error {
            WalkError::Truncated { offset } => SkipReason::Truncated {
                offset: base + offset,
            },
            WalkError::BadLength {
                tag,
                offset,
                declared,
            } => SkipReason::BadLength {
                tag: walk::tag_text(tag),
                offset: base + offset,
                declared: u64::from(declared),
            },
            WalkError::TooLarge => SkipReason::HeaderTooLarge {
                limit: self.rules.max_header_bytes,
            },
            WalkError::Malformed(why) => SkipReason::Malformed { why },
        }
    }
}

fn last_needed() -> Tag {
    Tag(LAST_NEEDED_TAG.0, LAST_NEEDED_TAG.1)
}

fn not_dicom(why: &str) -> Scan {
    Scan::Skipped(SkipReason::NotDicom {
        why: why.to_owned(),
    })
}

/// `DICOMDIR`, in any case, also with an ISO 9660 version suffix (`;1`).
fn is_dicomdir_name(file_name: &str) -> bool {
    let base = sniff::base_name(file_name);
    let base = base.split(';').next().unwrap_or(base);
    base.trim_end_matches('.').eq_ignore_ascii_case("DICOMDIR")
}

/// Whether the bytes start with an explicit VR element of group 0002.
fn starts_like_meta(bytes: &[u8]) -> bool {
    bytes.get(..2) == Some(&[0x02, 0x00])
        && bytes
            .get(4..6)
            .is_some_and(|vr| walk::is_vr([vr[0], vr[1]]))
}

/// Inflates until `out` holds `target` bytes, the input is used up, or the
/// deflate stream ends (`Ok(true)`).
fn inflate_to(
    inflater: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    target: usize,
) -> Result<bool, ()> {
    while out.len() < target {
        let used = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
        let rest = input.get(used..).unwrap_or_default();
        let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
        out.reserve((target - out.len()).min(256 * 1024));
        let status = inflater
            .decompress_vec(rest, out, FlushDecompress::None)
            .map_err(|_| ())?;
        if status == Status::StreamEnd {
            return Ok(true);
        }
        if inflater.total_in() == before_in && inflater.total_out() == before_out {
            break;
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_needed_tag_is_the_highest_needed_tag() {
        assert_eq!(NEEDED.iter().max(), Some(&last_needed()));
    }

    #[test]
    fn recognises_dicomdir_names() {
        for name in ["DICOMDIR", "cd/dicomdir", "CD\\DICOMDIR;1", "DICOMDIR."] {
            assert!(is_dicomdir_name(name), "{name}");
        }
        for name in ["DICOMDIR.txt", "IM0001", "dicomdirx"] {
            assert!(!is_dicomdir_name(name), "{name}");
        }
    }

    #[test]
    fn examcard_rule_needs_both_conditions() {
        let rule = RejectRule::philips_examcard();
        let mut meta = InstanceMeta {
            sop_class_uid: uids::RAW_DATA_STORAGE.to_owned(),
            protocol_name: "examcard ".to_owned(),
            ..InstanceMeta::default()
        };
        assert!(rule.matches(&meta));
        meta.protocol_name = "T1 SE".to_owned();
        assert!(!rule.matches(&meta));
        let empty = RejectRule {
            description: "nothing".to_owned(),
            sop_class_uid: None,
            protocol_name: None,
            modality: None,
        };
        assert!(!empty.matches(&meta));
    }
}
