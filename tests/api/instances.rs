//! Several Herald instances on one PostgreSQL database, and one instance across a database
//! restart. PostgreSQL only: this is what the PostgreSQL backend is for.

use std::time::Duration;

use herald::config::Key;
use herald::domain::ApiKey;
use herald::live_settings::set_api_key;
use herald::notify::DeliveryOptions;
use herald::startup::Application;
use serde_json::json;

use herald_test_support::postgres::{self, Cluster};
use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

/// Skips (or, under CI, fails) when PostgreSQL is not installed.
macro_rules! require_postgres {
    ($test:literal) => {
        if !postgres::available($test) {
            return;
        }
    };
}

async fn status(app: &TestApp, path: &str) -> u16 {
    app.client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Two instances on one new database, as behind a load balancer.
async fn two_instances() -> (TestApp, TestApp) {
    let a = TestApp::builder().backend(Backend::Postgres).spawn().await;
    let b = a.second_instance().spawn().await;
    (a, b)
}

#[tokio::test]
async fn messages_queued_through_one_instance_wake_the_workers_of_another() {
    require_postgres!("messages_queued_through_one_instance_wake_the_workers_of_another");
    let smtp = SmtpServer::start().await;
    // A has no mail server: it queues messages but cannot send them.
    let a = TestApp::builder().backend(Backend::Postgres).spawn().await;
    // B sends, and would look for messages queued elsewhere only once an hour by itself.
    let b = a
        .second_instance()
        .smtp(&smtp)
        .setting(Key::MailFrom, "Status <status@example.com>")
        .delivery(DeliveryOptions {
            idle_poll: Duration::from_secs(3600),
            ..Default::default()
        })
        .spawn()
        .await;
    let mail = a.create_service("Mail").await["Id"].as_i64().unwrap();
    a.create_customer("Ann", Some("ann@example.com"), &[mail])
        .await;
    let ticket = a.create_ticket("Mail is down", &[mail]).await["Id"]
        .as_i64()
        .unwrap();
    // B is told of the commit and sends at once.
    let got = smtp.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["ann@example.com"]);
    let sent = |app: &TestApp| {
        let store = app.store.clone();
        async move { store.delivery_counts(Some(ticket)).await.unwrap().sent }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sent(&b).await < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "B never recorded the message as sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sent(&a).await, 1, "one database: A sees it sent too");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_ticket_created_on_one_instance_is_read_on_another() {
    require_postgres!("a_ticket_created_on_one_instance_is_read_on_another");
    let (a, b) = two_instances().await;
    let mail = a.create_service("Mail").await;
    let ticket = a
        .create_ticket("Mail is down", &[mail["Id"].as_i64().unwrap()])
        .await;
    let path = format!("/api/Tickets/{}", ticket["Id"]);
    let on_b = json(b.get(&path).await, 200).await;
    assert_eq!(on_b, ticket);
    // And the other way round, for an update.
    let update = json!({"Id": ticket["Id"], "Description": "Mail is back", "ClosedTime": "2001-01-01T13:00:00Z"});
    assert_eq!(b.put_json(&path, &update).await.status(), 204);
    let on_a = json(a.get(&path).await, 200).await;
    assert_eq!(on_a["Description"], "Mail is back");
    assert_eq!(on_a["IsClosed"], true);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn an_api_key_set_on_one_instance_works_on_another_within_seconds() {
    require_postgres!("an_api_key_set_on_one_instance_works_on_another_within_seconds");
    let (a, b) = two_instances().await;
    assert_eq!(b.get("/api/Services").await.status(), 200);
    let new_key = "a-brand-new-key-0123456789";
    set_api_key(
        &a.store,
        &ApiKey::parse(new_key).unwrap(),
        &herald::domain::Who::cli(),
    )
    .await
    .unwrap();
    a.settings.refresh(&a.store).await.unwrap();
    let with_new_key = |app: &TestApp| {
        app.client
            .get(format!("{}/api/Services?key={new_key}", app.address))
            .send()
    };
    assert_eq!(with_new_key(&a).await.unwrap().status(), 200, "A at once");
    let b_took_it = poll_until(Duration::from_secs(10), || async {
        with_new_key(&b).await.unwrap().status() == 200
    })
    .await;
    assert!(b_took_it, "B accepts the new key within seconds");
    assert_eq!(
        b.get("/api/Services").await.status(),
        401,
        "B refuses the old key"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn instances_starting_at_once_on_a_new_database_migrate_once_and_share_one_key() {
    require_postgres!(
        "instances_starting_at_once_on_a_new_database_migrate_once_and_share_one_key"
    );
    let url = postgres::fresh_database().await;
    let config = || test_config(&url);
    let (one, two, three, four) = tokio::join!(
        Application::build(config()),
        Application::build(config()),
        Application::build(config()),
        Application::build(config()),
    );
    let started: Vec<_> = [one, two, three, four]
        .into_iter()
        .map(|r| r.expect("every instance starts (one migrates, the others wait for it)"))
        .collect();
    let keys: Vec<&ApiKey> = started
        .iter()
        .filter_map(|(_, first_run)| first_run.generated_key.as_ref())
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "exactly one instance generated and shows a key"
    );
    let store = started[0].0.store();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(store.reader())
            .await
            .unwrap();
    let files = std::fs::read_dir("migrations/postgres").unwrap().count();
    assert_eq!(applied.len(), files, "every migration applied once");
    assert!(applied.iter().all(|(_, ok)| *ok));
    // The key that was shown is the one every instance accepts.
    for (app, _) in &started {
        app.settings().refresh(app.store()).await.unwrap();
        let stored = app.settings().get().api_key.clone().unwrap();
        assert_eq!(stored, keys[0].hash());
    }
}

#[tokio::test]
async fn requests_fail_with_503_while_postgres_is_down_and_work_again_after() {
    require_postgres!("requests_fail_with_503_while_postgres_is_down_and_work_again_after");
    // A cluster of its own: this test stops it.
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .unwrap()
        .expect("a PostgreSQL cluster starts");
    let url = cluster.create_database().await;
    let app = TestApp::builder()
        .database(&url)
        .setting(Key::DbAcquireTimeout, "1s")
        .spawn()
        .await;
    app.create_service("Mail").await;
    assert_eq!(status(&app, "/readyz").await, 200);

    // A query in flight when the server goes down fails as "unavailable", not as a bug.
    let pool = app.store.reader().clone();
    let in_flight =
        tokio::spawn(async move { sqlx::query("SELECT pg_sleep(60)").execute(&pool).await });
    let pool = app.store.reader().clone();
    let sleeping = poll_until(Duration::from_secs(10), || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        n == 1
    })
    .await;
    assert!(sleeping, "the slow query runs");

    let cluster = std::sync::Arc::new(cluster);
    let stopping = cluster.clone();
    tokio::task::spawn_blocking(move || stopping.stop_server())
        .await
        .unwrap()
        .expect("PostgreSQL stops");
    let error = in_flight
        .await
        .unwrap()
        .expect_err("the server ended the query");
    let error = herald::store::StoreError::from(error);
    assert!(
        matches!(error, herald::store::StoreError::Unavailable(_)),
        "{error:?}"
    );
    let unready = poll_until(Duration::from_secs(10), || async {
        status(&app, "/readyz").await == 503
    })
    .await;
    assert!(unready, "/readyz says not ready while the database is down");
    assert_eq!(
        status(&app, "/healthz").await,
        200,
        "the process itself is fine"
    );
    for response in [
        app.get("/api/Services").await,
        app.get("/api/Services/1").await,
        app.post_json("/api/Services", &json!({"Name": "Web"}))
            .await,
    ] {
        assert_eq!(response.headers()["retry-after"], "5");
        let body = json(response, 503).await;
        assert_eq!(
            body["Message"],
            "The service is temporarily unavailable; try again shortly."
        );
    }

    let starting = cluster.clone();
    tokio::task::spawn_blocking(move || starting.start_server())
        .await
        .unwrap()
        .expect("PostgreSQL starts again");
    let ready = poll_until(Duration::from_secs(30), || async {
        status(&app, "/readyz").await == 200
    })
    .await;
    assert!(ready, "/readyz says ready again once the database is back");
    let services = json(app.get("/api/Services").await, 200).await;
    assert_eq!(services[0]["Name"], "Mail");
    app.create_service("Web").await;
    app.stop().await;
}

#[tokio::test]
async fn an_instance_opens_no_more_connections_than_configured() {
    require_postgres!("an_instance_opens_no_more_connections_than_configured");
    let (url, app) = crate::pg_reads::one_read_connection().await;
    app.create_service("Mail").await;
    // Lists through the pool, single entities on the point reads' own connections.
    let requests = (0..40).map(|i| {
        app.get(if i % 2 == 0 {
            "/api/Services"
        } else {
            "/api/Services/1"
        })
    });
    for response in futures::future::join_all(requests).await {
        assert_eq!(response.status(), 200);
    }
    let database = url.rsplit('/').next().unwrap().to_owned();
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect(&url.replace(&database, "postgres"))
            .await
            .unwrap();
    let connections: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1")
            .bind(&database)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert!((1..=4).contains(&connections), "{connections} connections");
    app.stop().await;
}

#[tokio::test]
async fn the_recipient_lists_are_compressed_with_lz4_where_the_server_has_it() {
    require_postgres!("the_recipient_lists_are_compressed_with_lz4_where_the_server_has_it");
    let app = TestApp::builder().backend(Backend::Postgres).spawn().await;
    let reader = app.store.reader();
    let has_lz4: bool = sqlx::query_scalar(
        "SELECT COALESCE(bool_or('lz4' = ANY (enumvals)), false) FROM pg_settings \
         WHERE name = 'default_toast_compression'",
    )
    .fetch_one(reader)
    .await
    .unwrap();
    // attcompression: 'l' lz4, '' the server's default (pglz).
    let methods: Vec<(String, String)> = sqlx::query_as(
        "SELECT attname::TEXT, attcompression::TEXT FROM pg_attribute \
         WHERE attrelid = 'notification_lists'::regclass AND attname IN \
           ('customer_ids', 'addresses', 'names', 'sent_at', 'replies') ORDER BY attname",
    )
    .fetch_all(reader)
    .await
    .unwrap();
    assert_eq!(methods.len(), 5, "{methods:?}");
    let expected = if has_lz4 { "l" } else { "" };
    assert!(
        methods.iter().all(|(_, m)| m == expected),
        "lz4 available: {has_lz4}; {methods:?}"
    );
}
