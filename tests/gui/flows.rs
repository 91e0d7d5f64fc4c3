//! What operators do, in a real browser.

use fantoccini::Locator;
use herald::config::Key;
use herald::domain::ticket::EventKind;
use serde_json::json;

use crate::browser::{self, Browser, WAIT};
use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

pub const ADMIN_NAME: &str = "Ann Admin";
pub const ADMIN_EMAIL: &str = "ann@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// Creates the first administrator on the setup page; the browser is signed in afterwards.
pub async fn set_up(b: &Browser) {
    b.goto("/").await;
    b.wait_for("#create-admin").await;
    assert_eq!(
        b.path().await,
        "/setup",
        "a new Herald opens on its setup page"
    );
    b.fill("#Name", ADMIN_NAME).await;
    b.fill("#Email", ADMIN_EMAIL).await;
    b.fill("#Password", ADMIN_PASSWORD).await;
    b.fill("#PasswordConfirm", ADMIN_PASSWORD).await;
    let notice = b.submit("#create-admin", "#notice").await;
    assert!(notice.text().await.unwrap().contains("Welcome"));
    assert_eq!(b.path().await, "/services");
}

pub async fn sign_in(b: &Browser, email: &str, password: &str) {
    b.goto("/login").await;
    b.fill("#email", email).await;
    b.fill("#password", password).await;
    b.submit("#sign-in", "#new-ticket").await;
}

pub async fn sign_out(b: &Browser) {
    b.submit("#sign-out", "#sign-in").await;
}

async fn count(b: &Browser, css: &str) -> usize {
    b.client
        .find_all(Locator::Css(css))
        .await
        .expect("find elements")
        .len()
}

herald_test_support::backend_tests! {
    async fn a_new_operator_sets_up_herald_and_handles_a_disruption() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder()
            .smtp(&smtp)
            .setting(Key::MailFrom, "Status <status@example.com>")
            .spawn()
            .await;
        let Some(b) = browser::start(&app.address).await else { return };

        // First run: the setup page creates the administrator, who is then signed in.
        set_up(&b).await;
        sign_out(&b).await;
        // Signed out, pages send to the sign-in page, and back after signing in.
        b.goto("/customers").await;
        b.wait_for("#sign-in").await;
        assert_eq!(b.path().await, "/login");
        b.fill("#email", ADMIN_EMAIL).await;
        b.fill("#password", ADMIN_PASSWORD).await;
        b.submit("#sign-in", "#new-customer").await;
        assert_eq!(b.path().await, "/customers");

        // A service.
        b.goto("/services").await;
        b.click("#new-service").await;
        b.fill("#Name", "Mail").await;
        b.fill("#Description", "Email for every employee").await;
        let list = b.submit("#save-service", "#services").await;
        assert!(list.text().await.unwrap().contains("Mail"));

        // A customer following it.
        b.goto("/customers/new").await;
        b.fill("#Name", "Bob Customer").await;
        b.fill("#Email", "bob@example.com").await;
        b.click(r#"input[name="Services[1].Id"]"#).await;
        let list = b.submit("#save-customer", "#customers").await;
        let text = list.text().await.unwrap();
        assert!(text.contains("Bob Customer") && text.contains("Mail"), "{text}");
        let customer = json(app.get("/api/Customers/1").await, 200).await;
        assert_eq!(customer["Services"][0]["Name"], "Mail");
        b.goto("/services").await;
        assert_eq!(b.text(r#"#services td[data-label="Followers"]"#).await, "1");

        // A ticket, whose description has markup: shown as text, never run.
        let description = "<script>window.injected = 1</script><b>Mail is down</b>\nWe are on it.";
        b.goto("/tickets/new").await;
        b.fill("#Description", description).await;
        b.click(r#"input[name="Services[1].Id"]"#).await;
        b.set_value("#StartTime", "2026-01-05T08:00").await;
        b.set_value("#NextUpdateTime", "2026-01-05T09:00").await;
        // The form says how many customers will be emailed before it is saved.
        b.wait_for("#recipients[data-count='1']").await;
        assert_eq!(b.text("#recipients").await, "1 customer will be emailed.");
        b.submit("#save-ticket", "#ticket-heading").await;
        assert_eq!(b.path().await, "/tickets/1");
        assert_eq!(b.text("#ticket-description").await, description);
        assert_eq!(count(&b, "#ticket-description b, #ticket-description script").await, 0);
        let injected = b
            .client
            .execute("return typeof window.injected;", vec![])
            .await
            .unwrap();
        assert_eq!(injected, json!("undefined"), "the description's script never ran");
        assert_eq!(b.text("#ticket-status").await, "Open");
        let history = b.text("#history").await;
        assert!(history.contains("Created") && history.contains(&format!("by {ADMIN_NAME}")), "{history}");
        // The follower gets the email, and the ticket page shows it was delivered.
        let got = smtp.wait_for(1, WAIT).await;
        assert_eq!(got[0].to, ["bob@example.com"]);
        let subject = got[0].header("Subject").unwrap_or_default();
        assert!(subject.contains("Mail"), "{subject}");
        b.reload_until("#deliveries", "1 sent").await;
        let deliveries = b.text("#deliveries").await;
        assert!(deliveries.contains("bob@example.com") && deliveries.contains("1 sent"), "{deliveries}");
        assert_eq!(count(&b, "#mail-blocked").await, 0);

        // Edit.
        b.click("#edit-ticket").await;
        b.fill("#Description", "Mail is down for some customers").await;
        let notice = b.submit("#save-ticket", "#notice").await;
        assert_eq!(notice.text().await.unwrap(), "Ticket saved.");
        let history = b.text("#history").await;
        assert!(history.contains("Updated"), "{history}");
        assert!(history.contains("Mail is down for some customers"), "{history}");

        // Close, then reopen without notifying customers.
        b.submit("#close-ticket", "#reopen-ticket").await;
        assert_eq!(b.text("#ticket-status").await, "Resolved");
        b.click(r#"form[action="/tickets/1/reopen"] input[name="notify"]"#).await;
        b.submit("#reopen-ticket", "#close-ticket").await;
        assert_eq!(b.text("#ticket-status").await, "Reopened");

        // The same events as the API would record, with the operator as the actor.
        let events = app.store.ticket_events(1).await.unwrap();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Created, EventKind::Updated, EventKind::Closed, EventKind::Reopened]
        );
        assert!(events.iter().all(|e| e.actor == ADMIN_NAME && e.actor_operator_id == Some(1)));
        let notified: Vec<bool> = events.iter().map(|e| e.notify).collect();
        assert_eq!(notified, [true, true, true, false]);
        let ticket = json(app.get("/api/Tickets/1").await, 200).await;
        assert_eq!(ticket["Description"], "Mail is down for some customers");
        assert_eq!(ticket["IsClosed"], false);
        assert_eq!(ticket["StartTime"], "2026-01-05T08:00:00Z");
        // Created, updated, closed: one email each; reopened without notifying: none.
        let got = smtp.wait_for(3, WAIT).await;
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|m| m.to == ["bob@example.com"]));

        // The list: open first, the late update marked.
        b.goto("/tickets").await;
        let row = b.text(r#"tr[data-ticket="1"]"#).await;
        assert!(row.contains("Reopened") && row.contains("overdue"), "{row}");
        b.finish().await;
    }

    async fn a_ticket_page_follows_its_deliveries_without_a_reload() {
        let app = TestApp::spawn().await;
        let Some(b) = browser::start(&app.address).await else { return };
        set_up(&b).await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Bob", Some("bob@example.com"), &[mail]).await;
        let ticket = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();

        // No mail server yet: the message waits, and the page says why.
        b.goto(&format!("/tickets/{ticket}")).await;
        assert!(b.text("#deliveries .counts").await.contains("1 waiting"));
        b.wait_for("#mail-blocked").await;
        // A mark on this very page: a reload or a navigation would lose it.
        b.client.execute("window.heraldMark = 'still here';", vec![]).await.unwrap();

        // A mail server is configured (as on another instance's Settings page).
        let smtp = SmtpServer::start().await;
        app.store.set_setting("smtp_url", Some(&smtp.url())).await.unwrap();
        app.store.set_setting("mail_from", Some("Status <status@example.com>")).await.unwrap();
        assert_eq!(smtp.wait_for(1, WAIT).await[0].to, ["bob@example.com"]);

        // The page catches up by itself.
        b.wait_until_text("#deliveries .counts", "1 sent").await;
        assert!(b.text_now("#deliveries .counts").await.contains("0 waiting"));
        assert!(b.text_now("#deliveries tbody").await.contains("sent"));
        // Each row names its channel, and the counts are kept by channel.
        let row = b.text_now("#deliveries tbody tr").await;
        assert!(row.contains("Email") && row.contains("bob@example.com"), "{row}");
        let by_channel = b.text_now(r#"#deliveries-by-channel [data-channel="Email"]"#).await;
        assert!(by_channel.contains("Email") && by_channel.contains("1 sent"), "{by_channel}");
        assert_eq!(count(&b, "#mail-blocked").await, 0);
        let mark = b.client.execute("return window.heraldMark;", vec![]).await.unwrap();
        assert_eq!(mark, json!("still here"), "updated in place, not reloaded");
        b.finish().await;
    }

    async fn the_api_key_set_on_the_settings_page_works_against_the_api() {
        let app = TestApp::builder().setting(Key::MailFrom, "Ops <ops@example.com>").spawn().await;
        let Some(b) = browser::start(&app.address).await else { return };
        set_up(&b).await;
        app.create_service("Mail").await;
        let services = |key: &str| {
            let url = format!("{}/api/Services?key={key}", app.address);
            let client = app.client.clone();
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        };

        // A key of one's own.
        b.goto("/settings").await;
        b.fill("#key", "my-own-key-0123456789").await;
        let notice = b.submit("#set-api-key", "#notice").await;
        assert!(notice.text().await.unwrap().contains("API key changed"));
        assert_eq!(services("my-own-key-0123456789").await, 200);
        assert_eq!(services(KEY).await, 401, "the old key stops working");

        // A generated key, shown once.
        let shown = b.submit("#generate-api-key", "#new-api-key").await;
        let generated = shown.text().await.unwrap();
        assert_eq!(generated.len(), 32);
        assert_eq!(services(&generated).await, 200);
        assert_eq!(services("my-own-key-0123456789").await, 401);
        b.goto("/settings").await;
        b.wait_for("#save-settings").await;
        assert_eq!(count(&b, "#new-api-key").await, 0, "shown only once");
        assert!(!b.client.source().await.unwrap().contains(&generated));

        // A short key is refused and changes nothing.
        b.fill("#key", "short").await;
        b.submit("#set-api-key", "#api-key-error").await;
        assert_eq!(services(&generated).await, 200);

        // The sender is set by a flag here: the page says so.
        assert!(b.text("#mail_from-override").await.contains("--mail-from"));

        // Stored settings take effect: the XML namespace, and a secret never shown in full.
        b.fill("#xml_namespace", "Acme.Status").await;
        b.fill("#smtp_url", "smtp://mailer:hunter2secret@127.0.0.1:2525").await;
        b.submit("#save-settings", "#notice").await;
        let xml = app
            .client
            .get(format!("{}/api/Services/1?key={generated}", app.address))
            .header("Accept", "application/xml")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(xml.contains("http://schemas.datacontract.org/2004/07/Acme.Status"), "{xml}");
        let source = b.client.source().await.unwrap();
        assert!(!source.contains("hunter2secret"), "the SMTP password is never shown");
        assert!(source.contains("smtp://mailer:***@127.0.0.1:2525"));
        // Saving the page again keeps the password it did not show.
        b.fill("#xml_namespace", "Acme.Other").await;
        b.submit("#save-settings", "#notice").await;
        assert_eq!(
            app.store.get_setting("smtp_url").await.unwrap().as_deref(),
            Some("smtp://mailer:hunter2secret@127.0.0.1:2525")
        );
        // The test email goes to the mail server stored here, and the page shows its answer.
        let smtp = SmtpServer::start().await;
        b.fill("#smtp_url", &smtp.url()).await;
        b.submit("#save-settings", "#notice").await;
        b.fill("#to", "ann.admin@example.com").await;
        let result = b.submit("#send-test-email", "#test-email-result").await;
        let result = result.text().await.unwrap();
        assert!(result.starts_with("The mail server accepted the test email: 250"), "{result}");
        let got = smtp.wait_for(1, WAIT).await;
        assert_eq!(got[0].to, ["ann.admin@example.com"]);
        assert_eq!(got[0].header("From").as_deref(), Some("Ops <ops@example.com>"));
        // A server that is not there: the page says why.
        b.fill("#smtp_url", "smtp://127.0.0.1:9").await;
        b.submit("#save-settings", "#notice").await;
        let result = b.submit("#send-test-email", "#test-email-result").await;
        assert!(result.text().await.unwrap().starts_with("The test email was not sent:"));
        // A bad value is refused with the field named, and nothing is stored.
        b.fill("#public_url", "status.example.com").await;
        let error = b.submit("#save-settings", "#public_url-error").await;
        assert!(error.text().await.unwrap().contains("http://"));
        assert_eq!(app.store.get_setting("public_url").await.unwrap(), None);
        b.finish().await;
    }

    async fn operators_who_are_not_administrators_cannot_reach_settings_or_operators() {
        let app = TestApp::spawn().await;
        let Some(b) = browser::start(&app.address).await else { return };
        set_up(&b).await;
        b.goto("/operators/new").await;
        b.fill("#Name", "Olga Operator").await;
        b.fill("#Email", "olga@example.com").await;
        b.fill("#Password", "olga's password").await;
        let list = b.submit("#save-operator", "#operators").await;
        assert!(list.text().await.unwrap().contains("Olga Operator"));
        sign_out(&b).await;

        sign_in(&b, "olga@example.com", "olga's password").await;
        assert_eq!(count(&b, r#"a[href="/settings"]"#).await, 0, "no Settings in her menu");
        assert_eq!(count(&b, r#"a[href="/operators"]"#).await, 0);
        for path in ["/settings", "/operators", "/operators/1", "/operators/new", "/operators/1/delete"] {
            b.goto(path).await;
            assert_eq!(b.text("h1").await, "Administrators only", "{path}");
        }

        // Nor by posting a form with her own valid session and token.
        let session = b.cookie("herald_session").await.expect("signed in");
        let web = crate::web::Web::new(&app.address);
        web.set_cookie("herald_session", &session);
        let token = web.get("/tickets").await.csrf();
        for (path, fields) in [
            ("/settings/api-key", vec![("action", "generate")]),
            ("/settings", vec![("xml_namespace", "Hacked")]),
            ("/operators/1/delete", vec![]),
            ("/operators", vec![("Name", "Eve"), ("Email", "eve@example.com"), ("Password", "12345678"), ("IsAdmin", "true")]),
        ] {
            let mut all = vec![("csrf", token.as_str())];
            all.extend(fields);
            assert_eq!(web.post(path, &all).await.status, 403, "{path}");
        }
        assert_eq!(app.get("/api/Services").await.status(), 200, "the API key is unchanged");
        assert_eq!(app.store.get_setting("xml_namespace").await.unwrap(), None);
        assert_eq!(app.store.count_operators().await.unwrap(), 2);
        b.finish().await;
    }
}
