//! Times keep .NET's 100 ns precision (seven fractional digits) through storage, JSON, XML,
//! entity tags and history, and rows stored by the first release (times in microseconds,
//! history values as text) still read as they were.

use std::path::Path;

use reqwest::Method;
use serde_json::json;
use sqlx::migrate::Migrator;

use herald::domain::{FieldChange, FieldValue, TicketField, Timestamp};
use herald::wire::datetime;

use herald_test_support::*;

const SEVEN: &str = "2001-01-01T12:59:59.9999999Z";
const SEVEN_LATER: &str = "2001-01-01T13:00:00.0000001Z";

/// The first migration that stores 100 ns ticks (all before it stored microseconds).
const TICKS_MIGRATION: i64 = 20261201094500;

fn time(text: &str) -> Timestamp {
    datetime::parse(text).unwrap()
}

herald_test_support::backend_tests! {
    async fn seven_fractional_digits_round_trip_in_json_and_xml() {
        let app = TestApp::spawn().await;
        let created = app
            .create("/api/Tickets", &json!({"Description": "d", "StartTime": SEVEN, "EndTime": SEVEN_LATER}))
            .await;
        assert_eq!(created["StartTime"], SEVEN);
        let id = created["Id"].as_i64().unwrap();
        let path = format!("/api/Tickets/{id}");
        let read = app.get(&path).await;
        let etag = read.headers()["etag"].to_str().unwrap().to_owned();
        let read = json(read, 200).await;
        assert_eq!(read["StartTime"], SEVEN);
        assert_eq!(read["EndTime"], SEVEN_LATER);

        // A PUT that only moves the seventh digit is a change: a new entity tag, an event.
        let mut moved = read.clone();
        moved["StartTime"] = json!("2001-01-01T12:59:59.9999998Z");
        let r = app.request(Method::PUT, &path).header("If-Match", &etag).json(&moved).send().await.unwrap();
        assert_eq!(r.status(), 204);
        let after = app.get(&path).await;
        assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(json(after, 200).await["StartTime"], "2001-01-01T12:59:59.9999998Z");
        let events = app.store.ticket_events(id).await.unwrap();
        assert_eq!(events.len(), 2, "the move of 100 ns was recorded");
        let moved_by = &events[1].changes;
        assert_eq!(moved_by.len(), 1);
        assert_eq!(moved_by[0].field, TicketField::StartTime);
        assert_eq!(moved_by[0].before, Some(FieldValue::Time(time(SEVEN))));
        assert_eq!(moved_by[0].after, Some(FieldValue::Time(time("2001-01-01T12:59:59.9999998Z"))));

        let xml = format!("<Ticket><Description>x</Description><StartTime>{SEVEN}</StartTime></Ticket>");
        let body = text(app.send_xml(Method::POST, "/api/Tickets", &xml).await, 201).await;
        assert!(body.contains(&format!("<StartTime>{SEVEN}</StartTime>")), "{body}");
        let body = text(app.get_xml(&format!("/api/Tickets/{}", id + 1)).await, 200).await;
        assert!(body.contains(&format!("<StartTime>{SEVEN}</StartTime>")), "{body}");
        app.stop().await;
    }

    async fn rows_stored_in_microseconds_read_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let url = match current_backend() {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display()),
            Backend::Postgres => herald_test_support::postgres::fresh_database().await,
        };
        let folder = match current_backend() {
            Backend::Sqlite => "migrations/sqlite",
            Backend::Postgres => "migrations/postgres",
        };
        let mut before = Migrator::new(Path::new(folder)).await.unwrap();
        before.migrations = before.migrations.iter().filter(|m| m.version < TICKS_MIGRATION).cloned().collect::<Vec<_>>().into();
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        before.run(&pool).await.unwrap();
        // 2001-01-01T11:59:59.999999Z, and an hour later, in microseconds.
        let start = 978_350_399_999_999i64;
        let end = start + 3_600_000_000;
        let content = json!({
            "kind": "created", "at": end, "ticket_id": 1, "ticket_created": end,
            "description": "Mail is slow", "services": ["Mail"],
            "start_time": start, "end_time": null, "expected_resolution_time": null,
            "next_update_time": null, "closed_time": null, "reopened_time": null,
        });
        for (sql, binds) in [
            ("INSERT INTO services (id, name) VALUES (1, 'Mail')", vec![]),
            ("INSERT INTO tickets (id, description, start_time, created_time, is_closed) \
              VALUES (1, 'Mail is slow', $1, $2, 0)", vec![start, end]),
            ("INSERT INTO ticket_services (ticket_id, service_id) VALUES (1, 1)", vec![]),
            ("INSERT INTO ticket_events (id, ticket_id, kind, at, actor, notify, changes) \
              VALUES (1, 1, 'created', $1, 'API', 1, \
              '[{\"field\":\"StartTime\",\"before\":null,\"after\":\"2001-01-01T11:59:59.999999Z\"}]')", vec![end]),
            ("INSERT INTO customers (id, name, email) VALUES (1, 'Ann', 'ann@example.com')", vec![]),
        ] {
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(b);
            }
            q.execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO notification_events (event_id, ticket_id, content) VALUES (1, 1, $1)")
            .bind(content.to_string())
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO notifications (id, event_id, ticket_id, customer_id, email, name, state, \
             attempts, queued_at, last_attempt_at, sent_at, reply) \
             VALUES (1, 1, 1, 1, 'ann@example.com', 'Ann', 'sent', 1, $1, $1, $1, '250 OK')",
        )
        .bind(end)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let app = TestApp::builder().database(&url).spawn().await;
        let ticket = json(app.get("/api/Tickets/1").await, 200).await;
        assert_eq!(ticket["StartTime"], "2001-01-01T11:59:59.999999Z");
        assert_eq!(ticket["CreatedTime"], "2001-01-01T12:59:59.999999Z");
        let sent = json(app.get("/api/Tickets/1/Notifications").await, 200).await;
        assert_eq!(sent[0]["SentTime"], "2001-01-01T12:59:59.999999Z");
        let events = app.store.ticket_events(1).await.unwrap();
        assert_eq!(datetime::format(events[0].at), "2001-01-01T12:59:59.999999Z");
        // The first release stored the changes' values as the API's text: its times read as times.
        assert_eq!(events[0].changes, [FieldChange {
            field: TicketField::StartTime,
            before: None,
            after: Some(FieldValue::Time(time("2001-01-01T11:59:59.999999Z"))),
        }]);
        let contents = app.store.event_contents(&[1]).await.unwrap();
        assert_eq!(contents[0].at, events[0].at);
        assert_eq!(contents[0].times.start_time.map(datetime::format).as_deref(),
            Some("2001-01-01T11:59:59.999999Z"));
        app.stop().await;
    }
}
