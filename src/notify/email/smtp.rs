//! SMTP connections to the mail server, each kept by its own task, with lettre's SMTP client
//! on top.
//!
//! Why not lettre's pooled `AsyncSmtpTransport`: its sockets do not set `TCP_NODELAY`, and it
//! writes a message's body and the closing `.` in two writes, so every message waits for the
//! server's delayed ACK (about 40 ms on Linux): 25 messages per second per connection, whatever
//! the hardware. Herald opens the TCP connection itself with `TCP_NODELAY`, hands it to lettre's
//! [`AsyncSmtpConnection`] (EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA), and keeps it for the next
//! messages. Implicit TLS (`smtps://`) connections are opened by lettre itself, so they are
//! slower under load; STARTTLS is not.
//!
//! Each message's transaction is written here with lettre's public pieces (its commands,
//! `command` and `read_response`), because lettre 0.11's `send` makes every command its own
//! round trip (it has no PIPELINING, RFC 2920) and writes the closing `.` apart from the body.
//! When the server advertises PIPELINING, `MAIL`, `RCPT` and `DATA` go in one write, and a
//! message's data with its `.` goes in one write together with the next waiting message's
//! `MAIL`, `RCPT` and `DATA` (RFC 2920 allows the data first in a group): messages queued on
//! a connection cost one round trip each. Without PIPELINING, one command at a time. Anything
//! unusual (non-ASCII addresses or bytes, which need SMTPUTF8 or 8BITMIME) goes through
//! lettre's own `send`.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

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

/// How long one SMTP operation (connecting, or one step of a message) may take.
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
            used: 0,
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
    /// Messages started on it.
    used: usize,
}

type SmtpResult<T> = Result<T, lettre::transport::smtp::Error>;

impl Conn {
    fn reusable(&self) -> bool {
        !self.broken && !self.smtp.has_broken()
    }

    /// One message's whole transaction, alone; `Ok` holds the reply to its data.
    async fn transaction(
        &mut self,
        envelope: &Envelope,
        message: &Message,
    ) -> SmtpResult<Response> {
        let result = match message {
            // SMTPUTF8 or 8BITMIME parameters: lettre's own transaction handles them.
            Message::Bytes(bytes) => self.smtp.send(envelope, bytes).await,
            Message::Text(text) => match self.envelope(envelope).await {
                Ok(Ok(())) => self.smtp.command(DataBlock(text)).await,
                Ok(Err(e)) | Err(e) => Err(e),
            },
        };
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// `MAIL`, `RCPT` and `DATA`: in one write when pipelining, one at a time otherwise. The
    /// outer `Err` is a broken connection; the inner one the server's refusal.
    async fn envelope(&mut self, envelope: &Envelope) -> SmtpResult<SmtpResult<()>> {
        if !self.pipelining {
            let mail = Mail::new(envelope.from().cloned(), vec![]);
            let rcpts = envelope.to().iter().map(|to| Rcpt::new(to.clone(), vec![]));
            let mut result = self.smtp.command(mail).await.map(drop);
            for rcpt in rcpts {
                result = match result {
                    Ok(()) => self.smtp.command(rcpt).await.map(drop),
                    refused => refused,
                };
            }
            if result.is_ok() {
                result = self.smtp.command(Data).await.map(drop);
            }
            return split(result);
        }
        let mail = split(self.smtp.command(EnvelopeGroup(envelope)).await)?;
        self.replies(envelope.to().len() + 1, mail.err()).await
    }

    /// Ends the open transaction with its data and, when there is a `next` message, opens its
    /// transaction in the same write (RFC 2920 allows the data first in a group, and `DATA`
    /// ends it): one round trip per message instead of two. Returns the reply to the data
    /// and whether the next transaction was opened; the outer `Err` is a broken connection.
    async fn data_then(
        &mut self,
        text: &str,
        next: Option<&Envelope>,
    ) -> SmtpResult<(SmtpResult<Response>, SmtpResult<()>)> {
        // Written straight into the one buffer lettre writes from.
        let data = self.smtp.command(DataThen(DataBlock(text), next)).await;
        let data = split(data)?;
        let opened = match next {
            Some(next) => self.replies(next.to().len() + 2, None).await?,
            None => Ok(()),
        };
        Ok((data, opened))
    }

    /// Reads `count` more replies to an envelope's group (`MAIL`, each `RCPT`, `DATA`), every
    /// one even after a refusal, so that the replies stay in step; the first refusal is kept
    /// (`refused`: one already read).
    async fn replies(
        &mut self,
        count: usize,
        mut refused: Option<lettre::transport::smtp::Error>,
    ) -> SmtpResult<SmtpResult<()>> {
        for _ in 0..count {
            if let Err(e) = split(self.smtp.read_response().await)? {
                refused.get_or_insert(e);
            }
        }
        // After a refusal the message is not sent, and the connection is dropped: a refused
        // RCPT leaves the MAIL transaction open, and a server at odds with RFC 2920 may even
        // have accepted the DATA that followed.
        Ok(refused.map_or(Ok(()), Err))
    }
}

/// A server's refusal (a reply code) apart from a broken connection (none): `Ok(Err(_))` and
/// `Err(_)`.
fn split<T>(result: SmtpResult<T>) -> SmtpResult<SmtpResult<T>> {
    match result {
        Err(e) if e.status().is_none() => Err(e),
        other => Ok(other),
    }
}

/// `MAIL`, every `RCPT`, `DATA`, as one group of commands (lettre's `command` writes whatever
/// it is given, then reads one reply).
struct EnvelopeGroup<'a>(&'a Envelope);

impl fmt::Display for EnvelopeGroup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Mail::new(self.0.from().cloned(), vec![]))?;
        for to in self.0.to() {
            write!(f, "{}", Rcpt::new(to.clone(), vec![]))?;
        }
        write!(f, "{Data}")
    }
}

/// A message's data, then the next message's envelope group when there is one.
struct DataThen<'a>(DataBlock<'a>, Option<&'a Envelope>);

impl fmt::Display for DataThen<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)?;
        match self.1 {
            Some(next) => EnvelopeGroup(next).fmt(f),
            None => Ok(()),
        }
    }
}

/// A message's data, dot-stuffed (RFC 5321 4.5.2), with the closing `.` line. Only the
/// places that need a dot are searched for (`memmem`, "\n."): a message has none as a rule.
struct DataBlock<'a>(&'a str);

impl fmt::Display for DataBlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.starts_with('.') {
            f.write_char('.')?;
        }
        let mut start = 0;
        for i in memchr::memmem::find_iter(text.as_bytes(), b"\n.") {
            f.write_str(&text[start..=i])?;
            f.write_char('.')?;
            start = i + 1;
        }
        f.write_str(&text[start..])?;
        if text.is_empty() || text.ends_with("\r\n") {
            f.write_str(".\r\n")
        } else {
            f.write_str("\r\n.\r\n")
        }
    }
}

/// A message as it is written: ASCII text (addresses too) written here, or anything else,
/// which lettre's own `send` writes with the parameters it needs.
enum Message {
    Text(String),
    Bytes(Vec<u8>),
}

impl Message {
    fn new(envelope: &Envelope, bytes: Vec<u8>) -> Message {
        let ascii = |a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii();
        let plain = envelope.from().is_none_or(ascii) && envelope.to().iter().all(ascii);
        if !plain || !bytes.is_ascii() {
            return Message::Bytes(bytes);
        }
        match String::from_utf8(bytes) {
            Ok(text) => Message::Text(text),
            Err(e) => Message::Bytes(e.into_bytes()),
        }
    }
}

/// One message waiting for its connection: `M` is [`Message`], or `String` for text.
struct Job<M = Message> {
    envelope: Envelope,
    message: M,
    /// It was on a connection that broke, and is being sent again.
    retried: bool,
    reply: oneshot::Sender<Result<String, SendError>>,
}

impl Job {
    /// The job as text, which can be chained; or as it is.
    fn text(self) -> Result<Job<String>, Job> {
        match self.message {
            Message::Text(text) => Ok(Job {
                envelope: self.envelope,
                message: text,
                retried: self.retried,
                reply: self.reply,
            }),
            message => Err(Job { message, ..self }),
        }
    }
}

impl Job<String> {
    fn any(self) -> Job {
        Job {
            envelope: self.envelope,
            message: Message::Text(self.message),
            retried: self.retried,
            reply: self.reply,
        }
    }
}

/// Messages a connection takes before another connection is opened: the second follows the
/// first in the same writes, so it costs the server and Herald one round trip, where a
/// connection of its own would cost two.
const PER_CONNECTION: usize = 2;

/// One connection's task and its queue; `load` counts the messages queued and unanswered.
struct Link {
    jobs: mpsc::UnboundedSender<Job>,
    load: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

/// Connections to one server, each kept by its own task, message after message.
///
/// Messages go to the connection with the fewest waiting; a new one is opened (up to `max`)
/// only when every connection has [`PER_CONNECTION`] already. A connection with several waiting
/// sends them back to back: each message's data and the next one's `MAIL`, `RCPT` and `DATA`
/// in one write, so a message costs one round trip instead of two.
pub struct Connections {
    server: Arc<Server>,
    max: usize,
    links: Mutex<Vec<Link>>,
}

impl Connections {
    pub fn new(server: Server, max: usize) -> Connections {
        Connections {
            server: Arc::new(server),
            max: max.max(1),
            links: Mutex::new(Vec::new()),
        }
    }

    /// Sends one message; `Ok` holds the server's reply. A message that meets a reused
    /// connection broken is sent again on a new one before it counts as failed.
    pub async fn send(&self, envelope: Envelope, message: Vec<u8>) -> Result<String, SendError> {
        let (reply, answer) = oneshot::channel();
        let mut job = Job {
            message: Message::new(&envelope, message),
            envelope,
            retried: false,
            reply,
        };
        loop {
            let (jobs, load) = self.pick();
            load.fetch_add(1, Ordering::SeqCst);
            match jobs.send(job) {
                Ok(()) => break,
                // Its task has ended (closing): another one.
                Err(mpsc::error::SendError(back)) => {
                    load.fetch_sub(1, Ordering::SeqCst);
                    job = back;
                }
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(SendError::Unreachable(
                "the connection to the mail server was closed".to_owned(),
            ))
        })
    }

    /// The connection with the fewest messages waiting, or a new one.
    fn pick(&self) -> (mpsc::UnboundedSender<Job>, Arc<AtomicUsize>) {
        let mut links = self.links.lock().expect("not poisoned");
        links.retain(|l| !l.jobs.is_closed());
        let least = links
            .iter()
            .min_by_key(|l| l.load.load(Ordering::SeqCst))
            .filter(|l| l.load.load(Ordering::SeqCst) < PER_CONNECTION || links.len() >= self.max);
        if let Some(link) = least {
            return (link.jobs.clone(), link.load.clone());
        }
        let (jobs, queue) = mpsc::unbounded_channel();
        let load = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(
            Line {
                server: self.server.clone(),
                queue,
                load: load.clone(),
                conn: None,
                last_used: Instant::now(),
                again: VecDeque::new(),
            }
            .run(),
        );
        let picked = (jobs.clone(), load.clone());
        links.push(Link { jobs, load, task });
        picked
    }

    /// Sends what is waiting, then says goodbye on every connection.
    pub async fn close(&self) {
        let links: Vec<Link> = std::mem::take(&mut *self.links.lock().expect("not poisoned"));
        for link in links {
            drop(link.jobs);
            let _ = link.task.await;
        }
    }
}

/// The task keeping one connection: it opens it when a message comes, sends the messages of
/// its queue in order, and closes it after [`MAX_IDLE`] without one, or once the queue is
/// closed and empty.
struct Line {
    server: Arc<Server>,
    queue: mpsc::UnboundedReceiver<Job>,
    load: Arc<AtomicUsize>,
    conn: Option<Conn>,
    last_used: Instant,
    /// Messages to send again (their connection broke), or taken from the queue while
    /// chaining but not fit for it; before the queue.
    again: VecDeque<Job>,
}

impl Line {
    async fn run(mut self) {
        while let Some(job) = self.next_job().await {
            self.serve(job).await;
        }
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(SMTP_TIMEOUT, conn.smtp.quit()).await;
        }
    }

    async fn next_job(&mut self) -> Option<Job> {
        if let Some(job) = self.again.pop_front() {
            return Some(job);
        }
        if self.conn.is_some() {
            let left = MAX_IDLE.saturating_sub(self.last_used.elapsed());
            match tokio::time::timeout(left, self.queue.recv()).await {
                Ok(job) => return job,
                Err(_) => {
                    if let Some(mut conn) = self.conn.take() {
                        let _ = tokio::time::timeout(SMTP_TIMEOUT, conn.smtp.quit()).await;
                    }
                }
            }
        }
        self.queue.recv().await
    }

    /// The next message from the queue if it can follow in the same write.
    fn follower(&mut self) -> Option<Job<String>> {
        if !self.again.is_empty() {
            return None;
        }
        match self.queue.try_recv().ok()?.text() {
            Ok(job) => Some(job),
            Err(job) => {
                self.again.push_back(job);
                None
            }
        }
    }

    /// The connection kept, checked with NOOP when it has been idle a while, or a new one.
    async fn connection(&mut self) -> Result<Conn, SendError> {
        if let Some(mut conn) = self.conn.take() {
            let alive = self.last_used.elapsed() < CHECK_AFTER_IDLE
                || tokio::time::timeout(SMTP_TIMEOUT, conn.smtp.test_connected())
                    .await
                    .unwrap_or(false);
            if alive && conn.reusable() {
                return Ok(conn);
            }
        }
        self.server.connect().await
    }

    fn keep(&mut self, conn: Conn) {
        if conn.reusable() {
            self.conn = Some(conn);
            self.last_used = Instant::now();
        }
    }

    fn answer<M>(&mut self, job: Job<M>, result: Result<String, SendError>) {
        self.load.fetch_sub(1, Ordering::SeqCst);
        let _ = job.reply.send(result);
    }

    /// A message whose connection broke under it is sent again, once, when the connection had
    /// carried messages before (it may have been closed by the server while idle).
    fn failed(&mut self, mut job: Job, error: SendError, reused: bool) {
        if matches!(error, SendError::Unreachable(_)) && reused && !job.retried {
            job.retried = true;
            self.again.push_front(job);
        } else {
            self.answer(job, Err(error));
        }
    }

    async fn serve(&mut self, job: Job) {
        let mut conn = match self.connection().await {
            Ok(conn) => conn,
            Err(e) => return self.answer(job, Err(e)),
        };
        let reused = conn.used > 0;
        conn.used += 1;
        let job = match job.text() {
            Ok(job) if conn.pipelining => return self.chain(conn, job, reused).await,
            Ok(job) => job.any(),
            Err(job) => job,
        };
        match timed(conn.transaction(&job.envelope, &job.message)).await {
            Ok(response) => {
                self.keep(conn);
                self.answer(job, Ok(reply_text(&response)));
            }
            // The connection is not kept after a failure (lettre's rule too).
            Err(e) => self.failed(job, e, reused),
        }
    }

    /// Sends `first` and then, in the same chain of writes, every message that is waiting by
    /// the time the one before it has its data written.
    async fn chain(&mut self, mut conn: Conn, first: Job<String>, reused: bool) {
        match timed(conn.envelope(&first.envelope)).await {
            Ok(Ok(())) => {}
            // Broken, or refused: the connection is dropped (see `Conn::replies`).
            Ok(Err(e)) => return self.failed(first.any(), classify(&e), reused),
            Err(e) => return self.failed(first.any(), e, reused),
        }
        let (mut current, mut reused) = (first, reused);
        loop {
            let next = self.follower();
            let envelope = next.as_ref().map(|n| &n.envelope);
            let step = timed(conn.data_then(&current.message, envelope)).await;
            let (data, opened) = match step {
                Ok(results) => results,
                Err(e) => {
                    if let Some(next) = next {
                        self.failed(next.any(), e.clone(), true);
                    }
                    return self.failed(current.any(), e, reused);
                }
            };
            let data = data.map(|r| reply_text(&r)).map_err(|e| classify(&e));
            self.answer(current, data);
            let Some(next) = next else {
                return self.keep(conn);
            };
            conn.used += 1;
            if let Err(e) = opened {
                return self.failed(next.any(), classify(&e), true);
            }
            (current, reused) = (next, true);
        }
    }
}

/// One step of a transaction within [`SMTP_TIMEOUT`]; a server that does not answer in time
/// counts as unreachable.
async fn timed<T>(step: impl Future<Output = SmtpResult<T>>) -> Result<T, SendError> {
    match tokio::time::timeout(SMTP_TIMEOUT, step).await {
        Ok(result) => result.map_err(|e| classify(&e)),
        Err(_) => Err(SendError::Unreachable(format!(
            "the mail server did not answer within {} s",
            SMTP_TIMEOUT.as_secs()
        ))),
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
        let next = Envelope::new(
            Some("status@example.com".parse().unwrap()),
            vec!["ann@example.org".parse().unwrap()],
        )
        .unwrap();
        assert_eq!(
            DataThen(DataBlock("a\r\n"), Some(&next)).to_string(),
            "a\r\n.\r\nMAIL FROM:<status@example.com>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\n"
        );
        assert_eq!(DataThen(DataBlock("a"), None).to_string(), "a\r\n.\r\n");
    }
}
