//! Step 3: customers, who follow services and get emailed about their tickets.

use herald_client::{Customer, Service};

crate::guide! {
    /// A customer follows services by `Id`; the answer carries the full services.
    async fn create_a_customer_who_follows_services(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let web = herald.services().create(&Service::new("Web")).await?;
        let ann = herald
            .customers()
            .create(
                &Customer::new("Ann")
                    .with_email("ann@example.com")
                    .with_cell_phone("+47 555 01 234")
                    .following(mail.id)
                    .following(web.id),
            )
            .await?;
        assert!(ann.id > 0);
        assert_eq!(ann.email.as_deref(), Some("ann@example.com"));
        assert_eq!(ann.services, vec![mail, web]);
        assert_eq!(herald.customers().get(ann.id).await?, ann);
        Ok(())
    }

    /// As the original documentation warns: to change one property, send them all. Here the
    /// email changes, the cell phone is kept by sending it again, and the services are
    /// replaced by the list sent.
    async fn update_a_customer_sending_everything_to_keep(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let web = herald.services().create(&Service::new("Web")).await?;
        let mut bob = herald
            .customers()
            .create(&Customer::new("Bob").with_cell_phone("555-0100").following(mail.id))
            .await?;
        bob.email = Some("bob@example.com".into());
        bob.services = vec![Service::by_id(web.id)];
        herald.customers().update(&bob).await?;
        let read = herald.customers().get(bob.id).await?;
        assert_eq!(read.email.as_deref(), Some("bob@example.com"));
        assert_eq!(read.cell_phone.as_deref(), Some("555-0100"));
        assert_eq!(read.services, vec![web]);

        // Leaving the cell phone out erases it.
        let mut without_phone = read.clone();
        without_phone.cell_phone = None;
        herald.customers().update(&without_phone).await?;
        assert_eq!(herald.customers().get(bob.id).await?.cell_phone, None);
        Ok(())
    }

    /// `Language` (a property Herald adds) is the language of the customer's messages, a BCP 47
    /// tag. The client sends it only when set, so an update that leaves it `None` keeps it.
    async fn a_customer_gets_messages_in_their_language(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let jorg = herald
            .customers()
            .create(
                &Customer::new("Jörg")
                    .with_email("joerg@example.com")
                    .with_language("de-ch")
                    .following(mail.id),
            )
            .await?;
        assert_eq!(jorg.language.as_deref(), Some("de-CH"), "canonical case");
        let mut renamed = jorg.clone();
        renamed.name = "Jörg M".into();
        renamed.language = None;
        herald.customers().update(&renamed).await?;
        assert_eq!(herald.customers().get(jorg.id).await?.language.as_deref(), Some("de-CH"));
        // Not a language tag: refused, nothing changed.
        let refused = herald
            .customers()
            .create(&Customer::new("Bob").with_language("Klingon please"))
            .await;
        let Err(herald_client::Error::BadRequest { model_state, .. }) = refused else {
            panic!("refused: {refused:?}");
        };
        assert!(model_state.contains_key("customer.Language"), "{model_state:?}");
        Ok(())
    }

    /// `OptedOutTime` says when the customer's address opted out (their one-click unsubscribe
    /// or personal page). It is read-only: the client never sends it, and an update with every
    /// service, as above, does not undo the opt-out, which belongs to the address.
    async fn opted_out_customers_stay_opted_out_through_an_update(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let ann = herald
            .customers()
            .create(&Customer::new("Ann").with_email("ann@example.com").following(mail.id))
            .await?;
        assert_eq!(ann.opted_out_time, None);
        server
            .store
            .opt_out_email("ann@example.com", herald::domain::Timestamp::now())
            .await
            .unwrap();
        let read = herald.customers().get(ann.id).await?;
        let since = read.opted_out_time.expect("opted out");
        let mut put = read.clone();
        put.opted_out_time = None;
        put.services = vec![Service::by_id(mail.id)];
        herald.customers().update(&put).await?;
        let after = herald.customers().get(ann.id).await?;
        assert_eq!(after.opted_out_time, Some(since));
        assert_eq!(after.services, vec![mail]);
        Ok(())
    }

    async fn delete_a_customer(herald, server) {
        let cy = herald.customers().create(&Customer::new("Cy")).await?;
        assert_eq!(herald.customers().delete(cy.id).await?.name, "Cy");
        assert!(herald.customers().list().await?.is_empty());
        Ok(())
    }
}
