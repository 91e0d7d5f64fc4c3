//! The OpenAPI document and the reference page: served without a key, generated from the
//! server's own types and routes, and in step with what the server does.

use herald::domain::{Description, Name};
use herald_test_support::*;
use serde_json::Value;

async fn document(app: &TestApp, path: &str) -> Value {
    let r = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path} needs no key");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    r.json().await.unwrap()
}

/// Every (method, path) the document describes.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.push((method.to_ascii_uppercase(), path.clone()));
        }
    }
    ops.sort();
    ops
}

herald_test_support::backend_tests! {
    async fn the_document_is_served_at_both_addresses() {
        let app = TestApp::spawn().await;
        let doc = document(&app, "/api/openapi.json").await;
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(document(&app, "/swagger/docs/v1").await, doc);
        // Paths match ignoring case, like the API's.
        assert_eq!(document(&app, "/API/OpenApi.json").await, doc);

        let mut expected = Vec::new();
        for collection in ["Customers", "Operators", "Services", "Tickets", "Webhooks"] {
            for method in ["GET", "POST"] {
                expected.push((method.to_string(), format!("/api/{collection}")));
            }
            for method in ["DELETE", "GET", "PATCH", "PUT"] {
                expected.push((method.to_string(), format!("/api/{collection}/{{id}}")));
            }
        }
        expected.push(("GET".to_string(), "/api/AuditLog".to_string()));
        expected.sort();
        for op in &expected {
            assert!(operations(&doc).contains(op), "{op:?} is documented");
        }
        app.stop().await;
    }

    async fn the_document_describes_the_key_media_types_and_errors() {
        let app = TestApp::spawn().await;
        let doc = document(&app, "/api/openapi.json").await;
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["ApiKeyQuery"]["in"], "query");
        assert_eq!(schemes["ApiKeyQuery"]["name"], "key");
        assert_eq!(schemes["ApiKeyHeader"]["in"], "header");
        assert_eq!(schemes["ApiKeyHeader"]["name"], "X-Api-Key");

        let post = &doc["paths"]["/api/Tickets"]["post"];
        let body_types: Vec<&String> = post["requestBody"]["content"].as_object().unwrap().keys().collect();
        for t in ["application/json", "application/xml", "text/xml"] {
            assert!(body_types.iter().any(|b| *b == t), "{t} accepted");
        }
        for status in ["201", "400", "401", "413", "415", "500", "503"] {
            assert!(post["responses"].get(status).is_some(), "POST documents {status}");
        }
        assert!(post["responses"].get("422").is_some(), "POST documents 422");
        assert!(post["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "Idempotency-Key" && p["schema"]["maxLength"] == 255));
        let created = &post["responses"]["201"];
        assert!(created["headers"].get("Location").is_some());
        assert_eq!(created["content"]["application/xml"]["schema"]["$ref"], "#/components/schemas/Ticket");
        assert_eq!(created["links"]["getTicket"]["operationId"], "getTicket");
        let put = &doc["paths"]["/api/Services/{id}"]["put"];
        for status in ["200", "204", "404", "412"] {
            assert!(put["responses"].get(status).is_some(), "PUT documents {status}");
        }
        assert!(doc["paths"]["/api/Operators/{id}"]["delete"]["responses"].get("409").is_some());
        let patch = &doc["paths"]["/api/Tickets/{id}"]["patch"];
        for status in ["200", "204", "400", "404", "412", "415"] {
            assert!(patch["responses"].get(status).is_some(), "PATCH documents {status}");
        }
        let patch_body = &patch["requestBody"]["content"]["application/merge-patch+json"]["schema"];
        assert!(patch_body["properties"].get("ClosedTime").is_some(), "{patch_body}");
        assert!(patch_body["properties"].get("Services").is_none(), "read-only left out: {patch_body}");
        assert!(patch_body.get("required").is_none_or(|r| r.as_array().unwrap().is_empty()));
        let error = &doc["components"]["schemas"]["Error"];
        assert!(error["properties"].get("Message").is_some());
        assert!(error["properties"].get("ModelState").is_some());
        app.stop().await;
    }

    // The schemas come from the wire types: the XML names and namespace, the limits of the
    // domain types, every property of a response always present.
    async fn the_schemas_follow_the_wire_types() {
        let app = TestApp::builder().setting(herald::config::Key::XmlNamespace, "Acme.Models").spawn().await;
        let doc = document(&app, "/api/openapi.json").await;
        let schemas = &doc["components"]["schemas"];
        let ticket = &schemas["Ticket"];
        assert_eq!(ticket["xml"]["name"], "Ticket");
        assert_eq!(ticket["xml"]["namespace"], "http://schemas.datacontract.org/2004/07/Acme.Models");
        let props: Vec<&String> = ticket["properties"].as_object().unwrap().keys().collect();
        let required: Vec<&str> = ticket["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(props.len(), required.len());
        assert_eq!(ticket["properties"]["StartTime"]["format"], "date-time");
        assert_eq!(schemas["ServiceInput"]["properties"]["Name"]["maxLength"], Name::MAX);
        assert_eq!(schemas["TicketInput"]["properties"]["Description"]["maxLength"], Description::MAX);
        assert_eq!(schemas["NewOperatorInput"]["properties"]["Password"]["writeOnly"], true);
        assert!(schemas["Operator"]["properties"].get("Password").is_none(), "never returned");
        // A notification's state and channel, each value named.
        let notification = &schemas["Notification"]["properties"];
        assert_eq!(
            notification["State"]["enum"],
            serde_json::json!(["queued", "retrying", "sent", "delivered", "undelivered", "failed", "cancelled", "skipped"])
        );
        assert_eq!(notification["Channel"]["enum"], serde_json::json!(["email", "sms", "webhook"]));
        app.stop().await;
    }

    // What the server refuses that a schema can say is in the document (so generated data is
    // accepted): PUT's Id required and positive, no Id offered in a merge patch, the key's and
    // the texts' patterns, which Python's re reads as the server does.
    async fn the_document_states_the_real_constraints() {
        let app = TestApp::spawn().await;
        let doc = document(&app, "/api/openapi.json").await;
        let schemas = &doc["components"]["schemas"];
        for (path, update) in [("Services", "ServiceUpdate"), ("Customers", "CustomerUpdate"), ("Operators", "OperatorUpdate"), ("Tickets", "TicketUpdate")] {
            let put = &doc["paths"][format!("/api/{path}/{{id}}")]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(put, &format!("#/components/schemas/{update}"));
            assert_eq!(schemas[update]["required"][0], "Id", "{update}");
            assert_eq!(schemas[update]["properties"]["Id"]["minimum"], 1, "{update}");
            assert!(schemas[update]["xml"]["name"].is_string(), "{update}");
            let patch = &doc["paths"][format!("/api/{path}/{{id}}")]["patch"]["requestBody"]["content"]["application/merge-patch+json"]["schema"];
            assert!(patch["properties"].get("Id").is_none(), "{path}: {patch}");
            assert!(patch["properties"].get("Name").or(patch["properties"].get("Description")).is_some());
        }
        let post = &doc["paths"]["/api/Services"]["post"]["parameters"];
        let key = post.as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key").unwrap();
        assert_eq!(key["schema"]["maxLength"], 255);

        // Each sample name: does the pattern (read by Python) take it, does the server?
        let pattern = schemas["ServiceInput"]["properties"]["Name"]["pattern"].as_str().unwrap();
        let samples = ["Mail", "Zoë Ürün", "  ", "a\u{1}b", "a\u{85}b", "two\nlines", "x\u{fffe}", "  Web  "];
        let script = "import json, re, sys\n\
            d = json.load(sys.stdin)\n\
            print(json.dumps([re.search(d['pattern'], s) is not None for s in d['samples']]))\n";
        let input = serde_json::json!({"pattern": pattern, "samples": samples}).to_string();
        let by_python: Vec<bool> = serde_json::from_str(&python::run(script, input.as_bytes())).unwrap();
        for (sample, matches) in samples.iter().zip(by_python) {
            let r = app.post_json("/api/Services", &serde_json::json!({"Name": sample})).await;
            assert_eq!(r.status().is_success(), matches, "{sample:?}: {}", r.status());
        }
        let key_pattern = key["schema"]["pattern"].as_str().unwrap();
        let keys = ["abc-123", " ", "é", "a b"];
        let input = serde_json::json!({"pattern": key_pattern, "samples": keys}).to_string();
        let by_python: Vec<bool> = serde_json::from_str(&python::run(script, input.as_bytes())).unwrap();
        assert_eq!(by_python, [true, false, false, true]);
        app.stop().await;
    }

    // The reference page is one self-contained document: nothing loaded from elsewhere.
    async fn the_reference_page_works_offline() {
        let app = TestApp::spawn().await;
        let r = app.client.get(format!("{}/api/docs", app.address)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = r.text().await.unwrap();
        for op in ["listTickets", "createTicket", "getTicket", "updateTicket", "deleteTicket", "deleteOperator"] {
            assert!(html.contains(&format!("id=\"{op}\"")), "{op} is on the page");
        }
        assert!(html.contains("&lt;Ticket xmlns:i="), "XML examples are shown, escaped");
        for loader in ["<script", "<link", "<img", "src=", "@import", "url("] {
            assert!(!html.contains(loader), "the page loads nothing ({loader})");
        }
        let r = app.client.get(format!("{}/swagger", app.address)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/api/docs");
        app.stop().await;
    }
}
