//! The response format a request asks for, as ASP.NET Web API 2 read `Accept`.

use axum::http::{header, HeaderMap};

use super::Format;

/// The response format: the `Accept` media range with the highest q wins; on a tie JSON wins;
/// nothing supported (or no header, or `*/*`) gives JSON. Never a 406.
pub fn response_format(headers: &HeaderMap) -> Format {
    let mut json_q = -1.0f32;
    let mut xml: Option<(f32, bool)> = None;
    for value in headers.get_all(header::ACCEPT) {
        // Bytes beyond ASCII (obs-text) spoil only the range that holds them.
        let text = String::from_utf8_lossy(value.as_bytes());
        for range in text.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .or_else(|| p.trim().strip_prefix("Q="))
                })
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            if q <= 0.0 {
                continue;
            }
            match media.as_str() {
                "application/json" | "text/json" => json_q = json_q.max(q),
                "application/xml" | "text/xml" => {
                    let text_xml = media == "text/xml";
                    if xml.is_none_or(|(best, _)| q > best) {
                        xml = Some((q, text_xml));
                    }
                }
                _ => {}
            }
        }
    }
    match xml {
        Some((q, text_xml)) if q > json_q => Format::Xml { text_xml },
        _ => Format::Json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn fmt(accept: &str) -> Format {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        response_format(&h)
    }

    #[test]
    fn negotiation_rules() {
        assert_eq!(response_format(&HeaderMap::new()), Format::Json);
        assert_eq!(fmt("*/*"), Format::Json);
        assert_eq!(fmt("text/html"), Format::Json);
        assert_eq!(fmt("application/xml"), Format::Xml { text_xml: false });
        assert_eq!(fmt("text/xml"), Format::Xml { text_xml: true });
        assert_eq!(fmt("application/json, application/xml"), Format::Json);
        assert_eq!(fmt("application/xml, application/json"), Format::Json);
        assert_eq!(
            fmt("application/json;q=0.5, application/xml"),
            Format::Xml { text_xml: false }
        );
        assert_eq!(fmt("application/json;q=0.9, text/xml;q=0.9"), Format::Json);
        assert_eq!(fmt("application/xml;q=0"), Format::Json);
        assert_eq!(
            fmt("application/xml, */*;q=0.1"),
            Format::Xml { text_xml: false }
        );
        assert_eq!(fmt("garbage;;q=x,,"), Format::Json);
    }

    #[test]
    fn a_byte_beyond_ascii_spoils_only_its_range() {
        let mut h = HeaderMap::new();
        let value = HeaderValue::from_bytes(b"application/xml, text/\xffhtml").unwrap();
        h.insert(header::ACCEPT, value);
        assert_eq!(response_format(&h), Format::Xml { text_xml: false });
    }
}
