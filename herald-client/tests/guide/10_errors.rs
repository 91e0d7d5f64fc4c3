//! Step 10: errors. The server's answers become [`Error`] variants; a 400 carries its
//! `ModelState`, the messages per field, keyed `<entity>.<Field>`.

use herald_client::{Customer, Error, Service, Ticket};

use crate::tickets::at;

crate::guide! {
    /// Validation names each bad field; nothing is stored.
    async fn invalid_input_names_the_field(herald, server) {
        let mut ticket = Ticket::new("Mail is down").starting(at(12));
        ticket.end_time = Some(at(11));
        let error = herald.tickets().create(&ticket).await.unwrap_err();
        let Error::BadRequest { message, model_state } = &error else {
            panic!("expected 400, got {error:?}");
        };
        assert_eq!(message, "The request is invalid.");
        assert_eq!(model_state.keys().collect::<Vec<_>>(), ["ticket.EndTime"]);
        assert!(!error.field_errors("ticket.EndTime")[0].is_empty());
        assert!(herald.tickets().list().await?.is_empty());
        Ok(())
    }

    /// A required property left empty, and a reference to a service that does not exist.
    async fn missing_and_unknown_references(herald, server) {
        let error = herald.services().create(&Service::new("")).await.unwrap_err();
        assert_eq!(error.status(), Some(400));
        assert!(!error.field_errors("service.Name").is_empty(), "{error:?}");

        let error = herald.customers().create(&Customer::new("Ann").following(999)).await.unwrap_err();
        assert_eq!(error.status(), Some(400));
        let Error::BadRequest { model_state, .. } = &error else { unreachable!() };
        assert!(model_state.keys().any(|k| k.starts_with("customer.Services")), "{error:?}");
        Ok(())
    }

    /// Names of services are unique (ignoring case).
    async fn duplicate_names_are_refused(herald, server) {
        herald.services().create(&Service::new("Mail")).await?;
        let error = herald.services().create(&Service::new("MAIL")).await.unwrap_err();
        assert!(!error.field_errors("service.Name").is_empty(), "{error:?}");
        assert_eq!(herald.services().list().await?.len(), 1);
        Ok(())
    }

    async fn a_missing_entity_is_not_found(herald, server) {
        match herald.customers().get(41).await {
            Err(Error::NotFound(message)) => assert!(message.contains("41"), "{message}"),
            other => panic!("expected 404, got {other:?}"),
        }
        let ghost = Service { id: 41, name: "Ghost".into(), description: None, is_public: None };
        assert_eq!(herald.services().update(&ghost).await.unwrap_err().status(), Some(404));
        assert_eq!(herald.tickets().delete(41).await.unwrap_err().status(), Some(404));
        Ok(())
    }
}
