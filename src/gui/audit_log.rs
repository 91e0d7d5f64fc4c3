//! `/audit`: the audit log for administrators, newest first, a page at a time, filtered by
//! entity, actor and time range; each entry's changed properties shown old → new.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::Value;

use super::page::{render, Chrome, GuiError, Nav, Paging, When};
use super::session::Admin;
use crate::domain::audit::{AuditEntity, AuditEntry};
use crate::domain::Timestamp;
use crate::state::AppState;
use crate::store::{AuditFilter, AuditOrder};
use crate::wire::datetime;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(page))
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    entity: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

/// One changed property of an entry.
struct Change {
    property: String,
    old: String,
    new: String,
}

struct Row {
    when: When,
    entity: &'static str,
    entity_id: Option<i64>,
    action: &'static str,
    actor: String,
    address: String,
    changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "gui/audit.html")]
struct AuditPage {
    chrome: Chrome,
    entities: Vec<&'static str>,
    entity: String,
    actor: String,
    from: String,
    to: String,
    /// Filters that could not be read, for people.
    errors: Vec<String>,
    rows: Vec<Row>,
    paging: Paging,
    total: i64,
    /// The query string of the filters, for the paging links.
    filters: String,
}

/// A value as the page shows it: text as itself, null as "—", anything else as JSON.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn changes(entry: &AuditEntry) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let object = |v: &Option<Value>| match v {
        Some(Value::Object(m)) => m.clone(),
        _ => empty.clone(),
    };
    let (old, new) = (object(&entry.old_values), object(&entry.new_values));
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| Change {
            property: name.clone(),
            old: shown(old.get(name)),
            new: shown(new.get(name)),
        })
        .collect()
}

async fn page(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Response, GuiError> {
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
    let (entity, actor, from, to) = (text(&q.entity), text(&q.actor), text(&q.from), text(&q.to));
    let mut errors = Vec::new();
    let mut time = |label: &str, value: &str| -> Option<Timestamp> {
        if value.is_empty() {
            return None;
        }
        let parsed = datetime::parse(value);
        if parsed.is_none() {
            errors.push(format!(
                "{label}: {value:?} is not a date and time such as 2026-12-01T09:00."
            ));
        }
        parsed
    };
    let filter = AuditFilter {
        entity: AuditEntity::parse(&entity),
        entity_id: None,
        actor: Some(actor.clone()).filter(|a| !a.is_empty()),
        from: time("From", &from),
        to: time("To", &to),
    };
    let total = state.store.count_audit(&filter).await?;
    let paging = Paging::of(total, q.page.as_deref());
    let entries: Vec<AuditEntry> = state
        .store
        .list_audit(filter, AuditOrder::Newest, paging.window())
        .try_collect()
        .await?;
    let now = Timestamp::now();
    let rows = entries
        .iter()
        .map(|e| Row {
            when: When::of(e.at, now),
            entity: e.entity.name(),
            entity_id: e.entity_id,
            action: e.action.name(),
            actor: e.actor.clone(),
            address: e.client_address.clone().unwrap_or_default(),
            changes: changes(e),
        })
        .collect();
    let filters = form_urlencoded::Serializer::new(String::new())
        .append_pair("entity", &entity)
        .append_pair("actor", &actor)
        .append_pair("from", &from)
        .append_pair("to", &to)
        .finish();
    render(&AuditPage {
        chrome: Chrome::new(&session, Nav::Audit, "Audit log"),
        entities: AuditEntity::ALL.iter().map(|e| e.name()).collect(),
        entity,
        actor,
        from,
        to,
        errors,
        rows,
        paging,
        total,
        filters,
    })
}
