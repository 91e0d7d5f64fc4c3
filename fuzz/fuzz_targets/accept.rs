//! Content negotiation: any `Accept` value gives JSON or XML (never a panic, never a 406), and
//! which of the two does not depend on the order of the media ranges. A value that names no
//! XML type gives JSON.
#![no_main]

use axum::http::{header, HeaderMap, HeaderValue};
use herald::wire::accept::response_format;
use herald::wire::Format;
use libfuzzer_sys::fuzz_target;

fn negotiate(value: &[u8]) -> Option<Format> {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_bytes(value).ok()?);
    Some(response_format(&headers))
}

fuzz_target!(|data: &[u8]| {
    let Some(format) = negotiate(data) else {
        return;
    };
    let lower = String::from_utf8_lossy(data).to_ascii_lowercase();
    if !lower.contains("xml") {
        assert_eq!(format, Format::Json, "{lower:?}");
    }
    // The same ranges in reverse order: the same kind of answer.
    let reversed: Vec<&[u8]> = data.split(|b| *b == b',').rev().collect();
    let reversed = reversed.join(&b","[..]);
    let again = negotiate(&reversed).expect("a reordering of a valid value is valid");
    assert_eq!(
        matches!(format, Format::Xml { .. }),
        matches!(again, Format::Xml { .. }),
        "{lower:?}"
    );
    // Two headers holding the ranges give what one comma-joined header gives.
    if let Some(comma) = data.iter().position(|b| *b == b',') {
        let (first, rest) = (&data[..comma], &data[comma + 1..]);
        let (Ok(a), Ok(b)) = (
            HeaderValue::from_bytes(first),
            HeaderValue::from_bytes(rest),
        ) else {
            return;
        };
        let mut headers = HeaderMap::new();
        headers.append(header::ACCEPT, a);
        headers.append(header::ACCEPT, b);
        assert_eq!(response_format(&headers), format, "{lower:?}");
    }
});
