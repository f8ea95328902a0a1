//! Files handed to the widget: from file and folder pickers, and from drops,
//! with folders walked recursively (`webkitGetAsEntry`, `readEntries`). The
//! walk yields [`DroppedFile`]s for the scan ([`super::scan`]); it reads no
//! file content.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::scan::DroppedFile;

/// At most this many files are taken from one drop: far more than any CD or
/// DVD holds, and a bound on the walk of a mistaken drop (a home folder).
pub const MAX_FILES: usize = 200_000;

/// At most this many `readEntries` batches per folder (each holds up to 100
/// entries in Chromium), so a misbehaving platform cannot loop forever.
const MAX_BATCHES_PER_FOLDER: usize = 10_000;

/// The files of a file input (`<input type=file multiple>` or
/// `webkitdirectory`), named by their `webkitRelativePath` or name.
pub fn files_of_list(list: Option<web_sys::FileList>) -> Vec<DroppedFile> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.get(i))
        .map(|file| {
            let path = relative_path(&file);
            DroppedFile {
                blob: file.into(),
                path,
            }
        })
        .collect()
}

/// A file's `webkitRelativePath` when it has one, else its name.
pub fn relative_path(file: &web_sys::File) -> String {
    Reflect::get(file, &JsValue::from_str("webkitRelativePath"))
        .ok()
        .and_then(|p| p.as_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| file.name())
}

/// What a drop carries, read during the `drop` event (the browser empties the
/// `DataTransfer` afterwards): an entry for each file or folder item when the
/// browser gives one (`webkitGetAsEntry`, every current browser for real
/// drops), else the item's file.
pub fn entries_of_drop(
    transfer: &web_sys::DataTransfer,
) -> (Vec<web_sys::FileSystemEntry>, Vec<DroppedFile>) {
    let items = transfer.items();
    let mut entries = Vec::new();
    let mut files = Vec::new();
    for i in 0..items.length() {
        let Some(item) = items.get(i) else { continue };
        if item.kind() != "file" {
            continue;
        }
        let has_entries =
            Reflect::has(&item, &JsValue::from_str("webkitGetAsEntry")).unwrap_or(false);
        let entry = if has_entries {
            item.webkit_get_as_entry().ok().flatten()
        } else {
            None
        };
        match entry {
            Some(entry) => entries.push(entry),
            None => {
                if let Ok(Some(file)) = item.get_as_file() {
                    let path = relative_path(&file);
                    files.push(DroppedFile {
                        blob: file.into(),
                        path,
                    });
                }
            }
        }
    }
    (entries, files)
}

/// Walks `entries` depth first: files become [`DroppedFile`]s with their
/// path below the drop (`CD/DICOM/IM0001`), folders are read to the end.
/// Stops at [`MAX_FILES`]. A file or folder that cannot be read is left
/// out; the walk fails only if the platform lacks the entry API.
pub async fn walk_entries(
    entries: Vec<web_sys::FileSystemEntry>,
) -> Result<Vec<DroppedFile>, JsValue> {
    let mut files = Vec::new();
    let mut stack: Vec<web_sys::FileSystemEntry> = entries.into_iter().rev().collect();
    while let Some(entry) = stack.pop() {
        if files.len() >= MAX_FILES {
            break;
        }
        if entry.is_file() {
            let entry: web_sys::FileSystemFileEntry = entry.unchecked_into();
            if let Ok(file) = file_of(&entry).await {
                let path = entry.full_path();
                let path = path.trim_start_matches('/');
                let path = if path.is_empty() {
                    file.name()
                } else {
                    path.to_owned()
                };
                files.push(DroppedFile {
                    blob: file.into(),
                    path,
                });
            }
        } else if entry.is_directory() {
            let folder: web_sys::FileSystemDirectoryEntry = entry.unchecked_into();
            let children = read_folder(&folder).await.unwrap_or_default();
            stack.extend(children.into_iter().rev());
        }
    }
    Ok(files)
}

/// Every entry of a folder: `readEntries` until it answers an empty batch.
async fn read_folder(
    folder: &web_sys::FileSystemDirectoryEntry,
) -> Result<Vec<web_sys::FileSystemEntry>, JsValue> {
    let reader = folder.create_reader();
    let mut children = Vec::new();
    for _ in 0..MAX_BATCHES_PER_FOLDER {
        let mut started = Ok(());
        let promise = Promise::new(&mut |resolve, reject| {
            started = reader.read_entries_with_callback_and_callback(&resolve, &reject);
        });
        started?;
        let batch: Array = JsFuture::from(promise).await?.dyn_into()?;
        if batch.length() == 0 {
            break;
        }
        children.extend(
            batch
                .iter()
                .filter(|e| e.is_object())
                .map(JsCast::unchecked_into::<web_sys::FileSystemEntry>),
        );
        if children.len() >= MAX_FILES {
            break;
        }
    }
    Ok(children)
}

/// The `File` of a file entry.
async fn file_of(entry: &web_sys::FileSystemFileEntry) -> Result<web_sys::File, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        entry.file_with_callback_and_callback(&resolve, &reject);
    });
    JsFuture::from(promise).await?.dyn_into()
}
