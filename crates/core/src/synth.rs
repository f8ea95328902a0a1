//! Synthetic DICOM files, built in memory with dicom-rs's writer, for tests,
//! `cargo xtask gen-study` and benchmarks (feature `synth`).
//!
//! [`SynthFile`] is one instance in any supported transfer syntax and file
//! layout; [`StudyTree`] is a whole deterministic folder of patients,
//! studies, series and instances, plus junk files and a DICOMDIR. Nothing
//! here touches the filesystem: files are handed to a callback.

use dicom_core::value::{DataSetSequence, PixelFragmentSequence};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::fmt;

/// Why a synthetic file could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SynthError {
    /// The combination asked for cannot be written (e.g. a deflated data set
    /// without file meta); the string says which.
    Unsupported(String),
    /// dicom-rs refused to write the object; the string is its reason.
    Write(String),
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(what) => write!(f, "cannot build this synthetic file: {what}"),
            Self::Write(why) => write!(f, "dicom-rs could not write the synthetic file: {why}"),
        }
    }
}

impl std::error::Error for SynthError {}

/// The transfer syntaxes the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthSyntax {
    /// Explicit VR Little Endian.
    ExplicitLe,
    /// Implicit VR Little Endian.
    ImplicitLe,
    /// Explicit VR Big Endian (retired, still on old CDs).
    ExplicitBe,
    /// Deflated Explicit VR Little Endian.
    Deflated,
    /// JPEG Baseline: encapsulated pixel data (fake JPEG fragments).
    JpegBaseline,
}

impl SynthSyntax {
    /// Every syntax, for table tests.
    pub const ALL: [SynthSyntax; 5] = [
        Self::ExplicitLe,
        Self::ImplicitLe,
        Self::ExplicitBe,
        Self::Deflated,
        Self::JpegBaseline,
    ];

    /// The transfer syntax UID.
    pub fn uid(self) -> &'static str {
        match self {
            Self::ExplicitLe => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            Self::ImplicitLe => uids::IMPLICIT_VR_LITTLE_ENDIAN,
            Self::ExplicitBe => "1.2.840.10008.1.2.2",
            Self::Deflated => uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
            Self::JpegBaseline => uids::JPEG_BASELINE8_BIT,
        }
    }

    /// The command-line name, e.g. `explicit-le`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ExplicitLe => "explicit-le",
            Self::ImplicitLe => "implicit-le",
            Self::ExplicitBe => "explicit-be",
            Self::Deflated => "deflated",
            Self::JpegBaseline => "jpeg-baseline",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// How the bytes before the data set look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Standard Part 10: 128-byte preamble, `DICM`, file meta group.
    Part10,
    /// `DICM` and the file meta group, without the preamble.
    NoPreamble,
    /// The file meta group at byte 0, without preamble nor `DICM`.
    BareMeta,
    /// Only the data set, as on many old CDs.
    NoMeta,
}

/// One synthetic instance. Text attributes are kept as `(tag, VR, value)`;
/// image pixel module attributes and Pixel Data are added when written.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthFile {
    /// Transfer syntax of the data set.
    pub syntax: SynthSyntax,
    /// Bytes before the data set.
    pub layout: Layout,
    /// Text attributes (any order; written sorted).
    pub attributes: Vec<(Tag, VR, String)>,
    /// Pixel Data payload size in bytes (over all frames).
    pub pixel_bytes: usize,
    /// Seed of the pixel bytes.
    pub seed: u64,
}

impl SynthFile {
    /// A CT image with the given UIDs and plausible patient and study
    /// attributes, explicit VR little endian, Part 10, 1 KiB of pixels.
    pub fn new(study_uid: &str, series_uid: &str, sop_instance_uid: &str) -> Self {
        Self {
            syntax: SynthSyntax::ExplicitLe,
            layout: Layout::Part10,
            attributes: vec![
                (
                    tags::SOP_CLASS_UID,
                    VR::UI,
                    uids::CT_IMAGE_STORAGE.to_owned(),
                ),
                (tags::SOP_INSTANCE_UID, VR::UI, sop_instance_uid.to_owned()),
                (tags::STUDY_DATE, VR::DA, "20240131".to_owned()),
                (tags::STUDY_TIME, VR::TM, "101500".to_owned()),
                (tags::MODALITY, VR::CS, "CT".to_owned()),
                (tags::STUDY_DESCRIPTION, VR::LO, "CT CHEST".to_owned()),
                (tags::PATIENT_NAME, VR::PN, "Doe^Jane".to_owned()),
                (tags::PATIENT_ID, VR::LO, "PAT-001".to_owned()),
                (tags::PATIENT_BIRTH_DATE, VR::DA, "19700102".to_owned()),
                (tags::PATIENT_SEX, VR::CS, "F".to_owned()),
                (tags::STUDY_INSTANCE_UID, VR::UI, study_uid.to_owned()),
                (tags::SERIES_INSTANCE_UID, VR::UI, series_uid.to_owned()),
                (tags::SERIES_NUMBER, VR::IS, "1".to_owned()),
            ],
            pixel_bytes: 1024,
            seed: 0,
        }
    }

    /// Sets (or replaces) a text attribute.
    pub fn with(mut self, tag: Tag, vr: VR, value: &str) -> Self {
        self.attributes.retain(|(t, _, _)| *t != tag);
        self.attributes.push((tag, vr, value.to_owned()));
        self
    }

    /// Removes an attribute.
    pub fn without(mut self, tag: Tag) -> Self {
        self.attributes.retain(|(t, _, _)| *t != tag);
        self
    }

    /// Sets the transfer syntax.
    pub fn syntax(mut self, syntax: SynthSyntax) -> Self {
        self.syntax = syntax;
        self
    }

    /// Sets the layout.
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Sets the pixel payload size.
    pub fn pixel_bytes(mut self, bytes: usize) -> Self {
        self.pixel_bytes = bytes;
        self
    }

    /// Sets the pixel seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn frames(&self) -> usize {
        self.attributes
            .iter()
            .find(|(t, _, _)| *t == tags::NUMBER_OF_FRAMES)
            .and_then(|(_, _, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SynthError> {
        let mut obj = InMemDicomObject::new_empty();
        for (tag, vr, value) in &self.attributes {
            obj.put(DataElement::new(
                *tag,
                *vr,
                PrimitiveValue::from(value.as_str()),
            ));
        }
        // Native pixel data is 16-bit (12 stored), as in CT; JPEG is 8-bit.
        let jpeg = self.syntax == SynthSyntax::JpegBaseline;
        let bytes_per_sample = if jpeg { 1 } else { 2 };
        let samples = (self.pixel_bytes / bytes_per_sample).max(1);
        let columns = samples.clamp(1, 256);
        let rows = (samples / self.frames() / columns).max(1);
        let us = |tag: Tag, value: usize| {
            DataElement::new(
                tag,
                VR::US,
                PrimitiveValue::from(u16::try_from(value).unwrap_or(u16::MAX)),
            )
        };
        obj.put(us(tags::SAMPLES_PER_PIXEL, 1));
        obj.put(DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME2"),
        ));
        obj.put(us(tags::ROWS, rows));
        obj.put(us(tags::COLUMNS, columns));
        obj.put(us(tags::BITS_ALLOCATED, 8 * bytes_per_sample));
        obj.put(us(tags::BITS_STORED, if jpeg { 8 } else { 12 }));
        obj.put(us(tags::HIGH_BIT, if jpeg { 7 } else { 11 }));
        obj.put(us(tags::PIXEL_REPRESENTATION, 0));
        let mut rng = Rng::new(self.seed);
        if jpeg {
            let frames = self.frames();
            let per_frame = (self.pixel_bytes / frames).max(4);
            let fragments: Vec<Vec<u8>> = (0..frames)
                .map(|_| fake_jpeg(&mut rng, per_frame))
                .collect();
            obj.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PixelFragmentSequence::new(Vec::<u32>::new(), fragments),
            ));
        } else {
            obj.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(ct_like_pixels(&mut rng, samples, columns).into()),
            ));
        }
        write_object(obj, self.syntax, self.layout, None)
    }
}

/// 12-bit samples shaped like a CT slice: a smooth body-like gradient with a
/// little noise, so that deflate shrinks them about as much as real native
/// CT data (roughly 2–2.5×), unlike random bytes.
fn ct_like_pixels(rng: &mut Rng, samples: usize, columns: usize) -> Vec<u16> {
    let columns = columns.max(1);
    (0..samples)
        .map(|i| {
            let (x, y) = ((i % columns) as i64, (i / columns) as i64);
            let (dx, dy) = (x - columns as i64 / 2, (y % 512) - 256);
            let r2 = dx * dx + dy * dy;
            let body = if r2 < 200 * 200 { 1040 - r2 / 400 } else { 24 };
            let noise = (rng.next() % 24) as i64;
            (body + noise).clamp(0, 4095) as u16
        })
        .collect()
}

/// Writes an object in a syntax and layout; `media_class` overrides the
/// Media Storage SOP Class UID (for objects without SOP Class UID).
fn write_object(
    obj: InMemDicomObject,
    syntax: SynthSyntax,
    layout: Layout,
    media_class: Option<&str>,
) -> Result<Vec<u8>, SynthError> {
    let write_err = |e: &dyn std::error::Error| {
        let mut why = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            why = format!("{why}: {cause}");
            source = cause.source();
        }
        SynthError::Write(why)
    };
    let mut out = Vec::new();
    if layout == Layout::NoMeta {
        if matches!(syntax, SynthSyntax::Deflated | SynthSyntax::JpegBaseline) {
            return Err(SynthError::Unsupported(format!(
                "{} without file meta: nothing would tell a reader the transfer syntax",
                syntax.name()
            )));
        }
        let ts = TransferSyntaxRegistry.get(syntax.uid()).ok_or_else(|| {
            SynthError::Unsupported(format!("unknown transfer syntax {}", syntax.uid()))
        })?;
        obj.write_dataset_with_ts(&mut out, ts)
            .map_err(|e| write_err(&e))?;
        return Ok(out);
    }
    let mut builder = FileMetaTableBuilder::new().transfer_syntax(syntax.uid());
    if let Some(class) = media_class {
        builder = builder
            .media_storage_sop_class_uid(class)
            .media_storage_sop_instance_uid("2.25.1");
    }
    let file = obj.with_meta(builder).map_err(|e| write_err(&e))?;
    file.write_all(&mut out).map_err(|e| write_err(&e))?;
    let skip = match layout {
        Layout::Part10 | Layout::NoMeta => 0,
        Layout::NoPreamble => 128,
        Layout::BareMeta => 132,
    };
    Ok(out.split_off(skip.min(out.len())))
}

/// A fragment that starts and ends like a JPEG stream (even length).
fn fake_jpeg(rng: &mut Rng, len: usize) -> Vec<u8> {
    let len = (len.max(4) + 1) & !1;
    let mut bytes = rng.bytes(len);
    bytes[..2].copy_from_slice(&[0xFF, 0xD8]);
    bytes[len - 2..].copy_from_slice(&[0xFF, 0xD9]);
    bytes
}

/// A minimal DICOMDIR (explicit VR little endian) listing `file_ids` as
/// IMAGE records. Offsets are zero: enough to be recognised and skipped,
/// not a navigable index.
pub fn dicomdir_bytes(file_ids: &[String]) -> Result<Vec<u8>, SynthError> {
    let records: Vec<InMemDicomObject> = file_ids
        .iter()
        .map(|id| {
            InMemDicomObject::from_element_iter([
                DataElement::new(Tag(0x0004, 0x1400), VR::UL, PrimitiveValue::from(0u32)),
                DataElement::new(Tag(0x0004, 0x1410), VR::US, PrimitiveValue::from(0xFFFFu16)),
                DataElement::new(Tag(0x0004, 0x1420), VR::UL, PrimitiveValue::from(0u32)),
                DataElement::new(Tag(0x0004, 0x1430), VR::CS, PrimitiveValue::from("IMAGE")),
                DataElement::new(
                    Tag(0x0004, 0x1500),
                    VR::CS,
                    PrimitiveValue::from(id.replace('/', "\\")),
                ),
            ])
        })
        .collect();
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(Tag(0x0004, 0x1130), VR::CS, PrimitiveValue::from("SYNTH")),
        DataElement::new(Tag(0x0004, 0x1200), VR::UL, PrimitiveValue::from(0u32)),
        DataElement::new(Tag(0x0004, 0x1202), VR::UL, PrimitiveValue::from(0u32)),
        DataElement::new(Tag(0x0004, 0x1212), VR::US, PrimitiveValue::from(0u16)),
        DataElement::new(Tag(0x0004, 0x1220), VR::SQ, DataSetSequence::from(records)),
    ]);
    write_object(
        obj,
        SynthSyntax::ExplicitLe,
        Layout::Part10,
        Some(uids::MEDIA_STORAGE_DIRECTORY_STORAGE),
    )
}

/// A synthetic patient: name, its character set, ID, birth date, sex.
struct SynthPatient {
    name: &'static str,
    charset: &'static str,
    birth_date: &'static str,
    sex: &'static str,
}

const PATIENTS: [SynthPatient; 4] = [
    SynthPatient {
        name: "Müller^Hans",
        charset: "ISO_IR 100",
        birth_date: "19650412",
        sex: "M",
    },
    SynthPatient {
        name: "Doe^Jane^Q",
        charset: "ISO_IR 192",
        birth_date: "19800229",
        sex: "F",
    },
    SynthPatient {
        name: "山田^太郎",
        charset: "ISO_IR 192",
        birth_date: "19701231",
        sex: "M",
    },
    SynthPatient {
        name: "Παπαδοπούλου^Ελένη",
        charset: "ISO_IR 192",
        birth_date: "19921103",
        sex: "F",
    },
];

const MODALITIES: [&str; 4] = ["CT", "MR", "US", "CR"];

/// The patient name written for the first patient of a [`StudyTree`] with
/// `hostile` set: HTML and script markup (family name a script, given name
/// bold text), which a UI must show as text. Running it would open an
/// alert. It has no `=` nor `\\`, which separate the groups and values of a
/// DICOM person name.
pub const HOSTILE_PATIENT_NAME: &str = "<script>alert('pwned')</script>^<b>Bold</b>";

/// The study description of the first patient's studies in a hostile
/// [`StudyTree`]: an image tag whose error handler would open an alert if
/// the markup were ever parsed.
pub const HOSTILE_STUDY_DESCRIPTION: &str = "<img src=x onerror=\"alert('pwned')\">";

/// The hostile files of a [`StudyTree`] with `hostile` set, by path: a
/// 0-byte file, an instance cut inside its header, and an instance with an
/// element that declares [`ABSURD_LENGTH`] bytes.
pub const HOSTILE_FILES: [&str; 3] = [
    "HOSTILE/EMPTY.DCM",
    "HOSTILE/TRUNCATED.DCM",
    "HOSTILE/BADLENGTH.DCM",
];

/// The value length declared by the private element (0009,1001) of
/// `HOSTILE/BADLENGTH.DCM`: far more than the file holds.
pub const ABSURD_LENGTH: u32 = 0xFFFF_FFF0;

/// A deterministic folder of synthetic studies.
///
/// Patients: `ceil(studies / 2)` unless `patient_count` says otherwise, so
/// by default most patients have two studies; study `s` belongs to patient
/// `s % patients`. Paths look like `PAT01/ST002/SE003/IM00004` (with `.dcm`
/// on about half the files, chosen by the seed). With `junk`: `README.TXT`,
/// `AUTORUN.INF` and `VIEWER/VIEWER.EXE` at the root; with `dicomdir`: a
/// root `DICOMDIR`; with `hostile`: the [`HOSTILE_FILES`], and the first
/// patient named [`HOSTILE_PATIENT_NAME`] with studies described as
/// [`HOSTILE_STUDY_DESCRIPTION`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyTree {
    /// Number of studies.
    pub studies: usize,
    /// Series per study.
    pub series: usize,
    /// Instances per series.
    pub instances: usize,
    /// Pixel payload per instance, in bytes.
    pub pixel_bytes: usize,
    /// Transfer syntax of every instance.
    pub syntax: SynthSyntax,
    /// Part 10 with preamble, or without (`DICM` at byte 0).
    pub preamble: bool,
    /// Add README, autorun and viewer files.
    pub junk: bool,
    /// Add a DICOMDIR.
    pub dicomdir: bool,
    /// Number of patients; `None`: `ceil(studies / 2)`. With as many
    /// patients as studies, every study has its own patient.
    pub patient_count: Option<usize>,
    /// Add the [`HOSTILE_FILES`] and give the first patient the markup name
    /// [`HOSTILE_PATIENT_NAME`] and description [`HOSTILE_STUDY_DESCRIPTION`].
    pub hostile: bool,
    /// Seed of every UID, name choice and pixel byte.
    pub seed: u64,
}

impl Default for StudyTree {
    /// Two studies of three series of ten 64 KiB explicit VR LE instances.
    fn default() -> Self {
        Self {
            studies: 2,
            series: 3,
            instances: 10,
            pixel_bytes: 64 * 1024,
            syntax: SynthSyntax::ExplicitLe,
            preamble: true,
            junk: false,
            dicomdir: false,
            patient_count: None,
            hostile: false,
            seed: 1,
        }
    }
}

impl StudyTree {
    /// How many patients the tree has: `patient_count`, else
    /// `ceil(studies / 2)`.
    pub fn patients(&self) -> usize {
        self.patient_count
            .unwrap_or_else(|| self.studies.div_ceil(2))
    }

    /// A UID under `2.25` derived from the seed and a path of indices.
    pub fn uid(&self, path: &[u64]) -> String {
        let mut rng = Rng::new(self.seed ^ 0xD1C0_4D1C);
        for &part in path {
            rng = Rng::new(rng.next() ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        let value = (u128::from(rng.next()) << 64) | u128::from(rng.next());
        format!("2.25.{value}")
    }

    /// Builds every file and hands `(relative path, bytes)` to `write`, one
    /// at a time, so memory stays at one file whatever the tree's size.
    pub fn for_each_file<E: From<SynthError>>(
        &self,
        mut write: impl FnMut(&str, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut names = Rng::new(self.seed ^ 0x4E41_4D45);
        let patients = self.patients().max(1);
        let layout = if self.preamble {
            Layout::Part10
        } else {
            Layout::NoPreamble
        };
        let mut listed = Vec::new();
        for s in 0..self.studies {
            let p = s % patients;
            let patient = &PATIENTS[p % PATIENTS.len()];
            let hostile = self.hostile && p == 0;
            let name = if hostile {
                HOSTILE_PATIENT_NAME
            } else {
                patient.name
            };
            let study_uid = self.uid(&[1, s as u64]);
            let modality = MODALITIES[s % MODALITIES.len()];
            let day = 1 + (self.uid_part(&[2, s as u64]) % 28);
            for r in 0..self.series {
                let series_uid = self.uid(&[1, s as u64, r as u64]);
                for i in 0..self.instances {
                    let sop_uid = self.uid(&[1, s as u64, r as u64, i as u64]);
                    let file = SynthFile::new(&study_uid, &series_uid, &sop_uid)
                        .syntax(self.syntax)
                        .layout(layout)
                        .pixel_bytes(self.pixel_bytes)
                        .seed(self.seed ^ self.uid_part(&[3, s as u64, r as u64, i as u64]))
                        .with(tags::SPECIFIC_CHARACTER_SET, VR::CS, patient.charset)
                        .with(tags::PATIENT_NAME, VR::PN, name)
                        .with(tags::PATIENT_ID, VR::LO, &format!("SYN-{p:04}"))
                        .with(tags::PATIENT_BIRTH_DATE, VR::DA, patient.birth_date)
                        .with(tags::PATIENT_SEX, VR::CS, patient.sex)
                        .with(tags::MODALITY, VR::CS, modality)
                        .with(tags::STUDY_DATE, VR::DA, &format!("202401{day:02}"))
                        .with(tags::STUDY_TIME, VR::TM, &format!("{:02}3000", 8 + s % 10))
                        .with(tags::SERIES_DATE, VR::DA, &format!("202401{day:02}"))
                        .with(
                            tags::SERIES_TIME,
                            VR::TM,
                            &format!("{:02}3{r}00", 8 + s % 10),
                        )
                        .with(tags::ACCESSION_NUMBER, VR::SH, &format!("ACC{s:05}"))
                        .with(tags::INSTITUTION_NAME, VR::LO, "Synthetic Hospital")
                        .with(
                            tags::STUDY_DESCRIPTION,
                            VR::LO,
                            &if hostile {
                                HOSTILE_STUDY_DESCRIPTION.to_owned()
                            } else {
                                format!("{modality} study {}", s + 1)
                            },
                        )
                        .with(
                            tags::SERIES_DESCRIPTION,
                            VR::LO,
                            &format!("Series {}", r + 1),
                        )
                        .with(tags::SERIES_NUMBER, VR::IS, &(r + 1).to_string())
                        .with(tags::INSTANCE_NUMBER, VR::IS, &(i + 1).to_string())
                        .with(tags::BODY_PART_EXAMINED, VR::CS, "CHEST");
                    let extension = if names.next() % 2 == 0 { ".dcm" } else { "" };
                    let path = format!(
                        "PAT{:02}/ST{:03}/SE{:03}/IM{:05}{extension}",
                        p + 1,
                        s + 1,
                        r + 1,
                        i + 1
                    );
                    write(&path, &file.to_bytes()?)?;
                    if self.dicomdir {
                        listed.push(path);
                    }
                }
            }
        }
        if self.junk {
            write(
                "README.TXT",
                b"This disc contains medical images in DICOM format.\r\nOpen VIEWER\\VIEWER.EXE to view them.\r\n",
            )?;
            write(
                "AUTORUN.INF",
                b"[autorun]\r\nopen=VIEWER\\VIEWER.EXE\r\nicon=VIEWER\\VIEWER.EXE,0\r\n",
            )?;
            let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00".to_vec();
            exe.extend(Rng::new(self.seed ^ 0x0045_5845).bytes(4096));
            write("VIEWER/VIEWER.EXE", &exe)?;
        }
        if self.dicomdir {
            write("DICOMDIR", &dicomdir_bytes(&listed)?)?;
        }
        if self.hostile {
            let [empty, truncated, bad_length] = HOSTILE_FILES;
            write(empty, &[])?;
            write(truncated, &self.truncated_instance()?)?;
            write(bad_length, &self.bad_length_instance()?)?;
        }
        Ok(())
    }

    /// An instance of its own study (UIDs apart from the tree's) for the
    /// hostile files.
    fn hostile_instance(&self, which: u64) -> SynthFile {
        let uid = |part: u64| self.uid(&[9, which, part]);
        SynthFile::new(&uid(1), &uid(2), &uid(3))
            .syntax(SynthSyntax::ExplicitLe)
            .pixel_bytes(256)
            .seed(self.seed ^ which)
            .with(tags::PATIENT_ID, VR::LO, "SYN-HOSTILE")
    }

    /// An explicit VR LE instance cut three bytes into the element header
    /// of its Study Instance UID: the file ends inside its DICOM header.
    fn truncated_instance(&self) -> Result<Vec<u8>, SynthError> {
        let mut bytes = self.hostile_instance(1).to_bytes()?;
        let at = find(&bytes, &[0x20, 0x00, 0x0D, 0x00, b'U', b'I']).ok_or_else(|| {
            SynthError::Unsupported("no Study Instance UID element to cut".to_owned())
        })?;
        bytes.truncate(at + 3);
        Ok(bytes)
    }

    /// An explicit VR LE instance whose private element (0009,1001), a UN
    /// element before the patient and study attributes, declares
    /// [`ABSURD_LENGTH`] bytes.
    fn bad_length_instance(&self) -> Result<Vec<u8>, SynthError> {
        let mut bytes = self
            .hostile_instance(2)
            .with(Tag(0x0009, 0x0010), VR::LO, "SYNTH")
            .with(Tag(0x0009, 0x1001), VR::UN, "a value")
            .to_bytes()?;
        let at = find(&bytes, &[0x09, 0x00, 0x01, 0x10, b'U', b'N', 0, 0])
            .ok_or_else(|| SynthError::Unsupported("no private element to damage".to_owned()))?;
        let length = at + 8;
        bytes
            .get_mut(length..length + 4)
            .ok_or_else(|| SynthError::Unsupported("private element cut short".to_owned()))?
            .copy_from_slice(&ABSURD_LENGTH.to_le_bytes());
        Ok(bytes)
    }

    fn uid_part(&self, path: &[u64]) -> u64 {
        let mut rng = Rng::new(self.seed);
        for &part in path {
            rng = Rng::new(rng.next() ^ part);
        }
        rng.next()
    }
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// splitmix64: small, fast and good enough for synthetic bytes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}
