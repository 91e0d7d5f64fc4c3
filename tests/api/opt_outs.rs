//! The customer's side over HTTP, on both backends: the personal link and the one-click
//! unsubscribe in a real email received over SMTP, opt-outs held by address (a legacy
//! full-replace PUT does not undo one, and no message is queued for the address), the personal
//! page's CSRF and bad input, and links that lead nowhere.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use herald_test_support::smtp::{Received, SmtpServer};
use herald_test_support::*;

const WAIT: Duration = Duration::from_secs(30);

fn id(v: &Value) -> i64 {
    v["Id"].as_i64().expect("an Id")
}

/// A client like a mail provider's or a customer's browser: no API key, no cookies kept, no
/// redirects followed.
fn outsider() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The first `{prefix}{token}` (a link token: 56 or 60 hex digits) in `text`.
pub fn link_in(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)?;
    let token: String = text[start + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    herald::domain::LinkToken::parse(&token)
        .is_some()
        .then(|| format!("{}{token}", &text[start..start + prefix.len()]))
}

/// The `List-Unsubscribe` URL of a message (between `<` and `>`).
fn unsubscribe_url(m: &Received) -> String {
    let value = m.header("List-Unsubscribe").expect("List-Unsubscribe");
    value
        .trim()
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .expect("<url>")
        .to_owned()
}

/// Ann follows Mail; a ticket on Mail emails her; returns her and the message she got.
async fn ann_gets_an_email(app: &TestApp, smtp: &SmtpServer) -> (Value, i64, Received) {
    let mail = id(&app.create_service("Mail").await);
    let ann = app
        .create_customer("Ann", Some("Ann@Example.com"), &[mail])
        .await;
    app.create_ticket("Mail is down", &[mail]).await;
    let got = smtp.wait_for(1, WAIT).await;
    (ann, mail, got[0].clone())
}

async fn customer(app: &TestApp, id: i64) -> Value {
    json(app.get(&format!("/api/Customers/{id}")).await, 200).await
}

herald_test_support::backend_tests! {
    async fn one_click_unsubscribe_as_a_mail_provider_sends_it() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let (ann, _, message) = ann_gets_an_email(&app, &smtp).await;
        assert_eq!(
            message.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        let url = unsubscribe_url(&message);
        assert!(url.starts_with(&format!("{}/unsubscribe/", app.address)), "{url}");
        let parsed = message.parse();
        let text = parsed.body_text(0).unwrap().into_owned();
        let html = parsed.body_html(0).unwrap().into_owned();
        let personal = link_in(&text, &format!("{}/my/", app.address)).expect("a personal link");
        assert!(html.contains(&format!("href=\"{personal}\"")), "{html}");
        assert_eq!(customer(&app, id(&ann)).await["OptedOutTime"], Value::Null);

        // A link scanner's GET changes nothing.
        let page = outsider().get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("List-Unsubscribe"));
        assert_eq!(customer(&app, id(&ann)).await["OptedOutTime"], Value::Null);

        // The provider's POST: the form body, no cookie, no CSRF token. Twice: the same answer.
        for _ in 0..2 {
            let r = outsider()
                .post(&url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let read = customer(&app, id(&ann)).await;
        let first = read["OptedOutTime"].as_str().expect("opted out").to_owned();
        let again = customer(&app, id(&ann)).await;
        assert_eq!(again["OptedOutTime"], json!(first), "the first opt-out's time is kept");
        let xml = text_of(app.get_xml(&format!("/api/Customers/{}", id(&ann))).await).await;
        assert!(xml.contains(&format!("<OptedOutTime>{first}</OptedOutTime>")), "{xml}");
    }

    async fn a_legacy_full_replace_put_does_not_undo_an_opt_out() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let (ann, mail, message) = ann_gets_an_email(&app, &smtp).await;
        app.create_customer("Bob", Some("bob@example.com"), &[mail]).await;
        // Another customer with Ann's address in other case: the opt-out is the address's.
        let ann_again = app.create_customer("Ann at work", Some("ann@example.COM"), &[mail]).await;
        let r = outsider()
            .post(unsubscribe_url(&message))
            .form(&[("List-Unsubscribe", "One-Click")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(customer(&app, id(&ann_again)).await["OptedOutTime"].is_string());

        // The CRM puts Ann back as the seed document says: every property, every service,
        // and even an OptedOutTime of null (ignored on input).
        let mut put = customer(&app, id(&ann)).await;
        put["OptedOutTime"] = Value::Null;
        put["Services"] = json!([{"Id": mail}]);
        let r = app.put_json(&format!("/api/Customers/{}", id(&ann)), &put).await;
        assert!(r.status().is_success(), "{}", r.status());
        let read = customer(&app, id(&ann)).await;
        assert!(read["OptedOutTime"].is_string(), "{read}");
        assert_eq!(read["Services"][0]["Id"], json!(mail));

        // The next ticket is queued for Bob, and for nobody with Ann's address.
        let t = id(&app.create_ticket("Mail is down again", &[mail]).await);
        let list = json(app.get(&format!("/api/Tickets/{t}/Notifications")).await, 200).await;
        let to: Vec<&str> = list.as_array().unwrap().iter().map(|n| n["Email"].as_str().unwrap()).collect();
        assert_eq!(to, ["bob@example.com"], "{list:#?}");
    }

    async fn links_that_lead_nowhere_are_404_and_change_nothing() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let (ann, _, message) = ann_gets_an_email(&app, &smtp).await;
        let real = unsubscribe_url(&message);
        let unknown = format!("{}/unsubscribe/{}", app.address, "0".repeat(40));
        for path in ["/my/nonsense", "/my/..%2F..%2Fetc", &format!("/my/{}", "a".repeat(40))] {
            let r = outsider().get(format!("{}{path}", app.address)).send().await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
            assert!(r.text().await.unwrap().contains("no longer valid"), "{path}");
        }
        for url in [unknown.clone(), format!("{}/unsubscribe/x", app.address)] {
            let r = outsider().post(&url).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
            assert_eq!(r.status(), 404, "{url}");
            assert_eq!(outsider().get(&url).send().await.unwrap().status(), 404);
        }
        // The right link without the one-click body: a 400, nothing changed.
        let r = outsider().post(&real).form(&[("other", "x")]).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(customer(&app, id(&ann)).await["OptedOutTime"], Value::Null);
    }

    async fn the_personal_page_checks_its_csrf_token_and_the_services() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let (ann, mail, message) = ann_gets_an_email(&app, &smtp).await;
        let web = id(&app.create_service("Web").await);
        let text = message.parse().body_text(0).unwrap().into_owned();
        let personal = link_in(&text, &format!("{}/my/", app.address)).unwrap();
        let page = outsider().get(&personal).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        assert_eq!(page.headers()["cache-control"], "no-store");
        let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body = page.text().await.unwrap();
        assert!(body.contains("Web") && body.contains("Mail"), "{body}");
        let csrf = cookie.split_once('=').unwrap().1.to_owned();
        assert!(body.contains(&format!("name=\"csrf\" value=\"{csrf}\"")));
        let post = |form: Vec<(&'static str, String)>, cookie: Option<String>| {
            let mut r = outsider().post(&personal).form(&form);
            if let Some(c) = cookie {
                r = r.header("Cookie", c);
            }
            async move { r.send().await.unwrap() }
        };
        let services = || async { customer(&app, id(&ann)).await["Services"].as_array().unwrap().iter().map(|s| s["Id"].as_i64().unwrap()).collect::<Vec<_>>() };

        // Missing or forged token, or no cookie: 403, nothing changed.
        for (form, c) in [
            (vec![("service", web.to_string())], Some(cookie.clone())),
            (vec![("csrf", "forged".into()), ("service", web.to_string())], Some(cookie.clone())),
            (vec![("csrf", csrf.clone()), ("service", web.to_string())], None),
            (vec![("csrf", csrf.clone()), ("action", "optout".into())], Some("herald_my_csrf=other".into())),
        ] {
            let r = post(form, c).await;
            assert_eq!(r.status(), 403);
        }
        assert_eq!(services().await, [mail]);
        assert_eq!(customer(&app, id(&ann)).await["OptedOutTime"], Value::Null);

        // Unknown or malformed services: 400, nothing changed.
        for bad in ["999999", "web"] {
            let r = post(vec![("csrf", csrf.clone()), ("service", web.to_string()), ("service", bad.into())], Some(cookie.clone())).await;
            assert_eq!(r.status(), 400, "{bad}");
            assert!(r.text().await.unwrap().contains("Nothing was changed"));
        }
        assert_eq!(services().await, [mail]);

        // The right token: follow Web instead, then opt out, then back in.
        let r = post(vec![("csrf", csrf.clone()), ("action", "save".into()), ("service", web.to_string())], Some(cookie.clone())).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(services().await, [web]);
        let r = post(vec![("csrf", csrf.clone()), ("action", "optout".into())], Some(cookie.clone())).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(customer(&app, id(&ann)).await["OptedOutTime"].is_string());
        let shown = outsider().get(&personal).header("Cookie", cookie.clone()).send().await.unwrap().text().await.unwrap();
        assert!(shown.contains("You receive no emails from us"), "{shown}");
        let r = post(vec![("csrf", csrf.clone()), ("action", "optin".into())], Some(cookie.clone())).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(customer(&app, id(&ann)).await["OptedOutTime"], Value::Null);
        let record = app.store.opt_out_of("ann@example.com").await.unwrap().expect("kept");
        assert!(record.lifted.is_some_and(|(_, by)| by.contains("customer")));
    }

    async fn revoked_links_stop_working() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let (ann, _, message) = ann_gets_an_email(&app, &smtp).await;
        let url = unsubscribe_url(&message);
        assert_eq!(outsider().get(&url).send().await.unwrap().status(), 200);
        app.store.revoke_links(id(&ann), &herald::domain::Who::cli()).await.unwrap();
        assert_eq!(outsider().get(&url).send().await.unwrap().status(), 404);
        let r = outsider().post(&url).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(customer(&app, id(&ann)).await["OptedOutTime"], Value::Null);
        // A link issued after the revocation leads to the customer again.
        let later = herald::domain::Timestamp::now().plus_millis(1000);
        let batch = herald::domain::LinkToken::new_batch();
        let token = herald::domain::LinkToken::in_batch(batch, 0);
        app.store.issue_link_batch(batch, &[(id(&ann), token.sha256())], later).await.unwrap();
        let found = app.store.customer_by_link(&token).await.unwrap().expect("a new link works");
        assert_eq!(found.id, id(&ann));
    }
}

async fn text_of(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}
