//! An operator's own two-factor sign-in: its state, setting it up, turning it off.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{confirm_enrolment, Confirmed, EnrolPage, RecoveryPage, WRONG_FIRST_CODE};
use crate::domain::{Busy, Timestamp};
use crate::gui::form::FormData;
use crate::gui::page::{render_status, see_other, Chrome, GuiError, Nav};
use crate::gui::session::Session;
use crate::state::AppState;
use crate::store::TwoFactor;

#[derive(Template)]
#[template(path = "gui/two_factor/account.html")]
struct AccountPage {
    chrome: Chrome,
    on: bool,
    recovery_codes: i64,
    required: bool,
    error: Option<String>,
}

async fn account_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, GuiError> {
    let two_factor = state.store.two_factor(session.operator.id).await?;
    let (on, recovery_codes) = match two_factor {
        TwoFactor::On { recovery_codes } => (true, recovery_codes),
        _ => (false, 0),
    };
    let page = AccountPage {
        chrome: Chrome::new(session, Nav::Account, "Two-factor sign-in"),
        on,
        recovery_codes,
        required: state.settings.get().require_two_factor,
        error,
    };
    render_status(status, &page)
}

pub(super) async fn page(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, GuiError> {
    account_page(&state, &session, StatusCode::OK, None).await
}

async fn enrol_page(state: &AppState, session: &Session) -> Result<Option<EnrolPage>, GuiError> {
    let Some(secret) = state
        .store
        .pending_totp_secret(session.operator.id, Timestamp::now())
        .await?
    else {
        return Ok(None);
    };
    let chrome = Chrome::new(session, Nav::Account, "Set up two-factor sign-in");
    Ok(Some(EnrolPage::new(
        chrome,
        &secret,
        &session.operator.email,
        "/account/two-factor/confirm",
        String::new(),
        false,
    )?))
}

/// Starts (or shows again) an enrolment: the QR code and the secret.
pub(super) async fn setup(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, GuiError> {
    match enrol_page(&state, &session).await? {
        Some(page) => render_status(StatusCode::OK, &page),
        None => Ok(see_other("/account/two-factor")),
    }
}

/// The first code: when it is right, two-factor sign-in is on, and the recovery codes show.
pub(super) async fn confirm(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> Result<Response, GuiError> {
    let form = FormData::parse(&body)?;
    let id = session.operator.id;
    let codes = match confirm_enrolment(&state, id, form.get("code"), &session.who()).await? {
        Confirmed::Yes(codes) => codes,
        Confirmed::NotPending => return Ok(see_other("/account/two-factor")),
        Confirmed::WrongCode => {
            let Some(page) = enrol_page(&state, &session).await? else {
                return Ok(see_other("/account/two-factor"));
            };
            return render_status(StatusCode::BAD_REQUEST, &page.with_error(WRONG_FIRST_CODE));
        }
    };
    tracing::info!(operator = id, "two-factor sign-in turned on");
    let page = RecoveryPage::new(
        Chrome::new(&session, Nav::Account, "Your recovery codes"),
        &codes,
        "/account/two-factor".into(),
    );
    render_status(StatusCode::OK, &page)
}

/// Turns it off, with the password as proof (not where it is required: an administrator
/// resets it there).
pub(super) async fn disable(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> Result<Response, GuiError> {
    let form = FormData::parse(&body)?;
    if state.settings.get().require_two_factor {
        return account_page(
            &state,
            &session,
            StatusCode::CONFLICT,
            Some("Two-factor sign-in is required here, so it cannot be turned off. An administrator can reset it if your app is lost.".into()),
        )
        .await;
    }
    match session
        .password_matches(&state, form.get("password"))
        .await?
    {
        Ok(true) => {}
        Ok(false) => {
            return account_page(
                &state,
                &session,
                StatusCode::BAD_REQUEST,
                Some("This is not your password: two-factor sign-in stays on.".into()),
            )
            .await
        }
        Err(Busy) => {
            return account_page(
                &state,
                &session,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(Busy::MESSAGE.into()),
            )
            .await
        }
    }
    state
        .store
        .reset_two_factor(session.operator.id, &session.who())
        .await?;
    tracing::info!(
        operator = session.operator.id,
        "two-factor sign-in turned off"
    );
    Ok(see_other("/account/two-factor"))
}
