//! Settings stored in the database (the Settings page's values and the API key's digest).

use super::{audit, Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntity};
use crate::domain::Who;

impl Store {
    pub async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn all_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, value FROM settings ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }

    /// Stores a setting unless it has a value already; returns whether it stored it. Atomic, so
    /// of several instances starting at once on a new database exactly one wins.
    pub async fn set_setting_if_absent(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a setting Herald keeps for itself (what the mail server refused), not a change
    /// someone makes, so not in the audit log; `None` removes it.
    pub async fn set_setting(&self, name: &str, value: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        write_settings(&mut tx, &[(name, value)]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores several settings in one transaction: all of them, or (on an error) none; the
    /// change is recorded in the audit log as made by `who` (secrets only as changed).
    pub async fn set_settings(
        &self,
        settings: &[(&str, Option<&str>)],
        who: &Who,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let before: Vec<(String, String)> =
            sqlx::query_as("SELECT name, value FROM settings ORDER BY name")
                .fetch_all(&mut *tx)
                .await?;
        write_settings(&mut tx, settings).await?;
        let (old, new) = audit::settings_views(&before, settings);
        let entity = AuditEntity::Settings;
        let updated = AuditAction::Updated;
        audit::record_views(&mut tx, who, entity, None, updated, Some(&old), Some(&new)).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn write_settings(
    tx: &mut sqlx::AnyConnection,
    settings: &[(&str, Option<&str>)],
) -> Result<(), StoreError> {
    {
        for (name, value) in settings {
            sqlx::query("DELETE FROM settings WHERE name = $1")
                .bind(*name)
                .execute(&mut *tx)
                .await?;
            if let Some(value) = value {
                sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2)")
                    .bind(*name)
                    .bind(*value)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    Ok(())
}
