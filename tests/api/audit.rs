//! The audit log as the API fills it: every change with its actor, client address and the
//! changed values; refused changes leave nothing; secrets are never written; pruning by age.

use herald::domain::audit::{AuditAction, AuditEntity, AuditEntry};
use herald::domain::Timestamp;
use herald::store::Store;
use herald_test_support::*;
use serde_json::json;

/// The entries of `entity`, oldest first.
async fn entries(store: &Store, entity: AuditEntity) -> Vec<AuditEntry> {
    audit_entries(store, entity, None).await
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
        assert_eq!(log[0].new_values, Some(json!({"Name": "Mail", "Description": null, "IsPublic": true})));
        assert_eq!(log[1].old_values, Some(json!({"Description": null})));
        assert_eq!(log[1].new_values, Some(json!({"Description": "SMTP"})));
        assert_eq!(log[3].old_values, Some(json!({"Name": "Mail", "Description": "SMTP", "IsPublic": true})));
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

    async fn the_api_reads_the_log_with_filters_paging_json_and_xml() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_service("Web").await;
        app.create_customer("Ann", None, &[mail]).await;
        let all = json(app.get("/api/AuditLog?entity=Service").await, 200).await;
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0]["Entity"], "Service");
        assert_eq!(all[0]["EntityId"], mail);
        assert_eq!(all[0]["Action"], "Created");
        assert_eq!(all[0]["Actor"], "API key");
        assert_eq!(all[0]["ClientAddress"], "127.0.0.1");
        assert_eq!(all[0]["OldValues"], serde_json::Value::Null);
        assert_eq!(all[0]["NewValues"], json!({"Name": "Mail", "Description": null, "IsPublic": true}));

        let page = json(app.get("/api/AuditLog?entity=service&$top=1&$skip=1").await, 200).await;
        assert_eq!(page, json!([all[1]]));
        let by_id = json(app.get(&format!("/api/auditlog?entity=Service&entityId={mail}")).await, 200).await;
        assert_eq!(by_id, json!([all[0]]));
        let customers = json(app.get("/api/AuditLog?entity=Customer&actor=API%20KEY").await, 200).await;
        assert_eq!(customers.as_array().unwrap().len(), 1);
        let nobody = json(app.get("/api/AuditLog?actor=Olga").await, 200).await;
        assert_eq!(nobody, json!([]));
        let time = all[1]["Time"].as_str().unwrap();
        let later = json(app.get(&format!("/api/AuditLog?entity=Service&from={time}")).await, 200).await;
        assert_eq!(later, json!([all[1]]));
        let earlier = json(app.get(&format!("/api/AuditLog?entity=Service&to={time}")).await, 200).await;
        assert_eq!(earlier, json!([all[0]]));

        let xml = text(app.get_xml("/api/AuditLog?entity=Service&$top=1").await, 200).await;
        assert!(xml.starts_with("<ArrayOfAuditEntry xmlns:i="), "{xml}");
        assert!(xml.contains("<Action>Created</Action><Actor>API key</Actor>"), "{xml}");
        assert!(xml.contains("<NewValues><Description i:nil=\"true\" /><IsPublic>true</IsPublic><Name>Mail</Name></NewValues>"), "{xml}");
        assert!(xml.contains("<OldValues i:nil=\"true\" />"), "{xml}");

        for bad in ["entity=Spaceship", "entityId=0", "entityId=x", "from=yesterday", "to=2026-13-01", "$top=-1"] {
            let r = app.get(&format!("/api/AuditLog?{bad}")).await;
            assert_eq!(r.status(), 400, "{bad}");
            let body = json(r, 400).await;
            assert!(body["Message"].as_str().unwrap().contains("query parameter"), "{bad}: {body}");
        }
        // The log is behind the key like the rest of the API.
        let r = app.client.get(format!("{}/api/AuditLog", app.address)).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }

    async fn behind_a_trusted_proxy_the_forwarded_client_is_recorded() {
        let app = TestApp::builder()
            .setting(herald::config::Key::TrustedProxies, "127.0.0.1")
            .spawn()
            .await;
        let r = app.request(reqwest::Method::POST, "/api/Services")
            .header("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
            .json(&json!({"Name": "Mail"}))
            .send().await.unwrap();
        assert_eq!(r.status(), 201);
        let log = entries(&app.store, AuditEntity::Service).await;
        assert_eq!(log[0].client_address.as_deref(), Some("203.0.113.7"));
    }

    async fn the_server_prunes_entries_past_the_retention_setting() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        app.create_service("Web").await;
        // The first entry is 40 days old; the retention setting keeps 30.
        let old = Timestamp::now().minus(std::time::Duration::from_secs(40 * 86_400));
        sqlx::query("UPDATE audit_log SET at = $1 WHERE id IN (SELECT id FROM audit_log WHERE entity = 'Service' ORDER BY id LIMIT 1)")
            .bind(old.ticks()).execute(app.store.writer()).await.unwrap();
        // A value that is not a duration is refused at start (checked like every setting).
        let bad = herald::config::values::check(herald::config::Key::AuditRetention, "a while");
        assert!(bad.is_err());
        // Another instance starting prunes by its setting; the entries of the default year stay.
        let other = app.second_instance().setting(herald::config::Key::AuditRetention, "30d").spawn().await;
        let store = app.store.clone();
        let pruned = poll_until(std::time::Duration::from_secs(20), || {
            let store = store.clone();
            async move { entries(&store, AuditEntity::Service).await.len() == 1 }
        })
        .await;
        assert!(pruned, "the old entry was pruned");
        let left = entries(&app.store, AuditEntity::Service).await;
        assert_eq!(left[0].new_values.as_ref().unwrap()["Name"], "Web");
        other.stop().await;
    }

    async fn the_command_line_records_its_changes_without_the_secrets() {
        let app = TestApp::spawn().await;
        let password = "cli-Secret-Password-31337";
        let key = "cli-Secret-Api-Key-0123456789";
        let run = |args: Vec<String>| {
            let url = app.database_url.clone();
            async move {
                let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
                    .args(&args)
                    .arg("--database")
                    .arg(url)
                    .env_remove("HERALD_DATABASE_URL")
                    .env("HERALD_OPERATOR_PASSWORD", password)
                    .output()
                    .await
                    .expect("herald runs");
                assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
        };
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        run(s(&["operator", "create", "--name", "Cleo", "--email", "cleo@example.com", "--admin"])).await;
        run(s(&["operator", "set-password", "--email", "cleo@example.com"])).await;
        run(s(&["api-key", "set", key])).await;
        // A refused change (no such operator) records nothing.
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["operator", "set-password", "--email", "nobody@example.com", "--database", &app.database_url])
            .env_remove("HERALD_DATABASE_URL")
            .env("HERALD_OPERATOR_PASSWORD", password)
            .output().await.unwrap();
        assert!(!out.status.success());

        let operators = entries(&app.store, AuditEntity::Operator).await;
        let actions: Vec<_> = operators.iter().map(|e| (e.action, e.actor.as_str(), e.client_address.clone())).collect();
        assert_eq!(actions, [
            (AuditAction::Created, "command line", None),
            (AuditAction::Updated, "command line", None),
        ]);
        assert_eq!(operators[1].new_values, Some(json!({"Password": "changed"})));
        let settings = entries(&app.store, AuditEntity::Settings).await;
        let last = settings.last().expect("the key change is recorded");
        assert_eq!(last.actor, "command line");
        assert_eq!(last.new_values, Some(json!({"api_key_sha256": "changed"})));
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM operators WHERE email = 'cleo@example.com'")
            .fetch_one(app.store.reader()).await.unwrap();
        let stored = all_stored_text(&app.store).await;
        for secret in [password, key, hash.as_str()] {
            assert!(!stored.contains(secret), "the audit log holds a secret: {stored}");
        }
    }
}
