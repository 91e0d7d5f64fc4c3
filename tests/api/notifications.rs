//! Email notifications end to end: tickets changed over HTTP, messages delivered by Herald's
//! workers over SMTP to a real server on loopback, states read back from
//! `GET /api/Tickets/{id}/Notifications`.

use std::time::{Duration, Instant};

use std::collections::HashMap;

use herald::config::Key;
use herald::notify::DeliveryOptions;
use serde_json::{json, Value};

use herald_test_support::smtp::{Answer, Received, SmtpServer};
use herald_test_support::*;

pub const WAIT: Duration = Duration::from_secs(30);

fn id(v: &Value) -> i64 {
    v["Id"].as_i64().expect("an Id")
}

pub async fn notifications(app: &TestApp, ticket: i64) -> Vec<Value> {
    let list = json(
        app.get(&format!("/api/Tickets/{ticket}/Notifications"))
            .await,
        200,
    )
    .await;
    list.as_array().expect("a list").clone()
}

/// Polls the Notifications endpoint until `done` holds; panics with the last list after [`WAIT`].
pub async fn wait_notifications(
    app: &TestApp,
    ticket: i64,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = notifications(app, ticket).await;
        if done(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn all_in(state: &'static str) -> impl Fn(&[Value]) -> bool {
    move |l: &[Value]| !l.is_empty() && l.iter().all(|n| n["State"] == state)
}

fn states(list: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|n| {
            (
                n["Email"].as_str().unwrap().to_owned(),
                n["State"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn recipients(messages: &[Received]) -> Vec<String> {
    let mut v: Vec<String> = messages
        .iter()
        .flat_map(|m| m.to.iter().map(|t| t.to_lowercase()))
        .collect();
    v.sort();
    v
}

fn subject(m: &Received) -> String {
    m.parse().subject().unwrap_or_default().to_owned()
}

async fn ticket_on(app: &TestApp, description: &str, services: &[i64]) -> i64 {
    id(&app.create_ticket(description, services).await)
}

async fn put(app: &TestApp, ticket: i64, body: Value) {
    let r = app.put_json(&format!("/api/Tickets/{ticket}"), &body).await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
}

herald_test_support::backend_tests! {
    async fn every_follower_gets_one_email_per_event() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        let web = id(&app.create_service("Web").await);
        let other = id(&app.create_service("Printing").await);
        // Follows both services of the ticket: one email.
        app.create_customer("Ann Example", Some("ann@example.com"), &[mail, web]).await;
        // One address (ignoring case) for two customers: one email.
        app.create_customer("Bob", Some("BOB@example.com"), &[mail]).await;
        app.create_customer("Bob Again", Some("bob@example.com"), &[web]).await;
        // No email, or another service: none.
        app.create_customer("Carl", None, &[mail]).await;
        app.create_customer("Dora", Some("dora@example.com"), &[other]).await;

        let t = ticket_on(&app, "Mail and web are down", &[mail, web]).await;
        let list = wait_notifications(&app, t, "created sent", all_in("sent")).await;
        assert_eq!(list.len(), 2, "{list:#?}");
        // The address's first follower (lowest id) is the one told, as written.
        let mut told: Vec<(&str, &str)> = list
            .iter()
            .map(|n| (n["Name"].as_str().unwrap(), n["Address"].as_str().unwrap()))
            .collect();
        told.sort();
        assert_eq!(told, [("Ann Example", "ann@example.com"), ("Bob", "BOB@example.com")]);
        let got = smtp.wait_for(2, WAIT).await;
        assert_eq!(recipients(&got), ["ann@example.com", "bob@example.com"]);
        assert!(got.iter().all(|m| subject(m).starts_with("New disruption: Mail, Web - Mail and web are down")));

        let base = json!({"Id": t, "Description": "Mail and web are down", "StartTime": "2001-01-01T12:00:00Z"});
        let mut update = base.clone();
        update["Description"] = json!("Mail is back, web still down");
        put(&app, t, update.clone()).await;
        let mut close = update.clone();
        close["ClosedTime"] = json!("2001-01-01T14:00:00Z");
        put(&app, t, close.clone()).await;
        let mut reopen = close.clone();
        reopen["ReopenedTime"] = json!("2001-01-01T15:00:00Z");
        put(&app, t, reopen).await;

        let list = wait_notifications(&app, t, "all sent", |l| l.len() == 8 && all_in("sent")(l)).await;
        let events: Vec<&str> = list.iter().map(|n| n["Event"].as_str().unwrap()).collect();
        for e in ["created", "updated", "closed", "reopened"] {
            assert_eq!(events.iter().filter(|x| **x == e).count(), 2, "{events:?}");
        }
        let got = smtp.wait_for(8, WAIT).await;
        assert_eq!(got.len(), 8, "exactly one email per recipient per event");
        let subjects: Vec<String> = smtp.messages_to("ann@example.com").iter().map(subject).collect();
        assert_eq!(subjects.len(), 4);
        for prefix in ["New disruption: ", "Update: ", "Resolved: ", "Reopened: "] {
            assert!(subjects.iter().any(|s| s.starts_with(prefix)), "{prefix} in {subjects:?}");
        }
        assert!(smtp.messages_to("dora@example.com").is_empty());
        app.stop().await;
    }

    async fn do_not_send_email_in_body_any_case_or_in_query_sends_nothing() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;

        let quiet = app.create("/api/Tickets", &json!({
            "Description": "quiet", "Services": [{"Id": mail}], "donotsendemail": true
        })).await;
        let q = id(&quiet);
        let quiet_query = app.create("/api/Tickets?DoNotSendEmail=true", &json!({
            "Description": "quiet too", "Services": [{"Id": mail}]
        })).await;
        put(&app, q, json!({"Id": q, "Description": "still quiet", "DONOTSENDEMAIL": true})).await;
        let r = app.put_json(&format!("/api/Tickets/{q}?donotsendemail=TRUE"), &json!({"Id": q, "Description": "quiet again"})).await;
        assert_eq!(r.status(), 204);
        assert!(notifications(&app, q).await.is_empty());
        assert!(notifications(&app, id(&quiet_query)).await.is_empty());

        // The same change without the flag is told: the pipeline works, so the silence above
        // was the flag's doing.
        put(&app, q, json!({"Id": q, "Description": "now loud", "DoNotSendEmail": false})).await;
        let list = wait_notifications(&app, q, "sent", all_in("sent")).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["Event"], "updated");
        let got = smtp.wait_for(1, WAIT).await;
        assert_eq!(got.len(), 1);
        assert!(subject(&got[0]).contains("now loud"));
        app.stop().await;
    }

    async fn a_put_that_changes_nothing_sends_nothing() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        let t = ticket_on(&app, "down", &[mail]).await;
        wait_notifications(&app, t, "created sent", all_in("sent")).await;
        let same = json!({"Id": t, "Description": "down", "StartTime": "2001-01-01T12:00:00Z"});
        put(&app, t, same).await;
        assert_eq!(notifications(&app, t).await.len(), 1, "no event, no email");
        put(&app, t, json!({"Id": t, "Description": "down", "StartTime": "2001-01-01T12:30:00Z"})).await;
        let list = wait_notifications(&app, t, "update sent", |l| l.len() == 2 && all_in("sent")(l)).await;
        assert_eq!(list[1]["Event"], "updated");
        assert_eq!(smtp.wait_for(2, WAIT).await.len(), 2);
        app.stop().await;
    }

    async fn messages_are_addressed_and_threaded_per_ticket_and_customer() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        app.create_customer("Ann Example", Some("ann@example.com"), &[mail]).await;
        app.create_customer("Bob", Some("bob@example.com"), &[mail]).await;
        let t = ticket_on(&app, "down", &[mail]).await;
        wait_notifications(&app, t, "created", all_in("sent")).await;
        put(&app, t, json!({"Id": t, "Description": "still down", "StartTime": "2001-01-01T12:00:00Z"})).await;
        wait_notifications(&app, t, "updated", |l| l.len() == 4 && all_in("sent")(l)).await;
        put(&app, t, json!({"Id": t, "Description": "fixed", "StartTime": "2001-01-01T12:00:00Z", "ClosedTime": "2001-01-01T13:00:00Z"})).await;
        wait_notifications(&app, t, "closed", |l| l.len() == 6 && all_in("sent")(l)).await;

        let ann = smtp.messages_to("ann@example.com");
        assert_eq!(ann.len(), 3);
        let by_subject = |prefix: &str| ann.iter().find(|m| subject(m).starts_with(prefix)).unwrap().clone();
        let (first, update, closed) = (by_subject("New disruption"), by_subject("Update"), by_subject("Resolved"));
        let root = first.header("Message-ID").unwrap();
        assert!(root.starts_with("<herald.t") && root.ends_with("@herald.test>"), "{root}");
        assert_eq!(first.header("In-Reply-To"), None);
        for later in [&update, &closed] {
            assert_eq!(later.header("In-Reply-To").as_ref(), Some(&root));
            assert_eq!(later.header("References").as_ref(), Some(&root));
            assert_ne!(later.header("Message-ID").as_ref(), Some(&root));
        }
        assert_ne!(update.header("Message-ID"), closed.header("Message-ID"));
        // Another customer's conversation is another thread.
        let bob_root = smtp.messages_to("bob@example.com").iter()
            .find(|m| subject(m).starts_with("New disruption")).unwrap().header("Message-ID");
        assert_ne!(bob_root.as_ref(), Some(&root));

        let parsed = first.parse();
        let to = parsed.to().unwrap().first().unwrap();
        assert_eq!(to.name(), Some("Ann Example"));
        assert_eq!(to.address(), Some("ann@example.com"));
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!((from.name(), from.address()), (Some("Herald Status"), Some("status@herald.test")));
        assert_eq!(first.from, "status@herald.test");
        assert!(parsed.date().is_some());
        assert_eq!(parsed.text_body_count(), 1);
        assert_eq!(parsed.html_body_count(), 1);
        let text = parsed.body_text(0).unwrap();
        assert!(text.contains("Hello Ann Example"), "{text}");
        assert!(text.contains("Started:              2001-01-01 12:00 UTC"), "{text}");
        let closed_text = closed.parse().body_text(0).unwrap().into_owned();
        assert!(closed_text.contains("Resolved:             2001-01-01 13:00 UTC"), "{closed_text}");
        app.stop().await;
    }

    async fn markup_in_a_description_is_escaped_in_html() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = id(&app.create_service("Mail & <Chat>").await);
        app.create_customer("Ann <script>", Some("ann@example.com"), &[mail]).await;
        let description = "<b>Outage</b> & <script>alert(\"x\")</script>";
        ticket_on(&app, description, &[mail]).await;
        let got = smtp.wait_for(1, WAIT).await;
        let parsed = got[0].parse();
        let html = parsed.body_html(0).unwrap().into_owned();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>Outage"), "{html}");
        assert!(html.contains("&lt;b&gt;Outage&lt;/b&gt; &amp; &lt;script&gt;"), "{html}");
        assert!(html.contains("Mail &amp; &lt;Chat&gt;"), "{html}");
        assert!(html.contains("Hello Ann &lt;script&gt;"), "{html}");
        assert!(html.contains("All times are UTC"), "{html}");
        let text = parsed.body_text(0).unwrap().into_owned();
        assert!(text.contains(description), "the text part shows it as written: {text}");
        app.stop().await;
    }

    async fn temporary_failures_are_retried_until_the_server_accepts() {
        let smtp = SmtpServer::start().await;
        smtp.answer_next(5, Answer::Temporary);
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        for i in 0..3 {
            app.create_customer(&format!("C{i}"), Some(&format!("c{i}@example.com")), &[mail]).await;
        }
        let t = ticket_on(&app, "down", &[mail]).await;
        let list = wait_notifications(&app, t, "all sent", all_in("sent")).await;
        let got = smtp.wait_for(3, WAIT).await;
        assert_eq!(recipients(&got), ["c0@example.com", "c1@example.com", "c2@example.com"]);
        assert_eq!(smtp.data_attempts(), 8, "5 refusals and 3 acceptances");
        let attempts: i64 = list.iter().map(|n| n["Attempts"].as_i64().unwrap()).sum();
        assert_eq!(attempts, 8);
        for n in &list {
            assert!(n["Reply"].as_str().unwrap().starts_with("250 "), "{n}");
            assert!(n["SentTime"].is_string());
            assert!(n["LastError"].is_null());
        }
        app.stop().await;
    }

    async fn permanent_failures_are_recorded_and_not_retried() {
        let smtp = SmtpServer::start().await;
        smtp.reject_recipient("nobody@example.com");
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        app.create_customer("Nobody", Some("nobody@example.com"), &[mail]).await;
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        let t = ticket_on(&app, "down", &[mail]).await;
        let done = |l: &[Value]| l.len() == 2 && l.iter().all(|n| n["State"] == "sent" || n["State"] == "failed");
        let list = wait_notifications(&app, t, "outcomes", done).await;
        assert_eq!(states(&list), [("ann@example.com".into(), "sent".into()), ("nobody@example.com".into(), "failed".into())]);
        let failed = list.iter().find(|n| n["State"] == "failed").unwrap();
        assert_eq!(failed["Attempts"], 1);
        assert!(failed["LastError"].as_str().unwrap().starts_with("550 5.1.1"), "{failed}");
        assert!(failed["NextAttemptTime"].is_null());
        // A later event is delivered to Ann, after which the failed message still had exactly
        // one attempt (a retry would be due within 50 ms).
        put(&app, t, json!({"Id": t, "Description": "still down"})).await;
        wait_notifications(&app, t, "update outcomes", |l| l.len() == 4 && l.iter().all(|n| n["State"] == "sent" || n["State"] == "failed")).await;
        assert_eq!(smtp.rcpt_attempts("nobody@example.com"), 2, "one attempt per event");
        let again = notifications(&app, t).await;
        assert_eq!(again.iter().find(|n| n["Id"] == failed["Id"]).unwrap()["Attempts"], 1);
        app.stop().await;
    }

    async fn the_endpoint_shows_queued_retrying_sent_failed_and_cancelled() {
        // No mail server: queued, with nothing dropped.
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().delivery(DeliveryOptions {
            retry_base: Duration::from_secs(3600),
            retry_max: Duration::from_secs(3600),
            idle_poll: Duration::from_millis(50),
            ..fast_delivery()
        }).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        app.create_customer("Nobody", Some("nobody@example.com"), &[mail]).await;
        let doomed = ticket_on(&app, "will be deleted", &[mail]).await;
        let t = ticket_on(&app, "down", &[mail]).await;
        let list = notifications(&app, t).await;
        assert_eq!(states(&list), [("ann@example.com".into(), "queued".into()), ("nobody@example.com".into(), "queued".into())]);
        for n in &list {
            assert_eq!(n["Attempts"], 0);
            assert!(n["QueuedTime"].is_string() && n["NextAttemptTime"].is_string(), "{n}");
            assert_eq!(n["Event"], "created");
        }
        let xml = text(app.get_xml(&format!("/api/Tickets/{t}/Notifications")).await, 200).await;
        assert!(xml.starts_with("<ArrayOfNotification "), "{xml}");
        assert!(xml.contains("<State>queued</State>"), "{xml}");

        // Deleting a ticket cancels its unsent messages.
        assert_eq!(app.delete(&format!("/api/Tickets/{doomed}")).await.status(), 200);
        let cancelled = notifications(&app, doomed).await;
        assert!(all_in("cancelled")(&cancelled), "{cancelled:#?}");

        // A mail server configured on the Settings page is used without a restart; a 4xx
        // leaves a message retrying (next attempt in an hour), a 5xx fails it.
        smtp.answer_next(1, Answer::Temporary);
        smtp.reject_recipient("nobody@example.com");
        app.store.set_setting("smtp_url", Some(&smtp.url())).await.unwrap();
        app.store.set_setting("mail_from", Some(MAIL_FROM)).await.unwrap();
        let settled = |l: &[Value]| l.iter().all(|n| n["State"] != "queued");
        let list = wait_notifications(&app, t, "attempts", settled).await;
        let ann = list.iter().find(|n| n["Email"] == "ann@example.com").unwrap();
        assert_eq!(ann["State"], "retrying", "{ann}");
        assert_eq!(ann["Attempts"], 1);
        assert_eq!(ann["LastError"], "451 4.3.0 Try again later");
        assert!(ann["NextAttemptTime"].is_string() && ann["LastAttemptTime"].is_string(), "{ann}");
        let nobody = list.iter().find(|n| n["Email"] == "nobody@example.com").unwrap();
        assert_eq!(nobody["State"], "failed", "{nobody}");
        assert!(nobody["LastError"].as_str().unwrap().starts_with("550 "));
        // The cancelled messages were never sent.
        assert!(all_in("cancelled")(&notifications(&app, doomed).await));

        // The next event is sent at once.
        put(&app, t, json!({"Id": t, "Description": "better"})).await;
        let list = wait_notifications(&app, t, "update", |l| {
            let state_of = |email: &str| l.iter().find(|n| n["Event"] == "updated" && n["Email"] == email).map(|n| n["State"].clone());
            state_of("ann@example.com") == Some(json!("sent")) && state_of("nobody@example.com") == Some(json!("failed"))
        }).await;
        let sent = list.iter().find(|n| n["Event"] == "updated" && n["Email"] == "ann@example.com").unwrap();
        assert!(sent["Reply"].as_str().unwrap().starts_with("250 2.0.0 Ok"), "{sent}");
        assert_eq!(smtp.messages_to("ann@example.com").len(), 1);

        assert_eq!(app.get("/api/Tickets/999/Notifications").await.status(), 404);
        assert_eq!(app.get("/api/Tickets/x/Notifications").await.status(), 400);
        let r = app.client.get(format!("{}/api/Tickets/{t}/Notifications", app.address)).send().await.unwrap();
        assert_eq!(r.status(), 401, "the API key is required");
        let counts = app.store.delivery_counts(Some(t)).await.unwrap();
        assert_eq!((counts.retrying, counts.failed, counts.sent), (1, 2, 1));
        let all = app.store.delivery_counts(None).await.unwrap();
        assert_eq!(all.cancelled, 2);
        app.stop().await;
    }

    async fn a_message_keeps_its_id_from_queued_to_sent_and_the_list_is_in_id_order() {
        // Queued through an instance without a mail server (on PostgreSQL as recipient lists,
        // which hold no rows yet), delivered by a second one in batches of 2: every message is
        // listed once, under the same id, before and after.
        const N: usize = 5;
        let smtp = SmtpServer::start().await;
        let batches_of_2 = DeliveryOptions { batch_size: 2, ..fast_delivery() };
        let app = TestApp::builder().delivery(batches_of_2.clone()).spawn().await;
        let mail = id(&app.create_service("Mail").await);
        for i in 0..N {
            app.create_customer(&format!("C{i}"), Some(&format!("c{i}@example.com")), &[mail]).await;
        }
        let t = ticket_on(&app, "down", &[mail]).await;
        let queued = notifications(&app, t).await;
        assert_eq!(queued.len(), N);
        assert!(queued.iter().all(|n| n["State"] == "queued"), "{queued:?}");
        let ids = |list: &[Value]| list.iter().map(id).collect::<Vec<_>>();
        let before = ids(&queued);
        assert!(before.windows(2).all(|w| w[0] < w[1]), "in id order: {before:?}");
        let addresses = |list: &[Value]| {
            list.iter().map(|n| (id(n), n["Address"].as_str().unwrap().to_owned())).collect::<Vec<_>>()
        };

        let deliverer = app.second_instance().smtp(&smtp).delivery(batches_of_2).spawn().await;
        let sent = wait_notifications(&app, t, "all sent", all_in("sent")).await;
        assert_eq!(ids(&sent), before, "the same ids, in the same order");
        assert_eq!(addresses(&sent), addresses(&queued));
        for n in &sent {
            assert_eq!(n["Attempts"], 1, "{n}");
            assert!(n["Reply"].as_str().is_some_and(|r| r.starts_with("250 ")), "{n}");
            assert!(n["SentTime"].is_string() && n["LastAttemptTime"] == n["SentTime"], "{n}");
        }
        assert_eq!(smtp.wait_for(N, WAIT).await.len(), N);
        let counts = app.store.delivery_counts(Some(t)).await.unwrap();
        assert_eq!((counts.sent, counts.pending()), (N as i64, 0));
        deliverer.stop().await;
        app.stop().await;
    }

    async fn two_instances_share_the_queue_and_send_each_message_once() {
        const N: usize = 300;
        let smtp = SmtpServer::start().await;
        smtp.set_delay(Duration::from_millis(5));
        // The URL's path is the EHLO name, so the server can tell who delivered what.
        let url_a = format!("{}/instance-a", smtp.url());
        let a = TestApp::builder()
            .setting(Key::SmtpUrl, url_a)
            .setting(Key::MailFrom, MAIL_FROM)
            .delivery(fast_delivery())
            .spawn()
            .await;

        let mail = id(&a.create_service("Mail").await);
        for i in 0..N {
            a.create_customer(&format!("C{i}"), Some(&format!("c{i}@example.com")), &[mail]).await;
        }
        // The second instance starts once the followers exist. (Several instances are a
        // PostgreSQL feature; on SQLite this test shares one file between two writers, whose
        // read-then-write API transactions could collide, so only the delivery runs in both.)
        let b = a
            .second_instance()
            .setting(Key::SmtpUrl, format!("{}/instance-b", smtp.url()))
            .setting(Key::MailFrom, MAIL_FROM)
            .delivery(fast_delivery())
            .spawn()
            .await;
        let t = ticket_on(&a, "down", &[mail]).await;
        let deadline = Instant::now() + WAIT;
        while a.store.delivery_counts(Some(t)).await.unwrap().sent < N as i64 {
            assert!(Instant::now() < deadline, "not all sent");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got = smtp.messages();
        let mut per_address: HashMap<String, usize> = HashMap::new();
        for m in &got {
            *per_address.entry(m.to[0].clone()).or_default() += 1;
        }
        assert_eq!(per_address.len(), N);
        assert!(per_address.values().all(|n| *n == 1), "a message was sent twice");
        for instance in ["instance-a", "instance-b"] {
            assert!(got.iter().any(|m| m.helo == instance), "{instance} delivered nothing");
        }
        b.stop().await;
        a.stop().await;
    }

    async fn temporary_failures_stop_at_the_retry_window() {
        let smtp = SmtpServer::start().await;
        smtp.answer_next(10_000, Answer::Temporary);
        let app = TestApp::builder()
            .smtp(&smtp)
            .setting(Key::RetryWindow, "400ms")
            .delivery(fast_delivery())
            .spawn()
            .await;
        let mail = id(&app.create_service("Mail").await);
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        let t = ticket_on(&app, "down", &[mail]).await;
        let list = wait_notifications(&app, t, "failed", all_in("failed")).await;
        let n = &list[0];
        let attempts = n["Attempts"].as_i64().unwrap();
        assert!(attempts >= 2, "retried before giving up: {n}");
        assert_eq!(smtp.data_attempts() as i64, attempts);
        let error = n["LastError"].as_str().unwrap();
        assert!(
            error.starts_with(&format!("gave up after {attempts} attempts: 451 4.3.0")),
            "{error}"
        );
        assert!(smtp.messages().is_empty());
        app.stop().await;
    }

    async fn a_mail_server_that_is_down_gets_everything_once_it_is_back() {
        // Connections to this port are refused (and no other test's server gets it).
        let closed = herald_test_support::RefusedPort::new();
        let down = format!("smtp://127.0.0.1:{}", closed.port());
        let app = TestApp::builder().delivery(fast_delivery()).spawn().await;
        app.store.set_setting("smtp_url", Some(&down)).await.unwrap();
        app.store.set_setting("mail_from", Some(MAIL_FROM)).await.unwrap();
        let mail = id(&app.create_service("Mail").await);
        for i in 0..5 {
            app.create_customer(&format!("C{i}"), Some(&format!("c{i}@example.com")), &[mail]).await;
        }
        let t = ticket_on(&app, "down", &[mail]).await;
        // A retrying message shows when it is tried next, except while an attempt is in hand
        // (the fast backoff here re-claims it at once): wait for one between attempts.
        let list = wait_notifications(&app, t, "a refused attempt, waiting for the next", |l| {
            l.iter().any(|n| n["State"] == "retrying" && n["NextAttemptTime"].is_string())
        })
        .await;
        let retrying = list
            .iter()
            .find(|n| n["State"] == "retrying" && n["NextAttemptTime"].is_string())
            .unwrap();
        let error = retrying["LastError"].as_str().unwrap();
        assert!(error.contains("could not connect"), "{error}");
        assert!(list.iter().all(|n| n["State"] == "retrying" || n["State"] == "queued"), "{list:#?}");

        // The server is back (at a new address, set on the Settings page).
        let smtp = SmtpServer::start().await;
        app.store.set_setting("smtp_url", Some(&smtp.url())).await.unwrap();
        let list = wait_notifications(&app, t, "all sent", all_in("sent")).await;
        assert_eq!(list.len(), 5);
        assert_eq!(smtp.wait_for(5, WAIT).await.len(), 5);
        app.stop().await;
    }

    async fn the_test_email_reports_the_server_reply() {
        use herald::live_settings::Snapshot;
        use herald::notify::MailConfig;
        let smtp = SmtpServer::start().await;
        let settings = Snapshot {
            mail: MailConfig::from_values(Some(&smtp.url()), Some(MAIL_FROM)),
            ..Default::default()
        };
        let reply = herald::notify::send_test_email(&settings, &herald::notify::templates::Templates::builtin(), "admin@example.com").await.unwrap();
        assert!(reply.starts_with("250 2.0.0 Ok: queued as TEST1"), "{reply}");
        let got = smtp.wait_for(1, WAIT).await;
        assert_eq!(got[0].to, ["admin@example.com"]);
        assert_eq!(subject(&got[0]), "Herald test email");

        smtp.reject_recipient("nobody@example.com");
        let refused = herald::notify::send_test_email(&settings, &herald::notify::templates::Templates::builtin(), "nobody@example.com").await.unwrap_err();
        assert!(refused.starts_with("550 5.1.1"), "{refused}");
        let unset = herald::notify::send_test_email(&Snapshot::default(), &herald::notify::templates::Templates::builtin(), "admin@example.com").await.unwrap_err();
        assert!(unset.contains("No mail server is configured"), "{unset}");
        let bad = Snapshot { mail: MailConfig::from_values(Some("http://x"), Some(MAIL_FROM)), ..settings };
        let invalid = herald::notify::send_test_email(&bad, &herald::notify::templates::Templates::builtin(), "admin@example.com").await.unwrap_err();
        assert!(invalid.contains("smtp://"), "{invalid}");
    }
}
