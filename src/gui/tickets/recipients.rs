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
    /// Followers left out because their address opted out.
    pub opted_out: i64,
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
    let found = store.count_recipients(&ids).await?;
    let count = found.emailed;
    let joined: Vec<String> = ids.iter().map(i64::to_string).collect();
    Ok(Recipients {
        count,
        // The opted-out count too, when there is one: an opt-out meanwhile changes what was shown.
        key: match found.opted_out {
            0 => format!("{}:{count}", joined.join(",")),
            n => format!("{}:{count}:{n}", joined.join(",")),
        },
        text: recipients_text(ids.len(), found),
        opted_out: found.opted_out,
    })
}

/// What the form says about who will be emailed; followers who opted out are not counted, and
/// said apart.
fn recipients_text(services: usize, found: crate::store::Recipients) -> String {
    let emailed = match (services, found.emailed) {
        (0, _) => return "No service is selected, so nobody will be emailed.".to_owned(),
        (_, 0) if found.opted_out == 0 => {
            return "Nobody with an email address follows these services yet.".to_owned()
        }
        (_, 0) => "Nobody will be emailed.".to_owned(),
        (_, 1) => "1 customer will be emailed.".to_owned(),
        (_, n) => format!("{n} customers will be emailed."),
    };
    match found.opted_out {
        0 => emailed,
        1 => format!("{emailed} 1 follower opted out and is left out."),
        n => format!("{emailed} {n} followers opted out and are left out."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Recipients as Found;

    #[test]
    fn opted_out_followers_are_said_apart() {
        let text = |emailed, opted_out| recipients_text(1, Found { emailed, opted_out });
        assert_eq!(text(2, 0), "2 customers will be emailed.");
        assert_eq!(
            text(1, 1),
            "1 customer will be emailed. 1 follower opted out and is left out."
        );
        assert_eq!(
            text(0, 3),
            "Nobody will be emailed. 3 followers opted out and are left out."
        );
        assert_eq!(
            text(0, 0),
            "Nobody with an email address follows these services yet."
        );
    }
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
