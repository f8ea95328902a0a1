//! auraloader: the DICOM upload widget, compiled to WebAssembly.
//!
//! This crate is a thin shell: the JS API ([`StandaloneAuraloader`], the
//! signing entry point behind `HmacSigner`; with the `bench-api` feature,
//! the entry points of the benchmarks and package tests in `bench_api`), one
//! instance's life in [`session`] (state, callbacks, the Aura API lifecycle
//! around an [`pipeline::UploadPipeline`]), the Yew UI in [`ui`] and browser
//! IO in [`browser`]. Logic that needs no browser lives in `auraloader-core`;
//! AURA-HMAC-SHA256 lives in `aura-hmac`. Errors become `JsValue` only here,
//! at the boundary.

#[cfg(feature = "bench-api")]
pub mod bench_api;
pub mod browser;
pub mod pipeline;
pub mod published;
pub mod session;
mod signer;
pub mod ui;
pub mod upload;
mod widget;

#[cfg(feature = "bench-api")]
pub use bench_api::{prepare_study_js, scan_files, start_tus_uploads, PreparedZip, TusRun};
pub use signer::sign_request;
pub use widget::StandaloneAuraloader;
