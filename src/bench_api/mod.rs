//! JS entry points for the benchmarks and the package tests, built only with
//! the `bench-api` feature (which `cargo xtask` turns on for its bench and
//! test builds, into `target/bench-dist/`): the published package and the
//! script-tag file carry none of them. Each is a few lines into
//! [`crate::browser`]:
//!
//! - `scanFiles`, `scanFilesWith`, `warmScan`, `scanTuning` ([`scan`]): the
//!   scan of dropped files, timed by `bench scan` and `bench ui`;
//! - `prepareStudy` and its `PreparedZip` ([`prepare`]): study archives,
//!   timed by `bench zip`;
//! - `startTusUploads` ([`tus`]): the tus driver alone, for `bench tus` and
//!   the tus package tests.

pub mod prepare;
pub mod scan;
pub mod tus;

pub use prepare::{prepare_study_js, PreparedZip};
pub use scan::scan_files;
pub use tus::{start_tus_uploads, TusRun};
