//! The CSV pages in real headless Chromium: a file with good and bad rows chosen in the upload
//! form, the preview (to create, to update, refused with the reason), the confirmation and its
//! result; the export downloaded by the browser, holding every customer.

use std::time::Duration;

use serde_json::json;

use crate::browser::{self, Browser};
use crate::flows::set_up;
use herald_test_support::*;

/// The text of the preview's row for a line of the file.
async fn row(b: &Browser, line: i64) -> String {
    b.text(&format!("#line-{line}")).await
}

async fn import_in_the_browser(b: &Browser, app: &TestApp, file: &std::path::Path) {
    b.goto("/customers").await;
    b.click("#import-customers").await;
    let input = b.wait_for("#file").await;
    input
        .send_keys(file.to_str().unwrap())
        .await
        .expect("choose the file");
    // The preview, once the file has been read (the page reloads itself meanwhile).
    b.submit("#upload-csv", "#import-state").await;
    b.wait_for("#confirm-import").await;
    assert_eq!(b.text("#count-create strong").await, "2");
    assert_eq!(b.text("#count-update strong").await, "1");
    assert_eq!(b.text("#count-unchanged strong").await, "0");
    assert_eq!(b.text("#count-refused strong").await, "2");
    // Each row with what it would do, the refused ones with their reason.
    assert!(row(b, 2).await.contains("create"), "{}", row(b, 2).await);
    assert!(row(b, 3).await.contains("update"), "{}", row(b, 3).await);
    let bad_email = row(b, 4).await;
    assert!(
        bad_email.contains("refused") && bad_email.contains("Email"),
        "{bad_email}"
    );
    let bad_service = row(b, 5).await;
    assert!(
        bad_service.contains("no service named \"Nope\""),
        "{bad_service}"
    );
    assert_eq!(
        app.get("/api/Customers")
            .await
            .json::<Vec<serde_json::Value>>()
            .await
            .unwrap()
            .len(),
        1,
        "nothing before the confirmation"
    );

    b.submit("#confirm-import", "#import-applied").await;
    assert_eq!(
        b.text("#import-applied").await,
        "Imported: 2 created, 1 updated."
    );
    assert!(
        b.client
            .find(fantoccini::Locator::Css("#confirm-import"))
            .await
            .is_err(),
        "confirmed once"
    );
}

#[tokio::test]
async fn import_and_export_customers_in_a_browser() {
    let app = TestApp::spawn().await;
    let Some(b) = browser::start(&app.address).await else {
        return;
    };
    set_up(&b).await;
    for name in ["Mail", "Web"] {
        assert_eq!(
            app.post_json("/api/Services", &json!({"Name": name}))
                .await
                .status(),
            201
        );
    }
    let r = app
        .post_json(
            "/api/Customers",
            &json!({"Name": "Old name", "Email": "lee@example.com"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("customers.csv");
    std::fs::write(
        &file,
        "Name,Email,CellPhone,Services\r\n\
         Bea,bea@example.com,+44 20 7946 0000,Mail; Web\r\n\
         Lee,LEE@example.com,,Web\r\n\
         Cy,not-an-email,,\r\n\
         Di,di@example.com,,Nope\r\n\
         \"Ed, Jr.\",ed@example.com,,\r\n",
    )
    .unwrap();
    import_in_the_browser(&b, &app, &file).await;
    let customers: Vec<serde_json::Value> = app.get("/api/Customers").await.json().await.unwrap();
    let names: Vec<&str> = customers
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lee", "Bea", "Ed, Jr."]);

    // The export, as the browser downloads it: every customer with its services.
    b.goto("/customers").await;
    b.click("#export-customers").await;
    let exported = b.downloads().join("customers.csv");
    let done = poll_until(Duration::from_secs(20), || async {
        exported.is_file()
            && !std::fs::read_dir(b.downloads()).unwrap().any(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".crdownload")
            })
    })
    .await;
    let names: Vec<_> = std::fs::read_dir(b.downloads())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(done, "no customers.csv downloaded: {names:?}");
    let mut reader = csv::Reader::from_path(&exported).unwrap();
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["Lee", "lee@example.com", "", "Web"],
            ["Bea", "bea@example.com", "+44 20 7946 0000", "Mail; Web"],
            ["Ed, Jr.", "ed@example.com", "", ""],
        ]
    );
    b.finish().await;
}
