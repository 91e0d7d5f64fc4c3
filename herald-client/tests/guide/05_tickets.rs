//! Step 5: tickets, the disruptions and planned work that customers are told about.
//! All times are UTC (`chrono::DateTime<Utc>`).

use chrono::{DateTime, TimeZone, Utc};
use herald_client::{Error, Operator, Service, Ticket};

pub fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2001, 1, 1, hour, 0, 0).unwrap()
}

crate::guide! {
    /// A ticket is about one or more services (by `Id`) and may name the operator in charge.
    /// The server sets `CreatedTime` and computes `IsClosed`.
    async fn create_a_ticket(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let olga = herald
            .operators()
            .create(&Operator::new("Olga", "olga@example.com").with_password("pass phrase one"))
            .await?;
        let mut new = Ticket::new("Mail is down").starting(at(12)).about(mail.id).with_operator(olga.id);
        new.expected_resolution_time = Some(at(14));
        let ticket = herald.tickets().create(&new).await?;
        assert!(ticket.id > 0);
        assert_eq!(ticket.start_time, Some(at(12)));
        assert_eq!(ticket.expected_resolution_time, Some(at(14)));
        assert_eq!(ticket.services, vec![mail]);
        assert_eq!(ticket.operator.as_ref().map(|o| o.name.as_str()), Some("Olga"));
        assert!(ticket.created_time.is_some());
        assert!(!ticket.is_closed);
        Ok(())
    }

    async fn list_and_get_tickets(herald, server) {
        let first = herald.tickets().create(&Ticket::new("first")).await?;
        let second = herald.tickets().create(&Ticket::new("second")).await?;
        assert_eq!(herald.tickets().list().await?, vec![first.clone(), second]);
        assert_eq!(herald.tickets().get(first.id).await?, first);
        Ok(())
    }

    /// Updating a ticket replaces only the description and the start, end, expected
    /// resolution and next update times; its services and operator stay as they are.
    async fn update_a_ticket(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let mut ticket = herald
            .tickets()
            .create(&Ticket::new("Mail is slow").starting(at(12)).about(mail.id))
            .await?;
        ticket.description = "Mail is down".into();
        ticket.next_update_time = Some(at(13));
        ticket.services.clear(); // ignored by an update
        herald.tickets().update(&ticket).await?;
        let read = herald.tickets().get(ticket.id).await?;
        assert_eq!(read.description, "Mail is down");
        assert_eq!(read.next_update_time, Some(at(13)));
        assert_eq!(read.start_time, Some(at(12)));
        assert_eq!(read.services, vec![mail]);
        Ok(())
    }

    /// Deleting a ticket keeps its history in the database; through the API it is gone.
    async fn delete_a_ticket(herald, server) {
        let ticket = herald.tickets().create(&Ticket::new("Planned work")).await?;
        let deleted = herald.tickets().delete(ticket.id).await?;
        assert_eq!(deleted.description, "Planned work");
        assert!(matches!(herald.tickets().get(ticket.id).await, Err(Error::NotFound(_))));
        Ok(())
    }
}
