//! Crash safety and shutdown of the real `herald serve` binary: killed with SIGKILL in the middle
//! of delivering a ticket's emails, then started again, every message arrives, and the only
//! duplicates are messages that had reached the mail server before the kill; stopped with
//! SIGTERM, it finishes and records the messages in hand, and nothing is sent twice.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::notifications::WAIT;
use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

/// A `herald serve` child process and what it printed.
pub(crate) struct Serve {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Serve {
    pub(crate) fn start(database_url: &str, smtp_url: Option<&str>) -> Serve {
        Serve::start_with(database_url, smtp_url, &[])
    }

    /// [`Serve::start`] with more arguments (`--sms-url …`).
    pub(crate) fn start_with(database_url: &str, smtp_url: Option<&str>, args: &[&str]) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
        cmd.arg("serve")
            .arg("--database")
            .arg(database_url)
            .arg("--bind")
            .arg("127.0.0.1:0")
            .env_remove("HERALD_SMTP_URL")
            .env_remove("HERALD_MAIL_FROM")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(url) = smtp_url {
            cmd.arg("--smtp-url")
                .arg(url)
                .arg("--mail-from")
                .arg(MAIL_FROM);
        }
        let mut child = cmd.spawn().expect("herald serve starts");
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(stderr),
        ] {
            let output = output.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        Serve { child, output }
    }

    pub(crate) async fn wait_for_output(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.output.lock().unwrap().contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "herald serve never printed {needle:?}; it printed:\n{}",
                self.output.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then waits for the process to exit; returns whether it exited with success.
    async fn terminate(mut self) -> bool {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("herald serve exits after SIGTERM")
            .expect("exit status");
        status.success()
    }

    /// SIGKILL: no shutdown code runs.
    pub(crate) async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }
}

pub(crate) fn addresses(smtp: &SmtpServer) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for m in smtp.messages() {
        for to in m.to {
            *seen.entry(to.to_lowercase()).or_default() += 1;
        }
    }
    seen
}

/// After a kill: starts `herald serve` again with the mail server answering at once, waits
/// (up to `wait`) until all `n` messages of ticket `t` are sent, and checks that the only
/// messages that arrived twice are ones that had arrived before the kill (`before_kill`, the
/// messages in flight). Returns how often each address got one.
pub(crate) async fn restart_until_all_sent(
    app: &TestApp,
    smtp: &SmtpServer,
    t: i64,
    n: usize,
    wait: Duration,
    before_kill: &HashMap<String, usize>,
) -> HashMap<String, usize> {
    smtp.set_delay(Duration::ZERO);
    let serve = Serve::start(&app.database_url, Some(&smtp.url()));
    let deadline = Instant::now() + wait;
    loop {
        let sent = app.store.delivery_counts(Some(t)).await.unwrap().sent;
        if sent == n as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {sent} of {n} sent after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    serve.kill().await;
    let after = addresses(smtp);
    for (address, count) in &after {
        if *count > 1 {
            assert!(
                before_kill.contains_key(address),
                "{address} got {count} emails but was not in flight at the kill"
            );
        }
    }
    after
}

herald_test_support::backend_tests! {
    async fn a_server_killed_mid_delivery_loses_no_message() {
        const N: usize = 300;
        let smtp = SmtpServer::start().await;
        smtp.set_delay(Duration::from_millis(100));
        // The data, through an in-process Herald with no mail server: everything stays queued.
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        for i in 0..N {
            app.create_customer(&format!("Customer {i}"), Some(&format!("c{i}@example.com")), &[mail]).await;
        }
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();
        let counts = app.store.delivery_counts(Some(t)).await.unwrap();
        assert_eq!(counts.queued, N as i64);

        // `herald serve` without a mail server says so, and sends nothing.
        let serve = Serve::start(&app.database_url, None);
        serve.wait_for_output("No mail server is configured").await;
        serve.kill().await;
        assert_eq!(app.store.delivery_counts(Some(t)).await.unwrap().queued, N as i64);

        // With the mail server: killed in the middle of delivering.
        let serve = Serve::start(&app.database_url, Some(&smtp.url()));
        smtp.wait_for(N / 5, WAIT).await;
        serve.kill().await;
        smtp.wait_disconnected(WAIT).await;
        let before_kill = addresses(&smtp);
        assert!(before_kill.len() < N, "killed mid-delivery ({} of {N} arrived)", before_kill.len());

        // Started again: every message arrives.
        let after = restart_until_all_sent(&app, &smtp, t, N, WAIT, &before_kill).await;
        let expected: HashSet<String> = (0..N).map(|i| format!("c{i}@example.com")).collect();
        let got: HashSet<String> = after.keys().cloned().collect();
        assert_eq!(got, expected, "every follower got the email");
        let counts = app.store.delivery_counts(Some(t)).await.unwrap();
        assert_eq!((counts.sent, counts.pending(), counts.failed), (N as i64, 0, 0));
        app.stop().await;
    }

    async fn sigterm_finishes_the_messages_in_hand() {
        const N: usize = 200;
        let smtp = SmtpServer::start().await;
        smtp.set_delay(Duration::from_millis(200));
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        for i in 0..N {
            app.create_customer(&format!("Customer {i}"), Some(&format!("c{i}@example.com")), &[mail]).await;
        }
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();

        let serve = Serve::start(&app.database_url, Some(&smtp.url()));
        smtp.wait_for(10, WAIT).await;
        assert!(serve.terminate().await, "exit status 0 after SIGTERM");
        smtp.wait_disconnected(WAIT).await;
        let received = smtp.messages().len();
        let counts = app.store.delivery_counts(Some(t)).await.unwrap();
        assert_eq!(counts.sent as usize, received, "every accepted message is recorded as sent");
        assert_eq!(counts.sent + counts.pending(), N as i64);
        assert!(counts.pending() > 0, "stopped before the end");

        // Started again, it sends the rest, and nothing twice.
        smtp.set_delay(Duration::ZERO);
        let serve = Serve::start(&app.database_url, Some(&smtp.url()));
        let deadline = Instant::now() + WAIT;
        while app.store.delivery_counts(Some(t)).await.unwrap().sent < N as i64 {
            assert!(Instant::now() < deadline, "not all sent after the restart");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        serve.kill().await;
        let after = addresses(&smtp);
        assert_eq!(after.len(), N);
        assert!(after.values().all(|n| *n == 1), "a message was sent twice");
        app.stop().await;
    }
}
