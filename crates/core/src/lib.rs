//! The widget's logic, with no IO: it runs natively under `cargo test` and,
//! unchanged, inside the browser widget.
//!
//! Nothing here touches the network, the DOM or the clock; the shells
//! (the widget in `src/`, the dev server) perform IO and feed results in.
//!
//! - [`scan`]: header-only DICOM scanning of a file's first bytes
//! - [`study`]: grouping into studies, series and instances; `StudyInfo`
//! - [`patient`]: patient consistency checks before upload
//! - [`zip`]: one archive per study, laid out before upload, bytes on demand
//! - [`tus`]: a tus 1.0.0 client that says which request to send and when
//! - `synth` (feature `synth`): synthetic DICOM files and study trees

pub mod api;
pub mod patient;
pub mod scan;
pub mod session;
pub mod study;
#[cfg(feature = "synth")]
pub mod synth;
pub mod tus;
pub mod zip;
