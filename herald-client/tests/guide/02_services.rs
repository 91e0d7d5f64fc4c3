//! Step 2: services, the things customers follow and tickets are about. Every resource has
//! the same five operations; services show them most simply.

use herald_client::{Error, Service};

crate::guide! {
    /// Create: send the entity without an `Id`; the server answers with it as stored.
    async fn create_a_service(herald, server) {
        let mail = herald
            .services()
            .create(&Service::new("Mail").with_description("IMAP, SMTP and webmail"))
            .await?;
        assert!(mail.id > 0);
        assert_eq!(mail.name, "Mail");
        assert_eq!(mail.description.as_deref(), Some("IMAP, SMTP and webmail"));
        Ok(())
    }

    /// List: every service, ordered by `Id`.
    async fn list_services(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let web = herald.services().create(&Service::new("Web")).await?;
        let all = herald.services().list().await?;
        assert_eq!(all, vec![mail, web]);
        Ok(())
    }

    /// Get: one service by `Id`.
    async fn get_a_service(herald, server) {
        let created = herald.services().create(&Service::new("VPN")).await?;
        let read = herald.services().get(created.id).await?;
        assert_eq!(read, created);
        Ok(())
    }

    /// Update replaces the whole entity: read it, change it, send it all back. A property
    /// left out (here the description, set to `None`) is erased.
    async fn update_a_service(herald, server) {
        let mut mail = herald
            .services()
            .create(&Service::new("Mail").with_description("old"))
            .await?;
        mail.name = "Email".into();
        mail.description = None;
        herald.services().update(&mail).await?;
        let read = herald.services().get(mail.id).await?;
        assert_eq!(read.name, "Email");
        assert_eq!(read.description, None);
        Ok(())
    }

    /// `update_returning` sends `Prefer: return=representation` and gets the stored entity
    /// back in the same round trip.
    async fn update_and_get_the_result(herald, server) {
        let mut web = herald.services().create(&Service::new("Web")).await?;
        web.description = Some("Public website".into());
        let stored = herald.services().update_returning(&web).await?;
        assert_eq!(stored, web);
        Ok(())
    }

    /// `IsPublic` (a property Herald adds) says whether the public status page shows the
    /// service; it is `true` unless set. An update that leaves it out (`None`, as a client of
    /// the original product does) keeps what is stored.
    async fn keep_a_service_off_the_status_page(herald, server) {
        let made = herald.services().create(&Service::new("Billing")).await?;
        assert_eq!(made.is_public, Some(true));
        let internal = herald
            .services()
            .create(&Service::new("Backups").public(false))
            .await?;
        assert_eq!(internal.is_public, Some(false));
        let mut renamed = Service::new("Nightly backups");
        renamed.id = internal.id;
        herald.services().update(&renamed).await?;
        let read = herald.services().get(internal.id).await?;
        assert_eq!(read.name, "Nightly backups");
        assert_eq!(read.is_public, Some(false), "omitted: kept");
        Ok(())
    }

    /// Delete answers with the entity as it was; afterwards it is [`Error::NotFound`].
    async fn delete_a_service(herald, server) {
        let fax = herald.services().create(&Service::new("Fax")).await?;
        let deleted = herald.services().delete(fax.id).await?;
        assert_eq!(deleted, fax);
        assert!(matches!(herald.services().get(fax.id).await, Err(Error::NotFound(_))));
        assert!(herald.services().list().await?.is_empty());
        Ok(())
    }
}
