//! The audit log (`GET /api/AuditLog`): who changed what, when, from where, and what it was
//! before.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::resource::Page;
use crate::{Client, Error, Format};

/// One recorded change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditEntry {
    pub id: i64,
    pub time: DateTime<Utc>,
    /// `Ticket`, `Customer`, `Service`, `Operator` or `Settings`.
    pub entity: String,
    #[serde(default)]
    pub entity_id: Option<i64>,
    /// `Created`, `Updated` or `Deleted`.
    pub action: String,
    /// `API key`, `command line`, or the operator's name.
    pub actor: String,
    #[serde(default)]
    pub actor_operator_id: Option<i64>,
    #[serde(default)]
    pub client_address: Option<String>,
    /// The changed properties before the change, by their wire names.
    #[serde(default)]
    pub old_values: Option<serde_json::Value>,
    /// The changed properties after the change.
    #[serde(default)]
    pub new_values: Option<serde_json::Value>,
}

/// Which entries to read: filters and a page.
///
/// ```
/// # use herald_client::{AuditFilter, Page};
/// let ticket_history = AuditFilter::of("Ticket", 7).page(Page::first(20));
/// assert_eq!(ticket_history.entity_id, Some(7));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    pub actor: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page: Page,
}

impl AuditFilter {
    /// The entries of one entity (`"Ticket"`, 7).
    pub fn of(entity: impl Into<String>, id: i64) -> AuditFilter {
        AuditFilter {
            entity: Some(entity.into()),
            entity_id: Some(id),
            ..Default::default()
        }
    }

    /// Only changes by `actor` (`"API key"`, `"command line"` or an operator's name).
    pub fn by(mut self, actor: impl Into<String>) -> AuditFilter {
        self.actor = Some(actor.into());
        self
    }

    /// Only changes at or after `from` and before `to`.
    pub fn between(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> AuditFilter {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    pub fn page(mut self, page: Page) -> AuditFilter {
        self.page = page;
        self
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(e) = &self.entity {
            q.push(("entity", e.clone()));
        }
        if let Some(id) = self.entity_id {
            q.push(("entityId", id.to_string()));
        }
        if let Some(a) = &self.actor {
            q.push(("actor", a.clone()));
        }
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        if let Some(t) = &self.from {
            q.push(("from", time(t)));
        }
        if let Some(t) = &self.to {
            q.push(("to", time(t)));
        }
        q.extend(self.page.query());
        q
    }
}

impl Client {
    /// The audit log's entries that pass `filter`, oldest first (`GET /api/AuditLog`). The
    /// old and new values are free-form, so the log is always read as JSON, whatever the
    /// client's format.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, Error> {
        let json = self.clone().with_format(Format::Json);
        let request = json.request(Method::GET, "api/AuditLog", &filter.query());
        let response = json.send(request).await?;
        Client::read_list(response).await
    }
}
