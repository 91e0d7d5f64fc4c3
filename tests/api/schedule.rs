//! Time: planned work, reminders at their lead times, calendar invitations, overdue promised
//! updates. Herald runs on a manual clock the tests move forward (no sleeping); the messages
//! go to the real SMTP test server; the calendar parts are read by Python's `icalendar`.

use std::time::Duration;

use chrono::SecondsFormat;
use herald::clock::Clock;
use herald::config::Key;
use herald::domain::ticket::EventKind;
use herald::domain::Timestamp;
use mail_parser::MimeHeaders;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use herald_test_support::smtp::{Received, SmtpServer};
use herald_test_support::*;

const WAIT: Duration = Duration::from_secs(30);
const HOUR: Duration = Duration::from_secs(3600);

fn id(v: &Value) -> i64 {
    v["Id"].as_i64().expect("an Id")
}

/// `at` in whole seconds (what [`api_time`] keeps).
fn whole(at: Timestamp) -> Timestamp {
    Timestamp::from_ticks(at.ticks() - at.ticks().rem_euclid(10_000_000))
}

/// `at` as the API takes it.
fn api_time(at: Timestamp) -> String {
    at.to_chrono().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A Herald on `clock` with the SMTP server and `reminders` as its lead times, on `database`
/// (a new one when `None`).
async fn herald(
    smtp: &SmtpServer,
    clock: &Clock,
    reminders: &str,
    database: Option<&str>,
) -> TestApp {
    let mut builder = TestApp::builder()
        .smtp(smtp)
        .delivery(fast_delivery())
        .clock(clock.clone())
        .setting(Key::MaintenanceReminders, reminders)
        .setting(Key::PublicUrl, "https://status.example.com");
    if let Some(url) = database {
        builder = builder.database(url);
    }
    builder.spawn().await
}

/// A database that outlives the Herald that made it (for restarts): its URL and, for SQLite,
/// the directory to keep.
async fn lasting_database() -> (String, Option<tempfile::TempDir>) {
    match current_backend() {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("herald.db").display());
            (url, Some(dir))
        }
        Backend::Postgres => (herald_test_support::postgres::fresh_database().await, None),
    }
}

/// A service `Mail` followed by ann@example.com; its id.
async fn followed_service(app: &TestApp) -> i64 {
    let mail = id(&app.create_service("Mail").await);
    app.create_customer("Ann", Some("ann@example.com"), &[mail])
        .await;
    mail
}

/// Planned work on `service` from `start` for two hours; the ticket.
async fn planned_work(app: &TestApp, service: i64, start: Timestamp) -> Value {
    app.create(
        "/api/Tickets",
        &json!({
            "Description": "Database upgrade",
            "Services": [{"Id": service}],
            "StartTime": api_time(start),
            "EndTime": api_time(start.plus(2 * HOUR)),
        }),
    )
    .await
}

/// The reminders planned for a ticket: their lead times.
async fn planned_leads(app: &TestApp, ticket: i64) -> Vec<Duration> {
    app.store
        .planned_jobs(ticket)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|j| j.lead)
        .collect()
}

/// Waits until every queued message is delivered, then moves the clock `by` forward. (The
/// delivery leases are measured on the clock too: a jump while a message is in flight would
/// let another worker take it again.)
async fn advance(app: &TestApp, clock: &Clock, by: Duration) {
    settle(app).await;
    clock.advance(by);
}

/// [`advance`] to `at`.
async fn advance_to(app: &TestApp, clock: &Clock, at: Timestamp) {
    settle(app).await;
    if at > clock.now() {
        clock.set(at);
    }
}

async fn settle(app: &TestApp) {
    let done = poll_until(WAIT, || async {
        app.store.delivery_counts(None).await.unwrap().pending() == 0
    })
    .await;
    assert!(done, "every message delivered");
}

/// Runs every job due now in the test itself: when it returns, no job due now is pending
/// (one the server's own scheduler was running has finished).
async fn run_due(app: &TestApp) {
    herald::scheduler::tick(&app.store, &CancellationToken::new())
        .await
        .unwrap();
}

fn subject(m: &Received) -> String {
    m.header("Subject").unwrap_or_default()
}

fn reminders(smtp: &SmtpServer) -> Vec<String> {
    smtp.messages()
        .iter()
        .map(subject)
        .filter(|s| s.starts_with("Reminder"))
        .collect()
}

/// Waits until the server has received `n` messages whose subject starts with `prefix`.
async fn wait_subjects(smtp: &SmtpServer, prefix: &str, n: usize) -> Vec<String> {
    let found = || {
        smtp.messages()
            .iter()
            .map(subject)
            .filter(|s| s.starts_with(prefix))
            .collect::<Vec<_>>()
    };
    let arrived = poll_until(WAIT, || async { found().len() >= n }).await;
    let found = found();
    assert!(arrived, "{n} messages {prefix:?}: {found:#?}");
    found
}

/// The `text/calendar` part of a message, with its method parameter.
fn calendar_part(m: &Received) -> Option<(String, String)> {
    let parsed = m.parse();
    parsed.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        if ct.ctype() != "text" || ct.subtype() != Some("calendar") {
            return None;
        }
        let method = ct.attribute("method").unwrap_or_default().to_owned();
        let text = match &part.body {
            mail_parser::PartType::Text(t) => t.to_string(),
            _ => return None,
        };
        Some((method, text))
    })
}

/// UID, SEQUENCE, DTSTART, DTEND (RFC 3339), STATUS and METHOD of a calendar, read by Python's
/// `icalendar`.
fn read_calendar(text: &str) -> Value {
    let out = python::run(
        r#"
import json, sys, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.read())
ev = cal.walk("VEVENT")[0]
print(json.dumps({
    "METHOD": str(cal.get("METHOD")),
    "UID": str(ev.get("UID")),
    "SEQUENCE": int(ev.get("SEQUENCE")),
    "DTSTART": ev.decoded("DTSTART").isoformat(),
    "DTEND": ev.decoded("DTEND").isoformat(),
    "STATUS": str(ev.get("STATUS")),
}))
"#,
        text.as_bytes(),
    );
    serde_json::from_str(&out).unwrap()
}

/// `at` as Python's `isoformat` writes a UTC time.
fn iso(at: Timestamp) -> String {
    at.to_chrono().format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

herald_test_support::backend_tests! {
    async fn reminders_come_at_each_lead_time_and_once() {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let app = herald(&smtp, &clock, "24h,1h", None).await;
        let mail = followed_service(&app).await;
        let start = whole(clock.now()).plus(48 * HOUR);
        let ticket = planned_work(&app, mail, start).await;
        let t = id(&ticket);
        let created = wait_subjects(&smtp, "Planned maintenance", 1).await;
        assert!(created[0].contains("Mail ("), "the window in the subject: {created:?}");
        assert!(!created[0].contains("disruption"), "{created:?}");
        assert_eq!(planned_leads(&app, t).await, [24 * HOUR, HOUR]);

        // A day before the start, less a minute: nothing is due yet.
        advance(&app, &clock, 23 * HOUR + Duration::from_secs(59 * 60)).await;
        run_due(&app).await;
        assert!(reminders(&smtp).is_empty());
        assert_eq!(planned_leads(&app, t).await.len(), 2);

        advance(&app, &clock, Duration::from_secs(120)).await;
        let first = wait_subjects(&smtp, "Reminder", 1).await;
        assert!(first[0].starts_with("Reminder: planned maintenance in 24 hours"), "{first:?}");
        assert_eq!(planned_leads(&app, t).await, [HOUR]);

        advance_to(&app, &clock, start.minus(HOUR).plus(Duration::from_secs(1))).await;
        let both = wait_subjects(&smtp, "Reminder", 2).await;
        assert!(both[1].starts_with("Reminder: planned maintenance in 1 hour"), "{both:?}");
        // Later ticks find nothing more to do.
        advance(&app, &clock, 3 * HOUR).await;
        run_due(&app).await;
        assert_eq!(reminders(&smtp).len(), 2);
        let kinds = app.ticket_event_kinds(t).await;
        assert_eq!(
            kinds,
            [EventKind::Created, EventKind::Reminder, EventKind::Reminder]
        );
        // The reminders are in the ticket's Notifications as their own kind.
        let list = json(app.get(&format!("/api/Tickets/{t}/Notifications")).await, 200).await;
        let events: Vec<&str> = list.as_array().unwrap().iter().map(|n| n["Event"].as_str().unwrap()).collect();
        assert_eq!(events, ["created", "reminder", "reminder"]);
    }

    async fn rescheduling_replans_the_reminders() {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let app = herald(&smtp, &clock, "1h", None).await;
        let mail = followed_service(&app).await;
        let now = whole(clock.now());
        let ticket = planned_work(&app, mail, now.plus(10 * HOUR)).await;
        let t = id(&ticket);
        let due = |app: &TestApp| {
            let store = app.store.clone();
            async move { store.planned_jobs(t).await.unwrap().iter().map(|j| j.due_at).collect::<Vec<_>>() }
        };
        assert_eq!(due(&app).await, [now.plus(9 * HOUR)]);

        // Earlier.
        let ticket = app.put_ticket_changes(&ticket, json!({"StartTime": api_time(now.plus(5 * HOUR))})).await;
        assert_eq!(due(&app).await, [now.plus(4 * HOUR)]);
        // Later.
        let ticket = app.put_ticket_changes(&ticket, json!({"StartTime": api_time(now.plus(20 * HOUR)), "EndTime": api_time(now.plus(22 * HOUR))})).await;
        assert_eq!(due(&app).await, [now.plus(19 * HOUR)]);
        // Where the reminder's time has already passed: none.
        app.put_ticket_changes(&ticket, json!({"StartTime": api_time(now.plus(HOUR / 2)), "EndTime": api_time(now.plus(HOUR))})).await;
        assert!(due(&app).await.is_empty());

        advance(&app, &clock, 30 * HOUR).await;
        run_due(&app).await;
        assert!(reminders(&smtp).is_empty());
        assert!(!app.ticket_event_kinds(t).await.contains(&EventKind::Reminder));
        // Every message about it so far: the creation and three reschedules, each an invitation
        // with the same UID and a rising SEQUENCE.
        let messages = smtp.wait_for(4, WAIT).await;
        let mut sequences = Vec::new();
        for m in &messages {
            let (method, text) = calendar_part(m).expect("a calendar part");
            assert_eq!(method, "REQUEST");
            let cal = read_calendar(&text);
            assert_eq!(cal["METHOD"], "REQUEST");
            assert_eq!(cal["UID"], format!("ticket-{t}@status.example.com"));
            sequences.push(cal["SEQUENCE"].as_i64().unwrap());
        }
        sequences.sort();
        assert_eq!(sequences, [0, 1, 2, 3]);
    }

    async fn closing_or_deleting_before_the_start_cancels() {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let app = herald(&smtp, &clock, "1h", None).await;
        let mail = followed_service(&app).await;
        let now = whole(clock.now());
        let closed = planned_work(&app, mail, now.plus(5 * HOUR)).await;
        let deleted = planned_work(&app, mail, now.plus(6 * HOUR)).await;
        smtp.wait_for(2, WAIT).await;
        app.put_ticket_changes(&closed, json!({"ClosedTime": api_time(now.plus(Duration::from_secs(60)))})).await;
        assert_eq!(app.delete(&format!("/api/Tickets/{}", id(&deleted))).await.status(), 200);
        assert!(planned_leads(&app, id(&closed)).await.is_empty());
        assert!(planned_leads(&app, id(&deleted)).await.is_empty());

        let cancelled = wait_subjects(&smtp, "Planned maintenance cancelled", 2).await;
        assert_eq!(cancelled.len(), 2, "{cancelled:?}");
        for m in smtp.messages().iter().filter(|m| subject(m).starts_with("Planned maintenance cancelled")) {
            let (method, text) = calendar_part(m).expect("a calendar part");
            assert_eq!(method, "CANCEL");
            let cal = read_calendar(&text);
            assert_eq!(cal["METHOD"], "CANCEL");
            assert_eq!(cal["STATUS"], "CANCELLED");
            assert_eq!(cal["SEQUENCE"], 1);
        }
        advance(&app, &clock, 10 * HOUR).await;
        run_due(&app).await;
        assert!(reminders(&smtp).is_empty());
        assert_eq!(app.ticket_event_kinds(id(&deleted)).await, [EventKind::Created, EventKind::Deleted]);
    }

    async fn a_reminder_whose_time_has_passed_at_creation_is_not_sent() {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let app = herald(&smtp, &clock, "24h,1h", None).await;
        let mail = followed_service(&app).await;
        let start = whole(clock.now()).plus(2 * HOUR);
        let t = id(&planned_work(&app, mail, start).await);
        assert_eq!(planned_leads(&app, t).await, [HOUR]);
        advance_to(&app, &clock, start.minus(HOUR).plus(Duration::from_secs(1))).await;
        let sent = wait_subjects(&smtp, "Reminder", 1).await;
        assert!(sent[0].contains("in 1 hour"), "{sent:?}");
        advance(&app, &clock, 2 * HOUR).await;
        run_due(&app).await;
        assert_eq!(reminders(&smtp).len(), 1);
    }

    async fn quiet_planned_work_is_not_reminded_until_its_followers_are_told() {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let app = herald(&smtp, &clock, "1h", None).await;
        let mail = followed_service(&app).await;
        let start = whole(clock.now()).plus(5 * HOUR);
        let ticket = app
            .create(
                "/api/Tickets?DoNotSendEmail=true",
                &json!({"Description": "Quiet work", "Services": [{"Id": mail}], "StartTime": api_time(start)}),
            )
            .await;
        assert!(planned_leads(&app, id(&ticket)).await.is_empty());
        app.put_ticket_changes(&ticket, json!({"Description": "Quiet work, now announced"})).await;
        assert_eq!(planned_leads(&app, id(&ticket)).await, [HOUR]);
    }

    async fn after_downtime_a_reminder_is_sent_before_the_start_and_dropped_after() {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let (url, _dir) = lasting_database().await;
        let app = herald(&smtp, &clock, "1h", Some(&url)).await;
        let mail = followed_service(&app).await;
        let now = whole(clock.now());
        let soon = id(&planned_work(&app, mail, now.plus(3 * HOUR)).await);
        let later = id(&planned_work(&app, mail, now.plus(Duration::from_secs(2 * 3600 + 1800))).await);
        smtp.wait_for(2, WAIT).await;
        app.stop().await;

        // Herald is down from +0 to +2h45: both reminders' times pass (+2h and +1h30); the
        // second ticket's work begins (+2h30) while it is down.
        clock.advance(2 * HOUR + Duration::from_secs(45 * 60));
        let app = herald(&smtp, &clock, "1h", Some(&url)).await;
        let sent = wait_subjects(&smtp, "Reminder", 1).await;
        assert_eq!(sent.len(), 1);
        run_due(&app).await;
        assert_eq!(reminders(&smtp).len(), 1);
        assert_eq!(app.ticket_event_kinds(soon).await, [EventKind::Created, EventKind::Reminder]);
        assert_eq!(
            app.ticket_event_kinds(later).await,
            [EventKind::Created, EventKind::ReminderDropped],
            "dropped, and recorded"
        );
    }

    async fn an_overdue_update_is_noticed_once_and_rearmed() {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let app = herald(&smtp, &clock, "", None).await;
        app.create("/api/Operators", &json!({"Name": "Ada", "Email": "ada@example.com", "Password": "correct horse", "IsAdmin": true})).await;
        let mail = followed_service(&app).await;
        let now = whole(clock.now());
        let ticket = app
            .create(
                "/api/Tickets",
                &json!({"Description": "Mail is slow", "Services": [{"Id": mail}], "NextUpdateTime": api_time(now.plus(HOUR))}),
            )
            .await;
        let t = id(&ticket);
        smtp.wait_for(1, WAIT).await;
        advance(&app, &clock, HOUR + Duration::from_secs(5)).await;
        let notices = wait_subjects(&smtp, "Update overdue", 1).await;
        assert!(notices[0].contains(&format!("ticket #{t}")), "{notices:?}");
        let notice = smtp.messages_to("ada@example.com");
        assert_eq!(notice.len(), 1, "to the administrator, the ticket having no operator");
        let body = notice[0].parse().body_text(0).unwrap().to_string();
        assert!(body.contains(&format!("https://status.example.com/tickets/{t}")), "{body}");
        advance(&app, &clock, 5 * HOUR).await;
        run_due(&app).await;
        assert_eq!(smtp.messages_to("ada@example.com").len(), 1, "once");
        assert!(smtp.messages_to("ann@example.com").iter().all(|m| !subject(m).contains("overdue")));

        // A new promise re-arms it; an update posted in time keeps it.
        let now = whole(clock.now());
        let ticket = app.put_ticket_changes(&ticket, json!({"NextUpdateTime": api_time(now.plus(HOUR))})).await;
        advance(&app, &clock, HOUR + Duration::from_secs(5)).await;
        wait_subjects(&smtp, "Update overdue", 2).await;
        let now = whole(clock.now());
        let ticket = app.put_ticket_changes(&ticket, json!({"NextUpdateTime": api_time(now.plus(HOUR))})).await;
        app.put_ticket_changes(&ticket, json!({"Description": "Mail is slow; a fix is being tested"})).await;
        advance(&app, &clock, 2 * HOUR).await;
        run_due(&app).await;
        assert_eq!(smtp.messages_to("ada@example.com").len(), 2);
        let overdue = app.ticket_event_kinds(t).await.iter().filter(|k| **k == EventKind::Overdue).count();
        assert_eq!(overdue, 2, "shown in the history");
    }
}

#[test]
fn a_bad_reminder_setting_refuses_start_naming_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for bad in ["-1h", "soon", "24h,,1h"] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("herald.db").display());
        let config = test_config(&url).with(Key::MaintenanceReminders, bad);
        let built = rt.block_on(herald::startup::Application::build(config));
        let e = format!("{:#}", built.err().expect("refused"));
        assert!(
            e.contains("--maintenance-reminders") && e.contains(&format!("{bad:?}")),
            "{e}"
        );
    }
}

/// Two instances on one PostgreSQL database, both running the scheduler: each reminder once.
#[tokio::test]
async fn two_instances_send_each_reminder_once() {
    if !herald_test_support::postgres::available("two_instances_send_each_reminder_once") {
        return;
    }
    with_backend(Backend::Postgres, async {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let a = herald(&smtp, &clock, "2h,1h", None).await;
        let b = herald(&smtp, &clock, "2h,1h", Some(&a.database_url)).await;
        let mail = followed_service(&a).await;
        let now = whole(clock.now());
        const TICKETS: usize = 20;
        let mut tickets = Vec::new();
        for i in 0..TICKETS {
            let app = if i % 2 == 0 { &a } else { &b };
            let start = now.plus(3 * HOUR).plus(Duration::from_secs(i as u64));
            tickets.push(id(&planned_work(app, mail, start).await));
        }
        smtp.wait_for(TICKETS, WAIT).await;
        advance(&a, &clock, 3 * HOUR - Duration::from_secs(60)).await;
        wait_subjects(&smtp, "Reminder", 2 * TICKETS).await;
        run_due(&a).await;
        run_due(&b).await;
        assert_eq!(reminders(&smtp).len(), 2 * TICKETS);
        for t in tickets {
            let kinds = a.ticket_event_kinds(t).await;
            assert_eq!(
                kinds,
                [EventKind::Created, EventKind::Reminder, EventKind::Reminder],
                "ticket {t}"
            );
        }
    })
    .await;
}

/// With real time and short lead times: a reminder 20 s before the start, and an overdue
/// notice, each through the real SMTP server, waited for.
#[tokio::test]
async fn real_time_reminder_and_overdue_notice() {
    with_backend(Backend::Sqlite, async {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder()
            .smtp(&smtp)
            .delivery(fast_delivery())
            .setting(Key::MaintenanceReminders, "20s")
            .spawn()
            .await;
        app.create("/api/Operators", &json!({"Name": "Ada", "Email": "ada@example.com", "Password": "correct horse", "IsAdmin": true})).await;
        let mail = followed_service(&app).await;
        let now = whole(Timestamp::now());
        let start = now.plus(Duration::from_secs(23));
        let t = id(&planned_work(&app, mail, start).await);
        app.create(
            "/api/Tickets",
            &json!({"Description": "Mail is slow", "Services": [{"Id": mail}], "NextUpdateTime": api_time(now.plus(Duration::from_secs(3)))}),
        )
        .await;
        let reminder = wait_subjects(&smtp, "Reminder", 1).await;
        assert!(reminder[0].contains("in 20 seconds"), "{reminder:?}");
        let received = Timestamp::now();
        assert!(received < start, "the reminder came before the work began");
        wait_subjects(&smtp, "Update overdue", 1).await;
        let m = smtp
            .messages()
            .into_iter()
            .find(|m| subject(m).starts_with("Reminder"))
            .unwrap();
        let (method, text) = calendar_part(&m).expect("a calendar part");
        assert_eq!(method, "REQUEST");
        let cal = read_calendar(&text);
        assert_eq!(cal["UID"].as_str().unwrap(), format!("ticket-{t}@127.0.0.1"));
        assert_eq!(cal["SEQUENCE"], 0);
        assert_eq!(cal["DTSTART"], iso(start));
        assert_eq!(cal["DTEND"], iso(start.plus(2 * HOUR)));
    })
    .await;
}
