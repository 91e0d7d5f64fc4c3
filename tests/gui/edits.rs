//! Two people editing the same customer, service or operator: the second save changes nothing
//! and shows the values as they are now, in a real browser. The other change comes from a
//! second operator's session, from a second tab, or through the API.

use fantoccini::Locator;
use herald::domain::{EmailAddress, Name, NewOperator, Password};
use serde_json::{json, Value};

use crate::browser::{self, Browser};
use crate::flows::set_up;
use crate::web::Web;
use herald_test_support::*;

const MEANWHILE: &str = "changed by someone else meanwhile";

/// The value of the field `css`.
async fn value(b: &Browser, css: &str) -> String {
    b.wait_for(css)
        .await
        .prop("value")
        .await
        .expect("read attribute")
        .unwrap_or_default()
}

/// The entity as the API shows it.
async fn current(app: &TestApp, path: &str) -> Value {
    json(app.get(path).await, 200).await
}

herald_test_support::backend_tests! {
    async fn a_customer_saved_by_another_operator_meanwhile_is_not_overwritten() {
        let app = TestApp::spawn().await;
        let Some(b) = browser::start(&app.address).await else { return };
        set_up(&b).await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let id = app.create_customer("Bob", Some("bob@example.com"), &[mail]).await["Id"].as_i64().unwrap();
        let path = format!("/customers/{id}");
        let api = format!("/api/Customers/{id}");

        // Ann opens the form.
        b.goto(&path).await;
        b.fill("#Name", "Bob Ann").await;
        b.fill("#Email", "ann-typed@example.com").await;

        // Olga, another operator, saves the same customer from her own session.
        let new = NewOperator {
            name: Name::parse("Olga").unwrap(),
            email: EmailAddress::parse("olga@example.com").unwrap(),
            cell_phone: None,
            is_admin: false,
            password: Some(Password::parse("olga's password").unwrap()),
        };
        app.store.create_operator(&new, &herald::domain::Who::cli()).await.unwrap();
        let olga = Web::new(&app.address);
        assert_eq!(olga.sign_in("olga@example.com", "olga's password").await.status, 303);
        let form = olga.get(&path).await;
        let (csrf, version) = (form.csrf(), form.field("version"));
        let service = mail.to_string();
        let saved = olga
            .post(&path, &[("csrf", &csrf), ("version", &version), ("Name", "Bob Olga"), ("Email", "olga-typed@example.com"), ("Services[1].Id", &service)])
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let after_olga = current(&app, &api).await;
        assert_eq!(after_olga["Email"], "olga-typed@example.com");

        // Ann saves: refused, with Olga's values in the form.
        let error = b.submit("#save-customer", "#form-errors").await;
        let message = error.text().await.unwrap();
        assert!(message.contains(MEANWHILE), "{message}");
        assert_eq!(value(&b, "#Name").await, "Bob Olga");
        assert_eq!(value(&b, "#Email").await, "olga-typed@example.com");
        let ticked = b.wait_for(r#"input[name="Services[1].Id"]"#).await.is_selected().await.unwrap();
        assert!(ticked, "the services followed now are ticked");
        assert_eq!(current(&app, &api).await, after_olga, "nothing changed");
        assert_eq!(app.store.get_customer(id).await.unwrap().name, "Bob Olga");

        // Saving again, on purpose, over the current version works.
        b.fill("#Email", "ann-typed@example.com").await;
        let notice = b.submit("#save-customer", "#notice").await;
        assert_eq!(notice.text().await.unwrap(), "Customer saved.");
        let after_ann = current(&app, &api).await;
        assert_eq!(after_ann["Email"], "ann-typed@example.com");
        assert_eq!(after_ann["Name"], "Bob Olga");
        b.finish().await;
    }

    async fn a_service_saved_in_another_tab_meanwhile_is_not_overwritten() {
        let app = TestApp::spawn().await;
        let Some(b) = browser::start(&app.address).await else { return };
        set_up(&b).await;
        let id = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let path = format!("/services/{id}");
        let api = format!("/api/Services/{id}");

        // The first tab opens the form and types.
        let first = b.client.window().await.unwrap();
        b.goto(&path).await;
        b.fill("#Name", "Mail (first tab)").await;
        // A second tab saves another change.
        let second = b.client.new_window(true).await.unwrap().handle;
        b.client.switch_to_window(second).await.unwrap();
        b.goto(&path).await;
        b.fill("#Name", "Email").await;
        b.fill("#Description", "Saved in the second tab").await;
        let notice = b.submit("#save-service", "#notice").await;
        assert_eq!(notice.text().await.unwrap(), "Service saved.");
        let after_second = current(&app, &api).await;
        assert_eq!(after_second["Name"], "Email");

        // The first tab saves: refused, showing the second tab's values.
        b.client.switch_to_window(first).await.unwrap();
        let error = b.submit("#save-service", "#form-errors").await;
        assert!(error.text().await.unwrap().contains(MEANWHILE));
        assert_eq!(value(&b, "#Name").await, "Email");
        assert_eq!(value(&b, "#Description").await, "Saved in the second tab");
        assert_eq!(current(&app, &api).await, after_second, "nothing changed");
        assert_eq!(app.store.get_service(id).await.unwrap().name, "Email");

        // A delete confirmation shown before a change does not delete the changed service.
        b.goto(&format!("{path}/delete")).await;
        b.wait_for("#confirm-delete").await;
        let renamed = json!({ "Id": id, "Name": "Mail again" });
        assert_eq!(app.put_json(&api, &renamed).await.status(), 204);
        let error = b.submit("#confirm-delete", "#form-errors").await;
        assert!(error.text().await.unwrap().contains(MEANWHILE));
        assert_eq!(current(&app, &api).await["Name"], "Mail again", "not deleted");
        // Confirmed again, it is.
        let notice = b.submit("#confirm-delete", "#notice").await;
        assert!(notice.text().await.unwrap().starts_with("Service deleted."));
        assert_eq!(app.get(&api).await.status(), 404);
        b.finish().await;
    }

    async fn an_operator_changed_through_the_api_meanwhile_is_not_overwritten() {
        let app = TestApp::spawn().await;
        let Some(b) = browser::start(&app.address).await else { return };
        set_up(&b).await;
        let olga = app
            .create("/api/Operators", &json!({ "Name": "Olga", "Email": "olga@example.com", "Password": "olga's password" }))
            .await;
        let id = olga["Id"].as_i64().unwrap();
        let api = format!("/api/Operators/{id}");

        b.goto(&format!("/operators/{id}")).await;
        b.fill("#CellPhone", "+1 555 0100").await;
        b.click("#IsAdmin").await;
        // Meanwhile an API client makes her an administrator with another name.
        let changed = json!({ "Id": id, "Name": "Olga Admin", "Email": "olga@example.com", "IsAdmin": true });
        assert_eq!(app.put_json(&api, &changed).await.status(), 204);
        let after_api = current(&app, &api).await;

        let error = b.submit("#save-operator", "#form-errors").await;
        assert!(error.text().await.unwrap().contains(MEANWHILE));
        assert_eq!(value(&b, "#Name").await, "Olga Admin");
        assert_eq!(value(&b, "#CellPhone").await, "");
        assert!(b.wait_for("#IsAdmin").await.is_selected().await.unwrap(), "shown as an administrator");
        let password = b.client.find(Locator::Css("#Password")).await.unwrap();
        assert_eq!(password.attr("value").await.unwrap(), None, "no password is shown");
        assert_eq!(current(&app, &api).await, after_api, "nothing changed");
        let stored = app.store.get_operator(id).await.unwrap();
        assert_eq!((stored.name.as_str(), stored.cell_phone), ("Olga Admin", None));
        b.finish().await;
    }
}
