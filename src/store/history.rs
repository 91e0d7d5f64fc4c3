//! Ticket events in `ticket_events`: recorded in the transaction of the change itself, with who
//! caused it, whether customers are to be emailed, and the fields it changed (JSON).
//!
//! The changes are stored as `[{"field": "StartTime", "before": null, "after": {"time": 9783…}}]`:
//! times as 100 ns ticks, text as `{"text": …}`. The first release stored every value as the
//! API's text (`"2001-01-01T12:00:00Z"`); such rows still read, their times parsed back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{flag, rows, Store, StoreError};
use crate::domain::ticket::EventKind;
use crate::domain::{
    FieldChange, FieldValue, Ticket, TicketChange, TicketEvent, TicketField, Timestamp,
};

/// One stored field change.
#[derive(Serialize, Deserialize)]
struct StoredChange {
    field: String,
    before: Option<StoredValue>,
    after: Option<StoredValue>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StoredValue {
    /// The first release's form: the value as the API showed it.
    Legacy(String),
    Typed(Typed),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Typed {
    Text(String),
    Time(i64),
}

impl StoredChange {
    fn new(change: &FieldChange) -> Self {
        let value = |v: &FieldValue| {
            StoredValue::Typed(match v {
                FieldValue::Text(s) => Typed::Text(s.clone()),
                FieldValue::Time(ts) => Typed::Time(ts.ticks()),
            })
        };
        StoredChange {
            field: change.field.name().to_owned(),
            before: change.before.as_ref().map(value),
            after: change.after.as_ref().map(value),
        }
    }

    /// The change; `None` for a field this version does not know.
    fn into_change(self) -> Option<FieldChange> {
        let field = TicketField::parse(&self.field)?;
        let value = |v: StoredValue| match v {
            StoredValue::Typed(Typed::Text(s)) => FieldValue::Text(s),
            StoredValue::Typed(Typed::Time(ticks)) => {
                FieldValue::Time(Timestamp::from_ticks(ticks))
            }
            StoredValue::Legacy(s) if field.is_time() => match legacy_time(&s) {
                Some(ts) => FieldValue::Time(ts),
                None => FieldValue::Text(s),
            },
            StoredValue::Legacy(s) => FieldValue::Text(s),
        };
        Some(FieldChange {
            field,
            before: self.before.map(value),
            after: self.after.map(value),
        })
    }
}

/// A time as the first release wrote it into history (RFC 3339 in UTC, `…Z`).
fn legacy_time(text: &str) -> Option<Timestamp> {
    let dt = DateTime::parse_from_rfc3339(text).ok()?;
    Some(Timestamp::from_chrono(dt.with_timezone(&Utc)))
}

pub(super) fn changes_json(changes: &[FieldChange]) -> String {
    let stored: Vec<StoredChange> = changes.iter().map(StoredChange::new).collect();
    serde_json::to_string(&stored).expect("field changes always serialize")
}

/// The changes stored in `json`; unreadable ones are left out (history is shown, never acted on).
fn changes_of(json: &str) -> Vec<FieldChange> {
    serde_json::from_str::<Vec<StoredChange>>(json)
        .unwrap_or_default()
        .into_iter()
        .filter_map(StoredChange::into_change)
        .collect()
}

impl Store {
    /// The events of a ticket, oldest first.
    pub async fn ticket_events(&self, ticket_id: i64) -> Result<Vec<TicketEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, ticket_id, kind, at, actor, actor_operator_id, notify, changes \
             FROM ticket_events WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(ticket_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}

fn event_from_row(row: &AnyRow) -> Result<TicketEvent, StoreError> {
    let kind: String = row.try_get("kind")?;
    let changes: String = row.try_get("changes")?;
    Ok(TicketEvent {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Config(format!("unknown event kind {kind}")))?,
        at: Timestamp::from_ticks(row.try_get("at")?),
        actor: row.try_get("actor")?,
        actor_operator_id: row.try_get("actor_operator_id")?,
        notify: rows::flag(row, "notify")?,
        changes: changes_of(&changes),
    })
}

/// Records an event of `ticket` in the change's transaction.
pub(super) async fn record_event(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    kind: EventKind,
    change: &TicketChange,
    changes: Vec<FieldChange>,
    at: Timestamp,
) -> Result<TicketEvent, StoreError> {
    let actor = change.actor.label();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_events (ticket_id, kind, at, actor_operator_id, actor, notify, changes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(ticket.id)
    .bind(kind.as_str())
    .bind(at.ticks())
    .bind(change.actor.operator_id())
    .bind(&actor)
    .bind(flag(change.notify))
    .bind(changes_json(&changes))
    .fetch_one(&mut *tx)
    .await?;
    Ok(TicketEvent {
        id,
        ticket_id: ticket.id,
        kind,
        at,
        actor,
        actor_operator_id: change.actor.operator_id(),
        notify: change.notify,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_changes_round_trip() {
        let changes = vec![
            FieldChange {
                field: TicketField::Description,
                before: Some(FieldValue::Text("2001-01-01T12:00:00Z".into())),
                after: Some(FieldValue::Text("b".into())),
            },
            FieldChange {
                field: TicketField::StartTime,
                before: None,
                after: Some(FieldValue::Time(Timestamp::from_ticks(
                    9_783_503_999_999_999,
                ))),
            },
        ];
        let json = changes_json(&changes);
        assert!(json.contains(r#"{"time":9783503999999999}"#), "{json}");
        assert_eq!(changes_of(&json), changes);
    }

    #[test]
    fn first_release_rows_read_with_their_times() {
        let json = r#"[{"field":"Description","before":null,"after":"2001-01-01T12:00:00Z"},
            {"field":"ClosedTime","before":"2001-01-01T12:00:00.5Z","after":"not a time"},
            {"field":"Gone","before":null,"after":"x"}]"#;
        let changes = changes_of(json);
        assert_eq!(changes.len(), 2, "an unknown field is left out");
        assert_eq!(
            changes[0].after,
            Some(FieldValue::Text("2001-01-01T12:00:00Z".into())),
            "a description that looks like a time stays text"
        );
        assert_eq!(
            changes[1].before,
            Some(FieldValue::Time(Timestamp::from_ticks(
                9_783_504_005_000_000
            )))
        );
        assert_eq!(
            changes[1].after,
            Some(FieldValue::Text("not a time".into()))
        );
        assert!(changes_of("not json").is_empty());
    }
}
