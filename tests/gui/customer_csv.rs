//! Customers imported from CSV (upload, preview, confirm; twice) and exported, over HTTP as the
//! GUI's forms send them, on both backends.

use std::time::Duration;

use futures::TryStreamExt;
use herald::domain::Customer;
use herald::store::Page as StorePage;
use serde_json::json;

use crate::flows::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::web::{Page, Web};
use herald_test_support::*;

async fn customers(app: &TestApp) -> Vec<Customer> {
    app.store
        .list_customers(StorePage::default())
        .try_collect()
        .await
        .unwrap()
}

/// Uploads a file and waits until it has been read: the preview page.
async fn upload(web: &Web, name: &str, bytes: Vec<u8>) -> Page {
    let csrf = web.get("/customers/import").await.csrf();
    let sent = web.upload("/customers/import", &csrf, name, bytes).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let at = sent.location.unwrap();
    assert!(at.starts_with("/customers/import/"), "{at}");
    let read = poll_until(Duration::from_secs(120), || async {
        !web.get(&at).await.body.contains("data-state=\"reading\"")
    })
    .await;
    assert!(read, "the import was never read");
    web.get(&at).await
}

/// The number an element `id="count-…"` shows.
fn count(page: &Page, action: &str) -> i64 {
    let marker = format!("id=\"count-{action}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in {}", page.body));
    let rest = &page.body[at..];
    let start = rest.find("<strong>").unwrap() + "<strong>".len();
    let end = rest.find("</strong>").unwrap();
    rest[start..end].parse().unwrap()
}

fn counts(page: &Page) -> [i64; 4] {
    ["create", "update", "unchanged", "refused"].map(|a| count(page, a))
}

/// The import's id, from its preview's confirm form.
fn import_path(page: &Page) -> String {
    let start = page.body.find("action=\"/customers/import/").unwrap() + "action=\"".len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_owned()
}

/// 10,000 rows, six of them bad, one matching an existing customer in another case.
fn big_file() -> Vec<u8> {
    let mut f = b"Name,Email,CellPhone,Services\r\n".to_vec();
    for i in 1..=10_000 {
        let services = ["Mail", "Mail; web", ""][i % 3];
        let line = match i {
            100 => format!("Customer {i},not-an-email,,{services}\r\n"),
            200 => format!("Customer {i},row{i}@example.com,,Mail;Nope\r\n"),
            300 => format!("Customer {i},row{i}@example.com\r\n"),
            400 => {
                f.extend_from_slice(b"Caf\xe9 400,row400@example.com,,\r\n");
                continue;
            }
            500 => "Customer 500,ROW1@example.com,,\r\n".to_owned(),
            600 => format!(
                "\"Lee, Ann \"\"600\"\"\",row{i}@example.com,+44 20 7946 0600,{services}\r\n"
            ),
            10_000 => format!("\"Customer {i},row{i}@example.com,,\r\n"),
            _ => format!("Customer {i},row{i}@example.com,,{services}\r\n"),
        };
        f.extend_from_slice(line.as_bytes());
    }
    f
}

async fn signed_in_with_services(app: &TestApp) -> Web {
    let web = Web::new(&app.address);
    assert_eq!(
        web.setup("Ann Admin", ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status,
        303
    );
    for name in ["Mail", "Web"] {
        assert_eq!(
            app.post_json("/api/Services", &json!({"Name": name}))
                .await
                .status(),
            201
        );
    }
    web
}

/// How many audit entries the admin's import wrote, by action.
async fn audited(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'Customer' AND action = $1 \
         AND actor = 'Ann Admin' AND actor_operator_id IS NOT NULL",
    )
    .bind(action)
    .fetch_one(app.store.reader())
    .await
    .unwrap()
}

herald_test_support::backend_tests! {
    async fn ten_thousand_rows_with_bad_ones_import_once_and_then_change_nothing() {
        let app = TestApp::spawn().await;
        let web = signed_in_with_services(&app).await;
        let existing = app.post_json("/api/Customers", &json!({"Name": "Old name", "Email": "Row5@Example.COM"})).await;
        assert_eq!(existing.status(), 201);

        let preview = upload(&web, "customers.csv", big_file()).await;
        assert!(preview.body.contains("10000 rows read"), "{}", preview.body);
        assert_eq!(counts(&preview), [9_993, 1, 0, 6]);
        // Nothing is applied before the confirmation.
        assert_eq!(customers(&app).await.len(), 1);

        // The refused rows, each with its line and reason.
        let path = import_path(&preview).replace("/confirm", "");
        let refused = web.get(&format!("{path}?show=refused")).await;
        for (line, reason) in [
            (101, "Email:"),
            (201, "no service named &quot;Nope&quot;"),
            (301, "2 fields where the header has 4."),
            (401, "Not UTF-8 text"),
            (501, "The same email address as line 2."),
            (10_001, "Broken quoting"),
        ] {
            let at = refused.body.find(&format!("id=\"line-{line}\"")).unwrap_or_else(|| panic!("line {line} not refused: {}", refused.body));
            let row = &refused.body[at..at + refused.body[at..].find("</tr>").unwrap()];
            assert!(row.contains(reason), "line {line}: {row}");
        }

        let confirm = web.post(&import_path(&preview), &[("csrf", &preview.csrf())]).await;
        assert_eq!(confirm.status, 303, "{}", confirm.body);
        let all = customers(&app).await;
        assert_eq!(all.len(), 9_994);
        let row5 = all.iter().find(|c| c.email.as_deref() == Some("Row5@Example.COM")).unwrap();
        assert_eq!(row5.name, "Customer 5");
        assert!(row5.services.is_empty());
        let row7 = all.iter().find(|c| c.email.as_deref() == Some("row7@example.com")).unwrap();
        assert_eq!(row7.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["Mail", "Web"]);
        let lee = all.iter().find(|c| c.email.as_deref() == Some("row600@example.com")).unwrap();
        assert_eq!(lee.name, "Lee, Ann \"600\"");
        assert_eq!(lee.cell_phone.as_deref(), Some("+44 20 7946 0600"));
        // Each customer created or updated is in the audit log, as the operator's change.
        assert_eq!((audited(&app, "Created").await, audited(&app, "Updated").await), (9_993, 1));
        // Confirmed once only.
        let again = web.post(&import_path(&preview), &[("csrf", &preview.csrf())]).await;
        assert_eq!(again.status, 409);
        assert!(again.body.contains("applied already"));

        // The same file again: nothing to create, nothing to update.
        let second = upload(&web, "customers.csv", big_file()).await;
        assert_eq!(counts(&second), [0, 0, 9_994, 6]);
        let confirm = web.post(&import_path(&second), &[("csrf", &second.csrf())]).await;
        assert_eq!(confirm.status, 303);
        assert_eq!(customers(&app).await, all);
        assert_eq!((audited(&app, "Created").await, audited(&app, "Updated").await), (9_993, 1));
    }

    async fn an_import_is_in_the_audit_log_as_each_change_would_be() {
        let app = TestApp::spawn().await;
        let web = signed_in_with_services(&app).await;
        let (mail, web_id) = (1, 2);
        for (name, email, services) in [("Old name", "Row5@Example.com", json!([{"Id": mail}])), ("Same", "same@example.com", json!([]))] {
            let r = app.post_json("/api/Customers", &json!({"Name": name, "Email": email, "CellPhone": "+1 555 0100", "Services": services})).await;
            assert_eq!(r.status(), 201);
        }
        let row5 = customers(&app).await[0].id;
        // What the API's create writes, to compare with.
        let by_api = json(app.get("/api/AuditLog?entity=Customer&actor=API%20key").await, 200).await;
        let api_keys: Vec<&String> = by_api[0]["NewValues"].as_object().unwrap().keys().collect();

        let file = "Name,Email,CellPhone,Services\r\n\
            Bea,bea@example.com,,Web; Mail\r\n\
            New name,ROW5@example.com,+1 555 0100,Web\r\n\
            Same,same@example.com,+1 555 0100,\r\n\
            Bad,not-an-email,,\r\n";
        let preview = upload(&web, "customers.csv", file.as_bytes().to_vec()).await;
        assert_eq!(counts(&preview), [1, 1, 1, 1]);
        // Nothing is recorded before the confirmation.
        assert_eq!(json(app.get("/api/AuditLog?actor=Ann%20Admin&entity=Customer").await, 200).await, json!([]));
        let confirm = web.post(&import_path(&preview), &[("csrf", &preview.csrf())]).await;
        assert_eq!(confirm.status, 303, "{}", confirm.body);

        let log = json(app.get("/api/AuditLog?actor=Ann%20Admin&entity=Customer").await, 200).await;
        let log = log.as_array().unwrap();
        assert_eq!(log.len(), 2, "{log:?}");
        for entry in log {
            assert_eq!(entry["Actor"], "Ann Admin");
            assert_eq!(entry["ClientAddress"], "127.0.0.1");
        }
        let updated = log.iter().find(|e| e["Action"] == "Updated").unwrap();
        assert_eq!(updated["EntityId"], row5);
        // Only what changed: the name and the services; the phone and the address stay.
        assert_eq!(updated["OldValues"], json!({"Name": "Old name", "Services": [mail]}));
        assert_eq!(updated["NewValues"], json!({"Name": "New name", "Services": [web_id]}));
        let created = log.iter().find(|e| e["Action"] == "Created").unwrap();
        let bea = customers(&app).await.into_iter().find(|c| c.name == "Bea").unwrap();
        assert_eq!(created["EntityId"], bea.id);
        assert_eq!(created["OldValues"], serde_json::Value::Null);
        assert_eq!(created["NewValues"], json!({"Name": "Bea", "Email": "bea@example.com", "CellPhone": null, "Services": [mail, web_id], "Language": null}));
        let import_keys: Vec<&String> = created["NewValues"].as_object().unwrap().keys().collect();
        assert_eq!(import_keys, api_keys, "the same view as a create through the API");
        // The GUI's audit page shows them too.
        let page = web.get("/audit?entity=Customer").await;
        assert!(page.body.contains("New name"), "{}", page.body);
    }

    async fn an_export_imports_again_as_it_is() {
        let app = TestApp::spawn().await;
        let web = signed_in_with_services(&app).await;
        for (name, email, phone, services) in [
            ("Ann, \"the\" Lee", "ann@example.com", Some("+1 555 0100"), json!([{"Id": 1}, {"Id": 2}])),
            ("Bö Ürün", "bo@example.com", None, json!([])),
            ("Cy", "cy@example.com", None, json!([{"Id": 2}])),
        ] {
            let r = app.post_json("/api/Customers", &json!({"Name": name, "Email": email, "CellPhone": phone, "Services": services})).await;
            assert_eq!(r.status(), 201);
        }
        let export = web.get("/customers/export.csv").await;
        assert_eq!(export.status, 200);
        let mut reader = csv::Reader::from_reader(export.body.as_bytes());
        assert_eq!(reader.headers().unwrap(), vec!["Name", "Email", "CellPhone", "Services"]);
        let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
        assert_eq!(rows, vec![
            vec!["Ann, \"the\" Lee".to_owned(), "ann@example.com".into(), "+1 555 0100".into(), "Mail; Web".into()],
            vec!["Bö Ürün".to_owned(), "bo@example.com".into(), "".into(), "".into()],
            vec!["Cy".to_owned(), "cy@example.com".into(), "".into(), "Web".into()],
        ]);
        let before = customers(&app).await;
        let preview = upload(&web, "customers.csv", export.body.into_bytes()).await;
        assert_eq!(counts(&preview), [0, 0, 3, 0]);
        assert_eq!(customers(&app).await, before);
    }

    async fn files_that_cannot_be_read_are_refused_with_the_reason() {
        let app = TestApp::spawn().await;
        let web = signed_in_with_services(&app).await;
        let utf16: Vec<u8> = [0xff, 0xfe].into_iter().chain("Name,Email\r\nAnn,ann@example.com\r\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        for (bytes, reason) in [
            (b"Name,Mail\r\nAnn,ann@example.com\r\n".to_vec(), "Wrong header: column 2 is &quot;Mail&quot;"),
            (b"Email\r\nann@example.com\r\n".to_vec(), "Name and Email are needed"),
            (utf16, "UTF-16"),
            (b"Name,Email\r\n".to_vec(), "no rows"),
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8".to_vec(), "The header is not UTF-8 text"),
        ] {
            let preview = upload(&web, "bad.csv", bytes).await;
            assert!(preview.body.contains("data-state=\"failed\""), "{}", preview.body);
            assert!(preview.body.contains(reason), "{reason}: {}", preview.body);
            assert!(!preview.body.contains("confirm-import"));
        }
        // No file at all, and an upload without the form's token.
        let csrf = web.get("/customers/import").await.csrf();
        let empty = web.upload("/customers/import", &csrf, "", Vec::new()).await;
        assert_eq!(empty.status, 400, "{}", empty.body);
        let forged = web.upload("/customers/import", "forged", "x.csv", b"Name,Email\r\nA,a@example.com\r\n".to_vec()).await;
        assert_eq!(forged.status, 403);
        assert!(customers(&app).await.is_empty());
    }
}
