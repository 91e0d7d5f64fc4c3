//! Connections that never finish their request head, or stay open idle, are closed after the
//! idle timeout; a server out of file descriptors keeps accepting once some close.

use std::process::Stdio;
use std::time::Duration;

use herald::config::Key;
use herald_test_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; returns everything it sent.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_after_the_idle_timeout() {
    let app = TestApp::builder()
        .setting(Key::IdleTimeout, "300ms")
        .spawn()
        .await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let got = read_until_closed(&mut stream).await;
    assert!(!got.contains("200 OK"), "{got}");
    // And one that sends nothing at all.
    let mut silent = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    read_until_closed(&mut silent).await;
    // The server still serves.
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = TestApp::builder()
        .setting(Key::IdleTimeout, "300ms")
        .spawn()
        .await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    // Two pipelined requests are both answered, in order, on the kept-alive connection…
    stream
        .write_all(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await
        .unwrap();
    // …which is then closed once idle.
    let got = read_until_closed(&mut stream).await;
    assert_eq!(got.matches("HTTP/1.1 200 OK").count(), 2, "{got}");
    let (ok, ready) = (got.find("\r\n\r\nok").unwrap(), got.find("ready").unwrap());
    assert!(ok < ready, "answered in order: {got}");
    app.stop().await;
}

#[tokio::test]
async fn out_of_file_descriptors_the_server_recovers_as_idle_connections_close() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("herald.db").display());
    // 64 descriptors, and many more connections than that.
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 64 && exec {} serve --bind 127.0.0.1:0 --idle-timeout 1s --log-format json",
            env!("CARGO_BIN_EXE_herald")
        ))
        .env("HERALD_DATABASE_URL", &db)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let address = loop {
        let mut line = String::new();
        let n = tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line)
            .await
            .unwrap();
        assert!(n > 0, "the server stopped: {log}");
        log.push_str(&line);
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            if v["message"] == "Herald is listening" {
                break v["address"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("http://")
                    .to_owned();
            }
        }
    };
    let log_task = tokio::spawn(async move {
        let mut rest = String::new();
        let _ = lines.read_to_string(&mut rest).await;
        rest
    });
    let mut idle = Vec::new();
    for _ in 0..150 {
        idle.push(TcpStream::connect(&address).await.unwrap());
    }
    // Every connection beyond the descriptors waits in the kernel's queue; as the idle ones are
    // closed, the server accepts the next, and /healthz is answered.
    let client = reqwest::Client::new();
    let answered = tokio::time::timeout(
        Duration::from_secs(60),
        client.get(format!("http://{address}/healthz")).send(),
    )
    .await
    .expect("answered once idle connections closed")
    .unwrap();
    assert_eq!(answered.status(), 200);
    drop(idle);
    // Still serving afterwards.
    let again = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    child.kill().await.unwrap();
    let log = log + &log_task.await.unwrap();
    assert!(
        log.contains("cannot accept connections"),
        "the starvation was logged: {log}"
    );
    assert_eq!(
        log.matches("cannot accept connections").count(),
        log.matches("accepting connections again").count().max(1),
        "logged once per episode: {log}"
    );
}
