//! Regression tests for what schemathesis (`.ci/schemathesis.sh`) found, one per finding.

use herald_test_support::*;
use reqwest::Method;
use serde_json::json;

herald_test_support::backend_tests! {
    // A client whose entity class has an integer `Id` sends `"Id": 0` on a new entity (C#'s
    // default `int`); the original product ignored it. Herald refused it with 400
    // ("The Id must be a positive 32-bit integer."). Now `Id: 0` on POST is "no Id".
    async fn post_with_id_zero_creates() {
        let app = TestApp::spawn().await;
        let service = app.create("/api/Services", &json!({"Id": 0, "Name": "Mail"})).await;
        assert_eq!(service["Id"], 1);
        let ticket = app
            .create("/api/Tickets", &json!({"Id": 0, "Description": "down", "IsClosed": false, "Services": [{"Id": 1, "Name": "Mail"}]}))
            .await;
        assert_eq!(ticket["Id"], 1);
        let r = app
            .send_xml(Method::POST, "/api/Customers", "<Customer><Id>0</Id><Name>Ann</Name></Customer>")
            .await;
        let created = text(r, 201).await;
        assert!(created.contains("<Id>1</Id>"), "{created}");

        // On PUT, 0 is still not the entity's Id.
        let r = app.put_json("/api/Services/1", &json!({"Id": 0, "Name": "Email"})).await;
        let body = json(r, 400).await;
        assert!(body["Message"].as_str().unwrap().contains("must include the entity's Id"), "{body}");
        assert_eq!(json(app.get("/api/Services/1").await, 200).await["Name"], "Mail");
        app.stop().await;
    }
}
