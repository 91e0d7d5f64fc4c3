//! What the SMSC sends Herald (`deliver_sm`): delivery receipts and mobile-originated texts.

use smpp34::{deliver_sm, TlvList};

use super::encoding::{decode_gsm, decode_ucs2};
use crate::domain::phone::E164;

/// One `deliver_sm`, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// The final state of a submitted message (intermediate receipts are not reported).
    Receipt {
        message_id: String,
        delivered: bool,
        /// The SMSC's word for it (`DELIVRD`, `UNDELIV`, `EXPIRED`, …).
        status: String,
    },
    /// A text from a phone.
    Mobile { from: E164, text: String },
}

impl Inbound {
    pub fn from_pdu(pdu: &deliver_sm) -> Option<Inbound> {
        // esm_class bits 2-5: 0x04 is an SMSC delivery receipt (SMPP 3.4 §5.2.12).
        if pdu.esm_class & 0x3C == 0x04 {
            return receipt(pdu);
        }
        let text = match pdu.data_coding {
            0x08 => decode_ucs2(&pdu.short_message),
            // 0x01 is IA5 (ASCII), 0x03 Latin-1; both read as Latin-1 for a keyword.
            0x01 | 0x03 => pdu.short_message.iter().map(|&b| char::from(b)).collect(),
            _ => decode_gsm(&pdu.short_message),
        };
        Some(Inbound::Mobile {
            from: E164::from_digits(&pdu.source_addr)?,
            text,
        })
    }

    /// A text asking for no more texts: `STOP`, in any case, alone (punctuation aside).
    pub fn is_stop(text: &str) -> bool {
        text.trim()
            .trim_matches(|c: char| c.is_ascii_punctuation())
            .eq_ignore_ascii_case("stop")
    }
}

/// `message_state` values (SMPP 3.4 §5.2.28) that are final.
fn final_state(state: u8) -> Option<(bool, &'static str)> {
    Some(match state {
        2 => (true, "DELIVRD"),
        3 => (false, "EXPIRED"),
        4 => (false, "DELETED"),
        5 => (false, "UNDELIV"),
        8 => (false, "REJECTD"),
        _ => return None,
    })
}

fn receipt(pdu: &deliver_sm) -> Option<Inbound> {
    let text = String::from_utf8_lossy(&pdu.short_message).into_owned();
    // The receipt's text (SMPP 3.4 Appendix B): `id:… sub:… dlvrd:… … stat:DELIVRD err:…`.
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name).map(str::to_owned))
    };
    let message_id = pdu
        .tlvs
        .receipted_message_id()
        .map(|id| id.trim_end_matches('\0').to_owned())
        .filter(|id| !id.is_empty())
        .or_else(|| field("id:"))?;
    let (delivered, status) = match pdu.tlvs.message_state().and_then(final_state) {
        Some((delivered, status)) => (delivered, status.to_owned()),
        None => {
            let stat = field("stat:")?.to_ascii_uppercase();
            match stat.as_str() {
                "DELIVRD" => (true, stat),
                "EXPIRED" | "DELETED" | "UNDELIV" | "REJECTD" | "UNKNOWN" => (false, stat),
                _ => return None,
            }
        }
    };
    Some(Inbound::Receipt {
        message_id,
        delivered,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_in_any_case() {
        for yes in ["STOP", "stop", " Stop. ", "sToP!"] {
            assert!(Inbound::is_stop(yes), "{yes}");
        }
        for no in ["STOPPED", "please stop it", "", "top"] {
            assert!(!Inbound::is_stop(no), "{no}");
        }
    }
}
