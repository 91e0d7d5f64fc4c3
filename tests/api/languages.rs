//! Messages in the customer's language, end to end: a ticket changed over HTTP, the messages
//! read back from the SMTP server on loopback. `Language` `de` (and `de-AT`, falling back to `de`)
//! gets German, no language or one Herald has no templates for gets the default language.

use std::time::Duration;

use herald::config::Key;
use herald_test_support::smtp::Received;
use herald_test_support::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

fn to(m: &Received) -> String {
    m.to[0].to_lowercase()
}

fn subject(m: &Received) -> String {
    m.parse().subject().unwrap_or_default().to_owned()
}

fn bodies(m: &Received) -> (String, String) {
    let parsed = m.parse();
    (
        parsed.body_text(0).unwrap().into_owned(),
        parsed.body_html(0).unwrap().into_owned(),
    )
}

herald_test_support::backend_tests! {
    async fn a_german_customer_gets_german_mail_and_the_others_the_default_language() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        for (name, email, language) in [
            ("Ann", "ann@example.com", None),
            ("Jörg", "joerg@example.com", Some("de")),
            ("Zoë", "zoe@example.com", Some("de-AT")),
            ("Élise", "elise@example.com", Some("fr")),
        ] {
            let mut body = json!({"Name": name, "Email": email, "Services": [{"Id": mail}]});
            if let Some(l) = language {
                body["Language"] = json!(l);
            }
            app.create("/api/Customers", &body).await;
        }
        let ticket = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();
        let mut got = smtp.wait_for(4, WAIT).await;
        got.sort_by_key(to);
        let [ann, elise, joerg, zoe] = [&got[0], &got[1], &got[2], &got[3]];
        for german in [joerg, zoe] {
            assert_eq!(subject(german), "Neue Störung: Mail - Mail is down", "{}", to(german));
            let (text, html) = bodies(german);
            assert!(text.starts_with("Guten Tag "), "{text}");
            assert!(text.contains("Es gibt eine neue Störung, die Mail betrifft"), "{text}");
            assert!(text.contains("Alle Zeiten in UTC."), "{text}");
            assert!(html.contains("<html lang=\"de\">"), "{html}");
            assert!(html.contains("Wählen Sie, wem Sie"), "{html}");
            assert!(!text.contains("Hello") && !html.contains("Hello"), "{text}");
        }
        for english in [ann, elise] {
            assert_eq!(subject(english), "New disruption: Mail - Mail is down", "{}", to(english));
            let (text, _) = bodies(english);
            assert!(text.starts_with("Hello "), "{text}");
        }

        // Every later message too: closing it.
        let r = app.put_json(&format!("/api/Tickets/{ticket}"), &json!({"Id": ticket, "Description": "Mail is down", "ClosedTime": "2030-01-01T00:00:00Z"})).await;
        assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
        let mut got = smtp.wait_for(8, WAIT).await;
        got.drain(..4);
        got.sort_by_key(to);
        assert_eq!(subject(&got[2]), "Behoben: Mail - Mail is down");
        assert!(bodies(&got[2]).0.contains("Vielen Dank für Ihre Geduld."));
        assert_eq!(subject(&got[0]), "Resolved: Mail - Mail is down");
    }

    async fn the_default_language_setting_speaks_to_customers_without_one() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder()
            .smtp(&smtp)
            .setting(Key::DefaultLanguage, "de")
            .delivery(fast_delivery())
            .spawn()
            .await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create("/api/Customers", &json!({"Name": "Ann", "Email": "ann@example.com", "Services": [{"Id": mail}]})).await;
        app.create("/api/Customers", &json!({"Name": "Bo", "Email": "bo@example.com", "Language": "en", "Services": [{"Id": mail}]})).await;
        app.create_ticket("Mail is down", &[mail]).await;
        let mut got = smtp.wait_for(2, WAIT).await;
        got.sort_by_key(to);
        assert_eq!(subject(&got[0]), "Neue Störung: Mail - Mail is down");
        assert_eq!(subject(&got[1]), "New disruption: Mail - Mail is down");
    }
}

#[tokio::test]
async fn a_default_language_that_is_not_a_tag_stops_the_start() {
    let config = test_config("sqlite://unused.db").with(Key::DefaultLanguage, "German");
    let e = herald::startup::Application::build(config)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("--default-language"), "{e}");
    assert!(e.to_string().contains("BCP 47"), "{e}");
}
