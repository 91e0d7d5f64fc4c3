//! `herald copy-to-postgres`: a populated SQLite database copied into PostgreSQL by the real
//! binary, killed mid-copy and re-run, then served by Herald on PostgreSQL with the same
//! output, byte for byte, as on SQLite.

use std::process::Stdio;
use std::time::Duration;

use herald::store::{PoolSettings, Store};
use serde_json::json;
use sqlx::Connection as _;

use herald_test_support::*;

/// Customers added in bulk, so that the copy takes several batches.
const BULK: i64 = 2500;
/// A customer id in the copy's second batch (of 1000 rows).
const BLOCKED_ID: i64 = 1500;

fn copy_command(from: &str, to: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"));
    c.args(["copy-to-postgres", "--from", from, "--to", to])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Fills the SQLite database behind `app` through the API and in bulk.
async fn populate(app: &TestApp) {
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    let web = app.create_service("Web").await["Id"].as_i64().unwrap();
    let old = app.create_service("Old").await["Id"].as_i64().unwrap();
    app.create_customer("Ann", Some("ann@example.com"), &[mail, web])
        .await;
    app.create_customer("Bob", None, &[web, old]).await;
    let gone = app.create_customer("Gone", None, &[mail]).await;
    assert_eq!(
        app.delete(&format!("/api/Services/{old}")).await.status(),
        200
    );
    app.create(
        "/api/Operators",
        &json!({"Name": "Olga", "Email": "olga@example.com", "IsAdmin": true, "Password": "correct horse battery"}),
    )
    .await;
    let ticket = app
        .create(
            "/api/Tickets",
            &json!({"Description": "Mail is down", "StartTime": "2001-01-01T12:00:00.25Z", "Services": [{"Id": mail}], "Operator": {"Id": 1}}),
        )
        .await;
    let path = format!("/api/Tickets/{}", ticket["Id"]);
    let close = json!({"Id": ticket["Id"], "Description": "Mail is down", "StartTime": "2001-01-01T12:00:00.25Z", "ClosedTime": "2001-01-01T13:00:00Z"});
    assert_eq!(app.put_json(&path, &close).await.status(), 204);
    app.create_ticket("Planned work", &[web]).await;
    let bulk_customers = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {BULK}) \
         INSERT INTO customers (name, email) SELECT 'Bulk ' || i, 'bulk' || i || '@example.com' FROM n"
    );
    sqlx::query(&bulk_customers)
        .execute(app.store.writer())
        .await
        .unwrap();
    sqlx::query(&format!(
        "INSERT INTO customer_services (customer_id, service_id) \
         SELECT id, {mail} FROM customers WHERE name LIKE 'Bulk %'"
    ))
    .execute(app.store.writer())
    .await
    .unwrap();
    // The newest customer deleted after the bulk: its id must not come back either.
    let newest = app
        .create("/api/Customers", &json!({"Name": "Newest", "Services": []}))
        .await;
    for id in [&gone["Id"], &newest["Id"]] {
        assert_eq!(
            app.delete(&format!("/api/Customers/{id}")).await.status(),
            200
        );
    }
}

/// Every GET a client could make of the data, in both formats.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for path in [
        "/api/Services",
        "/api/Services/2",
        "/api/Customers",
        "/api/Customers/1",
        "/api/Customers?$top=5&$skip=1000",
        "/api/Operators",
        "/api/Tickets",
        "/api/Tickets/1",
        "/api/Tickets?isClosed=true",
    ] {
        out.push(format!("{path}\n{}", text(app.get(path).await, 200).await));
        out.push(format!(
            "{path} xml\n{}",
            text(app.get_xml(path).await, 200).await
        ));
    }
    out
}

#[tokio::test]
async fn copy_to_postgres_copies_everything_and_resumes_after_being_killed() {
    if !herald_test_support::postgres::available(
        "copy_to_postgres_copies_everything_and_resumes_after_being_killed",
    ) {
        return;
    }
    let sqlite = TestApp::spawn().await;
    populate(&sqlite).await;
    let from = sqlite.database_url.clone();
    let to = herald_test_support::postgres::fresh_database().await;

    // Into a database that has the schema, while another transaction holds a row the copy's
    // second batch of customers needs: the copy commits one batch, then waits there.
    let target = Store::connect(&to, &PoolSettings::default()).await.unwrap();
    target.migrate().await.unwrap();
    target.close().await;
    let mut blocker = sqlx::PgConnection::connect(&to).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("INSERT INTO customers (id, name) VALUES ($1, 'blocker')")
        .bind(BLOCKED_ID)
        .execute(&mut blocker)
        .await
        .unwrap();
    let mut first = copy_command(&from, &to).spawn().unwrap();
    let watcher = sqlx::PgPool::connect(&to).await.unwrap();
    let database = to.rsplit('/').next().unwrap().to_owned();
    let waiting = poll_until(Duration::from_secs(60), || {
        let watcher = watcher.clone();
        let database = database.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
            )
            .bind(database)
            .fetch_one(&watcher)
            .await
            .unwrap();
            n > 0
        }
    })
    .await;
    assert!(waiting, "the copy reaches the held row");
    first.kill().await.unwrap();
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let copied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(&watcher)
        .await
        .unwrap();
    assert_eq!(copied, 1000, "the interrupted copy left whole batches only");

    // Re-run: it completes the copy.
    let second = copy_command(&from, &to).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        stdout.contains("Completed the interrupted copy."),
        "{stdout}"
    );
    assert!(stdout.contains("row counts verified"), "{stdout}");
    for table in [
        "customers",
        "customer_services",
        "ticket_events",
        "settings",
    ] {
        let q = format!("SELECT COUNT(*) FROM {table}");
        let in_sqlite: i64 = sqlx::query_scalar(&q)
            .fetch_one(sqlite.store.reader())
            .await
            .unwrap();
        let in_postgres: i64 = sqlx::query_scalar(&q).fetch_one(&watcher).await.unwrap();
        assert_eq!(in_sqlite, in_postgres, "{table}");
        assert!(in_sqlite > 0, "{table} was populated");
    }

    // Herald on the copy answers exactly as on the original, with the same API key.
    let postgres = TestApp::builder().database(&to).spawn().await;
    let (on_sqlite, on_postgres) = (snapshot(&sqlite).await, snapshot(&postgres).await);
    for (s, p) in on_sqlite.iter().zip(&on_postgres) {
        if s != p {
            panic!("the copy differs:\n--- SQLite:\n{s}\n--- PostgreSQL:\n{p}");
        }
    }
    // New rows get the same ids on both: no id handed out by SQLite is reused.
    for app in [&sqlite, &postgres] {
        let customer = app.create_customer("After", None, &[]).await;
        assert_eq!(customer["Id"], BULK + 5, "a new customer's id");
        let ticket = app.create_ticket("After", &[]).await;
        assert_eq!(ticket["Id"], 3);
    }

    // A third run finds a database that is not empty any more.
    let third = copy_command(&from, &to).output().await.unwrap();
    assert!(!third.status.success());
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    sqlite.stop().await;
    postgres.stop().await;
}
