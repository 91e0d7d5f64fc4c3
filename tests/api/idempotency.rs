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

    async fn a_create_that_committed_before_its_instance_died_is_answered_not_repeated() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let bodies = [
            ("/api/Services", json!({"Name": "Web"})),
            ("/api/Customers", json!({"Name": "Ann", "Email": "ann@example.com", "Services": [{"Id": mail}]})),
            ("/api/Operators", json!({"Name": "Op", "Email": "op@example.com", "Password": "correct horse battery"})),
            ("/api/Tickets", json!({"Description": "Down", "Services": [{"Id": mail}]})),
        ];
        for (path, body) in &bodies {
            let key = format!("crash {path}");
            let first = answer(post(&app, path, &key, body).await).await;
            assert_eq!(first.0, 201, "{path}");
            let id = first.2["Id"].as_i64().unwrap();
            // The create linked its entity to the key in its own transaction.
            let linked: Option<i64> = sqlx::query_scalar("SELECT created_id FROM idempotency_keys WHERE idem_key = $1")
                .bind(&key)
                .fetch_one(app.store.reader())
                .await
                .unwrap();
            assert_eq!(linked, Some(id), "{path}");
            // The instance died after the create's commit, before it kept the answer, long ago
            // (another instance's claim token).
            sqlx::query(
                "UPDATE idempotency_keys SET status = NULL, content_type = NULL, location = NULL, \
                 etag = NULL, body = NULL, claim_token = 'dead', created_at = created_at - $1 WHERE idem_key = $2",
            )
            .bind(3_600 * 10_000_000_i64)
            .bind(&key)
            .execute(app.store.writer())
            .await
            .unwrap();

            let retry = post(&app, path, &key, body).await;
            assert!(retry.headers().get("etag").is_some(), "{path}");
            let retry = answer(retry).await;
            assert_eq!((retry.0, &retry.1, &retry.2), (201, &first.1, &first.2), "{path}: the entity created");
            assert!(retry.3, "{path}: marked as a replay");
            // The answer is kept now; the same key with another body is still a 422.
            let status: Option<i64> = sqlx::query_scalar("SELECT status FROM idempotency_keys WHERE idem_key = $1")
                .bind(&key)
                .fetch_one(app.store.reader())
                .await
                .unwrap();
            assert_eq!(status, Some(201), "{path}");
            assert_eq!(answer(post(&app, path, &key, body).await).await.2, first.2, "{path}");
            assert_eq!(post(&app, path, &key, &json!({"Name": "else"})).await.status(), 422, "{path}");
        }
        assert_eq!(count(&app, "/api/Services").await, 2);
        assert_eq!(count(&app, "/api/Customers").await, 1);
        assert_eq!(count(&app, "/api/Operators").await, 1);
        assert_eq!(count(&app, "/api/Tickets").await, 1);
    }

    async fn a_claim_abandoned_before_its_create_committed_is_taken_over() {
        let app = TestApp::spawn().await;
        let first = answer(post(&app, "/api/Services", "lost", &json!({"Name": "Mail"})).await).await;
        let id = first.2["Id"].as_i64().unwrap();
        // The state a dead instance leaves when its create did not commit: a claim, no entity.
        assert_eq!(app.delete(&format!("/api/Services/{id}")).await.status(), 200);
        sqlx::query(
            "UPDATE idempotency_keys SET status = NULL, body = NULL, created_id = NULL, \
             claim_token = 'dead', created_at = created_at - $1",
        )
        .bind(3_600 * 10_000_000_i64)
        .execute(app.store.writer())
        .await
        .unwrap();
        let retry = answer(post(&app, "/api/Services", "lost", &json!({"Name": "Mail"})).await).await;
        assert_eq!(retry.0, 201);
        assert!(!retry.3, "done anew");
        assert_ne!(retry.2["Id"], first.2["Id"]);
        assert_eq!(count(&app, "/api/Services").await, 1);
    }

    async fn a_create_whose_claim_was_taken_over_is_rolled_back() {
        use herald::domain::{Extension, Name, NewService, Timestamp, Who};
        use herald::store::{holding, Claim, IdempotencyKey, StoreError};
        let app = TestApp::spawn().await;
        let key = IdempotencyKey { scope: "s", key: "slow", request_sha256: "r" };
        let now = Timestamp::now();
        let day = std::time::Duration::from_secs(86_400);
        let claim = |abandoned_before| app.store.claim_idempotency_key(key, now, now.minus(day), abandoned_before);
        let Claim::Claimed(slow) = claim(now).await.unwrap() else { panic!("claimed") };
        assert_eq!(claim(now).await.unwrap(), Claim::InProgress);
        // The slow request is taken for dead: another takes over the claim.
        let Claim::Claimed(taker) = claim(now.plus_millis(1)).await.unwrap() else { panic!("taken over") };
        let new = |name: &str| NewService { name: Name::parse(name).unwrap(), description: None, is_public: Extension::Omitted };
        // The slow request's create comes late: refused, nothing created.
        let late = holding(slow.clone(), app.store.create_service(&new("Late"), &Who::cli())).await;
        assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
        assert_eq!(count(&app, "/api/Services").await, 0);
        // Nor can it release the claim it lost.
        app.store.release_idempotency_key(&slow).await.unwrap();
        assert_eq!(claim(now).await.unwrap(), Claim::InProgress);
        // The request that took over creates, once; its claim cannot be taken over any more.
        let made = holding(taker.clone(), app.store.create_service(&new("Taker"), &Who::cli())).await.unwrap();
        assert_eq!(claim(now.plus_millis(2)).await.unwrap(), Claim::Created(made.id));
        let again = holding(taker, app.store.create_service(&new("Twice"), &Who::cli())).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        assert_eq!(count(&app, "/api/Services").await, 1);
    }

    async fn a_webhook_create_replayed_shows_its_secret_to_its_client_while_it_is_the_secret() {
        let app = TestApp::spawn().await;
        let body = json!({"Url": "https://hooks.example.com/herald"});
        let first = answer(post(&app, "/api/Webhooks", "hook", &body).await).await;
        assert_eq!(first.0, 201);
        let id = first.2["Id"].as_i64().unwrap();
        let secret = first.2["Secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        // The kept answer does not hold the secret a second time.
        let kept: Vec<Option<String>> = sqlx::query_scalar("SELECT body FROM idempotency_keys")
            .fetch_all(app.store.reader())
            .await
            .unwrap();
        assert_eq!(kept.len(), 1);
        assert!(!kept[0].clone().unwrap_or_default().contains(&secret), "{kept:?}");

        // The same client retrying a lost answer gets it, secret included.
        let retry = answer(post(&app, "/api/Webhooks", "hook", &body).await).await;
        assert_eq!((retry.0, &retry.1, &retry.2), (201, &first.1, &first.2));
        assert!(retry.3, "a replay");
        // Also when the instance died between the create's commit and keeping the answer.
        sqlx::query(
            "UPDATE idempotency_keys SET status = NULL, content_type = NULL, location = NULL, \
             etag = NULL, body = NULL, claim_token = 'dead' WHERE idem_key = 'hook'",
        )
        .execute(app.store.writer())
        .await
        .unwrap();
        let after_crash = answer(post(&app, "/api/Webhooks", "hook", &body).await).await;
        assert_eq!((after_crash.0, &after_crash.2), (201, &first.2));
        assert_eq!(count(&app, "/api/Webhooks").await, 1, "created once");

        // Once the secret was replaced, a replay shows none (the new one is its setter's).
        let replaced = "another-secret-long-enough-123";
        let r = app.put_json(&format!("/api/Webhooks/{id}"), &json!({"Id": id, "Url": "https://hooks.example.com/herald", "Secret": replaced})).await;
        assert_eq!(r.status(), 204);
        let later = answer(post(&app, "/api/Webhooks", "hook", &body).await).await;
        assert_eq!(later.0, 201);
        assert!(later.3);
        assert_eq!(later.2["Id"], id);
        assert!(later.2.get("Secret").is_none(), "{:?}", later.2);
        let audit = crate::audit::all_stored_text(&app.store).await;
        assert!(!audit.contains(&secret) && !audit.contains(replaced), "{audit}");
        assert!(audit.contains(r#""Secret":"changed""#), "the new secret is audited: {audit}");

        // Another API key's same Idempotency-Key is its own: a webhook of its own, no secret of
        // the first.
        let other = "Zq8Rk2LmW5xYp3TnBv7c";
        set_api_key(&app.store, &ApiKey::parse(other).unwrap(), &herald::domain::Who::cli()).await.unwrap();
        app.settings.refresh(&app.store).await.unwrap();
        let theirs = app.client.post(format!("{}/api/Webhooks", app.address))
            .header("X-Api-Key", other)
            .header("Idempotency-Key", "hook")
            .json(&body)
            .send().await.unwrap();
        let theirs = answer(theirs).await;
        assert_eq!(theirs.0, 201);
        assert!(!theirs.3, "not a replay");
        assert_ne!(theirs.2["Id"], id);
        assert_ne!(theirs.2["Secret"].as_str().unwrap(), secret);
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
