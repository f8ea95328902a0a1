//! Several uploads (one per study), a few at a time.

use super::http::{HttpResponse, RequestId};
use super::upload::{Action, FailureKind, Progress, TusEvent, TusUpload};

/// How many studies upload at once unless configured otherwise.
pub const DEFAULT_CONCURRENCY: usize = 2;

/// Identifies an upload in an [`UploadQueue`]: the order it was pushed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UploadKey(pub usize);

#[derive(Debug, Clone)]
struct Slot {
    upload: TusUpload,
    started: bool,
}

/// Runs [`TusUpload`]s with at most `concurrency` of them unfinished and
/// started at once, in the order they were pushed; a finished upload makes
/// room for the next. The same sans-IO shape as one upload, with every
/// output tagged with its [`UploadKey`].
#[derive(Debug, Clone)]
pub struct UploadQueue {
    concurrency: usize,
    slots: Vec<Slot>,
}

impl UploadQueue {
    /// An empty queue running up to `concurrency` uploads at once (at least 1).
    pub fn new(concurrency: usize) -> Self {
        Self {
            concurrency: concurrency.max(1),
            slots: Vec::new(),
        }
    }

    /// Adds an upload; it starts when a place is free.
    pub fn push(&mut self, upload: TusUpload) -> UploadKey {
        self.slots.push(Slot {
            upload,
            started: false,
        });
        UploadKey(self.slots.len() - 1)
    }

    /// The upload under `key`.
    pub fn upload(&self, key: UploadKey) -> Option<&TusUpload> {
        self.slots.get(key.0).map(|s| &s.upload)
    }

    /// How many uploads were pushed.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no upload was pushed.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many uploads are started and not finished.
    pub fn active(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.started && !s.upload.is_finished())
            .count()
    }

    /// Whether every upload finished (completed, failed or terminated).
    pub fn is_finished(&self) -> bool {
        self.slots.iter().all(|s| s.upload.is_finished())
    }

    /// The next thing for the shell to do at `now`, and for which upload.
    /// Starts waiting uploads while fewer than `concurrency` run.
    pub fn poll_action(&mut self, now: u64) -> Option<(UploadKey, Action)> {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.started {
                if let Some(action) = slot.upload.poll_action(now) {
                    return Some((UploadKey(i), action));
                }
            }
        }
        while self.active() < self.concurrency {
            let i = self
                .slots
                .iter()
                .position(|s| !s.started && !s.upload.is_finished())?;
            let slot = &mut self.slots[i];
            slot.started = true;
            if let Some(action) = slot.upload.poll_action(now) {
                return Some((UploadKey(i), action));
            }
        }
        None
    }

    /// The next event of any upload.
    pub fn poll_event(&mut self) -> Option<(UploadKey, TusEvent)> {
        self.slots
            .iter_mut()
            .enumerate()
            .find_map(|(i, s)| s.upload.poll_event().map(|e| (UploadKey(i), e)))
    }

    /// The earliest time a started upload needs
    /// [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter(|s| s.started)
            .filter_map(|s| s.upload.poll_timeout())
            .min()
    }

    /// Time has passed: every started upload checks its deadlines.
    pub fn handle_timeout(&mut self, now: u64) {
        for slot in self.slots.iter_mut().filter(|s| s.started) {
            slot.upload.handle_timeout(now);
        }
    }

    fn slot(&mut self, key: UploadKey) -> Option<&mut TusUpload> {
        self.slots.get_mut(key.0).map(|s| &mut s.upload)
    }

    /// The server answered upload `key`'s request `id`.
    pub fn handle_response(
        &mut self,
        key: UploadKey,
        id: RequestId,
        now: u64,
        response: &HttpResponse,
    ) {
        if let Some(upload) = self.slot(key) {
            upload.handle_response(id, now, response);
        }
    }

    /// Upload `key`'s request `id` has sent `sent` body bytes.
    pub fn handle_progress(&mut self, key: UploadKey, id: RequestId, now: u64, sent: u64) {
        if let Some(upload) = self.slot(key) {
            upload.handle_progress(id, now, sent);
        }
    }

    /// Upload `key`'s request `id` failed without an answer.
    pub fn handle_failure(&mut self, key: UploadKey, id: RequestId, now: u64, kind: FailureKind) {
        if let Some(upload) = self.slot(key) {
            upload.handle_failure(id, now, kind);
        }
    }

    /// Cancels upload `key` (see [`TusUpload::cancel`]); its DELETE, if any,
    /// goes out at once, whatever the concurrency.
    pub fn cancel(&mut self, key: UploadKey, now: u64) {
        if let Some(slot) = self.slots.get_mut(key.0) {
            slot.upload.cancel(now);
            slot.started = true;
        }
    }

    /// Cancels every upload.
    pub fn cancel_all(&mut self, now: u64) {
        for i in 0..self.slots.len() {
            self.cancel(UploadKey(i), now);
        }
    }

    /// The sum over all uploads: bytes acknowledged, in flight and in total;
    /// the speed of the running ones added up, and the ETA at that speed.
    pub fn progress(&self) -> Progress {
        let mut total = Progress {
            acknowledged: 0,
            in_flight: 0,
            total: 0,
            bytes_per_second: None,
            eta_ms: None,
        };
        for slot in &self.slots {
            let p = slot.upload.progress();
            total.acknowledged += p.acknowledged;
            total.in_flight += p.in_flight;
            total.total += p.total;
            if slot.started && !slot.upload.is_finished() {
                if let Some(speed) = p.bytes_per_second {
                    total.bytes_per_second = Some(total.bytes_per_second.unwrap_or(0.0) + speed);
                }
            }
        }
        let remaining = total
            .total
            .saturating_sub(total.acknowledged)
            .saturating_sub(total.in_flight);
        total.eta_ms = match total.bytes_per_second {
            _ if remaining == 0 => Some(0),
            Some(speed) if speed > 0.0 && speed.is_finite() => {
                let ms = remaining as f64 * 1_000.0 / speed;
                Some(if ms >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    ms.ceil() as u64
                })
            }
            _ => None,
        };
        total
    }
}

impl Default for UploadQueue {
    fn default() -> Self {
        Self::new(DEFAULT_CONCURRENCY)
    }
}
