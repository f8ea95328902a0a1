//! What the components ask of the widget: user intents the session
//! ([`crate::session`]) carries out with IO, then reports back as
//! [`Action`](super::state::Action)s.

use crate::browser::scan::DroppedFile;

/// Files handed to the widget.
#[derive(Debug, Clone)]
pub enum FileSource {
    /// Entries of a drop (`webkitGetAsEntry`), folders walked recursively.
    Entries(Vec<web_sys::FileSystemEntry>),
    /// Files from a picker or a drop without entries.
    Files(Vec<DroppedFile>),
}

/// A user intent.
#[derive(Debug, Clone)]
pub enum Command {
    /// Scan these files.
    AddFiles(FileSource),
    /// Take the study with this Study Instance UID out of the upload.
    RemoveStudy(String),
    /// Upload the studies (also Retry after a retryable error).
    Upload,
    /// Stop the scan or the upload.
    Cancel,
    /// Back to the start step.
    Reset,
}
