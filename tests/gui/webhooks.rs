//! The webhooks pages over plain HTTP, on both backends: an administrator creates a webhook
//! (its secret shown once), sends it a signed test event (the receiver on loopback checks the
//! signature with that secret; the answer shown on the list), edits it under the version
//! precondition, gives it a new secret (audited as changed, never its value), and deletes it
//! after confirming; bad input, forged forms and other operators change nothing; a webhook
//! Herald turned off (a 410) is told on the webhooks and tickets lists, with why, until it is
//! turned on again; the tickets list counts deliveries by channel.

use std::time::Duration;

use herald::domain::audit::{AuditEntity, AuditEntry};
use herald::store::Store;
use herald_test_support::webhooks::WebhookReceiver;
use herald_test_support::*;
use serde_json::Value;

use crate::customer_side::plain_operator;
use crate::web::{Page as WebPage, Web};

const WAIT: Duration = Duration::from_secs(30);

async fn admin(app: &TestApp) -> Web {
    let web = Web::new(&app.address);
    let page = web
        .setup("Ann Admin", "ann@herald.test", "correct horse battery")
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    web
}

async fn webhook_entries(store: &Store, id: i64) -> Vec<AuditEntry> {
    audit_entries(store, AuditEntity::Webhook, Some(id)).await
}

/// The secret a secret page shows.
fn shown_secret(page: &WebPage) -> String {
    let marker = "id=\"webhook-secret\" class=\"secret\" value=\"";
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no secret in {}", page.body))
        + marker.len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_owned()
}

async fn webhooks(app: &TestApp) -> Vec<Value> {
    json(app.get("/api/Webhooks").await, 200)
        .await
        .as_array()
        .unwrap()
        .clone()
}

herald_test_support::backend_tests! {
    async fn an_administrator_creates_tests_edits_rekeys_and_deletes_a_webhook() {
        let receiver = WebhookReceiver::start().await;
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let mail_field = format!("Services[{mail}].Id");
        let mail_id = mail.to_string();

        let form = web.get("/webhooks/new").await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("name=\"Url\""), "{}", form.body);
        let url = receiver.url("/hook");
        let created = web
            .post("/webhooks", &[("csrf", &form.csrf()), ("Url", &url), ("Format", "json"), (&mail_field, &mail_id), ("IsActive", "true")])
            .await;
        assert_eq!(created.status, 200, "{}", created.body);
        let secret = shown_secret(&created);
        assert!(secret.starts_with("whsec_"), "{secret}");
        let list = webhooks(&app).await;
        assert_eq!(list.len(), 1);
        let id = list[0]["Id"].as_i64().unwrap();
        assert_eq!(list[0]["Url"], url.as_str());
        assert_eq!(list[0]["Services"][0]["Id"], mail);
        assert!(list[0].get("Secret").is_none(), "the secret is not shown again");
        let page = web.get("/webhooks").await;
        assert!(page.body.contains(&url) && page.body.contains("Mail"), "{}", page.body);
        assert!(!page.body.contains(&secret), "the list never shows the secret");
        assert!(!web.get(&format!("/webhooks/{id}")).await.body.contains(&secret));

        // The test event: signed with that secret, the answer on the list.
        receiver.set_secret(&secret);
        let tested = web.post(&format!("/webhooks/{id}/test"), &[("csrf", &page.csrf())]).await;
        assert_eq!(tested.status, 200, "{}", tested.body);
        let got = receiver.received();
        assert_eq!(got.len(), 1, "sent synchronously");
        assert_eq!(got[0].verified, Some(true));
        assert_eq!(got[0].body["Event"], "test");
        assert!(tested.body.contains(&format!("id=\"test-result-{id}\"")), "{}", tested.body);
        assert!(tested.body.contains("accepted the test event: HTTP 204"), "{}", tested.body);
        receiver.answer(&[500]);
        let failed = web.post(&format!("/webhooks/{id}/test"), &[("csrf", &page.csrf())]).await;
        assert!(failed.body.contains("was not accepted: HTTP 500"), "{}", failed.body);

        // Edits carry the version: a stale one changes nothing.
        let edit = web.get(&format!("/webhooks/{id}")).await;
        let version = edit.field("version");
        let put = app.put_json(&format!("/api/Webhooks/{id}"), &serde_json::json!({"Id": id, "Url": url, "Format": "slack"})).await;
        assert_eq!(put.status(), 204);
        let stale = web
            .post(&format!("/webhooks/{id}"), &[("csrf", &edit.csrf()), ("version", &version), ("Url", "https://other.example/x"), ("Format", "teams"), ("IsActive", "true")])
            .await;
        assert_eq!(stale.status, 409, "{}", stale.body);
        assert!(stale.body.contains("changed by someone else meanwhile"));
        assert_eq!(webhooks(&app).await[0]["Format"], "slack", "nothing changed");
        let fresh = web.get(&format!("/webhooks/{id}")).await;
        let saved = web
            .post(&format!("/webhooks/{id}"), &[("csrf", &fresh.csrf()), ("version", &fresh.field("version")), ("Url", &url), ("Format", "teams")])
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let now = &webhooks(&app).await[0];
        assert_eq!(now["Format"], "teams");
        assert_eq!(now["IsActive"], false, "not ticked: off");
        assert_eq!(now["Services"].as_array().unwrap().len(), 0, "none ticked: every service");
        assert!(web.get("/webhooks").await.body.contains("All services"));

        // A new secret: shown once, the old version refused, the new secret signs.
        let stale_secret = web.post(&format!("/webhooks/{id}/secret"), &[("csrf", &fresh.csrf()), ("version", &version)]).await;
        assert_eq!(stale_secret.status, 303);
        assert!(stale_secret.location.as_deref().unwrap().ends_with("done=webhook-changed"));
        let edit = web.get(&format!("/webhooks/{id}")).await;
        let rekeyed = web.post(&format!("/webhooks/{id}/secret"), &[("csrf", &edit.csrf()), ("version", &edit.field("version"))]).await;
        assert_eq!(rekeyed.status, 200, "{}", rekeyed.body);
        let new_secret = shown_secret(&rekeyed);
        assert_ne!(new_secret, secret);
        receiver.set_secret(&new_secret);
        web.post(&format!("/webhooks/{id}/test"), &[("csrf", &edit.csrf())]).await;
        let last = receiver.received().pop().unwrap();
        assert_eq!(last.verified, Some(true), "signed with the new secret");

        // Audited, the secret as changed, never its value.
        let entries = webhook_entries(&app.store, id).await;
        let texts: Vec<String> = entries.iter().map(|e| format!("{:?} {:?}", e.old_values, e.new_values)).collect();
        assert!(texts.iter().all(|t| !t.contains(&secret) && !t.contains(&new_secret)), "{texts:?}");
        let rekey = entries.last().unwrap();
        assert_eq!(rekey.actor, "Ann Admin");
        assert_eq!(rekey.new_values.as_ref().unwrap()["Secret"], "changed", "{rekey:?}");
        assert_eq!(entries[0].new_values.as_ref().unwrap()["Secret"], "changed", "set on creation");

        // Deletion asks first, then deletes.
        let confirm = web.get(&format!("/webhooks/{id}/delete")).await;
        assert_eq!(confirm.status, 200);
        assert!(confirm.body.contains("Delete the webhook to"), "{}", confirm.body);
        assert!(webhooks(&app).await.len() == 1, "asking deletes nothing");
        let gone = web.post(&format!("/webhooks/{id}/delete"), &[("csrf", &confirm.csrf()), ("version", &confirm.field("version"))]).await;
        assert_eq!(gone.status, 303);
        assert!(webhooks(&app).await.is_empty());
        app.stop().await;
    }

    async fn bad_webhook_forms_and_other_operators_change_nothing() {
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        let form = web.get("/webhooks/new").await;
        for (url, format, field) in [("ftp://example.com/x", "json", "Url-error"), ("https://example.com/x", "smoke", "Format-error"), ("", "json", "Url-error")] {
            let page = web.post("/webhooks", &[("csrf", &form.csrf()), ("Url", url), ("Format", format), ("IsActive", "true")]).await;
            assert_eq!(page.status, 400, "{url} {format}: {}", page.body);
            assert!(page.body.contains(field), "{url} {format}: {}", page.body);
            assert!(!page.body.contains("whsec_"));
        }
        let forged = web.post("/webhooks", &[("Url", "https://example.com/x")]).await;
        assert_eq!(forged.status, 403, "no CSRF token");
        let unknown = web.post("/webhooks", &[("csrf", &form.csrf()), ("Url", "https://example.com/x"), ("Services[99].Id", "99")]).await;
        assert_eq!(unknown.status, 400, "{}", unknown.body);
        assert!(webhooks(&app).await.is_empty());
        assert_eq!(web.post("/webhooks/1/test", &[("csrf", &form.csrf())]).await.status, 404);
        assert_eq!(web.post("/webhooks/x/reactivate", &[("csrf", &form.csrf())]).await.status, 404);

        // An operator who is not an administrator sees no webhooks and makes none.
        let olga = plain_operator(&app).await;
        assert_eq!(olga.get("/webhooks").await.status, 403);
        let tickets = olga.get("/tickets").await;
        assert!(!tickets.body.contains("href=\"/webhooks\""), "no navigation entry");
        let refused = olga.post("/webhooks", &[("csrf", &tickets.csrf()), ("Url", "https://example.com/x")]).await;
        assert_eq!(refused.status, 403);
        assert!(webhooks(&app).await.is_empty());
        app.stop().await;
    }

    async fn a_webhook_herald_turned_off_is_told_until_it_is_turned_on_again() {
        let receiver = WebhookReceiver::start().await;
        let app = TestApp::builder().delivery(fast_delivery()).spawn().await;
        let web = admin(&app).await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let created = json(app.post_json("/api/Webhooks", &serde_json::json!({"Url": receiver.url("/gone")})).await, 201).await;
        let id = created["Id"].as_i64().unwrap();
        assert!(!web.get("/tickets").await.body.contains("webhooks-off"));
        receiver.answer(&[410]);
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();
        let off = poll_until(WAIT, || async {
            json(app.get(&format!("/api/Webhooks/{id}")).await, 200).await["IsActive"] == false
        })
        .await;
        assert!(off, "a 410 turns it off");

        // Told on the tickets list (with why and when), and on the webhooks list.
        let tickets = web.get("/tickets").await;
        let notice = &tickets.body[tickets.body.find("id=\"webhooks-off\"").expect("the notice")..];
        assert!(notice.contains(&receiver.url("/gone")) && notice.contains("410"), "{notice}");
        // The ticket's deliveries by channel: its webhook message failed.
        let row = &tickets.body[tickets.body.find(&format!("data-ticket=\"{t}\"")).unwrap()..];
        assert!(row.contains("data-channel=\"Webhook\"") && row.contains("1 failed"), "{row}");
        let list = web.get("/webhooks").await;
        assert!(list.body.contains("Turned off by Herald"), "{}", list.body);
        // An operator who is not an administrator is told too, without the URL (a Slack or
        // Teams URL is a secret of its own).
        let olga = plain_operator(&app).await;
        let hers = olga.get("/tickets").await;
        let notice = &hers.body[hers.body.find("id=\"webhooks-off\"").expect("the notice")..];
        assert!(notice.contains("a webhook to 127.0.0.1") && notice.contains("410"), "{notice}");
        assert!(!hers.body.contains("/gone"), "no URL path for her");
        // Nor on the ticket's deliveries, for anyone: they name the webhook by its host.
        for who in [&web, &olga] {
            let page = who.get(&format!("/tickets/{t}")).await;
            let deliveries = &page.body[page.body.find("data-channel=\"Webhook\"").expect("a webhook row")..];
            assert!(deliveries.contains("127.0.0.1"), "{deliveries}");
            assert!(!page.body.contains("/gone"), "no URL path on the ticket page");
        }
        assert!(web.get(&format!("/webhooks/{id}")).await.body.contains("id=\"webhook-off\""));

        // Turned on again (with the version the list showed): the notice goes.
        let version = list.field("version");
        let on = web.post(&format!("/webhooks/{id}/reactivate"), &[("csrf", &list.csrf()), ("version", &version)]).await;
        assert_eq!(on.status, 303);
        assert!(on.location.as_deref().unwrap().ends_with("done=webhook-reactivated"));
        let got = json(app.get(&format!("/api/Webhooks/{id}")).await, 200).await;
        assert_eq!(got["IsActive"], true);
        assert!(got["DeactivatedReason"].is_null());
        assert!(!web.get("/tickets").await.body.contains("webhooks-off"));
        let entries = webhook_entries(&app.store, id).await;
        let last = entries.last().unwrap();
        assert_eq!(last.actor, "Ann Admin");
        assert_eq!(last.new_values.as_ref().unwrap()["IsActive"], true);
        // The version it had is spent: pressing again changes nothing.
        let again = web.post(&format!("/webhooks/{id}/reactivate"), &[("csrf", &list.csrf()), ("version", &version)]).await;
        assert!(again.location.as_deref().unwrap().ends_with("done=webhook-changed"));
        assert_eq!(webhook_entries(&app.store, id).await.len(), entries.len());
        app.stop().await;
    }
}
