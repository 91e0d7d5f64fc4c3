//! How times are shown to people, on the operator's pages and the public ones alike: always
//! UTC, labelled so, with a relative hint (`in 2 h`).

use chrono::{Datelike, Timelike};

use crate::domain::Timestamp;

/// A time as shown on pages: always UTC, labelled so, with a relative hint.
#[derive(Debug, Clone)]
pub struct When {
    /// `27 Nov 2026 14:30 UTC`
    pub text: String,
    /// `27 Nov 14:30` (with the year when it is not this one), for tables.
    pub short: String,
    /// `in 2 h`, `5 min ago`
    pub relative: String,
    /// ISO 8601, for `<time datetime>`.
    pub iso: String,
}

impl When {
    pub fn of(ts: Timestamp, now: Timestamp) -> When {
        When {
            text: utc_text(ts),
            short: short_text(ts, now),
            relative: relative(ts, now),
            iso: crate::wire::datetime::format(ts),
        }
    }

    pub fn opt(ts: Option<Timestamp>, now: Timestamp) -> Option<When> {
        ts.map(|t| When::of(t, now))
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub fn utc_text(ts: Timestamp) -> String {
    let dt = ts.to_chrono();
    let seconds = if dt.second() != 0 {
        format!(":{:02}", dt.second())
    } else {
        String::new()
    };
    format!(
        "{} {} {} {:02}:{:02}{seconds} UTC",
        dt.day(),
        MONTHS[dt.month0() as usize],
        dt.year(),
        dt.hour(),
        dt.minute()
    )
}

fn short_text(ts: Timestamp, now: Timestamp) -> String {
    let dt = ts.to_chrono();
    let year = if dt.year() == now.to_chrono().year() {
        String::new()
    } else {
        format!(" {}", dt.year())
    };
    format!(
        "{} {}{year} {:02}:{:02}",
        dt.day(),
        MONTHS[dt.month0() as usize],
        dt.hour(),
        dt.minute()
    )
}

pub fn relative(ts: Timestamp, now: Timestamp) -> String {
    let delta = (ts.unix_micros() - now.unix_micros()) / 1_000_000;
    let abs = delta.unsigned_abs();
    let amount = if abs < 60 {
        return "now".into();
    } else if abs < 3600 {
        format!("{} min", abs / 60)
    } else if abs < 48 * 3600 {
        format!("{} h", abs / 3600)
    } else {
        format!("{} days", abs / 86400)
    };
    if delta > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::datetime::parse;

    #[test]
    fn times_are_utc_and_labelled() {
        let t = parse("2026-11-27T14:30:00Z").unwrap();
        assert_eq!(utc_text(t), "27 Nov 2026 14:30 UTC");
        let t = parse("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(utc_text(t), "2 Jan 2026 03:04:05 UTC");
    }

    #[test]
    fn short_times_leave_out_this_year() {
        let now = parse("2026-11-27T12:00:00Z").unwrap();
        assert_eq!(
            short_text(parse("2026-11-27T14:30:59Z").unwrap(), now),
            "27 Nov 14:30"
        );
        assert_eq!(
            short_text(parse("2025-01-02T03:04:00Z").unwrap(), now),
            "2 Jan 2025 03:04"
        );
    }

    #[test]
    fn relative_times() {
        let now = parse("2026-11-27T12:00:00Z").unwrap();
        assert_eq!(relative(parse("2026-11-27T12:00:30Z").unwrap(), now), "now");
        assert_eq!(
            relative(parse("2026-11-27T12:05:00Z").unwrap(), now),
            "in 5 min"
        );
        assert_eq!(
            relative(parse("2026-11-27T09:00:00Z").unwrap(), now),
            "3 h ago"
        );
        assert_eq!(
            relative(parse("2026-11-30T12:00:00Z").unwrap(), now),
            "in 3 days"
        );
    }
}
