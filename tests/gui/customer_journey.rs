//! A customer's journey in headless Chromium, from real emails received by the test's SMTP
//! server (each link parsed out of the message): subscribing on `/status/subscribe` and
//! confirming from the confirmation email, then, from a notification email, changing the
//! services on the personal page and opting out. Takes the README's screenshot of the
//! personal page.

use herald::config::Key;
use serde_json::{json, Value};

use crate::browser::{self, WAIT};
use crate::screenshots::out_dir;
use herald_test_support::smtp::{Received, SmtpServer};
use herald_test_support::*;

fn id(v: &Value) -> i64 {
    v["Id"].as_i64().unwrap()
}

/// The path of the first `{base}{prefix}{token}` link (a link token's hex digits) in the message's text body.
fn link_path(app: &TestApp, m: &Received, prefix: &str) -> String {
    let text = m.parse().body_text(0).unwrap().into_owned();
    let marker = format!("{}{prefix}", app.address);
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in {text}"));
    let token: String = text[start + marker.len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert!(herald::domain::LinkToken::parse(&token).is_some(), "{text}");
    format!("{prefix}{token}")
}

async fn followed(app: &TestApp, customer: i64) -> Vec<i64> {
    let c = json(app.get(&format!("/api/Customers/{customer}")).await, 200).await;
    c["Services"].as_array().unwrap().iter().map(id).collect()
}

#[tokio::test]
async fn a_customer_subscribes_changes_their_services_and_opts_out_from_real_emails() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .smtp(&smtp)
        .delivery(fast_delivery())
        .setting(Key::SelfSubscription, "on")
        .setting(Key::OrganisationName, "Example Hosting")
        .spawn()
        .await;
    let email = id(&app
        .create(
            "/api/Services",
            &json!({"Name": "Email", "Description": "Mailboxes, IMAP and SMTP"}),
        )
        .await);
    let web = id(&app
        .create(
            "/api/Services",
            &json!({"Name": "Web hosting", "Description": "Sites and their databases"}),
        )
        .await);
    let vpn = id(&app
        .create(
            "/api/Services",
            &json!({"Name": "VPN", "Description": "Remote access for your staff"}),
        )
        .await);
    app.create(
        "/api/Services",
        &json!({"Name": "Billing", "IsPublic": false}),
    )
    .await;
    let Some(b) = browser::start(&app.address).await else {
        return;
    };

    // Subscribing: the form, then the link in the confirmation email.
    b.goto("/status/subscribe").await;
    assert!(
        !b.page_text().await.contains("Billing"),
        "private services are not offered"
    );
    b.fill("#email", "dana@example.com").await;
    b.click(&format!("input[name=service][value=\"{email}\"]"))
        .await;
    b.click(&format!("input[name=service][value=\"{vpn}\"]"))
        .await;
    let answer = b.submit("#subscribe", "h1").await;
    assert_eq!(answer.text().await.unwrap(), "Check your inbox");
    let got = smtp.wait_for(1, WAIT).await;
    assert!(json(app.get("/api/Customers").await, 200)
        .await
        .as_array()
        .unwrap()
        .is_empty());
    b.goto(&link_path(&app, &got[0], "/status/subscribe/"))
        .await;
    let notice = b.submit("#confirm-subscription", "p.notice").await;
    assert!(notice.text().await.unwrap().starts_with("Subscribed"));
    let customers = json(app.get("/api/Customers").await, 200).await;
    let dana = id(&customers[0]);
    assert_eq!(followed(&app, dana).await, [email, vpn]);

    // A notification email's link leads to the personal page; she follows Web hosting instead
    // of VPN.
    app.create_ticket("Incoming email is delayed by up to 20 minutes", &[email])
        .await;
    let got = smtp.wait_for(2, WAIT).await;
    let notification = got
        .iter()
        .find(|m| m.header("List-Unsubscribe").is_some())
        .expect("the notification");
    let personal = link_path(&app, notification, "/my/");
    b.goto(&personal).await;
    assert_eq!(
        b.client.title().await.unwrap(),
        "Your notifications · Example Hosting"
    );
    b.click(&format!("input[name=service][value=\"{vpn}\"]"))
        .await;
    b.click(&format!("input[name=service][value=\"{web}\"]"))
        .await;
    let notice = b.submit("button[value=save]", "p.notice").await;
    assert!(notice.text().await.unwrap().starts_with("Saved"));
    assert_eq!(followed(&app, dana).await, [email, web]);
    b.screenshot(&out_dir().join("personal-page.png"), 1000, 1000)
        .await;

    // Opting out of everything, then the page says so and offers to opt back in.
    let notice = b.submit("button[value=optout]", "#opted-out").await;
    assert!(notice
        .text()
        .await
        .unwrap()
        .contains("You receive no emails from us"));
    let read = json(app.get(&format!("/api/Customers/{dana}")).await, 200).await;
    assert!(read["OptedOutTime"].is_string(), "{read}");
    assert_eq!(
        followed(&app, dana).await,
        [email, web],
        "the services stay, the address is out"
    );
    b.finish().await;
}
