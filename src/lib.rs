//! auraloader: the DICOM upload widget, compiled to WebAssembly.
//!
//! This crate is a thin shell: the JS API ([`StandaloneAuraloader`], the
//! signing entry point behind `HmacSigner`, the internal [`scan_files`] and
//! [`start_tus_uploads`]), one
//! instance's life in [`session`] (state, callbacks, the Aura API lifecycle
//! around an [`pipeline::UploadPipeline`]), the Yew UI in [`ui`] and browser
//! IO in [`browser`]. Logic that needs no browser lives in `auraloader-core`;
//! AURA-HMAC-SHA256 lives in `aura-hmac`. Errors become `JsValue` only here,
//! at the boundary.

pub mod browser;
pub mod pipeline;
pub mod prepare;
pub mod scan;
pub mod session;
mod signer;
pub mod tus;
pub mod ui;
pub mod upload;
mod widget;

pub use prepare::{prepare_study_js, PreparedZip};
pub use scan::scan_files;
pub use signer::sign_request;
pub use tus::{start_tus_uploads, TusRun};
pub use widget::StandaloneAuraloader;
