//! The personal page `/my/{token}`: the services the customer follows, as checkboxes, and
//! opting out of everything or back in. No sign-in: the token is the key. The form carries a
//! CSRF token that must match a cookie set with the page (`SameSite=Strict`), so another site
//! cannot post it for the customer; a missing or wrong one is a 403 page and changes nothing.

use std::collections::HashSet;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use cookie::{Cookie, SameSite};
use futures::TryStreamExt;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::frame::{organisation, render, PublicError};
use crate::domain::{Actor, Customer, LinkToken, Who};
use crate::state::{AppState, ClientAddress};
use crate::store::Page;

/// The cookie holding the personal page's CSRF token.
const CSRF_COOKIE: &str = "herald_my_csrf";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/my/{token}", get(show).post(change))
}

/// A service as the page offers it: every public service, and any private one the customer
/// already follows (an operator chose it for them; they may keep or drop it, not add others).
struct Choice {
    id: i64,
    name: String,
    description: Option<String>,
    followed: bool,
    private: bool,
}

#[derive(Template)]
#[template(path = "public/personal.html")]
struct PersonalPage {
    organisation: String,
    name: String,
    email: Option<String>,
    choices: Vec<Choice>,
    opted_out: Option<String>,
    csrf: String,
    action: String,
    done: Option<&'static str>,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

/// What a `?done=` code says.
fn done_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "saved" => Some("Saved: you follow the services ticked below."),
        "out" => Some("Done: you will not receive any more emails from us."),
        "in" => Some("Welcome back: you will receive emails about the services you follow."),
        "subscribed" => {
            Some("Subscribed: you will receive emails about the services ticked below.")
        }
        _ => None,
    }
}

async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let org = organisation(&state.settings.get());
    match page(&state, &token, &headers, q.done.as_deref()).await {
        Ok(r) => r,
        Err(e) => e.page(org),
    }
}

async fn page(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    done: Option<&str>,
) -> Result<Response, PublicError> {
    let customer = customer_of(state, token).await?;
    let (csrf, fresh) = match csrf_cookie(headers) {
        Some(c) => (c, false),
        None => (LinkToken::generate().expose().to_owned(), true),
    };
    let followed: HashSet<i64> = customer.services.iter().map(|s| s.id).collect();
    let choices = state
        .store
        .list_services(Page::default())
        .try_filter(|s| std::future::ready(s.is_public || followed.contains(&s.id)))
        .map_ok(|s| Choice {
            followed: followed.contains(&s.id),
            private: !s.is_public,
            id: s.id,
            name: s.name,
            description: s.description,
        })
        .try_collect()
        .await?;
    let page = PersonalPage {
        organisation: organisation(&state.settings.get()),
        name: customer.name,
        email: customer.email,
        choices,
        opted_out: customer
            .opted_out_time
            .map(|t| t.to_chrono().format("%Y-%m-%d %H:%M UTC").to_string()),
        csrf: csrf.clone(),
        action: format!("/my/{token}"),
        done: done_text(done),
    };
    let mut response = render(&page);
    if fresh {
        let secure = state
            .settings
            .get()
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let cookie = Cookie::build((CSRF_COOKIE, csrf))
            .path("/my/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .build();
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// The customer a link token leads to; a malformed token never reaches the database.
async fn customer_of(state: &AppState, token: &str) -> Result<Customer, PublicError> {
    let token = LinkToken::parse(token).ok_or(PublicError::LinkInvalid)?;
    state
        .store
        .customer_by_link(&token)
        .await?
        .ok_or(PublicError::LinkInvalid)
}

fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// What the form asks for.
enum Change {
    Follow(Vec<i64>),
    OptOut,
    OptIn,
}

/// The form's fields: `csrf`, `action` (`save`, `optout` or `optin`) and one `service` per
/// ticked box. An id that is not a number is a 400, like an unknown one.
fn parse_form(body: &[u8]) -> Result<(Option<String>, Change), PublicError> {
    let mut csrf = None;
    let mut action = None;
    let mut services = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        match &*name {
            "csrf" => csrf = Some(value.into_owned()),
            "action" => action = Some(value.into_owned()),
            "service" => {
                services.push(value.trim().parse::<i64>().map_err(|_| {
                    PublicError::BadRequest(format!("There is no service {value:?}."))
                })?)
            }
            _ => {}
        }
    }
    let change = match action.as_deref() {
        Some("save") | None => {
            services.sort_unstable();
            services.dedup();
            Change::Follow(services)
        }
        Some("optout") => Change::OptOut,
        Some("optin") => Change::OptIn,
        Some(other) => {
            return Err(PublicError::BadRequest(format!(
                "The form asked for {other:?}, which this page does not do."
            )))
        }
    };
    Ok((csrf, change))
}

async fn change(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let org = organisation(&state.settings.get());
    let who = Who::new(Actor::Customer, address);
    match apply(&state, &token, &who, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.page(org),
    }
}

async fn apply(
    state: &AppState,
    token: &str,
    who: &Who,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, PublicError> {
    let link = LinkToken::parse(token).ok_or(PublicError::LinkInvalid)?;
    // The link first (a revoked link says so whatever the form holds), then the form's token.
    if state.store.customer_by_link(&link).await?.is_none() {
        return Err(PublicError::LinkInvalid);
    }
    let (given, change) = match parse_form(body) {
        Ok(parsed) => parsed,
        // An unreadable form without the right token is a forgery first.
        Err(e) => {
            check_csrf(headers, form_csrf(body))?;
            return Err(e);
        }
    };
    check_csrf(headers, given)?;
    let now = state.store.now();
    let store = &state.store;
    let (changed, done) = match change {
        Change::Follow(ids) => (store.set_followed_by_link(&link, &ids, who).await?, "saved"),
        Change::OptOut => (store.opt_out_by_link(&link, who, now).await?, "out"),
        Change::OptIn => (store.opt_in_by_link(&link, who, now).await?, "in"),
    };
    changed.ok_or(PublicError::LinkInvalid)?;
    Ok(Redirect::to(&format!("/my/{token}?done={done}")).into_response())
}

fn form_csrf(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(n, _)| n == "csrf")
        .map(|(_, v)| v.into_owned())
}

fn check_csrf(headers: &HeaderMap, given: Option<String>) -> Result<(), PublicError> {
    match (csrf_cookie(headers), given) {
        (Some(expected), Some(given))
            if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) =>
        {
            Ok(())
        }
        _ => Err(PublicError::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_read_services_and_actions() {
        let (csrf, change) = parse_form(b"csrf=abc&service=3&service=1&service=3").unwrap();
        assert_eq!(csrf.as_deref(), Some("abc"));
        assert!(matches!(change, Change::Follow(ids) if ids == vec![1, 3]));
        assert!(matches!(
            parse_form(b"action=optout").unwrap().1,
            Change::OptOut
        ));
        assert!(matches!(
            parse_form(b"action=optin").unwrap().1,
            Change::OptIn
        ));
        assert!(matches!(
            parse_form(b"service=x"),
            Err(PublicError::BadRequest(_))
        ));
        assert!(matches!(
            parse_form(b"action=drop"),
            Err(PublicError::BadRequest(_))
        ));
    }
}
