//! The public status page in headless Chromium, at a desktop's and a phone's width: the state
//! at the top in words and colour, the sections, nothing wider than the phone's screen. Writes
//! the README's screenshots of it (see `screenshots.rs` for where).

use chrono::SecondsFormat;
use herald::config::Key;
use herald::domain::Timestamp;
use serde_json::{json, Value};

use crate::browser;
use crate::screenshots::out_dir;
use herald_test_support::*;

const HOUR: i64 = 3_600_000;

fn at(hours: f64) -> String {
    Timestamp::now()
        .plus_millis((hours * HOUR as f64) as i64)
        .to_chrono()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn ticket(app: &TestApp, body: Value) -> i64 {
    app.create("/api/Tickets", &body).await["Id"]
        .as_i64()
        .unwrap()
}

async fn close(app: &TestApp, id: i64, hours: f64) {
    let path = format!("/api/Tickets/{id}");
    let mut body = json(app.get(&path).await, 200).await;
    body["ClosedTime"] = json!(at(hours));
    let r = app.put_json(&path, &body).await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
}

/// A company's services on an incident day.
async fn an_incident_day(app: &TestApp) {
    let mut ids = Vec::new();
    for (name, description) in [
        ("Email", "Mailboxes, IMAP and SMTP"),
        ("Web hosting", "Websites and their databases"),
        ("VPN", "Remote access for staff"),
        ("Customer portal", "portal.example.com"),
        ("Telephony", "Desk phones and the call centre"),
    ] {
        let s = app
            .create(
                "/api/Services",
                &json!({ "Name": name, "Description": description }),
            )
            .await;
        ids.push(s["Id"].as_i64().unwrap());
    }
    let internal = app
        .create(
            "/api/Services",
            &json!({ "Name": "Billing run", "IsPublic": false }),
        )
        .await["Id"]
        .as_i64()
        .unwrap();
    ticket(app, json!({
        "Description": "Incoming email is delayed\nMessages sent to us arrive up to 40 minutes late. No mail is lost; we are moving the queue to a second relay.",
        "Services": [{ "Id": ids[0] }, { "Id": internal }],
        "StartTime": at(-1.5),
        "ExpectedResolutionTime": at(1.0),
        "NextUpdateTime": at(0.5),
    }))
    .await;
    ticket(app, json!({
        "Description": "VPN gateway upgrade\nThe gateway moves to new hardware; connections drop once for about five minutes.",
        "Services": [{ "Id": ids[2] }],
        "StartTime": at(46.0),
        "EndTime": at(48.0),
    }))
    .await;
    ticket(app, json!({ "Description": "Billing run paused", "Services": [{ "Id": internal }], "StartTime": at(-2.0) })).await;
    for (description, service, started, closed) in [
        (
            "Customer portal login fails for some users",
            ids[3],
            -30.0,
            -28.5,
        ),
        ("Web hosting: slow database responses", ids[1], -80.0, -77.0),
        ("Call centre lines unreachable", ids[4], -150.0, -149.0),
    ] {
        let id = ticket(app, json!({ "Description": description, "Services": [{ "Id": service }], "StartTime": at(started) })).await;
        close(app, id, closed).await;
    }
}

#[tokio::test]
async fn the_status_page_reads_at_a_glance_on_a_desktop_and_on_a_phone() {
    let app = TestApp::builder()
        .setting(Key::OrganisationName, "Example Hosting")
        .spawn()
        .await;
    an_incident_day(&app).await;
    let Some(b) = browser::start(&app.address).await else {
        return;
    };
    let dir = out_dir();

    b.goto("/status").await;
    let banner = b.text(".banner").await;
    assert!(banner.contains("A service is disrupted"), "{banner}");
    assert_eq!(b.client.title().await.unwrap(), "Status · Example Hosting");
    let open = b.text("#open").await;
    assert!(
        open.contains("Incoming email is delayed") && open.contains("Expected resolution"),
        "{open}"
    );
    assert!(b.text("#planned").await.contains("VPN gateway upgrade"));
    assert!(b
        .text("#resolved")
        .await
        .contains("Call centre lines unreachable"));
    let services = b.text("#services").await;
    assert!(
        services.contains("Email")
            && services.contains("Disruption")
            && services.contains("Operational")
    );
    assert!(
        !b.page_text().await.contains("Billing"),
        "private services stay private"
    );
    // The state is in colour and in words: the banner is red-ish, its text says so.
    let colour: String = b
        .client
        .execute(
            "return getComputedStyle(document.querySelector('.banner')).backgroundColor;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(colour, "rgba(0, 0, 0, 0)", "the banner has a colour");
    b.screenshot(&dir.join("status-page.png"), 1280, 1500).await;

    // A phone: nothing wider than the screen, the banner first.
    b.client.set_window_size(390, 844).await.unwrap();
    b.goto("/status").await;
    let overflow = b
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(
        overflow <= 0,
        "the page is {overflow} px wider than the phone"
    );
    b.screenshot(&dir.join("status-page-phone.png"), 390, 1600)
        .await;

    // A ticket's page, from the link.
    b.client.set_window_size(1280, 900).await.unwrap();
    b.goto("/status").await;
    b.click("#open h3 a").await;
    b.wait_for("ol.history").await;
    assert!(b.text("ol.history").await.contains("Reported"));
    assert!(!b.page_text().await.contains("Billing"));
    b.finish().await;
}
