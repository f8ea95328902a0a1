//! Where a PATCH body comes from: a byte range of an upload's bytes, handed
//! out as a `Blob` (a slice of the user's files), so no chunk is copied into
//! wasm memory or the JS heap; the browser streams it from disk as it sends.

use wasm_bindgen::JsValue;

/// The bytes of one upload, readable as `Blob`s by range.
///
/// Implemented for a plain [`web_sys::Blob`] (its `slice`); a study's zip
/// hands out its byte ranges as Blobs composed of file slices.
// The signature is fixed (a `PreparedStudy` implements it too); an empty
// upload is simply `len() == 0`.
#[allow(clippy::len_without_is_empty)]
pub trait BodySource {
    /// The total length in bytes (the tus `Upload-Length`).
    fn len(&self) -> u64;
    /// The bytes `start..end` as a Blob; `end` is at most [`len`](Self::len).
    fn blob(&self, start: u64, end: u64) -> Result<web_sys::Blob, JsValue>;
}

impl BodySource for web_sys::Blob {
    fn len(&self) -> u64 {
        // A Blob's size is a whole number of bytes below 2^53.
        self.size().max(0.0) as u64
    }

    fn blob(&self, start: u64, end: u64) -> Result<web_sys::Blob, JsValue> {
        if start > end || end > BodySource::len(self) {
            return Err(js_sys::RangeError::new(&format!(
                "bytes {start}..{end} are outside the {} bytes of the upload",
                BodySource::len(self)
            ))
            .into());
        }
        self.slice_with_f64_and_f64(start as f64, end as f64)
    }
}
