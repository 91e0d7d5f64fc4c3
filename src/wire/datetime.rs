//! Date-times on the wire: always UTC.
//!
//! Output is `2001-01-01T12:00:00Z`, with a fraction only when it is non-zero.
//! Input with `Z` or an offset is converted to UTC; input without a zone is taken as UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

use crate::domain::Timestamp;

pub fn format(ts: Timestamp) -> String {
    let dt = ts.to_chrono();
    let s = dt.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    // AutoSi writes 3, 6 or 9 digits; trim trailing zeros like .NET's "o" round trip would not,
    // but DataContract/Json.NET output does (K format): 12:00:00.1Z, 12:00:00.123Z.
    match s.find('.') {
        Some(dot) => {
            let (head, frac) = s.split_at(dot);
            let digits = frac
                .trim_start_matches('.')
                .trim_end_matches('Z')
                .trim_end_matches('0');
            if digits.is_empty() {
                format!("{head}Z")
            } else {
                format!("{head}.{digits}Z")
            }
        }
        None => s,
    }
}

/// Parses an input date-time; `None` when it is not one.
pub fn parse(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return checked(dt.with_timezone(&Utc));
    }
    // Offsets without a colon (+0100) and a space instead of T.
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(text, f) {
            return checked(dt.with_timezone(&Utc));
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, f) {
            return checked(naive.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return checked(date.and_hms_opt(0, 0, 0)?.and_utc());
    }
    None
}

/// Years 1–9999, the range .NET's DateTime holds, and no leap second (`23:59:60`, which .NET's
/// DateTime does not hold either; chrono reads it as a second past 59 that would roll into the
/// next day, at 9999-12-31 into year 10000: found by fuzzing).
fn checked(dt: DateTime<Utc>) -> Option<Timestamp> {
    use chrono::{Datelike, Timelike};
    if dt.nanosecond() >= 1_000_000_000 {
        return None;
    }
    let ts = Timestamp::from_chrono(dt);
    (1..=9999).contains(&ts.to_chrono().year()).then_some(ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> String {
        format(parse(s).unwrap_or_else(|| panic!("{s} should parse")))
    }

    #[test]
    fn output_shapes() {
        assert_eq!(p("2001-01-01T12:00:00Z"), "2001-01-01T12:00:00Z");
        assert_eq!(p("2001-01-01T12:00:00.123Z"), "2001-01-01T12:00:00.123Z");
        assert_eq!(p("2001-01-01T12:00:00.100Z"), "2001-01-01T12:00:00.1Z");
        assert_eq!(p("2001-01-01T12:00:00.000Z"), "2001-01-01T12:00:00Z");
        assert_eq!(
            p("2001-01-01T12:00:00.253767Z"),
            "2001-01-01T12:00:00.253767Z"
        );
        // .NET's seven digits (100 ns) are kept; finer digits are cut.
        assert_eq!(
            p("2001-01-01T12:59:59.9999999Z"),
            "2001-01-01T12:59:59.9999999Z"
        );
        assert_eq!(
            p("2001-01-01T12:00:00.123456789Z"),
            "2001-01-01T12:00:00.1234567Z"
        );
    }

    #[test]
    fn offsets_are_converted_and_zoneless_is_utc() {
        assert_eq!(p("2001-01-01T13:00:00+01:00"), "2001-01-01T12:00:00Z");
        assert_eq!(p("2001-01-01T07:00:00-0500"), "2001-01-01T12:00:00Z");
        assert_eq!(p("2001-01-01T12:00:00"), "2001-01-01T12:00:00Z");
        assert_eq!(p("2001-01-01 12:00:00"), "2001-01-01T12:00:00Z");
        assert_eq!(p("2001-01-01T12:00"), "2001-01-01T12:00:00Z");
        assert_eq!(p("2001-01-01"), "2001-01-01T00:00:00Z");
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2001-13-01T00:00:00Z",
            "2001-02-30",
            "12:00",
            "0000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "2016-12-31T23:59:60Z",
            "9999-12-31T23:59:60.9999999Z",
            "9999-12-31T23:59:59.9999999-00:01",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(ticks in -621_355_968_000_000_000i64..2_534_023_007_999_999_999i64) {
            let ts = Timestamp::from_ticks(ticks);
            let text = format(ts);
            prop_assert!(text.ends_with('Z'));
            prop_assert_eq!(parse(&text), Some(ts));
        }
    }
}
