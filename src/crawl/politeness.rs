//! Politeness as plain, synchronous logic: a per-host rate limiter that says how long
//! to wait, the exponential backoff with jitter used on 429 and 5xx answers, and the
//! parsing of `Retry-After`. The crawler does the sleeping; nothing here touches the
//! clock except through the `now` it is handed, so the rules are easy to test.

use std::time::{Duration, Instant, SystemTime};

/// Spaces requests to one host at least `interval` apart.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    interval: Duration,
    next: Option<Instant>,
}

impl RateLimiter {
    /// A limiter for `rps` requests per second; `rps <= 0` lifts the limit.
    pub fn new(rps: f64) -> RateLimiter {
        let interval = if rps > 0.0 && rps.is_finite() {
            Duration::from_secs_f64(1.0 / rps)
        } else {
            Duration::ZERO
        };
        RateLimiter {
            interval,
            next: None,
        }
    }

    /// Raises the spacing to at least `delay` (a robots.txt `Crawl-delay`).
    pub fn at_least(&mut self, delay: Duration) {
        self.interval = self.interval.max(delay);
    }

    /// The spacing between two requests.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Books the next request slot and returns how long to wait for it from `now`.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let slot = match self.next {
            Some(next) if next > now => next,
            _ => now,
        };
        self.next = Some(slot + self.interval);
        slot - now
    }

    /// Pushes the next slot back to `now + delay` at least (after a 429).
    pub fn pause(&mut self, now: Instant, delay: Duration) {
        let until = now + delay;
        if self.next.is_none_or(|n| n < until) {
            self.next = Some(until);
        }
    }
}

/// Exponential backoff with full jitter: attempt `n` (from 0) waits a random time in
/// `[base * 2^n / 2, base * 2^n]`, capped at `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
    /// How many retries after the first attempt.
    pub retries: u32,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            retries: 3,
        }
    }
}

impl Backoff {
    /// The delay before retry `attempt` (0-based); `jitter` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let full = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// True for the statuses worth retrying: 429 and every 5xx except 501.
pub fn is_retryable(status: u16) -> bool {
    status == 429 || (500..600).contains(&status) && status != 501
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_spaces_requests() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(4.0);
        assert_eq!(l.reserve(t0), Duration::ZERO);
        assert_eq!(l.reserve(t0), Duration::from_millis(250));
        assert_eq!(l.reserve(t0), Duration::from_millis(500));
        // Time passing frees the slots.
        assert_eq!(l.reserve(t0 + Duration::from_secs(5)), Duration::ZERO);
    }

    #[test]
    fn zero_rps_lifts_the_limit_but_crawl_delay_and_pauses_hold() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(0.0);
        assert_eq!(l.reserve(t0), Duration::ZERO);
        assert_eq!(l.reserve(t0), Duration::ZERO);
        l.pause(t0, Duration::from_secs(2));
        l.at_least(Duration::from_secs(1));
        assert_eq!(l.reserve(t0), Duration::from_secs(2));
        assert_eq!(l.reserve(t0), Duration::from_secs(3));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            retries: 5,
        };
        assert_eq!(b.delay(0, 0.999_999).as_millis(), 99);
        assert_eq!(b.delay(2, 0.0), Duration::from_millis(200));
        assert_eq!(b.delay(10, 1.0), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert!(is_retryable(429) && is_retryable(503) && !is_retryable(404));
    }
}
