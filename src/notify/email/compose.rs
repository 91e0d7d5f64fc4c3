//! A notification's bytes as they go over SMTP, written directly rather than through lettre's
//! message builder.
//!
//! Fan-out sends one event to many recipients: the sender, subject and MIME layout are the
//! same for all of them, so they are encoded once per batch ([`Layout`]); each recipient's
//! message is its few own headers (To, Date, Message-ID, In-Reply-To, References) and its two
//! rendered bodies, written into one buffer. lettre's builder parses and re-encodes every
//! header and copies each body several times, which was a fifth of the CPU of a fan-out.
//!
//! Headers that may need RFC 2047 encoding or folding (sender, subject, and recipients whose
//! names are not plain words) are still encoded by lettre; bodies go out as `7bit` when they
//! are ASCII with short lines (what the templates produce), and otherwise through lettre's
//! [`Body`], which picks quoted-printable or base64 as it would in its own builder.

use std::fmt::Write as _;

use email_encoding::headers::rfc2047;
use email_encoding::headers::writer::EmailWriter;
use lettre::address::Envelope;
use lettre::message::header::{self, Header, Headers};
use lettre::message::{Body, Mailbox, Mailboxes};
use lettre::Address;
use rand::distributions::{Alphanumeric, DistString};

/// A message ready for SMTP: who it goes to, and its bytes (CRLF line ends, not yet
/// dot-stuffed).
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

impl RawMessage {
    /// A message built by lettre's builder (the Settings page's test email).
    pub fn from_lettre(message: &lettre::Message) -> RawMessage {
        RawMessage {
            envelope: message.envelope().clone(),
            bytes: message.formatted(),
        }
    }
}

/// One recipient's part of a message.
pub struct Recipient<'a> {
    pub name: &'a str,
    pub address: &'a Address,
    pub message_id: &'a str,
    /// The thread's first message, when this is a later one (In-Reply-To and References).
    pub in_reply_to: Option<&'a str>,
    /// The one-click unsubscribe URL (RFC 8058): `List-Unsubscribe` and
    /// `List-Unsubscribe-Post` when there is one.
    pub unsubscribe: Option<&'a str>,
}

/// What every recipient's message of one event shares: the sender and subject headers,
/// encoded, and the multipart boundary.
#[derive(Debug, Clone)]
pub struct Layout {
    from: Address,
    /// `From: …\r\nSubject: …\r\n`, encoded and folded.
    shared_headers: String,
    boundary: String,
    /// A calendar part (`text/calendar; method=…`), for planned work: (method, text).
    calendar: Option<(&'static str, String)>,
}

impl Layout {
    pub fn new(from: &Mailbox, subject: &str) -> Layout {
        let mut shared_headers = encode(header::From::from(Mailboxes::from(from.clone())));
        shared_headers.push_str(&encode(header::Subject::from(subject.to_owned())));
        Layout {
            from: from.email.clone(),
            shared_headers,
            // Like lettre's: 40 random letters and digits, which never occur in a 7bit or
            // quoted-printable or base64 part by chance.
            boundary: Alphanumeric.sample_string(&mut rand::thread_rng(), 40),
            calendar: None,
        }
    }

    /// Adds an iCalendar part (RFC 6047: `text/calendar; method=REQUEST` beside the text
    /// and HTML, which calendar-aware clients show as an invitation) to every message.
    pub fn with_calendar(mut self, method: &'static str, text: String) -> Layout {
        self.calendar = Some((method, text));
        self
    }

    /// The `multipart/alternative` message (plain text, then HTML) to one recipient.
    pub fn message(&self, to: &Recipient<'_>, text: &str, html: &str) -> RawMessage {
        let mut out = String::with_capacity(text.len() + html.len() + 1024);
        out.push_str(&self.shared_headers);
        push_to(&mut out, to.name, to.address);
        let _ = write!(
            out,
            "Date: {}\r\nMessage-ID: {}\r\n",
            chrono::Utc::now().to_rfc2822(),
            to.message_id
        );
        if let Some(root) = to.in_reply_to {
            let _ = write!(out, "In-Reply-To: {root}\r\nReferences: {root}\r\n");
        }
        if let Some(url) = to.unsubscribe {
            // Folded before the URL, so the line stays short unless the URL itself is long
            // (a URL is never broken: RFC 2369 asks for it whole).
            let _ = write!(
                out,
                "List-Unsubscribe:\r\n <{url}>\r\n\
                 List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            );
        }
        let _ = write!(
            out,
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n \
             boundary=\"{}\"\r\n\r\n",
            self.boundary
        );
        for (kind, body) in [("plain", text), ("html", html)] {
            let _ = write!(
                out,
                "--{}\r\nContent-Type: text/{kind}; charset=utf-8\r\n",
                self.boundary
            );
            push_part(&mut out, body);
        }
        if let Some((method, calendar)) = &self.calendar {
            let _ = write!(
                out,
                "--{}\r\nContent-Type: text/calendar; charset=utf-8; method={method}\r\n",
                self.boundary
            );
            push_part(&mut out, calendar);
        }
        let _ = write!(out, "--{}--\r\n", self.boundary);
        RawMessage {
            envelope: Envelope::new(Some(self.from.clone()), vec![to.address.clone()])
                .expect("one recipient"),
            bytes: out.into_bytes(),
        }
    }
}

/// One header as lettre encodes it: `Name: value\r\n`, RFC 2047 words and folding included.
fn encode<H: Header>(h: H) -> String {
    let mut headers = Headers::new();
    headers.set(h);
    headers.to_string()
}

/// The `To:` header. A name of plain words (letters, digits, spaces and the other characters
/// an RFC 5322 atom allows) needs no quoting or encoding; a name holding `=?` is encoded
/// whole; anything else is lettre's to encode.
fn push_to(out: &mut String, name: &str, address: &Address) {
    let plain_word = |c: char| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c);
    let email: &str = address.as_ref();
    let plain = !name.trim().is_empty()
        && name.trim() == name
        && name.chars().all(plain_word)
        && name.len() + email.len() < 70
        && email.is_ascii();
    if name.contains("=?") {
        // It looks like an RFC 2047 encoded word, which lettre would copy as it is and mail
        // clients would decode into something else: as an encoded word itself, it reads back
        // as written.
        out.push_str("To: ");
        {
            let mut words = EmailWriter::new(out, "To: ".len(), 0, false);
            rfc2047::encode(name, &mut words).expect("writing to a String cannot fail");
        }
        let _ = write!(out, "\r\n <{address}>\r\n");
    } else if plain {
        let _ = write!(out, "To: {name} <{address}>\r\n");
    } else {
        let mailbox = Mailbox::new(Some(name.to_owned()), address.clone());
        out.push_str(&encode(header::To::from(Mailboxes::from(mailbox))));
    }
}

/// The longest line a `7bit` part may have, without its line end (RFC 2045 section 2.7,
/// RFC 5322's limit of 998 characters).
const SEVEN_BIT_LINE: usize = 998;

/// Appends `body` as it can go out unencoded (`7bit`), every bare LF made CRLF, when it is
/// ASCII with no line over [`SEVEN_BIT_LINE`]; otherwise appends nothing and returns `false`.
/// Lines over the 78 characters RFC 5322 recommends are allowed: a personal link with its
/// `href` is longer than that with any public URL, and quoted-printable (lettre's rule from
/// 76) made every English message encode its whole body again, about a tenth of the fan-out's
/// CPU time (BENCHMARKS.md). One pass over the bytes (`memchr` finds the line ends): checking
/// and converting in separate passes, by `char`, was a tenth of a fan-out's CPU again.
fn push_seven_bit(out: &mut String, body: &str) -> bool {
    if !body.is_ascii() {
        return false;
    }
    let mark = out.len();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', body.as_bytes()) {
        let line = &body[start..end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > SEVEN_BIT_LINE {
            out.truncate(mark);
            return false;
        }
        out.push_str(line);
        out.push_str("\r\n");
        start = end + 1;
    }
    if body.len() - start > SEVEN_BIT_LINE {
        out.truncate(mark);
        return false;
    }
    out.push_str(&body[start..]);
    true
}

/// A part's `Content-Transfer-Encoding` header, a blank line, the body and a line end.
fn push_part(out: &mut String, body: &str) {
    const SEVEN_BIT: &str = "Content-Transfer-Encoding: 7bit\r\n\r\n";
    out.push_str(SEVEN_BIT);
    if !push_seven_bit(out, body) {
        out.truncate(out.len() - SEVEN_BIT.len());
        // Not ASCII, or lines too long for 7bit: quoted-printable or base64, as lettre picks.
        let encoded = Body::new(body.to_owned());
        let _ = write!(
            out,
            "Content-Transfer-Encoding: {}\r\n\r\n",
            encoded.encoding()
        );
        // Both encodings are ASCII.
        out.push_str(&String::from_utf8_lossy(encoded.as_ref()));
    }
    // The line end before the next boundary belongs to the boundary (RFC 2046).
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new(
            &"Status Désk <status@example.com>".parse().unwrap(),
            "New disruption: Mail – down",
        )
    }

    fn send(name: &str, text: &str, html: &str, reply: Option<&str>) -> String {
        let address: Address = "ann@example.org".parse().unwrap();
        let m = layout().message(
            &Recipient {
                name,
                address: &address,
                message_id: "<herald.t1.e2.ab@example.com>",
                in_reply_to: reply,
                unsubscribe: Some("https://status.example.com/unsubscribe/0123456789abcdef"),
            },
            text,
            html,
        );
        assert_eq!(m.envelope.to(), [address]);
        assert_eq!(
            m.envelope.from().map(|a| a.to_string()).as_deref(),
            Some("status@example.com")
        );
        let s = String::from_utf8(m.bytes).unwrap();
        assert!(s.is_ascii(), "{s}");
        // Headers folded to 78 characters; body lines within 7bit's limit.
        let (headers, _) = s.split_once("\r\n\r\n").unwrap();
        assert!(headers.split("\r\n").all(|l| l.len() <= 78), "{s}");
        assert!(
            s.split("\r\n")
                .all(|l| l.len() <= SEVEN_BIT_LINE && !l.contains('\n')),
            "{s}"
        );
        s
    }

    #[test]
    fn plain_messages_parse_with_every_header() {
        let s = send(
            "Ann Lee",
            "Hello Ann Lee,\nline two\n",
            "<p>Hello Ann Lee,</p>\n",
            Some("<herald.t1.ab@example.com>"),
        );
        let m = mail_parser::MessageParser::default()
            .parse(s.as_bytes())
            .unwrap();
        assert_eq!(m.subject(), Some("New disruption: Mail – down"));
        let from = m.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Status Désk"));
        let to = m.to().unwrap().first().unwrap();
        assert_eq!(
            (to.name(), to.address()),
            (Some("Ann Lee"), Some("ann@example.org"))
        );
        assert_eq!(m.message_id(), Some("herald.t1.e2.ab@example.com"));
        assert_eq!(m.in_reply_to().as_text(), Some("herald.t1.ab@example.com"));
        assert_eq!(m.references().as_text(), Some("herald.t1.ab@example.com"));
        assert!(m.header("List-Unsubscribe").is_some());
        assert!(s.contains(
            "\r\nList-Unsubscribe:\r\n <https://status.example.com/unsubscribe/0123456789abcdef>\r\n\
             List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        ));
        assert!(m.date().is_some());
        assert_eq!(
            m.body_text(0).unwrap().replace("\r\n", "\n"),
            "Hello Ann Lee,\nline two\n"
        );
        assert_eq!(
            m.body_html(0).unwrap().replace("\r\n", "\n"),
            "<p>Hello Ann Lee,</p>\n"
        );
        assert!(s.contains("Content-Transfer-Encoding: 7bit"));
        assert!(!s.contains("In-Reply-To") || s.contains("References"));
    }

    #[test]
    fn long_ascii_lines_go_out_as_they_are_up_to_the_limit() {
        let link = format!(
            "<a href=\"https://status.example.com/my/{}\">",
            "a".repeat(40)
        );
        for (line, seven_bit) in [
            (link, true),
            ("x".repeat(SEVEN_BIT_LINE), true),
            ("x".repeat(SEVEN_BIT_LINE + 1), false),
        ] {
            let s = send(
                "Ann Lee",
                &format!("Hello,\n{line}\n"),
                &format!("{line}\n"),
                None,
            );
            assert_eq!(
                s.contains("Content-Transfer-Encoding: 7bit"),
                seven_bit,
                "{}",
                line.len()
            );
            assert!(s.split("\r\n").all(|l| l.len() <= SEVEN_BIT_LINE));
            let m = mail_parser::MessageParser::default()
                .parse(s.as_bytes())
                .unwrap();
            assert_eq!(
                m.body_text(0).unwrap().replace("\r\n", "\n"),
                format!("Hello,\n{line}\n")
            );
            assert_eq!(
                m.body_html(0).unwrap().replace("\r\n", "\n"),
                format!("{line}\n")
            );
        }
    }

    #[test]
    fn unusual_names_and_bodies_are_encoded() {
        let long = "x".repeat(200);
        let s = send(
            "Zoë \"Z\" O'Brien, Jr.",
            &format!("Hallo Zoë,\n{long}\n"),
            "<p>Grüße</p>",
            None,
        );
        let m = mail_parser::MessageParser::default()
            .parse(s.as_bytes())
            .unwrap();
        let to = m.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some("Zoë \"Z\" O'Brien, Jr."));
        assert_eq!(to.address(), Some("ann@example.org"));
        assert_eq!(
            m.body_text(0).unwrap().replace("\r\n", "\n"),
            format!("Hallo Zoë,\n{long}\n")
        );
        assert_eq!(m.body_html(0).unwrap(), "<p>Grüße</p>");
        assert!(!s.contains("In-Reply-To"));
        assert!(!s.contains("7bit"), "{s}");
    }

    #[test]
    fn names_that_look_like_encoded_words_read_back_as_written() {
        for name in [
            "=?utf-8?B?QWRtaW4=?=".to_owned(),
            "Ann =?utf-8?q?Support?= Lee".to_owned(),
            format!("=?x?q?{}?=", "long".repeat(30)),
        ] {
            let s = send(&name, "Hello\n", "<p>Hello</p>", None);
            let m = mail_parser::MessageParser::default()
                .parse(s.as_bytes())
                .unwrap();
            let to = m.to().unwrap().first().unwrap();
            assert_eq!(to.name(), Some(name.as_str()), "{s}");
            assert_eq!(to.address(), Some("ann@example.org"));
        }
    }

    #[test]
    fn bare_and_crlf_line_ends_become_crlf() {
        let mut out = String::from("x");
        assert!(push_seven_bit(&mut out, "a\nb\r\nc\n\nd"));
        assert_eq!(out, "xa\r\nb\r\nc\r\n\r\nd");
        for refused in ["é\n", &format!("a\n{}\nb", "x".repeat(SEVEN_BIT_LINE + 1))] {
            assert!(!push_seven_bit(&mut out, refused));
            assert_eq!(out, "xa\r\nb\r\nc\r\n\r\nd", "nothing appended");
        }
        assert!(push_seven_bit(&mut out, &"x".repeat(SEVEN_BIT_LINE)));
        assert!(!push_seven_bit(&mut out, &"x".repeat(SEVEN_BIT_LINE + 1)));
    }
}
