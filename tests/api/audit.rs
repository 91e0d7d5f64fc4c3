//! The audit log as the API fills it: every change with its actor, client address and the
//! changed values; refused changes leave nothing; secrets are never written; pruning by age.

use futures::TryStreamExt;
use herald::domain::audit::{AuditAction, AuditEntity, AuditEntry};
use herald::domain::Timestamp;
use herald::store::{AuditFilter, AuditOrder, Page, Store};
use herald_test_support::*;
use serde_json::json;

/// The entries of `entity`, oldest first.
async fn entries(store: &Store, entity: AuditEntity) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        entity: Some(entity),
        ..Default::default()
    };
    store
        .list_audit(filter, AuditOrder::Oldest, Page::default())
        .try_collect()
        .await
        .unwrap()
}

/// Every value the audit log holds, as one text, to search for secrets.
pub async fn all_stored_text(store: &Store) -> String {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT entity || '|' || actor || '|' || coalesce(client_address, '') || '|' \
         || coalesce(old_values, '') || '|' || coalesce(new_values, '') FROM audit_log ORDER BY id",
    )
    .fetch_all(store.reader())
    .await
    .unwrap();
    rows.join("\n")
}

herald_test_support::backend_tests! {
    async fn api_changes_are_recorded_with_actor_address_and_values() {
        let app = TestApp::spawn().await;
        let id = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let r = app.put_json(&format!("/api/Services/{id}"), &json!({"Id": id, "Name": "Mail", "Description": "SMTP"})).await;
        assert_eq!(r.status(), 204);
        // Refused changes: invalid, a name taken, a stale If-Match, a missing entity.
        let other = app.create_service("Web").await["Id"].as_i64().unwrap();
        let r = app.put_json(&format!("/api/Services/{other}"), &json!({"Id": other, "Name": "mail"})).await;
        assert_eq!(r.status(), 400);
        let r = app.post_json("/api/Services", &json!({"Name": ""})).await;
        assert_eq!(r.status(), 400);
        let r = app.request(reqwest::Method::DELETE, &format!("/api/Services/{id}"))
            .header("If-Match", "\"stale\"").send().await.unwrap();
        assert_eq!(r.status(), 412);
        assert_eq!(app.delete("/api/Services/999").await.status(), 404);
        assert_eq!(app.delete(&format!("/api/Services/{id}")).await.status(), 200);

        let log = entries(&app.store, AuditEntity::Service).await;
        let actions: Vec<_> = log.iter().map(|e| (e.action, e.entity_id)).collect();
        assert_eq!(actions, [
            (AuditAction::Created, Some(id)),
            (AuditAction::Updated, Some(id)),
            (AuditAction::Created, Some(other)),
            (AuditAction::Deleted, Some(id)),
        ]);
        for e in &log {
            assert_eq!(e.actor, "API key");
            assert_eq!(e.actor_operator_id, None);
            assert_eq!(e.client_address.as_deref(), Some("127.0.0.1"));
        }
        assert_eq!(log[0].old_values, None);
        assert_eq!(log[0].new_values, Some(json!({"Name": "Mail", "Description": null})));
        assert_eq!(log[1].old_values, Some(json!({"Description": null})));
        assert_eq!(log[1].new_values, Some(json!({"Description": "SMTP"})));
        assert_eq!(log[3].old_values, Some(json!({"Name": "Mail", "Description": "SMTP"})));
        assert_eq!(log[3].new_values, None);
    }

    async fn tickets_customers_and_operators_are_recorded_without_secrets() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let c = app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        let cid = c["Id"].as_i64().unwrap();
        let r = app.put_json(&format!("/api/Customers/{cid}"), &json!({"Id": cid, "Name": "Ann B", "Email": "ann@example.com", "Services": [{"Id": mail}]})).await;
        assert_eq!(r.status(), 204);
        let t = app.create_ticket("Mail is down", &[mail]).await;
        let tid = t["Id"].as_i64().unwrap();
        let r = app.put_json(&format!("/api/Tickets/{tid}"), &json!({"Id": tid, "Description": "Mail is down", "StartTime": t["StartTime"], "ClosedTime": "2030-01-01T00:00:00Z"})).await;
        assert_eq!(r.status(), 204);
        // A PUT that changes nothing is no change.
        let r = app.put_json(&format!("/api/Tickets/{tid}"), &json!({"Id": tid, "Description": "Mail is down", "StartTime": t["StartTime"]})).await;
        assert_eq!(r.status(), 204);

        let password = "a-secret-Password-4711";
        let op = app.create("/api/Operators", &json!({"Name": "Olga", "Email": "olga@example.com", "Password": password})).await;
        let oid = op["Id"].as_i64().unwrap();
        let second = "another-secret-Password-0815";
        let r = app.put_json(&format!("/api/Operators/{oid}"), &json!({"Id": oid, "Name": "Olga", "Email": "olga@example.com", "Password": second})).await;
        assert_eq!(r.status(), 204);

        let customers = entries(&app.store, AuditEntity::Customer).await;
        assert_eq!(customers.len(), 2);
        assert_eq!(customers[1].old_values, Some(json!({"Name": "Ann"})));
        assert_eq!(customers[1].new_values, Some(json!({"Name": "Ann B"})));
        assert_eq!(customers[0].new_values.as_ref().unwrap()["Services"], json!([mail]));

        let tickets = entries(&app.store, AuditEntity::Ticket).await;
        assert_eq!(tickets.len(), 2, "{tickets:?}");
        assert_eq!(tickets[1].old_values, Some(json!({"ClosedTime": null})));
        assert_eq!(tickets[1].new_values, Some(json!({"ClosedTime": "2030-01-01T00:00:00Z"})));

        let operators = entries(&app.store, AuditEntity::Operator).await;
        assert_eq!(operators.len(), 2);
        assert_eq!(operators[0].new_values.as_ref().unwrap()["Password"], "changed");
        assert_eq!(operators[1].old_values, Some(json!({"Password": null})));
        assert_eq!(operators[1].new_values, Some(json!({"Password": "changed"})));

        let hash: String = sqlx::query_scalar("SELECT password_hash FROM operators WHERE id = $1")
            .bind(oid).fetch_one(app.store.reader()).await.unwrap();
        let stored = all_stored_text(&app.store).await;
        for secret in [password, second, hash.as_str(), KEY] {
            assert!(!stored.contains(secret), "the audit log holds a secret: {stored}");
        }
    }

    async fn pruning_deletes_what_is_older_than_the_cutoff() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        app.create_service("Web").await;
        // Two entries made old, one left as it is.
        let old = Timestamp::now().minus(std::time::Duration::from_secs(400 * 86_400));
        sqlx::query("UPDATE audit_log SET at = $1 WHERE entity = 'Service' AND id IN (SELECT id FROM audit_log WHERE entity = 'Service' ORDER BY id LIMIT 1)")
            .bind(old.ticks()).execute(app.store.writer()).await.unwrap();
        let cutoff = Timestamp::now().minus(std::time::Duration::from_secs(365 * 86_400));
        assert_eq!(app.store.prune_audit(cutoff).await.unwrap(), 1);
        assert_eq!(app.store.prune_audit(cutoff).await.unwrap(), 0);
        let left = entries(&app.store, AuditEntity::Service).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].new_values.as_ref().unwrap()["Name"], "Web");
    }
}
