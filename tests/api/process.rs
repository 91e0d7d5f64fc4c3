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

/// Runs `herald ARGS` on the database `db` with `env` set and `stdin` written to its input;
/// returns whether it succeeded and what it wrote to standard error.
async fn herald(db: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .args(args)
        .env("HERALD_DATABASE_URL", db)
        .env_remove("HERALD_OPERATOR_PASSWORD")
        .env_remove("HERALD_API_KEY")
        .env_remove("HERALD_SMTP_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn secrets_come_from_the_environment_standard_input_or_a_file_and_arguments_warn() {
    use herald::domain::ApiKey;
    use herald::store::{PoolSettings, Store};

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("herald.db").display());
    let store = || async {
        let s = Store::connect(&db, &PoolSettings::default()).await.unwrap();
        s.migrate().await.unwrap();
        s
    };
    let signs_in = |email: &'static str, password: &'static str| {
        let store = store();
        async move {
            let (_, hash) = store
                .await
                .operator_credentials(email)
                .await
                .unwrap()
                .expect("the operator exists");
            hash.expect("has a password").verify(password)
        }
    };
    let warned = |stderr: &str| stderr.contains("visible to other users");

    // Standard input.
    let (ok, err) = herald(
        &db,
        &[
            "operator",
            "create",
            "--name",
            "Ann",
            "--email",
            "ann@example.com",
            "--password-stdin",
            "--admin",
        ],
        &[],
        "from standard input\nignored second line\n",
    )
    .await;
    assert!(ok && !warned(&err), "{err}");
    assert!(signs_in("ann@example.com", "from standard input").await);

    // A file.
    let file = dir.path().join("password");
    std::fs::write(&file, "from a file\n").unwrap();
    let (ok, err) = herald(
        &db,
        &[
            "operator",
            "set-password",
            "--email",
            "ann@example.com",
            "--password-file",
            file.to_str().unwrap(),
        ],
        &[],
        "",
    )
    .await;
    assert!(ok && !warned(&err), "{err}");
    assert!(signs_in("ann@example.com", "from a file").await);

    // The environment.
    let (ok, err) = herald(
        &db,
        &[
            "operator",
            "create",
            "--name",
            "Bob",
            "--email",
            "bob@example.com",
        ],
        &[("HERALD_OPERATOR_PASSWORD", "from the environment")],
        "",
    )
    .await;
    assert!(ok && !warned(&err), "{err}");
    assert!(signs_in("bob@example.com", "from the environment").await);

    // The old argument still works, with a warning.
    let (ok, err) = herald(
        &db,
        &[
            "operator",
            "set-password",
            "--email",
            "bob@example.com",
            "--password",
            "from an argument",
        ],
        &[],
        "",
    )
    .await;
    assert!(ok && warned(&err), "{err}");
    assert!(signs_in("bob@example.com", "from an argument").await);

    // Nothing given: a clear refusal, nothing changed.
    let (ok, err) = herald(
        &db,
        &[
            "operator",
            "create",
            "--name",
            "Cy",
            "--email",
            "cy@example.com",
        ],
        &[],
        "",
    )
    .await;
    assert!(!ok && err.contains("no password given"), "{err}");
    assert!(store()
        .await
        .operator_credentials("cy@example.com")
        .await
        .unwrap()
        .is_none());

    // API keys: from a file, standard input, the environment, and the old argument.
    let stored_key = || async {
        store()
            .await
            .get_setting(herald::live_settings::API_KEY_SETTING)
            .await
            .unwrap()
    };
    let key_file = dir.path().join("key");
    for (args, env, stdin, key, warns) in [
        (
            vec!["--key-file", key_file.to_str().unwrap()],
            vec![],
            "",
            "keyfromafile0123456",
            false,
        ),
        (
            vec!["--key-stdin"],
            vec![],
            "keyfromstdin0123456\n",
            "keyfromstdin0123456",
            false,
        ),
        (
            vec![],
            vec![("HERALD_API_KEY", "keyfromtheenv012345")],
            "",
            "keyfromtheenv012345",
            false,
        ),
        (
            vec!["keyfromanargument01"],
            vec![],
            "",
            "keyfromanargument01",
            true,
        ),
    ] {
        std::fs::write(&key_file, "keyfromafile0123456\n").unwrap();
        let mut all = vec!["api-key", "set"];
        all.extend(args);
        let (ok, err) = herald(&db, &all, &env, stdin).await;
        assert!(ok && warned(&err) == warns, "{all:?}: {err}");
        assert_eq!(
            stored_key().await,
            Some(ApiKey::parse(key).unwrap().hash().0),
            "{all:?}"
        );
    }

    // A mail server URL with a password on the command line warns; in the environment it
    // does not. Neither prints the password.
    let url = "smtp://user:s3cr3t-pw@mail.example.com:587";
    let (ok, err) = herald(&db, &["--smtp-url", url, "migrate"], &[], "").await;
    assert!(
        ok && err.contains("--smtp-url holds a password") && err.contains("HERALD_SMTP_URL"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t-pw"), "{err}");
    let (ok, err) = herald(&db, &["migrate"], &[("HERALD_SMTP_URL", url)], "").await;
    assert!(ok && !err.contains("holds a password"), "{err}");
}
