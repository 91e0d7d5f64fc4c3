//! The SMS settings on the Settings page over plain HTTP: the gateway URL stored with its
//! password never shown, a URL that does not parse refused with the field named, and the test
//! text sent through the test SMSC.

use herald_test_support::smsc::{TestSmsc, PASSWORD};
use herald_test_support::*;

use crate::web::Web;

herald_test_support::backend_tests! {
    async fn the_settings_page_stores_the_sms_gateway_and_sends_a_test_text() {
        let app = TestApp::spawn().await;
        let smsc = TestSmsc::start().await;
        let web = Web::new(&app.address);
        assert_eq!(web.setup("Ann Admin", "ann@example.com", "correct horse battery").await.status, 303);
        let page = web.get("/settings").await;
        assert!(page.body.contains("No SMS gateway is configured"), "{}", page.body);
        assert!(page.body.contains("the SMS channel is off: no texts are queued"), "{}", page.body);

        // A URL that does not parse: refused, the field named, nothing stored.
        let refused = web
            .submit("/settings", "/settings", &[("sms_url", "smtp://herald:pw@127.0.0.1:1")])
            .await;
        assert_eq!(refused.status, 400);
        assert!(refused.body.contains("id=\"sms_url-error\""), "{}", refused.body);
        assert!(refused.body.contains("smpp://"));
        assert_eq!(app.store.get_setting("sms_url").await.unwrap(), None);

        let saved = web
            .submit("/settings", "/settings", &[("sms_url", &smsc.url()), ("sms_default_country", "NL")])
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert_eq!(app.store.get_setting("sms_url").await.unwrap(), Some(smsc.url()));
        let page = web.get("/settings").await;
        assert!(!page.body.contains(PASSWORD), "the password is never shown");
        assert!(page.body.contains("smpp://herald:***@127.0.0.1"), "{}", page.body);
        assert!(page.body.contains("Texts go through the SMSC at 127.0.0.1"));

        // A national number in the default country; the SMSC's answer is shown.
        let sent = web.submit("/settings", "/settings/test-sms", &[("to", "06 12345678")]).await;
        assert_eq!(sent.status, 200);
        assert!(sent.body.contains("The test text was sent: the SMSC accepted it for +31612345678 as message m1"), "{}", sent.body);
        let messages = smsc.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].destination, "31612345678");
        assert!(messages[0].text.starts_with("This is a test message from Herald"));

        let bad = web.submit("/settings", "/settings/test-sms", &[("to", "call me")]).await;
        assert!(bad.body.contains("The test text was not sent: &#34;call me&#34; is not a phone number")
            || bad.body.contains("The test text was not sent: &quot;call me&quot; is not a phone number"), "{}", bad.body);
        assert_eq!(smsc.messages().len(), 1);
    }

    async fn a_number_that_cannot_be_read_shows_as_skipped_with_the_tickets_deliveries() {
        let smsc = TestSmsc::start().await;
        let app = TestApp::builder()
            .setting(herald::config::Key::SmsUrl, smsc.url())
            .delivery(fast_delivery())
            .spawn()
            .await;
        let web = Web::new(&app.address);
        assert_eq!(web.setup("Ann Admin", "ann@example.com", "correct horse battery").await.status, 303);
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        // No default country: a national number cannot be read.
        app.create(
            "/api/Customers",
            &serde_json::json!({ "Name": "Bob", "CellPhone": "06 12345678", "Services": [{ "Id": mail }] }),
        )
        .await;
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();
        let page = web.get(&format!("/tickets/{t}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(r#"id="deliveries-skipped">1 skipped<"#), "{}", page.body);
        assert!(page.body.contains(r#"<span class="badge badge-muted">skipped</span>"#), "{}", page.body);
        assert!(!page.body.contains("1 failed"), "{}", page.body);
        assert!(page.body.contains("06 12345678"));
        assert!(smsc.received().is_empty(), "nothing was submitted");
    }
}

#[tokio::test]
async fn an_sms_url_that_does_not_parse_is_refused_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let config = test_config(&url).with(herald::config::Key::SmsUrl, "smpp://herald@host");
    let error = herald::startup::Application::build(config)
        .await
        .err()
        .expect("refused");
    let error = error.to_string();
    assert!(error.starts_with("--sms-url: "), "{error}");
    assert!(error.contains("source="), "{error}");
}
