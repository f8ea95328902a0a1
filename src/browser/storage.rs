//! [`LocalStorageFingerprintStore`]: upload URLs kept in `localStorage` so
//! that a reloaded page resumes a study's upload instead of starting over.

use auraloader_core::tus::{FingerprintStore, MemoryFingerprintStore};

/// A [`FingerprintStore`] in the page's `localStorage`, under
/// `<namespace>/<fingerprint>` keys.
///
/// Best effort, never throws: where `localStorage` is unavailable (a
/// sandboxed iframe, storage disabled, a worker) or refuses a write (quota
/// full), the URL is kept in memory for this page's life instead, and the
/// study uploads from the start after a reload.
#[derive(Debug)]
pub struct LocalStorageFingerprintStore {
    namespace: String,
    storage: Option<web_sys::Storage>,
    memory: MemoryFingerprintStore,
}

impl LocalStorageFingerprintStore {
    /// The namespace used by the widget.
    pub const DEFAULT_NAMESPACE: &'static str = "auraloader";

    /// A store whose keys start with `namespace` and `/`.
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            storage: local_storage(),
            memory: MemoryFingerprintStore::new(),
        }
    }

    /// A store that keeps URLs in memory only, as when `localStorage` is
    /// unavailable.
    pub fn in_memory(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            storage: None,
            memory: MemoryFingerprintStore::new(),
        }
    }

    /// Whether `localStorage` is in use (otherwise only memory).
    pub fn is_persistent(&self) -> bool {
        self.storage.is_some()
    }

    /// The `localStorage` key of `fingerprint`.
    pub fn storage_key(&self, fingerprint: &str) -> String {
        format!("{}/{fingerprint}", self.namespace)
    }
}

impl Default for LocalStorageFingerprintStore {
    fn default() -> Self {
        Self::new(Self::DEFAULT_NAMESPACE)
    }
}

/// `window.localStorage`, if the page may use it. Reading the property
/// itself throws a `SecurityError` in sandboxed iframes and with storage
/// blocked; a worker has no `window`.
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

impl FingerprintStore for LocalStorageFingerprintStore {
    fn get(&self, key: &str) -> Option<String> {
        if let Some(url) = self.memory.get(key) {
            return Some(url);
        }
        let storage = self.storage.as_ref()?;
        storage
            .get_item(&self.storage_key(key))
            .ok()
            .flatten()
            .filter(|url| !url.is_empty())
    }

    fn set(&mut self, key: &str, url: &str) {
        let stored = self
            .storage
            .as_ref()
            .is_some_and(|s| s.set_item(&self.storage_key(key), url).is_ok());
        if stored {
            self.memory.remove(key);
        } else {
            // Quota exceeded or storage gone: remember it for this page.
            self.memory.set(key, url);
        }
    }

    fn remove(&mut self, key: &str) {
        self.memory.remove(key);
        if let Some(storage) = &self.storage {
            let _ = storage.remove_item(&self.storage_key(key));
        }
    }
}
