//! The audit log: each change recorded in the transaction of the change itself, so a change
//! that is refused or rolled back leaves no entry, and a committed one always has its entry.
//!
//! What is written comes from the entities' audit views ([`Audited`]), which hold no secret;
//! the settings' view writes the values of the declared non-secret settings only, and for
//! every other stored setting (the API key's digest, the mail server URL with its password)
//! only whether it changed.

use futures::stream::BoxStream;
use futures::TryStreamExt;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Page, Store, StoreError};
use crate::config::SETTINGS;
use crate::domain::audit::{
    changed_values, AuditAction, AuditEntity, AuditEntry, AuditView, Audited, Who, CHANGED,
};
use crate::domain::Timestamp;

/// How many rows one pruning statement deletes at most, so that no statement holds its locks
/// long; [`Store::prune_audit`] repeats it until nothing is left to delete.
const PRUNE_BATCH: i64 = 5_000;

/// Records a change of `T` on `conn`, inside the caller's transaction: `before` is `None` for
/// a creation, `after` for a deletion. An update that changes nothing writes nothing.
pub(crate) async fn record<T: Audited>(
    conn: &mut AnyConnection,
    who: &Who,
    action: AuditAction,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), StoreError> {
    let id = after.or(before).and_then(Audited::audit_id);
    let (b, a) = (before.map(T::audit_view), after.map(T::audit_view));
    record_views(conn, who, T::ENTITY, id, action, b.as_ref(), a.as_ref()).await
}

/// [`record`] of views built by the caller (an operator's view with its password marked as
/// changed, the settings).
pub(crate) async fn record_views(
    conn: &mut AnyConnection,
    who: &Who,
    entity: AuditEntity,
    entity_id: Option<i64>,
    action: AuditAction,
    before: Option<&AuditView>,
    after: Option<&AuditView>,
) -> Result<(), StoreError> {
    let Some((old, new)) = changed_values(before, after) else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO audit_log (at, entity, entity_id, action, actor, actor_operator_id, \
         client_address, old_values, new_values) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Timestamp::now().ticks())
    .bind(entity.name())
    .bind(entity_id)
    .bind(action.name())
    .bind(who.actor.label())
    .bind(who.actor.operator_id())
    .bind(who.address.map(|a| a.to_string()))
    .bind(old.map(|v| v.to_string()))
    .bind(new.map(|v| v.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records many changes of one kind at once, inside the caller's transaction, with one
/// `INSERT … SELECT` however many: `rows` is a `SELECT` of `entity_id`, `old_values` and
/// `new_values` (JSON text, built in SQL from the views' properties: see
/// `Backend::json_object`) and `ord` (the entries' order), with `param` bound as `$6`. For
/// set-wise changes (an import of 100,000 customers) that are never loaded row by row.
pub(crate) async fn record_rows(
    conn: &mut AnyConnection,
    who: &Who,
    entity: AuditEntity,
    action: AuditAction,
    rows: &str,
    param: i64,
) -> Result<u64, StoreError> {
    let sql = format!(
        "INSERT INTO audit_log (at, entity, entity_id, action, actor, actor_operator_id, \
           client_address, old_values, new_values) \
         SELECT $1, $2, x.entity_id, $3, $4, $5, $7, x.old_values, x.new_values \
         FROM ({rows}) x ORDER BY x.ord"
    );
    let written = sqlx::query(&sql)
        .bind(Timestamp::now().ticks())
        .bind(entity.name())
        .bind(action.name())
        .bind(who.actor.label())
        .bind(who.actor.operator_id())
        .bind(param)
        .bind(who.address.map(|a| a.to_string()))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(written)
}

/// The views (before, after) of a change of stored settings: `before` holds the stored values,
/// `changes` the new ones (`None`: removed). A setting declared non-secret in [`SETTINGS`] is
/// shown with its values; any other (a secret such as the mail server URL, the API key's
/// digest, or a name not declared there) only as "set", [`CHANGED`] or null, so no secret and
/// nothing derived from one is written.
pub(crate) fn settings_views(
    before: &[(String, String)],
    changes: &[(&str, Option<&str>)],
) -> (AuditView, AuditView) {
    let mut old_view = AuditView::new();
    let mut new_view = AuditView::new();
    for (name, new) in changes {
        let old = before
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let public = SETTINGS
            .iter()
            .find(|s| s.stored_as == Some(*name) && !s.secret)
            .and_then(|s| s.stored_as);
        let text = |v: Option<&str>| v.map_or(Value::Null, |v| Value::String(v.to_owned()));
        let (key, old_shown, new_shown) = match public {
            Some(key) => (key, text(old), text(*new)),
            None => (
                secret_name(name),
                text(old.map(|_| "set")),
                text(new.map(|v| if Some(v) == old { "set" } else { CHANGED })),
            ),
        };
        old_view.insert(key, old_shown);
        new_view.insert(key, new_shown);
    }
    (old_view, new_view)
}

/// The name a secret setting is shown under: its own when declared, else one for all others.
fn secret_name(name: &str) -> &'static str {
    SETTINGS
        .iter()
        .filter_map(|s| s.stored_as)
        .chain(["api_key_sha256"])
        .find(|n| *n == name)
        .unwrap_or("other")
}

/// Which entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub entity: Option<AuditEntity>,
    pub entity_id: Option<i64>,
    /// The actor's label, ignoring case ("API key", "command line", an operator's name).
    pub actor: Option<String>,
    /// From this time on (inclusive).
    pub from: Option<Timestamp>,
    /// Before this time (exclusive).
    pub to: Option<Timestamp>,
}

impl AuditFilter {
    /// The `WHERE` clause, its parameters numbered from `$first`, and the values to bind in order.
    fn clause(&self, first: usize) -> (String, Vec<Bound>) {
        let mut wheres = Vec::new();
        let mut binds = Vec::new();
        let mut n = first;
        let mut add = |sql: &str, value: Bound| {
            wheres.push(sql.replace('?', &format!("${n}")));
            binds.push(value);
            n += 1;
        };
        if let Some(e) = self.entity {
            add("entity = ?", Bound::Text(e.name().to_owned()));
        }
        if let Some(id) = self.entity_id {
            add("entity_id = ?", Bound::Int(id));
        }
        if let Some(actor) = &self.actor {
            add("lower(actor) = ?", Bound::Text(actor.trim().to_lowercase()));
        }
        if let Some(from) = self.from {
            add("at >= ?", Bound::Int(from.ticks()));
        }
        if let Some(to) = self.to {
            add("at < ?", Bound::Int(to.ticks()));
        }
        let clause = if wheres.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wheres.join(" AND "))
        };
        (clause, binds)
    }
}

#[derive(Debug, Clone)]
enum Bound {
    Int(i64),
    Text(String),
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_all(mut q: AnyQuery<'_>, binds: Vec<Bound>) -> AnyQuery<'_> {
    for b in binds {
        q = match b {
            Bound::Int(i) => q.bind(i),
            Bound::Text(t) => q.bind(t),
        };
    }
    q
}

/// The order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOrder {
    /// By id: the API's order, stable under paging while entries are added.
    Oldest,
    /// Newest first: the GUI's.
    Newest,
}

impl Store {
    /// Entries matching `filter`, streamed.
    pub fn list_audit(
        &self,
        filter: AuditFilter,
        order: AuditOrder,
        page: Page,
    ) -> BoxStream<'static, Result<AuditEntry, StoreError>> {
        let pool = self.pool.clone();
        Box::pin(async_stream::try_stream! {
            let (clause, binds) = filter.clause(3);
            let direction = match order {
                AuditOrder::Oldest => "ASC",
                AuditOrder::Newest => "DESC",
            };
            let sql = format!(
                "SELECT id, at, entity, entity_id, action, actor, actor_operator_id, client_address, \
                 old_values, new_values FROM audit_log {clause} ORDER BY id {direction} LIMIT $1 OFFSET $2"
            );
            let q = sqlx::query(&sql).bind(page.limit()).bind(page.offset());
            let mut rows = bind_all(q, binds).fetch(&pool);
            while let Some(row) = rows.try_next().await? {
                yield entry(&row)?;
            }
        })
    }

    /// How many entries match `filter`.
    pub async fn count_audit(&self, filter: &AuditFilter) -> Result<i64, StoreError> {
        let (clause, binds) = filter.clause(1);
        let sql = format!("SELECT COUNT(*) FROM audit_log {clause}");
        let row = bind_all(sqlx::query(&sql), binds)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Deletes the entries recorded before `cutoff`, a batch per statement (on the index of
    /// `at`); returns how many. Several instances may prune at once: each deletes what is
    /// still there.
    pub async fn prune_audit(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM audit_log WHERE id IN \
                 (SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2)",
            )
            .bind(cutoff.ticks())
            .bind(PRUNE_BATCH)
            .execute(&self.writer)
            .await?;
            total += done.rows_affected();
            if done.rows_affected() < PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}

fn entry(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let entity: String = row.try_get("entity")?;
    let action: String = row.try_get("action")?;
    let json = |col: &str| -> Result<Option<Value>, StoreError> {
        let text: Option<String> = row.try_get(col)?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    };
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: Timestamp::from_ticks(row.try_get("at")?),
        entity: AuditEntity::parse(&entity).ok_or_else(|| corrupt("entity", &entity))?,
        entity_id: row.try_get("entity_id")?,
        action: AuditAction::parse(&action).ok_or_else(|| corrupt("action", &action))?,
        actor: row.try_get("actor")?,
        actor_operator_id: row.try_get("actor_operator_id")?,
        client_address: row.try_get("client_address")?,
        old_values: json("old_values")?,
        new_values: json("new_values")?,
    })
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(
        format!("audit_log.{column} holds an unknown value {value:?}").into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_show_public_values_and_only_whether_a_secret_changed() {
        let before = vec![
            ("xml_namespace".to_owned(), "Old.Models".to_owned()),
            ("smtp_url".to_owned(), "smtp://u:hunter2@mail:25".to_owned()),
            ("api_key_sha256".to_owned(), "digest-one".to_owned()),
        ];
        let changes = [
            ("xml_namespace", Some("New.Models")),
            ("smtp_url", Some("smtp://u:hunter3@mail:25")),
            ("api_key_sha256", Some("digest-one")),
            ("mail_from", Some("status@example.com")),
            ("something_else", Some("hidden")),
        ];
        let (old, new) = settings_views(&before, &changes);
        assert_eq!(old["xml_namespace"], "Old.Models");
        assert_eq!(new["xml_namespace"], "New.Models");
        assert_eq!(old["smtp_url"], "set");
        assert_eq!(new["smtp_url"], CHANGED);
        assert_eq!(new["api_key_sha256"], "set", "unchanged");
        assert_eq!(old["mail_from"], Value::Null);
        assert_eq!(new["other"], CHANGED);
        let text = format!("{old:?}{new:?}");
        for secret in ["hunter", "digest", "hidden"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
