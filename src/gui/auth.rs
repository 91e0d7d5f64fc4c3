//! First-run setup, signing in and out, and changing one's own password.

use askama::Template;
use axum::body::{to_bytes, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::form::{store_errors, FieldErrors, FormData};
use super::login_throttle::{self, Subjects};
use super::page::{render_status, safe_next, see_other, Chrome, Done, GuiError, Nav, Notice};
use super::session::{self, Session, CSRF_COOKIE, SESSION_COOKIE};
use super::two_factor;
use crate::domain::{Busy, Password, Timestamp};
use crate::state::AppState;
use crate::store::ChallengeKind;
use crate::wire::model::parse_operator;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/setup", get(setup_page).post(setup_submit))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route(
            "/account/password",
            get(password_page).post(password_submit),
        )
}

/// `/`: the tickets when signed in, else the sign-in page (or setup on a new installation).
async fn home(
    State(state): State<AppState>,
    session: Option<Session>,
) -> Result<Response, GuiError> {
    if session.is_some() {
        return Ok(see_other("/tickets"));
    }
    if state.store.count_operators().await? == 0 {
        return Ok(see_other("/setup"));
    }
    Ok(see_other("/login"))
}

/// The token of the pre-session forms (sign-in, setup): the `herald_csrf` cookie's value,
/// created when the browser has none.
pub(super) fn pre_session_csrf(
    state: &AppState,
    headers: &HeaderMap,
) -> (String, Option<header::HeaderValue>) {
    match session::cookie_value(headers, CSRF_COOKIE).filter(|v| v.len() == 64) {
        Some(token) => (token, None),
        None => {
            let token = session::random_token();
            let cookie =
                session::cookie_header(CSRF_COOKIE, &token, session::secure_cookies(state), None);
            (token, Some(cookie))
        }
    }
}

/// A refusal for being busy: 503, and when to try again.
pub(super) fn with_retry_after(mut response: Response) -> Response {
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, Busy::RETRY_AFTER_SECONDS.into());
    response
}

pub(super) fn with_cookie(mut response: Response, cookie: Option<header::HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

// ---------------------------------------------------------------- setup

#[derive(Template)]
#[template(path = "gui/setup.html")]
struct SetupPage {
    chrome: Chrome,
    name: String,
    email: String,
    errors: FieldErrors,
}

async fn setup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, GuiError> {
    if state.store.count_operators().await? > 0 {
        return Ok(see_other("/login"));
    }
    let (csrf, cookie) = pre_session_csrf(&state, &headers);
    let page = SetupPage {
        chrome: Chrome::anonymous("Set up Herald", csrf),
        name: String::new(),
        email: String::new(),
        errors: FieldErrors::none(),
    };
    Ok(with_cookie(render_status(StatusCode::OK, &page)?, cookie))
}

async fn setup_submit(
    State(state): State<AppState>,
    crate::state::ClientAddress(address): crate::state::ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GuiError> {
    if state.store.count_operators().await? > 0 {
        return Ok(see_other("/login"));
    }
    let form = FormData::parse(&body)?;
    let (csrf, _) = pre_session_csrf(&state, &headers);
    let again = |errors: FieldErrors| SetupPage {
        chrome: Chrome::anonymous("Set up Herald", csrf.clone()),
        name: form.get("Name").to_owned(),
        email: form.get("Email").to_owned(),
        errors,
    };
    let mut new = match parse_operator(&form.doc(&[]), true) {
        Ok((new, _)) => new,
        Err(state) => return render_status(StatusCode::BAD_REQUEST, &again(state.into())),
    };
    if form.get("Password") != form.get("PasswordConfirm") {
        let mut errors = FieldErrors::none();
        errors.add("PasswordConfirm", "The two passwords differ.");
        return render_status(StatusCode::BAD_REQUEST, &again(errors));
    }
    new.is_admin = true;
    let operator = match state.store.create_first_operator(&new, address).await {
        Ok(op) => op,
        Err(crate::store::StoreError::Conflict(_)) => return Ok(see_other("/login")),
        Err(e) => return render_status(StatusCode::BAD_REQUEST, &again(store_errors(e)?)),
    };
    tracing::info!(operator = operator.id, "first administrator created");
    let cookie = session::start(&state.store, &operator, session::secure_cookies(&state)).await?;
    Ok(with_cookie(
        Notice::Welcome.redirect("/services"),
        Some(cookie),
    ))
}

// ---------------------------------------------------------------- sign in and out

#[derive(Template)]
#[template(path = "gui/login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    next: String,
    error: Option<String>,
}

/// The sign-in page again, saying why (the second step's refusals too).
pub(super) fn login_refused(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    next: &str,
    error: String,
) -> Result<Response, GuiError> {
    let (csrf, cookie) = pre_session_csrf(state, headers);
    let page = LoginPage {
        chrome: Chrome::anonymous("Sign in", csrf),
        email: email.to_owned(),
        next: next.to_owned(),
        error: Some(error),
    };
    Ok(with_cookie(render_status(status, &page)?, cookie))
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    session: Option<Session>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, GuiError> {
    let next = safe_next(q.next.as_deref());
    if session.is_some() {
        return Ok(see_other(&next));
    }
    if state.store.count_operators().await? == 0 {
        return Ok(see_other("/setup"));
    }
    let (csrf, cookie) = pre_session_csrf(&state, &headers);
    let page = LoginPage {
        chrome: Chrome::anonymous("Sign in", csrf),
        email: String::new(),
        next,
        error: None,
    };
    Ok(with_cookie(render_status(StatusCode::OK, &page)?, cookie))
}

pub(super) fn client_address(state: &AppState, parts: &Parts) -> Option<std::net::IpAddr> {
    crate::state::ClientAddress::of(state, parts).0
}

async fn login_submit(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, GuiError> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, crate::limits::BODY_LIMIT)
        .await
        .map_err(|_| GuiError::TooLarge)?;
    let form = FormData::parse(&body)?;
    let email = form.get("email").trim().to_owned();
    let next = safe_next(Some(form.get("next")));
    let (csrf, _) = pre_session_csrf(&state, &parts.headers);
    let refuse = |status: StatusCode, error: String| {
        render_status(
            status,
            &LoginPage {
                chrome: Chrome::anonymous("Sign in", csrf.clone()),
                email: email.clone(),
                next: next.clone(),
                error: Some(error),
            },
        )
    };
    // A place to have the password checked first: refused for being busy, it is no attempt.
    let Ok(admitted) = state.store.hashing().admit() else {
        tracing::warn!("GUI sign-in refused: too many sign-ins are being checked");
        return Ok(with_retry_after(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            Busy::MESSAGE.into(),
        )?));
    };
    let subjects = Subjects::new(&email, client_address(&state, &parts));
    let now = Timestamp::now();
    if let Some(wait) = login_throttle::admit(&state.store, &subjects, now).await? {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. Try again in {}.",
                login_throttle::describe(wait)
            ),
        );
    }
    let credentials = if email.is_empty() {
        None
    } else {
        state.store.operator_credentials(&email).await?
    };
    let (operator, hash) = match credentials {
        Some((op, hash)) => (Some(op), hash),
        None => (None, None),
    };
    let ok = match admitted.verify(hash.as_ref(), form.get("password")).await {
        Ok(ok) => ok,
        Err(Busy) => {
            tracing::warn!("GUI sign-in refused: too many sign-ins are being checked");
            return Ok(with_retry_after(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                Busy::MESSAGE.into(),
            )?));
        }
    };
    // An account with two-factor sign-in gets its code step whether the password was right or
    // not, and the code step's answer does not say which was wrong: the password alone tells a
    // guesser nothing. Its failures stay counted until the code step succeeds.
    if let Some(op) = &operator {
        if state.store.two_factor(op.id).await?.is_on() {
            return two_factor::begin(&state, op, &email, ok, ChallengeKind::Code, &next).await;
        }
        if ok && state.settings.get().require_two_factor {
            return two_factor::begin(&state, op, &email, true, ChallengeKind::Enrol, &next).await;
        }
    }
    let Some(operator) = operator.filter(|_| ok) else {
        tracing::info!("GUI sign-in failed");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "The email or the password is wrong.".into(),
        );
    };
    login_throttle::record_success(&state.store, &subjects).await?;
    let cookie = session::start(&state.store, &operator, session::secure_cookies(&state)).await?;
    tracing::info!(operator = operator.id, "GUI sign-in");
    Ok(with_cookie(see_other(&next), Some(cookie)))
}

async fn logout(
    State(state): State<AppState>,
    session: Option<Session>,
) -> Result<Response, GuiError> {
    if let Some(s) = session {
        state.store.end_session(&s.token_sha256).await?;
    }
    let mut response = see_other("/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        session::removal_header(SESSION_COOKIE, session::secure_cookies(&state)),
    );
    Ok(response)
}

// ---------------------------------------------------------------- own password

#[derive(Template)]
#[template(path = "gui/password.html")]
struct PasswordPage {
    chrome: Chrome,
    errors: FieldErrors,
}

async fn password_page(session: Session, Query(q): Query<Done>) -> Result<Response, GuiError> {
    let page = PasswordPage {
        chrome: Chrome::new(&session, Nav::Account, "Change your password").with_notice(q.done),
        errors: FieldErrors::none(),
    };
    render_status(StatusCode::OK, &page)
}

async fn password_submit(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> Result<Response, GuiError> {
    let form = FormData::parse(&body)?;
    let again = |errors: FieldErrors| {
        render_status(
            StatusCode::BAD_REQUEST,
            &PasswordPage {
                chrome: Chrome::new(&session, Nav::Account, "Change your password"),
                errors,
            },
        )
    };
    let mut errors = FieldErrors::none();
    let new = match Password::parse(form.get("new")) {
        Ok(p) => Some(p),
        Err(m) => {
            errors.add("new", m);
            None
        }
    };
    if form.get("new") != form.get("confirm") {
        errors.add("confirm", "The two new passwords differ.");
    }
    match session
        .password_matches(&state, form.get("current"))
        .await?
    {
        Ok(true) => {}
        Ok(false) => errors.add("current", "This is not your current password."),
        Err(Busy) => {
            errors.add("current", Busy::MESSAGE);
            return Ok(with_retry_after(again(errors)?));
        }
    }
    let Some(new) = new.filter(|_| errors.is_empty()) else {
        return again(errors);
    };
    let hash = state.store.hashing().hash(&new).await;
    // Ends every session of this operator, this one too; a new one keeps them signed in here.
    let operator = state
        .store
        .set_operator_password(&session.operator.email, &hash, &session.who())
        .await?;
    let cookie = session::start(&state.store, &operator, session::secure_cookies(&state)).await?;
    let mut response = Notice::PasswordChanged.redirect("/account/password");
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response.into_response())
}
