//! An administrator resetting an operator's two-factor sign-in (a lost phone): the operator
//! signs in with the password alone afterwards, or sets it up again where it is required.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::domain::Operator;
use crate::gui::page::{parse_id, render_status, see_other, Chrome, GuiError, Nav};
use crate::gui::session::Admin;
use crate::state::AppState;
use crate::store::TwoFactor;

#[derive(Template)]
#[template(path = "gui/two_factor/admin.html")]
struct AdminPage {
    chrome: Chrome,
    operator: Operator,
    state: &'static str,
    required: bool,
}

pub(super) async fn page(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let operator = state.store.get_operator(parse_id(&id)?).await?;
    let two_factor = state.store.two_factor(operator.id).await?;
    let page = AdminPage {
        chrome: Chrome::new(&session, Nav::Operators, "Two-factor sign-in"),
        state: match two_factor {
            TwoFactor::On { .. } => "on",
            TwoFactor::Pending => "being set up",
            TwoFactor::Off => "off",
        },
        operator,
        required: state.settings.get().require_two_factor,
    };
    render_status(StatusCode::OK, &page)
}

pub(super) async fn reset(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let operator = state.store.get_operator(parse_id(&id)?).await?;
    if state
        .store
        .reset_two_factor(operator.id, &session.who())
        .await?
    {
        tracing::info!(
            operator = operator.id,
            by = session.operator.id,
            "two-factor sign-in reset by an administrator"
        );
    }
    Ok(see_other(&format!("/operators/{}/two-factor", operator.id)))
}
