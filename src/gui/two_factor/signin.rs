//! The sign-in's second step: the code (or a recovery code), or, where two-factor sign-in is
//! required and the operator has none yet, setting it up.

use askama::Template;
use axum::body::to_bytes;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{
    challenge_removal, confirm_enrolment, typed_code, Confirmed, EnrolPage, RecoveryPage,
    CHALLENGE_COOKIE, WRONG_FIRST_CODE,
};
use crate::domain::audit::Who;
use crate::domain::totp;
use crate::domain::Actor;
use crate::domain::Timestamp;
use crate::gui::auth::{client_address, login_refused, pre_session_csrf, with_cookie};
use crate::gui::form::FormData;
use crate::gui::login_throttle::{self, Subjects};
use crate::gui::page::{render_status, safe_next, see_other, Chrome, GuiError};
use crate::gui::session;
use crate::state::AppState;
use crate::store::{Challenge, ChallengeKind};

/// The one answer to a failed code step: it does not say whether the password or the code
/// was wrong.
const WRONG: &str = "The email, the password or the code is wrong. Sign in again.";
const EXPIRED: &str = "That sign-in took too long or was already used. Sign in again.";

#[derive(Template)]
#[template(path = "gui/two_factor/code.html")]
struct CodePage {
    chrome: Chrome,
    next: String,
}

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// The challenge of the browser's cookie: looked at (`take` false) or taken.
async fn challenge_of(
    state: &AppState,
    headers: &HeaderMap,
    take: bool,
) -> Result<Option<Challenge>, GuiError> {
    let Some(token) = session::cookie_value(headers, CHALLENGE_COOKIE) else {
        return Ok(None);
    };
    Ok(state
        .store
        .challenge(&session::token_digest(&token), Timestamp::now(), take)
        .await?)
}

pub(super) async fn code_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, GuiError> {
    let next = safe_next(q.next.as_deref());
    match challenge_of(&state, &headers, false).await? {
        Some(c) if c.kind == ChallengeKind::Code => {}
        _ => return Ok(see_other("/login")),
    }
    let (csrf, cookie) = pre_session_csrf(&state, &headers);
    let page = CodePage {
        chrome: Chrome::anonymous("Two-factor sign-in", csrf),
        next,
    };
    Ok(with_cookie(render_status(StatusCode::OK, &page)?, cookie))
}

/// Counts the step with the throttle; `Err(response)` when it must wait instead.
async fn admit(
    state: &AppState,
    parts: &axum::http::request::Parts,
    challenge: &Challenge,
    next: &str,
) -> Result<Result<Subjects, Response>, GuiError> {
    let subjects = Subjects::new(&challenge.email, client_address(state, parts));
    match login_throttle::admit(&state.store, &subjects, Timestamp::now()).await? {
        None => Ok(Ok(subjects)),
        Some(wait) => Ok(Err(login_refused(
            state,
            &parts.headers,
            StatusCode::TOO_MANY_REQUESTS,
            &challenge.email,
            next,
            format!(
                "Too many failed sign-ins. Try again in {}.",
                login_throttle::describe(wait)
            ),
        )?)),
    }
}

/// A pre-session form post: the request's head and its form.
async fn read_form(request: Request) -> Result<(axum::http::request::Parts, FormData), GuiError> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, crate::limits::BODY_LIMIT)
        .await
        .map_err(|_| GuiError::TooLarge)?;
    Ok((parts, FormData::parse(&body)?))
}

pub(super) async fn code_submit(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, GuiError> {
    let (parts, form) = read_form(request).await?;
    let next = safe_next(Some(form.get("next")));
    let removal = challenge_removal(&state);
    let refused = |status, email: &str, error: &str| -> Result<Response, GuiError> {
        let mut r = login_refused(
            &state,
            &parts.headers,
            status,
            email,
            &next,
            error.to_owned(),
        )?;
        r.headers_mut().append(header::SET_COOKIE, removal.clone());
        Ok(r)
    };
    // Taken: whatever happens now, this challenge is not tried again.
    let challenge = match challenge_of(&state, &parts.headers, true).await? {
        Some(c) if c.kind == ChallengeKind::Code => c,
        _ => return refused(StatusCode::BAD_REQUEST, "", EXPIRED),
    };
    let subjects = match admit(&state, &parts, &challenge, &next).await? {
        Ok(s) => s,
        Err(mut wait) => {
            wait.headers_mut()
                .append(header::SET_COOKIE, removal.clone());
            return Ok(wait);
        }
    };
    let code = typed_code(form.get("code"));
    let ok = check_code(&state, &challenge, &code).await?;
    if !ok {
        tracing::info!(
            operator = challenge.operator_id,
            "GUI sign-in failed at the code step"
        );
        return refused(StatusCode::UNAUTHORIZED, &challenge.email, WRONG);
    }
    login_throttle::record_success(&state.store, &subjects).await?;
    let operator = state.store.get_operator(challenge.operator_id).await?;
    let cookie = session::start(&state.store, &operator, session::secure_cookies(&state)).await?;
    tracing::info!(operator = operator.id, "GUI sign-in with a second factor");
    let mut response = see_other(&next);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response.headers_mut().append(header::SET_COOKIE, removal);
    Ok(response)
}

/// Is `code` the operator's current code (not used before) or an unused recovery code? Only
/// a challenge whose password was right uses anything up; the other gets the same checks.
async fn check_code(state: &AppState, challenge: &Challenge, code: &str) -> Result<bool, GuiError> {
    let Some((secret, true)) = state.store.totp_secret(challenge.operator_id).await? else {
        return Ok(false);
    };
    if totp::looks_like_totp_code(code) {
        let step = secret.matching_step(code, state.clock.now());
        return Ok(match step {
            Some(step) if challenge.password_ok => {
                state
                    .store
                    .accept_totp_step(challenge.operator_id, step, None)
                    .await?
            }
            _ => false,
        });
    }
    if code.is_empty() || !challenge.password_ok {
        return Ok(false);
    }
    Ok(state
        .store
        .use_recovery_code(challenge.operator_id, &totp::recovery_code_digest(code))
        .await?)
}

/// The enrolment of an operator signing in where two-factor sign-in is required.
pub(super) async fn enrol_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, GuiError> {
    let next = safe_next(q.next.as_deref());
    let Some(challenge) = challenge_of(&state, &headers, false).await? else {
        return Ok(see_other("/login"));
    };
    if challenge.kind != ChallengeKind::Enrol || !challenge.password_ok {
        return Ok(see_other("/login"));
    }
    let Some(page) = enrol_form(&state, &headers, &challenge, next).await? else {
        return Ok(see_other("/login"));
    };
    let (_, cookie) = pre_session_csrf(&state, &headers);
    Ok(with_cookie(render_status(StatusCode::OK, &page)?, cookie))
}

async fn enrol_form(
    state: &AppState,
    headers: &HeaderMap,
    challenge: &Challenge,
    next: String,
) -> Result<Option<EnrolPage>, GuiError> {
    let Some(secret) = state
        .store
        .pending_totp_secret(challenge.operator_id, Timestamp::now())
        .await?
    else {
        return Ok(None);
    };
    let (csrf, _) = pre_session_csrf(state, headers);
    let chrome = Chrome::anonymous("Set up two-factor sign-in", csrf);
    Ok(Some(EnrolPage::new(
        chrome,
        &secret,
        &challenge.email,
        "/login/enrol",
        next,
        true,
    )?))
}

pub(super) async fn enrol_submit(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, GuiError> {
    let (parts, form) = read_form(request).await?;
    let next = safe_next(Some(form.get("next")));
    let challenge = match challenge_of(&state, &parts.headers, false).await? {
        Some(c) if c.kind == ChallengeKind::Enrol && c.password_ok => c,
        _ => {
            return login_refused(
                &state,
                &parts.headers,
                StatusCode::BAD_REQUEST,
                "",
                &next,
                EXPIRED.into(),
            )
        }
    };
    let subjects = match admit(&state, &parts, &challenge, &next).await? {
        Ok(s) => s,
        Err(wait) => return Ok(wait),
    };
    // The operator enrols themselves, between the password and their first session.
    let operator = state.store.get_operator(challenge.operator_id).await?;
    let who = Who::new(
        Actor::Operator {
            id: operator.id,
            name: operator.name.clone(),
        },
        client_address(&state, &parts),
    );
    let codes =
        match confirm_enrolment(&state, challenge.operator_id, form.get("code"), &who).await? {
            Confirmed::Yes(codes) => codes,
            Confirmed::NotPending => return Ok(see_other("/login")),
            Confirmed::WrongCode => {
                let Some(page) = enrol_form(&state, &parts.headers, &challenge, next).await? else {
                    return Ok(see_other("/login"));
                };
                return render_status(StatusCode::BAD_REQUEST, &page.with_error(WRONG_FIRST_CODE));
            }
        };
    // The challenge is done with; the sign-in succeeded.
    challenge_of(&state, &parts.headers, true).await?;
    login_throttle::record_success(&state.store, &subjects).await?;
    let operator = state.store.get_operator(challenge.operator_id).await?;
    let cookie = session::start(&state.store, &operator, session::secure_cookies(&state)).await?;
    tracing::info!(
        operator = operator.id,
        "two-factor sign-in set up while signing in"
    );
    let (csrf, _) = pre_session_csrf(&state, &parts.headers);
    let page = RecoveryPage::new(Chrome::anonymous("Your recovery codes", csrf), &codes, next);
    let mut response = render_status(StatusCode::OK, &page)?;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
        .headers_mut()
        .append(header::SET_COOKIE, challenge_removal(&state));
    Ok(response)
}
