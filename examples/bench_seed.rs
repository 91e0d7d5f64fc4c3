//! Fills a migrated Herald database with tickets for benchmarks, through plain SQL that both
//! backends run. `bench_seed DATABASE_URL COUNT`
#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: bench_seed DATABASE_URL COUNT");
    let count: i64 = args
        .next()
        .expect("usage: bench_seed DATABASE_URL COUNT")
        .parse()
        .unwrap();
    let store = herald::store::Store::connect(&url, &Default::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let pool = store.writer();
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM services WHERE name = 'Bench service'")
            .fetch_optional(pool)
            .await
            .unwrap();
    let service: i64 = match existing {
        Some(id) => id,
        None => {
            sqlx::query_scalar("INSERT INTO services (name) VALUES ('Bench service') RETURNING id")
                .fetch_one(pool)
                .await
                .unwrap()
        }
    };
    let now = herald::domain::Timestamp::now().ticks();
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(100_000);
        let from = done + 1;
        let before: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM tickets")
            .fetch_one(pool)
            .await
            .unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
             INSERT INTO tickets (description, start_time, created_time, is_closed) \
             SELECT 'Benchmark ticket number ' || i || ': the mail service is slow for some users', $3, $3, 0 FROM n",
        )
        .bind(from)
        .bind(from + batch - 1)
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO ticket_services (ticket_id, service_id) SELECT id, $1 FROM tickets WHERE id > $2",
        )
        .bind(service)
        .bind(before)
        .execute(pool)
        .await
        .unwrap();
        done += batch;
    }
    println!("seeded {count} tickets");
}
