//! Step 11: notifications. Every recipient of every ticket event, and what became of the
//! message: `queued`, `sent`, `retrying`, `failed`, `cancelled`, or for a cell phone number
//! that cannot be read `skipped` (`Notification::delivery_state` reads them). Herald sends in
//! the background, so a client that wants to see the outcome polls.

use std::time::{Duration, Instant};

use herald::config::Key;
use herald_client::{Client, Customer, DeliveryState, Error, Notification, Service, Ticket};

use crate::server::{ClientOf, TestApp};
use crate::tickets::at;
use herald_test_support::smsc::TestSmsc;
use herald_test_support::SmtpServer;

/// A Herald that delivers to `smtp`.
async fn herald_with_mail(smtp: &SmtpServer) -> TestApp {
    TestApp::builder()
        .smtp(smtp)
        .setting(Key::MailFrom, "Status <status@herald.test>")
        .spawn()
        .await
}

/// Polls the ticket's notifications until none is queued or retrying any more.
async fn settled(herald: &Client, ticket: i64) -> Result<Vec<Notification>, Error> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = herald.tickets().notifications(ticket).await?;
        let pending = list
            .iter()
            .any(|n| n.state == "queued" || n.state == "retrying");
        if !pending || Instant::now() > deadline {
            return Ok(list);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A service "Mail" followed by Ann and Bob.
async fn mail_with_followers(herald: &Client) -> Result<Service, Error> {
    let mail = herald.services().create(&Service::new("Mail")).await?;
    for (name, email) in [("Ann", "ann@example.com"), ("Bob", "bob@example.com")] {
        herald
            .customers()
            .create(&Customer::new(name).with_email(email).following(mail.id))
            .await?;
    }
    Ok(mail)
}

crate::guide! {
    /// Each follower gets one message per event; once delivered it shows as `sent`, with the
    /// mail server's reply.
    async fn see_who_was_emailed(herald, server) {
        let smtp = SmtpServer::start().await;
        let server = herald_with_mail(&smtp).await;
        let herald = server.client(herald.format());
        let mail = mail_with_followers(&herald).await?;
        let ticket = herald.tickets().create(&Ticket::new("Mail is down").about(mail.id)).await?;
        herald.tickets().close(ticket.id, at(14)).await?;

        let list = settled(&herald, ticket.id).await?;
        let mut seen: Vec<(String, String, String)> = list
            .iter()
            .map(|n| (n.event.clone(), n.email.clone(), n.state.clone()))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("closed".into(), "ann@example.com".into(), "sent".into()),
                ("closed".into(), "bob@example.com".into(), "sent".into()),
                ("created".into(), "ann@example.com".into(), "sent".into()),
                ("created".into(), "bob@example.com".into(), "sent".into()),
            ]
        );
        let ann = list.iter().find(|n| n.email == "ann@example.com").unwrap();
        assert_eq!(ann.name, "Ann");
        assert_eq!(ann.attempts, 1);
        assert!(ann.sent_time.is_some() && ann.reply.is_some() && ann.last_error.is_none());
        assert_eq!(smtp.messages_to("ann@example.com").len(), 2);
        Ok(())
    }

    /// Every message names its channel (`email`, `sms`, `webhook`) and its address there.
    async fn see_each_message_channel_and_address(herald, server) {
        let mail = mail_with_followers(&herald).await?;
        let ticket = herald.tickets().create(&Ticket::new("Mail is patchy").about(mail.id)).await?;
        let list = herald.tickets().notifications(ticket.id).await?;
        let mut seen: Vec<(String, String)> =
            list.iter().map(|n| (n.channel.clone(), n.address.clone())).collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("email".into(), "ann@example.com".into()),
                ("email".into(), "bob@example.com".into()),
            ]
        );
        Ok(())
    }

    /// With no mail server configured nothing is lost: the messages wait, `queued`.
    async fn without_a_mail_server_messages_wait(herald, server) {
        let mail = mail_with_followers(&herald).await?;
        let ticket = herald.tickets().create(&Ticket::new("Mail is slow").about(mail.id)).await?;
        let list = herald.tickets().notifications(ticket.id).await?;
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|n| n.state == "queued" && n.attempts == 0), "{list:?}");
        Ok(())
    }

    /// A recipient the mail server refuses for good (a 5xx) is `failed`, with its answer.
    async fn a_refused_address_is_failed(herald, server) {
        let smtp = SmtpServer::start().await;
        smtp.reject_recipient("bob@example.com");
        let server = herald_with_mail(&smtp).await;
        let herald = server.client(herald.format());
        let mail = mail_with_followers(&herald).await?;
        let ticket = herald.tickets().create(&Ticket::new("Web is down").about(mail.id)).await?;
        let list = settled(&herald, ticket.id).await?;
        let bob = list.iter().find(|n| n.email == "bob@example.com").unwrap();
        assert_eq!(bob.state, "failed");
        assert!(bob.last_error.as_deref().is_some_and(|e| e.contains("550")), "{bob:?}");
        let ann = list.iter().find(|n| n.email == "ann@example.com").unwrap();
        assert_eq!(ann.state, "sent");
        Ok(())
    }

    /// A follower's cell phone number that cannot be read as an international number (no
    /// `+`, and no default country set) is `skipped`, never attempted, with why; the others
    /// are texted.
    async fn a_number_that_cannot_be_read_is_skipped(herald, server) {
        let smsc = TestSmsc::start().await;
        let server = TestApp::builder().setting(Key::SmsUrl, smsc.url()).spawn().await;
        let herald = server.client(herald.format());
        let mail = herald.services().create(&Service::new("Mail")).await?;
        for (name, phone) in [("Ann", "+31 6 12345678"), ("Bob", "06 87654321")] {
            herald
                .customers()
                .create(&Customer::new(name).with_cell_phone(phone).following(mail.id))
                .await?;
        }
        let ticket = herald.tickets().create(&Ticket::new("Mail is down").about(mail.id)).await?;
        let list = settled(&herald, ticket.id).await?;
        let bob = list.iter().find(|n| n.name == "Bob").unwrap();
        assert_eq!((bob.channel.as_str(), bob.address.as_str()), ("sms", "06 87654321"));
        assert_eq!(bob.delivery_state(), DeliveryState::Skipped, "{bob:?}");
        assert_eq!(bob.attempts, 0);
        assert!(bob.last_error.is_some(), "{bob:?}");
        let ann = list.iter().find(|n| n.name == "Ann").unwrap();
        assert_eq!((ann.delivery_state(), ann.address.as_str()), (DeliveryState::Sent, "+31612345678"));
        assert_eq!(smsc.messages().len(), 1);
        Ok(())
    }
}
