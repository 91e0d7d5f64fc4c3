//! Texts over SMPP 3.4: the session with the SMSC ([`session`]), a message's bytes
//! ([`encoding`]: GSM 03.38 or UCS-2, concatenated), and what the SMSC sends back
//! ([`inbound`]: delivery receipts, mobile-originated `STOP`).

pub mod encoding;
pub mod inbound;
pub mod numbers;
pub mod sender;
pub mod session;
pub mod text;

pub use encoding::{encode, Coding, Encoded};
pub use inbound::Inbound;
pub use sender::SmsSender;
pub use session::{Session, SessionOptions, SubmitError, Submitted};

use std::time::Duration;

use crate::domain::phone::E164;
use crate::live_settings::Snapshot;

/// Whether texts can go out, in one sentence for people (the Settings page).
pub fn describe_status(settings: &Snapshot) -> (bool, String) {
    match &settings.sms {
        Ok(Some(smsc)) => (
            true,
            format!(
                "Texts go through the SMSC at {}:{} as {}{}.",
                smsc.host,
                smsc.port,
                smsc.system_id,
                if smsc.tls { " over TLS" } else { "" }
            ),
        ),
        Ok(None) => (
            false,
            "No SMS gateway is configured, so the SMS channel is off: no texts are queued and \
             nobody is texted (set one with --sms-url, HERALD_SMS_URL or the Settings page)."
                .to_owned(),
        ),
        Err(e) => (false, format!("{e} Nobody is texted until this is fixed.")),
    }
}

/// Sends the Settings page's test text to `to` with the current settings over a session of
/// its own, and returns what the SMSC answered, or why it failed.
pub async fn send_test(settings: &Snapshot, to: &str) -> Result<String, String> {
    let smsc = settings
        .sms
        .clone()?
        .ok_or_else(|| "No SMS gateway is configured: set the SMS gateway URL first.".to_owned())?;
    let number = E164::normalise(to, settings.sms_default_country)?;
    let (session, _) = Session::start(
        smsc,
        SessionOptions {
            window: 1,
            bind_timeout: Duration::from_secs(5),
            wait_for_bind: Duration::from_secs(6),
            ..SessionOptions::default()
        },
    );
    let text = encode(
        "This is a test message from Herald: texts reach this number.",
        "",
        rand::random(),
    );
    let result = session.submit(&number, &text).await;
    session.close();
    match result {
        Ok(ids) => Ok(format!(
            "the SMSC accepted it for {number} as message {}",
            ids.join(", ")
        )),
        Err(e) => Err(e.to_string()),
    }
}
