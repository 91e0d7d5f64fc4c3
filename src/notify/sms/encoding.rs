//! A text message's bytes: GSM 03.38 (the 7-bit default alphabet, one septet per octet as SMPP
//! carries it with `data_coding` 0) when every character has a place in it, UCS-2 (`data_coding`
//! 8, UTF-16 big-endian) otherwise; split into at most [`MAX_SEGMENTS`] segments with a
//! concatenation header (UDH, IEI 0x00) when it does not fit in one.
//!
//! Hand-written: no maintained crate encodes GSM 03.38 with its extension table and splits
//! concatenated messages without cutting an escape sequence or a surrogate pair; the tables
//! are short and the tests below (and the test SMSC's own decoder) check them.

/// The most segments one message is sent in; longer texts are shortened.
pub const MAX_SEGMENTS: usize = 3;

/// The alphabet a message is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// GSM 03.38, `data_coding` 0.
    Gsm7,
    /// UCS-2 (UTF-16BE), `data_coding` 8.
    Ucs2,
}

impl Coding {
    pub fn data_coding(self) -> u8 {
        match self {
            Coding::Gsm7 => 0x00,
            Coding::Ucs2 => 0x08,
        }
    }

    /// Units (septets or UTF-16 code units) in a message of one segment, and in each segment
    /// of a concatenated one (the 6-octet header takes the rest).
    fn capacity(self) -> (usize, usize) {
        match self {
            Coding::Gsm7 => (160, 153),
            Coding::Ucs2 => (70, 67),
        }
    }

    fn ellipsis(self) -> &'static str {
        match self {
            Coding::Gsm7 => "...",
            Coding::Ucs2 => "\u{2026}",
        }
    }
}

/// A message ready for `submit_sm`: each part's `short_message` (header included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub coding: Coding,
    pub parts: Vec<Vec<u8>>,
    /// The parts carry a UDH (`esm_class` 0x40).
    pub concatenated: bool,
    /// The text was shortened to fit.
    pub truncated: bool,
}

impl Encoded {
    /// The same message with concatenation reference `reference` (a message encoded once
    /// per text, sent to many numbers, each with its own reference).
    pub fn with_reference(&self, reference: u8) -> Encoded {
        let mut encoded = self.clone();
        if encoded.concatenated {
            for part in &mut encoded.parts {
                part[3] = reference;
            }
        }
        encoded
    }

    pub fn esm_class(&self) -> u8 {
        if self.concatenated {
            0x40
        } else {
            0x00
        }
    }
}

/// The GSM 03.38 default alphabet, by code (0x1B, the escape, never maps a character).
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table, reached through the escape 0x1B.
const EXTENSION: [(char, u8); 10] = [
    ('\u{0C}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

const ESCAPE: u8 = 0x1B;

/// A character's septets in GSM 03.38, if it has a place there.
fn gsm(c: char) -> Option<Vec<u8>> {
    if c != '\u{1B}' {
        if let Some(code) = BASIC.iter().position(|&b| b == c) {
            return Some(vec![code as u8]);
        }
    }
    EXTENSION
        .iter()
        .find(|(e, _)| *e == c)
        .map(|(_, code)| vec![ESCAPE, *code])
}

/// Decodes GSM 03.38 septets (one per octet), for mobile-originated messages.
pub fn decode_gsm(septets: &[u8]) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for &s in septets {
        let s = s & 0x7F;
        if escaped {
            escaped = false;
            match EXTENSION.iter().find(|(_, code)| *code == s) {
                Some((c, _)) => out.push(*c),
                None => out.push(BASIC[usize::from(s)]),
            }
        } else if s == ESCAPE {
            escaped = true;
        } else {
            out.push(BASIC[usize::from(s)]);
        }
    }
    out
}

/// Decodes UCS-2 / UTF-16BE, for mobile-originated messages.
pub fn decode_ucs2(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Each character's units in `coding` (one group per character, never split).
fn units(text: &str, coding: Coding) -> Vec<Vec<u8>> {
    match coding {
        Coding::Gsm7 => text.chars().filter_map(gsm).collect(),
        Coding::Ucs2 => text
            .chars()
            .map(|c| {
                let mut buf = [0u16; 2];
                c.encode_utf16(&mut buf)
                    .iter()
                    .flat_map(|u| u.to_be_bytes())
                    .collect()
            })
            .collect(),
    }
}

/// How many capacity units a group takes: septets for GSM, code units for UCS-2.
fn weight(group: &[u8], coding: Coding) -> usize {
    match coding {
        Coding::Gsm7 => group.len(),
        Coding::Ucs2 => group.len() / 2,
    }
}

fn total(groups: &[Vec<u8>], coding: Coding) -> usize {
    groups.iter().map(|g| weight(g, coding)).sum()
}

/// Encodes `body` followed by `suffix` (a link, kept whole): if the whole text does not fit
/// in [`MAX_SEGMENTS`] segments, the body is shortened (at a space where one is near) and
/// ends with an ellipsis. `reference` is the concatenation reference shared by the parts.
pub fn encode(body: &str, suffix: &str, reference: u8) -> Encoded {
    let coding = if format!("{body}{suffix}").chars().all(|c| gsm(c).is_some()) {
        Coding::Gsm7
    } else {
        Coding::Ucs2
    };
    let (single, multi) = coding.capacity();
    let limit = multi * MAX_SEGMENTS;
    let mut groups = units(&format!("{body}{suffix}"), coding);
    let mut truncated = false;
    if total(&groups, coding) > limit {
        truncated = true;
        let tail = units(&format!("{}{suffix}", coding.ellipsis()), coding);
        let room = limit.saturating_sub(total(&tail, coding));
        let chars: Vec<char> = body.chars().collect();
        let mut used = 0;
        let mut keep = 0;
        for c in &chars {
            let w = weight(&units(&c.to_string(), coding)[0], coding);
            if used + w > room {
                break;
            }
            used += w;
            keep += 1;
        }
        // Cut at the last space when it is not far back, so no word is half shown.
        let cut = chars[..keep]
            .iter()
            .rposition(|c| c.is_whitespace())
            .filter(|&at| keep - at <= 20)
            .unwrap_or(keep);
        let shortened: String = chars[..cut].iter().collect();
        let text = format!("{}{}{suffix}", shortened.trim_end(), coding.ellipsis());
        groups = units(&text, coding);
    }
    if total(&groups, coding) <= single {
        return Encoded {
            coding,
            parts: vec![groups.concat()],
            concatenated: false,
            truncated,
        };
    }
    let mut segments: Vec<Vec<u8>> = vec![Vec::new()];
    let mut used = 0;
    for group in groups {
        let w = weight(&group, coding);
        if used + w > multi {
            segments.push(Vec::new());
            used = 0;
        }
        used += w;
        segments
            .last_mut()
            .expect("one segment at least")
            .extend(group);
    }
    let count = segments.len() as u8;
    let parts = segments
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let mut part = vec![0x05, 0x00, 0x03, reference, count, i as u8 + 1];
            part.extend(text);
            part
        })
        .collect();
    Encoded {
        coding,
        parts,
        concatenated: true,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_set_in_every_header_and_nothing_else_changes() {
        let long = "Maintenance of the mail cluster. ".repeat(8);
        let e = encode(&long, "", 7).with_reference(200);
        assert_eq!(e, encode(&long, "", 200));
        assert!(e.parts.iter().all(|p| p[3] == 200));
        let short = encode("Mail is down", "", 7);
        assert_eq!(short.with_reference(9), short, "one segment has no header");
    }

    fn text_of(e: &Encoded) -> String {
        e.parts
            .iter()
            .map(|p| {
                let body = if e.concatenated { &p[6..] } else { &p[..] };
                match e.coding {
                    Coding::Gsm7 => decode_gsm(body),
                    Coding::Ucs2 => decode_ucs2(body),
                }
            })
            .collect()
    }

    #[test]
    fn gsm_when_every_character_allows() {
        let e = encode("Outage: mail {EU} 50€ ^_^ [ok]", "", 1);
        assert_eq!(e.coding, Coding::Gsm7);
        assert_eq!(e.coding.data_coding(), 0);
        assert!(!e.concatenated);
        assert_eq!(text_of(&e), "Outage: mail {EU} 50€ ^_^ [ok]");
        // € is the escape then 0x65.
        assert!(e.parts[0].windows(2).any(|w| w == [0x1B, 0x65]));
        assert_eq!(encode("@", "", 1).parts[0], vec![0x00]);
    }

    #[test]
    fn ucs2_otherwise() {
        let e = encode("Störung: Rechenzentrum Łódź 🚧", "", 1);
        assert_eq!(e.coding, Coding::Ucs2);
        assert_eq!(e.coding.data_coding(), 8);
        assert_eq!(text_of(&e), "Störung: Rechenzentrum Łódź 🚧");
    }

    #[test]
    fn one_segment_up_to_its_capacity() {
        assert_eq!(encode(&"a".repeat(160), "", 1).parts.len(), 1);
        let e = encode(&"a".repeat(161), "", 7);
        assert_eq!(e.parts.len(), 2);
        assert_eq!(&e.parts[0][..6], &[5, 0, 3, 7, 2, 1]);
        assert_eq!(&e.parts[1][..6], &[5, 0, 3, 7, 2, 2]);
        assert_eq!(e.parts[0].len(), 6 + 153);
        assert_eq!(e.esm_class(), 0x40);
        assert_eq!(encode(&"ж".repeat(70), "", 1).parts.len(), 1);
        assert_eq!(encode(&"ж".repeat(71), "", 1).parts.len(), 2);
        // An escape sequence counts twice: 80 euros are 160 septets.
        assert_eq!(encode(&"€".repeat(80), "", 1).parts.len(), 1);
        assert_eq!(encode(&"€".repeat(81), "", 1).parts.len(), 2);
    }

    #[test]
    fn escapes_and_surrogates_are_never_split() {
        let e = encode(&format!("{}€{}", "a".repeat(152), "b".repeat(20)), "", 1);
        assert_eq!(
            e.parts[0].len(),
            6 + 152,
            "the euro moves to segment two whole"
        );
        assert_eq!(&e.parts[1][6..8], &[0x1B, 0x65]);
        let e = encode(&format!("{}🚧{}", "ж".repeat(66), "ж".repeat(10)), "", 1);
        assert_eq!(e.parts[0].len(), 6 + 66 * 2);
        assert_eq!(
            text_of(&e),
            format!("{}🚧{}", "ж".repeat(66), "ж".repeat(10))
        );
    }

    #[test]
    fn long_texts_are_shortened_to_three_segments_keeping_the_link() {
        let body = "word ".repeat(200);
        let link = " https://status.example.com/status/tickets/42";
        let e = encode(&body, link, 1);
        assert_eq!(e.parts.len(), MAX_SEGMENTS);
        assert!(e.truncated);
        let text = text_of(&e);
        assert!(text.ends_with(&format!("word...{link}")), "{text}");
        assert!(text.len() <= 3 * 153);
        let e = encode(&"ż".repeat(500), "", 1);
        assert_eq!(e.parts.len(), 3);
        assert!(text_of(&e).ends_with('…'));
        assert!(e.parts.iter().all(|p| p.len() <= 140));
        assert!(!encode("short", link, 1).truncated);
    }

    #[test]
    fn decoding_mobile_originated_text() {
        assert_eq!(decode_gsm(b"STOP"), "STOP");
        assert_eq!(decode_gsm(&[0x1B, 0x65, 0x00]), "€@");
        assert_eq!(decode_ucs2(&[0, b'S', 0, b't']), "St");
    }
}
