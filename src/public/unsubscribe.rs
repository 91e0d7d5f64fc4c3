//! One-click unsubscribe (RFC 8058): every notification email names
//! `{public_url}/unsubscribe/{token}` in `List-Unsubscribe`. A mail provider `POST`s
//! `List-Unsubscribe=One-Click` there — no cookie, no CSRF token, no sign-in — and the address
//! is opted out at once, however often it is sent. A `GET` (a person, or a link scanner) only
//! shows a page with the button that does it.
//!
//! Answers a provider can act on: 200 when done (also when it was done before), 404 for a link
//! that leads nowhere, 400 for a body that is not the one-click form — never a 5xx for anything
//! but the database being away for a moment.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::frame::{organisation, render, Notice, PublicError};
use crate::domain::{Actor, LinkToken, Who};
use crate::state::{AppState, ClientAddress};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", get(confirm).post(unsubscribe))
}

#[derive(Template)]
#[template(path = "public/unsubscribe.html")]
struct ConfirmPage {
    organisation: String,
    action: String,
    personal: String,
    email: Option<String>,
}

/// `GET`: the button, nothing else.
async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let org = organisation(&state.settings.get());
    let Some(link) = LinkToken::parse(&token) else {
        return PublicError::LinkInvalid.page(org);
    };
    match state.store.customer_by_link(&link).await {
        Ok(Some(customer)) => render(&ConfirmPage {
            organisation: org,
            action: format!("/unsubscribe/{token}"),
            personal: format!("/my/{token}"),
            email: customer.email,
        }),
        Ok(None) => PublicError::LinkInvalid.page(org),
        Err(e) => PublicError::from(e).page(org),
    }
}

/// Is this the one-click body (`List-Unsubscribe=One-Click`, among any other fields)?
fn one_click(body: &[u8]) -> bool {
    form_urlencoded::parse(body).any(|(n, v)| n == "List-Unsubscribe" && v == "One-Click")
}

/// `POST`: opts the address out, at once and idempotently.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientAddress(address): ClientAddress,
    body: Bytes,
) -> Response {
    let org = organisation(&state.settings.get());
    let Some(link) = LinkToken::parse(&token) else {
        return PublicError::LinkInvalid.page(org);
    };
    if !one_click(&body) {
        return PublicError::BadRequest(
            "An unsubscribe request carries the form field List-Unsubscribe=One-Click.".into(),
        )
        .page(org);
    }
    match state
        .store
        .opt_out_by_link(
            &link,
            &Who::new(Actor::Customer, address),
            state.store.now(),
        )
        .await
    {
        Ok(Some(_)) => (
            StatusCode::OK,
            render(&Notice {
                organisation: org,
                title: "You are unsubscribed".into(),
                message: "You will not receive any more emails from us. If you change your \
                          mind, you can opt back in on your personal page."
                    .into(),
                back: Some(format!("/my/{token}")),
            }),
        )
            .into_response(),
        Ok(None) => PublicError::LinkInvalid.page(org),
        Err(e) => PublicError::from(e).page(org),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_one_click_form_unsubscribes() {
        assert!(one_click(b"List-Unsubscribe=One-Click"));
        assert!(one_click(b"x=1&List-Unsubscribe=One-Click"));
        assert!(!one_click(b""));
        assert!(!one_click(b"List-Unsubscribe=Other"));
    }
}
