//! Replay protection: remembering the nonces of validly signed requests.

use std::collections::{BTreeSet, HashMap};

/// The default replay and clock-skew window, in seconds, either side of now.
pub const WINDOW_SECS: u64 = 300;

/// Remembers nonces so that [`crate::verify`] can reject a replayed request.
///
/// `verify` calls it only after the signature checked out, so forged requests
/// cannot fill it.
pub trait NonceStore {
    /// Records `nonce` for `app_id`, signed at `timestamp` and seen at `now`
    /// (both Unix seconds), and returns `false` when that app already used this
    /// nonce inside the window.
    ///
    /// Implementations must forget nonces whose timestamp is older than the
    /// window: `verify` rejects such requests by their timestamp anyway.
    fn check_and_insert(&mut self, app_id: &str, nonce: &str, timestamp: u64, now: u64) -> bool;
}

/// An in-memory [`NonceStore`] for one process.
///
/// Each call first forgets every nonce whose timestamp is more than the window
/// before `now`, so memory stays bounded by the request rate times the window.
#[derive(Debug, Clone)]
pub struct MemoryNonceStore {
    window_secs: u64,
    /// (app id, nonce) → timestamp.
    seen: HashMap<(String, String), u64>,
    /// The same entries ordered by timestamp, for pruning.
    by_time: BTreeSet<(u64, String, String)>,
}

impl Default for MemoryNonceStore {
    fn default() -> Self {
        Self::with_window(WINDOW_SECS)
    }
}

impl MemoryNonceStore {
    /// A store that forgets nonces `window_secs` after their timestamp; use the
    /// same window as [`crate::VerifyOptions::window_secs`].
    pub fn with_window(window_secs: u64) -> Self {
        MemoryNonceStore {
            window_secs,
            seen: HashMap::new(),
            by_time: BTreeSet::new(),
        }
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Forgets nonces whose timestamp is older than `now - window`.
    fn prune(&mut self, now: u64) {
        while let Some(first) = self.by_time.first() {
            if first.0.saturating_add(self.window_secs) >= now {
                break;
            }
            if let Some((_, app_id, nonce)) = self.by_time.pop_first() {
                self.seen.remove(&(app_id, nonce));
            }
        }
    }
}

impl NonceStore for MemoryNonceStore {
    fn check_and_insert(&mut self, app_id: &str, nonce: &str, timestamp: u64, now: u64) -> bool {
        self.prune(now);
        let key = (app_id.to_owned(), nonce.to_owned());
        if self.seen.contains_key(&key) {
            return false;
        }
        self.by_time
            .insert((timestamp, key.0.clone(), key.1.clone()));
        self.seen.insert(key, timestamp);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_nonce_seen_inside_the_window() {
        let mut store = MemoryNonceStore::default();
        assert!(store.check_and_insert("app", "n1", 1000, 1000));
        assert!(!store.check_and_insert("app", "n1", 1000, 1200));
        assert!(!store.check_and_insert("app", "n1", 1100, 1300));
    }

    #[test]
    fn nonces_are_per_app() {
        let mut store = MemoryNonceStore::default();
        assert!(store.check_and_insert("a", "n", 1000, 1000));
        assert!(store.check_and_insert("b", "n", 1000, 1000));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn forgets_nonces_older_than_the_window() {
        let mut store = MemoryNonceStore::with_window(300);
        assert!(store.check_and_insert("app", "old", 1000, 1000));
        assert!(store.check_and_insert("app", "future", 1300, 1000));
        // At 1300 "old" (t=1000) is exactly at the edge and still remembered.
        assert!(!store.check_and_insert("app", "old", 1000, 1300));
        // One second later it is forgotten; "future" (t=1300) is kept.
        assert!(store.check_and_insert("app", "fresh", 1301, 1301));
        assert_eq!(store.len(), 2);
        assert!(!store.check_and_insert("app", "future", 1300, 1301));
        // Far later everything before is gone.
        assert!(store.check_and_insert("app", "later", 5000, 5000));
        assert_eq!(store.len(), 1);
        assert!(!store.is_empty());
    }
}
