//! The customer form's `Language`: set, shown again, refused when it is not a BCP 47 tag
//! (nothing changed), and erased by leaving it empty; over the GUI's HTTP forms.

use crate::web::Web;
use herald_test_support::*;

#[tokio::test]
async fn the_customer_form_sets_shows_refuses_and_erases_the_language() {
    let app = TestApp::spawn().await;
    let web = Web::new(&app.address);
    assert_eq!(
        web.setup("Ada Admin", "ada@example.com", "correct horse battery")
            .await
            .status,
        303
    );
    let made = web
        .submit(
            "/customers/new",
            "/customers",
            &[
                ("Name", "Jörg"),
                ("Email", "j@example.com"),
                ("Language", "de-at"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let list = json(app.get("/api/Customers").await, 200).await;
    let id = list[0]["Id"].as_i64().unwrap();
    assert_eq!(list[0]["Language"], "de-AT");

    let path = format!("/customers/{id}");
    let form = web.get(&path).await;
    assert_eq!(form.field("Language"), "de-AT");
    let version = form.field("version");
    let bad = web
        .submit(
            &path,
            &path,
            &[
                ("version", &version),
                ("Name", "Renamed"),
                ("Email", "j@example.com"),
                ("Language", "German"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("is not a BCP 47 language tag"),
        "{}",
        bad.body
    );
    let read = json(app.get(&format!("/api/Customers/{id}")).await, 200).await;
    assert_eq!(
        (read["Name"].as_str(), read["Language"].as_str()),
        (Some("Jörg"), Some("de-AT"))
    );

    let erased = web
        .submit(
            &path,
            &path,
            &[
                ("version", &version),
                ("Name", "Jörg"),
                ("Email", "j@example.com"),
                ("Language", ""),
            ],
        )
        .await;
    assert_eq!(erased.status, 303, "{}", erased.body);
    let read = json(app.get(&format!("/api/Customers/{id}")).await, 200).await;
    assert_eq!(read["Language"], serde_json::Value::Null);
}
