//! `PATCH` with a JSON merge patch (RFC 7396) on every resource: only the named properties
//! change, under PUT's rules, events, `If-Match` and answers; bad patches change nothing.

use herald::domain::ticket::EventKind;
use herald_test_support::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

const MERGE_PATCH: &str = "application/merge-patch+json";

async fn patch(app: &TestApp, path: &str, body: &Value) -> Response {
    app.request(Method::PATCH, path)
        .header("Content-Type", MERGE_PATCH)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn patch_with(app: &TestApp, path: &str, body: &Value, header: (&str, &str)) -> Response {
    app.request(Method::PATCH, path)
        .header("Content-Type", MERGE_PATCH)
        .header(header.0, header.1)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn events(app: &TestApp, ticket: i64) -> Vec<(EventKind, bool)> {
    app.store
        .ticket_events(ticket)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.notify))
        .collect()
}

herald_test_support::backend_tests! {
    async fn patching_a_service_changes_only_what_it_names() {
        let app = TestApp::spawn().await;
        let svc = app.create("/api/Services", &json!({"Name": "Mail", "Description": "SMTP"})).await;
        let path = format!("/api/Services/{}", svc["Id"]);

        let r = patch(&app, &path, &json!({"description": "SMTP and IMAP"})).await;
        assert_eq!(r.status(), 204);
        let tag = r.headers()["etag"].to_str().unwrap().to_owned();
        let now = app.get(&path).await;
        assert_eq!(now.headers()["etag"].to_str().unwrap(), tag, "the answer's ETag is the entity's");
        let now = json(now, 200).await;
        assert_eq!(now, json!({"Id": svc["Id"], "Name": "Mail", "Description": "SMTP and IMAP", "IsPublic": true}));

        // null erases; Prefer gives the entity back, as for PUT.
        let r = patch_with(&app, &path, &json!({"Description": null, "Id": svc["Id"]}), ("Prefer", "return=representation")).await;
        assert_eq!(json(r, 200).await, json!({"Id": svc["Id"], "Name": "Mail", "Description": null, "IsPublic": true}));

        // Stale If-Match: 412, nothing changes; the current tag works; * works.
        let r = patch_with(&app, &path, &json!({"Name": "Lost"}), ("If-Match", &tag)).await;
        assert_eq!(r.status(), 412);
        assert_eq!(json(app.get(&path).await, 200).await["Name"], "Mail");
        let current = app.get(&path).await.headers()["etag"].to_str().unwrap().to_owned();
        let r = patch_with(&app, &path, &json!({"Name": "Post"}), ("If-Match", &current)).await;
        assert_eq!(r.status(), 204);
        let r = patch_with(&app, &path, &json!({"Name": "Mail"}), ("If-Match", "*")).await;
        assert_eq!(r.status(), 204);

        // The same rules as PUT: a name in use is refused, a bad name names the field.
        app.create_service("Web").await;
        let r = patch(&app, &path, &json!({"Name": "WEB"})).await;
        let put = app.put_json(&path, &json!({"Id": svc["Id"], "Name": "WEB"})).await;
        assert_eq!(r.status(), put.status(), "a duplicate name answers as PUT does");
        assert!(r.status().is_client_error());
        let r = patch(&app, &path, &json!({"Name": ""})).await;
        assert!(json(r, 400).await["ModelState"]["service.Name"].is_array());
        let r = patch(&app, "/api/Services/999999", &json!({"Name": "x"})).await;
        assert_eq!(r.status(), 404);
        assert_eq!(json(app.get(&path).await, 200).await["Name"], "Mail", "nothing changed");
    }

    async fn bad_patches_are_refused_and_change_nothing() {
        let app = TestApp::spawn().await;
        let svc = app.create_service("Mail").await;
        let path = format!("/api/Services/{}", svc["Id"]);
        let before = json(app.get(&path).await, 200).await;

        for body in ["{\"Name\": ", "[{\"Name\": \"x\"}]", "\"x\"", ""] {
            let r = app.request(Method::PATCH, &path).header("Content-Type", MERGE_PATCH).body(body).send().await.unwrap();
            let error = json(r, 400).await;
            assert_eq!(error["Message"], "The request is invalid.", "{body:?}");
            assert!(error["ModelState"]["service"][0].is_string(), "{body:?}: {error}");
        }
        let r = patch(&app, &path, &json!({"Id": 999, "Name": "x"})).await;
        assert!(json(r, 400).await["ModelState"]["service.Id"].is_array());

        // Another media type: 415, even a JSON one.
        for content_type in ["application/json", "application/xml", "application/json-patch+json"] {
            let r = app.request(Method::PATCH, &path).header("Content-Type", content_type).body("{\"Name\": \"x\"}").send().await.unwrap();
            assert_eq!(r.status(), 415, "{content_type}");
        }
        let r = app.request(Method::PATCH, &path).body("{\"Name\": \"x\"}").send().await.unwrap();
        assert_eq!(r.status(), 415, "no Content-Type");

        let r = app.request(Method::PATCH, "/api/Services/abc").header("Content-Type", MERGE_PATCH).body("{}").send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(json(app.get(&path).await, 200).await, before);
    }

    async fn patching_a_customer_keeps_its_services_unless_named() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let web = app.create_service("Web").await["Id"].as_i64().unwrap();
        let ann = app.create("/api/Customers", &json!({"Name": "Ann", "Email": "ann@example.com", "CellPhone": "+1 555 0100", "Services": [{"Id": mail}]})).await;
        let path = format!("/api/Customers/{}", ann["Id"]);

        let r = patch(&app, &path, &json!({"Email": "ann@example.org"})).await;
        assert_eq!(r.status(), 204);
        let now = json(app.get(&path).await, 200).await;
        assert_eq!(now["Email"], "ann@example.org");
        assert_eq!(now["CellPhone"], "+1 555 0100");
        assert_eq!(now["Services"][0]["Id"], mail);

        // A list is replaced whole; null erases.
        let r = patch(&app, &path, &json!({"Services": [{"Id": web}, {"Id": mail}], "CellPhone": null})).await;
        assert_eq!(r.status(), 204);
        let now = json(app.get(&path).await, 200).await;
        let mut followed: Vec<i64> = now["Services"].as_array().unwrap().iter().map(|s| s["Id"].as_i64().unwrap()).collect();
        followed.sort();
        assert_eq!(followed, [mail, web]);
        assert_eq!(now["CellPhone"], Value::Null);
        assert_eq!(now["Name"], "Ann");

        let r = patch(&app, &path, &json!({"Services": null})).await;
        assert_eq!(r.status(), 204);
        assert_eq!(json(app.get(&path).await, 200).await["Services"], json!([]));

        // Invalid values: 400 naming the field, nothing changed.
        let before = json(app.get(&path).await, 200).await;
        let r = patch(&app, &path, &json!({"Email": "not an address", "Services": [{"Id": 999999}]})).await;
        let error = json(r, 400).await;
        assert!(error["ModelState"]["customer.Email"].is_array(), "{error}");
        assert_eq!(json(app.get(&path).await, 200).await, before);
    }

    async fn patching_an_operator_keeps_the_password_and_the_admin_rules() {
        let app = TestApp::spawn().await;
        let op = app.create("/api/Operators", &json!({"Name": "Op", "Email": "op@example.com", "IsAdmin": true, "Password": "correct horse battery"})).await;
        let id = op["Id"].as_i64().unwrap();
        let path = format!("/api/Operators/{id}");

        let r = patch_with(&app, &path, &json!({"CellPhone": "+44 20 7946 0000"}), ("Prefer", "return=representation")).await;
        let now = json(r, 200).await;
        assert_eq!(now["CellPhone"], "+44 20 7946 0000");
        assert_eq!(now["Email"], "op@example.com");
        assert!(now.get("Password").is_none(), "never returned");
        let hash = |app: &TestApp| {
            let store = app.store.clone();
            async move {
                let (op, hash) = store.operator_credentials("op@example.com").await.unwrap().unwrap();
                assert_eq!(op.id, id);
                hash.expect("a password").0
            }
        };
        let kept = hash(&app).await;
        let r = patch(&app, &path, &json!({"Name": "Operator"})).await;
        assert_eq!(r.status(), 204);
        assert_eq!(hash(&app).await, kept, "the password is kept");
        let r = patch(&app, &path, &json!({"Password": "another horse battery"})).await;
        assert_eq!(r.status(), 204);
        assert_ne!(hash(&app).await, kept, "a named password is set");

        // The last administrator stays one, as with PUT.
        let r = patch(&app, &path, &json!({"IsAdmin": false})).await;
        assert_eq!(r.status(), 400);
        assert_eq!(json(app.get(&path).await, 200).await["IsAdmin"], true);
    }

    async fn patching_a_ticket_follows_the_put_rules_and_events() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        let t = app.create("/api/Tickets", &json!({"Description": "Mail is down", "StartTime": "2001-01-01T12:00:00Z", "Services": [{"Id": mail}]})).await;
        let id = t["Id"].as_i64().unwrap();
        let path = format!("/api/Tickets/{id}");

        // An empty patch and one repeating the stored values are no event.
        assert_eq!(patch(&app, &path, &json!({})).await.status(), 204);
        assert_eq!(patch(&app, &path, &json!({"Description": "Mail is down"})).await.status(), 204);
        assert_eq!(events(&app, id).await, [(EventKind::Created, true)]);

        // Only the named field changes: an update.
        let r = patch(&app, &path, &json!({"NextUpdateTime": "2001-01-01T13:00:00Z"})).await;
        assert_eq!(r.status(), 204);
        let now = json(app.get(&path).await, 200).await;
        assert_eq!(now["StartTime"], "2001-01-01T12:00:00Z");
        assert_eq!(now["NextUpdateTime"], "2001-01-01T13:00:00Z");
        assert_eq!(now["Description"], "Mail is down");

        // A close, quietly; then a reopen that notifies.
        let r = patch(&app, &path, &json!({"ClosedTime": "2001-01-01T14:00:00Z", "DoNotSendEmail": true})).await;
        assert_eq!(r.status(), 204);
        assert_eq!(json(app.get(&path).await, 200).await["IsClosed"], true);
        let r = patch_with(&app, &path, &json!({"ReopenedTime": "2001-01-01T15:00:00Z"}), ("Prefer", "return=representation")).await;
        assert_eq!(json(r, 200).await["IsClosed"], false);
        assert_eq!(
            events(&app, id).await,
            [(EventKind::Created, true), (EventKind::Updated, true), (EventKind::Closed, false), (EventKind::Reopened, true)]
        );
        // Notifications as PUT queues them: Ann for each event that notifies.
        let list = json(app.get(&format!("/api/Tickets/{id}/Notifications")).await, 200).await;
        let mut kinds: Vec<String> = list.as_array().unwrap().iter().map(|n| n["Event"].as_str().unwrap().to_owned()).collect();
        kinds.sort();
        assert_eq!(kinds.len(), 3, "{list}");
        assert!(!kinds.iter().any(|k| k.eq_ignore_ascii_case("closed")), "the quiet close queued nothing: {kinds:?}");

        // ClosedTime null keeps the stored value (PUT's rule for the close/reopen times).
        assert_eq!(patch(&app, &path, &json!({"ClosedTime": null})).await.status(), 204);
        assert_eq!(json(app.get(&path).await, 200).await["ClosedTime"], "2001-01-01T14:00:00Z");

        // Read-only properties, and validation: 400, nothing changed, no event.
        let before = json(app.get(&path).await, 200).await;
        let r = patch(&app, &path, &json!({"Services": [], "IsClosed": true, "Operator": null, "CreatedTime": "2001-01-01T00:00:00Z"})).await;
        let error = json(r, 400).await;
        for field in ["ticket.Services", "ticket.IsClosed", "ticket.Operator", "ticket.CreatedTime"] {
            assert!(error["ModelState"][field].is_array(), "{field}: {error}");
        }
        let r = patch(&app, &path, &json!({"EndTime": "2000-01-01T00:00:00Z"})).await;
        assert!(json(r, 400).await["ModelState"]["ticket.EndTime"].is_array());
        let r = patch(&app, &path, &json!({"Description": null})).await;
        assert!(json(r, 400).await["ModelState"]["ticket.Description"].is_array());
        let r = patch(&app, &path, &json!({"StartTime": "yesterday"})).await;
        assert!(json(r, 400).await["ModelState"]["ticket.StartTime"].is_array());
        assert_eq!(json(app.get(&path).await, 200).await, before);
        assert_eq!(events(&app, id).await.len(), 4);

        // A stale If-Match: 412.
        let tag = app.get(&path).await.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(patch(&app, &path, &json!({"Description": "Mail is back"})).await.status(), 204);
        let r = patch_with(&app, &path, &json!({"Description": "lost"}), ("If-Match", &tag)).await;
        assert_eq!(r.status(), 412);
        assert_eq!(json(app.get(&path).await, 200).await["Description"], "Mail is back");
    }

    async fn concurrent_patches_of_different_fields_both_land() {
        let app = TestApp::spawn().await;
        let ann = app.create_customer("Ann", Some("ann@example.com"), &[]).await;
        let path = format!("/api/Customers/{}", ann["Id"]);
        for round in 0..10 {
            let (name, phone) = (json!({"Name": format!("Ann {round}")}), json!({"CellPhone": format!("+1 555 01{round:02}")}));
            let (a, b) = tokio::join!(patch(&app, &path, &name), patch(&app, &path, &phone));
            assert_eq!((a.status().as_u16(), b.status().as_u16()), (204, 204), "round {round}");
            let now = json(app.get(&path).await, 200).await;
            assert_eq!(now["Name"], format!("Ann {round}"), "round {round}");
            assert_eq!(now["CellPhone"], format!("+1 555 01{round:02}"), "round {round}");
        }
    }
}
