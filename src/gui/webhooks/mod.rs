//! Webhooks (administrators: a webhook holds a signing secret and makes Herald send requests):
//! the list (URL, format, services or all of them, on or turned off by Herald with why and
//! when), the form (URL, format, services, on), the secret shown once after it is made, and
//! deletion; the pages themselves are [`super::resource`]'s. Beside them ([`actions`]): the
//! "send a test event" button, a new secret, turning a webhook on again; and the notice of the
//! webhooks Herald turned off ([`off`]), shown on the webhooks list and the tickets list.

mod actions;
mod off;

use std::collections::HashMap;

use askama::Template;
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;

pub use actions::router;
pub use off::TurnedOff;

use super::form::{service_choices, FormData, ServiceChoice};
use super::page::{render, Chrome, GuiError, Kind, Nav, When};
use super::resource::{form_page, version_tag, ListQuery, Notes, Resource};
use super::session::Admin;
use super::settings::TestResult;
use crate::domain::{NewWebhook, Webhook, WebhookFormat};
use crate::state::AppState;
use crate::store::Page;
use crate::wire::webhook::parse_webhook;
use crate::wire::ModelState;

/// A webhook as a row of the list.
#[derive(Debug, Clone)]
pub struct Row {
    id: i64,
    url: String,
    format: &'static str,
    /// The names of the services it covers; empty: every service.
    services: Vec<String>,
    is_active: bool,
    /// When and why Herald turned it off.
    off: Option<(When, String)>,
    /// The version its buttons carry.
    version: String,
    /// The outcome of its test event, just sent.
    test: Option<TestResult>,
}

#[derive(Template)]
#[template(path = "gui/webhooks/list.html")]
pub struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    turned_off: TurnedOff,
}

/// The secret, shown once: after a webhook was created, or given a new secret.
#[derive(Template)]
#[template(path = "gui/webhooks/secret.html")]
pub struct SecretPage {
    chrome: Chrome,
    id: i64,
    url: String,
    secret: String,
    created: bool,
}

impl SecretPage {
    fn answer(self) -> Response {
        render(&self).unwrap_or_else(IntoResponse::into_response)
    }
}

form_page!("gui/webhooks/form.html");

/// The formats, as the form's select offers them.
pub const FORMATS: [(&str, &str); 3] = [
    ("json", "JSON (signed, Standard Webhooks)"),
    ("slack", "Slack (incoming webhook)"),
    ("teams", "Microsoft Teams (incoming webhook)"),
];

fn format_label(format: WebhookFormat) -> &'static str {
    match format {
        WebhookFormat::Json => "JSON",
        WebhookFormat::Slack => "Slack",
        WebhookFormat::Teams => "Teams",
    }
}

/// The list, with the outcome of a test event sent to the webhook `tested`.
pub async fn list_page(
    state: &AppState,
    chrome: Chrome,
    tested: Option<(i64, TestResult)>,
) -> Result<ListPage, GuiError> {
    let names: HashMap<i64, String> = state
        .store
        .list_services(Page::default())
        .map_ok(|s| (s.id, s.name))
        .try_collect()
        .await?;
    let now = state.store.now();
    let hooks: Vec<Webhook> = state
        .store
        .list_webhooks(Page::default())
        .try_collect()
        .await?;
    let rows = hooks
        .into_iter()
        .map(|w| Row {
            id: w.id,
            format: format_label(w.format),
            services: w
                .services
                .iter()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| format!("#{id}")))
                .collect(),
            is_active: w.is_active,
            off: w
                .deactivated
                .as_ref()
                .filter(|_| !w.is_active)
                .map(|(at, why)| (When::of(*at, now), why.clone())),
            version: version_tag(&w),
            test: tested
                .as_ref()
                .filter(|(id, _)| *id == w.id)
                .map(|(_, r)| r.clone()),
            url: w.url,
        })
        .collect();
    let turned_off = TurnedOff::read(&state.store).await?;
    Ok(ListPage {
        chrome,
        rows,
        turned_off,
    })
}

impl Resource for Webhook {
    const KIND: Kind = Kind::Webhook;
    const PLURAL: &'static str = "Webhooks";
    const NAV: Nav = Nav::Webhooks;
    type Who = Admin;
    type FormPage = FormPage;

    /// The API's parser; the form always shows the checkbox (not ticked: off), and the secret
    /// is never typed in (it is generated, and renewed with its own button).
    fn parse(form: &FormData, _creating: bool) -> Result<NewWebhook, ModelState> {
        parse_webhook(&form.doc(&["Secret"])).map(|(new, _)| NewWebhook {
            is_active: form.checked("IsActive"),
            secret: None,
            ..new
        })
    }

    async fn list_page(
        state: &AppState,
        _who: &Admin,
        chrome: Chrome,
        _query: ListQuery,
    ) -> Result<impl Template + Send, GuiError> {
        list_page(state, chrome, None).await
    }

    async fn choices(state: &AppState, values: &FormData) -> Result<Vec<ServiceChoice>, GuiError> {
        Ok(service_choices(&state.store, &values.service_ids()).await?)
    }

    /// Whether (and why, and when) Herald turned it off.
    async fn notes(state: &AppState, id: i64) -> Result<Notes, GuiError> {
        let w = state.store.get_webhook(id).await?;
        let now = state.store.now();
        Ok(match w.deactivated.filter(|_| !w.is_active) {
            Some((at, why)) => {
                let when = When::of(at, now);
                Notes::default()
                    .with("off_since", when.text)
                    .with("off_relative", when.relative)
                    .with("off_reason", why)
            }
            None => Notes::default(),
        })
    }

    async fn deletion(
        &self,
        _state: &AppState,
        _who: &Admin,
    ) -> Result<(String, String), GuiError> {
        Ok((
            format!("Delete the webhook to {}?", self.url),
            "Herald stops posting events to it; its messages not sent yet are cancelled. This \
             cannot be undone."
                .into(),
        ))
    }

    /// A new webhook's secret is shown now, once.
    fn after_save(who: &Admin, saved: &Webhook, _new: &NewWebhook) -> Option<Response> {
        let secret = saved.new_secret.as_ref()?;
        let page = SecretPage {
            chrome: Chrome::new(&who.0, Nav::Webhooks, "Webhook created"),
            id: saved.id,
            url: saved.url.clone(),
            secret: secret.expose().to_owned(),
            created: true,
        };
        Some(page.answer())
    }
}
