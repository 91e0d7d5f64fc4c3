//! Who a ticket will email, as the form shows it, and the token (`recipients_seen`) that
//! proves the form showed it before a ticket is posted with "Notify customers" ticked.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::gui::page::GuiError;
use crate::gui::session::Session;
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// What the form says about who will be emailed, and the token that proves it was shown.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Recipients {
    pub count: i64,
    /// What `recipients_seen` must say for a post to go ahead.
    pub key: String,
    pub text: String,
}

pub(super) async fn recipients_of(
    store: &Store,
    services: &[i64],
) -> Result<Recipients, StoreError> {
    let mut ids = services.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let count = store.count_recipients(&ids).await?;
    let joined: Vec<String> = ids.iter().map(i64::to_string).collect();
    let text = match (ids.len(), count) {
        (0, _) => "No service is selected, so nobody will be emailed.".to_owned(),
        (_, 0) => "Nobody with an email address follows these services yet.".to_owned(),
        (_, 1) => "1 customer will be emailed.".to_owned(),
        (_, n) => format!("{n} customers will be emailed."),
    };
    Ok(Recipients {
        count,
        key: format!("{}:{count}", joined.join(",")),
        text,
    })
}

#[derive(Deserialize)]
pub(super) struct RecipientsQuery {
    services: Option<String>,
}

/// `GET /tickets/recipients?services=1,3`: the number the new-ticket form shows (for its script).
pub(super) async fn recipients(
    State(state): State<AppState>,
    _session: Session,
    Query(q): Query<RecipientsQuery>,
) -> Result<Response, GuiError> {
    let ids: Vec<i64> = q
        .services
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Ok(Json(recipients_of(&state.store, &ids).await?).into_response())
}
