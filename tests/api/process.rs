//! The real binary as a user runs it: first run, the key printed once and never logged,
//! structured request logs, graceful exit on SIGTERM.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Lines a child wrote, shared with the test.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn collect(&self, stream: impl tokio::io::AsyncRead + Unpin + Send + 'static) {
        let lines = self.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.0.lock().unwrap().push(line);
            }
        });
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until some line satisfies `f`, returning what `f` extracted.
    async fn wait_for<T>(&self, what: &str, f: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(found) = self.all().iter().find_map(|l| f(l)) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; lines: {:?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(20)).await; // poll interval
        }
    }
}

#[tokio::test]
async fn first_run_prints_key_once_logs_redact_it_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("herald.db").display());
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
            .env("HERALD_DATABASE_URL", &db)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (out, err) = (Lines::default(), Lines::default());
        out.collect(child.stdout.take().unwrap());
        err.collect(child.stderr.take().unwrap());
        (child, out, err)
    };

    let (mut child, out, err) = start();
    let address = err
        .wait_for("the listening address", |l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["message"] == "Herald is listening")
                .then(|| v["address"].as_str().unwrap().to_owned())
        })
        .await;
    let key = out
        .wait_for("the generated key", |l| {
            let t = l.trim();
            (t.len() == 32 && t.chars().all(|c| c.is_ascii_alphanumeric())).then(|| t.to_owned())
        })
        .await;
    assert!(
        out.all().iter().any(|l| l.contains("/setup")),
        "points at the setup page"
    );

    let client = reqwest::Client::new();
    for url in [
        format!("{address}/api/Tickets?key={key}"),
        format!("{address}/api/Tickets?KEY={key}&$top=1"),
    ] {
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    let r = client
        .get(format!("{address}/api/Tickets"))
        .header("X-Api-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let request_lines = err
        .wait_for("three request log lines", |_| {
            let n = err
                .all()
                .iter()
                .filter(|l| l.contains("finished processing request"))
                .count();
            (n >= 3).then_some(n)
        })
        .await;
    assert!(request_lines >= 3);
    let logs = err.all().join("\n");
    assert!(!logs.contains(&key), "the key must never be logged");
    assert!(
        logs.contains("key=REDACTED") && logs.contains("KEY=REDACTED"),
        "{logs}"
    );
    let line: serde_json::Value = serde_json::from_str(
        err.all()
            .iter()
            .find(|l| l.contains("finished processing request"))
            .unwrap(),
    )
    .unwrap();
    assert!(
        line["status"].is_number() && line["latency"].is_string(),
        "{line}"
    );

    // SIGTERM: a clean exit with status 0.
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit:?}");

    // Second run on the same database: no new key is printed.
    let (mut child, out, err) = start();
    err.wait_for("the listening address", |l| {
        l.contains("Herald is listening").then_some(())
    })
    .await;
    assert!(!out.all().iter().any(|l| l.contains("generated an API key")));
    child.kill().await.unwrap();
}
