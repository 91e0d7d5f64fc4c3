//! Webhooks on the wire: `Id`, `Url`, `Services` (`[{"Id": 1}]`, none: all services),
//! `Format` (json, slack, teams), `Secret` (write-only: only in the answer of the POST that
//! set it), `IsActive`, and why Herald turned it off.

use serde::Serialize;
use utoipa::ToSchema;

use super::datetime;
use super::input::{Doc, Fields, ModelState};
use super::model::{Envelope, WireEntity};
use crate::domain::{NewWebhook, Webhook, WebhookFormat, WebhookSecret, WebhookUrl};

/// A service a webhook covers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = WebhookService)]
pub struct WebhookServiceDto {
    #[schema(value_type = i32, minimum = 1)]
    pub id: i64,
}

/// Where Herald POSTs every event of the services it covers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Webhook)]
pub struct WebhookDto {
    #[schema(value_type = i32, minimum = 1)]
    pub id: i64,
    /// http or https.
    pub url: String,
    /// The services it covers; empty: every service.
    #[schema(xml(name = "Service", wrapped(name = "Services")))]
    pub services: Vec<WebhookServiceDto>,
    /// json (Standard Webhooks, signed), slack or teams.
    pub format: String,
    /// Write-only: shown once, in the answer of the POST that set it (generated when omitted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub is_active: bool,
    /// When Herald turned it off (a 410, or failing for the whole retry window).
    #[schema(format = DateTime)]
    pub deactivated_time: Option<String>,
    /// Why Herald turned it off.
    pub deactivated_reason: Option<String>,
}

impl WireEntity for Webhook {
    const NAME: &'static str = "Webhook";
    const MODEL: &'static str = "webhook";
    const READ_ONLY: &'static [&'static str] = &["DeactivatedTime", "DeactivatedReason"];
    type Dto = WebhookDto;
    fn to_wire(&self) -> WebhookDto {
        WebhookDto {
            id: self.id,
            url: self.url.clone(),
            services: self
                .services
                .iter()
                .map(|id| WebhookServiceDto { id: *id })
                .collect(),
            format: self.format.as_str().to_owned(),
            secret: self.new_secret.as_ref().map(|s| s.expose().to_owned()),
            is_active: self.is_active,
            deactivated_time: self
                .deactivated
                .as_ref()
                .map(|(at, _)| datetime::format(*at)),
            deactivated_reason: self.deactivated.as_ref().map(|(_, why)| why.clone()),
        }
    }
}

pub fn parse_webhook(doc: &Doc) -> Result<(NewWebhook, Envelope), ModelState> {
    let mut f = Fields::new(doc, "webhook");
    let url = f.required("Url", WebhookUrl::parse);
    let services = f.id_list("Services");
    let format = match f.optional_text("Format") {
        None => Some(WebhookFormat::Json),
        Some(text) => {
            let format = WebhookFormat::parse(&text);
            if format.is_none() {
                f.error("Format", "The Format must be json, slack or teams.");
            }
            format
        }
    };
    let secret = f.optional("Secret", WebhookSecret::parse);
    let is_active = f.bool("IsActive").unwrap_or(true);
    let env = Envelope {
        id: f.own_id("Id"),
        do_not_send_email: false,
    };
    let value = url.zip(format).map(|(url, format)| {
        (
            NewWebhook {
                url,
                services,
                format,
                secret,
                is_active,
            },
            env,
        )
    });
    f.finish(value)
}
