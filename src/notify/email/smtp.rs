//! SMTP connections to the mail server, pooled, with lettre's SMTP client on top.
//!
//! Why not lettre's pooled `AsyncSmtpTransport`: its sockets do not set `TCP_NODELAY`, and it
//! writes a message's body and the closing `.` in two writes, so every message waits for the
//! server's delayed ACK (about 40 ms on Linux): 25 messages per second per connection, whatever
//! the hardware. Herald opens the TCP connection itself with `TCP_NODELAY`, hands it to lettre's
//! [`AsyncSmtpConnection`] (EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA), and keeps idle connections
//! for reuse. Implicit TLS (`smtps://`) connections are opened by lettre itself, so they are
//! slower under load; STARTTLS is not.
//!
//! Each message's transaction is written here with lettre's public pieces (its commands,
//! `command` and `read_response`), because lettre 0.11's `send` makes every command its own
//! round trip (it has no PIPELINING, RFC 2920) and writes the closing `.` apart from the body.
//! Here a message costs two writes: `MAIL`, `RCPT` and `DATA` together when the server
//! advertises PIPELINING (one at a time otherwise), then the dot-stuffed body with its `.`.
//! Anything unusual (non-ASCII addresses or bytes, which need SMTPUTF8 or 8BITMIME) goes
//! through lettre's own `send`.

use std::fmt::{self, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::net::TcpStream;

pub use crate::config::smtp_url::{Security, Server};

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server could not be reached or the connection broke (refused, timeout, TLS): try
    /// again later, and not the other messages right now.
    Unreachable(String),
    /// A 4xx reply, or a reply that could not be read: try again later.
    Temporary(String),
    /// A 5xx reply, or a message this server can never take: do not try again.
    Permanent(String),
    /// The server refuses Herald's own settings (no AUTH offered, the login refused, STARTTLS
    /// required but not offered): not the recipient's fault, so the message waits until the
    /// settings change, and no attempt is counted.
    Configuration(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Unreachable(m)
            | SendError::Temporary(m)
            | SendError::Permanent(m)
            | SendError::Configuration(m) => m,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// How long one SMTP operation (connect, or a whole message) may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection idle for longer is checked with NOOP before it is used again.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);
/// A connection idle for longer is closed.
const MAX_IDLE: Duration = Duration::from_secs(60);

impl Server {
    fn hello(&self) -> ClientId {
        match &self.hello {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::default(),
        }
    }

    fn tls(&self) -> Result<TlsParameters, SendError> {
        TlsParameters::new(self.host.clone())
            .map_err(|e| SendError::Permanent(format!("TLS cannot be set up: {e}")))
    }

    /// A new connection: connected, greeted, secured and logged in. Before the first message
    /// nothing depends on a recipient, so what the server refuses then (the greeting, TLS, the
    /// login) is a [`SendError::Configuration`] problem.
    async fn connect(&self) -> Result<Conn, SendError> {
        self.open().await.map_err(|e| match e {
            SendError::Permanent(m) => SendError::Configuration(m),
            other => other,
        })
    }

    async fn open(&self) -> Result<Conn, SendError> {
        let hello = self.hello();
        let mut conn = match self.security {
            Security::Implicit => AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(SMTP_TIMEOUT),
                &hello,
                Some(self.tls()?),
                None,
            )
            .await
            .map_err(|e| classify(&e))?,
            Security::None | Security::StartTls { .. } => {
                let tcp = tokio::time::timeout(
                    SMTP_TIMEOUT,
                    TcpStream::connect((self.host.as_str(), self.port)),
                )
                .await
                .map_err(|_| {
                    SendError::Unreachable(format!(
                        "connecting to {}:{} timed out",
                        self.host, self.port
                    ))
                })?
                .map_err(|e| {
                    SendError::Unreachable(format!(
                        "could not connect to {}:{}: {e}",
                        self.host, self.port
                    ))
                })?;
                tcp.set_nodelay(true)
                    .map_err(|e| SendError::Unreachable(format!("socket: {e}")))?;
                let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
                    .await
                    .map_err(|e| classify(&e))?;
                if let Security::StartTls { required } = self.security {
                    if conn.can_starttls() {
                        conn.starttls(self.tls()?, &hello)
                            .await
                            .map_err(|e| classify(&e))?;
                    } else if required {
                        conn.abort().await;
                        return Err(SendError::Permanent(
                            "the mail server does not offer STARTTLS, which the URL requires \
                             (tls=required)"
                                .to_owned(),
                        ));
                    }
                }
                conn
            }
        };
        // lettre keeps only the extensions it knows from the EHLO reply, and PIPELINING is
        // not one of them: ask again (once per connection, before AUTH).
        let pipelining = match conn.command(Ehlo::new(hello)).await {
            Ok(reply) => reply.message().any(|line| {
                line.split_whitespace()
                    .next()
                    .is_some_and(|word| word.eq_ignore_ascii_case("PIPELINING"))
            }),
            Err(e) => {
                conn.abort().await;
                return Err(classify(&e));
            }
        };
        if let Some((user, password)) = &self.credentials {
            let credentials = Credentials::new(user.clone(), password.expose().clone());
            if let Err(e) = conn.auth(DEFAULT_MECHANISMS, &credentials).await {
                conn.abort().await;
                return Err(classify(&e));
            }
        }
        Ok(Conn {
            smtp: conn,
            pipelining,
            broken: false,
        })
    }
}

/// Classifies a lettre error: a reply code keeps the server's text (`451 4.3.0 Try later`).
pub fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let reply = || match (e.status(), std::error::Error::source(e)) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        _ => e.to_string(),
    };
    if e.is_permanent() {
        SendError::Permanent(reply())
    } else if e.is_transient() {
        SendError::Temporary(reply())
    } else if e.is_client() {
        SendError::Permanent(e.to_string())
    } else if e.is_response() {
        SendError::Temporary(e.to_string())
    } else {
        SendError::Unreachable(e.to_string())
    }
}

/// A reply as the server wrote it: `250 2.0.0 Ok: queued as 4Xyz`.
fn reply_text(response: &Response) -> String {
    let lines: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), lines.join(" "))
}

/// An open connection, and whether it can take more messages.
struct Conn {
    smtp: AsyncSmtpConnection,
    /// The server advertised PIPELINING (RFC 2920).
    pipelining: bool,
    /// A transaction failed on it (lettre's rule too): it is not reused.
    broken: bool,
}

impl Conn {
    fn reusable(&self) -> bool {
        !self.broken && !self.smtp.has_broken()
    }

    /// One message's transaction; `Ok` holds the reply to its data.
    async fn transaction(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Response, lettre::transport::smtp::Error> {
        let ascii = |a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii();
        let plain = envelope.from().is_none_or(ascii) && envelope.to().iter().all(ascii);
        let text = std::str::from_utf8(message)
            .ok()
            .filter(|t| plain && t.is_ascii());
        let Some(text) = text else {
            // SMTPUTF8 or 8BITMIME parameters: lettre's own transaction handles them.
            return self.smtp.send(envelope, message).await;
        };
        let result = self.envelope(envelope).await;
        let result = match result {
            Ok(()) => self.smtp.command(DataBlock(text)).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// `MAIL`, `RCPT` and `DATA`: in one write when pipelining, reading every reply even after
    /// a refusal (so that the replies stay in step); one at a time otherwise.
    async fn envelope(
        &mut self,
        envelope: &Envelope,
    ) -> Result<(), lettre::transport::smtp::Error> {
        let mail = Mail::new(envelope.from().cloned(), vec![]);
        let rcpts = envelope.to().iter().map(|to| Rcpt::new(to.clone(), vec![]));
        if !self.pipelining {
            self.smtp.command(mail).await?;
            for rcpt in rcpts {
                self.smtp.command(rcpt).await?;
            }
            self.smtp.command(Data).await?;
            return Ok(());
        }
        let mut group = mail.to_string();
        for rcpt in rcpts {
            let _ = write!(group, "{rcpt}");
        }
        let _ = write!(group, "{Data}");
        let mut first_error = match self.smtp.command(Group(&group)).await {
            Ok(_) => None,
            Err(e) if e.status().is_none() => return Err(e),
            Err(e) => Some(e),
        };
        for _ in 0..envelope.to().len() + 1 {
            match self.smtp.read_response().await {
                Ok(_) => {}
                // Without a reply code the connection itself failed: stop reading.
                Err(e) if e.status().is_none() => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // After a refusal the message is not sent, and the connection is dropped: a refused
        // RCPT leaves the MAIL transaction open, and a server at odds with RFC 2920 may even
        // have accepted the DATA that followed.
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Several commands written at once (lettre's `command` writes whatever it is given, then
/// reads one reply).
struct Group<'a>(&'a str);

impl fmt::Display for Group<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A message's data, dot-stuffed (RFC 5321 4.5.2), with the closing `.` line.
struct DataBlock<'a>(&'a str);

impl fmt::Display for DataBlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.starts_with('.') {
            f.write_char('.')?;
        }
        let mut start = 0;
        for (i, _) in text.match_indices('\n') {
            if text[i + 1..].starts_with('.') {
                f.write_str(&text[start..=i])?;
                f.write_char('.')?;
                start = i + 1;
            }
        }
        f.write_str(&text[start..])?;
        if text.is_empty() || text.ends_with("\r\n") {
            f.write_str(".\r\n")
        } else {
            f.write_str("\r\n.\r\n")
        }
    }
}

/// Open connections to one server, reused message after message.
pub struct Connections {
    server: Server,
    max_idle: usize,
    idle: Mutex<Vec<(Conn, Instant)>>,
}

impl Connections {
    pub fn new(server: Server, max_idle: usize) -> Connections {
        Connections {
            server,
            max_idle: max_idle.max(1),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take_idle(&self) -> Option<(Conn, Instant)> {
        let mut idle = self.idle.lock().expect("not poisoned");
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < MAX_IDLE {
                return Some((conn, since));
            }
            // Too old: dropped (the server has likely closed it already).
        }
        None
    }

    fn put_back(&self, conn: Conn) {
        if !conn.reusable() {
            return;
        }
        let mut idle = self.idle.lock().expect("not poisoned");
        if idle.len() < self.max_idle {
            idle.push((conn, Instant::now()));
        }
    }

    /// Sends one message; `Ok` holds the server's reply. A reused connection that turns out
    /// to be dead is replaced by a new one before the message counts as failed.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<String, SendError> {
        if let Some((mut conn, since)) = self.take_idle() {
            let alive = since.elapsed() < CHECK_AFTER_IDLE || conn.smtp.test_connected().await;
            if alive {
                match self.send_on(&mut conn, envelope, message).await {
                    Ok(reply) => {
                        self.put_back(conn);
                        return Ok(reply);
                    }
                    Err(SendError::Unreachable(_)) => {} // stale: try a new connection
                    Err(e) => {
                        self.put_back(conn);
                        return Err(e);
                    }
                }
            }
        }
        let mut conn = self.server.connect().await?;
        let result = self.send_on(&mut conn, envelope, message).await;
        self.put_back(conn);
        result
    }

    async fn send_on(
        &self,
        conn: &mut Conn,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<String, SendError> {
        match tokio::time::timeout(SMTP_TIMEOUT, conn.transaction(envelope, message)).await {
            Ok(Ok(response)) => Ok(reply_text(&response)),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => {
                conn.broken = true;
                conn.smtp.abort().await;
                Err(SendError::Unreachable(format!(
                    "the mail server did not answer within {} s",
                    SMTP_TIMEOUT.as_secs()
                )))
            }
        }
    }

    /// Says goodbye on every idle connection.
    pub async fn close(&self) {
        let idle: Vec<_> = std::mem::take(&mut *self.idle.lock().expect("not poisoned"));
        for (mut conn, _) in idle {
            let _ = conn.smtp.quit().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_and_closed() {
        let data = |s: &str| DataBlock(s).to_string();
        assert_eq!(data("a\r\nb\r\n"), "a\r\nb\r\n.\r\n");
        assert_eq!(data("a"), "a\r\n.\r\n");
        assert_eq!(
            data(".a\r\n..b\r\nc.\r\n.\r\n"),
            "..a\r\n...b\r\nc.\r\n..\r\n.\r\n"
        );
    }
}
