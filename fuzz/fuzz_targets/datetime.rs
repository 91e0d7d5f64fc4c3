//! The date parser: any text either parses or is refused, never panics; what parses is in
//! .NET's range (years 1-9999) and round-trips: parse(format(t)) == t, and format is canonical
//! (formatting the re-parsed value gives the same text).
#![no_main]

use herald::wire::datetime::{format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(ts) = parse(text) else {
        return;
    };
    let written = format(ts);
    assert!(written.ends_with('Z'), "{text:?} -> {written}");
    let year: i32 = written[..4].parse().expect("four-digit year");
    assert!((1..=9999).contains(&year), "{text:?} -> {written}");
    let again = parse(&written);
    assert_eq!(again, Some(ts), "{text:?} -> {written}");
    assert_eq!(format(ts), written);
});
