//! `herald backup FILE` (the real binary) while a server writes: the copy is written,
//! checked, holds what was committed before it started, and a server started on it serves it.
//! On PostgreSQL it points to pg_dump and fails.

use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use herald_test_support::*;
use rusqlite::Connection;
use serde_json::json;

async fn herald_backup(database_url: &str, file: &std::path::Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("backup")
        .arg(file)
        .arg("--database")
        .arg(database_url)
        .env_remove("HERALD_DATABASE_URL")
        .output()
        .await
        .expect("herald backup runs")
}

#[tokio::test]
async fn a_backup_taken_under_write_load_is_consistent_and_restores() {
    let app = Arc::new(TestApp::builder().backend(Backend::Sqlite).spawn().await);
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    app.create_customer("Ann", Some("ann@example.com"), &[mail])
        .await;

    // Writers: tickets created one after another, as fast as the server takes them.
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (app, stop, created) = (app.clone(), stop.clone(), created.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body =
                        json!({"Description": format!("load {w}-{i}"), "Services": [{"Id": mail}]});
                    let r = app.post_json("/api/Tickets", &body).await;
                    assert_eq!(r.status(), 201);
                    created.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    assert!(
        poll_until(std::time::Duration::from_secs(30), || {
            let c = created.clone();
            async move { c.load(Ordering::Relaxed) >= 50 }
        })
        .await
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let before = created.load(Ordering::Relaxed);
    let out = herald_backup(&app.database_url, &file).await;
    let after = created.load(Ordering::Relaxed);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("integrity_check: ok"), "{stdout}");
    assert!(after > before, "the server kept writing during the backup");
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }

    // The copy, opened on its own: intact, and one moment's state.
    let copy = Connection::open(&file).unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let tickets: i64 = copy
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .unwrap();
    assert!(
        tickets as usize >= before && tickets as usize <= after,
        "{before} <= {tickets} <= {after}"
    );
    let events: i64 = copy
        .query_row("SELECT count(*) FROM ticket_events", [], |r| r.get(0))
        .unwrap();
    let queued: i64 = copy
        .query_row("SELECT count(*) FROM notifications", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        events, tickets,
        "each ticket's event is in the copy with it"
    );
    assert_eq!(queued, tickets, "and its notification");
    let reported = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("tickets "))
        .map(|n| n.trim().parse::<i64>().unwrap());
    assert_eq!(
        reported,
        Some(tickets),
        "the rows it reports are the copy's: {stdout}"
    );
    drop(copy);

    // A second backup to the same file is refused; the file is untouched.
    let again = herald_backup(&app.database_url, &file).await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Restored: a server on the copy serves the same tickets.
    let restored = TestApp::builder()
        .database(format!("sqlite://{}", file.display()))
        .spawn()
        .await;
    let listed = json(restored.get("/api/Tickets").await, 200).await;
    assert_eq!(listed.as_array().unwrap().len() as i64, tickets);
    restored.stop().await;
}

#[tokio::test]
async fn on_postgres_it_says_to_use_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let out = herald_backup("postgres://herald@127.0.0.1:1/herald", &file).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!file.exists());
}
