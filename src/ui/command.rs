//! What the components ask of the widget: user intents the session
//! ([`crate::session`]) carries out with IO, then reports back as
//! [`Action`](super::state::Action)s.

use crate::browser::scan::DroppedFile;

/// Files handed to the widget.
#[derive(Debug, Clone)]
pub enum FileSource {
    /// A drop: entries (`webkitGetAsEntry`), folders walked recursively,
    /// and the files of items without an entry.
    Dropped {
        /// Files and folders to walk.
        entries: Vec<web_sys::FileSystemEntry>,
        /// Files taken as they are.
        files: Vec<DroppedFile>,
    },
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
