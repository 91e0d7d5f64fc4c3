//! Planned work in the GUI (plain HTTP): the ticket page names it and lists the reminders
//! planned; the Settings page refuses a `maintenance_reminders` value that does not parse.

use herald::config::Key;
use herald::domain::Timestamp;
use herald_test_support::*;
use serde_json::json;

use crate::web::Web;

herald_test_support::backend_tests! {
    async fn the_ticket_page_names_planned_work_and_its_reminders() {
        let app = TestApp::builder().setting(Key::MaintenanceReminders, "24h,1h").spawn().await;
        let web = Web::new(&app.address);
        assert_eq!(web.setup("Ann Admin", "ann@example.com", "correct horse battery").await.status, 303);
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let start = Timestamp::now().plus(std::time::Duration::from_secs(48 * 3600));
        let ticket = app
            .create(
                "/api/Tickets",
                &json!({"Description": "Database upgrade", "Services": [{"Id": mail}],
                        "StartTime": start.to_chrono().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
            )
            .await;
        let page = web.get(&format!("/tickets/{}", ticket["Id"])).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Planned maintenance</span>"), "{}", page.body);
        assert!(page.body.contains("Reminder to the followers, 24 hours before the start"), "{}", page.body);
        assert!(page.body.contains("Reminder to the followers, 1 hour before the start"), "{}", page.body);
        let list = web.get("/tickets").await;
        assert!(list.body.contains("Planned maintenance"), "{}", list.body);
        assert!(!list.body.contains("disruption"), "{}", list.body);
        app.stop().await;
    }

    async fn the_settings_page_refuses_bad_reminder_lead_times() {
        let app = TestApp::spawn().await;
        let web = Web::new(&app.address);
        assert_eq!(web.setup("Ann Admin", "ann@example.com", "correct horse battery").await.status, 303);
        let before = app.store.all_settings().await.unwrap();
        for bad in ["-1h", "soon"] {
            let page = web.submit("/settings", "/settings", &[("maintenance_reminders", bad)]).await;
            assert_eq!(page.status, 400, "{}", page.body);
            assert!(page.body.contains("Give lead times such as 24h,1h"), "{}", page.body);
            assert_eq!(app.store.all_settings().await.unwrap(), before, "nothing was saved");
        }
        let saved = web.submit("/settings", "/settings", &[("maintenance_reminders", "2h,90s")]).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let live = app.settings.get();
        assert_eq!(
            live.maintenance_reminders,
            [std::time::Duration::from_secs(7200), std::time::Duration::from_secs(90)]
        );
        app.stop().await;
    }
}
