//! The Yew UI: one component per file, fed by the reducer in [`state`].

mod app;
mod cancelled;
pub mod command;
mod complete;
mod drop_zone;
mod error;
mod live_region;
mod patient_warnings;
mod pending;
mod processing;
pub mod progress_bar;
mod skipped_list;
pub mod strings;
mod study_table;
pub mod theme;
mod uploading;

pub use auraloader_core::session::state;

pub use app::{announcement, App, AppProps};
pub use command::{Command, FileSource};
pub use state::{Action, Failure, State, Step};
pub use strings::Strings;
pub use theme::Theme;
