//! Fixed one-minute windows per credential and endpoint class.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::Error;

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateClass {
    /// `auth/exchange`, per app.
    Exchange,
    /// `uploader/config`, per upload token.
    Config,
    /// Upload lifecycle, manage and viewer-link calls, per credential.
    Lifecycle,
    /// tus requests, per lift token.
    Tus,
}

/// When the map holds more keys than this, windows that are over are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// Request counts per (class, credential) in the current minute.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    /// (class, credential) → (window start, count).
    windows: Mutex<HashMap<(RateClass, String), (u64, u32)>>,
}

impl RateLimiter {
    /// Counts one request of `credential` against `limit` per minute at `now`;
    /// past the limit, a 429 whose `Retry-After` is the rest of the minute.
    pub fn check(
        &self,
        class: RateClass,
        credential: &str,
        limit: u32,
        now: u64,
    ) -> Result<(), Error> {
        let window = now - now % 60;
        let mut windows = self
            .windows
            .lock()
            .map_err(|_| Error::Internal("rate limiter lock poisoned by a panic".to_owned()))?;
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (start, _)| *start == window);
        }
        let entry = windows
            .entry((class, credential.to_owned()))
            .or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= limit {
            return Err(Error::RateLimited {
                retry_after_secs: (window + 60).saturating_sub(now).max(1),
            });
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_past_the_limit_gets_the_rest_of_the_minute() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            limiter.check(RateClass::Config, "t", 3, 6_000).unwrap();
        }
        match limiter.check(RateClass::Config, "t", 3, 6_045) {
            Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 15),
            other => panic!("expected 429, got {other:?}"),
        }
        // Other credentials and classes have their own counts.
        limiter.check(RateClass::Config, "u", 3, 6_045).unwrap();
        limiter.check(RateClass::Tus, "t", 3, 6_045).unwrap();
        // The next minute starts afresh.
        limiter.check(RateClass::Config, "t", 3, 6_060).unwrap();
    }
}
