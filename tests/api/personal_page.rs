//! The personal page on both backends: it offers the public services, and a private one only
//! when the customer already follows it (kept or dropped, never added); the organisation's
//! name on the page and in the footer of the email; every change made through a link is in
//! the audit log as the customer's, from the client's address.

use std::time::Duration;

use herald::config::Key;
use herald::domain::audit::{AuditAction, AuditEntity, AuditEntry};
use herald::domain::LinkToken;
use reqwest::StatusCode;
use serde_json::{json, Value};

use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

use crate::opt_outs::link_in;

const WAIT: Duration = Duration::from_secs(30);

fn id(v: &Value) -> i64 {
    v["Id"].as_i64().expect("an Id")
}

async fn entries(app: &TestApp, customer: i64) -> Vec<AuditEntry> {
    audit_entries(&app.store, AuditEntity::Customer, Some(customer)).await
}

/// The page's form token (from its cookie) and the cookie to send back.
async fn open(client: &reqwest::Client, url: &str) -> (String, String, String) {
    let page = client.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = cookie.split_once('=').unwrap().1.to_owned();
    (page.text().await.unwrap(), csrf, cookie)
}

herald_test_support::backend_tests! {
    async fn the_personal_page_offers_public_services_and_private_ones_already_followed() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder()
            .smtp(&smtp)
            .delivery(fast_delivery())
            .setting(Key::OrganisationName, "Acme Hosting")
            .spawn()
            .await;
        let mail = id(&app.create_service("Mail").await);
        let web = id(&app.create_service("Web").await);
        let private = |name: &str| json!({"Name": name, "IsPublic": false});
        let backup = id(&app.create("/api/Services", &private("Backup network")).await);
        let vault = id(&app.create("/api/Services", &private("Vault cluster")).await);
        let ann = id(&app.create_customer("Ann", Some("ann@example.com"), &[mail, backup]).await);
        app.create_ticket("Mail is down", &[mail]).await;
        let message = smtp.wait_for(1, WAIT).await.remove(0);
        let parsed = message.parse();
        let text = parsed.body_text(0).unwrap().into_owned();
        let html = parsed.body_html(0).unwrap().into_owned();
        assert!(text.replace("\r\n", "\n").contains("\n-- \nAcme Hosting\n"), "{text}");
        assert!(html.contains("<strong>Acme Hosting</strong>"), "{html}");
        let personal = link_in(&text, &format!("{}/my/", app.address)).unwrap();

        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let (body, csrf, cookie) = open(&client, &personal).await;
        assert!(body.contains("<title>Your notifications · Acme Hosting</title>"), "{body}");
        assert!(body.contains("<header>Acme Hosting</header>"), "{body}");
        for shown in ["Mail", "Web", "Backup network"] {
            assert!(body.contains(&format!("<strong>{shown}</strong>")), "{shown}: {body}");
        }
        assert!(!body.contains("Vault cluster"), "a private service not followed is not named");
        assert_eq!(body.matches("class=\"muted private\"").count(), 1, "{body}");

        let post = |services: &[i64]| {
            let mut form: Vec<(&str, String)> = vec![("csrf", csrf.clone()), ("action", "save".into())];
            form.extend(services.iter().map(|s| ("service", s.to_string())));
            let r = client.post(&personal).header("Cookie", cookie.clone()).form(&form);
            async move { r.send().await.unwrap() }
        };
        let followed = || async {
            let c = json(app.get(&format!("/api/Customers/{ann}")).await, 200).await;
            c["Services"].as_array().unwrap().iter().map(|s| s["Id"].as_i64().unwrap()).collect::<Vec<_>>()
        };

        // A private service not followed cannot be added: said as for one that does not exist.
        let r = post(&[mail, vault]).await;
        assert_eq!(r.status(), 400);
        let said = r.text().await.unwrap();
        assert!(said.contains(&format!("There is no service with Id {vault}.")), "{said}");
        assert_eq!(followed().await, [mail, backup]);
        let before = entries(&app, ann).await.len();

        // Keeping the private one and adding a public one works; dropping it too, for good.
        assert_eq!(post(&[mail, web, backup]).await.status(), StatusCode::SEE_OTHER);
        assert_eq!(followed().await, [mail, web, backup]);
        assert_eq!(post(&[web]).await.status(), StatusCode::SEE_OTHER);
        assert_eq!(followed().await, [web]);
        let (body, _, _) = open(&client, &personal).await;
        assert!(!body.contains("Backup network"), "{body}");
        assert_eq!(post(&[web, backup]).await.status(), 400);
        assert_eq!(followed().await, [web]);

        // Each change is the customer's in the audit log; a refused one left nothing.
        let all = entries(&app, ann).await;
        assert_eq!(all.len(), before + 2, "{all:#?}");
        let last = all.last().unwrap();
        assert_eq!(last.action, AuditAction::Updated);
        assert_eq!(last.actor, "the customer (personal link)");
        assert_eq!(last.actor_operator_id, None);
        assert_eq!(last.client_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(last.old_values, Some(json!({"Services": [mail, web, backup]})));
        assert_eq!(last.new_values, Some(json!({"Services": [web]})));

        // Opting out through the link (the one-click POST) is recorded the same way.
        let unsubscribe = personal.replace("/my/", "/unsubscribe/");
        let r = client.post(&unsubscribe).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Acme Hosting"));
        let last = entries(&app, ann).await.pop().unwrap();
        assert_eq!(last.actor, "the customer (personal link)");
        assert_eq!(last.old_values, Some(json!({"OptedOutTime": null})));
        assert!(last.new_values.unwrap()["OptedOutTime"].is_string());
        // Again: nothing changed, nothing recorded.
        let count = entries(&app, ann).await.len();
        client.post(&unsubscribe).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
        assert_eq!(entries(&app, ann).await.len(), count);
    }

    async fn deleting_a_customer_ends_its_links() {
        let app = TestApp::spawn().await;
        let ann = id(&app.create_customer("Ann", Some("ann@example.com"), &[]).await);
        let bob = id(&app.create_customer("Bob", Some("bob@example.com"), &[]).await);
        let at = herald::domain::Timestamp::now();
        let batch = LinkToken::new_batch();
        let tokens: Vec<LinkToken> = (0..3).map(|i| LinkToken::in_batch(batch, i)).collect();
        let entries = [(ann, tokens[0].sha256()), (ann, tokens[1].sha256()), (bob, tokens[2].sha256())];
        app.store.issue_link_batch(batch, &entries, at).await.unwrap();
        assert_eq!(app.store.customer_by_link(&tokens[0]).await.unwrap().unwrap().id, ann);
        assert_eq!(app.store.customer_by_link(&tokens[2]).await.unwrap().unwrap().id, bob);
        // The same place with other random bits leads nowhere.
        assert!(app.store.customer_by_link(&LinkToken::in_batch(batch, 0)).await.unwrap().is_none());
        assert_eq!(app.delete(&format!("/api/Customers/{ann}")).await.status(), 200);
        assert!(app.store.customer_by_link(&tokens[0]).await.unwrap().is_none());
        assert!(app.store.customer_by_link(&tokens[1]).await.unwrap().is_none());
        assert_eq!(app.store.customer_by_link(&tokens[2]).await.unwrap().unwrap().id, bob);
        // A second batch under a key already taken is refused (its messages wait for another).
        assert!(app.store.issue_link_batch(batch, &entries[2..], at).await.is_err());
    }
}
