//! Two `herald serve` processes on one PostgreSQL database and one mail server share the
//! delivery queue: 10,000 recipients each get the email once; one instance is killed with
//! SIGKILL mid-delivery, the other finishes, nothing is lost, and the only duplicates are
//! messages the killed instance had in flight.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::notify_crash::{addresses, Serve};
use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

const RECIPIENTS: i64 = 10_000;
/// Long enough for the killed instance's leases (10 s) to run out and the rest to be sent.
const DELIVERY: Duration = Duration::from_secs(180);

/// The instances that hold claims on messages right now (a claim's token holds its instance's
/// id in its high half): on rows, or on the recipient lists PostgreSQL queues email as.
async fn claimers(app: &TestApp) -> HashSet<i64> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT claimed_by >> 32 FROM notifications WHERE claimed_by IS NOT NULL \
         UNION SELECT claimed_by >> 32 FROM notification_lists \
         WHERE claimed_by IS NOT NULL AND state = 'queued'",
    )
    .fetch_all(app.store.reader())
    .await
    .unwrap();
    ids.into_iter().collect()
}

#[tokio::test]
async fn two_instances_deliver_to_ten_thousand_once_and_one_may_die() {
    if !herald_test_support::postgres::available(
        "two_instances_deliver_to_ten_thousand_once_and_one_may_die",
    ) {
        return;
    }
    let smtp = SmtpServer::start().await;
    // Slow enough that the kill lands mid-delivery.
    smtp.set_delay(Duration::from_millis(20));
    let url = herald_test_support::postgres::fresh_database().await;

    // The data, through an in-process Herald without a mail server: all of it stays queued.
    let app = TestApp::builder().database(&url).spawn().await;
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    for sql in [
        format!(
            "INSERT INTO customers (name, email) \
             SELECT 'Customer ' || i, 'c' || i || '@example.com' FROM generate_series(1, {RECIPIENTS}) i"
        ),
        format!("INSERT INTO customer_services (customer_id, service_id) SELECT id, {mail} FROM customers"),
    ] {
        sqlx::query(&sql).execute(app.store.writer()).await.unwrap();
    }
    let ticket = app.create_ticket("Mail is down", &[mail]).await;
    let t = ticket["Id"].as_i64().unwrap();
    let counts = app.store.delivery_counts(Some(t)).await.unwrap();
    assert_eq!(counts.queued, RECIPIENTS);

    // Instance A starts delivering; its claims tell its instance id.
    let started = Instant::now();
    let a = Serve::start(&url, Some(&smtp.url()));
    let a_claims = poll_until(crate::notifications::WAIT, || async {
        !claimers(&app).await.is_empty()
    })
    .await;
    assert!(a_claims, "instance A claims messages");
    let a_id = *claimers(&app).await.iter().next().unwrap();

    // Instance B joins; both deliver at once.
    let b = Serve::start(&url, Some(&smtp.url()));
    let both = poll_until(crate::notifications::WAIT, || async {
        claimers(&app).await.iter().any(|id| *id != a_id)
            && smtp.messages().len() as i64 >= RECIPIENTS / 4
    })
    .await;
    assert!(both, "both instances deliver");
    let received_while_both = smtp.messages().len() as i64;
    assert!(
        received_while_both < RECIPIENTS,
        "killed mid-delivery ({received_while_both} of {RECIPIENTS} arrived)"
    );

    // SIGKILL A. Its claimed messages whose outcome it had not recorded are all it can have
    // had in flight: only these may arrive twice (B sends them once A's leases run out). Rows,
    // and the recipients still to send of the lists it held (ids as `pg_lists` makes them).
    a.kill().await;
    let in_flight: HashSet<String> = sqlx::query_scalar(
        "SELECT lower(address) FROM notifications \
         WHERE claimed_by >> 32 = $1 AND state IN ('queued', 'retrying') \
         UNION SELECT lower(x.address) FROM notification_lists l \
           CROSS JOIN LATERAL unnest(l.addresses, l.sent_at) WITH ORDINALITY \
             AS x(address, sent_at, pos) \
         WHERE l.claimed_by >> 32 = $1 AND l.state = 'queued' AND x.sent_at IS NULL \
           AND NOT EXISTS ( \
           SELECT 1 FROM notifications n WHERE n.id = 1099511627776 + l.id * 1024 + x.pos - 1)",
    )
    .bind(a_id)
    .fetch_all(app.store.reader())
    .await
    .unwrap()
    .into_iter()
    .collect();

    // B finishes.
    let finished = poll_until(DELIVERY, || async {
        app.store.delivery_counts(Some(t)).await.unwrap().sent == RECIPIENTS
    })
    .await;
    let counts = app.store.delivery_counts(Some(t)).await.unwrap();
    assert!(finished, "B sends the rest: {counts:?}");
    let elapsed = started.elapsed();
    b.kill().await;

    let received = addresses(&smtp);
    let expected: HashSet<String> = (1..=RECIPIENTS)
        .map(|i| format!("c{i}@example.com"))
        .collect();
    let got: HashSet<String> = received.keys().cloned().collect();
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected, "every follower got the email");
    let duplicated: Vec<&String> = received
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(a, _)| a)
        .collect();
    for address in &duplicated {
        assert_eq!(received[*address], 2, "{address}");
        assert!(
            in_flight.contains(*address),
            "{address} got two emails but was not in flight at the kill"
        );
    }
    assert_eq!(
        (counts.sent, counts.pending(), counts.failed),
        (RECIPIENTS, 0, 0)
    );
    let list = json(
        app.get(&format!("/api/Tickets/{t}/Notifications")).await,
        200,
    )
    .await;
    let sent = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["State"] == "sent")
        .count();
    assert_eq!(sent as i64, RECIPIENTS);
    eprintln!(
        "two instances: {RECIPIENTS} recipients in {elapsed:?}; {} in flight at the kill, {} \
         delivered twice",
        in_flight.len(),
        duplicated.len()
    );
    app.stop().await;
}
