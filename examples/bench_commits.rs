//! Benchmark baseline: the raw rate of single-row durable commits to SQLite (WAL,
//! synchronous=FULL) on this disk. `bench_commits DIR SECONDS` prints commits per second.
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: bench_commits DIR SECONDS");
    let secs: u64 = args
        .next()
        .expect("usage: bench_commits DIR SECONDS")
        .parse()
        .unwrap();
    let mut conn = SqliteConnectOptions::new()
        .filename(format!("{dir}/commits.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    let end = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut n = 0u64;
    while Instant::now() < end {
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO t (body) VALUES ($1)")
            .bind("a ticket-sized row of text, about as long as a short description")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        n += 1;
    }
    println!("{:.1}", n as f64 / start.elapsed().as_secs_f64());
}
