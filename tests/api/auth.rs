//! The API key: query string in any letter case or X-Api-Key; 401 otherwise; never logged.

use herald_test_support::*;
use serde_json::json;

herald_test_support::backend_tests! {
    async fn key_in_query_any_case_or_header() {
        let app = TestApp::spawn().await;
        for url in [
            format!("{}/api/Services?key={KEY}", app.address),
            format!("{}/api/Services?KEY={KEY}", app.address),
            format!("{}/api/Services?Key={KEY}", app.address),
        ] {
            assert_eq!(app.client.get(&url).send().await.unwrap().status(), 200, "{url}");
        }
        let r = app.client.get(format!("{}/api/Services", app.address)).header("X-Api-Key", KEY).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn missing_or_wrong_key_is_401_and_changes_nothing() {
        let app = TestApp::spawn().await;
        let denied = json!({"Message": "Authorization has been denied for this request."});
        let r = app.client.get(format!("{}/api/Tickets", app.address)).send().await.unwrap();
        assert_eq!(json(r, 401).await, denied);
        let r = app.client.get(format!("{}/api/Tickets?key=wrong-key-wrong-key", app.address)).send().await.unwrap();
        assert_eq!(json(r, 401).await, denied);
        let r = app.client.post(format!("{}/api/Services?key=nope", app.address)).json(&json!({"Name": "Mail"})).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = app.client.get(format!("{}/api/Tickets?key=nope", app.address)).header("Accept", "application/xml").send().await.unwrap();
        assert_eq!(text(r, 401).await, "<Error><Message>Authorization has been denied for this request.</Message></Error>");
        assert_eq!(json(app.get("/api/Services").await, 200).await, json!([]));
    }

    async fn new_key_takes_effect() {
        let app = TestApp::spawn().await;
        let key = herald::domain::ApiKey::parse("another-key-1234567890").unwrap();
        herald::live_settings::set_api_key(&app.store, &key, &herald::domain::Who::cli()).await.unwrap();
        // The running instance picks it up within seconds (its cache refreshes); poll.
        let url = format!("{}/api/Services?key={}", app.address, key.expose());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            if app.client.get(&url).send().await.unwrap().status() == 200 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "new key never accepted");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await; // poll interval, not synchronisation
        }
        assert_eq!(app.get("/api/Services").await.status(), 401, "the old key is gone");
    }
}

#[tokio::test]
async fn health_and_readiness_need_no_key() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
