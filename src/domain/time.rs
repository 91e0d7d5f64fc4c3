//! Instants in UTC, in .NET's unit: ticks of 100 ns (what both databases store, counted from
//! the Unix epoch), so a .NET client's `DateTime` comes back with all seven fractional digits.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Ticks (100 ns) per second.
const TICKS_PER_SECOND: i64 = 10_000_000;
/// Nanoseconds per tick.
const NANOS_PER_TICK: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp::from_chrono(Utc::now())
    }

    /// From 100 ns ticks since the Unix epoch (the stored form).
    pub fn from_ticks(ticks: i64) -> Self {
        Timestamp(ticks)
    }

    /// 100 ns ticks since the Unix epoch (the stored form).
    pub fn ticks(self) -> i64 {
        self.0
    }

    /// From whole microseconds since the Unix epoch.
    pub fn from_unix_micros(micros: i64) -> Self {
        Timestamp(micros.saturating_mul(10))
    }

    /// Whole microseconds since the Unix epoch (rounded down).
    pub fn unix_micros(self) -> i64 {
        self.0.div_euclid(10)
    }

    pub fn from_chrono(dt: DateTime<Utc>) -> Self {
        let seconds = dt.timestamp().saturating_mul(TICKS_PER_SECOND);
        Timestamp(seconds.saturating_add(i64::from(dt.timestamp_subsec_nanos()) / NANOS_PER_TICK))
    }

    pub fn to_chrono(self) -> DateTime<Utc> {
        let seconds = self.0.div_euclid(TICKS_PER_SECOND);
        let nanos = self.0.rem_euclid(TICKS_PER_SECOND) * NANOS_PER_TICK;
        DateTime::from_timestamp(seconds, nanos as u32).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    pub fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms.saturating_mul(10_000)))
    }

    /// `duration` later.
    pub fn plus(self, duration: Duration) -> Self {
        Timestamp(self.0.saturating_add(ticks_of(duration)))
    }

    /// `duration` earlier.
    pub fn minus(self, duration: Duration) -> Self {
        Timestamp(self.0.saturating_sub(ticks_of(duration)))
    }

    /// How long after `earlier` this is (zero when it is not after it).
    pub fn since(self, earlier: Timestamp) -> Duration {
        let ticks = self.0.saturating_sub(earlier.0).max(0);
        // Saturating: a timestamp read from anywhere (MinValue, MaxValue) must not overflow.
        Duration::from_nanos((ticks as u64).saturating_mul(NANOS_PER_TICK as u64))
    }

    /// Whole seconds from `now` to this instant (negative when it is past).
    pub fn seconds_from(self, now: Timestamp) -> i64 {
        self.0.saturating_sub(now.0) / TICKS_PER_SECOND
    }
}

fn ticks_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos() / NANOS_PER_TICK as u128).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ticks_keep_hundred_nanoseconds() {
        let dt = Utc.with_ymd_and_hms(2001, 1, 1, 12, 59, 59).unwrap()
            + chrono::Duration::nanoseconds(999_999_900);
        let ts = Timestamp::from_chrono(dt);
        assert_eq!(ts.to_chrono(), dt);
        assert_eq!(ts.ticks() % 10, 9, "the seventh digit is kept");
        assert_eq!(Timestamp::from_ticks(ts.ticks()), ts);
    }

    #[test]
    fn before_the_epoch() {
        let dt =
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::nanoseconds(100);
        let ts = Timestamp::from_chrono(dt);
        assert!(ts.ticks() < 0);
        assert_eq!(ts.to_chrono(), dt);
        assert_eq!(
            Timestamp::from_ticks(-1)
                .to_chrono()
                .timestamp_subsec_nanos(),
            999_999_900
        );
    }

    #[test]
    fn arithmetic() {
        let t = Timestamp::from_unix_micros(1_000_000);
        assert_eq!(t.unix_micros(), 1_000_000);
        assert_eq!(Timestamp::from_ticks(-1).unix_micros(), -1);
        let later = t.plus(Duration::from_millis(1500));
        assert_eq!(later, t.plus_millis(1500));
        assert_eq!(later.since(t), Duration::from_millis(1500));
        assert_eq!(t.since(later), Duration::ZERO);
        let (first, last) = (Timestamp(i64::MIN), Timestamp(i64::MAX));
        assert_eq!(
            last.since(first),
            Duration::from_nanos(u64::MAX),
            "saturates"
        );
        assert_eq!(later.minus(Duration::from_millis(1500)), t);
        assert_eq!(later.seconds_from(t), 1);
        assert_eq!(t.seconds_from(later), -1);
    }
}
