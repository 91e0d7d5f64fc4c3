//! `Idempotency-Key` on POST: a retry gets the first answer and creates nothing, another body
//! with the same key is a 422, two identical requests at once (on one instance or two)
//! create one entity, expired keys are forgotten, keys belong to their API key.

use herald::domain::ApiKey;
use herald::live_settings::set_api_key;
use herald_test_support::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

async fn post(app: &TestApp, path: &str, key: &str, body: &Value) -> Response {
    app.request(Method::POST, path)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn count(app: &TestApp, path: &str) -> usize {
    json(app.get(path).await, 200)
        .await
        .as_array()
        .unwrap()
        .len()
}

/// Status, Location, body and whether it was a replay.
async fn answer(r: Response) -> (u16, Option<String>, Value, bool) {
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let replayed = r.headers().get("idempotent-replayed").is_some();
    (status, location, r.json().await.unwrap(), replayed)
}

herald_test_support::backend_tests! {
    async fn a_retry_gets_the_first_answer_and_creates_nothing() {
        let app = TestApp::spawn().await;
        let first = answer(post(&app, "/api/Services", "create-mail-1", &json!({"Name": "Mail"})).await).await;
        assert_eq!(first.0, 201);
        assert!(!first.3);
        let id = first.2["Id"].as_i64().unwrap();
        assert!(first.1.as_deref().unwrap().ends_with(&format!("/api/Services/{id}")));

        // The entity changes meanwhile; the retry still gets the first answer.
        assert_eq!(app.put_json(&format!("/api/Services/{id}"), &json!({"Id": id, "Name": "Post"})).await.status(), 204);
        let retry = post(&app, "/api/Services", "create-mail-1", &json!({"Name": "Mail"})).await;
        assert_eq!(retry.headers()["content-type"], "application/json; charset=utf-8");
        assert!(retry.headers().get("etag").is_some());
        let retry = answer(retry).await;
        assert_eq!((retry.0, &retry.1, &retry.2), (201, &first.1, &first.2));
        assert!(retry.3, "marked as a replay");
        assert_eq!(count(&app, "/api/Services").await, 1);

        // The same key with another body: 422, nothing created.
        let r = post(&app, "/api/Services", "create-mail-1", &json!({"Name": "Web"})).await;
        assert_eq!(r.status(), 422);
        assert!(json(r, 422).await["Message"].as_str().unwrap().contains("Idempotency-Key"));
        // ... or another resource.
        let r = post(&app, "/api/Tickets", "create-mail-1", &json!({"Name": "Mail"})).await;
        assert_eq!(r.status(), 422);
        assert_eq!(count(&app, "/api/Services").await, 1);
        assert_eq!(count(&app, "/api/Tickets").await, 0);

        // Without a key, every POST creates.
        app.post_json("/api/Tickets", &json!({"Description": "a"})).await;
        app.post_json("/api/Tickets", &json!({"Description": "a"})).await;
        assert_eq!(count(&app, "/api/Tickets").await, 2);
    }

    async fn bad_keys_and_failed_requests() {
        let app = TestApp::spawn().await;
        let long = "k".repeat(256);
        let r = post(&app, "/api/Services", &long, &json!({"Name": "Mail"})).await;
        assert!(json(r, 400).await["Message"].as_str().unwrap().contains("255"));
        let r = post(&app, "/api/Services", "", &json!({"Name": "Mail"})).await;
        assert_eq!(r.status(), 400);
        assert_eq!(count(&app, "/api/Services").await, 0);
        let r = post(&app, "/api/Services", &"k".repeat(255), &json!({"Name": "Mail"})).await;
        assert_eq!(r.status(), 201);

        // A refused request keeps nothing: the corrected retry with the same key works.
        let r = post(&app, "/api/Customers", "ann", &json!({"Name": "Ann", "Email": "not an address"})).await;
        assert_eq!(r.status(), 400);
        let r = post(&app, "/api/Customers", "ann", &json!({"Name": "Ann", "Email": "ann@example.com"})).await;
        assert_eq!(r.status(), 201);
        let r = post(&app, "/api/Customers", "ann", &json!({"Name": "Ann", "Email": "ann@example.com"})).await;
        assert!(answer(r).await.3, "replayed");
        assert_eq!(count(&app, "/api/Customers").await, 1);

        // Without the API key nothing is claimed: 401, and the key is still free.
        let r = app.client.post(format!("{}/api/Operators", app.address)).header("Idempotency-Key", "op").json(&json!({})).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let op = json!({"Name": "Op", "Email": "op@example.com", "Password": "correct horse battery"});
        assert_eq!(post(&app, "/api/Operators", "op", &op).await.status(), 201);
        assert_eq!(post(&app, "/api/Operators", "op", &op).await.status(), 201);
        assert_eq!(count(&app, "/api/Operators").await, 1);
    }

    async fn two_identical_requests_at_once_create_one_entity() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        const ROUNDS: usize = 15;
        for round in 0..ROUNDS {
            let key = format!("ticket-{round}");
            let body = json!({"Description": format!("Ticket {round}"), "Services": [{"Id": mail}]});
            let (a, b) = tokio::join!(post(&app, "/api/Tickets", &key, &body), post(&app, "/api/Tickets", &key, &body));
            let (a, b) = (answer(a).await, answer(b).await);
            assert_eq!((a.0, b.0), (201, 201), "round {round}");
            assert_eq!(a.2, b.2, "round {round}: the same ticket");
            assert_eq!(a.1, b.1, "round {round}: the same Location");
            assert!(a.3 != b.3, "round {round}: one did the work, the other replayed");
        }
        assert_eq!(count(&app, "/api/Tickets").await, ROUNDS);
        // One notification per ticket: nothing was created twice.
        for ticket in json(app.get("/api/Tickets").await, 200).await.as_array().unwrap() {
            assert_eq!(count(&app, &format!("/api/Tickets/{}/Notifications", ticket["Id"])).await, 1);
        }
    }

    async fn expired_keys_are_forgotten() {
        let app = TestApp::spawn().await;
        assert_eq!(post(&app, "/api/Services", "old", &json!({"Name": "Mail"})).await.status(), 201);
        assert_eq!(post(&app, "/api/Services", "older", &json!({"Name": "Web"})).await.status(), 201);
        // A day and a minute pass (in 100 ns ticks).
        let day_and_a_minute: i64 = (24 * 3600 + 60) * 10_000_000;
        sqlx::query("UPDATE idempotency_keys SET created_at = created_at - $1")
            .bind(day_and_a_minute)
            .execute(app.store.writer())
            .await
            .unwrap();
        // The key is free again: another body is a new request, not a 422.
        assert_eq!(post(&app, "/api/Services", "old", &json!({"Name": "Post"})).await.status(), 201);
        assert_eq!(count(&app, "/api/Services").await, 3);
        // And the other expired key was pruned.
        let keys: Vec<String> = sqlx::query_scalar("SELECT idem_key FROM idempotency_keys")
            .fetch_all(app.store.reader())
            .await
            .unwrap();
        assert_eq!(keys, ["old"]);
    }

    async fn keys_belong_to_their_api_key_which_is_not_stored() {
        let app = TestApp::spawn().await;
        assert_eq!(post(&app, "/api/Services", "shared", &json!({"Name": "Mail"})).await.status(), 201);
        let stored: Vec<String> = sqlx::query_scalar("SELECT scope FROM idempotency_keys")
            .fetch_all(app.store.reader())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].contains(KEY), "only the key's digest is kept");

        let other = "Zq8Rk2LmW5xYp3TnBv7c";
        set_api_key(&app.store, &ApiKey::parse(other).unwrap(), &herald::domain::Who::cli()).await.unwrap();
        app.settings.refresh(&app.store).await.unwrap();
        let r = app.client.post(format!("{}/api/Services", app.address))
            .header("X-Api-Key", other)
            .header("Idempotency-Key", "shared")
            .json(&json!({"Name": "Web"}))
            .send().await.unwrap();
        assert_eq!(r.status(), 201, "the new API key's own 'shared' key");
    }
}

#[tokio::test]
async fn two_instances_share_the_keys() {
    if !herald_test_support::postgres::available("two_instances_share_the_keys") {
        return;
    }
    let a = TestApp::builder().backend(Backend::Postgres).spawn().await;
    let b = a.second_instance().spawn().await;
    for round in 0..15 {
        let key = format!("svc-{round}");
        let body = json!({"Name": format!("Service {round}")});
        let (x, y) = tokio::join!(
            post(&a, "/api/Services", &key, &body),
            post(&b, "/api/Services", &key, &body)
        );
        let (x, y) = (answer(x).await, answer(y).await);
        assert_eq!((x.0, y.0), (201, 201), "round {round}");
        assert_eq!(x.2, y.2, "round {round}: one entity");
        // A later retry on either instance is the same answer; another body is a 422.
        assert_eq!(
            answer(post(&b, "/api/Services", &key, &body).await).await.2,
            x.2
        );
        let other = json!({"Name": "else"});
        assert_eq!(post(&a, "/api/Services", &key, &other).await.status(), 422);
    }
    assert_eq!(count(&a, "/api/Services").await, 15);
}
