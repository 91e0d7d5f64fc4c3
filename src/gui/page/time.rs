//! The values of date-time inputs; how times are shown is [`crate::when`]'s.

use chrono::Timelike;

use crate::domain::Timestamp;
pub use crate::when::{utc_text, When};

/// The value of a `datetime-local` input for a time (UTC): minutes, seconds or milliseconds,
/// as precise as the time needs.
pub fn input_value(ts: Timestamp) -> String {
    let dt = ts.to_chrono();
    if dt.nanosecond() != 0 {
        dt.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
    } else if dt.second() != 0 {
        dt.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::datetime::parse;

    #[test]
    fn input_values_round_trip() {
        for s in [
            "2026-11-27T14:30:00Z",
            "2026-11-27T14:30:05Z",
            "2026-11-27T14:30:05.250Z",
        ] {
            let t = parse(s).unwrap();
            assert_eq!(parse(&input_value(t)), Some(t), "{s}");
        }
    }
}
