//! A webhook in a real browser: an administrator creates one for a service, copies the secret
//! the page shows once to a receiver on loopback, sends the test event (the receiver checks
//! its signature with that secret; the page shows the answer), and is told on the tickets list
//! when Herald turns the webhook off after a 410. Takes the README's screenshot of the webhooks
//! list (docs/webhooks.png, see `screenshots.rs` for where).

use herald_test_support::webhooks::WebhookReceiver;
use herald_test_support::*;

use crate::browser::{self, WAIT};
use crate::flows::set_up;
use crate::screenshots::out_dir;

#[tokio::test]
async fn a_webhook_is_created_tested_and_its_deactivation_told() {
    let receiver = WebhookReceiver::start().await;
    let app = TestApp::builder().delivery(fast_delivery()).spawn().await;
    let Some(b) = browser::start(&app.address).await else {
        return;
    };
    set_up(&b).await;
    let mail = app.create_service("Email").await["Id"].as_i64().unwrap();
    app.create_service("Web hosting").await;

    b.goto("/tickets").await;
    b.click("a[href=\"/webhooks\"]").await;
    b.wait_for("#new-webhook").await;
    b.click("#new-webhook").await;
    b.fill("#Url", &receiver.url("/herald")).await;
    b.click(&format!("input[name=\"Services[{mail}].Id\"]"))
        .await;
    let field = b.submit("#save-webhook", "#webhook-secret").await;
    let secret = field.prop("value").await.unwrap().unwrap_or_default();
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.set_secret(&secret);

    b.click("#secret-done").await;
    let test = b.submit("#test-webhook", "[id^=test-result-]").await;
    let said = test.text().await.unwrap();
    assert!(said.contains("accepted the test event: HTTP 204"), "{said}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].verified, Some(true), "signed with the secret shown");
    assert_eq!(got[0].body["Event"], "test");

    // The receiver is gone for good: Herald turns the webhook off, and the tickets list says so.
    receiver.answer(&[410]);
    app.create_ticket("Incoming email is delayed", &[mail])
        .await;
    let arrived = receiver.wait_for(2, WAIT).await;
    assert_eq!(arrived.len(), 2);
    assert_eq!(arrived[1].verified, Some(true));
    b.goto("/tickets").await;
    b.reload_until("main", "turned off by Herald").await;
    let notice = b.text("#webhooks-off").await;
    assert!(
        notice.contains("410") && notice.contains(&receiver.url("/herald")),
        "{notice}"
    );
    b.goto("/webhooks").await;
    assert!(b.text("#webhooks").await.contains("Turned off by Herald"));
    b.client.set_window_size(1280, 800).await.unwrap();
    b.screenshot(&out_dir().join("webhooks.png"), 1280, 800)
        .await;

    // Turned on again from the list: the notice is gone.
    let notice = b.submit("[id^=reactivate-webhook-]", "#notice").await;
    assert!(notice.text().await.unwrap().contains("turned on again"));
    assert!(!b.page_text().await.contains("turned off by Herald"));
    b.finish().await;
    app.stop().await;
}
