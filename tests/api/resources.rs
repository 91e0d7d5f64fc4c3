//! The CRUD table of the spec for Services, Customers and Operators, in JSON.

use herald_test_support::*;
use serde_json::json;

herald_test_support::backend_tests! {
    async fn services_crud() {
        let app = TestApp::spawn().await;
        let r = app.post_json("/api/Services", &json!({"Name": "Mail", "Description": "SMTP and IMAP"})).await;
        assert_eq!(r.status(), 201);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(location, format!("{}/api/Services/1", app.address));
        assert!(r.headers().contains_key("etag"));
        let created = json(r, 201).await;
        assert_eq!(created, json!({"Id": 1, "Name": "Mail", "Description": "SMTP and IMAP", "IsPublic": true}));

        // PUT replaces: the omitted Description is erased.
        let r = app.put_json("/api/Services/1", &json!({"Id": 1, "Name": "E-mail"})).await;
        assert_eq!(r.status(), 204);
        assert_eq!(json(app.get("/api/Services/1").await, 200).await, json!({"Id": 1, "Name": "E-mail", "Description": null, "IsPublic": true}));

        app.create_service("Web").await;
        let list = json(app.get("/api/Services").await, 200).await;
        let names: Vec<_> = list.as_array().unwrap().iter().map(|s| s["Name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["E-mail", "Web"]);

        let deleted = json(app.delete("/api/Services/1").await, 200).await;
        assert_eq!(deleted["Name"], "E-mail");
        assert_eq!(app.get("/api/Services/1").await.status(), 404);
        assert_eq!(app.delete("/api/Services/1").await.status(), 404);
        assert_eq!(app.put_json("/api/Services/1", &json!({"Id": 1, "Name": "x"})).await.status(), 404);
        // The name is free again once deleted.
        app.create_service("E-mail").await;
    }

    async fn customers_crud_and_services() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let web = app.create_service("Web").await["Id"].as_i64().unwrap();
        let c = app.create_customer("Ann", Some("ann@example.com"), &[mail, web]).await;
        assert_eq!(c["Services"].as_array().unwrap().len(), 2);
        assert_eq!(c["CellPhone"], serde_json::Value::Null);
        let id = c["Id"].as_i64().unwrap();

        // Updating the email without the phone and services erases them (the seed's warning).
        let r = app.request(reqwest::Method::PUT, &format!("/api/Customers/{id}"))
            .header("Prefer", "return=representation")
            .json(&json!({"Id": id, "Name": "Ann", "Email": "ann@new.example.com"}))
            .send().await.unwrap();
        let updated = json(r, 200).await;
        assert_eq!(updated["Email"], "ann@new.example.com");
        assert_eq!(updated["Services"], json!([]));

        let r = app.put_json(&format!("/api/Customers/{id}"), &json!({"Id": id, "Name": "Ann", "CellPhone": "+47 22 33 44 55", "Services": [{"Id": web}]})).await;
        assert_eq!(r.status(), 204);
        let got = json(app.get(&format!("/api/Customers/{id}")).await, 200).await;
        assert_eq!(got["CellPhone"], "+47 22 33 44 55");
        assert_eq!(got["Email"], serde_json::Value::Null);
        assert_eq!(got["Services"], json!([{"Id": web, "Name": "Web", "Description": null, "IsPublic": true}]));

        // Deleting a service: the customer stops following it.
        app.delete(&format!("/api/Services/{web}")).await;
        let got = json(app.get(&format!("/api/Customers/{id}")).await, 200).await;
        assert_eq!(got["Services"], json!([]));

        assert_eq!(json(app.delete(&format!("/api/Customers/{id}")).await, 200).await["Name"], "Ann");
        assert_eq!(app.get(&format!("/api/Customers/{id}")).await.status(), 404);
    }

    async fn operators_crud_password_and_last_admin() {
        let app = TestApp::spawn().await;
        let admin = app.create("/api/Operators", &json!({"Name": "Ada", "Email": "ada@example.com", "IsAdmin": true, "Password": "correct horse"})).await;
        assert!(admin.get("Password").is_none(), "the password is never returned");
        assert_eq!(admin["IsAdmin"], true);
        let id = admin["Id"].as_i64().unwrap();

        // PUT without Password keeps it.
        let r = app.put_json(&format!("/api/Operators/{id}"), &json!({"Id": id, "Name": "Ada L", "Email": "ada@example.com", "IsAdmin": true})).await;
        assert_eq!(r.status(), 204);
        let (_, hash) = app.store.operator_credentials("ADA@example.com").await.unwrap().unwrap();
        assert!(hash.unwrap().verify("correct horse"));

        // The last administrator cannot be deleted (409) nor demoted (400).
        let r = app.delete(&format!("/api/Operators/{id}")).await;
        assert!(json(r, 409).await["Message"].as_str().unwrap().contains("last administrator"));
        let r = app.put_json(&format!("/api/Operators/{id}"), &json!({"Id": id, "Name": "Ada", "Email": "ada@example.com", "IsAdmin": false})).await;
        assert!(json(r, 400).await["ModelState"]["operator.IsAdmin"].is_array());

        // With a second administrator, the first can go.
        app.create("/api/Operators", &json!({"Name": "Bob", "Email": "bob@example.com", "IsAdmin": true, "Password": "battery staple"})).await;
        assert_eq!(app.delete(&format!("/api/Operators/{id}")).await.status(), 200);
        let list = json(app.get("/api/Operators").await, 200).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert!(list[0].get("Password").is_none());
    }

    async fn unknown_paths_methods_and_ids() {
        let app = TestApp::spawn().await;
        let r = app.get("/api/Nothing").await;
        let body = json(r, 404).await;
        assert!(body["Message"].as_str().unwrap().starts_with("No HTTP resource was found that matches the request URI"));
        assert!(!body["Message"].as_str().unwrap().contains(KEY), "the key is not echoed");

        let r = app.request(reqwest::Method::PATCH, "/api/Tickets").send().await.unwrap();
        assert_eq!(r.status(), 405);
        assert!(r.headers()["allow"].to_str().unwrap().contains("POST"));
        assert_eq!(json(r, 405).await["Message"], "The requested resource does not support http method 'PATCH'.");
        let r = app.request(reqwest::Method::POST, "/api/Tickets/1").send().await.unwrap();
        assert_eq!(json(r, 405).await["Message"], "The requested resource does not support http method 'POST'.");

        for bad in ["abc", "1.5", "99999999999"] {
            let r = app.get(&format!("/api/Tickets/{bad}")).await;
            assert_eq!(json(r, 400).await, json!({"Message": "The request is invalid."}));
        }
        let r = app.get("/api/Tickets/42").await;
        assert!(json(r, 404).await["Message"].is_string());
        // Paths match ignoring case.
        app.create_service("Mail").await;
        assert_eq!(app.get("/api/services/1").await.status(), 200);
        assert_eq!(app.get("/API/SERVICES/1").await.status(), 200);
    }

    async fn put_body_id_must_match_url() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        let r = app.put_json("/api/Services/1", &json!({"Name": "x"})).await;
        assert!(json(r, 400).await["Message"].as_str().unwrap().contains("Id"));
        let r = app.put_json("/api/Services/1", &json!({"Id": 2, "Name": "x"})).await;
        assert!(json(r, 400).await["Message"].as_str().unwrap().contains("does not match"));
        assert_eq!(json(app.get("/api/Services/1").await, 200).await["Name"], "Mail");
    }
}
