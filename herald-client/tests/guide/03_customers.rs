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

    async fn delete_a_customer(herald, server) {
        let cy = herald.customers().create(&Customer::new("Cy")).await?;
        assert_eq!(herald.customers().delete(cy.id).await?.name, "Cy");
        assert!(herald.customers().list().await?.is_empty());
        Ok(())
    }
}
