//! A smoothed upload speed and the time left, from byte counts and the time
//! passed in.

/// An exponentially weighted moving average of bytes per second.
///
/// Fed a monotonic byte count and the time, it takes one sample per
/// interval of at least [`SpeedEstimator::MIN_SAMPLE_MS`] (shorter
/// intervals are added to the next one, so bursts of progress callbacks do
/// not make it jump) and weights each sample by how long it covers: after
/// `half_life_ms`, a sample has half the weight of the newest. Time without
/// bytes (a retry delay, a stall) lowers the speed, as it should.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedEstimator {
    half_life_ms: u64,
    /// Time and byte count at the start of the current sample.
    base: Option<(u64, u64)>,
    rate: Option<f64>,
}

impl SpeedEstimator {
    /// The shortest interval a sample covers.
    pub const MIN_SAMPLE_MS: u64 = 250;
    /// The default half-life: 3 s, so the speed follows a changed connection
    /// within seconds without jumping at every chunk.
    pub const DEFAULT_HALF_LIFE_MS: u64 = 3_000;

    /// An estimator with samples losing half their weight after `half_life_ms`.
    pub fn new(half_life_ms: u64) -> Self {
        Self {
            half_life_ms: half_life_ms.max(1),
            base: None,
            rate: None,
        }
    }

    /// Records that `bytes` bytes in total have moved by `now` (milliseconds).
    /// A count that goes down (a restart) or a clock that goes back starts a
    /// new baseline and keeps the speed.
    pub fn record(&mut self, now: u64, bytes: u64) {
        let Some((t0, b0)) = self.base else {
            self.base = Some((now, bytes));
            return;
        };
        if now < t0 || bytes < b0 {
            self.base = Some((now, bytes));
            return;
        }
        let dt = now - t0;
        if dt < Self::MIN_SAMPLE_MS {
            return;
        }
        let sample = (bytes - b0) as f64 * 1_000.0 / dt as f64;
        let weight = 1.0 - 0.5f64.powf(dt as f64 / self.half_life_ms as f64);
        self.rate = Some(match self.rate {
            Some(rate) => rate + weight * (sample - rate),
            None => sample,
        });
        self.base = Some((now, bytes));
    }

    /// The smoothed speed in bytes per second, once a sample exists.
    pub fn bytes_per_second(&self) -> Option<f64> {
        self.rate
    }

    /// Milliseconds until `remaining` more bytes are through at the current
    /// speed; `None` while the speed is unknown or zero.
    pub fn eta_ms(&self, remaining: u64) -> Option<u64> {
        if remaining == 0 {
            return Some(0);
        }
        let rate = self.rate.filter(|r| *r > 0.0 && r.is_finite())?;
        let ms = remaining as f64 * 1_000.0 / rate;
        Some(if ms >= u64::MAX as f64 {
            u64::MAX
        } else {
            ms.ceil() as u64
        })
    }
}

impl Default for SpeedEstimator {
    fn default() -> Self {
        Self::new(Self::DEFAULT_HALF_LIFE_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_rate_is_measured_exactly() {
        let mut speed = SpeedEstimator::default();
        assert_eq!(speed.bytes_per_second(), None);
        for second in 0..10u64 {
            speed.record(second * 1_000, second * 2_000_000);
        }
        let rate = speed.bytes_per_second().unwrap_or(0.0);
        assert!((rate - 2_000_000.0).abs() < 1e-6, "{rate}");
        assert_eq!(speed.eta_ms(4_000_000), Some(2_000));
        assert_eq!(speed.eta_ms(0), Some(0));
    }

    #[test]
    fn short_intervals_accumulate_instead_of_jumping() {
        let mut speed = SpeedEstimator::default();
        speed.record(0, 0);
        speed.record(10, 1_000_000);
        assert_eq!(
            speed.bytes_per_second(),
            None,
            "10 ms is too short a sample"
        );
        speed.record(500, 1_000_000);
        let rate = speed.bytes_per_second().unwrap_or(0.0);
        assert!((rate - 2_000_000.0).abs() < 1e-6, "{rate}");
    }

    #[test]
    fn a_slower_link_pulls_the_speed_down_gradually() {
        let mut speed = SpeedEstimator::new(1_000);
        speed.record(0, 0);
        speed.record(1_000, 1_000);
        speed.record(2_000, 1_000);
        let rate = speed.bytes_per_second().unwrap_or(0.0);
        assert!((rate - 500.0).abs() < 1e-9, "one half-life halves: {rate}");
    }

    #[test]
    fn restarts_keep_the_speed_and_a_zero_speed_has_no_eta() {
        let mut speed = SpeedEstimator::default();
        speed.record(0, 1_000);
        speed.record(1_000, 2_000);
        speed.record(1_500, 0);
        assert_eq!(speed.bytes_per_second(), Some(1_000.0));
        let mut idle = SpeedEstimator::default();
        idle.record(0, 0);
        idle.record(1_000, 0);
        assert_eq!(idle.eta_ms(10), None);
    }
}
