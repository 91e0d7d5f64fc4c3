//! `GET /metrics`: 404 without a token, 401 with a wrong one, and with the right one the
//! Prometheus text format, read by Python's `prometheus_client` parser: requests by route
//! pattern and status with histograms, messages by channel and state, the oldest queued
//! message, deliveries by channel and outcome, the pools, the scheduler's lag.

use std::collections::HashMap;
use std::time::Duration;

use herald::config::Key;
use herald_test_support::smtp::SmtpServer;
use herald_test_support::webhooks::WebhookReceiver;
use herald_test_support::*;
use serde_json::Value;

/// Samples by (name, sorted labels).
type Samples = HashMap<(String, Vec<(String, String)>), f64>;

const TOKEN: &str = "scrape-me-0123456789";

/// Every sample as (name, labels) -> value, read by prometheus_client's own parser.
fn parse(text: &str) -> Samples {
    let script = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, sorted(s.labels.items()), s.value])
print(json.dumps(out))
"#;
    let out = python::run(script, text.as_bytes());
    let samples: Vec<Value> = serde_json::from_str(&out).unwrap();
    samples
        .into_iter()
        .map(|s| {
            let labels = s[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|kv| {
                    (
                        kv[0].as_str().unwrap().to_owned(),
                        kv[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (
                (s[0].as_str().unwrap().to_owned(), labels),
                s[2].as_f64().unwrap(),
            )
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut r = app.client.get(format!("{}/metrics", app.address));
    if let Some(t) = token {
        r = r.header("Authorization", format!("Bearer {t}"));
    }
    r.send().await.unwrap()
}

herald_test_support::backend_tests! {
    async fn without_a_token_there_are_no_metrics() {
        let app = TestApp::spawn().await;
        assert_eq!(scrape(&app, None).await.status(), 404);
        assert_eq!(scrape(&app, Some(TOKEN)).await.status(), 404);
    }

    async fn a_wrong_token_is_refused() {
        let app = TestApp::builder().setting(Key::MetricsToken, TOKEN).spawn().await;
        let r = scrape(&app, None).await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert_eq!(scrape(&app, Some("scrape-me-0123456780")).await.status(), 401);
        assert_eq!(scrape(&app, Some(&TOKEN[..10])).await.status(), 401);
        let r = app.client.get(format!("{}/metrics", app.address)).header("Authorization", format!("Basic {TOKEN}")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(scrape(&app, Some(TOKEN)).await.status(), 200);
    }

    async fn prometheus_reads_requests_messages_deliveries_and_pools() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder()
            .setting(Key::MetricsToken, TOKEN)
            .smtp(&smtp)
            .delivery(fast_delivery())
            .spawn()
            .await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        let receiver = WebhookReceiver::start().await;
        let hook = app.post_json("/api/Webhooks", &serde_json::json!({"Url": receiver.url("/m")})).await;
        assert_eq!(hook.status(), 201);
        let ticket = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();
        assert!(poll_until(Duration::from_secs(30), || async { !smtp.messages().is_empty() }).await);
        for path in ["/api/Tickets/999", "/api/tickets/998", "/no/such/page"] {
            assert_eq!(app.get(path).await.status(), 404);
        }
        assert_eq!(app.get(&format!("/api/Tickets/{ticket}")).await.status(), 200);

        // The delivery's outcome is recorded after the message is accepted: wait for it.
        let sent = |s: &Samples| s.get(&("herald_deliveries_total".to_string(), labels(&[("channel", "email"), ("outcome", "sent")]))).copied();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let samples = loop {
            let r = scrape(&app, Some(TOKEN)).await;
            assert_eq!(r.status(), 200);
            assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
            let samples = parse(&r.text().await.unwrap());
            let delivered = samples.get(&("herald_deliveries_total".to_string(), labels(&[("channel", "webhook"), ("outcome", "delivered")]))).copied();
            if sent(&samples) == Some(1.0) && delivered == Some(1.0) {
                break samples;
            }
            assert!(std::time::Instant::now() < deadline, "one email counted as sent, one webhook message as delivered: {samples:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };

        let get = |name: &str, l: &[(&str, &str)]| samples.get(&(name.to_string(), labels(l))).copied();
        // Requests by route pattern and status: both 404s under one pattern, no raw path.
        let missing = [("method", "GET"), ("route", "/api/tickets/{id}"), ("status", "404")];
        assert_eq!(get("herald_http_request_duration_seconds_count", &missing), Some(2.0));
        assert_eq!(get("herald_http_request_duration_seconds_count", &[("method", "GET"), ("route", "/api/tickets/{id}"), ("status", "200")]), Some(1.0));
        assert_eq!(get("herald_http_request_duration_seconds_count", &[("method", "POST"), ("route", "/api/tickets"), ("status", "201")]), Some(1.0));
        assert_eq!(get("herald_http_request_duration_seconds_count", &[("method", "GET"), ("route", "unmatched"), ("status", "404")]), Some(1.0));
        let mut inf = missing.to_vec();
        inf.push(("le", "+Inf"));
        assert_eq!(get("herald_http_request_duration_seconds_bucket", &inf), Some(2.0));
        assert!(samples.keys().all(|(_, l)| l.iter().all(|(k, v)| k != "route" || !v.contains("999"))));

        // Messages by channel and state; nothing waits, so the oldest queued is 0.
        assert_eq!(get("herald_messages", &[("channel", "email"), ("state", "sent")]), Some(1.0));
        assert_eq!(get("herald_oldest_queued_message_age_seconds", &[]), Some(0.0));
        assert_eq!(get("herald_scheduler_lag_seconds", &[]), Some(0.0));
        assert!(get("herald_db_pool_max_connections", &[("pool", "read"), ("state", "max")]).unwrap() >= 1.0);
        assert!(get("herald_db_pool_connections", &[("pool", "read"), ("state", "idle")]).is_some());
    }

    async fn a_queued_message_has_an_age() {
        // No mail server: the message stays queued.
        let app = TestApp::builder().setting(Key::MetricsToken, TOKEN).spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        app.create_ticket("Mail is down", &[mail]).await;
        let samples = parse(&scrape(&app, Some(TOKEN)).await.text().await.unwrap());
        let get = |name: &str, l: &[(&str, &str)]| samples.get(&(name.to_string(), labels(l))).copied();
        assert_eq!(get("herald_messages", &[("channel", "email"), ("state", "queued")]), Some(1.0));
        assert!(get("herald_oldest_queued_message_age_seconds", &[]).unwrap() >= 0.0);
        assert_eq!(get("herald_deliveries_total", &[("channel", "email"), ("outcome", "sent")]), None);
    }
}
