//! What only tickets have: list filters, close and reopen, `DoNotSendEmail`, and the
//! notifications of a ticket.

use chrono::{DateTime, Utc};
use reqwest::Method;

use crate::resource::{Page, Resource};
use crate::{Client, Error, Notification, Ticket};

/// Which tickets to list: open or closed ones, those about one service, a page of them.
///
/// ```
/// # use herald_client::{Page, TicketFilter};
/// let open_mail_tickets = TicketFilter::open().about(3).page(Page::first(50));
/// assert_eq!(open_mail_tickets.is_closed, Some(false));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// `isClosed`: only closed (`true`) or only open (`false`) tickets.
    pub is_closed: Option<bool>,
    /// `serviceId`: only tickets about this service.
    pub service_id: Option<i64>,
    pub page: Page,
}

impl TicketFilter {
    pub fn open() -> TicketFilter {
        TicketFilter {
            is_closed: Some(false),
            ..Default::default()
        }
    }

    pub fn closed() -> TicketFilter {
        TicketFilter {
            is_closed: Some(true),
            ..Default::default()
        }
    }

    pub fn about(mut self, service_id: i64) -> TicketFilter {
        self.service_id = Some(service_id);
        self
    }

    pub fn page(mut self, page: Page) -> TicketFilter {
        self.page = page;
        self
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(closed) = self.is_closed {
            q.push(("isClosed", closed.to_string()));
        }
        if let Some(id) = self.service_id {
            q.push(("serviceId", id.to_string()));
        }
        q.extend(self.page.query());
        q
    }
}

impl<'c> Resource<'c, Ticket> {
    /// The same tickets resource, but no email is sent for the creates and updates made
    /// through it (`?DoNotSendEmail=true`). For one ticket, [`Ticket::without_email`] does the
    /// same with the body property.
    pub fn without_email(mut self) -> Self {
        self.extra.push(("DoNotSendEmail", "true".into()));
        self
    }

    /// The tickets that pass `filter` (`GET /api/Tickets?isClosed=…&serviceId=…`).
    pub async fn list_where(&self, filter: TicketFilter) -> Result<Vec<Ticket>, Error> {
        self.list_query(filter.query()).await
    }

    /// Closes the ticket as of `at`: reads it, sets `ClosedTime` and puts it back under
    /// `If-Match`, so a concurrent edit is never overwritten ([`Error::PreconditionFailed`]
    /// instead). Returns the ticket as stored.
    pub async fn close(&self, id: i64, at: DateTime<Utc>) -> Result<Ticket, Error> {
        self.change(id, |t| t.closed_time = Some(at)).await
    }

    /// Reopens the ticket as of `at` (which must be later than its `ClosedTime`).
    pub async fn reopen(&self, id: i64, at: DateTime<Utc>) -> Result<Ticket, Error> {
        self.change(id, |t| t.reopened_time = Some(at)).await
    }

    async fn change(&self, id: i64, edit: impl FnOnce(&mut Ticket)) -> Result<Ticket, Error> {
        let mut tagged = self.get_tagged(id).await?;
        edit(&mut tagged.entity);
        let response = self.put(&tagged.entity, true, Some(&tagged.etag)).await?;
        Client::read(response).await
    }

    /// Who was (or will be) emailed about the ticket, and what became of each message
    /// (`GET /api/Tickets/{id}/Notifications`).
    pub async fn notifications(&self, id: i64) -> Result<Vec<Notification>, Error> {
        let request =
            self.client
                .request(Method::GET, &format!("api/Tickets/{id}/Notifications"), &[]);
        let response = self.client.send(request).await?;
        Client::read_list(response).await
    }
}
