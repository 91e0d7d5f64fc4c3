//! Saving the Settings page is all or nothing: a database error on the last of the settings
//! (a trigger refuses it) leaves every setting as it was; once the database takes it, all are
//! saved together.

use herald_test_support::*;

use crate::web::Web;

/// Makes the database refuse to store `retry_window` (the last setting the page saves).
async fn refuse_retry_window(app: &TestApp) {
    let statements: &[&str] = match current_backend() {
        Backend::Sqlite => &["CREATE TRIGGER refuse_retry_window BEFORE INSERT ON settings \
             WHEN NEW.name = 'retry_window' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_retry_window() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.name = 'retry_window' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER refuse_retry_window BEFORE INSERT ON settings \
             FOR EACH ROW EXECUTE FUNCTION refuse_retry_window()",
        ],
    };
    for sql in statements {
        sqlx::query(sql).execute(app.store.writer()).await.unwrap();
    }
}

async fn allow_retry_window(app: &TestApp) {
    sqlx::query(&format!(
        "DROP TRIGGER refuse_retry_window{}",
        if current_backend() == Backend::Postgres {
            " ON settings"
        } else {
            ""
        }
    ))
    .execute(app.store.writer())
    .await
    .unwrap();
}

const FORM: &[(&str, &str)] = &[
    ("smtp_url", "smtp://mail.example.com:25"),
    ("mail_from", "Status <status@example.com>"),
    ("public_url", "https://status.example.com"),
    ("xml_namespace", "New.Models"),
    ("retry_window", "90m"),
];

herald_test_support::backend_tests! {
    async fn saving_the_settings_page_is_all_or_nothing() {
        let app = TestApp::spawn().await;
        app.store.set_setting("xml_namespace", Some("Old.Models")).await.unwrap();
        let web = Web::new(&app.address);
        assert_eq!(web.setup("Ann Admin", "ann@example.com", "correct horse battery").await.status, 303);
        let before = app.store.all_settings().await.unwrap();

        refuse_retry_window(&app).await;
        let refused = web.submit("/settings", "/settings", FORM).await;
        assert!(refused.status >= 500, "{} {}", refused.status, refused.body);
        assert_eq!(app.store.all_settings().await.unwrap(), before, "nothing was saved");
        assert_eq!(app.store.get_setting("xml_namespace").await.unwrap().as_deref(), Some("Old.Models"));

        allow_retry_window(&app).await;
        let saved = web.submit("/settings", "/settings", FORM).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        for (name, value) in FORM {
            assert_eq!(app.store.get_setting(name).await.unwrap().as_deref(), Some(*value), "{name}");
        }
        let live = app.settings.get();
        assert_eq!(live.retry_window, std::time::Duration::from_secs(90 * 60));
        assert_eq!(live.xml_namespace, "New.Models");
        app.stop().await;
    }

    async fn a_value_that_fails_its_check_saves_none_of_the_others() {
        let app = TestApp::spawn().await;
        let web = Web::new(&app.address);
        assert_eq!(web.setup("Ann Admin", "ann@example.com", "correct horse battery").await.status, 303);
        let before = app.store.all_settings().await.unwrap();
        let mut form = FORM.to_vec();
        form[4] = ("retry_window", "soon");
        let page = web.submit("/settings", "/settings", &form).await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.body.contains("Give a duration such as 24h, 90m or 30s"), "{}", page.body);
        assert_eq!(app.store.all_settings().await.unwrap(), before, "nothing was saved");
        app.stop().await;
    }
}
