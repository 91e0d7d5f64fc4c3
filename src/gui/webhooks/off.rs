//! The webhooks Herald turned off (a 410, or failing for the whole retry window) and nobody
//! turned on again: "its operators are told in the GUI", on the webhooks list and at the head
//! of the tickets list, until an administrator turns it on again or deletes it.

use crate::domain::webhook::url_host;
use crate::gui::page::When;
use crate::store::{Store, StoreError};

/// One webhook Herald turned off.
#[derive(Debug, Clone)]
pub struct Off {
    pub id: i64,
    pub url: String,
    /// The URL's host alone, for operators who are not administrators (a Slack or Teams URL
    /// is itself a secret).
    pub host: String,
    pub when: When,
    pub reason: String,
}

/// The notice: every webhook Herald turned off (none: no notice).
#[derive(Debug, Clone, Default)]
pub struct TurnedOff(pub Vec<Off>);

impl TurnedOff {
    pub async fn read(store: &Store) -> Result<TurnedOff, StoreError> {
        let now = store.now();
        let off = store
            .deactivated_webhooks()
            .await?
            .into_iter()
            .filter_map(|w| {
                let (at, reason) = w.deactivated?;
                Some(Off {
                    id: w.id,
                    host: url_host(&w.url),
                    url: w.url,
                    when: When::of(at, now),
                    reason,
                })
            })
            .collect();
        Ok(TurnedOff(off))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
