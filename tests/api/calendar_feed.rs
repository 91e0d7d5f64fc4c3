//! The public calendar of planned work, read by Python's `icalendar`: the same `UID` and
//! `SEQUENCE` as the invitations, private services never shown, a cancelled event for work
//! called off before it began, and a 404 when the status page is off.

use std::time::Duration;

use chrono::SecondsFormat;
use herald::config::Key;
use herald::domain::Timestamp;
use serde_json::{json, Value};

use herald_test_support::*;

const HOUR: Duration = Duration::from_secs(3600);

pub fn id(v: &Value) -> i64 {
    v["Id"].as_i64().expect("an Id")
}

pub fn api_time(at: Timestamp) -> String {
    at.to_chrono().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Planned work starting `hours` from now on `services`.
pub async fn planned(app: &TestApp, description: &str, services: &[i64], hours: u32) -> Value {
    let start = Timestamp::now().plus(HOUR * hours);
    let services: Vec<Value> = services.iter().map(|s| json!({ "Id": s })).collect();
    app.create(
        "/api/Tickets",
        &json!({
            "Description": description,
            "Services": services,
            "StartTime": api_time(start),
            "EndTime": api_time(start.plus(2 * HOUR)),
        }),
    )
    .await
}

/// The events of a calendar feed as Python's `icalendar` reads them, by `UID`.
fn read_feed(text: &str) -> Value {
    let out = python::run(
        r#"
import json, sys, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.read())
events = {}
for ev in cal.walk("VEVENT"):
    events[str(ev.get("UID"))] = {
        "SEQUENCE": int(ev.get("SEQUENCE")),
        "DTSTART": ev.decoded("DTSTART").isoformat(),
        "SUMMARY": str(ev.get("SUMMARY")),
        "DESCRIPTION": str(ev.get("DESCRIPTION")),
        "STATUS": str(ev.get("STATUS")),
    }
print(json.dumps({"METHOD": str(cal.get("METHOD")), "events": events}))
"#,
        text.as_bytes(),
    );
    serde_json::from_str(&out).expect("the script prints JSON")
}

async fn feed(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/calendar"), "{content_type}");
    read_feed(&response.text().await.unwrap())
}

herald_test_support::backend_tests! {
    async fn the_calendar_feed_shows_public_planned_work_under_the_invitations_uids() {
        let app = TestApp::builder()
            .setting(Key::PublicUrl, "https://status.example.com")
            .spawn()
            .await;
        let mail = id(&app.create_service("Mail").await);
        let internal = app
            .create(
                "/api/Services",
                &json!({ "Name": "Internal billing", "IsPublic": false }),
            )
            .await;
        let internal = id(&internal);

        let upgrade = planned(&app, "Mail server upgrade", &[mail, internal], 48).await;
        let hidden = planned(&app, "Billing batch move", &[internal], 24).await;
        let called_off = planned(&app, "Mail archive move", &[mail], 72).await;
        // Not planned work: a disruption that began now.
        app.create_ticket("Mail is slow", &[mail]).await;

        // Rescheduled twice: SEQUENCE 2, at the new time.
        let path = format!("/api/Tickets/{}", id(&upgrade));
        let mut body = upgrade.clone();
        for hours in [50, 52] {
            let start = Timestamp::now().plus(HOUR * hours);
            body["StartTime"] = json!(api_time(start));
            body["EndTime"] = json!(api_time(start.plus(HOUR)));
            assert_eq!(app.put_json(&path, &body).await.status(), 204);
        }
        let expected_start = json(app.get(&path).await, 200).await["StartTime"].clone();
        // Closed before it began: called off.
        let path = format!("/api/Tickets/{}", id(&called_off));
        let mut body = called_off.clone();
        body["ClosedTime"] = json!(api_time(Timestamp::now()));
        assert_eq!(app.put_json(&path, &body).await.status(), 204);

        let all = feed(&app, "/status/calendar.ics").await;
        assert_eq!(all["METHOD"], "PUBLISH");
        let events = all["events"].as_object().unwrap();
        assert_eq!(events.len(), 2, "{all}");
        let upgrade_uid = format!("ticket-{}@status.example.com", id(&upgrade));
        let event = &events[&upgrade_uid];
        assert_eq!(event["SEQUENCE"], 2);
        assert_eq!(event["SUMMARY"], "Planned maintenance: Mail", "no private service named");
        assert_eq!(event["DESCRIPTION"], "Mail server upgrade");
        assert_eq!(event["STATUS"], "CONFIRMED");
        let start = chrono::DateTime::parse_from_rfc3339(event["DTSTART"].as_str().unwrap()).unwrap();
        let expected =
            chrono::DateTime::parse_from_rfc3339(expected_start.as_str().unwrap()).unwrap();
        assert_eq!(start, expected);
        let cancelled = &events[&format!("ticket-{}@status.example.com", id(&called_off))];
        assert_eq!(cancelled["STATUS"], "CANCELLED");
        assert_eq!(cancelled["SEQUENCE"], 1);
        assert!(!events.contains_key(&format!("ticket-{}@status.example.com", id(&hidden))));

        let one = feed(&app, &format!("/status/services/{mail}/calendar.ics")).await;
        assert_eq!(one["events"].as_object().unwrap().len(), 2);
        for path in [
            format!("/status/services/{internal}/calendar.ics"),
            "/status/services/999999/calendar.ics".to_owned(),
            "/status/services/x/calendar.ics".to_owned(),
        ] {
            assert_eq!(app.get(&path).await.status(), 404, "{path}");
        }
    }

    async fn without_the_status_page_there_is_no_calendar() {
        let app = TestApp::builder()
            .setting(Key::StatusPage, "off")
            .spawn()
            .await;
        let mail = id(&app.create_service("Mail").await);
        planned(&app, "Mail server upgrade", &[mail], 48).await;
        for path in ["/status/calendar.ics".to_owned(), format!("/status/services/{mail}/calendar.ics")] {
            assert_eq!(app.get(&path).await.status(), 404, "{path}");
        }
    }
}
