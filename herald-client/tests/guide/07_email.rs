//! Step 7: email. Creating, updating, closing and reopening a ticket emails every customer
//! who follows one of its services, unless the request says `DoNotSendEmail`.

use herald_client::{Customer, Service, Ticket};

use crate::tickets::at;

/// Whether each recorded event of the ticket is to be emailed.
async fn notify_flags(server: &crate::server::TestApp, ticket: i64) -> Vec<bool> {
    let events = server.store.ticket_events(ticket).await.unwrap();
    events.into_iter().map(|e| e.notify).collect()
}

crate::guide! {
    /// By default every event is emailed to the followers.
    async fn events_are_emailed_by_default(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        herald
            .customers()
            .create(&Customer::new("Ann").with_email("ann@example.com").following(mail.id))
            .await?;
        let ticket = herald.tickets().create(&Ticket::new("Mail is down").about(mail.id)).await?;
        herald.tickets().close(ticket.id, at(14)).await?;
        assert_eq!(notify_flags(&server, ticket.id).await, [true, true]);
        Ok(())
    }

    /// For one create or update: the ticket's `DoNotSendEmail` property.
    async fn do_not_send_email_for_one_ticket(herald, server) {
        let quiet = Ticket::new("Planned maintenance").without_email();
        let ticket = herald.tickets().create(&quiet).await?;
        let mut edited = ticket.clone();
        edited.description = "Planned maintenance, extended".into();
        edited.do_not_send_email = true;
        herald.tickets().update(&edited).await?;
        edited.description = "Planned maintenance, done".into();
        edited.do_not_send_email = false;
        herald.tickets().update(&edited).await?;
        assert_eq!(notify_flags(&server, ticket.id).await, [false, false, true]);
        Ok(())
    }

    /// For every call through a resource handle: `tickets().without_email()` adds
    /// `DoNotSendEmail=true` to each request, the close and reopen helpers included.
    async fn do_not_send_email_for_a_batch_of_changes(herald, server) {
        let quiet = herald.tickets().without_email();
        let ticket = quiet.create(&Ticket::new("Test ticket")).await?;
        quiet.close(ticket.id, at(14)).await?;
        quiet.reopen(ticket.id, at(15)).await?;
        assert_eq!(notify_flags(&server, ticket.id).await, [false, false, false]);
        Ok(())
    }
}
