//! Compressing entries in the preparation pass: raw deflate (pure Rust,
//! miniz_oxide through flate2) and CRC-32, fed in chunks so that a big file
//! never has to be in memory whole.

use flate2::{Compress, Compression as Level, FlushCompress, Status};

use super::ZipError;

/// The deflate level used for study archives.
///
/// Fixed (as are all other deflate settings), so that preparing the same
/// files again yields the same bytes and an interrupted upload can resume.
///
/// Chosen by measurement (native release build, 40 synthetic 512 KiB CT-like
/// files from `synth`, miniz_oxide): level 1 gives 1.79× at 97 MiB/s, level 2
/// 2.25× at 64 MiB/s, level 3 2.30× at 27 MiB/s, level 6 (the usual default)
/// 2.18× at 7 MiB/s. Level 2 keeps within 1.1× of the default's bytes (it
/// even beats it here) at nine times its speed.
///
/// Measured again where it runs, as wasm in V8 (Node 20, one thread, the
/// 200 CT-like files of 512 KiB of `cargo xtask bench zip`, 100 MiB, bytes
/// against fflate's level 6): miniz_oxide level 1 writes 1.293× fflate's
/// bytes at about 130 MB/s, level 2 1.031× at about 120 MB/s; flate2's
/// `zlib-rs` backend (pure Rust, builds for wasm32-unknown-unknown) writes
/// 1.587× at about 220 MB/s at level 1 and 1.032× at about 105 MB/s at
/// level 2. Level 1 misses the 1.1× bound with either backend, and at level
/// 2 zlib-rs is no faster, so miniz_oxide at level 2 stays. Building with
/// `+simd128` did not speed up miniz_oxide (it has no wasm SIMD code) and
/// sped up zlib-rs's level 2 by under 10 % (still no faster than
/// miniz_oxide), so the module is built without it. miniz_oxide's own knobs
/// between levels 1 and 2 (2 or 3 probes, greedy parsing) were about 10 %
/// faster for 1.054× fflate's bytes: 1 MB more per 100 MiB, about 0.5 s on a
/// patient's 15 Mbit/s uplink, for under 0.1 s less preparation. The CRC-32
/// (crc32fast, about 1.8 GB/s) is about 6 % of the compression time, and
/// zlib-rs's CRC is no faster, so a CRC combined into the compressor would
/// save little.
pub const DEFLATE_LEVEL: u32 = 2;

/// CRC-32 of an entry's original bytes, fed in chunks.
#[derive(Debug, Clone, Default)]
pub struct EntryCrc {
    hasher: crc32fast::Hasher,
    len: u64,
}

impl EntryCrc {
    /// A CRC over no bytes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes seen so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes were seen.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The CRC-32 of everything added.
    pub fn finish(self) -> u32 {
        self.hasher.finalize()
    }
}

/// What compressing one entry produced, besides the compressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflated {
    /// CRC-32 of the original bytes.
    pub crc32: u32,
    /// Length of the original bytes.
    pub uncompressed_size: u64,
    /// Length of the compressed bytes.
    pub compressed_size: u64,
}

/// A raw-deflate compressor for one entry, fed in chunks.
pub struct EntryDeflater {
    compress: Compress,
    crc: EntryCrc,
}

impl std::fmt::Debug for EntryDeflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryDeflater")
            .field("read", &self.compress.total_in())
            .field("written", &self.compress.total_out())
            .finish()
    }
}

impl Default for EntryDeflater {
    fn default() -> Self {
        Self::new(DEFLATE_LEVEL)
    }
}

impl EntryDeflater {
    /// A compressor at `level` (0–9).
    pub fn new(level: u32) -> Self {
        Self {
            compress: Compress::new(Level::new(level.min(9)), false),
            crc: EntryCrc::new(),
        }
    }

    /// Compresses `input`, appending what it produces to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ZipError> {
        self.crc.update(input);
        self.run(input, out, FlushCompress::None)
    }

    /// Ends the stream, appending the last bytes to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<Deflated, ZipError> {
        self.run(&[], out, FlushCompress::Finish)?;
        let uncompressed_size = self.compress.total_in();
        let compressed_size = self.compress.total_out();
        Ok(Deflated {
            crc32: self.crc.finish(),
            uncompressed_size,
            compressed_size,
        })
    }

    fn run(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        flush: FlushCompress,
    ) -> Result<(), ZipError> {
        // Bounded: every round either consumes input, produces output, or
        // reports the end of the stream.
        loop {
            // The compressor writes into `OUT_ROOM` initialised bytes at the
            // end of `out`, never into its spare capacity: flate2's
            // `compress_vec` zero-fills all the spare capacity on every call
            // with the miniz_oxide backend, which for an output buffer of a
            // megabyte or more cost more than the compression itself.
            let start = out.len();
            out.resize(start + OUT_ROOM, 0);
            let before_in = self.compress.total_in();
            let before_out = self.compress.total_out();
            let status = self
                .compress
                .compress(input, &mut out[start..], flush)
                .map_err(|e| ZipError::Source(format!("deflate failed: {e}")));
            let consumed = (self.compress.total_in() - before_in) as usize;
            let produced = (self.compress.total_out() - before_out) as usize;
            out.truncate(start + produced.min(OUT_ROOM));
            let status = status?;
            input = &input[consumed..];
            match (status, flush) {
                (Status::StreamEnd, _) => return Ok(()),
                // All input taken and room left over: nothing is pending.
                (_, FlushCompress::None) if input.is_empty() && produced < OUT_ROOM => {
                    return Ok(())
                }
                _ if consumed == 0 && produced == 0 => {
                    return Err(ZipError::Source("deflate made no progress".to_owned()))
                }
                _ => {}
            }
        }
    }
}

/// Bytes of room the compressor gets at the end of the output per call.
const OUT_ROOM: usize = 64 * 1024;

/// Deflates `data` at [`DEFLATE_LEVEL`] in one go: the compressed bytes and
/// their sizes and CRC.
pub fn deflate(data: &[u8]) -> Result<(Vec<u8>, Deflated), ZipError> {
    let mut deflater = EntryDeflater::default();
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    deflater.push(data, &mut out)?;
    let info = deflater.finish(&mut out)?;
    Ok((out, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compressible bytes with some structure, different for each `seed`.
    fn sample(len: usize, seed: usize) -> Vec<u8> {
        (0..len)
            .map(|i| ((i / (5 + seed % 7)) as u8).wrapping_mul(13) ^ (i % 29) as u8)
            .collect()
    }

    fn inflate(compressed: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 1);
        let mut inflater = flate2::Decompress::new(false);
        inflater
            .decompress_vec(compressed, &mut out, flate2::FlushDecompress::Finish)
            .unwrap();
        out
    }

    #[test]
    fn pushed_entries_inflate_back_with_their_crc() {
        for (len, push) in [(0, 1000), (1, 1), (70_000, 4096), (300_000, 65_536)] {
            let data = sample(len, len);
            let mut deflater = EntryDeflater::default();
            let mut out = Vec::new();
            for piece in data.chunks(push) {
                deflater.push(piece, &mut out).unwrap();
            }
            let info = deflater.finish(&mut out).unwrap();
            assert_eq!(info.uncompressed_size, len as u64);
            assert_eq!(info.compressed_size, out.len() as u64);
            let mut crc = EntryCrc::new();
            crc.update(&data);
            assert_eq!(info.crc32, crc.finish());
            assert!(
                inflate(&out, len) == data,
                "{len} bytes in pushes of {push}"
            );
        }
    }

    #[test]
    fn the_bytes_do_not_depend_on_the_output_buffers_spare_room() {
        let data = sample(2 << 20, 3);
        let (expected, _) = deflate(&data).unwrap();
        // An output that already holds bytes and has megabytes of spare
        // capacity (as a worker's buffer has after a part was moved out).
        let mut out = vec![7u8; 10];
        out.reserve(8 << 20);
        let mut deflater = EntryDeflater::default();
        for piece in data.chunks(65_536) {
            deflater.push(piece, &mut out).unwrap();
        }
        deflater.finish(&mut out).unwrap();
        assert_eq!(&out[..10], &[7u8; 10]);
        assert!(out[10..] == expected[..]);
    }
}
