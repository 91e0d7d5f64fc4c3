//! A full disk, on a real small filesystem (a tmpfs this test mounts, so it needs root): the
//! writes that fail are 503s that say why, `/readyz` says so, the delivery worker stops
//! instead of sending again what it cannot record, and once space is back every write works
//! and no message has reached anyone more than twice.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use herald::notify::DeliveryOptions;
use serde_json::{json, Value};

use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

use crate::notifications::WAIT;

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped (also when the test
/// fails).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (said loudly) when not root; under `CI=true` it must run, so it panics instead.
    fn mount(test: &str, size: &str) -> Option<SmallDisk> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if !root {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test} needs root (to mount a tmpfs) and must not be skipped under CI=true"
            );
            eprintln!("SKIPPED {test}: not root, cannot mount a small tmpfs");
            return None;
        }
        let dir = tempfile::tempdir().expect("a mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mount -t tmpfs failed");
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with the file `name`, then frees `leave` bytes of it; returns the file.
    fn fill_leaving(&self, name: &str, leave: u64) -> PathBuf {
        let path = self.path().join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x55u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        file.set_len(written.saturating_sub(leave)).unwrap();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: the server of a failed test may still hold files open.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

async fn readyz(app: &TestApp) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_full_disk_is_a_503_until_space_is_back_and_no_message_is_sent_more_than_twice() {
    let Some(disk) = SmallDisk::mount("a_full_disk_is_a_503_until_space_is_back", "16m") else {
        return;
    };
    let smtp = SmtpServer::start().await;
    // Slow, so that messages are being sent while the disk is full.
    smtp.set_delay(Duration::from_millis(10));
    let database = format!("sqlite://{}", disk.path().join("herald.db").display());
    let app = TestApp::builder()
        .database(database)
        .smtp(&smtp)
        .delivery(DeliveryOptions {
            workers: 2,
            connections: 4,
            batch_size: 20,
            // Short leases: without the fix, unrecorded messages are sent again quickly.
            lease: Duration::from_millis(400),
            retry_base: Duration::from_millis(50),
            retry_max: Duration::from_millis(200),
            idle_poll: Duration::from_millis(50),
        })
        .spawn()
        .await;
    let service = app.create_service("Mail").await["Id"].as_i64().unwrap();
    let mut customer = Value::Null;
    for i in 0..3 {
        customer = app
            .create_customer(
                &format!("Customer {i}"),
                Some(&format!("c{i}@example.com")),
                &[service],
            )
            .await;
    }
    let filler = disk.fill_leaving("filler", 2 * 1024 * 1024);

    // Tickets created (the group commit) and changed (a transaction of its own), each change
    // three messages, until the disk is full for both.
    let (mut full_create, mut full_change) = (None, None);
    let mut last: Option<Value> = None;
    for i in 0.. {
        assert!(i < 5000, "the disk never filled up");
        let ticket = json!({ "Description": format!("Outage {i}"), "Services": [{ "Id": service }], "StartTime": "2001-01-01T12:00:00Z" });
        let r = app.post_json("/api/Tickets", &ticket).await;
        match r.status().as_u16() {
            201 => last = Some(r.json().await.unwrap()),
            503 => {
                assert!(r.headers().contains_key("retry-after"));
                full_create = Some(json(r, 503).await);
            }
            other => panic!("POST /api/Tickets: {other} {}", r.text().await.unwrap()),
        }
        if let Some(ticket) = last.as_mut() {
            ticket["Description"] = json!(format!("Outage {i}, changed"));
            let path = format!("/api/Tickets/{}", ticket["Id"]);
            let r = app.put_json(&path, ticket).await;
            match r.status().as_u16() {
                200 | 204 => {}
                503 => full_change = Some(json(r, 503).await),
                other => panic!("PUT {path}: {other} {}", r.text().await.unwrap()),
            }
        }
        if full_create.is_some() && full_change.is_some() {
            break;
        }
    }
    for body in [full_create, full_change] {
        let message = body.as_ref().unwrap()["Message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("storage is full"), "{message}");
    }
    // Reads still work, and the instance says it is not ready, and why.
    json(app.get("/api/Tickets").await, 200).await;
    let (status, text) = readyz(&app).await;
    assert_eq!(status, 503);
    assert!(text.contains("storage full"), "{text}");

    // Space comes back.
    std::fs::remove_file(&filler).unwrap();
    let ready = poll_until(WAIT, || async { readyz(&app).await.0 == 200 }).await;
    assert!(ready, "/readyz is ready again once space is back");
    // Every kind of write works again: the ones in a transaction of their own…
    let mut renamed = customer.clone();
    renamed["Name"] = json!("Renamed");
    let id = customer["Id"].as_i64().unwrap();
    let put = app
        .put_json(&format!("/api/Customers/{id}"), &renamed)
        .await;
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let read = json(app.get(&format!("/api/Customers/{id}")).await, 200).await;
    assert_eq!(read["Name"], "Renamed");
    app.create_service("Web").await;
    // …and the group commit of ticket creation.
    app.create_ticket("After", &[service]).await;

    // Every message is delivered, none more than twice.
    let delivered = poll_until(WAIT, || async {
        let counts = app.store.delivery_counts(None).await.unwrap();
        counts.pending() == 0
    })
    .await;
    let counts = app.store.delivery_counts(None).await.unwrap();
    assert!(delivered, "{counts:?}");
    assert_eq!(
        counts.failed + counts.cancelled + counts.retrying,
        0,
        "{counts:?}"
    );
    let expected = counts.sent as usize;
    let mut per_message: HashMap<(String, String), usize> = HashMap::new();
    for m in smtp.messages() {
        let key = (m.to.join(","), m.header("Message-ID").unwrap_or_default());
        *per_message.entry(key).or_default() += 1;
    }
    assert_eq!(per_message.len(), expected, "every message arrived");
    let most = per_message.values().max().copied().unwrap_or(0);
    let twice = per_message.values().filter(|n| **n == 2).count();
    eprintln!(
        "{expected} messages, {} emails, {twice} arrived twice",
        smtp.messages().len()
    );
    assert!(most <= 2, "a message arrived {most} times");
    app.stop().await;
}
