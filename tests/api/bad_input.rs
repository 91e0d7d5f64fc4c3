//! Every class of bad input gets a clear 4xx and changes nothing.

use herald_test_support::*;
use reqwest::Method;
use serde_json::json;

async fn send(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut r = app.request(Method::POST, path).body(body);
    if let Some(ct) = content_type {
        r = r.header("Content-Type", ct);
    }
    r.send().await.unwrap()
}

async fn assert_nothing_changed(app: &TestApp) {
    assert_eq!(
        json(app.get("/api/Services").await, 200).await,
        json!([{"Id": 1, "Name": "Mail", "Description": null}])
    );
    assert_eq!(json(app.get("/api/Tickets").await, 200).await, json!([]));
    assert_eq!(json(app.get("/api/Customers").await, 200).await, json!([]));
}

herald_test_support::backend_tests! {
    async fn malformed_bodies_are_400() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        let cases: Vec<(&str, &str, Vec<u8>)> = vec![
            ("/api/Tickets", "application/json", br#"{"Description": "x""#.to_vec()),
            ("/api/Tickets", "application/json", b"[1,2]".to_vec()),
            ("/api/Tickets", "application/json", b"".to_vec()),
            ("/api/Tickets", "application/json", b"{\"Description\": \"\xff\xfe\"}".to_vec()),
            ("/api/Tickets", "application/xml", b"<Ticket><Description>x</Ticket>".to_vec()),
            ("/api/Tickets", "application/xml", b"<Ticket><Description>\xff</Description></Ticket>".to_vec()),
            ("/api/Tickets", "application/xml", br#"<!DOCTYPE t [<!ENTITY x "boom">]><Ticket><Description>&x;</Description></Ticket>"#.to_vec()),
            ("/api/Tickets", "application/xml", br#"<!DOCTYPE t SYSTEM "file:///etc/passwd"><Ticket><Description>x</Description></Ticket>"#.to_vec()),
            ("/api/Tickets", "application/xml", b"<Ticket><Description>&undefined;</Description></Ticket>".to_vec()),
            ("/api/Customers", "application/x-www-form-urlencoded", b"Name=%FF%FE".to_vec()),
        ];
        for (path, ct, body) in cases {
            let r = send(&app, path, Some(ct), body.clone()).await;
            let status = r.status();
            let text = r.text().await.unwrap();
            assert_eq!(status, 400, "{ct} {:?}: {text}", String::from_utf8_lossy(&body));
            assert!(text.contains("Message"), "{text}");
            assert!(!text.contains("boom") && !text.contains("root:"), "never expanded: {text}");
        }
        assert_nothing_changed(&app).await;
    }

    async fn wrong_types_ranges_and_rules_name_the_field() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        let cases = vec![
            ("/api/Tickets", json!({"Description": 5.5, "StartTime": 12}), "ticket.StartTime"),
            ("/api/Tickets", json!({"Description": "x", "StartTime": "2001-02-30T00:00:00Z"}), "ticket.StartTime"),
            ("/api/Tickets", json!({"Description": "x", "Services": [{"Id": 1e20}]}), "ticket.Services[0].Id"),
            ("/api/Tickets", json!({"Description": "x", "Services": [{"Id": 4294967296i64}]}), "ticket.Services[0].Id"),
            ("/api/Tickets", json!({"Description": "x", "Services": "Mail"}), "ticket.Services"),
            ("/api/Tickets", json!({"Description": ["x"]}), "ticket.Description"),
            ("/api/Customers", json!({"Name": "Ann", "Email": "not-an-address"}), "customer.Email"),
            ("/api/Customers", json!({"Name": "Ann", "CellPhone": "call me"}), "customer.CellPhone"),
            ("/api/Customers", json!({"Name": "Ann", "Services": [{"Id": 42}]}), "customer.Services"),
            ("/api/Customers", json!({"Email": "ann@example.com"}), "customer.Name"),
            ("/api/Services", json!({"Name": "MAIL"}), "service.Name"),
            ("/api/Services", json!({"Name": "x".repeat(201)}), "service.Name"),
            ("/api/Operators", json!({"Name": "Op", "Email": "op@example.com", "IsAdmin": "sometimes", "Password": "longenough"}), "operator.IsAdmin"),
            ("/api/Operators", json!({"Name": "Op", "Email": "op@example.com", "Password": "short"}), "operator.Password"),
        ];
        for (path, body, field) in cases {
            let r = app.post_json(path, &body).await;
            let got = json(r, 400).await;
            assert_eq!(got["Message"], "The request is invalid.", "{body}");
            assert!(got["ModelState"][field].is_array(), "{body} should name {field}: {got}");
        }
        assert_nothing_changed(&app).await;
        assert_eq!(json(app.get("/api/Operators").await, 200).await, json!([]));
    }

    async fn duplicate_names_and_emails() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        let web = app.create_service("Web").await;
        let r = app.put_json(&format!("/api/Services/{}", web["Id"]), &json!({"Id": web["Id"], "Name": "mail"})).await;
        assert!(json(r, 400).await["ModelState"]["service.Name"].is_array());
        app.create("/api/Operators", &json!({"Name": "Ada", "Email": "ada@example.com", "Password": "correct horse", "IsAdmin": true})).await;
        let r = app.post_json("/api/Operators", &json!({"Name": "Ada 2", "Email": "ADA@example.com", "Password": "correct horse"})).await;
        assert!(json(r, 400).await["ModelState"]["operator.Email"].is_array());
    }

    async fn media_types_and_sizes() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        let r = send(&app, "/api/Tickets", None, br#"{"Description":"x"}"#.to_vec()).await;
        assert!(json(r, 415).await["Message"].as_str().unwrap().contains("media type"));
        let r = send(&app, "/api/Tickets", Some("text/plain"), b"x".to_vec()).await;
        assert_eq!(r.status(), 415);
        let big = format!(r#"{{"Description":"{}"}}"#, "x".repeat(1024 * 1024 + 10));
        let r = send(&app, "/api/Tickets", Some("application/json"), big.into_bytes()).await;
        assert_eq!(r.status(), 413);
        assert_nothing_changed(&app).await;
    }
}
