//! `/api/Webhooks`: where Herald POSTs every event (see `notify::webhook`).

use super::resource::Crud;
use crate::domain::{NewWebhook, Webhook};
use crate::wire::model::Envelope;
use crate::wire::webhook::parse_webhook;
use crate::wire::{Doc, ModelState};

impl Crud for Webhook {
    const COLLECTION: &'static str = "Webhooks";

    fn parse(doc: &Doc, _creating: bool) -> Result<(NewWebhook, Envelope), ModelState> {
        parse_webhook(doc)
    }
}
