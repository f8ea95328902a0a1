//! Resume after a reload: a key computed from what makes the archive (the
//! endpoint, the study, the files) maps to the upload URL the server gave.

use std::collections::BTreeMap;

use super::TusEvent;

/// One file of a study as the browser describes it, for [`fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    /// The file's name (or relative path, if the shell has it).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its last modification time (`File.lastModified`, Unix milliseconds).
    pub last_modified: u64,
}

/// FNV-1a with 128-bit state: stable across platforms and releases, no
/// dependency. Not a cryptographic hash; the store is the user's own.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET_BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = (1 << 88) + 0x13b;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u128::from(b)).wrapping_mul(PRIME)
    })
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The key under which a study's upload URL is stored:
/// `auraloader-tus:` and 32 hex digits.
///
/// It is FNV-1a 128 over a canonical encoding: a version tag, then the
/// endpoint, the study UID, the archive length (`Upload-Length`), the number
/// of files and each file's name, size and last-modified time; strings are
/// prefixed by their byte length and numbers are 8 bytes little-endian, so
/// no two different inputs encode the same. Files count in the order given:
/// pass them in archive order, so that the same key always means the same
/// archive bytes (a different order only loses the resume, never mixes two
/// archives). Anything else that changes the archive's bytes without
/// changing its length (the compression setting) belongs in `study_uid`'s
/// place or the endpoint string.
pub fn fingerprint(
    endpoint: &str,
    study_uid: &str,
    upload_length: u64,
    files: &[FileStamp],
) -> String {
    let mut canonical = Vec::with_capacity(64 + files.len() * 48);
    put_bytes(&mut canonical, b"auraloader-tus-fingerprint/1");
    put_bytes(&mut canonical, endpoint.as_bytes());
    put_bytes(&mut canonical, study_uid.as_bytes());
    canonical.extend_from_slice(&upload_length.to_le_bytes());
    canonical.extend_from_slice(&(files.len() as u64).to_le_bytes());
    for file in files {
        put_bytes(&mut canonical, file.name.as_bytes());
        canonical.extend_from_slice(&file.size.to_le_bytes());
        canonical.extend_from_slice(&file.last_modified.to_le_bytes());
    }
    format!("auraloader-tus:{:032x}", fnv1a_128(&canonical))
}

/// Where upload URLs are kept between page loads (`localStorage` in the
/// browser). Best effort: a store that cannot write simply forgets, and the
/// study is uploaded from the start.
pub trait FingerprintStore {
    /// The upload URL stored under `key`.
    fn get(&self, key: &str) -> Option<String>;
    /// Stores `url` under `key`, replacing what was there.
    fn set(&mut self, key: &str, url: &str);
    /// Forgets `key`.
    fn remove(&mut self, key: &str);

    /// Applies an upload's event: a created upload is remembered, a
    /// completed or terminated one forgotten. A failed one is kept, so that a
    /// reload can resume it.
    fn record(&mut self, key: &str, event: &TusEvent) {
        match event {
            TusEvent::Created { url } => self.set(key, url),
            TusEvent::Completed { .. } | TusEvent::Terminated { .. } => self.remove(key),
            _ => {}
        }
    }
}

/// A [`FingerprintStore`] in memory: for tests and for shells without
/// persistent storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFingerprintStore {
    urls: BTreeMap<String, String>,
}

impl MemoryFingerprintStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many URLs are stored.
    pub fn len(&self) -> usize {
        self.urls.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }
}

impl FingerprintStore for MemoryFingerprintStore {
    fn get(&self, key: &str) -> Option<String> {
        self.urls.get(key).cloned()
    }

    fn set(&mut self, key: &str, url: &str) {
        self.urls.insert(key.to_owned(), url.to_owned());
    }

    fn remove(&mut self, key: &str) {
        self.urls.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<FileStamp> {
        vec![
            FileStamp {
                name: "IM0001".to_owned(),
                size: 1_000,
                last_modified: 1_700_000_000_000,
            },
            FileStamp {
                name: "IM0002".to_owned(),
                size: 2_000,
                last_modified: 1_700_000_000_001,
            },
        ]
    }

    #[test]
    fn fnv1a_128_matches_the_reference_vectors() {
        assert_eq!(fnv1a_128(b""), 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(fnv1a_128(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }

    #[test]
    fn the_same_study_gets_the_same_key_and_any_change_another() {
        let key = fingerprint("https://h/files/", "1.2.3", 5_000, &files());
        assert_eq!(
            key,
            fingerprint("https://h/files/", "1.2.3", 5_000, &files())
        );
        assert!(key.starts_with("auraloader-tus:"));
        assert_eq!(key.len(), "auraloader-tus:".len() + 32);
        let mut touched = files();
        touched[1].last_modified += 1;
        let mut renamed = files();
        renamed[0].name = "IM0003".to_owned();
        let mut reordered = files();
        reordered.swap(0, 1);
        let others = [
            fingerprint("https://other/files/", "1.2.3", 5_000, &files()),
            fingerprint("https://h/files/", "1.2.4", 5_000, &files()),
            fingerprint("https://h/files/", "1.2.3", 5_001, &files()),
            fingerprint("https://h/files/", "1.2.3", 5_000, &touched),
            fingerprint("https://h/files/", "1.2.3", 5_000, &renamed),
            fingerprint("https://h/files/", "1.2.3", 5_000, &reordered),
            fingerprint("https://h/files/", "1.2.3", 5_000, &files()[..1]),
        ];
        for other in &others {
            assert_ne!(&key, other);
        }
    }

    #[test]
    fn length_prefixes_keep_shifted_strings_apart() {
        assert_ne!(
            fingerprint("https://h/a", "b", 1, &[]),
            fingerprint("https://h/", "ab", 1, &[])
        );
    }

    #[test]
    fn the_store_remembers_created_and_forgets_finished_uploads() {
        let mut store = MemoryFingerprintStore::new();
        let url = "https://h/files/1".to_owned();
        store.record("k", &TusEvent::Created { url: url.clone() });
        assert_eq!(store.get("k"), Some(url.clone()));
        store.record("k", &TusEvent::Completed { url });
        assert!(store.is_empty());
        store.set("k", "u");
        store.record("k", &TusEvent::Terminated { deleted: true });
        assert_eq!(store.get("k"), None);
    }
}
