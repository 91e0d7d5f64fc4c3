//! Texts over SMPP 3.4: the session with the SMSC ([`session`]), a message's bytes
//! ([`encoding`]: GSM 03.38 or UCS-2, concatenated), and what the SMSC sends back
//! ([`inbound`]: delivery receipts, mobile-originated `STOP`).

pub mod encoding;
pub mod inbound;
pub mod session;

pub use encoding::{encode, Coding, Encoded};
pub use inbound::Inbound;
pub use session::{Session, SessionOptions, SubmitError};
