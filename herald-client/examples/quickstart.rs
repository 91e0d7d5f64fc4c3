//! Creates a service, a customer who follows it, and a ticket about it, then closes the
//! ticket: the whole life of an incident in a few calls.
//!
//! ```sh
//! cargo run --release                     # in another terminal: Herald, printing its API key
//! HERALD_URL=http://127.0.0.1:8080 HERALD_KEY=<the key> \
//!     cargo run -p herald-client --example quickstart
//! ```
//!
//! Set `HERALD_FORMAT=xml` to do the same in XML.

use chrono::Utc;
use herald_client::{Client, Customer, Format, Service, Ticket};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("HERALD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("HERALD_KEY").map_err(|_| "set HERALD_KEY to Herald's API key")?;
    let format = match std::env::var("HERALD_FORMAT").as_deref() {
        Ok("xml") => Format::Xml,
        _ => Format::Json,
    };
    let herald = Client::new(&url, key)?.with_format(format);

    let stamp = Utc::now().format("%Y%m%d%H%M%S%.3f");
    let service = herald
        .services()
        .create(&Service::new(format!("Mail {stamp}")).with_description("IMAP and SMTP"))
        .await?;
    println!("created service {} ({})", service.id, service.name);

    let customer = herald
        .customers()
        .create(
            &Customer::new("Ann Example")
                .with_email("ann@example.com")
                .following(service.id),
        )
        .await?;
    println!("created customer {} following it", customer.id);

    let ticket = herald
        .tickets()
        .create(
            &Ticket::new("Mail is down: messages are not delivered")
                .starting(Utc::now())
                .about(service.id),
        )
        .await?;
    println!(
        "created ticket {} (closed: {})",
        ticket.id, ticket.is_closed
    );

    let closed = herald.tickets().close(ticket.id, Utc::now()).await?;
    println!(
        "closed ticket {} at {}",
        closed.id,
        closed
            .closed_time
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    );
    Ok(())
}
