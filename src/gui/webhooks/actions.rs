//! The buttons of the webhooks beside their forms: send a test event now (signed, as events
//! are; the receiver's answer shown on the list), give a webhook a new secret (shown once), and
//! turn on again a webhook Herald turned off. The last two carry the webhook's version, checked
//! in the store's transaction like the edit form's, and are audited as every change is.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use super::{list_page, SecretPage};
use crate::domain::{NewWebhook, Webhook, WebhookSecret, WebhookUrl};
use crate::gui::form::FormData;
use crate::gui::page::{parse_id, render_status, Chrome, GuiError, Nav, Notice};
use crate::gui::resource::version_tag;
use crate::gui::session::Admin;
use crate::gui::settings::TestResult;
use crate::state::AppState;
use crate::store::StoreError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{id}/test", post(test_event))
        .route("/webhooks/{id}/secret", post(new_secret))
        .route("/webhooks/{id}/reactivate", post(reactivate))
}

/// Sends the webhook a signed test event now, whatever its state, and shows the answer.
async fn test_event(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    // Not a webhook: no page, and nothing sent.
    state.store.get_webhook(id).await?;
    let language = state.settings.get().default_language.as_str().to_owned();
    let result =
        crate::notify::webhook::send_test_event(&state.store, &state.templates, &language, id)
            .await;
    let outcome = TestResult::of(
        result,
        "The receiver accepted the test event: ",
        "The test event was not accepted: ",
    );
    let chrome = Chrome::new(&session, Nav::Webhooks, "Webhooks");
    let page = list_page(&state, chrome, Some((id, outcome))).await?;
    render_status(StatusCode::OK, &page)
}

/// The webhook's fields as they are, to save again with one change.
fn as_is(w: &Webhook) -> Result<NewWebhook, GuiError> {
    let url = WebhookUrl::parse(&w.url)
        .map_err(|e| GuiError::Internal(anyhow::anyhow!("a stored webhook URL: {e}")))?;
    Ok(NewWebhook {
        url,
        services: w.services.clone(),
        format: w.format,
        secret: None,
        is_active: w.is_active,
    })
}

/// Saves `change` of the webhook `id` if it is still at the version the page showed; `None`
/// when it was changed meanwhile (nothing saved).
async fn change(
    state: &AppState,
    session: &crate::gui::session::Session,
    id: i64,
    body: &[u8],
    change: impl FnOnce(NewWebhook) -> NewWebhook,
) -> Result<Option<Webhook>, GuiError> {
    let form = FormData::parse(body)?;
    let version = form.get("version").to_owned();
    let current = state.store.get_webhook(id).await?;
    let new = change(as_is(&current)?);
    let check = |w: &Webhook| version.is_empty() || version == version_tag(w);
    match state
        .store
        .update_webhook(id, &new, Some(&check), &session.who())
        .await
    {
        Ok(saved) => Ok(Some(saved)),
        Err(StoreError::PreconditionFailed) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A new secret for the webhook, shown once; the old one stops working at once.
async fn new_secret(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let secret = WebhookSecret::generate();
    let given = secret.clone();
    let saved = change(&state, &session, id, &body, move |new| NewWebhook {
        secret: Some(given),
        ..new
    })
    .await?;
    let Some(saved) = saved else {
        return Ok(Notice::WebhookChanged.redirect(&format!("/webhooks/{id}")));
    };
    Ok(SecretPage {
        chrome: Chrome::new(&session, Nav::Webhooks, "New webhook secret"),
        id: saved.id,
        url: saved.url,
        secret: secret.expose().to_owned(),
        created: false,
    }
    .answer())
}

/// Turns on again a webhook that is off (Herald's reason and time are cleared).
async fn reactivate(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let on = |new| NewWebhook {
        is_active: true,
        ..new
    };
    match change(&state, &session, id, &body, on).await? {
        Some(_) => Ok(Notice::WebhookReactivated.redirect("/webhooks")),
        None => Ok(Notice::WebhookChanged.redirect(&format!("/webhooks/{id}"))),
    }
}
