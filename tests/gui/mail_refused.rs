//! A mail server that refuses Herald's own settings (here: a password in the URL, and a server
//! that offers no AUTH) is not the recipients' fault: the messages wait, no attempt is counted,
//! the Settings page and the ticket page say what is wrong, and once the setting is fixed each
//! message goes out exactly once.

use std::time::Duration;

use herald::config::Key;
use herald::live_settings::MAIL_REFUSED_SETTING;
use serde_json::Value;

use crate::web::Web;
use herald_test_support::*;

const WAIT: Duration = Duration::from_secs(30);

herald_test_support::backend_tests! {
    async fn a_refused_mail_configuration_keeps_messages_waiting_and_says_why() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder()
            .setting(Key::MailFrom, MAIL_FROM)
            .delivery(fast_delivery())
            .spawn()
            .await;
        // The mail server URL as set on the Settings page: with a login the server cannot take.
        let with_login = smtp.url().replacen("smtp://", "smtp://herald:secret@", 1);
        let store_url = |url: String| {
            let app = &app;
            async move {
                app.store.set_setting("smtp_url", Some(&url)).await.unwrap();
                app.settings.refresh(&app.store).await.unwrap();
            }
        };
        store_url(with_login).await;

        let web = Web::new(&app.address);
        assert_eq!(web.setup("Ann Admin", "ann@example.com", "correct horse battery").await.status, 303);
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Bob", Some("bob@example.com"), &[mail]).await;
        app.create_customer("Cy", Some("cy@example.com"), &[mail]).await;
        let ticket = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();

        let refused = poll_until(WAIT, || async {
            app.store.get_setting(MAIL_REFUSED_SETTING).await.unwrap().is_some()
        })
        .await;
        assert!(refused, "the refusal is recorded");
        // Tried again meanwhile (the retry delay is 50 ms here), and still nothing failed.
        assert!(poll_until(WAIT, || async { smtp.data_attempts() == 0 }).await);
        let notifications: Value =
            json(app.get(&format!("/api/Tickets/{ticket}/Notifications")).await, 200).await;
        let list = notifications.as_array().unwrap();
        assert_eq!(list.len(), 2, "{list:#?}");
        for n in list {
            assert_eq!(n["State"], "queued", "{n}");
            assert_eq!(n["Attempts"], 0, "no attempt counted: {n}");
        }

        for page in ["/settings", &format!("/tickets/{ticket}")] {
            let page = web.get(page).await;
            assert_eq!(page.status, 200);
            assert!(page.body.contains("refuses Herald&#x27;s mail settings")
                || page.body.contains("refuses Herald's mail settings"), "{}", page.body);
            assert!(page.body.contains("authentication"), "names the problem: {}", page.body);
            assert!(!page.body.contains("secret"), "never the password");
        }

        // Fixed: every waiting message goes out, once.
        store_url(smtp.url()).await;
        let got = smtp.wait_for(2, WAIT).await;
        assert_eq!(got.len(), 2);
        assert!(poll_until(WAIT, || async {
            app.store.get_setting(MAIL_REFUSED_SETTING).await.unwrap().is_none()
        })
        .await, "the problem is no longer shown once mail goes out");
        let page = web.get("/settings").await;
        assert!(!page.body.contains("refuses Herald"), "{}", page.body);
        let notifications: Value =
            json(app.get(&format!("/api/Tickets/{ticket}/Notifications")).await, 200).await;
        assert!(notifications.as_array().unwrap().iter().all(|n| n["State"] == "sent" && n["Attempts"] == 1), "{notifications:#}");
        assert_eq!(smtp.messages_to("bob@example.com").len(), 1);
        assert_eq!(smtp.messages_to("cy@example.com").len(), 1);
        app.stop().await;
    }
}
