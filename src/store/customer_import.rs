//! Customers imported from CSV, in three steps that never hold the file in memory:
//!
//! 1. reading: the rows arrive a batch at a time ([`Store::stage_import_rows`]), each already
//!    checked on its own (refused with a reason, or pending with its services' ids);
//! 2. [`Store::finish_import_reading`] matches them to customers by email ignoring case and
//!    decides, in a few set-wise statements and pages of [`PAGE`] rows, what each would do:
//!    create, update, nothing (unchanged), or refused (an address twice in the file);
//! 3. [`Store::apply_import`], after the preview, does it all in one transaction, having
//!    checked nothing it relied on changed meanwhile.
//!
//! `lower(c.email) = lower(r.email_key)` (the key is lower case already): compared with a
//! plain column, SQLite would give the expression the column's affinity and leave the index
//! on `lower(email)` unused.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use sqlx::Row;

use super::{audit, Backend, Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntity};
use crate::domain::{Timestamp, Who};

/// Rows classified per statement while finishing.
const PAGE: i64 = 1000;

/// A row as read and checked on its own.
#[derive(Debug, Clone)]
pub struct StagedRow {
    pub line: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub cell_phone: Option<String>,
    /// As written in the file.
    pub services: Option<String>,
    pub service_ids: Vec<i64>,
    /// `Some(reason)`: refused.
    pub refused: Option<String>,
}

/// What a row does when the import is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportAction {
    Create,
    Update,
    Unchanged,
    Refused,
}

impl ImportAction {
    pub const ALL: [ImportAction; 4] = [
        ImportAction::Create,
        ImportAction::Update,
        ImportAction::Unchanged,
        ImportAction::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportAction::Create => "create",
            ImportAction::Update => "update",
            ImportAction::Unchanged => "unchanged",
            ImportAction::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<ImportAction> {
        ImportAction::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    Reading,
    Ready,
    Failed,
    Applied,
}

/// An import as its preview shows it.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub id: i64,
    pub operator_id: i64,
    pub file_name: String,
    pub state: ImportState,
    pub rows_read: i64,
    pub error: Option<String>,
    /// Rows per action, in [`ImportAction::ALL`]'s order.
    pub counts: [i64; 4],
}

/// A row as the preview lists it.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub line: i64,
    pub action: ImportAction,
    pub name: String,
    pub email: String,
    pub services: String,
    pub reason: String,
}

impl Store {
    /// A new import (forgetting imports older than a day).
    pub async fn start_import(
        &self,
        operator_id: i64,
        file_name: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let old = now.minus(std::time::Duration::from_secs(24 * 3600));
        for table in ["customer_import_services", "customer_import_rows"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE import_id IN \
                 (SELECT id FROM customer_imports WHERE created_at < $1)"
            ))
            .bind(old.ticks())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM customer_imports WHERE created_at < $1")
            .bind(old.ticks())
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO customer_imports (operator_id, file_name, created_at, state, rows_read) \
             VALUES ($1, $2, $3, 'reading', 0) RETURNING id",
        )
        .bind(operator_id)
        .bind(file_name)
        .bind(now.ticks())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Stores a batch of rows read, and how many have been read so far.
    pub async fn stage_import_rows(
        &self,
        import_id: i64,
        rows: &[StagedRow],
        rows_read: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for chunk in rows.chunks(200) {
            let mut sql = String::from(
                "INSERT INTO customer_import_rows \
                 (import_id, line, name, email, email_key, cell_phone, services, action, reason) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 8;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "($1, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9
                ));
            }
            let mut q = sqlx::query(&sql).bind(import_id);
            for r in chunk {
                let action = if r.refused.is_some() {
                    ImportAction::Refused.as_str()
                } else {
                    "pending"
                };
                q = q
                    .bind(r.line)
                    .bind(r.name.clone())
                    .bind(r.email.clone())
                    .bind(r.email.as_ref().map(|e| e.to_lowercase()))
                    .bind(r.cell_phone.clone())
                    .bind(r.services.clone())
                    .bind(action)
                    .bind(r.refused.clone());
            }
            q.execute(&mut *tx).await?;
        }
        for r in rows.iter().filter(|r| r.refused.is_none()) {
            for service in &r.service_ids {
                sqlx::query(
                    "INSERT INTO customer_import_services (import_id, line, service_id) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(import_id)
                .bind(r.line)
                .bind(*service)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("UPDATE customer_imports SET rows_read = $1 WHERE id = $2")
            .bind(rows_read)
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The file could not be read at all: says why, and forgets its rows.
    pub async fn fail_import(&self, import_id: i64, reason: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for table in ["customer_import_services", "customer_import_rows"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE import_id = $1"))
                .bind(import_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE customer_imports SET state = 'failed', error = $1 WHERE id = $2")
            .bind(reason)
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Decides what every row read would do (see the module's description), then the import
    /// is ready for its preview.
    pub async fn finish_import_reading(&self, import_id: i64) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        // An address already on an earlier row of the file.
        sqlx::query(
            "UPDATE customer_import_rows SET action = 'refused', reason = \
               'The same email address as line ' || CAST((SELECT min(e.line) FROM customer_import_rows e \
                 WHERE e.import_id = customer_import_rows.import_id AND e.email_key = customer_import_rows.email_key \
                   AND e.action = 'pending') AS TEXT) || '.' \
             WHERE import_id = $1 AND action = 'pending' AND EXISTS (SELECT 1 FROM customer_import_rows e \
               WHERE e.import_id = customer_import_rows.import_id AND e.email_key = customer_import_rows.email_key \
                 AND e.action = 'pending' AND e.line < customer_import_rows.line)",
        )
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE customer_import_rows SET customer_id = \
               (SELECT min(c.id) FROM customers c WHERE lower(c.email) = lower(customer_import_rows.email_key)) \
             WHERE import_id = $1 AND action = 'pending'",
        )
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE customer_import_rows SET action = 'create' \
             WHERE import_id = $1 AND action = 'pending' AND customer_id IS NULL",
        )
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The matched rows: an update only where something differs.
        loop {
            let mut tx = self.write_tx().await?;
            let rows = sqlx::query(
                "SELECT r.line, r.name, r.cell_phone, c.name AS c_name, c.cell_phone AS c_phone \
                 FROM customer_import_rows r JOIN customers c ON c.id = r.customer_id \
                 WHERE r.import_id = $1 AND r.action = 'pending' ORDER BY r.line LIMIT $2",
            )
            .bind(import_id)
            .bind(PAGE)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                tx.commit().await?;
                break;
            }
            let first: i64 = rows[0].try_get("line")?;
            let last: i64 = rows[rows.len() - 1].try_get("line")?;
            // The services: the file's and the customer's, of this page's rows.
            let mut differ: BTreeSet<i64> = BTreeSet::new();
            let mut pairs = sqlx::query(
                "SELECT r.line FROM customer_import_rows r \
                 WHERE r.import_id = $1 AND r.action = 'pending' AND r.line BETWEEN $2 AND $3 AND ( \
                   EXISTS (SELECT 1 FROM customer_import_services s WHERE s.import_id = r.import_id AND s.line = r.line \
                     AND NOT EXISTS (SELECT 1 FROM customer_services cs WHERE cs.customer_id = r.customer_id AND cs.service_id = s.service_id)) \
                   OR (SELECT COUNT(*) FROM customer_import_services s WHERE s.import_id = r.import_id AND s.line = r.line) \
                      <> (SELECT COUNT(*) FROM customer_services cs WHERE cs.customer_id = r.customer_id))",
            )
            .bind(import_id)
            .bind(first)
            .bind(last)
            .fetch(&mut *tx);
            while let Some(row) = pairs.try_next().await? {
                differ.insert(row.try_get("line")?);
            }
            drop(pairs);
            let (mut updates, mut same) = (Vec::new(), Vec::new());
            for row in &rows {
                let line: i64 = row.try_get("line")?;
                let name: Option<String> = row.try_get("name")?;
                let c_name: String = row.try_get("c_name")?;
                let phone: Option<String> = row.try_get("cell_phone")?;
                let c_phone: Option<String> = row.try_get("c_phone")?;
                if differ.contains(&line)
                    || name.as_deref() != Some(c_name.as_str())
                    || phone != c_phone
                {
                    updates.push(line);
                } else {
                    same.push(line);
                }
            }
            for (action, lines) in [("update", updates), ("unchanged", same)] {
                if lines.is_empty() {
                    continue;
                }
                let sql = format!(
                    "UPDATE customer_import_rows SET action = $1 WHERE import_id = $2 AND line IN ({})",
                    self.backend().ids_in(3)
                );
                sqlx::query(&sql)
                    .bind(action)
                    .bind(import_id)
                    .bind(super::ids_param(&lines))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        sqlx::query("UPDATE customer_imports SET state = 'ready' WHERE id = $1")
            .bind(import_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn import_summary(&self, import_id: i64) -> Result<ImportSummary, StoreError> {
        let row = sqlx::query(
            "SELECT id, operator_id, file_name, state, rows_read, error FROM customer_imports WHERE id = $1",
        )
        .bind(import_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let state: String = row.try_get("state")?;
        let mut counts = [0i64; 4];
        let mut by_action = sqlx::query(
            "SELECT action, COUNT(*) AS n FROM customer_import_rows WHERE import_id = $1 GROUP BY action",
        )
        .bind(import_id)
        .fetch(&self.pool);
        while let Some(r) = by_action.try_next().await? {
            let action: String = r.try_get("action")?;
            if let Some(i) = ImportAction::ALL.iter().position(|a| a.as_str() == action) {
                counts[i] = r.try_get("n")?;
            }
        }
        Ok(ImportSummary {
            id: row.try_get("id")?,
            operator_id: row.try_get("operator_id")?,
            file_name: row.try_get("file_name")?,
            state: match state.as_str() {
                "reading" => ImportState::Reading,
                "ready" => ImportState::Ready,
                "applied" => ImportState::Applied,
                _ => ImportState::Failed,
            },
            rows_read: row.try_get("rows_read")?,
            error: row.try_get("error")?,
            counts,
        })
    }

    /// A page of the rows, in file order, of one action or all.
    pub async fn import_rows(
        &self,
        import_id: i64,
        action: Option<ImportAction>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ImportRow>, StoreError> {
        let filter = if action.is_some() {
            "AND action = $4"
        } else {
            "AND $4 = $4"
        };
        let sql = format!(
            "SELECT line, action, name, email, services, reason FROM customer_import_rows \
             WHERE import_id = $1 {filter} ORDER BY line LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(import_id)
            .bind(limit)
            .bind(offset)
            .bind(action.map_or("", ImportAction::as_str))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let action: String = r.try_get("action")?;
                let text = |c: &str| -> Result<String, sqlx::Error> {
                    Ok(r.try_get::<Option<String>, _>(c)?.unwrap_or_default())
                };
                Ok(ImportRow {
                    line: r.try_get("line")?,
                    action: ImportAction::parse(&action).unwrap_or(ImportAction::Refused),
                    name: text("name")?,
                    email: text("email")?,
                    services: text("services")?,
                    reason: text("reason")?,
                })
            })
            .collect()
    }

    /// Applies a ready import in one transaction: (created, updated). Refused with a conflict
    /// when it was applied already, or when customers or services changed since the preview
    /// in a way it relied on (then nothing is changed). Each customer created or updated is
    /// in the audit log as changed by `who`, written set-wise in the same transaction.
    pub async fn apply_import(&self, import_id: i64, who: &Who) -> Result<(i64, i64), StoreError> {
        let mut tx = self.write_tx().await?;
        let state: Option<String> = sqlx::query_scalar(&format!(
            "SELECT state FROM customer_imports WHERE id = $1{}",
            self.for_update()
        ))
        .bind(import_id)
        .fetch_optional(&mut *tx)
        .await?;
        match state.as_deref() {
            None => return Err(StoreError::NotFound),
            Some("ready") => {}
            Some("applied") => {
                return Err(StoreError::Conflict(
                    "This import was applied already.".into(),
                ))
            }
            Some(_) => {
                return Err(StoreError::Conflict(
                    "This import has nothing to apply.".into(),
                ))
            }
        }
        let stale: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM customer_import_rows r WHERE r.import_id = $1 AND ( \
               (r.action = 'create' AND EXISTS (SELECT 1 FROM customers c WHERE lower(c.email) = lower(r.email_key))) \
               OR (r.action = 'update' AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = r.customer_id)) \
               OR (r.action IN ('create', 'update') AND EXISTS (SELECT 1 FROM customer_import_services s \
                    JOIN services v ON v.id = s.service_id \
                    WHERE s.import_id = r.import_id AND s.line = r.line AND v.deleted_at IS NOT NULL)))",
        )
        .bind(import_id)
        .fetch_one(&mut *tx)
        .await?;
        if stale > 0 {
            return Err(StoreError::Conflict(format!(
                "Customers or services changed since this preview ({stale} rows are affected). Upload the file again."
            )));
        }
        // Before the updates: the old values are the customers' as they are.
        audit::record_rows(
            &mut tx,
            who,
            AuditEntity::Customer,
            AuditAction::Updated,
            &updates_audited(self.backend()),
            import_id,
        )
        .await?;
        let updated = sqlx::query(
            "UPDATE customers SET \
               name = (SELECT r.name FROM customer_import_rows r WHERE r.import_id = $1 AND r.action = 'update' AND r.customer_id = customers.id), \
               cell_phone = (SELECT r.cell_phone FROM customer_import_rows r WHERE r.import_id = $1 AND r.action = 'update' AND r.customer_id = customers.id) \
             WHERE id IN (SELECT customer_id FROM customer_import_rows WHERE import_id = $1 AND action = 'update')",
        )
        .bind(import_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM customer_services WHERE customer_id IN \
               (SELECT customer_id FROM customer_import_rows WHERE import_id = $1 AND action = 'update')",
        )
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        let created = sqlx::query(
            "INSERT INTO customers (name, email, cell_phone) \
             SELECT name, email, cell_phone FROM customer_import_rows \
             WHERE import_id = $1 AND action = 'create' ORDER BY line",
        )
        .bind(import_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE customer_import_rows SET customer_id = \
               (SELECT min(c.id) FROM customers c WHERE lower(c.email) = lower(customer_import_rows.email_key)) \
             WHERE import_id = $1 AND action = 'create'",
        )
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO customer_services (customer_id, service_id) \
             SELECT r.customer_id, s.service_id FROM customer_import_services s \
             JOIN customer_import_rows r ON r.import_id = s.import_id AND r.line = s.line \
             WHERE s.import_id = $1 AND r.action IN ('create', 'update')",
        )
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        audit::record_rows(
            &mut tx,
            who,
            AuditEntity::Customer,
            AuditAction::Created,
            &creations_audited(self.backend()),
            import_id,
        )
        .await?;
        sqlx::query("UPDATE customer_imports SET state = 'applied' WHERE id = $1")
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The numbers of the customers created or changed are normalised in the background.
        self.sms_numbers.notify_one();
        Ok((
            i64::try_from(created).unwrap_or(i64::MAX),
            i64::try_from(updated).unwrap_or(i64::MAX),
        ))
    }
}

/// The services an import's row `r` names, as the audit view's `Services` (ids, ascending).
fn row_service_ids(b: Backend) -> String {
    b.json_ids(
        "s.service_id",
        "FROM customer_import_services s WHERE s.import_id = r.import_id AND s.line = r.line",
    )
}

/// The audit entries (see [`audit::record_rows`], import id `$6`) of the customers an import
/// creates, once created: the customer's audit view (`domain::audit`) built in SQL.
fn creations_audited(b: Backend) -> String {
    let services = b.json(&row_service_ids(b));
    let new = b.json_text(&b.json_object(&[
        ("Name", "r.name"),
        ("Email", "r.email"),
        ("CellPhone", "r.cell_phone"),
        ("Services", &services),
        // An import sets no language.
        ("Language", "NULL"),
    ]));
    format!(
        "SELECT r.customer_id AS entity_id, NULL AS old_values, {new} AS new_values, r.line AS ord \
         FROM customer_import_rows r WHERE r.import_id = $6 AND r.action = 'create'"
    )
}

/// The audit entries of the customers an import updates, before the update: old and new
/// values of the properties that change (an import keeps the address).
fn updates_audited(b: Backend) -> String {
    let pairs = format!(
        "SELECT r.line, c.id, c.name AS old_name, r.name AS new_name, \
           c.cell_phone AS old_phone, r.cell_phone AS new_phone, \
           {} AS old_services, {} AS new_services \
         FROM customer_import_rows r JOIN customers c ON c.id = r.customer_id \
         WHERE r.import_id = $6 AND r.action = 'update'",
        b.json_ids(
            "cs.service_id",
            "FROM customer_services cs WHERE cs.customer_id = c.id"
        ),
        row_service_ids(b),
    );
    let same = [
        ("Name", "d.old_name = d.new_name"),
        ("CellPhone", "d.old_phone IS NOT DISTINCT FROM d.new_phone"),
        ("Services", "d.old_services = d.new_services"),
    ];
    let view = |side: &str| {
        let (name, phone, services) = (
            format!("d.{side}_name"),
            format!("d.{side}_phone"),
            b.json(&format!("d.{side}_services")),
        );
        let mut object = b.json_object(&[
            ("Name", &name),
            ("CellPhone", &phone),
            ("Services", &services),
        ]);
        for (key, unchanged) in same {
            object = b.json_without(&object, key, unchanged);
        }
        b.json_text(&object)
    };
    let all_same: Vec<&str> = same.iter().map(|(_, c)| *c).collect();
    format!(
        "SELECT d.id AS entity_id, {} AS old_values, {} AS new_values, d.line AS ord \
         FROM ({pairs}) d WHERE NOT ({})",
        view("old"),
        view("new"),
        all_same.join(" AND ")
    )
}
