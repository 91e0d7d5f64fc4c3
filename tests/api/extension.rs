//! The properties Herald adds (spec/api.md, "Properties Herald adds"), here `IsPublic` on
//! Service: a PUT that omits one keeps the stored value, an explicit null erases it (for
//! `IsPublic`: back to its default, `true`), a value sets it; a bad value is a 400 that changes
//! nothing. In JSON and in XML. And `Language` on Customer (a BCP 47 tag; null erases it).

use herald_test_support::*;
use reqwest::Method;
use serde_json::json;

herald_test_support::backend_tests! {
    async fn is_public_is_kept_when_omitted_and_reset_by_null() {
        let app = TestApp::spawn().await;
        let created = app.create("/api/Services", &json!({"Name": "Mail"})).await;
        assert_eq!(created["IsPublic"], true, "public by default");
        let made = app.create("/api/Services", &json!({"Name": "Backups", "IsPublic": false})).await;
        assert_eq!(made["IsPublic"], false);
        let id = made["Id"].as_i64().unwrap();
        let path = format!("/api/Services/{id}");
        let read = || async { json(app.get(&path).await, 200).await };

        // A client of the original product PUTs the whole entity as it knows it.
        let r = app.put_json(&path, &json!({"Id": id, "Name": "Nightly backups", "Description": "d"})).await;
        assert_eq!(r.status(), 204);
        let now = read().await;
        assert_eq!((now["Name"].as_str(), now["IsPublic"].as_bool()), (Some("Nightly backups"), Some(false)));

        // The same in XML.
        let xml = format!("<Service><Id>{id}</Id><Name>Backups</Name></Service>");
        assert_eq!(app.send_xml(Method::PUT, &path, &xml).await.status(), 204);
        assert_eq!(read().await["IsPublic"], false, "omitted in XML: kept");

        // A bad value: 400 naming the field, nothing changed.
        let r = app.put_json(&path, &json!({"Id": id, "Name": "Renamed", "IsPublic": "sometimes"})).await;
        let problem = json(r, 400).await;
        assert!(problem.to_string().contains("service.IsPublic"), "{problem}");
        assert_eq!(read().await["Name"], "Backups");

        // An explicit null erases the value: back to the default, public.
        assert_eq!(app.put_json(&path, &json!({"Id": id, "Name": "Backups", "IsPublic": null})).await.status(), 204);
        assert_eq!(read().await["IsPublic"], true);

        // XML's nil likewise; a value sets it.
        let set = format!("<Service><Id>{id}</Id><Name>Backups</Name><IsPublic>false</IsPublic></Service>");
        assert_eq!(app.send_xml(Method::PUT, &path, &set).await.status(), 204);
        assert_eq!(read().await["IsPublic"], false);
        let nil = format!(r#"<Service xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Id>{id}</Id><Name>Backups</Name><IsPublic i:nil="true"/></Service>"#);
        assert_eq!(app.send_xml(Method::PUT, &path, &nil).await.status(), 204);
        assert_eq!(read().await["IsPublic"], true);

        // PATCH names it or keeps it.
        let patch = |body: serde_json::Value| app.request(Method::PATCH, &path)
            .header("Content-Type", "application/merge-patch+json").body(body.to_string()).send();
        assert_eq!(patch(json!({"IsPublic": false})).await.unwrap().status(), 204);
        assert_eq!(patch(json!({"Name": "Backups 2"})).await.unwrap().status(), 204);
        assert_eq!(read().await["IsPublic"], false);

        // Services inside customers and tickets carry it too.
        let mail = created["Id"].as_i64().unwrap();
        let ticket = app.create_ticket("Mail is slow", &[mail]).await;
        assert_eq!(ticket["Services"][0]["IsPublic"], true);
    }

    async fn language_round_trips_is_kept_by_a_legacy_put_and_erased_by_null() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let plain = app.create("/api/Customers", &json!({"Name": "Ann", "Services": [{"Id": mail}]})).await;
        assert_eq!(plain["Language"], serde_json::Value::Null, "none by default");
        let made = app.create("/api/Customers", &json!({"Name": "Jörg", "Email": "j@example.com", "Language": "de-ch", "Services": [{"Id": mail}]})).await;
        assert_eq!(made["Language"], "de-CH", "kept in its canonical case");
        let id = made["Id"].as_i64().unwrap();
        let path = format!("/api/Customers/{id}");
        let read = || async { json(app.get(&path).await, 200).await };
        assert_eq!(read().await["Language"], "de-CH");
        let xml = app.get_xml(&path).await.text().await.unwrap();
        assert!(xml.contains("<Language>de-CH</Language>"), "{xml}");

        // A client of the original product PUTs the customer as it knows it (with CellPhone).
        let legacy = json!({"Id": id, "Name": "Jörg M", "Email": "j@example.com", "CellPhone": "+41 44 000 00 00", "Services": [{"Id": mail}]});
        assert_eq!(app.put_json(&path, &legacy).await.status(), 204);
        let now = read().await;
        assert_eq!((now["Name"].as_str(), now["Language"].as_str()), (Some("Jörg M"), Some("de-CH")));
        let xml_put = format!("<Customer><Id>{id}</Id><Name>Jörg</Name><Email>j@example.com</Email><Services><Service><Id>{mail}</Id></Service></Services></Customer>");
        assert_eq!(app.send_xml(Method::PUT, &path, &xml_put).await.status(), 204);
        assert_eq!(read().await["Language"], "de-CH", "omitted in XML: kept");

        // Not a BCP 47 tag: 400 naming the field, nothing changed.
        for bad in [json!("German"), json!("de_CH"), json!("xx-123456789"), json!(7)] {
            let body = json!({"Id": id, "Name": "Renamed", "Email": "j@example.com", "Language": bad, "Services": [{"Id": mail}]});
            let problem = json(app.put_json(&path, &body).await, 400).await;
            assert!(problem["ModelState"]["customer.Language"].is_array(), "{bad}: {problem}");
            assert_eq!(read().await["Name"], "Jörg");
        }
        let bad_new = app.post_json("/api/Customers", &json!({"Name": "Bob", "Language": "english please"})).await;
        assert!(json(bad_new, 400).await["ModelState"]["customer.Language"].is_array());

        // A value in XML sets it; nil erases it; null in JSON likewise.
        let set = format!("<Customer><Id>{id}</Id><Name>Jörg</Name><Language>en-GB</Language></Customer>");
        assert_eq!(app.send_xml(Method::PUT, &path, &set).await.status(), 204);
        assert_eq!(read().await["Language"], "en-GB");
        let nil = format!(r#"<Customer xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Id>{id}</Id><Name>Jörg</Name><Language i:nil="true"/></Customer>"#);
        assert_eq!(app.send_xml(Method::PUT, &path, &nil).await.status(), 204);
        assert_eq!(read().await["Language"], serde_json::Value::Null);
        assert_eq!(app.put_json(&path, &json!({"Id": id, "Name": "Jörg", "Language": "de"})).await.status(), 204);
        assert_eq!(app.put_json(&path, &json!({"Id": id, "Name": "Jörg", "Language": null})).await.status(), 204);
        assert_eq!(read().await["Language"], serde_json::Value::Null);

        // PATCH names it or keeps it.
        let patch = |body: serde_json::Value| app.request(Method::PATCH, &path)
            .header("Content-Type", "application/merge-patch+json").body(body.to_string()).send();
        assert_eq!(patch(json!({"Language": "de"})).await.unwrap().status(), 204);
        assert_eq!(patch(json!({"Name": "Jörg 2"})).await.unwrap().status(), 204);
        assert_eq!(read().await["Language"], "de");
    }
}
