//! Browser IO: randomness, the DOM, files and folder walks of drops and
//! pickers ([`files`]), Blob reads for the scan ([`scan`]), the study zips'
//! preparation ([`prepare`]) and the Web Workers both use ([`worker`]), the
//! tus driver ([`tus`]: fetch and XMLHttpRequest, PATCH bodies from a
//! [`body::BodySource`]), `localStorage` ([`storage`]) and the Aura API
//! client ([`api`]). Nothing protocol-specific lives here.

pub mod api;
pub mod body;
pub mod files;
pub mod prepare;
pub mod scan;
pub mod storage;
pub mod timer;
pub mod tus;
pub mod worker;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A fresh random UUID v4 from the platform's `crypto.getRandomValues`
/// (browsers, workers and Node 19+; the npm package's Node entry installs it on
/// Node 18).
pub fn random_uuid_v4() -> Result<String, JsError> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .ok()
        .filter(|c| c.is_object())
        .ok_or_else(|| {
            JsError::new("crypto.getRandomValues is not available in this environment")
        })?;
    let crypto: web_sys::Crypto = crypto.unchecked_into();
    let mut bytes = [0u8; 16];
    crypto
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(|_| JsError::new("crypto.getRandomValues failed"))?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// The element with id `id` in the current document, if there is one.
pub fn element_by_id(id: &str) -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id(id)
}
