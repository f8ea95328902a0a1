//! The element walker: finds top-level data elements in a byte prefix without
//! reading (or allocating) any value it does not need.
//!
//! # Why this is hand-written
//!
//! The scanner must (a) say exactly how many more bytes it needs when the
//! prefix ends too early and (b) never allocate a value's declared length.
//! dicom-rs does neither, as measured with `dicom-object`/`dicom-parser`
//! 0.10.1:
//!
//! - a 200-byte implicit VR file whose Patient's Name declares 0xFFFFFFF0
//!   bytes, read with `OpenFileOptions::new().read_until(tags::PIXEL_DATA)
//!   .from_reader(..)`, aborts the process under a 3 GB address-space limit
//!   with `memory allocation of 4294967280 bytes failed`: the stateful
//!   decoder's `read_value_strs` calls `buffer.resize_with(len)` before
//!   `read_exact` (`dicom-parser/src/stateful/decode.rs:482`). Without the
//!   limit it zero-fills 4 GiB; in wasm32 the allocation fails and aborts.
//! - a prefix cut inside an element fails with `ReadValueData { source:
//!   UnexpectedEof }` or `ReadLength { UnexpectedEof }`: the caller learns
//!   that bytes are missing but not how many, so it could only guess.
//!
//! So the structure (tags, VRs, lengths, sequences) is walked here, in a few
//! dozen lines that only compare lengths and never index past the slice; the
//! rest comes from dicom-rs: tag and UID constants (`dicom-dictionary-std`),
//! text decoding per Specific Character Set (`dicom-encoding`), and the writer
//! used by the `synth` feature and the tests.

use dicom_core::Tag;

/// Value length meaning "undefined, delimited by items".
const UNDEFINED: u32 = 0xFFFF_FFFF;
/// Deepest sequence nesting accepted before the file is called malformed.
const MAX_DEPTH: u32 = 32;

const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_DELIMITER: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_DELIMITER: Tag = Tag(0xFFFE, 0xE0DD);

/// How the elements of a data set are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax {
    /// Explicit VR (else implicit).
    pub explicit: bool,
    /// Big endian (else little endian).
    pub big_endian: bool,
}

impl Syntax {
    pub const IMPLICIT_LE: Syntax = Syntax {
        explicit: false,
        big_endian: false,
    };
    pub const EXPLICIT_LE: Syntax = Syntax {
        explicit: true,
        big_endian: false,
    };
    pub const EXPLICIT_BE: Syntax = Syntax {
        explicit: true,
        big_endian: true,
    };
}

/// Why a walk failed; offsets are in the walked stream's coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WalkError {
    /// The stream ends inside an element header or a needed value.
    Truncated { offset: u64 },
    /// A value's declared length runs past the end of the stream.
    BadLength {
        tag: Tag,
        offset: u64,
        declared: u32,
    },
    /// Continuing would need more than the configured header limit.
    TooLarge,
    /// The bytes are not DICOM elements; the string says what is wrong.
    Malformed(String),
}

/// The result of walking a prefix.
#[derive(Debug)]
pub(crate) enum Walked<'a> {
    /// The walk reached its stop tag or the end of the stream. `values` is
    /// aligned with the `needed` tags; `end` is where the walk stopped.
    Done {
        values: Vec<Option<&'a [u8]>>,
        end: u64,
    },
    /// The prefix ends too early: bytes up to this stream offset are needed.
    Need(u64),
    /// The stream is not a walkable data set.
    Failed(WalkError),
}

/// Why the walk halted early (internal, turned into [`Walked`]).
enum Halt {
    Need(u64),
    Fail(WalkError),
}

/// One element header.
struct Header {
    tag: Tag,
    vr: [u8; 2],
    len: u32,
    start: u64,
    value_start: u64,
}

/// A prefix of a stream of data set bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stream<'a> {
    /// The bytes available, from the stream's start.
    pub data: &'a [u8],
    /// The stream's full length, when known.
    pub total: Option<u64>,
    /// Never ask for bytes past this offset.
    pub limit: u64,
}

impl<'a> Stream<'a> {
    fn avail(&self) -> u64 {
        self.data.len() as u64
    }

    /// Succeeds when bytes `..end` are available; `at` is where the thing
    /// being read starts (for the truncation message).
    fn require(&self, at: u64, end: u64) -> Result<(), Halt> {
        if end <= self.avail() {
            Ok(())
        } else if self.total.is_some_and(|total| end > total) {
            Err(Halt::Fail(WalkError::Truncated { offset: at }))
        } else if end > self.limit {
            Err(Halt::Fail(WalkError::TooLarge))
        } else {
            Err(Halt::Need(end))
        }
    }

    /// Bytes `at..at + n`, which the caller has `require`d.
    fn bytes(&self, at: u64, n: usize) -> &'a [u8] {
        let start = usize::try_from(at).unwrap_or(usize::MAX);
        self.data
            .get(start..start.saturating_add(n))
            .unwrap_or_default()
    }

    fn u16_at(&self, at: u64, syntax: Syntax) -> u16 {
        let mut raw = [0u8; 2];
        raw.copy_from_slice(self.bytes(at, 2).get(..2).unwrap_or(&[0, 0]));
        if syntax.big_endian {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        }
    }

    fn u32_at(&self, at: u64, syntax: Syntax) -> u32 {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(self.bytes(at, 4).get(..4).unwrap_or(&[0; 4]));
        if syntax.big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        }
    }

    fn tag(&self, at: u64, syntax: Syntax) -> Result<Tag, Halt> {
        self.require(at, at + 4)?;
        Ok(Tag(self.u16_at(at, syntax), self.u16_at(at + 2, syntax)))
    }

    fn header(&self, at: u64, tag: Tag, syntax: Syntax) -> Result<Header, Halt> {
        if tag.0 == 0xFFFE || !syntax.explicit {
            self.require(at, at + 8)?;
            return Ok(Header {
                tag,
                vr: [0, 0],
                len: self.u32_at(at + 4, syntax),
                start: at,
                value_start: at + 8,
            });
        }
        self.require(at, at + 8)?;
        let mut vr = [0u8; 2];
        vr.copy_from_slice(self.bytes(at + 4, 2).get(..2).unwrap_or(&[0, 0]));
        if !is_vr(vr) {
            return Err(Halt::Fail(WalkError::Malformed(format!(
                "no valid value representation for element {} at byte {at}",
                tag_text(tag)
            ))));
        }
        if has_long_length(vr) {
            self.require(at, at + 12)?;
            Ok(Header {
                tag,
                vr,
                len: self.u32_at(at + 8, syntax),
                start: at,
                value_start: at + 12,
            })
        } else {
            Ok(Header {
                tag,
                vr,
                len: u32::from(self.u16_at(at + 6, syntax)),
                start: at,
                value_start: at + 8,
            })
        }
    }

    /// The end of a defined-length value, checked against the stream length.
    fn value_end(&self, header: &Header) -> Result<u64, Halt> {
        let end = header.value_start + u64::from(header.len);
        if self.total.is_some_and(|total| end > total) {
            return Err(Halt::Fail(WalkError::BadLength {
                tag: header.tag,
                offset: header.start,
                declared: header.len,
            }));
        }
        Ok(end)
    }

    /// Skips the items of an undefined-length value starting at `at`;
    /// returns the offset after its sequence delimiter.
    fn skip_undefined(&self, mut at: u64, syntax: Syntax, depth: u32) -> Result<u64, Halt> {
        if depth > MAX_DEPTH {
            return Err(Halt::Fail(WalkError::Malformed(format!(
                "sequences nested deeper than {MAX_DEPTH} levels"
            ))));
        }
        loop {
            let tag = self.tag(at, syntax)?;
            let header = self.header(
                at,
                tag,
                Syntax {
                    explicit: false,
                    ..syntax
                },
            )?;
            match tag {
                SEQUENCE_DELIMITER => return Ok(header.value_start),
                ITEM if header.len == UNDEFINED => {
                    at = self.skip_item(header.value_start, syntax, depth + 1)?;
                }
                ITEM => at = self.value_end(&header)?,
                other => {
                    return Err(Halt::Fail(WalkError::Malformed(format!(
                        "expected a sequence item at byte {at}, found element {}",
                        tag_text(other)
                    ))))
                }
            }
        }
    }

    /// Skips the elements of an undefined-length item starting at `at`;
    /// returns the offset after its item delimiter.
    fn skip_item(&self, mut at: u64, syntax: Syntax, depth: u32) -> Result<u64, Halt> {
        loop {
            let tag = self.tag(at, syntax)?;
            let header = self.header(at, tag, syntax)?;
            if tag == ITEM_DELIMITER {
                return Ok(header.value_start);
            }
            at = if header.len == UNDEFINED {
                self.skip_undefined(header.value_start, nested(syntax, header.vr), depth + 1)?
            } else {
                self.value_end(&header)?
            };
        }
    }

    /// Walks top-level elements from offset 0, keeping the values of `needed`
    /// tags, until `stop` says a tag is past what is needed or the stream ends.
    pub fn walk(&self, syntax: Syntax, needed: &[Tag], stop: impl Fn(Tag) -> bool) -> Walked<'a> {
        let mut values: Vec<Option<&'a [u8]>> = vec![None; needed.len()];
        let mut at = 0u64;
        let result = loop {
            if self.total == Some(at) {
                break Ok(at);
            }
            let tag = match self.tag(at, syntax) {
                Ok(tag) => tag,
                Err(halt) => break Err(halt),
            };
            if stop(tag) {
                break Ok(at);
            }
            let header = match self.header(at, tag, syntax) {
                Ok(header) => header,
                Err(halt) => break Err(halt),
            };
            let next = if header.len == UNDEFINED {
                self.skip_undefined(header.value_start, nested(syntax, header.vr), 1)
            } else {
                self.value_end(&header).and_then(|end| {
                    if let Some(slot) = needed
                        .iter()
                        .position(|t| *t == tag)
                        .and_then(|i| values.get_mut(i))
                    {
                        self.require(header.start, end)?;
                        let len = usize::try_from(header.len).unwrap_or(usize::MAX);
                        *slot = Some(self.bytes(header.value_start, len));
                    }
                    Ok(end)
                })
            };
            match next {
                Ok(next) => at = next,
                Err(halt) => break Err(halt),
            }
        };
        match result {
            Ok(end) => Walked::Done { values, end },
            Err(Halt::Need(end)) => Walked::Need(end),
            Err(Halt::Fail(error)) => Walked::Failed(error),
        }
    }
}

/// The syntax of the contents of an undefined-length value: a UN value of
/// undefined length holds implicit VR little endian (PS3.5 §6.2.2).
fn nested(syntax: Syntax, vr: [u8; 2]) -> Syntax {
    if syntax.explicit && &vr == b"UN" {
        Syntax::IMPLICIT_LE
    } else {
        syntax
    }
}

/// Whether two bytes are one of the value representations of PS3.5 §6.2.
pub(crate) fn is_vr(vr: [u8; 2]) -> bool {
    const ALL: [&[u8; 2]; 34] = [
        b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"OB",
        b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
        b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
    ];
    ALL.iter().any(|known| **known == vr)
}

/// Whether an explicit VR element has a 4-byte length after 2 reserved bytes.
fn has_long_length(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

/// A tag as DICOM writes it: `(0010,0010)`.
pub(crate) fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.0, tag.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(data: &[u8]) -> Stream<'_> {
        Stream {
            data,
            total: Some(data.len() as u64),
            limit: u64::MAX,
        }
    }

    fn implicit(tag: Tag, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&tag.0.to_le_bytes());
        out.extend_from_slice(&tag.1.to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn skips_nested_undefined_length_sequences() {
        // (0008,1110) SQ undefined { item undefined { (0008,1150) "1.2" } } then (0010,0010)
        let mut data = Vec::new();
        data.extend_from_slice(&[0x08, 0, 0x10, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        data.extend(implicit(Tag(0x0008, 0x1150), b"1.2\0"));
        data.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        data.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        data.extend(implicit(Tag(0x0010, 0x0010), b"Doe^Jo"));
        let needed = [Tag(0x0008, 0x1150), Tag(0x0010, 0x0010)];
        match stream(&data).walk(Syntax::IMPLICIT_LE, &needed, |_| false) {
            Walked::Done { values, end } => {
                assert_eq!(values[0], None, "nested values are not top-level");
                assert_eq!(values[1], Some(&b"Doe^Jo"[..]));
                assert_eq!(end, data.len() as u64);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn asks_for_the_end_of_a_needed_value() {
        let data = implicit(Tag(0x0010, 0x0010), b"Doe^John");
        let s = Stream {
            data: &data[..10],
            total: Some(data.len() as u64),
            limit: u64::MAX,
        };
        assert!(matches!(
            s.walk(Syntax::IMPLICIT_LE, &[Tag(0x0010, 0x0010)], |_| false),
            Walked::Need(16)
        ));
    }

    #[test]
    fn rejects_deep_nesting_without_recursing_forever() {
        let mut data = Vec::new();
        for _ in 0..100 {
            data.extend_from_slice(&[0x08, 0, 0x10, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
            data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        assert!(matches!(
            stream(&data).walk(Syntax::IMPLICIT_LE, &[], |_| false),
            Walked::Failed(WalkError::Malformed(_))
        ));
    }
}
