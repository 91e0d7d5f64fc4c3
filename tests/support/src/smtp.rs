//! A small SMTP server on loopback for tests: it speaks enough of RFC 5321 for a real client
//! (lettre, as Herald uses it) to deliver over TCP, records every message it accepts, and can be
//! told to answer 4xx for a while, 5xx for some addresses, or to answer slowly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The client's EHLO/HELO name.
    pub helo: String,
    pub from: String,
    pub to: Vec<String>,
    /// The message as transmitted (headers and body), dot-unstuffed, CRLF line ends.
    pub data: String,
}

impl Received {
    pub fn parse(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("a parseable message")
    }

    /// The value of the first header named `name` (ignoring case), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_owned());
                }
            }
        }
        value
    }
}

/// How the server answers the end of a message's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    /// `451 4.3.0 Try again later`
    Temporary,
    /// `554 5.7.1 Message rejected`
    Permanent,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Messages transmitted in full (whatever the answer).
    data_attempts: usize,
    /// Addresses answered at RCPT with a permanent rejection.
    rejected_recipients: Vec<String>,
    /// RCPT attempts per address (lower case).
    rcpt_attempts: HashMap<String, usize>,
    /// The next answers to give at the end of data, before accepting again.
    scripted: Vec<Answer>,
    /// Pause before answering the end of data.
    delay: Duration,
    /// Connections open right now.
    sessions: usize,
    /// Advertise PIPELINING (RFC 2920) in the EHLO reply.
    pipelining: bool,
    /// Times a MAIL command arrived with more commands behind it in the same read.
    pipelined_groups: usize,
    /// Times a message's closing `.` arrived with the next message's MAIL behind it.
    chained: usize,
}

/// Counts a session as open while it lives.
struct Open(Arc<Mutex<State>>, Arc<Notify>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.lock().unwrap().sessions -= 1;
        self.1.notify_waiters();
    }
}

#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let changed = Arc::new(Notify::new());
        let (s, c) = (state.clone(), changed.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(session(stream, s.clone(), c.clone()));
            }
        });
        SmtpServer {
            port,
            state,
            changed,
            task: Arc::new(task),
        }
    }

    /// `smtp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answers the next `n` messages with `answer`, then accepts again.
    pub fn answer_next(&self, n: usize, answer: Answer) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .extend(std::iter::repeat_n(answer, n));
    }

    /// Rejects this recipient at RCPT with `550 5.1.1`, for good.
    pub fn reject_recipient(&self, address: &str) {
        self.state
            .lock()
            .unwrap()
            .rejected_recipients
            .push(address.to_lowercase());
    }

    /// Answers each message only after `delay` (a slow server).
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Advertises PIPELINING to the sessions that start from now on.
    pub fn set_pipelining(&self, on: bool) {
        self.state.lock().unwrap().pipelining = on;
    }

    /// How often a client wrote `MAIL` together with the commands after it (pipelined).
    pub fn pipelined_groups(&self) -> usize {
        self.state.lock().unwrap().pipelined_groups
    }

    /// How often a client wrote a message's data together with the next message's `MAIL`.
    pub fn chained_messages(&self) -> usize {
        self.state.lock().unwrap().chained
    }

    pub fn messages(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn data_attempts(&self) -> usize {
        self.state.lock().unwrap().data_attempts
    }

    pub fn rcpt_attempts(&self, address: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .rcpt_attempts
            .get(&address.to_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// The messages once at least `n` have arrived; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("expected {n} messages, the server received {}", got.len());
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Waits until no client is connected (after a client was killed, its sessions end once
    /// the server has read everything it sent); panics after `timeout`.
    pub async fn wait_disconnected(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let open = self.state.lock().unwrap().sessions;
            if open == 0 {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{open} SMTP sessions still open");
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// The messages to `address` (ignoring case).
    pub fn messages_to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }
}

fn path_address(arg: &str) -> String {
    let start = arg.find('<').map(|i| i + 1).unwrap_or(0);
    let end = arg[start..]
        .find('>')
        .map(|i| i + start)
        .unwrap_or(arg.len());
    arg[start..end].trim().to_owned()
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>, changed: Arc<Notify>) {
    state.lock().unwrap().sessions += 1;
    let _open = Open(state.clone(), changed.clone());
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write
        .write_all(b"220 herald-test ESMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut helo = String::new();
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            helo = command[4..].trim().to_owned();
        }
        let answer: String = if upper.starts_with("EHLO") {
            let pipelining = if state.lock().unwrap().pipelining {
                "250-PIPELINING\r\n"
            } else {
                ""
            };
            format!(
                "250-herald-test\r\n{pipelining}250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760"
            )
        } else if upper.starts_with("HELO") {
            "250 herald-test".into()
        } else if upper.starts_with("MAIL FROM:") {
            if !lines.buffer().is_empty() {
                state.lock().unwrap().pipelined_groups += 1;
            }
            from = path_address(&command[10..]);
            to.clear();
            "250 2.1.0 Ok".into()
        } else if upper.starts_with("RCPT TO:") {
            let address = path_address(&command[8..]);
            let rejected = {
                let mut s = state.lock().unwrap();
                *s.rcpt_attempts.entry(address.to_lowercase()).or_default() += 1;
                s.rejected_recipients.contains(&address.to_lowercase())
            };
            if rejected {
                "550 5.1.1 <".to_owned() + &address + ">: Recipient address rejected: no such user"
            } else {
                to.push(address);
                "250 2.1.5 Ok".into()
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                "554 5.5.1 Error: no valid recipients".into()
            } else {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let content = line.trim_end_matches(['\r', '\n']);
                    if content == "." {
                        if lines.buffer().len() >= 4
                            && lines.buffer()[..4].eq_ignore_ascii_case(b"MAIL")
                        {
                            state.lock().unwrap().chained += 1;
                        }
                        break;
                    }
                    data.push_str(content.strip_prefix('.').unwrap_or(content));
                    data.push_str("\r\n");
                }
                // Like a real server, an accepted message is kept once its data is complete,
                // whether or not the client stays to read the reply.
                let (text, delay) = {
                    let mut s = state.lock().unwrap();
                    s.data_attempts += 1;
                    let answer = if s.scripted.is_empty() {
                        Answer::Accept
                    } else {
                        s.scripted.remove(0)
                    };
                    let text = match answer {
                        Answer::Accept => {
                            s.received.push(Received {
                                helo: helo.clone(),
                                from: from.clone(),
                                to: std::mem::take(&mut to),
                                data,
                            });
                            format!("250 2.0.0 Ok: queued as TEST{}", s.received.len())
                        }
                        Answer::Temporary => "451 4.3.0 Try again later".into(),
                        Answer::Permanent => "554 5.7.1 Message rejected".into(),
                    };
                    (text, s.delay)
                };
                changed.notify_waiters();
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                to.clear();
                text
            }
        } else if upper == "RSET" {
            to.clear();
            "250 2.0.0 Ok".into()
        } else if upper == "NOOP" {
            "250 2.0.0 Ok".into()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
            return;
        } else {
            "502 5.5.2 Error: command not recognized".into()
        };
        if write
            .write_all(format!("{answer}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
