//! The scheduler's benchmark (issue 14), on SQLite and on PostgreSQL (a throwaway cluster the
//! test support starts), each with 100,000 pending jobs (10,000 planned tickets, ten reminders
//! each, all weeks ahead):
//!
//! - the cost of a tick when nothing is due: `Store::due_jobs`, timed over many calls, with the
//!   engine's plan of its statement (goal: one indexed query, under 5 ms);
//! - the time from a reminder's due moment to the first message of its 100,000 followers at the
//!   SMTP server (goal: under 2 s), with Herald's own scheduler and delivery workers on the real
//!   clock.
//!
//! `cargo run --example bench_schedule [sqlite|postgres]...` (both by default); `bench/schedule.sh`.

use std::time::{Duration, Instant};

use herald::domain::Timestamp;
use herald_test_support::smtp::SmtpServer;
use herald_test_support::{Backend, TestApp};
use serde_json::json;

const FOLLOWERS: i64 = 100_000;
const TICKETS: i64 = 10_000;
const LEADS: i64 = 10;
const TICKS: usize = 500;
const HOUR_TICKS: i64 = 3600 * 10_000_000;

/// `WITH RECURSIVE n(i)`: the integers 1..=count, in both engines' SQL.
fn numbers(count: i64) -> String {
    format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})")
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(app.store.writer()).await.unwrap();
}

async fn seed(app: &TestApp) -> i64 {
    let quiet = app.create_service("Quiet").await["Id"].as_i64().unwrap();
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    let now = Timestamp::now().ticks();
    let start = now + 30 * 24 * HOUR_TICKS;
    exec(
        app,
        &format!(
            "{} INSERT INTO customers (name, email) \
             SELECT 'Customer ' || i, 'c' || i || '@example.com' FROM n",
            numbers(FOLLOWERS)
        ),
    )
    .await;
    exec(
        app,
        &format!("INSERT INTO customer_services (customer_id, service_id) SELECT id, {mail} FROM customers"),
    )
    .await;
    exec(
        app,
        &format!(
            "{} INSERT INTO tickets (description, start_time, created_time, is_closed) \
             SELECT 'Planned ' || i, {start} + CAST(i AS BIGINT) * 600000000, {now}, 0 FROM n",
            numbers(TICKETS)
        ),
    )
    .await;
    exec(
        app,
        &format!(
            "INSERT INTO ticket_services (ticket_id, service_id) SELECT id, {quiet} FROM tickets"
        ),
    )
    .await;
    exec(
        app,
        &format!(
            "{} INSERT INTO scheduled_jobs (kind, ticket_id, due_at, planned_for, lead_secs, \
               state, planned_at) \
             SELECT 'reminder', t.id, t.start_time - n.i * {HOUR_TICKS}, t.start_time, \
               n.i * 3600, 'pending', {now} FROM tickets t, n",
            numbers(LEADS)
        ),
    )
    .await;
    mail
}

async fn plan(app: &TestApp, backend: Backend) -> String {
    let sql = "SELECT id, due_at FROM scheduled_jobs WHERE state = 'pending' \
               ORDER BY due_at, id LIMIT 101";
    match backend {
        Backend::Sqlite => {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .fetch_all(app.store.reader())
                    .await
                    .unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
        Backend::Postgres => {
            exec(app, "ANALYZE scheduled_jobs").await;
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"))
                    .fetch_all(app.store.reader())
                    .await
                    .unwrap();
            rows.join("\n")
        }
    }
}

async fn run(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .backend(backend)
        .smtp(&smtp)
        .spawn()
        .await;
    let seeding = Instant::now();
    let mail = seed(&app).await;
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM scheduled_jobs WHERE state = 'pending'")
            .fetch_one(app.store.reader())
            .await
            .unwrap();
    println!(
        "== {backend:?}: {pending} pending jobs, {FOLLOWERS} followers (seeded in {:.1?})",
        seeding.elapsed()
    );

    // A tick when nothing is due.
    let mut times = Vec::with_capacity(TICKS);
    for _ in 0..TICKS {
        let started = Instant::now();
        let due = app.store.due_jobs(Timestamp::now(), 100).await.unwrap();
        times.push(started.elapsed());
        assert!(due.ids.is_empty() && due.next.is_some());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "tick, nothing due ({TICKS} calls): median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(times[TICKS / 2]),
        ms(times[TICKS * 99 / 100]),
        ms(times[TICKS - 1])
    );
    println!("plan:\n{}", plan(&app, backend).await);

    // A reminder for 100,000 followers falls due.
    // In whole seconds, as the API is given it (the job is planned for exactly this start).
    let now = Timestamp::now().plus(Duration::from_secs(3600)).ticks();
    let start = Timestamp::from_ticks(now - now % 10_000_000);
    let ticket = app
        .create(
            "/api/Tickets?DoNotSendEmail=true",
            &json!({"Description": "Database upgrade", "Services": [{"Id": mail}],
                    "StartTime": start.to_chrono().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
        )
        .await["Id"]
        .as_i64()
        .unwrap();
    let due = Timestamp::now().plus(Duration::from_secs(3));
    exec(
        &app,
        &format!(
            "INSERT INTO scheduled_jobs (kind, ticket_id, due_at, planned_for, lead_secs, state, \
             planned_at) VALUES ('reminder', {ticket}, {}, {}, 3600, 'pending', {})",
            due.ticks(),
            start.ticks(),
            Timestamp::now().ticks()
        ),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while smtp.messages().is_empty() {
        assert!(Instant::now() < deadline, "no reminder within a minute");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let first = Timestamp::now();
    let queued = app.store.delivery_counts(Some(ticket)).await.unwrap();
    println!(
        "reminder to {} followers: first message {:.0} ms after its due moment",
        queued.queued + queued.sent + queued.retrying,
        first.since(due).as_secs_f64() * 1000.0
    );
    app.stop().await;
}

#[tokio::main]
async fn main() {
    let mut backends: Vec<Backend> = std::env::args()
        .skip(1)
        .map(|a| match a.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}: sqlite or postgres"),
        })
        .collect();
    if backends.is_empty() {
        backends = vec![Backend::Sqlite, Backend::Postgres];
    }
    for backend in backends {
        run(backend).await;
    }
}
