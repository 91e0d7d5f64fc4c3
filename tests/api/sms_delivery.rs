//! Texts to the followers' cell phones, end to end on both backends: Herald binds to the test
//! SMSC on loopback (the server side of the same SMPP crate), and the tests read what the SMSC
//! received and what the Notifications endpoint shows.

use std::time::Duration;

use herald::config::Key;
use herald_test_support::smsc::TestSmsc;
use herald_test_support::*;
use serde_json::{json, Value};

pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) fn id(v: &Value) -> i64 {
    v["Id"].as_i64().expect("an Id")
}

pub(crate) async fn app_with(smsc: &TestSmsc) -> TestApp {
    TestApp::builder()
        .setting(Key::SmsUrl, smsc.url())
        .setting(Key::SmsDefaultCountry, "NL")
        .setting(Key::PublicUrl, "https://status.example.com")
        .delivery(fast_delivery())
        .spawn()
        .await
}

pub(crate) async fn customer_with_phone(
    app: &TestApp,
    name: &str,
    phone: &str,
    services: &[i64],
) -> Value {
    let services: Vec<Value> = services.iter().map(|id| json!({ "Id": id })).collect();
    app.create(
        "/api/Customers",
        &json!({ "Name": name, "CellPhone": phone, "Services": services }),
    )
    .await
}

pub(crate) async fn sms_notifications(app: &TestApp, ticket: i64) -> Vec<Value> {
    let list = json(
        app.get(&format!("/api/Tickets/{ticket}/Notifications"))
            .await,
        200,
    )
    .await;
    list.as_array()
        .unwrap()
        .iter()
        .filter(|n| n["Channel"] == "sms")
        .cloned()
        .collect()
}

/// Waits until the ticket's texts satisfy `done`, and returns them.
pub(crate) async fn wait_sms(
    app: &TestApp,
    ticket: i64,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let ok = poll_until(WAIT, || async {
        done(&sms_notifications(app, ticket).await)
    })
    .await;
    let list = sms_notifications(app, ticket).await;
    assert!(ok, "{what}: {list:#?}");
    list
}

fn states(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|n| n["State"].as_str().unwrap().to_owned())
        .collect()
}

herald_test_support::backend_tests! {
    async fn a_customer_with_only_a_cell_phone_is_texted_on_created_closed_and_reopened() {
        let smsc = TestSmsc::start().await;
        let app = app_with(&smsc).await;
        let mail = id(&app.create_service("Mail").await);
        // Two customers with the same number written two ways: one text per number.
        customer_with_phone(&app, "Ann", "06 1234 5678", &[mail]).await;
        customer_with_phone(&app, "Ann at work", "+31 6 12345678", &[mail]).await;
        customer_with_phone(&app, "Bob", "+999 1234567", &[mail]).await;
        let ticket = app.create_ticket("Mail is down", &[mail]).await;
        let t = id(&ticket);
        let list = wait_sms(&app, t, "created sent", |l| l.len() == 2 && l.iter().any(|n| n["State"] == "sent")).await;
        let sent: Vec<&Value> = list.iter().filter(|n| n["State"] == "sent").collect();
        assert_eq!(sent[0]["Address"], "+31612345678");
        let skipped: Vec<&Value> = list.iter().filter(|n| n["State"] == "skipped").collect();
        assert_eq!(skipped.len(), 1, "the number that cannot be read is recorded: {list:#?}");
        assert!(!list.iter().any(|n| n["State"] == "failed"), "skipped, not failed: {list:#?}");
        assert_eq!(skipped[0]["Address"], "+999 1234567");
        assert!(skipped[0]["LastError"].as_str().unwrap().contains("+999 1234567"), "{list:#?}");
        assert_eq!(skipped[0]["Attempts"], 0);
        assert_eq!(skipped[0]["NextAttemptTime"], Value::Null, "never attempted");

        let messages = smsc.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].destination, "31612345678");
        assert_eq!(messages[0].data_coding, 0, "GSM 03.38");
        assert_eq!(
            messages[0].text,
            format!("New disruption of Mail: Mail is down https://status.example.com/status/tickets/{t}")
        );

        // An update is not texted by default; closing and reopening are.
        let updated = app.put_ticket_changes(&ticket, json!({"Description": "Mail is slow"})).await;
        let closed = app.put_ticket_changes(&updated, json!({"ClosedTime": "2001-01-01T14:00:00Z"})).await;
        // Two texts queued at once may be taken by two workers and arrive in either order: the
        // reopening once the closing's text is sent, so the order below is the events'.
        wait_sms(&app, t, "closed sent", |l| l.iter().filter(|n| n["State"] == "sent").count() == 2).await;
        app.put_ticket_changes(&closed, json!({"ReopenedTime": "2001-01-01T15:00:00Z"})).await;
        wait_sms(&app, t, "three sent", |l| l.iter().filter(|n| n["State"] == "sent").count() == 3).await;
        let texts: Vec<String> = smsc.messages().into_iter().map(|m| m.text).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(texts[1].starts_with("Resolved: Mail. Mail is slow"), "{texts:?}");
        assert!(texts[2].starts_with("Reopened: Mail."), "{texts:?}");
        let events: Vec<String> = sms_notifications(&app, t).await.iter().map(|n| n["Event"].as_str().unwrap().to_owned()).collect();
        assert!(!events.contains(&"updated".to_owned()), "{events:?}");
    }

    async fn stored_numbers_follow_every_change_and_numbers_written_past_herald_are_texted_too() {
        let smsc = TestSmsc::start().await;
        let app = app_with(&smsc).await;
        let mail = id(&app.create_service("Mail").await);
        // Normalised when written, then changed by a PUT: texted at the new number only.
        let ann = customer_with_phone(&app, "Ann", "06 1234 5678", &[mail]).await;
        let put = json!({"Id": id(&ann), "Name": "Ann", "CellPhone": "+44 7911 123456", "Services": [{"Id": mail}]});
        let r = app.put_json(&format!("/api/Customers/{}", id(&ann)), &put).await;
        assert!(r.status().is_success(), "{}", r.status());
        // A number written past Herald (another tool, or a version before numbers were
        // stored): nothing stored for it, or what is stored is of its old number.
        let bob = customer_with_phone(&app, "Bob", "+31 6 11112222", &[mail]).await;
        sqlx::query("UPDATE customers SET cell_phone = '0622223333' WHERE id = $1")
            .bind(id(&bob)).execute(app.store.writer()).await.unwrap();
        let cleo = customer_with_phone(&app, "Cleo", "+31 6 44445555", &[mail]).await;
        sqlx::query("UPDATE customers SET sms_number = NULL, sms_number_from = NULL, sms_number_country = NULL WHERE id = $1")
            .bind(id(&cleo)).execute(app.store.writer()).await.unwrap();
        // Ann's new number written another way by a later customer, and Bob's by one whose
        // number is stored: one text per number (stored or not).
        customer_with_phone(&app, "Ann's phone", "0044 7911 123456", &[mail]).await;
        customer_with_phone(&app, "Dan", "+31 622223333", &[mail]).await;

        let t = id(&app.create_ticket("Mail is down", &[mail]).await);
        let list = wait_sms(&app, t, "three sent", |l| l.iter().filter(|n| n["State"] == "sent").count() == 3).await;
        assert_eq!(list.len(), 3, "one text per number: {list:#?}");
        let mut to: Vec<String> = smsc.messages().into_iter().map(|m| m.destination).collect();
        to.sort();
        assert_eq!(to, ["31622223333", "31644445555", "447911123456"]);
        let by_number = |n: &str| list.iter().find(|m| m["Address"] == n).map(|m| m["CustomerId"].clone());
        assert_eq!(by_number("+447911123456"), Some(json!(id(&ann))), "{list:#?}");
        assert!(by_number("+31622223333").is_some(), "{list:#?}");
        assert_eq!(by_number("+31644445555"), Some(json!(id(&cleo))), "{list:#?}");

        // The background pass stores what the fan-out had to normalise itself.
        let stored = |who: i64| {
            let store = app.store.clone();
            async move {
                sqlx::query_scalar::<_, Option<String>>("SELECT sms_number FROM customers WHERE id = $1")
                    .bind(who).fetch_one(store.reader()).await.unwrap()
            }
        };
        assert_eq!(stored(id(&bob)).await.as_deref(), Some("+31611112222"), "stale: of the old number");
        let mut after = 0;
        while let Some(last) = app.store.normalise_sms_numbers(false, after, 2).await.unwrap() {
            after = last;
        }
        assert_eq!(stored(id(&bob)).await.as_deref(), Some("+31622223333"));
        assert_eq!(stored(id(&cleo)).await.as_deref(), Some("+31644445555"));
        assert_eq!(app.store.normalise_sms_numbers(false, 0, 100).await.unwrap(), None, "nothing left");
    }

    async fn with_no_sms_gateway_the_channel_is_off_and_nothing_is_queued() {
        let app = TestApp::builder()
            .setting(Key::SmsDefaultCountry, "NL")
            .delivery(fast_delivery())
            .spawn()
            .await;
        let mail = id(&app.create_service("Mail").await);
        customer_with_phone(&app, "Ann", "+31612345678", &[mail]).await;
        customer_with_phone(&app, "Bob", "+999 1234567", &[mail]).await;
        app.create(
            "/api/Customers",
            &json!({ "Name": "Eve", "Email": "eve@example.com", "CellPhone": "+31687654321",
                     "Services": [{ "Id": mail }] }),
        )
        .await;
        let t = id(&app.create_ticket("Mail is down", &[mail]).await);
        let all = json(app.get(&format!("/api/Tickets/{t}/Notifications")).await, 200).await;
        let channels: Vec<&str> = all.as_array().unwrap().iter().map(|n| n["Channel"].as_str().unwrap()).collect();
        assert_eq!(channels, ["email"], "email as ever, no text queued nor recorded: {all:#?}");
        let counts = app.store.delivery_counts_by_channel(Some(t)).await.unwrap();
        assert!(counts.iter().all(|(c, _)| *c == herald::domain::Channel::Email), "{counts:?}");
    }

    async fn long_and_non_gsm_texts_are_ucs2_and_concatenated() {
        let smsc = TestSmsc::start().await;
        let app = app_with(&smsc).await;
        let mail = id(&app.create_service("Mail").await);
        customer_with_phone(&app, "Ann", "+31612345678", &[mail]).await;
        let long = "Störung in Łódź: Zustellung verzögert. ".repeat(6);
        let t = id(&app.create_ticket(&long, &[mail]).await);
        wait_sms(&app, t, "sent", |l| states(l) == ["sent"]).await;
        let received = smsc.received();
        assert!(received.len() >= 2 && received.len() <= 3, "{received:#?}");
        assert!(received.iter().all(|r| r.data_coding == 8 && r.esm_class == 0x40), "{received:#?}");
        let message = &smsc.messages()[0];
        assert!(message.text.starts_with("New disruption of Mail: Störung in Łódź"), "{}", message.text);
        assert!(message.text.ends_with(&format!("/status/tickets/{t}")), "{}", message.text);
    }

    async fn a_long_text_whose_second_segment_is_refused_for_now_is_retried_from_that_segment() {
        let smsc = TestSmsc::start().await;
        let app = app_with(&smsc).await;
        let mail = id(&app.create_service("Mail").await);
        customer_with_phone(&app, "Ann", "+31612345678", &[mail]).await;
        // Segment 1 accepted, segment 2 throttled; then everything is accepted.
        smsc.answer_next(&[0, 0x58]);
        let long = "Maintenance of the mail cluster tonight. ".repeat(9);
        let t = id(&app.create_ticket(long.trim(), &[mail]).await);
        let list = wait_sms(&app, t, "sent", |l| states(l) == ["sent"]).await;
        let received = smsc.received();
        let seen: Vec<(u8, u32)> = received.iter().map(|r| (r.udh.unwrap().2, r.status)).collect();
        // The segment the SMSC took is not submitted again: 1, 2 (refused), 2, 3.
        assert_eq!(seen, [(1, 0), (2, 0x58), (2, 0), (3, 0)], "{received:#?}");
        let references: Vec<u8> = received.iter().map(|r| r.udh.unwrap().0).collect();
        assert!(references.iter().all(|r| *r == references[0]), "one reference: {references:?}");
        assert!(received.iter().all(|r| r.udh.unwrap().1 == 3), "{received:#?}");
        let messages = smsc.messages();
        assert_eq!(messages.len(), 1, "{messages:#?}");
        assert_eq!(messages[0].segments, 3);
        assert_eq!(
            messages[0].text,
            format!("New disruption of Mail: {} https://status.example.com/status/tickets/{t}", long.trim())
        );
        assert_eq!(list[0]["Attempts"], 2, "{list:#?}");
        let reply = list[0]["Reply"].as_str().unwrap();
        assert_eq!(reply, format!("accepted by the SMSC as {}", messages[0].message_ids.join(", ")));
        // Every part's receipt finds the text.
        smsc.receipt(&messages[0].message_ids[0], true).await;
        wait_sms(&app, t, "delivered", |l| states(l) == ["delivered"]).await;
    }

    async fn each_customer_is_texted_in_their_language_and_the_rest_in_the_default() {
        let smsc = TestSmsc::start().await;
        let app = TestApp::builder()
            .setting(Key::SmsUrl, smsc.url())
            .setting(Key::DefaultLanguage, "de")
            .delivery(fast_delivery())
            .spawn()
            .await;
        let mail = id(&app.create_service("Mail").await);
        for (name, phone, language) in [
            ("Ann", "+31611111111", Some("en-GB")),
            ("Bea", "+31622222222", Some("de-AT")),
            ("Cem", "+31633333333", Some("fr")),
            ("Dan", "+31644444444", None),
        ] {
            let mut body = json!({ "Name": name, "CellPhone": phone, "Services": [{ "Id": mail }] });
            if let Some(l) = language {
                body["Language"] = json!(l);
            }
            app.create("/api/Customers", &body).await;
        }
        let ticket = app.create_ticket("Mail is down", &[mail]).await;
        let t = id(&ticket);
        wait_sms(&app, t, "sent", |l| states(l) == ["sent"; 4]).await;
        app.put_ticket_changes(&ticket, json!({"ClosedTime": "2001-01-01T14:00:00Z"})).await;
        wait_sms(&app, t, "sent", |l| states(l) == ["sent"; 8]).await;
        let mut texts: Vec<(String, String)> = smsc.messages().into_iter().map(|m| (m.destination, m.text)).collect();
        texts.sort();
        assert_eq!(
            texts,
            [
                ("31611111111".to_owned(), "New disruption of Mail: Mail is down".to_owned()),
                ("31611111111".to_owned(), "Resolved: Mail. Mail is down".to_owned()),
                ("31622222222".to_owned(), "Behoben: Mail. Mail is down".to_owned()),
                ("31622222222".to_owned(), "Neue Störung bei Mail: Mail is down".to_owned()),
                ("31633333333".to_owned(), "Behoben: Mail. Mail is down".to_owned()),
                ("31633333333".to_owned(), "Neue Störung bei Mail: Mail is down".to_owned()),
                ("31644444444".to_owned(), "Behoben: Mail. Mail is down".to_owned()),
                ("31644444444".to_owned(), "Neue Störung bei Mail: Mail is down".to_owned()),
            ]
        );
    }

    async fn temporary_refusals_are_retried_and_permanent_ones_fail() {
        let smsc = TestSmsc::start().await;
        let app = app_with(&smsc).await;
        let mail = id(&app.create_service("Mail").await);
        customer_with_phone(&app, "Ann", "+31612345678", &[mail]).await;
        customer_with_phone(&app, "Bad", "+31611111111", &[mail]).await;
        smsc.refuse("31611111111", 0x0B);
        smsc.answer_next(&[0x58]);
        let t = id(&app.create_ticket("Mail is down", &[mail]).await);
        let list = wait_sms(&app, t, "settled", |l| {
            l.len() == 2 && l.iter().all(|n| n["State"] == "sent" || n["State"] == "failed")
        })
        .await;
        let by = |addr: &str| list.iter().find(|n| n["Address"] == addr).unwrap().clone();
        let bad = by("+31611111111");
        assert_eq!(bad["State"], "failed");
        assert_eq!(bad["Attempts"], 1, "a permanent refusal is not retried: {list:#?}");
        assert!(bad["LastError"].as_str().unwrap().contains("ESME_RINVDSTADR"), "{bad:#?}");
        let ann = by("+31612345678");
        // Whichever message met the throttling was tried again.
        let attempts = ann["Attempts"].as_i64().unwrap() + bad["Attempts"].as_i64().unwrap();
        let throttled = smsc.received().iter().filter(|r| r.status == 0x58).count();
        assert_eq!(throttled, 1);
        assert!(attempts >= 2, "{list:#?}");
        assert_eq!(ann["State"], "sent");
    }

    async fn receipts_move_texts_to_delivered_or_undelivered() {
        let smsc = TestSmsc::start().await;
        let app = app_with(&smsc).await;
        let mail = id(&app.create_service("Mail").await);
        customer_with_phone(&app, "Ann", "+31612345678", &[mail]).await;
        customer_with_phone(&app, "Bob", "+31687654321", &[mail]).await;
        let t = id(&app.create_ticket("Mail is down", &[mail]).await);
        wait_sms(&app, t, "sent", |l| states(l) == ["sent", "sent"]).await;
        for m in smsc.messages() {
            smsc.receipt(&m.message_ids[0], m.destination == "31612345678").await;
        }
        let list = wait_sms(&app, t, "receipts", |l| {
            let mut s = states(l);
            s.sort();
            s == ["delivered", "undelivered"]
        })
        .await;
        let ann = list.iter().find(|n| n["Address"] == "+31612345678").unwrap();
        assert_eq!(ann["State"], "delivered");
        let bob = list.iter().find(|n| n["Address"] == "+31687654321").unwrap();
        assert_eq!(bob["State"], "undelivered");
    }

    async fn stop_opts_the_number_out_and_a_later_event_texts_nobody_there() {
        let smsc = TestSmsc::start().await;
        let app = app_with(&smsc).await;
        let mail = id(&app.create_service("Mail").await);
        let ann = customer_with_phone(&app, "Ann", "06 12345678", &[mail]).await;
        customer_with_phone(&app, "Bob", "+31687654321", &[mail]).await;
        let t = id(&app.create_ticket("Mail is down", &[mail]).await);
        wait_sms(&app, t, "sent", |l| states(l) == ["sent", "sent"]).await;
        smsc.mobile("31612345678", "stop").await;
        let path = format!("/api/AuditLog?entity=Customer&entityId={}", id(&ann));
        let opted = poll_until(WAIT, || async {
            let log = json(app.get(&path).await, 200).await;
            log.to_string().contains("SmsOptedOut")
        })
        .await;
        assert!(opted, "the STOP is recorded in the audit log");
        let log = json(app.get(&path).await, 200).await.to_string();
        assert!(log.contains("+31612345678"), "{log}");
        let t2 = id(&app.create_ticket("Mail is down again", &[mail]).await);
        let list = wait_sms(&app, t2, "sent", |l| states(l) == ["sent"]).await;
        assert_eq!(list[0]["Address"], "+31687654321", "nobody at the opted-out number");
        let to: Vec<String> = smsc.messages().into_iter().map(|m| m.destination).collect();
        assert_eq!(to.iter().filter(|d| *d == "31612345678").count(), 1, "{to:?}");
    }

    async fn a_dropped_session_is_bound_again_and_the_texts_carry_on() {
        let smsc = TestSmsc::start().await;
        let app = app_with(&smsc).await;
        let mail = id(&app.create_service("Mail").await);
        customer_with_phone(&app, "Ann", "+31612345678", &[mail]).await;
        let t = id(&app.create_ticket("Mail is down", &[mail]).await);
        wait_sms(&app, t, "sent", |l| states(l) == ["sent"]).await;
        smsc.drop_sessions().await;
        assert!(poll_until(WAIT, || async { smsc.binds() >= 2 }).await, "bound again");
        let t2 = id(&app.create_ticket("Mail is down again", &[mail]).await);
        wait_sms(&app, t2, "sent after the drop", |l| states(l) == ["sent"]).await;
        assert_eq!(smsc.messages().len(), 2);
    }
}
