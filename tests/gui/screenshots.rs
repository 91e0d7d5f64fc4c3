//! Screenshots of the main pages, with a realistic day's data, for the README.
//!
//! They are written to `target/gui-screenshots/`; with `HERALD_UPDATE_SCREENSHOTS=1` the ones
//! the README shows go to `docs/`, where they are committed (so ordinary test runs leave the
//! work tree clean). The others are for looking over the remaining pages.

use std::path::PathBuf;

use herald::domain::ticket::TicketTimes;
use herald::domain::TicketChange;
use herald::domain::{Actor, Description, NewTicket, TicketUpdate, Timestamp};

use crate::browser::{self, WAIT};
use crate::flows::{set_up, ADMIN_NAME};
use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

pub fn review_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("gui-screenshots")
}

pub fn out_dir() -> PathBuf {
    if std::env::var("HERALD_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs")
    } else {
        review_dir()
    }
}

const HOUR: i64 = 3_600_000;

fn at(now: Timestamp, hours: f64) -> Option<Timestamp> {
    Some(now.plus_millis((hours * HOUR as f64) as i64))
}

/// Services, customers and a few tickets in every state, changed by the administrator.
async fn a_day_of_data(app: &TestApp) {
    let mut ids = Vec::new();
    for name in [
        "Email",
        "Web hosting",
        "VPN",
        "Customer portal",
        "Telephony",
    ] {
        ids.push(app.create_service(name).await["Id"].as_i64().unwrap());
    }
    let people = [
        ("Alice Martin", 0b00011),
        ("Bruno Keller", 0b00101),
        ("Chloé Dubois", 0b01001),
        ("Dmitri Volkov", 0b10001),
        ("Emma Larsen", 0b01010),
        ("Farid Haddad", 0b00110),
        ("Grace O'Neill", 0b11000),
        ("Hiro Tanaka", 0b00001),
        ("Ines Costa", 0b01100),
    ];
    for (name, mask) in people {
        let follows: Vec<i64> = (0..5)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| ids[i])
            .collect();
        let email = format!(
            "{}@example.com",
            name.split(' ').next().unwrap().to_lowercase()
        );
        app.create_customer(name, Some(&email), &follows).await;
    }
    let now = Timestamp::now();
    let admin = TicketChange {
        actor: Actor::Operator {
            id: 1,
            name: ADMIN_NAME.into(),
        },
        address: None,
        notify: true,
        reminder_leads: Vec::new(),
    };
    let tickets = [
        (
            "Web hosting: slow page loads from the Frankfurt data centre\nA storage array is rebuilding; pages load slowly but work.",
            vec![ids[1]],
            TicketTimes { start_time: at(now, -74.0), closed_time: at(now, -50.0), ..Default::default() },
        ),
        (
            "Telephony: calls drop after a few minutes\nOur carrier is investigating; mobile numbers are not affected.",
            vec![ids[4]],
            TicketTimes { start_time: at(now, -26.0), closed_time: at(now, -20.0), next_update_time: at(now, 0.5), ..Default::default() },
        ),
        (
            "Customer portal: sign-in fails with an error page\nThe identity provider's certificate expired.",
            vec![ids[3], ids[1]],
            TicketTimes { start_time: at(now, -5.0), closed_time: at(now, -1.0), expected_resolution_time: at(now, -1.5), ..Default::default() },
        ),
        (
            "Planned maintenance of the VPN gateways\nThe gateways get a security update; connections drop for up to 5 minutes.",
            vec![ids[2]],
            TicketTimes { start_time: at(now, 50.0), end_time: at(now, 52.0), expected_resolution_time: at(now, 52.0), next_update_time: at(now, 24.0), ..Default::default() },
        ),
        (
            "Email: incoming mail delayed by up to 40 minutes\nMessages are queued, none are lost. Sending is not affected.",
            vec![ids[0]],
            TicketTimes { start_time: at(now, -2.2), expected_resolution_time: at(now, 1.0), next_update_time: at(now, -0.25), ..Default::default() },
        ),
    ];
    for (description, services, times) in tickets {
        let new = NewTicket {
            description: Description::parse(description).unwrap(),
            times: TicketTimes {
                closed_time: None,
                ..times
            },
            services,
            operator: Some(1),
        };
        let (ticket, _) = app.store.create_ticket(&new, &admin).await.unwrap();
        if times.closed_time.is_some() {
            let close = TicketUpdate {
                description: Description::parse(description).unwrap(),
                start_time: times.start_time,
                end_time: times.end_time,
                expected_resolution_time: times.expected_resolution_time,
                next_update_time: times.next_update_time,
                closed_time: times.closed_time,
                reopened_time: None,
            };
            app.store
                .update_ticket(ticket.id, &close, &admin, None)
                .await
                .unwrap();
        }
    }
    // The telephony ticket came back.
    let phone = app.store.get_ticket(2).await.unwrap();
    let reopen = TicketUpdate {
        description: Description::parse(&phone.description).unwrap(),
        start_time: phone.times.start_time,
        end_time: None,
        expected_resolution_time: at(now, 3.0),
        next_update_time: at(now, 0.5),
        closed_time: None,
        reopened_time: at(now, -3.0),
    };
    app.store
        .update_ticket(2, &reopen, &admin, None)
        .await
        .unwrap();
    // The email ticket got an update.
    let mail = app.store.get_ticket(5).await.unwrap();
    let update = TicketUpdate {
        description: Description::parse(
            "Email: incoming mail delayed by up to 40 minutes\nMessages are queued, none are lost. Sending is not affected. The queue is shrinking.",
        )
        .unwrap(),
        start_time: mail.times.start_time,
        end_time: None,
        expected_resolution_time: mail.times.expected_resolution_time,
        next_update_time: mail.times.next_update_time,
        closed_time: None,
        reopened_time: None,
    };
    app.store
        .update_ticket(5, &update, &admin, None)
        .await
        .unwrap();
    app.store
        .set_setting(
            "smtp_url",
            Some("smtp://herald:s3cret@mail.example.com:587?tls=required"),
        )
        .await
        .unwrap();
    app.store
        .set_setting("mail_from", Some("Example Status <status@example.com>"))
        .await
        .unwrap();
    app.store
        .set_setting("public_url", Some("http://status.example.com"))
        .await
        .unwrap();
}

/// Pictures, not behaviour: on one backend only (both would write the same files).
#[tokio::test]
async fn screenshots_of_the_main_pages() {
    // The mail server given by flag; the Settings page shows that it overrides its own.
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = TestApp::builder()
        .setting(herald::config::Key::SmtpUrl, url)
        .spawn()
        .await;
    let Some(b) = browser::start(&app.address).await else {
        return;
    };
    set_up(&b).await;
    a_day_of_data(&app).await;
    let deadline = std::time::Instant::now() + WAIT;
    while app.store.delivery_counts(None).await.unwrap().pending() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the emails were not delivered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!smtp.messages().is_empty());
    let dir = out_dir();

    b.goto("/tickets").await;
    let first = b.text("#tickets tbody tr:first-child").await;
    assert!(
        first.contains("Email: incoming mail delayed"),
        "open tickets first: {first}"
    );
    b.screenshot(&dir.join("gui-tickets.png"), 1280, 900).await;

    b.goto("/tickets/5").await;
    b.wait_for("#history").await;
    b.screenshot(&dir.join("gui-ticket.png"), 1280, 1750).await;

    b.goto("/settings").await;
    b.wait_for("#save-settings").await;
    assert!(!b.client.source().await.unwrap().contains("s3cret"));
    b.screenshot(&dir.join("gui-settings.png"), 1280, 1500)
        .await;

    b.goto("/tickets").await;
    b.wait_for("#tickets").await;
    b.screenshot(&dir.join("gui-tickets-phone.png"), 390, 1100)
        .await;
    b.client.set_window_size(1280, 900).await.unwrap();
    b.goto("/tickets/new").await;
    b.click(r#"input[name="Services[1].Id"]"#).await;
    b.wait_for("#recipients[data-count='5']").await;
    b.screenshot(&dir.join("gui-new-ticket.png"), 1280, 1200)
        .await;
    b.goto("/customers").await;
    b.wait_for("#customers").await;
    b.screenshot(&review_dir().join("gui-customers.png"), 1280, 900)
        .await;
    b.goto("/services").await;
    b.wait_for("#services").await;
    b.screenshot(&review_dir().join("gui-services.png"), 1280, 700)
        .await;
    b.goto("/operators/new").await;
    b.wait_for("#save-operator").await;
    b.screenshot(&review_dir().join("gui-new-operator.png"), 1280, 800)
        .await;
    crate::flows::sign_out(&b).await;
    b.screenshot(&review_dir().join("gui-sign-in.png"), 1280, 700)
        .await;
    for name in [
        "gui-tickets.png",
        "gui-ticket.png",
        "gui-settings.png",
        "gui-tickets-phone.png",
        "gui-new-ticket.png",
    ] {
        let size = std::fs::metadata(dir.join(name)).unwrap().len();
        assert!(size > 10_000, "{name} has content ({size} bytes)");
    }
    b.finish().await;
}
