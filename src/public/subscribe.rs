//! Self-subscription with double opt-in, when the setting `self_subscription` is on (and the
//! status page too): `/status/subscribe` is the form (an email address and the public services;
//! the status page links to it or embeds the same form), whose `POST` queues a confirmation
//! email in the request's transaction (sent through the outbox, its link valid 24 hours, only
//! its SHA-256 stored) and always answers the same "check your inbox" page, whether the address
//! is a customer already or was throttled, without waiting for any mail server; `/status/subscribe/{token}`
//! shows a button, and its `POST` creates or updates the customer, then leads to their personal
//! page. Unknown links are 404s, used or expired ones 410s, nothing changed.
//!
//! No CSRF token: the form stands on a page cached for everybody, and a forged request can do
//! no more than anyone typing an address into it: send that address a link to confirm.

use std::collections::HashSet;
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use futures::TryStreamExt;

use super::frame::{organisation, render, Notice, PublicError};
use crate::domain::{Actor, EmailAddress, LinkToken, Who};
use crate::state::{AppState, ClientAddress};
use crate::store::{Confirmed, LinkState, Page, Requested, Throttle};

/// How long a confirmation link works.
const VALID: Duration = Duration::from_secs(24 * 3600);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/status/subscribe", get(form).post(request))
        .route("/status/subscribe/{token}", get(show_link).post(confirm))
}

#[derive(Template)]
#[template(path = "public/subscribe.html")]
struct FormPage {
    organisation: String,
    email: String,
    /// (id, name, ticked)
    choices: Vec<(i64, String, bool)>,
}

#[derive(Template)]
#[template(path = "public/subscribe_confirm.html")]
struct ConfirmPage {
    organisation: String,
    email: String,
    services: Vec<String>,
    action: String,
}

/// Is self-subscription offered now?
fn offered(state: &AppState) -> Result<(), PublicError> {
    let s = state.settings.get();
    if s.self_subscription && s.status_page {
        Ok(())
    } else {
        Err(PublicError::Off)
    }
}

fn answer(state: &AppState, result: Result<Response, PublicError>) -> Response {
    result.unwrap_or_else(|e| e.page(organisation(&state.settings.get())))
}

async fn form_page(
    state: &AppState,
    email: String,
    ticked: &HashSet<i64>,
) -> Result<Response, PublicError> {
    let choices = state
        .store
        .list_services(Page::default())
        .try_filter(|s| std::future::ready(s.is_public))
        .map_ok(|s| (s.id, s.name, ticked.contains(&s.id)))
        .try_collect()
        .await?;
    Ok(render(&FormPage {
        organisation: organisation(&state.settings.get()),
        email,
        choices,
    }))
}

async fn form(State(state): State<AppState>) -> Response {
    let result = async {
        offered(&state)?;
        form_page(&state, String::new(), &HashSet::new()).await
    };
    answer(&state, result.await)
}

/// The form's fields: `email` and one `service` per ticked box.
fn parse_request(body: &[u8]) -> Result<(EmailAddress, Vec<i64>), PublicError> {
    let mut email = None;
    let mut services = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        match &*name {
            "email" => email = Some(value.trim().to_owned()),
            "service" => {
                services.push(value.trim().parse::<i64>().map_err(|_| {
                    PublicError::BadRequest(format!("There is no service {value:?}."))
                })?)
            }
            _ => {}
        }
    }
    let email = EmailAddress::parse(email.as_deref().unwrap_or("")).map_err(|_| {
        PublicError::BadRequest("Please give an email address such as ann@example.com.".into())
    })?;
    services.sort_unstable();
    services.dedup();
    if services.is_empty() {
        return Err(PublicError::BadRequest(
            "Please tick at least one service to hear about.".into(),
        ));
    }
    Ok((email, services))
}

async fn request(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    body: Bytes,
) -> Response {
    let result = async {
        offered(&state)?;
        let (email, services) = parse_request(&body)?;
        let store = &state.store;
        let expires = store.now().plus(VALID);
        let requested = store
            .request_subscription(
                email.as_str(),
                &services,
                client,
                expires,
                Throttle::default(),
            )
            .await?;
        match requested {
            Requested::TooMany => return Err(PublicError::TooMany),
            // The same answer either way: the email (if any) goes out through the outbox.
            Requested::Quiet | Requested::Queued => {}
        }
        Ok(render(&Notice {
            organisation: organisation(&state.settings.get()),
            title: "Check your inbox".into(),
            message: format!(
                "If {} can receive email, a link to confirm is on its way. It works for 24 \
                 hours; nothing happens until you open it.",
                email.as_str()
            ),
            back: None,
        }))
    };
    answer(&state, result.await)
}

/// A link's state as a page (or the refusal).
fn refused(state: LinkState) -> PublicError {
    match state {
        LinkState::Used => PublicError::Gone(
            "This link was used already",
            "Nothing was changed: the subscription was confirmed with it before. Your emails \
             from us carry a link to your personal page."
                .into(),
        ),
        LinkState::Expired => PublicError::Gone(
            "This link has expired",
            "Nothing was changed: a confirmation link works for 24 hours. Ask for a new one on \
             the status page."
                .into(),
        ),
        LinkState::Unknown | LinkState::Open { .. } => PublicError::LinkInvalid,
    }
}

async fn show_link(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let result = async {
        offered(&state)?;
        let link = LinkToken::parse(&token).ok_or(PublicError::LinkInvalid)?;
        match state.store.subscription_link(&link.digest()).await? {
            LinkState::Open { email, services } => Ok(render(&ConfirmPage {
                organisation: organisation(&state.settings.get()),
                email,
                services,
                action: format!("/status/subscribe/{token}"),
            })),
            other => Err(refused(other)),
        }
    };
    answer(&state, result.await)
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientAddress(client): ClientAddress,
) -> Response {
    let result = async {
        offered(&state)?;
        let link = LinkToken::parse(&token).ok_or(PublicError::LinkInvalid)?;
        let personal = LinkToken::generate();
        let who = Who::new(Actor::Subscriber, client);
        match state
            .store
            .confirm_subscription(&link.digest(), &personal.digest(), &who)
            .await?
        {
            Confirmed::Done(_) => Ok(Redirect::to(&format!(
                "/my/{}?done=subscribed",
                personal.expose()
            ))
            .into_response()),
            Confirmed::Refused(state) => Err(refused(state)),
        }
    };
    answer(&state, result.await)
}
