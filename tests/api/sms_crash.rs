//! Texts when things go wrong, on both backends: `herald serve` killed with SIGKILL in the middle
//! of a fan-out of texts loses none (the only repeats are texts in flight at the kill), and two
//! instances sharing the SMS queue never text a number twice.

use std::time::Duration;

use herald::config::Key;
use herald_test_support::smsc::TestSmsc;
use herald_test_support::*;

use crate::sms_delivery::{app_with, customer_with_phone, id, sms_notifications, wait_sms, WAIT};

/// `count` customers following `service`, each with a number of their own (`+3161000NNNN`).
async fn many_with_phones(app: &TestApp, service: i64, count: usize) {
    for i in 0..count {
        customer_with_phone(
            app,
            &format!("Customer {i}"),
            &format!("+316{:08}", 10_000_000 + i),
            &[service],
        )
        .await;
    }
}

herald_test_support::backend_tests! {
    async fn a_server_killed_mid_fan_out_of_texts_loses_none() {
        use crate::notify_crash::Serve;
        const N: usize = 150;
        let smsc = TestSmsc::start().await;
        smsc.set_delay(Duration::from_millis(50));
        // The texts are queued by an in-process Herald whose SMSC is not there (the channel is
        // on), stopped before it could send any; `app` (no SMS gateway: its SMS workers never
        // claim) only shows what became of them.
        let app = TestApp::builder().delivery(fast_delivery()).spawn().await;
        let refused = herald_test_support::RefusedPort::new();
        let nowhere = refused.port();
        let queuer = app
            .second_instance()
            .setting(Key::SmsUrl, format!("smpp://herald:s3cret@127.0.0.1:{nowhere}?source=Herald"))
            .setting(Key::SmsDefaultCountry, "NL")
            .delivery(fast_delivery())
            .spawn()
            .await;
        let mail = id(&queuer.create_service("Mail").await);
        many_with_phones(&queuer, mail, N).await;
        let t = id(&queuer.create_ticket("Mail is down", &[mail]).await);
        queuer.stop().await;
        let list = sms_notifications(&app, t).await;
        assert_eq!(list.len(), N);
        assert!(list.iter().all(|n| n["State"] == "queued" || n["State"] == "retrying"), "{list:#?}");

        let url = smsc.url();
        let args = ["--sms-url", url.as_str()];
        let serve = Serve::start_with(&app.database_url, None, &args);
        assert!(poll_until(WAIT, || async { smsc.received().len() >= N / 5 }).await);
        serve.kill().await;
        // What the killed instance had written reaches the SMSC until its session ends.
        assert!(poll_until(WAIT, || async { smsc.bound_sessions() == 0 }).await);
        let before_kill = smsc.received().len();
        assert!(before_kill < N, "killed mid fan-out ({before_kill} of {N})");
        let in_flight_at_kill: std::collections::HashSet<String> =
            smsc.received().into_iter().map(|r| r.destination).collect();

        smsc.set_delay(Duration::ZERO);
        let serve = Serve::start_with(&app.database_url, None, &args);
        let all = poll_until(Duration::from_secs(60), || async {
            sms_notifications(&app, t).await.iter().all(|n| n["State"] == "sent")
        })
        .await;
        serve.kill().await;
        let seen = smsc.destinations();
        assert!(all, "every number texted: {} of {N}", seen.len());
        for (number, count) in seen {
            assert!(count == 1 || in_flight_at_kill.contains(&number), "{number} texted {count} times");
        }
        let list = sms_notifications(&app, t).await;
        assert!(list.iter().all(|n| n["State"] == "sent"), "{list:#?}");
        app.stop().await;
    }

    async fn two_instances_sharing_the_queue_never_text_a_number_twice() {
        const N: usize = 60;
        let smsc = TestSmsc::start().await;
        smsc.set_delay(Duration::from_millis(20));
        let app = app_with(&smsc).await;
        let other = app.second_instance().setting(Key::SmsUrl, smsc.url()).delivery(fast_delivery()).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        many_with_phones(&app, mail, N).await;
        let t = id(&app.create_ticket("Mail is down", &[mail]).await);
        wait_sms(&app, t, "all sent", |l| l.len() == N && l.iter().all(|n| n["State"] == "sent")).await;
        assert_eq!(smsc.bound_sessions(), 2, "both instances are bound");
        let seen = smsc.destinations();
        assert_eq!(seen.len(), N);
        assert!(seen.values().all(|c| *c == 1), "{seen:?}");
        other.stop().await;
    }
}
