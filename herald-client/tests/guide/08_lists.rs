//! Step 8: large lists. A plain list returns everything (streamed by the server); `Page`
//! reads a window of it, and tickets can be filtered by state and by service.

use herald_client::{Page, Service, Ticket, TicketFilter};

use crate::tickets::at;

crate::guide! {
    /// `$top` and `$skip`, in `Id` order.
    async fn read_a_list_page_by_page(herald, server) {
        for name in ["A", "B", "C", "D", "E"] {
            herald.services().create(&Service::new(name)).await?;
        }
        let mut names = Vec::new();
        let mut skip = 0;
        loop {
            let page = herald.services().list_page(Page::first(2).skipping(skip)).await?;
            if page.is_empty() {
                break;
            }
            skip += page.len() as u32;
            names.extend(page.into_iter().map(|s| s.name));
        }
        assert_eq!(names, ["A", "B", "C", "D", "E"]);
        Ok(())
    }

    /// `isClosed` and `serviceId`, alone or together, with paging.
    async fn filter_tickets(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let web = herald.services().create(&Service::new("Web")).await?;
        let mail_open = herald.tickets().create(&Ticket::new("mail open").about(mail.id)).await?;
        let mail_closed = herald.tickets().create(&Ticket::new("mail closed").about(mail.id)).await?;
        herald.tickets().close(mail_closed.id, at(10)).await?;
        let web_open = herald.tickets().create(&Ticket::new("web open").about(web.id)).await?;

        let ids = |tickets: Vec<Ticket>| tickets.into_iter().map(|t| t.id).collect::<Vec<_>>();
        let tickets = herald.tickets();
        assert_eq!(ids(tickets.list_where(TicketFilter::open()).await?), [mail_open.id, web_open.id]);
        assert_eq!(ids(tickets.list_where(TicketFilter::closed()).await?), [mail_closed.id]);
        assert_eq!(
            ids(tickets.list_where(TicketFilter::default().about(mail.id)).await?),
            [mail_open.id, mail_closed.id]
        );
        assert_eq!(ids(tickets.list_where(TicketFilter::open().about(web.id)).await?), [web_open.id]);
        assert_eq!(
            ids(tickets.list_where(TicketFilter::open().page(Page::first(1).skipping(1))).await?),
            [web_open.id]
        );
        Ok(())
    }
}
