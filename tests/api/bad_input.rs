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
        json!([{"Id": 1, "Name": "Mail", "Description": null, "IsPublic": true}])
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
    async fn characters_xml_cannot_carry_are_refused_naming_the_field() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        // Every text field of every resource, each with a valid rest of the body.
        let fields: Vec<(&str, &str, serde_json::Value)> = vec![
            ("/api/Services", "service.Name", json!({})),
            ("/api/Services", "service.Description", json!({"Name": "Web"})),
            ("/api/Customers", "customer.Name", json!({})),
            ("/api/Customers", "customer.Email", json!({"Name": "Ann"})),
            ("/api/Customers", "customer.CellPhone", json!({"Name": "Ann"})),
            ("/api/Operators", "operator.Name", json!({"Email": "op@example.com", "Password": "correct horse"})),
            ("/api/Operators", "operator.Email", json!({"Name": "Op", "Password": "correct horse"})),
            ("/api/Operators", "operator.CellPhone", json!({"Name": "Op", "Email": "op@example.com", "Password": "correct horse"})),
            ("/api/Operators", "operator.Password", json!({"Name": "Op", "Email": "op@example.com"})),
            ("/api/Tickets", "ticket.Description", json!({})),
        ];
        for bad in ['\u{FFFE}', '\u{FFFF}', '\u{1}', '\u{1F}', '\u{B}'] {
            for (path, key, rest) in &fields {
                let field = key.split('.').nth(1).unwrap();
                let mut body = rest.clone();
                body[field] = json!(format!("ab{bad}cd"));
                let got = json(app.post_json(path, &body).await, 400).await;
                let messages = &got["ModelState"][key];
                assert!(messages.is_array(), "{body} should name {key}: {got}");
                let message = messages[0].as_str().unwrap();
                assert!(message.contains(field), "{message}");
                if !bad.is_control() {
                    assert!(message.contains(&format!("U+{:04X}", bad as u32)), "{message}");
                }
                // The same in XML (a character reference) and in a form: the field is named.
                let escaped = format!("ab&#x{:X};cd", bad as u32);
                let xml = format!("<X><{field}>{escaped}</{field}></X>");
                let r = app.send_xml(reqwest::Method::POST, path, &xml).await;
                let body = text(r, 400).await;
                assert!(body.contains(&format!("<{key}>")), "{xml}: {body}");
                assert!(body.chars().all(|c| c != bad), "the XML error is well-formed: {body:?}");
                let form = format!("{field}={}", percent(&format!("ab{bad}cd")));
                let r = post_raw(&app, path, "application/x-www-form-urlencoded", form).await;
                assert!(json(r, 400).await["ModelState"][key].is_array(), "{path} {key}");
            }
        }
        // The edges of the class are accepted: U+FFFD, a supplementary character, tab and newline.
        let ok = app.create("/api/Services", &json!({"Name": "W\u{FFFD}b \u{1F600}", "Description": "a\tb\nc"})).await;
        assert_eq!(ok["Name"], "W\u{FFFD}b \u{1F600}");
        let list = text(app.get_xml("/api/Services").await, 200).await;
        assert!(list.contains("<Name>W\u{FFFD}b \u{1F600}</Name>"), "{list}");
        app.delete(&format!("/api/Services/{}", ok["Id"])).await;
        assert_nothing_changed(&app).await;
        assert_eq!(json(app.get("/api/Operators").await, 200).await, json!([]));
    }

    async fn validation_messages_are_written_for_people() {
        let app = TestApp::spawn().await;
        let cases: Vec<(&str, &str)> = vec![
            (r#"{"Description": "x", "StartTime": 978350400}"#, "The value '978350400' is not a valid date and time for StartTime; use ISO 8601, e.g. 2001-01-01T12:00:00Z."),
            (r#"{"Description": "x", "StartTime": 1.5e3}"#, "The value '1.5e3' is not a valid date and time for StartTime; use ISO 8601, e.g. 2001-01-01T12:00:00Z."),
            (r#"{"Description": "x", "StartTime": true}"#, "The value 'true' is not a valid date and time for StartTime; use ISO 8601, e.g. 2001-01-01T12:00:00Z."),
            (r#"{"Description": "x", "StartTime": {"Value": "2001-01-01"}}"#, "The StartTime must be a date and time, not an object; use ISO 8601, e.g. 2001-01-01T12:00:00Z."),
            (r#"{"Description": "x", "StartTime": ["2001-01-01"]}"#, "The StartTime must be a date and time, not a list; use ISO 8601, e.g. 2001-01-01T12:00:00Z."),
        ];
        for (body, message) in cases {
            let got = json(post_raw(&app, "/api/Tickets", "application/json", body).await, 400).await;
            assert_eq!(got["ModelState"]["ticket.StartTime"], json!([message]), "{body}");
        }
        // No message anywhere shows Rust's representation of the input tree.
        for body in [
            r#"{"Description": {"a": 1}, "EndTime": [1], "Services": [[1]], "Operator": 7, "DoNotSendEmail": {"x": null}}"#,
            r#"{"Description": [1], "Services": {"Id": {"Id": 1}}, "Operator": {"Id": [2]}}"#,
        ] {
            let got = text(post_raw(&app, "/api/Tickets", "application/json", body).await, 400).await;
            for internal in ["Number(", "Object(", "Doc {", "Text(", "List(", "Bool(", "entries"] {
                assert!(!got.contains(internal), "{body}: {got}");
            }
        }
        assert_eq!(json(app.get("/api/Tickets").await, 200).await, json!([]));
    }

    async fn numbers_sent_for_text_keep_their_digits() {
        let app = TestApp::spawn().await;
        // An integer of any size keeps its exact digits, as Json.NET reads a number into a
        // string property. Fractions and exponents keep their text exactly as written too
        // (1.50 stays "1.50", -1E+3 stays "-1E+3"): nothing is rounded through a float.
        let cases = [
            ("12345678901234567890123", "12345678901234567890123"),
            ("-98765432109876543210987654321", "-98765432109876543210987654321"),
            ("18446744073709551616", "18446744073709551616"),
            ("1.50", "1.50"),
            ("0.1000000000000000055511151231257827", "0.1000000000000000055511151231257827"),
            ("-1E+3", "-1E+3"),
            ("6.02e23", "6.02e23"),
        ];
        for (number, want) in cases {
            let body = format!(r#"{{"Name": {number}, "Description": {number}}}"#);
            let created = json(post_raw(&app, "/api/Services", "application/json", body.clone()).await, 201).await;
            assert_eq!(created["Name"], want, "{body}");
            assert_eq!(created["Description"], want, "{body}");
            let xml = text(app.get_xml(&format!("/api/Services/{}", created["Id"])).await, 200).await;
            assert!(xml.contains(&format!("<Name>{want}</Name>")), "{xml}");
        }
        // In a ticket's description too, and an Id still has to be a 32-bit integer.
        let t = json(post_raw(&app, "/api/Tickets", "application/json", r#"{"Description": 99999999999999999999999}"#).await, 201).await;
        assert_eq!(t["Description"], "99999999999999999999999");
        let r = post_raw(&app, "/api/Tickets", "application/json", r#"{"Description": "x", "Services": [{"Id": 1.0}]}"#).await;
        assert!(json(r, 400).await["ModelState"]["ticket.Services[0].Id"].is_array());
    }

    async fn malformed_requests_get_web_api_bodies() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        let cases: Vec<MalformedCase> = vec![
            (reqwest::Method::GET, "/api/Tickets/%ff", None, 400, "The request is invalid."),
            (reqwest::Method::GET, "/api/Services/%c3%28", None, 400, "The request is invalid."),
            (reqwest::Method::DELETE, "/api/Customers/%ff%fe", None, 400, "The request is invalid."),
            (reqwest::Method::PUT, "/api/Operators/%80", Some(("application/json", "{}")), 400, "The request is invalid."),
            (reqwest::Method::GET, "/api/Tickets/%ff/Notifications", None, 400, "The request is invalid."),
            (reqwest::Method::GET, "/api/Tickets/abc", None, 400, "The request is invalid."),
            (reqwest::Method::GET, "/api/Tickets?isClosed=%ff", None, 400, "The query parameter 'isClosed' must be true or false."),
            (reqwest::Method::GET, "/api/Tickets?$top=-1", None, 400, "The query parameter '$top' must be an integer of at least 0."),
            (reqwest::Method::POST, "/api/Services", Some(("application/json", "{\"Name\": ")), 400, "The request body is not valid JSON (line 1, column 9)."),
            (reqwest::Method::POST, "/api/Services", Some(("application/xml", "<Service>")), 400, "The XML body is malformed: it ends inside an element."),
            (reqwest::Method::POST, "/api/Services", Some(("application/x-www-form-urlencoded", "Name=%ff")), 400, "The request body is not valid UTF-8 once decoded."),
            (reqwest::Method::PATCH, "/api/Services", None, 405, "The requested resource does not support http method 'PATCH'."),
            (reqwest::Method::POST, "/api/Services/1", Some(("application/json", "{}")), 405, "The requested resource does not support http method 'POST'."),
        ];
        for (method, path, body, status, message) in cases {
            for xml in [false, true] {
                let mut r = app.request(method.clone(), path);
                if xml {
                    r = r.header("Accept", "application/xml");
                }
                if let Some((ct, b)) = body {
                    r = r.header("Content-Type", ct).body(b);
                }
                let r = r.send().await.unwrap();
                assert_eq!(r.status(), status, "{method} {path}");
                let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
                let got = r.text().await.unwrap();
                if xml {
                    assert_eq!(ct, "application/xml; charset=utf-8", "{method} {path}");
                    assert_eq!(got, format!("<Error><Message>{}</Message></Error>", message.replace('\'', "&apos;")), "{method} {path}");
                } else {
                    assert_eq!(ct, "application/json; charset=utf-8", "{method} {path}");
                    assert_eq!(got, json!({"Message": message}).to_string(), "{method} {path}");
                }
            }
        }
        assert_nothing_changed(&app).await;
    }
}

/// Percent-encodes all of `s` as UTF-8 (for form bodies).
fn percent(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// POSTs a raw body with a content type (the request's exact bytes: `json!` would round
/// numbers through f64).
async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> reqwest::Response {
    send(app, path, Some(content_type), body.into()).await
}

/// A request (method, path, optional content type and body) and the status and message wanted.
type MalformedCase = (
    reqwest::Method,
    &'static str,
    Option<(&'static str, &'static str)>,
    u16,
    &'static str,
);
