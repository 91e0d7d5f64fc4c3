//! What a browser would not do, over plain HTTP: forms without their token, password
//! guessing, stolen sessions after a password change, the setup page after setup, bad input,
//! and the ticket form without JavaScript.

use herald::config::Key;
use herald::domain::{EmailAddress, Name, NewOperator, Password};
use serde_json::json;

use crate::web::Web;
use herald_test_support::*;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery";

async fn admin(app: &TestApp) -> Web {
    let web = Web::new(&app.address);
    let page = web.setup("Ann Admin", EMAIL, PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    web
}

async fn operator(app: &TestApp, name: &str, email: &str, password: &str) -> i64 {
    let new = NewOperator {
        name: Name::parse(name).unwrap(),
        email: EmailAddress::parse(email).unwrap(),
        cell_phone: None,
        is_admin: false,
        password: Some(Password::parse(password).unwrap()),
    };
    app.store
        .create_operator(&new, &herald::domain::Who::cli())
        .await
        .unwrap()
        .id
}

herald_test_support::backend_tests! {
    async fn a_post_without_its_csrf_token_is_refused() {
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        let refused = web.post("/services", &[("Name", "Mail")]).await;
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("The form has expired"), "{}", refused.body);
        let wrong = web.post("/services", &[("csrf", "0123"), ("Name", "Mail")]).await;
        assert_eq!(wrong.status, 403);
        // Another session's token is no good either.
        let other = Web::new(&app.address);
        assert_eq!(other.sign_in(EMAIL, PASSWORD).await.status, 303);
        let foreign = other.get("/services/new").await.csrf();
        let stolen = web.post("/services", &[("csrf", foreign.as_str()), ("Name", "Mail")]).await;
        assert_eq!(stolen.status, 403);
        assert_eq!(json(app.get("/api/Services").await, 200).await, json!([]), "nothing was created");
        // Signing in needs the sign-in page's token too.
        let fresh = Web::new(&app.address);
        assert_eq!(fresh.post("/login", &[("email", EMAIL), ("password", PASSWORD)]).await.status, 403);
        assert_eq!(fresh.post("/logout", &[]).await.status, 403);
        // With the token it works.
        let created = web.submit("/services/new", "/services", &[("Name", "Mail")]).await;
        assert_eq!(created.status, 303);
        assert_eq!(json(app.get("/api/Services").await, 200).await[0]["Name"], "Mail");
    }

    async fn failed_sign_ins_are_slowed_down_per_account_and_per_address() {
        let app = TestApp::spawn().await;
        admin(&app).await;
        operator(&app, "Olga", "olga@example.com", "olga's password").await;
        let guesser = Web::new(&app.address);
        for _ in 0..5 {
            let page = guesser.sign_in(EMAIL, "wrong password").await;
            assert_eq!(page.status, 401);
            assert!(page.body.contains("The email or the password is wrong."));
        }
        // Now even the right password has to wait.
        let page = guesser.sign_in(EMAIL, PASSWORD).await;
        assert_eq!(page.status, 429, "{}", page.body);
        assert!(page.body.contains("Too many failed sign-ins. Try again in 30 seconds."), "{}", page.body);
        // Letter case does not make it another account.
        assert_eq!(guesser.sign_in("ANN@example.COM", PASSWORD).await.status, 429);
        // Other accounts from the same address are not blocked yet…
        let colleague = Web::new(&app.address);
        assert_eq!(colleague.sign_in("olga@example.com", "olga's password").await.status, 303);
        // …until the address has failed 20 times.
        for i in 0..15 {
            let page = guesser.sign_in(&format!("nobody{i}@example.com"), "guess").await;
            assert_eq!(page.status, 401);
        }
        let late = Web::new(&app.address);
        assert_eq!(late.sign_in("olga@example.com", "olga's password").await.status, 429);
        // With no trusted proxy configured, naming another address does not get round it.
        let disguised = Web::forwarded_for(&app.address, "198.51.100.9");
        assert_eq!(disguised.sign_in("olga@example.com", "olga's password").await.status, 429);
    }

    async fn behind_a_trusted_proxy_failed_sign_ins_count_per_forwarded_address() {
        // Every request comes from 127.0.0.1, the "load balancer".
        let app = TestApp::builder().setting(Key::TrustedProxies, "127.0.0.0/8, ::1").spawn().await;
        admin(&app).await;
        operator(&app, "Olga", "olga@example.com", "olga's password").await;
        let guesser = Web::forwarded_for(&app.address, "203.0.113.7");
        for i in 0..20 {
            let page = guesser.sign_in(&format!("nobody{i}@example.com"), "guess").await;
            assert_eq!(page.status, 401);
        }
        // The guesser's address waits now…
        let again = Web::forwarded_for(&app.address, "203.0.113.7");
        assert_eq!(again.sign_in("olga@example.com", "olga's password").await.status, 429);
        // …also when it writes an address of its own in front of the one the proxy appended…
        let sneaky = Web::forwarded_for(&app.address, "198.51.100.9, 203.0.113.7");
        assert_eq!(sneaky.sign_in("olga@example.com", "olga's password").await.status, 429);
        // …but the other people behind the same balancer do not.
        let colleague = Web::forwarded_for(&app.address, "198.51.100.9");
        assert_eq!(colleague.sign_in("olga@example.com", "olga's password").await.status, 303);
    }

    async fn a_new_password_or_a_deletion_ends_the_operators_sessions() {
        let app = TestApp::spawn().await;
        let here = admin(&app).await;
        let elsewhere = Web::new(&app.address);
        assert_eq!(elsewhere.sign_in(EMAIL, PASSWORD).await.status, 303);
        assert_eq!(elsewhere.get("/tickets").await.status, 200);

        let changed = here
            .submit(
                "/account/password",
                "/account/password",
                &[("current", PASSWORD), ("new", "a new passphrase"), ("confirm", "a new passphrase")],
            )
            .await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        assert_eq!(here.get("/tickets").await.status, 200, "still signed in here");
        let gone = elsewhere.get("/tickets").await;
        assert_eq!(gone.status, 303);
        assert_eq!(gone.location.as_deref(), Some("/login?next=%2Ftickets"));
        assert_eq!(elsewhere.sign_in(EMAIL, PASSWORD).await.status, 401, "the old password is gone");
        assert_eq!(Web::new(&app.address).sign_in(EMAIL, "a new passphrase").await.status, 303);

        // A wrong current password changes nothing.
        let refused = here
            .submit(
                "/account/password",
                "/account/password",
                &[("current", "not it"), ("new", "another one!"), ("confirm", "another one!")],
            )
            .await;
        assert_eq!(refused.status, 400);
        assert!(refused.body.contains("This is not your current password."));

        // Deleted in the GUI: signed out.
        let olga = operator(&app, "Olga", "olga@example.com", "olga's password").await;
        let her = Web::new(&app.address);
        assert_eq!(her.sign_in("olga@example.com", "olga's password").await.status, 303);
        let deleted = here
            .submit(&format!("/operators/{olga}/delete"), &format!("/operators/{olga}/delete"), &[])
            .await;
        assert_eq!(deleted.status, 303);
        assert_eq!(her.get("/tickets").await.status, 303);

        // A password set through the API ends the sessions too.
        let oscar = operator(&app, "Oscar", "oscar@example.com", "oscar's password").await;
        let him = Web::new(&app.address);
        assert_eq!(him.sign_in("oscar@example.com", "oscar's password").await.status, 303);
        let r = app
            .put_json(
                &format!("/api/Operators/{oscar}"),
                &json!({"Id": oscar, "Name": "Oscar", "Email": "oscar@example.com", "Password": "changed by the API"}),
            )
            .await;
        assert_eq!(r.status(), 204);
        assert_eq!(him.get("/tickets").await.status, 303);
        assert_eq!(app.store.count_sessions(oscar, herald::domain::Timestamp::now()).await.unwrap(), 0);
    }

    async fn the_setup_page_exists_only_until_the_first_administrator() {
        let app = TestApp::spawn().await;
        let first = Web::new(&app.address);
        let page = first.get("/").await;
        assert_eq!(page.location.as_deref(), Some("/setup"));
        let token = first.get("/setup").await.csrf();
        // Mistakes are shown on the form and create nothing.
        let bad = first
            .post("/setup", &[("csrf", token.as_str()), ("Name", "Ann"), ("Email", "not an email"), ("Password", "short"), ("PasswordConfirm", "short")])
            .await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("is not a valid email address"), "{}", bad.body);
        assert!(bad.body.contains("at least 8 characters"), "{}", bad.body);
        assert_eq!(app.store.count_operators().await.unwrap(), 0);
        assert_eq!(first.setup("Ann Admin", EMAIL, PASSWORD).await.location.as_deref(), Some("/services?done=welcome"));

        let second = Web::new(&app.address);
        assert_eq!(second.get("/setup").await.location.as_deref(), Some("/login"));
        // A setup form kept open elsewhere cannot add a second administrator.
        let token = second.get("/login").await.csrf();
        let late = second
            .post("/setup", &[("csrf", token.as_str()), ("Name", "Mallory"), ("Email", "m@example.com"), ("Password", "12345678"), ("PasswordConfirm", "12345678")])
            .await;
        assert_eq!(late.location.as_deref(), Some("/login"));
        assert_eq!(app.store.count_operators().await.unwrap(), 1);
    }

    async fn session_cookies_are_http_only_lax_and_secure_under_https() {
        let app = TestApp::spawn().await;
        let page = Web::new(&app.address).setup("Ann Admin", EMAIL, PASSWORD).await;
        let cookie = page.set_cookies.iter().find(|c| c.starts_with("herald_session=")).unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        let stored = app.store.all_settings().await.unwrap();
        let token = cookie.split(';').next().unwrap().trim_start_matches("herald_session=");
        assert!(stored.iter().all(|(_, v)| !v.contains(token)));

        let app = TestApp::builder().setting(Key::PublicUrl, "https://status.example.com").spawn().await;
        let page = Web::new(&app.address).setup("Ann Admin", EMAIL, PASSWORD).await;
        let cookie = page.set_cookies.iter().find(|c| c.starts_with("herald_session=")).unwrap();
        assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
    }

    async fn without_javascript_the_ticket_form_shows_the_recipients_before_posting() {
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Bob", Some("bob@example.com"), &[mail]).await;
        app.create_customer("Bea", Some("BOB@example.com"), &[mail]).await;
        app.create_customer("Carl", Some("carl@example.com"), &[mail]).await;
        app.create_customer("Dan", None, &[mail]).await;
        let service = format!("{mail}");
        let fields = [
            ("Description", "Mail is down"),
            ("Services[1].Id", service.as_str()),
            ("notify", "on"),
        ];
        let asked = web.submit("/tickets/new", "/tickets", &fields).await;
        assert_eq!(asked.status, 200);
        assert!(asked.body.contains("2 customers will be emailed."), "{}", asked.body);
        assert!(asked.body.contains("confirm-recipients"));
        assert_eq!(json(app.get("/api/Tickets").await, 200).await, json!([]), "not posted yet");

        // The confirmation carries the number it showed; posting it creates the ticket.
        let seen = "1:2";
        assert!(asked.body.contains(&format!("name=\"recipients_seen\" value=\"{seen}\"")));
        let mut confirmed = fields.to_vec();
        confirmed.push(("recipients_seen", seen));
        let done = web.submit("/tickets/new", "/tickets", &confirmed).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/tickets/1?done=ticket-created"));
        assert_eq!(app.store.delivery_counts(Some(1)).await.unwrap().queued, 2);
        // No mail server is configured: the messages wait, and the ticket page says why.
        let page = web.get("/tickets/1").await;
        assert!(page.body.contains("No mail server is configured"), "{}", page.body);
        assert!(page.body.contains("bob@example.com") && page.body.contains("carl@example.com"));

        // Not notifying: nothing to confirm.
        let quiet = web
            .submit("/tickets/new", "/tickets", &[("Description", "Quiet"), ("Services[1].Id", service.as_str())])
            .await;
        assert_eq!(quiet.status, 303);
        assert_eq!(app.store.delivery_counts(Some(2)).await.unwrap().queued, 0);
        assert!(!app.store.ticket_events(2).await.unwrap()[0].notify);

        // The script's endpoint gives the same number.
        let count = web.get("/tickets/recipients?services=1").await;
        let count: serde_json::Value = serde_json::from_str(&count.body).unwrap();
        assert_eq!(count["count"], 2);
        assert_eq!(count["key"], seen);

        // Carl opts out: he is not counted, and the form says so before posting.
        app.store.opt_out_email("Carl@example.com", herald::domain::Timestamp::now()).await.unwrap();
        let asked = web.submit("/tickets/new", "/tickets", &fields).await;
        assert!(
            asked.body.contains("1 customer will be emailed. 1 follower opted out and is left out."),
            "{}",
            asked.body
        );
        assert!(asked.body.contains("name=\"recipients_seen\" value=\"1:1:1\""));
        let mut confirmed = fields.to_vec();
        confirmed.push(("recipients_seen", "1:1:1"));
        let done = web.submit("/tickets/new", "/tickets", &confirmed).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(app.store.delivery_counts(Some(3)).await.unwrap().queued, 1);
    }

    async fn deleting_a_ticket_asks_first_then_cancels_its_unsent_messages() {
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Bob", Some("bob@example.com"), &[mail]).await;
        app.create_customer("Carl", Some("carl@example.com"), &[mail]).await;
        // No mail server is configured: both messages wait in the outbox.
        let ticket = app.create_ticket("Mail is down <b>now</b>", &[mail]).await["Id"].as_i64().unwrap();
        assert_eq!(app.store.delivery_counts(Some(ticket)).await.unwrap().queued, 2);

        let shown = web.get(&format!("/tickets/{ticket}")).await;
        assert!(shown.body.contains(&format!("href=\"/tickets/{ticket}/delete\"")), "{}", shown.body);
        let asked = web.get(&format!("/tickets/{ticket}/delete")).await;
        assert_eq!(asked.status, 200);
        assert!(asked.body.contains("2 message(s) not sent yet are cancelled"), "{}", asked.body);
        assert!(asked.body.contains("Mail is down &lt;b&gt;now&lt;/b&gt;"), "markup shown as text");
        assert_eq!(json(app.get(&format!("/api/Tickets/{ticket}")).await, 200).await["Id"], ticket, "asking changes nothing");

        let path = format!("/tickets/{ticket}/delete");
        let done = web.submit(&path, &path, &[]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/tickets?done=ticket-deleted"));
        assert_eq!(app.get(&format!("/api/Tickets/{ticket}")).await.status(), 404);
        let counts = app.store.delivery_counts(Some(ticket)).await.unwrap();
        assert_eq!((counts.pending(), counts.cancelled), (0, 2));
        assert!(web.get("/tickets?done=ticket-deleted").await.body.contains("Ticket deleted."));
        assert_eq!(web.get(&format!("/tickets/{ticket}")).await.status, 404);
        assert_eq!(web.get(&path).await.status, 404, "nothing left to delete");
        assert_eq!(web.get("/tickets/abc/delete").await.status, 404);
    }

    async fn bad_input_gets_a_clear_answer_and_changes_nothing() {
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        assert_eq!(web.get("/tickets/abc").await.status, 404);
        assert_eq!(web.get("/tickets/99").await.status, 404);
        assert_eq!(web.get("/tickets/99/deliveries").await.status, 404);
        assert_eq!(web.get("/customers/0").await.status, 404);
        let bad = web
            .submit(
                "/tickets/new",
                "/tickets",
                &[("Description", "x"), ("StartTime", "2026-01-02T10:00"), ("EndTime", "2026-01-01T10:00"), ("NextUpdateTime", "soon")],
            )
            .await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("The EndTime must not be before the StartTime."), "{}", bad.body);
        assert!(bad.body.contains("is not a valid date and time"), "{}", bad.body);
        let bad = web
            .submit("/customers/new", "/customers", &[("Name", ""), ("Email", "bob@"), ("Services[7].Id", "7")])
            .await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("The Name field is required."), "{}", bad.body);
        assert!(bad.body.contains("not a valid email address"), "{}", bad.body);
        let unknown = web
            .submit("/customers/new", "/customers", &[("Name", "Bob"), ("Services[7].Id", "7")])
            .await;
        assert_eq!(unknown.status, 400);
        assert!(unknown.body.contains("There is no service with Id 7."), "{}", unknown.body);
        let taken = web.submit("/services/new", "/services", &[("Name", "Mail")]).await;
        assert_eq!(taken.status, 303);
        let taken = web.submit("/services/new", "/services", &[("Name", "MAIL")]).await;
        assert_eq!(taken.status, 400);
        assert!(taken.body.contains("A service with this Name already exists."));
        // The last administrator cannot be deleted or demoted.
        let last = web.submit("/operators/1/delete", "/operators/1/delete", &[]).await;
        assert_eq!(last.status, 409);
        let demoted = web
            .submit("/operators/1", "/operators/1", &[("Name", "Ann"), ("Email", EMAIL)])
            .await;
        assert_eq!(demoted.status, 400);
        assert!(demoted.body.contains("last administrator"), "{}", demoted.body);
        // A form whose escapes are not valid UTF-8.
        let token = web.get("/customers/new").await.csrf();
        let garbled = web.post_raw("/customers", format!("csrf={token}&Name=%FF%FE").as_bytes()).await;
        assert_eq!(garbled.status, 400);
        assert!(garbled.body.contains("The form could not be read"));
        assert_eq!(json(app.get("/api/Customers").await, 200).await, json!([]));
        assert_eq!(json(app.get("/api/Tickets").await, 200).await, json!([]));
        // The deliveries section alone is for signed-in operators too.
        let ticket = app.create_ticket("Mail is down", &[]).await["Id"].as_i64().unwrap();
        let section = format!("/tickets/{ticket}/deliveries");
        assert!(web.get(&section).await.body.contains("id=\"deliveries\""));
        assert_eq!(Web::new(&app.address).get(&section).await.status, 303);
    }
}
