//! The point reads on PostgreSQL (`store/pg_reads.rs`): connections of their own, one round
//! trip per read. What must hold: a connection the server ended is replaced without failing
//! a request, and a read cancelled mid-statement leaves nothing behind for the next one.

use std::time::Duration;

use herald::config::Key;
use serde_json::json;
use sqlx::Connection;

use herald_test_support::postgres;
use herald_test_support::*;

macro_rules! require_postgres {
    ($test:literal) => {
        if !postgres::available($test) {
            return;
        }
    };
}

/// A connection to the database of `url` for the test's own statements.
async fn admin(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url).await.unwrap()
}

/// An instance on a fresh database with four connections in all, one of them for point
/// reads; the database's URL.
pub(crate) async fn one_read_connection() -> (String, TestApp) {
    let url = postgres::fresh_database().await;
    let app = TestApp::builder()
        .database(&url)
        .setting(Key::DbMaxConnections, "4")
        .spawn()
        .await;
    (url, app)
}

#[tokio::test]
async fn point_reads_survive_the_server_ending_their_connections() {
    require_postgres!("point_reads_survive_the_server_ending_their_connections");
    let url = postgres::fresh_database().await;
    let app = TestApp::builder().database(&url).spawn().await;
    let service = app.create_service("Mail").await["Id"].as_i64().unwrap();
    let customer = app
        .create_customer("Ann", Some("ann@example.com"), &[service])
        .await["Id"]
        .as_i64()
        .unwrap();
    let ticket = app.create_ticket("Mail is slow", &[service]).await["Id"]
        .as_i64()
        .unwrap();
    let operator = app
        .create(
            "/api/Operators",
            &json!({"Name": "Olga", "Email": "olga@example.com", "IsAdmin": false, "Password": "correct horse battery"}),
        )
        .await["Id"]
        .as_i64()
        .unwrap();
    let reads = [
        (format!("/api/Services/{service}"), "Name", "Mail"),
        (format!("/api/Customers/{customer}"), "Name", "Ann"),
        (
            format!("/api/Tickets/{ticket}"),
            "Description",
            "Mail is slow",
        ),
        (format!("/api/Operators/{operator}"), "Name", "Olga"),
    ];
    for _ in 0..2 {
        for (path, field, value) in &reads {
            assert_eq!(
                json(app.get(path).await, 200).await[field],
                *value,
                "{path}"
            );
        }
        // Every connection of the instance ended by the server (as by a failover or an
        // administrator), right after its use: the next reads find them gone.
        let mut admin = admin(&url).await;
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap();
        assert!(!ended.is_empty() && ended.iter().all(|e| *e), "{ended:?}");
    }
    for (path, field, value) in &reads {
        assert_eq!(
            json(app.get(path).await, 200).await[field],
            *value,
            "{path}"
        );
    }
    let missing = app.get(&format!("/api/Tickets/{}", ticket + 1)).await;
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_read_cancelled_mid_statement_leaves_no_answer_for_the_next() {
    require_postgres!("a_read_cancelled_mid_statement_leaves_no_answer_for_the_next");
    // One point-read connection: the next read would get the very connection the cancelled
    // one used, were it put back.
    let (url, app) = one_read_connection().await;
    let service = app.create_service("Mail").await["Id"].as_i64().unwrap();
    let first = app.create_ticket("First", &[service]).await["Id"]
        .as_i64()
        .unwrap();
    let second = app.create_ticket("Second", &[service]).await["Id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        json(app.get(&format!("/api/Tickets/{first}")).await, 200).await["Description"],
        "First"
    );

    // The tickets locked, so the read of the first waits inside its statement.
    let mut admin = admin(&url).await;
    let mut lock = admin.begin().await.unwrap();
    sqlx::query("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let request = app
        .client
        .get(app.url(&format!("/api/Tickets/{first}")))
        .send();
    let watcher = sqlx::PgPool::connect(&url).await.unwrap();
    let waiting = async {
        poll_until(Duration::from_secs(10), || {
            let watcher = watcher.clone();
            async move {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .fetch_one(&watcher)
                .await
                .unwrap();
                n == 1
            }
        })
        .await
    };
    // The client gives up (the request future dropped, its connection closed) once the read
    // is seen waiting.
    tokio::select! {
        _ = request => panic!("the read answered while the table was locked"),
        seen = waiting => assert!(seen, "the read waits for the lock"),
    }
    lock.commit().await.unwrap();

    for _ in 0..3 {
        let ticket = json(app.get(&format!("/api/Tickets/{second}")).await, 200).await;
        assert_eq!(ticket["Description"], "Second");
        assert_eq!(ticket["Id"], second);
    }
    assert_eq!(
        json(app.get(&format!("/api/Tickets/{first}")).await, 200).await["Description"],
        "First"
    );
    app.stop().await;
}

#[tokio::test]
async fn tickets_read_together_each_get_their_own_rows() {
    require_postgres!("tickets_read_together_each_get_their_own_rows");
    // One point-read connection: the reads queue behind one another and are read together.
    let (_, app) = one_read_connection().await;
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    let web = app.create_service("Web").await["Id"].as_i64().unwrap();
    let mut tickets = Vec::new();
    for (description, services) in [
        ("None", vec![]),
        ("One", vec![web]),
        ("Two", vec![mail, web]),
    ] {
        tickets.push(app.create_ticket(description, &services).await);
    }
    let missing = tickets
        .iter()
        .map(|t| t["Id"].as_i64().unwrap())
        .max()
        .unwrap()
        + 1;
    // Every ticket read several times at once, and one that does not exist.
    let reads = (0..40).map(|i| {
        let app = &app;
        let wanted = tickets.get(i % 4).cloned();
        async move {
            let id = wanted
                .as_ref()
                .map_or(missing, |t| t["Id"].as_i64().unwrap());
            (wanted, app.get(&format!("/api/Tickets/{id}")).await)
        }
    });
    for (wanted, response) in futures::future::join_all(reads).await {
        match wanted {
            Some(ticket) => assert_eq!(json(response, 200).await, ticket),
            None => assert_eq!(response.status(), 404),
        }
    }
    app.stop().await;
}

/// A database that stops answering (here: a table locked by another transaction) makes a
/// ticket's read a 503 once it waited the acquire timeout, not a request held until its own
/// timeout; once the database answers again, so do the reads.
#[tokio::test]
async fn a_read_the_database_does_not_answer_is_a_503_after_the_acquire_timeout() {
    require_postgres!("a_read_the_database_does_not_answer_is_a_503_after_the_acquire_timeout");
    let url = postgres::fresh_database().await;
    let app = TestApp::builder()
        .database(&url)
        .setting(Key::DbAcquireTimeout, "300ms")
        .spawn()
        .await;
    let service = app.create_service("Mail").await["Id"].as_i64().unwrap();
    let ticket = app.create_ticket("Mail is slow", &[service]).await["Id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/Tickets/{ticket}");
    assert_eq!(app.get(&path).await.status(), 200);

    let mut locker = admin(&url).await;
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let stuck = app.get(&path).await;
    assert_eq!(stuck.status(), 503, "{}", stuck.text().await.unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered long before the request's own timeout"
    );
    sqlx::query("COMMIT").execute(&mut locker).await.unwrap();
    let waited = std::time::Instant::now();
    loop {
        let again = app.get(&path).await;
        if again.status() == 200 {
            break;
        }
        assert_eq!(again.status(), 503);
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "reads never came back"
        );
        tokio::task::yield_now().await;
    }
}
