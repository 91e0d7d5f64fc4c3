//! What can go wrong: the server's answers as typed variants carrying its `Message` and
//! `ModelState`, and the failures around them (transport, an unreadable response).

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::Reader;
use serde::Deserialize;

/// Field errors of a 400: `"ticket.StartTime" -> ["…"]`.
pub type ModelState = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request is invalid; `model_state` names each bad field (`ticket.EndTime`).
    #[error("bad request: {message}")]
    BadRequest {
        message: String,
        model_state: ModelState,
    },
    /// 401: no API key, or a wrong one.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 404: no such entity (or path).
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: the change would break a rule (deleting the last administrator).
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412: the entity changed since its ETag was read.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// Any other status the server answered with (413, 415, 503, …).
    #[error("HTTP {status}: {message}")]
    Status { status: u16, message: String },
    /// The request could not be sent or the response not received.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server answered something this client cannot read.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The base URL given to [`crate::Client::new`] is not a usable http(s) URL.
    #[error("invalid base URL: {0}")]
    BaseUrl(String),
}

impl Error {
    /// The HTTP status of a server-side error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::BadRequest { .. } => Some(400),
            Error::Unauthorized(_) => Some(401),
            Error::NotFound(_) => Some(404),
            Error::Conflict(_) => Some(409),
            Error::PreconditionFailed(_) => Some(412),
            Error::Status { status, .. } => Some(*status),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            Error::Decode(_) | Error::BaseUrl(_) => None,
        }
    }

    /// The messages about one field of a 400 (`"ticket.EndTime"`), empty for other errors.
    pub fn field_errors(&self, key: &str) -> &[String] {
        match self {
            Error::BadRequest { model_state, .. } => {
                model_state.get(key).map(Vec::as_slice).unwrap_or(&[])
            }
            _ => &[],
        }
    }

    /// Builds the error for a non-success response from its status and body.
    pub(crate) fn from_response(status: u16, body: &str) -> Error {
        let (message, model_state) = parse_body(body)
            .unwrap_or_else(|| (body.chars().take(200).collect(), ModelState::new()));
        match status {
            400 => Error::BadRequest {
                message,
                model_state,
            },
            401 => Error::Unauthorized(message),
            404 => Error::NotFound(message),
            409 => Error::Conflict(message),
            412 => Error::PreconditionFailed(message),
            status => Error::Status { status, message },
        }
    }
}

/// `{"Message": …, "ModelState": {…}}` or `<Error><Message>…</Message><ModelState>…`.
fn parse_body(body: &str) -> Option<(String, ModelState)> {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Body {
            message: String,
            #[serde(default)]
            model_state: ModelState,
        }
        let b: Body = serde_json::from_str(body).ok()?;
        Some((b.message, b.model_state))
    } else if trimmed.starts_with('<') {
        parse_xml_error(body)
    } else {
        None
    }
}

fn parse_xml_error(body: &str) -> Option<(String, ModelState)> {
    let mut reader = Reader::from_str(body);
    let mut path: Vec<String> = Vec::new();
    let mut message = None;
    let mut model_state = ModelState::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let text = t.unescape().ok()?.into_owned();
                match path.as_slice() {
                    [root, m] if root == "Error" && m == "Message" => message = Some(text),
                    [root, ms, key] if root == "Error" && ms == "ModelState" => {
                        model_state
                            .entry(decode_local_name(key))
                            .or_default()
                            .push(text);
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some((message?, model_state))
}

/// Undoes .NET's `XmlConvert.EncodeLocalName` (`Services_x005B_0_x005D_` → `Services[0]`).
fn decode_local_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(pos) = rest.find("_x") {
        out.push_str(&rest[..pos]);
        let candidate = &rest[pos..];
        let decoded = candidate
            .get(2..6)
            .filter(|_| candidate.as_bytes().get(6) == Some(&b'_'))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32);
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &candidate[7..];
            }
            None => {
                out.push_str("_x");
                rest = &candidate[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_xml_error_bodies() {
        let e = Error::from_response(
            400,
            r#"{"Message":"The request is invalid.","ModelState":{"ticket.EndTime":["too early"]}}"#,
        );
        assert_eq!(e.field_errors("ticket.EndTime"), ["too early"]);
        let e = Error::from_response(
            400,
            "<Error><Message>The request is invalid.</Message><ModelState><customer.Services_x005B_0_x005D_.Id>bad &amp; wrong</customer.Services_x005B_0_x005D_.Id></ModelState></Error>",
        );
        assert!(
            matches!(&e, Error::BadRequest { message, .. } if message == "The request is invalid.")
        );
        assert_eq!(e.field_errors("customer.Services[0].Id"), ["bad & wrong"]);
        let e = Error::from_response(
            404,
            "<Error><Message>No Ticket with Id 9 was found.</Message></Error>",
        );
        assert!(matches!(e, Error::NotFound(m) if m.contains("Id 9")));
        let e = Error::from_response(502, "Bad gateway");
        assert!(matches!(e, Error::Status { status: 502, message } if message == "Bad gateway"));
    }
}
