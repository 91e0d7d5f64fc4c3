//! The outbox's leases at the store: each claim is a lease of its own. A lease that ran out
//! while its batch was in hand, and was taken by another claim (of the same instance too), is
//! the new claim's: the first claim's renewal, outcomes and releases no longer touch its rows.
//! (With one lease per instance, a million-follower fan-out on PostgreSQL sent messages twice
//! from a single instance: statements stalled past the lease, a second worker claimed the rows
//! again, and both sent them.)

use herald::domain::{Channel, Claimed, DeliveryState, Outcome, Timestamp};
use herald_test_support::*;

/// A ticket's two emails, queued with no mail server set (so no worker of the app claims them);
/// the ticket's id.
async fn two_queued_emails(app: &TestApp) -> i64 {
    let service = app.create_service("Mail").await;
    let sid = service["Id"].as_i64().unwrap();
    app.create_customer("Ada", Some("ada@example.test"), &[sid])
        .await;
    app.create_customer("Bob", Some("bob@example.test"), &[sid])
        .await;
    app.create_ticket("Mail is down", &[sid]).await["Id"]
        .as_i64()
        .unwrap()
}

fn later(at: Timestamp, secs: i64) -> Timestamp {
    at.plus_millis(secs * 1000)
}

backend_tests! {
    async fn a_lease_taken_over_by_another_claim_is_that_claims_alone() {
        let app = TestApp::spawn().await;
        let ticket = two_queued_emails(&app).await;
        let now = Timestamp::now();
        let (first, second, third) = (11, 22, 33);

        let a = app.store.claim_due(Channel::Email, first, now, later(now, 10), 10).await.unwrap();
        assert_eq!(a.len(), 2, "both emails claimed: {a:?}");
        assert!(a.iter().all(|m| m.claim == first));
        // Nothing more is due while the lease holds.
        let none = app.store.claim_due(Channel::Email, second, later(now, 5), later(now, 15), 10).await.unwrap();
        assert!(none.is_empty(), "claimed twice while the lease held: {none:?}");

        // The first lease runs out unrenewed; a second claim takes the rows.
        let b = app.store.claim_due(Channel::Email, second, later(now, 11), later(now, 21), 10).await.unwrap();
        assert_eq!(b.iter().map(|m| m.id).collect::<Vec<_>>(), a.iter().map(|m| m.id).collect::<Vec<_>>());
        assert!(b.iter().all(|m| m.claim == second));

        // Both renew: the second claim's renewal holds its rows past their own lease (21); the
        // first's, though longer, holds nothing, its rows being the second's now.
        app.store.renew_claims(&[first], later(now, 40)).await.unwrap();
        app.store.renew_claims(&[second], later(now, 25)).await.unwrap();

        // The first claim's release and outcome are left to the second: its rows are neither
        // made due again (a third claim finds nothing) nor marked by the first.
        let released: Vec<(Claimed, Outcome)> = vec![
            (a[0].clone(), Outcome::Released { next: later(now, 12) }),
            (a[1].clone(), Outcome::Sent { reply: "250 ok (first)".into() }),
        ];
        app.store.record_outcomes(later(now, 12), &released).await.unwrap();
        let none = app.store.claim_due(Channel::Email, third, later(now, 13), later(now, 23), 10).await.unwrap();
        assert!(none.is_empty(), "the first claim's release freed the second's rows: {none:?}");
        let none = app.store.claim_due(Channel::Email, third, later(now, 22), later(now, 32), 10).await.unwrap();
        assert!(none.is_empty(), "the second claim's renewal did not hold its rows: {none:?}");
        let counts = app.store.delivery_counts(None).await.unwrap();
        assert_eq!(counts.sent, 0, "the first claim's outcome was written: {counts:?}");

        // Once the second's renewal has run out, the first's renewal does not keep them either.
        let fourth = 44;
        let d = app.store.claim_due(Channel::Email, fourth, later(now, 26), later(now, 36), 10).await.unwrap();
        assert_eq!(d.iter().map(|m| m.id).collect::<Vec<_>>(), a.iter().map(|m| m.id).collect::<Vec<_>>());

        // The second claim's outcomes are no longer written; the fourth's are.
        let sent = |claimed: &[Claimed], reply: &str| -> Vec<(Claimed, Outcome)> {
            claimed.iter().map(|m| (m.clone(), Outcome::Sent { reply: reply.into() })).collect()
        };
        app.store.record_outcomes(later(now, 27), &sent(&b, "250 ok (second)")).await.unwrap();
        assert_eq!(app.store.delivery_counts(None).await.unwrap().sent, 0);
        app.store.record_outcomes(later(now, 28), &sent(&d, "250 ok")).await.unwrap();
        let counts = app.store.delivery_counts(None).await.unwrap();
        assert_eq!(counts.sent, 2, "{counts:?}");

        // Written once: a stale claim's outcomes after them change nothing either (on
        // PostgreSQL the two are sent recipients of a list, their outcomes kept in it).
        app.store.record_outcomes(later(now, 29), &sent(&a, "250 ok (first, late)")).await.unwrap();
        let listed: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(app.store.ticket_notifications(ticket)).await.unwrap();
        let seen: Vec<_> = listed.iter().map(|n| (n.id, n.state, n.reply.as_deref(), n.sent_at, n.in_flight)).collect();
        let expected: Vec<_> = d.iter().map(|m| (m.id, DeliveryState::Sent, Some("250 ok"), Some(later(now, 28)), false)).collect();
        assert_eq!(seen, expected);
    }
}
