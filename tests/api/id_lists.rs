//! Lists of ids of any length: beyond SQLite's 32,766 and PostgreSQL's 65,535 parameters a
//! `Services` list is still stored whole, or refused with a 400 naming a few of the ids.

use serde_json::{json, Value};

use herald_test_support::*;

/// Services `1..=n` ("Service 1" …), written in one statement: 70,000 POSTs would take minutes.
async fn seed_services(app: &TestApp, n: i64) {
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO services (name) SELECT 'Service ' || i FROM n",
    )
    .bind(n)
    .execute(app.store.writer())
    .await
    .unwrap();
}

fn ids(range: std::ops::RangeInclusive<i64>) -> Vec<Value> {
    range.map(|id| json!({ "Id": id })).collect()
}

fn service_ids(entity: &Value) -> Vec<i64> {
    entity["Services"]
        .as_array()
        .expect("a Services list")
        .iter()
        .map(|s| s["Id"].as_i64().unwrap())
        .collect()
}

herald_test_support::backend_tests! {
    async fn a_customer_follows_70000_services_and_a_ticket_names_40000() {
        let app = TestApp::spawn().await;
        seed_services(&app, 70_000).await;
        let customer = app
            .create(
                "/api/Customers",
                &json!({ "Name": "Everything", "Email": "all@example.com", "Services": ids(1..=70_000) }),
            )
            .await;
        assert_eq!(service_ids(&customer), (1..=70_000).collect::<Vec<_>>());
        // Listed twice: still each service once.
        let mut named = ids(30_001..=70_000);
        named.extend(ids(69_000..=70_000));
        let ticket = app
            .create(
                "/api/Tickets",
                &json!({ "Description": "Everything is down", "StartTime": "2001-01-01T12:00:00Z", "Services": named }),
            )
            .await;
        let id = ticket["Id"].as_i64().unwrap();
        assert_eq!(service_ids(&ticket), (30_001..=70_000).collect::<Vec<_>>());
        let read = json(app.get(&format!("/api/Tickets/{id}")).await, 200).await;
        assert_eq!(service_ids(&read), (30_001..=70_000).collect::<Vec<_>>());
        let notifications = json(app.get(&format!("/api/Tickets/{id}/Notifications")).await, 200).await;
        let notifications = notifications.as_array().unwrap();
        assert_eq!(notifications.len(), 1, "the follower of them all, once: {notifications:?}");
        assert_eq!(notifications[0]["Email"], "all@example.com");
        let again = json(app.get(&format!("/api/Customers/{}", customer["Id"])).await, 200).await;
        assert_eq!(service_ids(&again).len(), 70_000);
    }

    async fn unknown_ids_by_the_tens_of_thousands_are_a_400_naming_ten() {
        let app = TestApp::spawn().await;
        seed_services(&app, 3).await;
        for (path, n) in [("/api/Tickets", 70_000), ("/api/Customers", 40_000)] {
            let body = json!({
                "Name": "Nobody", "Description": "Nothing", "StartTime": "2001-01-01T12:00:00Z",
                "Services": ids(1..=n),
            });
            let r = app.post_json(path, &body).await;
            let text = text(r, 400).await;
            assert!(text.len() < 1_000, "a short answer: {} bytes", text.len());
            let error: Value = serde_json::from_str(&text).unwrap();
            let message = error["ModelState"]
                .as_object()
                .and_then(|m| m.values().next())
                .and_then(|v| v[0].as_str())
                .unwrap_or_else(|| panic!("a field message: {error}"));
            assert_eq!(
                message,
                format!("There is no service with Id 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 (and {} more of the ids given).", n - 13),
            );
        }
        assert_eq!(json(app.get("/api/Tickets").await, 200).await, json!([]));
        assert_eq!(json(app.get("/api/Customers").await, 200).await, json!([]));
    }
}
