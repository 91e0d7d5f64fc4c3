//! A delivery worker claims its next batch while the current one is being sent (so its
//! connections never wait for a claim or a commit between batches). The batch it holds ahead
//! is a claim like any other: its lease is renewed while it waits, it is released when the
//! worker stops, and when the process dies it is delivered after its lease runs out.

use std::collections::HashSet;
use std::time::Duration;

use herald::notify::worker::DeliveryOptions;
use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

use crate::notifications::WAIT;
use crate::notify_crash::{addresses, restart_until_all_sent, Serve};

/// The claims held right now: (token, messages still to deliver, their latest lease end). The
/// lease's end is the rows' `next_attempt_at` on SQLite; on PostgreSQL their `lease_until`,
/// or the claim's renewal in `notification_leases` when it is later. PostgreSQL's email is
/// queued as recipient lists, claimed whole: their recipients without a row count.
async fn held(app: &TestApp) -> Vec<(i64, i64, i64)> {
    let sql = if app.store.backend() == herald::store::Backend::Postgres {
        "SELECT claim, SUM(n)::BIGINT, MAX(until) FROM ( \
           SELECT n.claimed_by AS claim, COUNT(*) AS n, \
             GREATEST(MAX(n.lease_until), COALESCE(MAX(l.until), 0)) AS until \
           FROM notifications n LEFT JOIN notification_leases l ON l.claim = n.claimed_by \
           WHERE n.claimed_by IS NOT NULL AND n.state IN ('queued', 'retrying') \
           GROUP BY n.claimed_by \
           UNION ALL SELECT nl.claimed_by, nl.remaining, \
             GREATEST(nl.lease_until, COALESCE(l.until, 0)) \
           FROM notification_lists nl LEFT JOIN notification_leases l ON l.claim = nl.claimed_by \
           WHERE nl.claimed_by IS NOT NULL AND nl.state = 'queued') h \
         GROUP BY claim ORDER BY claim"
    } else {
        "SELECT claimed_by, COUNT(*), MAX(next_attempt_at) FROM notifications \
         WHERE claimed_by IS NOT NULL AND state IN ('queued', 'retrying') \
         GROUP BY claimed_by ORDER BY claimed_by"
    };
    sqlx::query_as(sql)
        .fetch_all(app.store.reader())
        .await
        .unwrap()
}

/// `n` customers following a new service, written in one statement (same SQL on both
/// backends); returns the service's id.
async fn followers(app: &TestApp, n: usize) -> i64 {
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    for sql in [
        format!(
            "INSERT INTO customers (name, email) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             SELECT 'Customer ' || i, 'c' || i || '@example.com' FROM n"
        ),
        format!(
            "INSERT INTO customer_services (customer_id, service_id) \
             SELECT id, {mail} FROM customers"
        ),
    ] {
        sqlx::query(&sql).execute(app.store.writer()).await.unwrap();
    }
    mail
}

herald_test_support::backend_tests! {
    async fn a_batch_claimed_ahead_is_renewed_while_it_waits_and_released_on_stop() {
        const N: usize = 24;
        let smtp = SmtpServer::start().await;
        // One worker, one connection, batches of 8 taking 1.6 s: the batch claimed ahead
        // (at once, the current one being full) waits 1.6 s, longer than its 0.6 s lease.
        smtp.set_delay(Duration::from_millis(200));
        // The data and the checks through an instance without a mail server (it sends nothing);
        // the delivery through a second one, stopped mid-delivery. Both with batches of 8 (on
        // PostgreSQL the instance that queues the email makes lists of its batch size).
        let batches_of_8 = DeliveryOptions {
            batch_size: 8,
            ..fast_delivery()
        };
        let app = TestApp::builder().delivery(batches_of_8).spawn().await;
        let mail = followers(&app, N).await;
        let deliverer = app
            .second_instance()
            .smtp(&smtp)
            .delivery(DeliveryOptions {
                workers: 1,
                connections: 1,
                batch_size: 8,
                lease: Duration::from_millis(600),
                ..fast_delivery()
            })
            .spawn()
            .await;
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();

        // Two claims at once from the one worker: the batch being sent and the one ahead.
        let seen = std::sync::Mutex::new(Vec::new());
        let claimed_ahead = poll_until(WAIT, || async {
            let now = held(&app).await;
            let two = now.len() == 2;
            *seen.lock().unwrap() = now;
            two
        })
        .await;
        let two = seen.lock().unwrap().clone();
        assert!(claimed_ahead, "the worker never held a batch ahead: {two:?}");
        let (ahead, ahead_rows, first_until) = two[1];
        assert_eq!(ahead_rows, 8, "the batch ahead is a whole batch");

        // Its lease is extended while it waits (it would have run out after 0.6 s).
        let renewed = poll_until(WAIT, || async {
            held(&app).await.iter().any(|&(claim, rows, until)| {
                claim == ahead && rows == 8 && until > first_until
            })
        })
        .await;
        assert!(renewed, "the lease of the batch held ahead was never renewed");

        // Stopped mid-delivery, while its second batch is sent and its third held ahead:
        // nothing stays claimed, nothing was sent twice, and what was not sent (the batch
        // ahead among it) is queued again, never attempted.
        smtp.wait_for(13, WAIT).await;
        deliverer.stop().await;
        assert!(held(&app).await.is_empty(), "claims left after the stop");
        let counts = app.store.delivery_counts(Some(t)).await.unwrap();
        let received = smtp.messages().len();
        assert_eq!(counts.sent as usize, received);
        assert!(received < N, "stopped before the end ({received} of {N})");
        assert_eq!(counts.sent + counts.queued, N as i64);
        let attempted: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE state = 'queued' AND attempts > 0",
        )
        .fetch_one(app.store.reader())
        .await
        .unwrap();
        assert_eq!(attempted, 0, "a released message counted an attempt");
        let once: HashSet<String> = addresses(&smtp).into_iter().map(|(a, n)| {
            assert_eq!(n, 1, "{a} got {n} emails");
            a
        }).collect();
        assert_eq!(once.len(), received);
        app.stop().await;
    }

    async fn a_batch_claimed_ahead_is_delivered_after_a_crash() {
        // Four workers of 250 each take 1,000; what they claim ahead is beyond that.
        const N: usize = 1_300;
        let smtp = SmtpServer::start().await;
        smtp.set_delay(Duration::from_millis(40));
        let app = TestApp::spawn().await;
        let mail = followers(&app, N).await;
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();

        let serve = Serve::start(&app.database_url, Some(&smtp.url()));
        // A claim beyond the four workers' first: a batch held ahead.
        let ahead = poll_until(WAIT, || async { held(&app).await.len() > 4 }).await;
        assert!(ahead, "no batch was claimed ahead: {:?}", held(&app).await);
        serve.kill().await;
        smtp.wait_disconnected(WAIT).await;
        let before_kill = addresses(&smtp);
        assert!(before_kill.len() < N, "killed mid-delivery ({} of {N})", before_kill.len());

        // Started again: once the dead instance's leases run out, everything arrives, and the
        // only duplicates are messages that had reached the server before the kill.
        let wait = WAIT + Duration::from_secs(10);
        let after = restart_until_all_sent(&app, &smtp, t, N, wait, &before_kill).await;
        assert_eq!(after.len(), N, "every follower got the email");
        app.stop().await;
    }
}
