//! Request bodies: bytes and their `Content-Type` become one [`Doc`], whatever the format
//! (JSON, XML, form) and whatever text encoding a .NET client used.
//!
//! Encodings, as Web API's formatters read them: a byte-order mark wins (UTF-8, UTF-16 LE or
//! BE); else `charset=utf-16` (or `utf-16le`/`utf-16be`) names UTF-16, its byte order taken
//! from the first character when the label leaves it open; else a body whose first two bytes
//! are an ASCII character and a NUL (or the reverse) is UTF-16, since no JSON or XML body can
//! start with NUL; anything else is UTF-8. Bytes that are not valid in the chosen encoding are
//! refused, never replaced.
//!
//! JSON is read keeping what a `serde_json::Value` loses: the order of the properties, every
//! one of a repeated name (so [`Doc::get`] gives the last, as Json.NET does) and each number's
//! exact text (`12345678901234567890123` stays those digits).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::input::{Doc, Value};
use super::xml;

/// How deeply JSON arrays and objects may nest (Herald's entities use three levels).
pub const MAX_JSON_DEPTH: usize = 32;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// 400: the body is not what its media type says.
    Malformed(String),
    /// 415: no media type, or one Herald does not read.
    Unsupported(String),
}

/// Reads a request body given its `Content-Type` header value.
pub fn read(content_type: Option<&str>, body: &[u8]) -> Result<Doc, BodyError> {
    let Some(content_type) = content_type else {
        return Err(BodyError::Unsupported(
            "The request entity's media type is missing: send Content-Type application/json, application/xml or application/x-www-form-urlencoded.".into(),
        ));
    };
    let mut params = content_type.split(';');
    let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset = params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    });
    let malformed = BodyError::Malformed;
    match media.as_str() {
        "application/json" | "text/json" => {
            let text = decode(body, charset.as_deref()).map_err(malformed)?;
            json(&text).map_err(malformed)
        }
        "application/xml" | "text/xml" => {
            let text = decode(body, charset.as_deref()).map_err(malformed)?;
            xml::parse(text.as_bytes()).map_err(malformed)
        }
        "application/x-www-form-urlencoded" => {
            let text = decode(body, charset.as_deref()).map_err(malformed)?;
            Doc::from_form(text.as_bytes()).map_err(malformed)
        }
        other => {
            let shown: String = other.chars().take(80).collect();
            Err(BodyError::Unsupported(format!(
                "The request entity's media type '{shown}' is not supported for this resource."
            )))
        }
    }
}

/// The body as text, by the rules in the module comment.
pub fn decode<'a>(body: &'a [u8], charset: Option<&str>) -> Result<Cow<'a, str>, String> {
    let (encoding, rest) = match Encoding::for_bom(body) {
        Some((encoding, bom)) => (encoding, &body[bom..]),
        None => (named_or_sniffed(body, charset), body),
    };
    encoding
        .decode_without_bom_handling_and_without_replacement(rest)
        .ok_or_else(|| format!("The request body is not valid {}.", encoding.name()))
}

fn named_or_sniffed(body: &[u8], charset: Option<&str>) -> &'static Encoding {
    let sniffed = match body {
        [0, b, ..] if *b != 0 => Some(UTF_16BE),
        [b, 0, ..] if *b != 0 => Some(UTF_16LE),
        _ => None,
    };
    let named = charset.and_then(|c| Encoding::for_label(c.as_bytes()));
    match named {
        // Plain "utf-16" leaves the byte order open; .NET's default is little-endian.
        Some(e)
            if e == UTF_16LE
                && charset.is_some_and(|c| !c.to_ascii_lowercase().ends_with("le")) =>
        {
            sniffed.unwrap_or(UTF_16LE)
        }
        Some(e) if e == UTF_16LE || e == UTF_16BE => e,
        // Web API's JSON and XML formatters read UTF-8 and UTF-16 only; another charset falls
        // back to UTF-8, as they did.
        _ => sniffed.unwrap_or(UTF_8),
    }
}

/// Parses a JSON body (already text) into a [`Doc`].
pub fn json(text: &str) -> Result<Doc, String> {
    if text.trim().is_empty() {
        return Err("The request body is empty.".into());
    }
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| {
        format!(
            "The request body is not valid JSON (line {}, column {}).",
            e.line(),
            e.column()
        )
    })?;
    match json_value(raw, 0)? {
        Value::Object(doc) => Ok(doc),
        _ => Err("The request body must be a JSON object.".into()),
    }
}

/// One already validated JSON value (each container is read again by its own level; the
/// depth bound keeps that linear in the body's size).
fn json_value(raw: &RawValue, depth: usize) -> Result<Value, String> {
    let text = raw.get().trim();
    let reread = |e: serde_json::Error| format!("The request body is not valid JSON ({e}).");
    match text.as_bytes().first() {
        Some(b'{' | b'[') if depth >= MAX_JSON_DEPTH => {
            Err("The JSON body is nested too deeply.".into())
        }
        Some(b'{') => {
            let Entries(entries) = serde_json::from_str(text).map_err(reread)?;
            let mut doc = Doc::new();
            for (name, value) in entries {
                doc.push(name, json_value(value, depth + 1)?);
            }
            Ok(Value::Object(doc))
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(reread)?;
            let items = items
                .into_iter()
                .map(|item| json_value(item, depth + 1))
                .collect::<Result<_, _>>()?;
            Ok(Value::List(items))
        }
        Some(b'"') => Ok(Value::Text(serde_json::from_str(text).map_err(reread)?)),
        Some(b't') => Ok(Value::Bool(true)),
        Some(b'f') => Ok(Value::Bool(false)),
        Some(b'n') => Ok(Value::Null),
        // serde_json has checked it is a number: its exact text.
        _ => Ok(Value::Number(text.to_owned())),
    }
}

/// An object's members in document order, repeated names included.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(doc: &Doc, name: &str) -> Option<String> {
        match doc.get(name) {
            Some(Value::Text(s)) | Some(Value::Number(s)) => Some(s.clone()),
            _ => None,
        }
    }

    #[test]
    fn numbers_keep_their_text() {
        let doc = json(r#"{"A": 12345678901234567890123, "B": 1.50, "C": -1E+3, "D": 7}"#).unwrap();
        assert_eq!(text_of(&doc, "A").unwrap(), "12345678901234567890123");
        assert_eq!(text_of(&doc, "B").unwrap(), "1.50");
        assert_eq!(text_of(&doc, "C").unwrap(), "-1E+3");
        assert_eq!(text_of(&doc, "D").unwrap(), "7");
    }

    #[test]
    fn repeated_names_last_wins_in_document_order() {
        let doc = json(r#"{"description": "y", "Description": "x"}"#).unwrap();
        assert_eq!(text_of(&doc, "DESCRIPTION").unwrap(), "x");
        let doc = json(r#"{"a": 1, "A": 2, "a": 3}"#).unwrap();
        assert_eq!(text_of(&doc, "a").unwrap(), "3");
        assert_eq!(doc.entries().count(), 3);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert!(json(&deep).unwrap_err().contains("nested too deeply"));
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(10), "]".repeat(10));
        assert!(json(&ok).is_ok());
    }

    #[test]
    fn refusals() {
        assert!(json("").unwrap_err().contains("empty"));
        assert!(json("[1]").unwrap_err().contains("object"));
        assert!(json("{\"a\":1} x").unwrap_err().contains("line 1"));
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if big_endian {
                [0xFE, 0xFF]
            } else {
                [0xFF, 0xFE]
            });
        }
        for unit in text.encode_utf16() {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn encodings() {
        let body = r#"{"Name":"Zoë"}"#;
        let mut with_bom = vec![0xEF, 0xBB, 0xBF];
        with_bom.extend(body.as_bytes());
        for (bytes, charset) in [
            (body.as_bytes().to_vec(), None),
            (with_bom, None),
            (utf16(body, false, true), None),
            (utf16(body, true, true), None),
            (utf16(body, false, false), Some("utf-16")),
            (utf16(body, true, false), Some("utf-16")),
            (utf16(body, true, false), Some("UTF-16BE")),
            (utf16(body, false, false), None),
            (body.as_bytes().to_vec(), Some("iso-8859-1")),
        ] {
            let text = decode(&bytes, charset).unwrap();
            assert_eq!(text, body, "{charset:?} {bytes:?}");
        }
        assert!(decode(&[0xFF, 0xFE, 0x41], None).is_err(), "odd UTF-16");
        assert!(decode(b"\xff", None).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn media_types() {
        assert!(matches!(read(None, b"{}"), Err(BodyError::Unsupported(_))));
        assert!(matches!(
            read(Some("text/plain"), b"{}"),
            Err(BodyError::Unsupported(_))
        ));
        let xml = utf16("<S><Name>Zoë</Name></S>", false, false);
        let doc = read(Some("application/xml; charset=\"utf-16\""), &xml).unwrap();
        assert_eq!(text_of(&doc, "name").unwrap(), "Zoë");
        let doc = read(Some("application/x-www-form-urlencoded"), b"Name=Zo%C3%AB").unwrap();
        assert_eq!(text_of(&doc, "name").unwrap(), "Zoë");
    }
}
