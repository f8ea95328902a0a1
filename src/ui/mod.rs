//! The Yew UI: one component per file.

mod app;

pub use app::{App, AppProps};
