//! Self-subscription with double opt-in over HTTP, on both backends: switched off it is a 404;
//! the request emails a link (received by the test's SMTP server) and creates nothing; the
//! confirmation creates the customer (or updates a known one, lifting its opt-out), audited;
//! the answer is the same for known and unknown addresses; used and expired links are 410s,
//! unknown ones 404s; bad input is a 400 that sends and stores nothing; floods are throttled
//! per address (silently) and per client (429). The confirmation email goes through the
//! outbox: a mail server that is down at request time changes nothing in the answer, and the
//! email arrives once it is back; two instances send it once; no plain token is stored.

use std::time::Duration;

use herald::clock::Clock;
use herald::config::Key;
use herald::domain::audit::{AuditAction, AuditEntity};
use herald::domain::Timestamp;
use reqwest::StatusCode;
use serde_json::{json, Value};

use herald_test_support::smtp::{Received, SmtpServer};
use herald_test_support::*;

use crate::opt_outs::link_in;

const WAIT: Duration = Duration::from_secs(30);

fn id(v: &Value) -> i64 {
    v["Id"].as_i64().expect("an Id")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn app_with(smtp: &SmtpServer, clock: Option<Clock>) -> TestApp {
    let mut b = TestApp::builder()
        .smtp(smtp)
        .delivery(fast_delivery())
        .setting(Key::SelfSubscription, "on")
        .setting(Key::OrganisationName, "Acme Hosting");
    if let Some(c) = clock {
        b = b.clock(c);
    }
    b.spawn().await
}

async fn ask(app: &TestApp, email: &str, services: &[i64]) -> (StatusCode, String) {
    let mut form = vec![("email", email.to_owned())];
    form.extend(services.iter().map(|s| ("service", s.to_string())));
    let r = client()
        .post(app.url("/status/subscribe"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn confirmation_link(app: &TestApp, m: &Received) -> String {
    let text = m.parse().body_text(0).unwrap().into_owned();
    link_in(&text, &format!("{}/status/subscribe/", app.address)).expect("a confirmation link")
}

async fn customers(app: &TestApp) -> Vec<Value> {
    json(app.get("/api/Customers").await, 200)
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// The confirmation emails in the outbox: (state, attempts), in the order queued.
async fn confirmation_rows(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT state, attempts FROM notifications WHERE subscription_id IS NOT NULL ORDER BY id",
    )
    .fetch_all(app.store.reader())
    .await
    .unwrap()
}

/// Every text column of the tables that hold a request, its links and its email, concatenated.
async fn stored_text(app: &TestApp) -> String {
    let mut all = Vec::new();
    for sql in [
        "SELECT email || ' ' || services FROM subscription_requests",
        "SELECT token_sha256 FROM subscription_links",
        "SELECT address || ' ' || name || ' ' || COALESCE(reply, '') FROM notifications",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(app.store.reader())
            .await
            .unwrap();
        all.extend(rows);
    }
    all.join("\n")
}

/// An SMTP URL where connections are refused while the port is held.
fn smtp_down(closed: &herald_test_support::RefusedPort) -> String {
    format!("smtp://127.0.0.1:{}", closed.port())
}

herald_test_support::backend_tests! {
    async fn the_confirmation_email_waits_in_the_outbox_while_the_mail_server_is_down() {
        let app = TestApp::builder()
            .delivery(fast_delivery())
            .setting(Key::SelfSubscription, "on")
            .setting(Key::OrganisationName, "Acme Hosting")
            .spawn()
            .await;
        let closed = herald_test_support::RefusedPort::new();
        app.store.set_setting("smtp_url", Some(&smtp_down(&closed))).await.unwrap();
        app.store.set_setting("mail_from", Some("herald@example.com")).await.unwrap();
        let mail = id(&app.create_service("Mail").await);
        // The same answer as when the mail server is up, whatever it does.
        let smtp_up = SmtpServer::start().await;
        let up = app_with(&smtp_up, None).await;
        let up_mail = id(&up.create_service("Mail").await);
        let (_, answered_up) = ask(&up, "ann@example.com", &[up_mail]).await;
        let (status, answer) = ask(&app, "ann@example.com", &[mail]).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer, answered_up);
        up.stop().await;
        let smtp = SmtpServer::start().await;

        // Queued, then retried while nothing answers.
        assert!(poll_until(WAIT, || async { confirmation_rows(&app).await.iter().any(|(s, a)| s == "retrying" && *a >= 1) }).await,
            "{:?}", confirmation_rows(&app).await);
        let reply: String = sqlx::query_scalar("SELECT reply FROM notifications WHERE subscription_id IS NOT NULL")
            .fetch_one(app.store.reader()).await.unwrap();
        assert!(reply.contains("could not connect"), "{reply}");
        assert!(smtp.messages().is_empty());

        // The server is back: the email arrives, once, and its link works.
        app.store.set_setting("smtp_url", Some(&smtp.url())).await.unwrap();
        let got = smtp.wait_for(1, WAIT).await;
        assert_eq!(got[0].to, ["ann@example.com"]);
        assert!(poll_until(WAIT, || async { confirmation_rows(&app).await.iter().all(|(s, _)| s == "sent") }).await);
        assert_eq!(smtp.messages().len(), 1, "sent once");
        let link = confirmation_link(&app, &got[0]);
        let token = link.rsplit('/').next().unwrap().to_owned();
        assert!(!stored_text(&app).await.contains(&token), "the plain token is stored nowhere");
        assert_eq!(client().post(&link).send().await.unwrap().status(), StatusCode::SEE_OTHER);
        assert_eq!(customers(&app).await.len(), 1);
        app.stop().await;
    }

    async fn two_instances_send_each_confirmation_email_once() {
        let smtp = SmtpServer::start().await;
        let a = app_with(&smtp, None).await;
        let b = a.second_instance()
            .smtp(&smtp)
            .delivery(fast_delivery())
            .setting(Key::SelfSubscription, "on")
            .spawn()
            .await;
        let mail = id(&a.create_service("Mail").await);
        for n in 0..8 {
            let app = if n % 2 == 0 { &a } else { &b };
            let (status, _) = ask(app, &format!("p{n}@example.com"), &[mail]).await;
            assert_eq!(status, 200);
        }
        smtp.wait_for(8, WAIT).await;
        assert!(poll_until(WAIT, || async { confirmation_rows(&a).await.iter().all(|(s, _)| s == "sent") }).await);
        assert_eq!(confirmation_rows(&a).await, vec![("sent".to_owned(), 1); 8]);
        for n in 0..8 {
            assert_eq!(smtp.messages_to(&format!("p{n}@example.com")).len(), 1, "p{n}");
        }
        assert_eq!(smtp.messages().len(), 8);
        b.stop().await;
        a.stop().await;
    }

    async fn self_subscription_end_to_end_through_the_confirmation_email() {
        let smtp = SmtpServer::start().await;
        let app = app_with(&smtp, None).await;
        let mail = id(&app.create_service("Mail").await);
        let web = id(&app.create_service("Web").await);
        let hidden = id(&app.create("/api/Services", &json!({"Name": "Vault", "IsPublic": false})).await);

        let status_page = client().get(app.url("/status")).send().await.unwrap().text().await.unwrap();
        assert!(status_page.contains(r#"href="/status/subscribe""#), "the status page offers the form");
        let form = client().get(app.url("/status/subscribe")).send().await.unwrap();
        assert_eq!(form.status(), 200);
        let form = form.text().await.unwrap();
        assert!(form.contains("Mail") && form.contains("Web") && !form.contains("Vault"), "{form}");

        let (status, answer) = ask(&app, "New@Example.com", &[mail, web]).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains("Check your inbox"), "{answer}");
        let got = smtp.wait_for(1, WAIT).await;
        assert_eq!(got[0].to, ["New@Example.com"]);
        assert_eq!(got[0].header("Subject").as_deref(), Some("Confirm your subscription to Acme Hosting"));
        let body = got[0].parse().body_text(0).unwrap().into_owned();
        assert!(body.contains("Mail, Web") && body.contains("24 hours"), "{body}");
        let link = confirmation_link(&app, &got[0]);
        assert!(customers(&app).await.is_empty(), "nothing is created before the click");
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_sha256 FROM subscription_links")
            .fetch_all(app.store.reader()).await.unwrap();
        let token = link.rsplit('/').next().unwrap();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], token, "only the digest is stored");
        // Delivered through the outbox (its outcome written just after the server took it).
        assert!(poll_until(WAIT, || async { confirmation_rows(&app).await == [("sent".to_owned(), 1)] }).await,
            "{:?}", confirmation_rows(&app).await);

        // The link's page only shows a button; the button confirms.
        let shown = client().get(&link).send().await.unwrap();
        assert_eq!(shown.status(), 200);
        assert!(shown.text().await.unwrap().contains("new@example.com"));
        assert!(customers(&app).await.is_empty(), "a GET confirms nothing");
        let done = client().post(&link).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let personal = done.headers()["location"].to_str().unwrap().to_owned();
        assert!(personal.starts_with("/my/") && personal.ends_with("?done=subscribed"), "{personal}");
        let all = customers(&app).await;
        assert_eq!(all.len(), 1);
        assert_eq!(all[0]["Email"], "new@example.com");
        assert_eq!(all[0]["Services"], json!([{"Id": mail, "Name": "Mail", "Description": null, "IsPublic": true}, {"Id": web, "Name": "Web", "Description": null, "IsPublic": true}]));
        let page = client().get(app.url(&personal)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Subscribed:"), "{page}");
        let entries = audit_entries(&app.store, AuditEntity::Customer, None).await;
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].action, entries[0].actor.as_str()), (AuditAction::Created, "self-subscription (confirmed by email)"));
        assert_eq!(entries[0].client_address.as_deref(), Some("127.0.0.1"));

        // Used once: a 410, nothing changed.
        for r in [client().get(&link).send().await.unwrap(), client().post(&link).send().await.unwrap()] {
            assert_eq!(r.status(), StatusCode::GONE);
            assert!(r.text().await.unwrap().contains("used already"));
        }
        assert_eq!(customers(&app).await.len(), 1);

        // A known address that opted out gets the same answer; confirming adds the service
        // and lifts the opt-out.
        let ann = id(&app.create_customer("Ann", Some("ann@example.com"), &[hidden]).await);
        app.store.opt_out_email("ann@example.com", app.store.now()).await.unwrap();
        let (status, known) = ask(&app, "ann@example.com", &[web]).await;
        let (_, unknown) = ask(&app, "zed@example.com", &[web]).await;
        assert_eq!(status, 200);
        assert_eq!(known.replace("ann@example.com", "X"), unknown.replace("zed@example.com", "X"));
        smtp.wait_for(3, WAIT).await;
        let to_ann = smtp.messages_to("ann@example.com");
        let link = confirmation_link(&app, &to_ann[0]);
        assert_eq!(client().post(&link).send().await.unwrap().status(), StatusCode::SEE_OTHER);
        let read = json(app.get(&format!("/api/Customers/{ann}")).await, 200).await;
        let ids: Vec<i64> = read["Services"].as_array().unwrap().iter().map(id).collect();
        let mut want = vec![web, hidden];
        want.sort_unstable();
        assert_eq!(ids, want, "the private service it followed is kept");
        assert_eq!(read["OptedOutTime"], Value::Null);
        assert_eq!(read["Name"], "Ann");
        assert_eq!(customers(&app).await.len(), 2, "zed never confirmed");
    }

    async fn expired_unknown_and_bad_requests_change_nothing() {
        let smtp = SmtpServer::start().await;
        let clock = Clock::manual(Timestamp::now());
        let app = app_with(&smtp, Some(clock.clone())).await;
        let mail = id(&app.create_service("Mail").await);
        let hidden = id(&app.create("/api/Services", &json!({"Name": "Vault", "IsPublic": false})).await);

        for (email, services, says) in [
            ("not an address", vec![mail], "email address"),
            ("ann@example.com", vec![], "at least one service"),
            ("ann@example.com", vec![999_999], "There is no service with Id 999999."),
            ("ann@example.com", vec![hidden], &*format!("There is no service with Id {hidden}.")),
        ] {
            let (status, body) = ask(&app, email, &services).await;
            assert_eq!(status, 400, "{email} {services:?}");
            assert!(body.contains(says), "{body}");
        }
        let r = client().post(app.url("/status/subscribe")).form(&[("email", "a@b.org"), ("service", "x")]).send().await.unwrap();
        assert_eq!(r.status(), 400);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscription_requests").fetch_one(app.store.reader()).await.unwrap();
        assert_eq!(count, 0);

        for path in ["/status/subscribe/nonsense", &format!("/status/subscribe/{}", "a".repeat(40))] {
            assert_eq!(client().get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
            assert_eq!(client().post(app.url(path)).send().await.unwrap().status(), 404, "{path}");
        }

        let (status, _) = ask(&app, "ann@example.com", &[mail]).await;
        assert_eq!(status, 200);
        let link = confirmation_link(&app, &smtp.wait_for(1, WAIT).await[0]);
        clock.advance(Duration::from_secs(24 * 3600 + 1));
        for r in [client().get(&link).send().await.unwrap(), client().post(&link).send().await.unwrap()] {
            assert_eq!(r.status(), StatusCode::GONE);
            assert!(r.text().await.unwrap().contains("expired"));
        }
        assert!(customers(&app).await.is_empty());
        assert_eq!(smtp.messages().len(), 1, "bad requests sent nothing");
    }

    async fn self_subscription_is_a_404_when_switched_off() {
        let app = TestApp::spawn().await;
        let mail = id(&app.create_service("Mail").await);
        assert_eq!(client().get(app.url("/status/subscribe")).send().await.unwrap().status(), 404);
        let status_page = client().get(app.url("/status")).send().await.unwrap().text().await.unwrap();
        assert!(status_page.contains("Mail") && !status_page.contains("/status/subscribe"), "{status_page}");
        let (status, _) = ask(&app, "ann@example.com", &[mail]).await;
        assert_eq!(status, 404);
        let token = "a".repeat(40);
        assert_eq!(client().get(app.url(&format!("/status/subscribe/{token}"))).send().await.unwrap().status(), 404);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscription_requests").fetch_one(app.store.reader()).await.unwrap();
        assert_eq!(count, 0);
    }

    async fn floods_are_throttled_per_address_and_per_client() {
        let smtp = SmtpServer::start().await;
        let app = app_with(&smtp, None).await;
        let mail = id(&app.create_service("Mail").await);
        // Per address: the fourth request in the hour is answered alike and not mailed.
        let mut answers = Vec::new();
        for _ in 0..4 {
            let (status, body) = ask(&app, "ann@example.com", &[mail]).await;
            assert_eq!(status, 200);
            answers.push(body);
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]));
        // Per client: ten in the hour, then 429 (the address throttle's requests count too).
        for n in 0..6 {
            let (status, _) = ask(&app, &format!("p{n}@example.com"), &[mail]).await;
            assert_eq!(status, 200, "{n}");
        }
        let (status, body) = ask(&app, "late@example.com", &[mail]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(body.contains("Too many requests"), "{body}");
        smtp.wait_for(9, WAIT).await;
        assert_eq!(smtp.messages_to("ann@example.com").len(), 3);
        assert!(smtp.messages_to("late@example.com").is_empty());
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscription_requests").fetch_one(app.store.reader()).await.unwrap();
        assert_eq!(stored, 9);
        assert_eq!(confirmation_rows(&app).await.len(), 9, "one email queued per stored request");
    }
}
