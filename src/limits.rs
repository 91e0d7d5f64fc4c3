//! Limits every edge shares, with the words that name them in messages and in the OpenAPI
//! document, so the number and the text cannot drift apart.

use std::time::Duration;

/// Request bodies over this are a 413.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// [`BODY_LIMIT`] as people read it, as a literal so that messages can `concat!` it.
#[macro_export]
macro_rules! body_limit_text {
    () => {
        "1 MiB"
    };
}
/// [`BODY_LIMIT`] as people read it.
pub const BODY_LIMIT_TEXT: &str = body_limit_text!();
/// The 413 answer's message.
pub const BODY_TOO_LARGE: &str =
    concat!("The request body is larger than ", body_limit_text!(), ".");
/// Every request gets at most this long to produce its response head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_limit_text_names_the_body_limit() {
        let mib: usize = BODY_LIMIT_TEXT
            .strip_suffix(" MiB")
            .and_then(|n| n.parse().ok())
            .expect("a number of MiB");
        assert_eq!(mib * 1024 * 1024, BODY_LIMIT);
    }
}
