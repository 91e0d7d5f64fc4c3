//! Tickets: creation, the PUT rules (five fields replaced, close/reopen kept when omitted),
//! the lifecycle events recorded in the change's transaction, deletion keeping history.

use herald::domain::ticket::EventKind;
use herald_test_support::*;
use serde_json::{json, Value};

async fn setup(app: &TestApp) -> (i64, i64) {
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    let t = app.create_ticket("Mail is down", &[mail]).await["Id"]
        .as_i64()
        .unwrap();
    (mail, t)
}

herald_test_support::backend_tests! {
    async fn create_sets_server_fields_and_records_created() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let op = app.create("/api/Operators", &json!({"Name": "Ada", "Email": "ada@example.com", "IsAdmin": true, "Password": "correct horse"})).await;
        let t = app.create("/api/Tickets", &json!({
            "Description": "Mail is down",
            "StartTime": "2001-01-01T13:00:00+01:00",
            "ExpectedResolutionTime": "2001-01-01T15:00:00",
            "Services": [{"Id": mail}],
            "Operator": {"Id": op["Id"]},
            "CreatedTime": "1999-01-01T00:00:00Z",
            "IsClosed": true,
            "Unknown": "ignored",
        })).await;
        assert_eq!(t["StartTime"], "2001-01-01T12:00:00Z", "offsets are converted to UTC");
        assert_eq!(t["ExpectedResolutionTime"], "2001-01-01T15:00:00Z", "zone-less input is UTC");
        assert_ne!(t["CreatedTime"], "1999-01-01T00:00:00Z", "CreatedTime is the server's");
        assert!(t["CreatedTime"].as_str().unwrap().ends_with('Z'));
        assert_eq!(t["IsClosed"], false, "IsClosed is computed");
        assert_eq!(t["Operator"], json!({"Id": op["Id"], "Name": "Ada"}));
        let id = t["Id"].as_i64().unwrap();
        let recorded = app.store.ticket_events(id).await.unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].kind, EventKind::Created);
        assert_eq!(recorded[0].actor, "API key");
        assert!(recorded[0].notify);
    }

    async fn put_replaces_only_the_five_fields() {
        let app = TestApp::spawn().await;
        let (mail, id) = setup(&app).await;
        let web = app.create_service("Web").await["Id"].as_i64().unwrap();
        let r = app.put_json(&format!("/api/Tickets/{id}"), &json!({
            "Id": id,
            "Description": "Mail is slow",
            "EndTime": "2001-01-02T00:00:00Z",
            "NextUpdateTime": "2001-01-01T18:00:00Z",
            "Services": [{"Id": web}],
            "CreatedTime": "1999-01-01T00:00:00Z",
            "IsClosed": true,
        })).await;
        assert_eq!(r.status(), 204);
        let t = json(app.get(&format!("/api/Tickets/{id}")).await, 200).await;
        assert_eq!(t["Description"], "Mail is slow");
        assert_eq!(t["StartTime"], Value::Null, "an omitted replaced field is erased");
        assert_eq!(t["EndTime"], "2001-01-02T00:00:00Z");
        assert_eq!(t["NextUpdateTime"], "2001-01-01T18:00:00Z");
        assert_eq!(t["Services"][0]["Id"], mail, "Services are ignored on PUT");
        assert_eq!(t["IsClosed"], false);
        assert_eq!(app.ticket_event_kinds(id).await, [EventKind::Created, EventKind::Updated]);
    }

    async fn close_reopen_and_no_accidental_state_change() {
        let app = TestApp::spawn().await;
        let (_, id) = setup(&app).await;
        let path = format!("/api/Tickets/{id}");
        let put = |body: Value| { let app = &app; let path = path.clone(); async move { app.put_json(&path, &body).await.status().as_u16() } };

        assert_eq!(put(json!({"Id": id, "Description": "Mail is down", "StartTime": "2001-01-01T12:00:00Z", "ClosedTime": "2001-01-01T14:00:00Z"})).await, 204);
        let t = json(app.get(&path).await, 200).await;
        assert_eq!(t["IsClosed"], true);

        // GET, PUT back unchanged: no event, still closed.
        let mut back = t.clone();
        back["Description"] = json!("Mail is down");
        assert_eq!(app.put_json(&path, &back).await.status(), 204);
        // Omitting ClosedTime keeps it.
        assert_eq!(put(json!({"Id": id, "Description": "Mail is down", "StartTime": "2001-01-01T12:00:00Z"})).await, 204);
        assert_eq!(json(app.get(&path).await, 200).await["ClosedTime"], "2001-01-01T14:00:00Z");
        assert_eq!(app.ticket_event_kinds(id).await, [EventKind::Created, EventKind::Closed]);

        assert_eq!(put(json!({"Id": id, "Description": "Mail is down", "StartTime": "2001-01-01T12:00:00Z", "ReopenedTime": "2001-01-01T15:00:00Z"})).await, 204);
        let t = json(app.get(&path).await, 200).await;
        assert_eq!(t["IsClosed"], false);
        assert_eq!(t["ClosedTime"], "2001-01-01T14:00:00Z");
        assert_eq!(t["ReopenedTime"], "2001-01-01T15:00:00Z");

        assert_eq!(put(json!({"Id": id, "Description": "Mail is down", "StartTime": "2001-01-01T12:00:00Z", "ClosedTime": "2001-01-01T16:00:00Z"})).await, 204);
        assert_eq!(json(app.get(&path).await, 200).await["IsClosed"], true);
        assert_eq!(
            app.ticket_event_kinds(id).await,
            [EventKind::Created, EventKind::Closed, EventKind::Reopened, EventKind::Closed]
        );
    }

    async fn ticket_validation() {
        let app = TestApp::spawn().await;
        let (_, id) = setup(&app).await;
        let r = app.post_json("/api/Tickets", &json!({"Description": "x", "StartTime": "2001-01-02T00:00:00Z", "EndTime": "2001-01-01T00:00:00Z"})).await;
        let body = json(r, 400).await;
        assert_eq!(body["Message"], "The request is invalid.");
        assert!(body["ModelState"]["ticket.EndTime"][0].is_string());

        let r = app.put_json(&format!("/api/Tickets/{id}"), &json!({"Id": id, "Description": "x", "ReopenedTime": "2001-01-01T00:00:00Z"})).await;
        assert!(json(r, 400).await["ModelState"]["ticket.ReopenedTime"].is_array());

        let r = app.post_json("/api/Tickets", &json!({"Description": "x", "Services": [{"Id": 999}]})).await;
        assert!(json(r, 400).await["ModelState"]["ticket.Services"][0].as_str().unwrap().contains("999"));
        let r = app.post_json("/api/Tickets", &json!({"Description": "x", "Operator": {"Id": 77}})).await;
        assert!(json(r, 400).await["ModelState"]["ticket.Operator"].is_array());
        let r = app.post_json("/api/Tickets", &json!({"Description": "  "})).await;
        assert!(json(r, 400).await["ModelState"]["ticket.Description"].is_array());

        // Nothing changed.
        assert_eq!(json(app.get("/api/Tickets").await, 200).await.as_array().unwrap().len(), 1);
        assert_eq!(app.ticket_event_kinds(id).await, [EventKind::Created]);
    }

    async fn a_creation_writes_the_ticket_its_services_event_and_audit_entry_or_nothing() {
        // PostgreSQL writes them with one statement, SQLite with one each: the same rows.
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let web = app.create_service("Web").await["Id"].as_i64().unwrap();
        let gone = app.create_service("Gone").await["Id"].as_i64().unwrap();
        assert!(app.delete(&format!("/api/Services/{gone}")).await.status().is_success());
        let op = app.create("/api/Operators", &json!({"Name": "Ada", "Email": "ada@example.com", "IsAdmin": true, "Password": "correct horse"})).await["Id"].as_i64().unwrap();
        let count = |table: &'static str| {
            let pool = app.store.reader().clone();
            async move {
                sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let before: Vec<i64> = futures::future::join_all(
            ["tickets", "ticket_services", "ticket_events", "audit_log"].map(count),
        )
        .await;

        // A deleted service, an unknown one: a 400 naming them, and nothing written.
        let r = app.post_json("/api/Tickets", &json!({"Description": "x", "Services": [{"Id": mail}, {"Id": gone}, {"Id": 999}]})).await;
        let message = json(r, 400).await["ModelState"]["ticket.Services"][0].as_str().unwrap().to_owned();
        assert!(message.contains(&gone.to_string()) && message.contains("999"), "{message}");
        assert!(!message.contains(&format!("{mail},")), "{message}");
        let after: Vec<i64> = futures::future::join_all(
            ["tickets", "ticket_services", "ticket_events", "audit_log"].map(count),
        )
        .await;
        assert_eq!(after, before, "a refused creation wrote nothing");

        // Services out of order and twice, an operator: one link each, sorted, and the
        // event and the audit entry of the ticket as a read shows it.
        let created = app.create("/api/Tickets", &json!({"Description": "Mail is slow", "StartTime": "2030-01-01T00:00:00Z", "Services": [{"Id": web}, {"Id": mail}, {"Id": web}], "Operator": {"Id": op}})).await;
        let id = created["Id"].as_i64().unwrap();
        let read = json(app.get(&format!("/api/Tickets/{id}")).await, 200).await;
        assert_eq!(created, read);
        let names: Vec<&str> = read["Services"].as_array().unwrap().iter().map(|s| s["Name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Mail", "Web"]);
        assert_eq!(read["Operator"]["Name"], "Ada");
        assert_eq!(app.ticket_event_kinds(id).await, [EventKind::Created]);
        let (actor, changes): (String, String) = sqlx::query_as("SELECT actor, changes FROM ticket_events WHERE ticket_id = $1")
            .bind(id).fetch_one(app.store.reader()).await.unwrap();
        assert_eq!(actor, "API key");
        let changes: Value = serde_json::from_str(&changes).unwrap();
        let fields: Vec<&str> = changes.as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["Description", "StartTime"]);
        let (entity_id, action, new_values): (i64, String, String) = sqlx::query_as(
            "SELECT entity_id, action, new_values FROM audit_log WHERE entity = 'Ticket' ORDER BY id DESC LIMIT 1")
            .fetch_one(app.store.reader()).await.unwrap();
        assert_eq!((entity_id, action.as_str()), (id, "Created"));
        let new_values: Value = serde_json::from_str(&new_values).unwrap();
        assert_eq!(new_values["Services"], json!([mail, web]));
        assert_eq!(new_values["Operator"], json!(op));
        assert_eq!(new_values["Description"], "Mail is slow");
        assert_eq!(new_values["StartTime"], "2030-01-01T00:00:00Z");

        // No services at all.
        let bare = app.create("/api/Tickets", &json!({"Description": "No service"})).await;
        assert_eq!(bare["Services"], json!([]));
        assert_eq!(json(app.get(&format!("/api/Tickets/{}", bare["Id"])).await, 200).await, bare);
    }

    async fn do_not_send_email_is_recorded() {
        let app = TestApp::spawn().await;
        let a = app.create("/api/Tickets", &json!({"Description": "a", "doNotSendEmail": true})).await["Id"].as_i64().unwrap();
        let b = app.create("/api/Tickets?DoNotSendEmail=true", &json!({"Description": "b"})).await["Id"].as_i64().unwrap();
        let c = app.create("/api/Tickets", &json!({"Description": "c"})).await["Id"].as_i64().unwrap();
        let r = app.put_json(&format!("/api/Tickets/{c}?donotsendemail=TRUE"), &json!({"Id": c, "Description": "c2"})).await;
        assert_eq!(r.status(), 204);
        let notify = |id| { let app = &app; async move { app.store.ticket_events(id).await.unwrap().iter().map(|e| e.notify).collect::<Vec<_>>() } };
        assert_eq!(notify(a).await, [false]);
        assert_eq!(notify(b).await, [false]);
        assert_eq!(notify(c).await, [true, false]);
    }

    async fn deleting_keeps_history_of_services_and_operators() {
        let app = TestApp::spawn().await;
        let (mail, id) = setup(&app).await;
        app.create("/api/Operators", &json!({"Name": "Ada", "Email": "ada@example.com", "IsAdmin": true, "Password": "correct horse"})).await;
        let bob = app.create("/api/Operators", &json!({"Name": "Bob", "Email": "bob@example.com", "Password": "battery staple"})).await;
        let t2 = app.create("/api/Tickets", &json!({"Description": "x", "Operator": {"Id": bob["Id"]}, "Services": [{"Id": mail}]})).await;
        assert_eq!(app.delete(&format!("/api/Services/{mail}")).await.status(), 200);
        assert_eq!(app.delete(&format!("/api/Operators/{}", bob["Id"])).await.status(), 200);
        let t = json(app.get(&format!("/api/Tickets/{id}")).await, 200).await;
        assert_eq!(t["Services"][0]["Name"], "Mail");
        let t2 = json(app.get(&format!("/api/Tickets/{}", t2["Id"])).await, 200).await;
        assert_eq!(t2["Operator"]["Name"], "Bob");

        let deleted = json(app.delete(&format!("/api/Tickets/{id}")).await, 200).await;
        assert_eq!(deleted["Id"], id);
        assert_eq!(app.get(&format!("/api/Tickets/{id}")).await.status(), 404);
        assert_eq!(app.ticket_event_kinds(id).await, [EventKind::Created], "history is kept");
    }

    async fn etags_and_if_match() {
        let app = TestApp::spawn().await;
        let (_, id) = setup(&app).await;
        let path = format!("/api/Tickets/{id}");
        let r = app.get(&path).await;
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(app.get(&path).await.headers()["etag"].to_str().unwrap(), etag, "stable while unchanged");

        let body = json!({"Id": id, "Description": "changed"});
        let r = app.request(reqwest::Method::PUT, &path).header("If-Match", &etag).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 204);
        let new_etag = r.headers()["etag"].to_str().unwrap().to_owned();
        assert_ne!(new_etag, etag);

        // The old tag is stale now: 412, nothing changes.
        let r = app.request(reqwest::Method::PUT, &path).header("If-Match", &etag).json(&json!({"Id": id, "Description": "lost update"})).send().await.unwrap();
        assert_eq!(r.status(), 412);
        let r = app.request(reqwest::Method::DELETE, &path).header("If-Match", &etag).send().await.unwrap();
        assert_eq!(r.status(), 412);
        assert_eq!(json(app.get(&path).await, 200).await["Description"], "changed");

        let r = app.request(reqwest::Method::DELETE, &path).header("If-Match", &new_etag).send().await.unwrap();
        assert_eq!(r.status(), 200);

        let svc = app.create_service("Web").await;
        let r = app.request(reqwest::Method::PUT, &format!("/api/Services/{}", svc["Id"])).header("If-Match", "\"stale\"").json(&json!({"Id": svc["Id"], "Name": "W"})).send().await.unwrap();
        assert_eq!(r.status(), 412);
        let r = app.request(reqwest::Method::PUT, &format!("/api/Services/{}", svc["Id"])).header("If-Match", "*").json(&json!({"Id": svc["Id"], "Name": "W"})).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }

    async fn filters_and_paging() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let web = app.create_service("Web").await["Id"].as_i64().unwrap();
        for i in 0..6 {
            let services = if i % 2 == 0 { vec![mail] } else { vec![web] };
            let t = app.create_ticket(&format!("t{i}"), &services).await;
            if i < 2 {
                let id = t["Id"].as_i64().unwrap();
                app.put_json(&format!("/api/Tickets/{id}"), &json!({"Id": id, "Description": format!("t{i}"), "ClosedTime": "2001-01-02T00:00:00Z"})).await;
            }
        }
        let ids = |v: Value| v.as_array().unwrap().iter().map(|t| t["Id"].as_i64().unwrap()).collect::<Vec<_>>();
        assert_eq!(ids(json(app.get("/api/Tickets").await, 200).await), [1, 2, 3, 4, 5, 6]);
        assert_eq!(ids(json(app.get("/api/Tickets?isClosed=true").await, 200).await), [1, 2]);
        assert_eq!(ids(json(app.get("/api/Tickets?isclosed=false").await, 200).await), [3, 4, 5, 6]);
        assert_eq!(ids(json(app.get(&format!("/api/Tickets?serviceId={web}")).await, 200).await), [2, 4, 6]);
        assert_eq!(ids(json(app.get(&format!("/api/Tickets?serviceId={web}&isClosed=false")).await, 200).await), [4, 6]);
        assert_eq!(ids(json(app.get("/api/Tickets?$top=2&$skip=3").await, 200).await), [4, 5]);
        assert_eq!(ids(json(app.get("/api/Tickets?$skip=10").await, 200).await), Vec::<i64>::new());
        assert_eq!(ids(json(app.get("/api/Services?$top=1").await, 200).await), [1]);
        assert_eq!(json(app.get("/api/Tickets?unknown=1").await, 200).await.as_array().unwrap().len(), 6);
        for bad in ["$top=-1", "$skip=x", "isClosed=maybe", "serviceId=0"] {
            let r = app.get(&format!("/api/Tickets?{bad}")).await;
            assert!(json(r, 400).await["Message"].is_string(), "{bad}");
        }
    }
}
