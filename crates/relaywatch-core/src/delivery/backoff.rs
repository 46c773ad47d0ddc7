//! Retry timing for the outbox; rule: pure arithmetic only — the delay for attempt n is
//! `base · 2^(n-1)` scaled by a jitter factor the caller supplies (±20 % by default), capped,
//! and never shorter than what the platform asked for (Retry-After / `retry_after`).

use std::time::Duration;

use crate::config::channels::DeliverySettings;

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// Delay after the first failed attempt (1 s).
    pub base: Duration,
    /// Longest computed delay (2 min).
    pub cap: Duration,
    /// Relative jitter: 0.2 spreads each delay over ±20 %.
    pub jitter: f64,
    /// Attempts before an item is dead-lettered (24: about 34 minutes of trying).
    pub max_attempts: u32,
    /// Longest Retry-After honoured; a platform asking for more gets this (1 h).
    pub max_retry_after: Duration,
}

/// The `[delivery]` defaults: 1 s doubling to 2 min, 24 attempts.
impl Default for BackoffPolicy {
    fn default() -> Self {
        let d = DeliverySettings::default();
        BackoffPolicy {
            base: Duration::from_millis(d.backoff_ms),
            cap: Duration::from_millis(d.backoff_cap_ms),
            jitter: 0.2,
            max_attempts: d.attempts,
            max_retry_after: Duration::from_secs(3600),
        }
    }
}

impl BackoffPolicy {
    /// The delay before retrying after failed attempt number `attempt` (1-based):
    /// 1 s, 2 s, 4 s… times `1 + jitter·(2u−1)` for `unit` u in [0, 1), capped at `cap`
    /// (the cap applies after jitter, so no delay ever exceeds it).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(40);
        let raw = self.base.as_secs_f64() * 2f64.powi(exp as i32);
        let u = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let factor = 1.0 + self.jitter.clamp(0.0, 1.0) * (2.0 * u - 1.0);
        let secs = (raw * factor).min(self.cap.as_secs_f64()).max(0.0);
        Duration::try_from_secs_f64(secs).unwrap_or(self.cap)
    }

    /// The delay before the next attempt: the backoff, or the platform's Retry-After when that
    /// is longer (bounded by `max_retry_after`).
    pub fn retry_delay(&self, attempt: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let own = self.delay(attempt, unit);
        match retry_after {
            Some(after) => own.max(after.min(self.max_retry_after)),
            None => own,
        }
    }

    /// Whether failed attempt number `attempt` (1-based) was the last one allowed.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts.max(1)
    }

    /// When each attempt is made, counted from the first (which is at zero), when every one
    /// fails without a Retry-After and every jitter draw is `unit` (0.5: no jitter; 0.0: every
    /// delay at its shortest). One entry per attempt.
    pub fn schedule(&self, unit: f64) -> Vec<Duration> {
        let mut at = Duration::ZERO;
        let mut times = vec![at];
        for attempt in 1..self.max_attempts.max(1) {
            at = at.saturating_add(self.delay(attempt, unit));
            times.push(at);
        }
        times
    }

    /// The longest receiver outage, starting at the first attempt, that a message is sure to
    /// outlast whatever the jitter: the time of the last attempt when every delay is at its
    /// shortest. A receiver back before then gets the message; after, it is dead-lettered.
    pub fn rides_out(&self) -> Duration {
        self.schedule(0.0).last().copied().unwrap_or_default()
    }

    /// This policy with at most as many attempts as fit in `budget` when every delay is at its
    /// longest (at least one): for a command that waits for the result in the foreground.
    pub fn within(&self, budget: Duration) -> BackoffPolicy {
        let fit = self.schedule(1.0).iter().filter(|t| **t <= budget).count();
        BackoffPolicy {
            max_attempts: (fit as u32).clamp(1, self.max_attempts.max(1)),
            ..*self
        }
    }
}

/// Maps 64 random bits onto [0, 1) for [`BackoffPolicy::delay`].
pub fn unit_from_bits(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A tiny SplitMix64 generator for jitter; seeded by the caller (the sender seeds it from the
/// clock and process id), so the pure functions above stay deterministic in tests.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(seed)
    }

    /// The next value in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        unit_from_bits(z ^ (z >> 31))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn doubles_from_one_second_without_jitter() {
        let p = BackoffPolicy::default();
        let got: Vec<u128> = (1..=10).map(|a| ms(p.delay(a, 0.5))).collect();
        assert_eq!(
            got,
            vec![1000, 2000, 4000, 8000, 16000, 32000, 64000, 120000, 120000, 120000]
        );
    }

    #[test]
    fn jitter_spans_plus_minus_twenty_percent_and_cap_holds() {
        let p = BackoffPolicy::default();
        assert_eq!(ms(p.delay(1, 0.0)), 800);
        assert_eq!(ms(p.delay(1, 1.0)), 1200);
        assert_eq!(ms(p.delay(3, 0.0)), 3200);
        assert_eq!(ms(p.delay(3, 0.75)), 4400);
        assert_eq!(ms(p.delay(8, 0.0)), 102_400);
        assert_eq!(ms(p.delay(8, 1.0)), 120_000);
        assert_eq!(ms(p.delay(u32::MAX, 0.99)), 120_000);
        assert_eq!(ms(p.delay(1, f64::NAN)), 1000);
        let huge = BackoffPolicy {
            base: Duration::MAX,
            cap: Duration::MAX,
            jitter: f64::NAN,
            ..p
        };
        assert_eq!(huge.delay(41, 0.5), Duration::MAX);
    }

    #[test]
    fn retry_after_wins_when_longer_and_is_bounded() {
        let p = BackoffPolicy::default();
        assert_eq!(
            ms(p.retry_delay(1, 0.5, Some(Duration::from_secs(30)))),
            30_000
        );
        assert_eq!(
            ms(p.retry_delay(4, 0.5, Some(Duration::from_millis(10)))),
            8000
        );
        assert_eq!(
            ms(p.retry_delay(1, 0.5, Some(Duration::from_secs(86_400)))),
            3_600_000
        );
    }

    #[test]
    fn exhausted_after_max_attempts() {
        let p = BackoffPolicy {
            max_attempts: 6,
            ..BackoffPolicy::default()
        };
        assert!(!p.exhausted(5));
        assert!(p.exhausted(6));
        assert!(!BackoffPolicy::default().exhausted(23));
        assert!(BackoffPolicy::default().exhausted(24));
    }

    #[test]
    fn jitter_units_stay_in_range() {
        let mut j = Jitter::new(42);
        for _ in 0..10_000 {
            let u = j.next_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    /// Seconds, to the millisecond (float delays may be a nanosecond short).
    fn secs(times: &[Duration]) -> Vec<f64> {
        times
            .iter()
            .map(|t| (t.as_nanos() as f64 / 1e6).round() / 1000.0)
            .collect()
    }

    /// The default policy rides out a receiver outage of well over 15 minutes: its attempts
    /// (listed here, nominal and with every jitter draw at its shortest) span more than 30.
    #[test]
    fn the_default_policy_rides_out_a_long_outage() {
        let p = BackoffPolicy::default();
        assert_eq!(
            (p.base, p.cap, p.max_attempts),
            (Duration::from_secs(1), Duration::from_secs(120), 24)
        );
        let nominal = p.schedule(0.5);
        assert_eq!(nominal.len(), 24);
        let mut want = vec![0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 127.0];
        for i in 1..=16 {
            want.push(127.0 + 120.0 * i as f64);
        }
        assert_eq!(secs(&nominal), want);
        // The last attempt comes 34 min 7 s after the first.
        assert_eq!(secs(&nominal[23..]), [2047.0]);
        let shortest = p.schedule(0.0);
        let mut want = vec![0.0, 0.8, 2.4, 5.6, 12.0, 24.8, 50.4, 101.6, 204.0];
        for i in 1..=15 {
            want.push(204.0 + 120.0 * i as f64);
        }
        assert_eq!(secs(&shortest), want);
        // Even with every delay at its shortest: 33 min 24 s.
        assert_eq!(secs(&[p.rides_out()]), [2004.0]);
        assert!(p.rides_out() >= Duration::from_secs(15 * 60));
        assert!(p.rides_out() >= Duration::from_secs(30 * 60));
    }

    #[test]
    fn a_foreground_command_keeps_only_the_attempts_that_fit() {
        let p = BackoffPolicy::default();
        // Longest delays 1.2, 2.4, 4.8, 9.6, 19.2, 38.4, 76.8 s: attempt 8 would come at 152.4 s.
        let two_min = p.within(Duration::from_secs(120));
        assert_eq!(two_min.max_attempts, 7);
        assert!(*two_min.schedule(1.0).last().unwrap() <= Duration::from_secs(120));
        assert_eq!(p.within(Duration::ZERO).max_attempts, 1);
        assert_eq!(p.within(Duration::from_secs(86_400)).max_attempts, 24);
    }
}
