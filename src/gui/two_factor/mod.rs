//! Two-factor sign-in (TOTP, RFC 6238): the sign-in's second step ([`signin`]), an operator
//! turning it on and off ([`account`]), an administrator resetting it ([`admin`]), and the
//! pages they share: the enrolment page with its QR code ([`qr`], drawn by Herald) and the
//! recovery codes, shown once.
//!
//! After a right password (and, on an account with two-factor sign-in, after a wrong one too)
//! the browser gets a challenge: a random token in the `herald_signin` cookie whose digest the
//! database keeps for five minutes ([`crate::store::Challenge`]). The code step takes it, so
//! each challenge is tried once; every code step is counted by the sign-in throttle like a
//! password, and its failures are only forgiven when the whole sign-in succeeds.

mod account;
mod admin;
mod qr;
mod signin;

use std::time::Duration;

use askama::Template;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::page::{see_other, urlencode, Chrome, GuiError};
use super::session;
use crate::domain::audit::Who;
use crate::domain::totp::{self, TotpSecret};
use crate::domain::{Operator, Timestamp};
use crate::secret::Secret;
use crate::state::AppState;
use crate::store::{Challenge, ChallengeKind};

/// The cookie that carries a sign-in between its steps.
pub const CHALLENGE_COOKIE: &str = "herald_signin";
/// How long the code step may wait for.
const CODE_STEP_LASTS: Duration = Duration::from_secs(5 * 60);
/// Setting up an app takes longer than typing a code.
const ENROL_STEP_LASTS: Duration = Duration::from_secs(15 * 60);
/// The name apps show the account under.
const ISSUER: &str = "Herald";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/login/code",
            get(signin::code_page).post(signin::code_submit),
        )
        .route(
            "/login/enrol",
            get(signin::enrol_page).post(signin::enrol_submit),
        )
        .route("/account/two-factor", get(account::page))
        .route("/account/two-factor/setup", post(account::setup))
        .route("/account/two-factor/confirm", post(account::confirm))
        .route("/account/two-factor/disable", post(account::disable))
        .route("/operators/{id}/two-factor", get(admin::page))
        .route("/operators/{id}/two-factor/reset", post(admin::reset))
}

/// After the password step: stores a challenge and sends the browser to its step.
pub(super) async fn begin(
    state: &AppState,
    operator: &Operator,
    email: &str,
    password_ok: bool,
    kind: ChallengeKind,
    next: &str,
) -> Result<Response, GuiError> {
    let token = session::random_token();
    let now = Timestamp::now();
    let lasts = match kind {
        ChallengeKind::Code => CODE_STEP_LASTS,
        ChallengeKind::Enrol => ENROL_STEP_LASTS,
    };
    let challenge = Challenge {
        operator_id: operator.id,
        email: email.to_owned(),
        kind,
        password_ok,
    };
    state
        .store
        .create_challenge(
            &session::token_digest(&token),
            &challenge,
            now,
            now.plus(lasts),
        )
        .await?;
    tracing::info!(
        operator = operator.id,
        "GUI sign-in: second step ({})",
        match kind {
            ChallengeKind::Code => "code",
            ChallengeKind::Enrol => "enrolment",
        }
    );
    let path = match kind {
        ChallengeKind::Code => "/login/code",
        ChallengeKind::Enrol => "/login/enrol",
    };
    let mut response = see_other(&format!("{path}?next={}", urlencode(next)));
    response
        .headers_mut()
        .append(header::SET_COOKIE, challenge_cookie(state, &token, lasts));
    Ok(response)
}

fn challenge_cookie(state: &AppState, token: &str, lasts: Duration) -> HeaderValue {
    let age = cookie::time::Duration::seconds(i64::try_from(lasts.as_secs()).unwrap_or(300));
    session::cookie_header(
        CHALLENGE_COOKIE,
        token,
        session::secure_cookies(state),
        Some(age),
    )
}

fn challenge_removal(state: &AppState) -> HeaderValue {
    session::removal_header(CHALLENGE_COOKIE, session::secure_cookies(state))
}

/// The enrolment page: the QR code, the secret as text, and the form for the first code.
#[derive(Template)]
#[template(path = "gui/two_factor/enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    qr_svg: String,
    secret_text: String,
    /// Where the code is posted.
    action: &'static str,
    next: String,
    /// Whether this is the sign-in's enrolment (two-factor sign-in is required).
    required: bool,
    error: Option<String>,
}

impl EnrolPage {
    fn new(
        chrome: Chrome,
        secret: &TotpSecret,
        account: &str,
        action: &'static str,
        next: String,
        required: bool,
    ) -> Result<EnrolPage, GuiError> {
        let url = secret.otpauth_url(ISSUER, account);
        Ok(EnrolPage {
            chrome,
            qr_svg: qr::svg(&url)?,
            secret_text: spaced(&secret.expose_base32()),
            action,
            next,
            required,
            error: None,
        })
    }

    fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// Base32 in groups of four, easier to type.
fn spaced(text: &str) -> String {
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The recovery codes, shown this once.
#[derive(Template)]
#[template(path = "gui/two_factor/recovery.html")]
struct RecoveryPage {
    chrome: Chrome,
    codes: Vec<String>,
    continue_to: String,
}

/// Fresh recovery codes, and the digests to store.
fn new_recovery_codes() -> (Vec<Secret<String>>, Vec<String>) {
    let codes = totp::generate_recovery_codes();
    let digests = codes
        .iter()
        .map(|c| totp::recovery_code_digest(c.expose()))
        .collect();
    (codes, digests)
}

impl RecoveryPage {
    fn new(chrome: Chrome, codes: &[Secret<String>], continue_to: String) -> RecoveryPage {
        RecoveryPage {
            chrome,
            codes: codes.iter().map(|c| c.expose().clone()).collect(),
            continue_to,
        }
    }
}

const WRONG_FIRST_CODE: &str =
    "That code is not the one your app shows now. Check the app's clock, and type the newest code.";

/// The outcome of an enrolment's first code.
enum Confirmed {
    /// On now, with these recovery codes (to show once).
    Yes(Vec<Secret<String>>),
    WrongCode,
    /// No enrolment is waiting (never started, or already on).
    NotPending,
}

/// Turns a pending enrolment on when `code` is its app's current code.
async fn confirm_enrolment(
    state: &AppState,
    operator_id: i64,
    code: &str,
    who: &Who,
) -> Result<Confirmed, GuiError> {
    let Some((secret, false)) = state.store.totp_secret(operator_id).await? else {
        return Ok(Confirmed::NotPending);
    };
    let Some(step) = secret.matching_step(&typed_code(code), state.clock.now()) else {
        return Ok(Confirmed::WrongCode);
    };
    let (codes, digests) = new_recovery_codes();
    if state
        .store
        .accept_totp_step(operator_id, step, Some((&digests, who)))
        .await?
    {
        Ok(Confirmed::Yes(codes))
    } else {
        Ok(Confirmed::WrongCode)
    }
}

/// What was typed as a code, without the spaces people put in.
fn typed_code(text: &str) -> String {
    text.trim().to_owned()
}
