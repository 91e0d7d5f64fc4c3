//! The `--templates` override folder: an override replaces its built-in in the messages Herald
//! really sends (read back from the SMTP server on loopback); a broken override is named with its
//! file and line on the Settings page, and the built-in goes out instead.

use std::time::Duration;

use herald::config::Key;

use crate::web::Web;
use herald_test_support::*;

const WAIT: Duration = Duration::from_secs(30);

fn write(dir: &std::path::Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn an_override_changes_the_footer_and_a_broken_one_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "email/en/_footer.txt",
        "-- \nAcme Hosting sends this because you follow {{ m.services }}.\n{% if links %}Manage: {{ links.personal }}{% endif %}",
    );
    // Line 3 names a value no message has.
    write(
        dir.path(),
        "email/en/closed.txt",
        "{% extends \"./layout.txt\" %}\n{% block intro %}Fixed.\n{{ m.no_such_value }}{% endblock %}",
    );
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .smtp(&smtp)
        .setting(Key::Templates, dir.path().display().to_string())
        .delivery(fast_delivery())
        .spawn()
        .await;
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    app.create_customer("Ann", Some("ann@example.com"), &[mail])
        .await;
    let ticket = app.create_ticket("Mail is down", &[mail]).await["Id"]
        .as_i64()
        .unwrap();
    let created = smtp.wait_for(1, WAIT).await;
    let text = created[0].parse().body_text(0).unwrap().into_owned();
    assert!(
        text.contains("Acme Hosting sends this because you follow Mail."),
        "{text}"
    );
    assert!(text.contains("Manage: http"), "{text}");
    assert!(!text.contains("You receive this email"), "{text}");
    // The HTML footer has no override: still the built-in.
    let html = created[0].parse().body_html(0).unwrap().into_owned();
    assert!(
        html.contains("You receive this email because you follow Mail."),
        "{html}"
    );

    let r = app
        .put_json(
            &format!("/api/Tickets/{ticket}"),
            &serde_json::json!({"Id": ticket, "Description": "Mail is down", "ServiceIds": [mail], "ClosedTime": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    let got = smtp.wait_for(2, WAIT).await;
    let text = got[1].parse().body_text(0).unwrap().into_owned();
    assert!(
        text.contains("is resolved"),
        "the built-in closed.txt: {text}"
    );
    assert!(!text.contains("Fixed."), "{text}");
    assert!(
        text.contains("Acme Hosting sends this"),
        "the valid override still applies: {text}"
    );

    let web = Web::new(&app.address);
    assert_eq!(
        web.setup("Ada Admin", "ada@example.com", "correct horse battery")
            .await
            .status,
        303
    );
    let page = web.get("/settings").await;
    assert_eq!(page.status, 200);
    let closed = dir.path().join("email/en/closed.txt");
    assert!(
        page.body
            .contains(&format!("{}, line 3: ", closed.display())),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("no_such_value") || page.body.contains("undefined"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("_footer.txt, line"),
        "the valid override is not reported"
    );
}

#[tokio::test]
async fn a_templates_folder_that_does_not_exist_stops_the_start() {
    let config = test_config("sqlite::memory:").with(Key::Templates, "/no/such/templates");
    let e = herald::startup::Application::build(config)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("--templates"), "{e}");
    assert!(e.to_string().contains("/no/such/templates"), "{e}");
}
