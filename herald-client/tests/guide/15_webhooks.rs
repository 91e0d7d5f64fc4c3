//! Step 15: webhooks. Herald POSTs every event of the services a webhook covers to its URL:
//! signed Standard Webhooks JSON (`json`), or the message a Slack or Teams incoming webhook
//! takes. The secret that signs them is shown once, when the webhook is created.

use std::time::Duration;

use herald_client::{Service, Ticket, Webhook};
use herald_test_support::webhooks::WebhookReceiver;

crate::guide! {
    /// Create a webhook: keep the secret from the answer, it is never shown again.
    async fn create_a_webhook_and_keep_its_secret(herald, server) {
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let hook = herald
            .webhooks()
            .create(&Webhook::new("https://hooks.example.com/herald").about(mail.id))
            .await?;
        let secret = hook.secret.clone().expect("shown once");
        assert!(secret.starts_with("whsec_"));
        assert_eq!(hook.format.as_deref(), Some("json"));
        assert!(hook.is_active);
        let read = herald.webhooks().get(hook.id).await?;
        assert_eq!(read.secret, None, "never again");
        assert_eq!(read.services.len(), 1);
        assert_eq!(read.services[0].id, mail.id);

        // An update without a secret keeps it.
        let mut slack = read.clone();
        slack.format = Some("slack".into());
        herald.webhooks().update(&slack).await?;
        assert_eq!(herald.webhooks().get(hook.id).await?.format.as_deref(), Some("slack"));
        herald.webhooks().delete(hook.id).await?;
        assert!(herald.webhooks().list().await?.is_empty());
        Ok(())
    }

    /// Each event is one signed POST; its notification shows `Channel` "webhook".
    async fn receive_signed_events(herald, server) {
        let receiver = WebhookReceiver::start().await;
        let mail = herald.services().create(&Service::new("Mail")).await?;
        let hook = herald.webhooks().create(&Webhook::new(receiver.url("/hook"))).await?;
        receiver.set_secret(hook.secret.as_deref().unwrap());
        let ticket = herald.tickets().create(&Ticket::new("Mail is down").about(mail.id)).await?;
        let got = receiver.wait_for(1, Duration::from_secs(30)).await;
        assert_eq!(got[0].verified, Some(true), "signed with the secret");
        assert_eq!(got[0].body["Event"], "created");
        assert_eq!(got[0].body["Id"], ticket.id);
        let list = herald.tickets().notifications(ticket.id).await?;
        assert_eq!(list[0].channel, "webhook");
        assert_eq!(list[0].address, receiver.url("/hook"));
        Ok(())
    }
}
