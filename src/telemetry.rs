//! Logging: structured (`tracing`), text or JSON, level from `RUST_LOG`, to stderr.

use axum::http::Uri;
use tracing_subscriber::EnvFilter;

pub fn init(format: &str) {
    // The SMPP crate logs every PDU at info; its warnings and errors are what an operator needs.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info,smpp34=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if format.eq_ignore_ascii_case("json") {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests starting several apps) keeps the first subscriber.
    drop(result);
}

/// Paths whose next segment is a secret (a customer's link token).
const SECRET_SEGMENT_AFTER: [&str; 2] = ["/my/", "/unsubscribe/"];

/// The path with the token of a customer link replaced: `/my/REDACTED`.
fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in SECRET_SEGMENT_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}REDACTED{tail}").into();
        }
    }
    path.into()
}

/// The path and query of a URI with the API key's value replaced (`key=REDACTED`), and the
/// token of a customer's link (`/my/REDACTED`).
pub fn redact_uri(uri: &Uri) -> String {
    let path = redact_path(uri.path());
    let path = path.as_ref();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            let decoded: String = form_urlencoded::parse(name.as_bytes())
                .next()
                .map(|(n, _)| n.into_owned())
                .unwrap_or_default();
            if decoded.eq_ignore_ascii_case("key") {
                format!("{name}=REDACTED")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", redacted.join("&"))
}

/// An error with all its causes: `a: b: c`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_redacted_in_any_case() {
        let uri: Uri = "/api/Tickets?KEY=secret&$top=5&k%65y=secret2"
            .parse()
            .unwrap();
        let shown = redact_uri(&uri);
        assert_eq!(shown, "/api/Tickets?KEY=REDACTED&$top=5&k%65y=REDACTED");
        assert!(!shown.contains("secret"));
    }

    #[test]
    fn customer_link_tokens_are_redacted() {
        let uri: Uri = "/my/0123abcd?done=saved".parse().unwrap();
        assert_eq!(redact_uri(&uri), "/my/REDACTED?done=saved");
        let uri: Uri = "/unsubscribe/0123abcd".parse().unwrap();
        assert_eq!(redact_uri(&uri), "/unsubscribe/REDACTED");
        let uri: Uri = "/tickets/3".parse().unwrap();
        assert_eq!(redact_uri(&uri), "/tickets/3");
    }
}
