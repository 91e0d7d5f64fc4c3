//! What the operator GUI sets for the public pages: the settings `status_page`,
//! `organisation_name` and `self_subscription` on the Settings page (bad values refused), and
//! the service form's `IsPublic` checkbox (ticked on a new form; unticking keeps a service off
//! the public pages).

use herald_test_support::*;

use crate::web::Web;

async fn admin(app: &TestApp) -> Web {
    let web = Web::new(&app.address);
    assert_eq!(
        web.setup("Ann Admin", "ann@example.com", "correct horse battery")
            .await
            .status,
        303
    );
    web
}

herald_test_support::backend_tests! {
    async fn the_public_settings_are_on_the_settings_page() {
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        let page = web.get("/settings").await;
        for name in ["status_page", "organisation_name", "self_subscription"] {
            assert!(page.body.contains(&format!("id=\"setting-{name}\"")), "{name}");
        }
        let live = app.settings.get();
        assert!(live.status_page && !live.self_subscription && live.organisation_name.is_none());

        let refused = web.submit("/settings", "/settings", &[("status_page", "sometimes")]).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains("is neither on nor off"), "{}", refused.body);
        assert_eq!(app.store.get_setting("status_page").await.unwrap(), None, "nothing saved");

        let saved = web.submit("/settings", "/settings", &[
            ("status_page", "off"),
            ("organisation_name", "Acme Hosting"),
            ("self_subscription", "on"),
        ]).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let live = app.settings.get();
        assert!(!live.status_page && live.self_subscription);
        assert_eq!(live.organisation_name.as_deref(), Some("Acme Hosting"));
        app.stop().await;
    }

    async fn the_service_form_sets_is_public() {
        let app = TestApp::spawn().await;
        let web = admin(&app).await;
        let new = web.get("/services/new").await;
        assert!(new.body.contains(r#"name="IsPublic" value="true" id="IsPublic" checked"#), "ticked on a new form");

        let created = web.submit("/services/new", "/services", &[("Name", "Backups")]).await;
        assert_eq!(created.status, 303, "{}", created.body);
        assert!(!app.store.get_service(1).await.unwrap().is_public, "left unticked: private");
        let list = web.get("/services").await;
        assert!(list.body.contains(">Private</span>"), "{}", list.body);

        let edit = web.get("/services/1").await;
        assert!(!edit.body.contains(r#"id="IsPublic" checked"#), "the stored value shows");
        let saved = web.submit("/services/1", "/services/1", &[("Name", "Backups"), ("IsPublic", "true")]).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert!(app.store.get_service(1).await.unwrap().is_public);
        app.stop().await;
    }
}
