//! Step 12: partial updates. `patch` sends a JSON merge patch (RFC 7396): only the named
//! properties change, `null` erases one, and `patch_if_match` refuses a stale version.

use herald_client::{Customer, Error, Service, Ticket};
use serde_json::json;

crate::guide! {
    async fn patch_changes_only_what_it_names(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let ann = herald
            .customers()
            .create(&Customer::new("Ann").with_email("ann@example.com").following(mail.id))
            .await?;

        let patched = herald.customers().patch(ann.id, &json!({"CellPhone": "+1 555 0100"})).await?;
        assert_eq!(patched.cell_phone.as_deref(), Some("+1 555 0100"));
        assert_eq!(patched.email.as_deref(), Some("ann@example.com"), "kept");
        assert_eq!(patched.services.len(), 1, "kept");

        let erased = herald.customers().patch(ann.id, &json!({"Email": null})).await?;
        assert_eq!(erased.email, None);
        assert_eq!(herald.customers().get(ann.id).await?, erased);

        // A ticket closes by patching its ClosedTime; the other fields stay.
        let ticket = herald.tickets().create(&Ticket::new("Mail is down").about(mail.id)).await?;
        let closed = herald.tickets().patch(ticket.id, &json!({"ClosedTime": "2001-01-01T12:00:00Z"})).await?;
        assert!(closed.is_closed);
        assert_eq!(closed.description, "Mail is down");
        Ok(())
    }

    async fn patch_only_if_unchanged(herald, server) {
        let created = herald.services().create(&Service::new("Web")).await?;
        let read = herald.services().get_tagged(created.id).await?;
        herald.services().patch(created.id, &json!({"Description": "theirs"})).await?;
        match herald.services().patch_if_match(created.id, &json!({"Description": "mine"}), &read.etag).await {
            Err(Error::PreconditionFailed(_)) => {}
            other => panic!("expected 412, got {other:?}"),
        }
        let fresh = herald.services().get_tagged(created.id).await?;
        assert_eq!(fresh.entity.description.as_deref(), Some("theirs"));
        let mine = herald.services().patch_if_match(created.id, &json!({"Description": "mine"}), &fresh.etag).await?;
        assert_eq!(mine.description.as_deref(), Some("mine"));

        // A patch naming a read-only property is a 400 naming it.
        match herald.tickets().patch(1, &json!({"IsClosed": true})).await {
            Err(Error::BadRequest { model_state, .. }) => assert!(model_state.contains_key("ticket.IsClosed")),
            other => panic!("expected 400, got {other:?}"),
        }
        Ok(())
    }
}
