//! Step 6: closing and reopening. A ticket is closed when it has a `ClosedTime` not followed
//! by a later `ReopenedTime`. Each close and reopen is an event customers are told about.

use herald::domain::ticket::EventKind;
use herald_client::Ticket;

use crate::tickets::at;

crate::guide! {
    /// The helper: `close(id, when)` reads the ticket, sets `ClosedTime` and writes it back
    /// (under `If-Match`, so it never overwrites someone else's edit).
    async fn close_a_ticket(herald, server) {
        let ticket = herald.tickets().create(&Ticket::new("Mail is down").starting(at(12))).await?;
        let closed = herald.tickets().close(ticket.id, at(14)).await?;
        assert!(closed.is_closed);
        assert_eq!(closed.closed_time, Some(at(14)));
        assert_eq!(closed.description, "Mail is down");
        assert_eq!(server.ticket_event_kinds(ticket.id).await, [EventKind::Created, EventKind::Closed]);
        Ok(())
    }

    /// The same by hand, as the original documentation describes it: an update that includes
    /// `ClosedTime`.
    async fn close_a_ticket_by_updating_it(herald, server) {
        let mut ticket = herald.tickets().create(&Ticket::new("VPN is down")).await?;
        ticket.closed_time = Some(at(15));
        herald.tickets().update(&ticket).await?;
        assert!(herald.tickets().get(ticket.id).await?.is_closed);
        Ok(())
    }

    /// Reopening sets a `ReopenedTime` later than the `ClosedTime`.
    async fn reopen_a_ticket(herald, server) {
        let ticket = herald.tickets().create(&Ticket::new("Web is down")).await?;
        herald.tickets().close(ticket.id, at(14)).await?;
        let reopened = herald.tickets().reopen(ticket.id, at(16)).await?;
        assert!(!reopened.is_closed);
        assert_eq!(reopened.closed_time, Some(at(14)));
        assert_eq!(reopened.reopened_time, Some(at(16)));
        assert_eq!(
            server.ticket_event_kinds(ticket.id).await,
            [EventKind::Created, EventKind::Closed, EventKind::Reopened]
        );
        Ok(())
    }

    /// Sending back a ticket exactly as read changes nothing, and is no event.
    async fn an_update_that_changes_nothing_is_no_event(herald, server) {
        let ticket = herald.tickets().create(&Ticket::new("Printer jam").starting(at(9))).await?;
        let read = herald.tickets().get(ticket.id).await?;
        herald.tickets().update(&read).await?;
        assert_eq!(server.ticket_event_kinds(ticket.id).await, [EventKind::Created]);
        Ok(())
    }
}
