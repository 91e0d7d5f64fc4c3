//! The audit log filled through the GUI's forms (plain HTTP, as a browser posts them), and its
//! page for administrators.

use futures::TryStreamExt;
use herald_test_support::*;

use crate::web::Web;

herald_test_support::backend_tests! {
    async fn gui_changes_are_recorded_and_shown_to_administrators() {
        let app = TestApp::spawn().await;
        let web = Web::new(&app.address);
        let password = "gui-Secret-Password-4242";
        assert_eq!(web.setup("Ada Admin", "ada@example.com", password).await.status, 303);
        let created = web.submit("/services/new", "/services", &[("Name", "Mail"), ("Description", "SMTP")]).await;
        assert_eq!(created.status, 303, "{}", created.body);
        // A refused form (the name is taken) records nothing.
        let refused = web.submit("/services/new", "/services", &[("Name", "mail")]).await;
        assert_eq!(refused.status, 400);
        let generated = web.submit("/settings", "/settings/api-key", &[("action", "generate")]).await;
        assert_eq!(generated.status, 200);
        let second = "gui-Another-Password-777";
        let changed = web.submit("/account/password", "/account/password", &[("current", password), ("new", second), ("confirm", second)]).await;
        assert_eq!(changed.status, 303, "{}", changed.body);

        let page = web.get("/audit").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Audit log"));
        for expected in ["Service 1", "Operator 1", "Settings", "Ada Admin", "127.0.0.1", "SMTP", "changed"] {
            assert!(page.body.contains(expected), "{expected} in {}", page.body);
        }
        let services = web.get("/audit?entity=Service&actor=ada+admin").await;
        assert_eq!(services.body.matches("<td data-label=\"Action\">").count(), 1, "{}", services.body);
        let nobody = web.get("/audit?actor=API+key").await;
        assert!(nobody.body.contains("No changes recorded"));
        let bad = web.get("/audit?from=yesterday").await;
        assert!(bad.body.contains("is not a date and time"), "{}", bad.body);

        // The generated key replaced the tests' one: the rows are read from the store.
        let log: Vec<herald::domain::audit::AuditEntry> = app.store
            .list_audit(Default::default(), herald::store::AuditOrder::Oldest, Default::default())
            .try_collect().await.unwrap();
        let gui: Vec<_> = log.iter().filter(|e| e.actor == "Ada Admin").collect();
        assert_eq!(gui.len(), 4, "{log:?}");
        for e in &gui {
            assert_eq!(e.client_address.as_deref(), Some("127.0.0.1"));
            assert_eq!(e.actor_operator_id, Some(1));
        }
        let stored = format!("{log:?}");
        for secret in [password, second] {
            assert!(!stored.contains(secret), "{stored}");
        }
        // Operators who are not administrators do not see it.
        let olga = herald::domain::NewOperator {
            name: herald::domain::Name::parse("Olga").unwrap(),
            email: herald::domain::EmailAddress::parse("olga@example.com").unwrap(),
            cell_phone: None,
            is_admin: false,
            password: Some(herald::domain::Password::parse("olga-Password-123").unwrap()),
        };
        app.store.create_operator(&olga, &herald::domain::Who::cli()).await.unwrap();
        let other = Web::new(&app.address);
        assert_eq!(other.sign_in("olga@example.com", "olga-Password-123").await.status, 303);
        assert_eq!(other.get("/audit").await.status, 403);
    }
}
