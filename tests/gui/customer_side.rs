//! The customer's side on the operators' pages, over plain HTTP on both backends: opted-out
//! customers shown on the list and the customer's page (when, which address), an
//! administrator lifting an opt-out (recorded with who and when, audited; other operators and
//! forged forms refused), and issuing a customer a new personal link (the old links stop
//! working, audited).

use std::time::Duration;

use herald::domain::audit::{AuditAction, AuditEntity, AuditEntry};
use herald::domain::{EmailAddress, Name, NewOperator, Password, Who};
use herald::store::Store;
use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;
use serde_json::{json, Value};

use crate::web::Web;

const WAIT: Duration = Duration::from_secs(30);

async fn admin(app: &TestApp) -> Web {
    let web = Web::new(&app.address);
    let page = web
        .setup("Ann Admin", "ann@herald.test", "correct horse battery")
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    web
}

pub async fn plain_operator(app: &TestApp) -> Web {
    let new = NewOperator {
        name: Name::parse("Olga").unwrap(),
        email: EmailAddress::parse("olga@herald.test").unwrap(),
        cell_phone: None,
        is_admin: false,
        password: Some(Password::parse("olga's long password").unwrap()),
    };
    app.store.create_operator(&new, &Who::cli()).await.unwrap();
    let web = Web::new(&app.address);
    assert_eq!(
        web.sign_in("olga@herald.test", "olga's long password")
            .await
            .status,
        303
    );
    web
}

async fn customer_entries(store: &Store, id: i64) -> Vec<AuditEntry> {
    audit_entries(store, AuditEntity::Customer, Some(id)).await
}

async fn opted_out_time(app: &TestApp, id: i64) -> Value {
    json(app.get(&format!("/api/Customers/{id}")).await, 200).await["OptedOutTime"].clone()
}

/// The first `{prefix}{token}` (a link token: 56 or 60 hex digits) in `text`.
fn link_in(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)?;
    let token: String = text[start + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    herald::domain::LinkToken::parse(&token)
        .is_some()
        .then(|| format!("{prefix}{token}"))
}

herald_test_support::backend_tests! {
    async fn opted_out_customers_are_shown_and_an_administrator_lifts_the_opt_out() {
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let bob = app.create_customer("Bob", Some("Bob@Example.com"), &[mail]).await["Id"].as_i64().unwrap();
        let carl = app.create_customer("Carl", Some("carl@example.com"), &[mail]).await["Id"].as_i64().unwrap();
        app.store.opt_out_email("bob@example.com", app.store.now()).await.unwrap();

        let list = web.get("/customers").await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body.matches("class=\"chip chip-warn opted-out\"").count(), 1, "{}", list.body);
        let bob_row = &list.body[list.body.find(">Bob</a>").unwrap()..list.body.find(">Carl</a>").unwrap()];
        assert!(bob_row.contains("opted out"), "{bob_row}");

        let page = web.get(&format!("/customers/{bob}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<strong>Opted out</strong> since"), "{}", page.body);
        assert!(page.body.contains("nothing is sent to <strong>bob@example.com</strong>"), "{}", page.body);
        assert!(page.body.contains("id=\"lift-opt-out\""));
        let carl_page = web.get(&format!("/customers/{carl}")).await;
        assert!(carl_page.body.contains("Not opted out."), "{}", carl_page.body);
        assert!(!carl_page.body.contains("id=\"lift-opt-out\""));

        // Another operator sees it but may not lift it; a forged form changes nothing.
        let olga = plain_operator(&app).await;
        let seen = olga.get(&format!("/customers/{bob}")).await;
        assert!(seen.body.contains("<strong>Opted out</strong>") && !seen.body.contains("id=\"lift-opt-out\""));
        let lift = format!("/customers/{bob}/opt-out/lift");
        let refused = olga.post(&lift, &[("csrf", seen.csrf().as_str())]).await;
        assert_eq!(refused.status, 403);
        assert_eq!(web.post(&lift, &[("csrf", "forged")]).await.status, 403);
        assert_eq!(web.post(&lift, &[]).await.status, 403);
        assert!(opted_out_time(&app, bob).await.is_string());
        assert!(customer_entries(&app.store, bob).await.iter().all(|e| e.action == AuditAction::Created));

        // The administrator lifts it.
        let done = web.submit(&format!("/customers/{bob}"), &lift, &[]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        let shown = web.get(done.location.as_deref().unwrap()).await;
        assert!(shown.body.contains("Opt-out lifted"), "{}", shown.body);
        assert!(shown.body.contains("was lifted on"), "{}", shown.body);
        assert!(shown.body.contains("by <span id=\"lifted-by\">Ann Admin</span>"), "{}", shown.body);
        assert_eq!(opted_out_time(&app, bob).await, Value::Null);
        let record = app.store.opt_out_of("bob@example.com").await.unwrap().unwrap();
        assert_eq!(record.lifted.map(|(_, by)| by).as_deref(), Some("Ann Admin"));
        let entries = customer_entries(&app.store, bob).await;
        let last = entries.last().unwrap();
        assert_eq!((last.action, last.actor.as_str()), (AuditAction::Updated, "Ann Admin"));
        assert_eq!(last.client_address.as_deref(), Some("127.0.0.1"));
        assert!(last.old_values.as_ref().unwrap()["OptedOutTime"].is_string(), "{last:?}");
        assert_eq!(last.new_values, Some(json!({"OptedOutTime": null})));
        assert!(!web.get("/customers").await.body.contains("chip-warn opted-out"));

        // Lifting again changes nothing and records nothing; an unknown customer is a 404.
        let again = web.submit(&format!("/customers/{bob}"), &lift, &[]).await;
        assert_eq!(again.status, 303);
        assert_eq!(customer_entries(&app.store, bob).await.len(), entries.len());
        let csrf = web.get("/customers").await.csrf();
        assert_eq!(web.post("/customers/999999/opt-out/lift", &[("csrf", csrf.as_str())]).await.status, 404);
        assert_eq!(web.post("/customers/x/opt-out/lift", &[("csrf", csrf.as_str())]).await.status, 404);

        // The next ticket on Mail is queued for Bob again.
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();
        let queued = json(app.get(&format!("/api/Tickets/{t}/Notifications")).await, 200).await;
        assert_eq!(queued.as_array().unwrap().len(), 2, "{queued:#?}");
    }

    async fn a_new_personal_link_ends_the_links_sent_so_far() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let bob = app.create_customer("Bob", Some("bob@example.com"), &[mail]).await["Id"].as_i64().unwrap();
        app.create_ticket("Mail is down", &[mail]).await;
        let got = smtp.wait_for(1, WAIT).await;
        let text = got[0].parse().body_text(0).unwrap().into_owned();
        let personal = link_in(&text, &format!("{}/my/", app.address)).expect("a personal link");
        let outsider = reqwest::Client::new();
        assert_eq!(outsider.get(&personal).send().await.unwrap().status(), 200);

        // Any operator may do it, with the form's token.
        let web = admin(&app).await;
        let olga = plain_operator(&app).await;
        let action = format!("/customers/{bob}/personal-link");
        assert_eq!(olga.post(&action, &[("csrf", "forged")]).await.status, 403);
        assert_eq!(outsider.get(&personal).send().await.unwrap().status(), 200);
        let page = olga.get(&format!("/customers/{bob}")).await;
        assert!(page.body.contains("id=\"new-personal-link\""), "{}", page.body);
        let done = olga.submit(&format!("/customers/{bob}"), &action, &[]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(olga.get(done.location.as_deref().unwrap()).await.body.contains("New personal link issued"));

        let gone = outsider.get(&personal).send().await.unwrap();
        assert_eq!(gone.status(), 404);
        assert!(gone.text().await.unwrap().contains("no longer valid"));
        let last = customer_entries(&app.store, bob).await.pop().unwrap();
        assert_eq!((last.action, last.actor.as_str()), (AuditAction::Updated, "Olga"));
        assert_eq!(last.old_values, Some(json!({"PersonalLink": null})));
        assert_eq!(last.new_values, Some(json!({"PersonalLink": "changed"})));
        let stored = format!("{:?}", customer_entries(&app.store, bob).await);
        let token = personal.rsplit('/').next().unwrap();
        assert!(!stored.contains(token), "no token in the audit log");

        // The next message carries a link that works.
        app.create_ticket("Mail is down again", &[mail]).await;
        let got = smtp.wait_for(2, WAIT).await;
        let text = got[1].parse().body_text(0).unwrap().into_owned();
        let fresh = link_in(&text, &format!("{}/my/", app.address)).unwrap();
        assert_ne!(fresh, personal);
        assert_eq!(outsider.get(&fresh).send().await.unwrap().status(), 200);
        let csrf = web.get("/customers").await.csrf();
        assert_eq!(web.post("/customers/999999/personal-link", &[("csrf", csrf.as_str())]).await.status, 404);
    }
}
