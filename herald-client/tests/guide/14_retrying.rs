//! Step 14: retrying a create. `create_idempotent` sends an `Idempotency-Key`: a retry with
//! the same key gets the first answer and creates nothing.

use herald_client::Service;

crate::guide! {
    async fn retry_a_create_safely(herald, server) {
        // After a timeout the client cannot know whether the create happened: retrying with
        // the same Idempotency-Key is safe.
        let first = herald.services().create_idempotent(&Service::new("Mail"), "mail-2001-01-01").await?;
        let retry = herald.services().create_idempotent(&Service::new("Mail"), "mail-2001-01-01").await?;
        assert_eq!(retry, first);
        assert_eq!(herald.services().list().await?.len(), 1);
        match herald.services().create_idempotent(&Service::new("Web"), "mail-2001-01-01").await {
            Err(e) => assert_eq!(e.status(), Some(422)),
            Ok(s) => panic!("expected 422, created {s:?}"),
        }
        Ok(())
    }
}
