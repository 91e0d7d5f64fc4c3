//! Step 13: the audit log. Every change, through the API, the GUI or the command line, is
//! recorded: which entity, what was done, who did it, when, from where, and the changed
//! properties before and after. `audit_log` reads it, oldest first, with filters and paging.

use herald_client::{AuditFilter, Error, Page, Service};
use serde_json::json;

crate::guide! {
    /// Who changed this service, and what was it before?
    async fn who_changed_what(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        herald.services().update(&Service { description: Some("SMTP".into()), ..mail.clone() }).await?;
        herald.services().create(&Service::new("Web")).await?;

        let history = herald.audit_log(&AuditFilter::of("Service", mail.id)).await?;
        assert_eq!(history.len(), 2);
        let update = &history[1];
        assert_eq!((update.action.as_str(), update.actor.as_str()), ("Updated", "API key"));
        assert_eq!(update.client_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(update.old_values, Some(json!({"Description": null})));
        assert_eq!(update.new_values, Some(json!({"Description": "SMTP"})));

        // Filters combine; paging reads a window.
        let by_key = AuditFilter { entity: Some("service".into()), ..Default::default() }.by("api key");
        assert_eq!(herald.audit_log(&by_key).await?.len(), 3);
        let second = herald.audit_log(&by_key.clone().page(Page::first(1).skipping(1))).await?;
        assert_eq!(second, vec![history[1].clone()]);
        let none = AuditFilter::default().by("someone else");
        assert!(herald.audit_log(&none).await?.is_empty());
        let window = by_key.between(update.time, update.time + chrono::Duration::microseconds(1));
        assert_eq!(herald.audit_log(&window).await?, vec![update.clone()]);

        // A filter that cannot be read is a 400 naming it.
        let bad = AuditFilter { entity: Some("Spaceship".into()), ..Default::default() };
        match herald.audit_log(&bad).await {
            Err(e) => assert_eq!(e.status(), Some(400)),
            Ok(list) => panic!("expected a 400, got {list:?}"),
        }
        Ok::<(), Error>(())
    }
}
