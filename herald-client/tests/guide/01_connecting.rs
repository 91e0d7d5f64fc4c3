//! Step 1: connecting. A [`Client`] needs the server's address and the API key (shown once
//! when Herald first starts; set a new one with `herald api-key set` or on the Settings page).

use herald_client::{Client, Error, KeyPlacement};

use crate::server::KEY;

crate::guide! {
    /// `Client::new(address, key)`, then any call. The key travels in the `X-Api-Key` header.
    async fn connect_with_the_api_key(herald, server) {
        let services = herald.services().list().await?;
        assert!(services.is_empty(), "a new Herald has no services");
        Ok(())
    }

    /// The original product documented the key as the `key` query-string parameter; that works
    /// too.
    async fn the_key_can_go_in_the_query_string(herald, server) {
        let herald = herald.with_key_placement(KeyPlacement::Query);
        assert!(herald.tickets().list().await?.is_empty());
        Ok(())
    }

    /// A wrong key is [`Error::Unauthorized`], with the server's message.
    async fn a_wrong_key_is_unauthorized(herald, server) {
        let intruder = Client::new(&server.address, format!("{KEY}x"))?.with_format(herald.format());
        match intruder.services().list().await {
            Err(Error::Unauthorized(message)) => {
                assert_eq!(message, "Authorization has been denied for this request.")
            }
            other => panic!("expected 401, got {other:?}"),
        }
        Ok(())
    }
}
