//! Settings stored in the database (the Settings page's values and the API key's digest).

use super::{Store, StoreError};

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

    /// Stores a setting; `None` removes it (back to the default).
    pub async fn set_setting(&self, name: &str, value: Option<&str>) -> Result<(), StoreError> {
        self.set_settings(&[(name, value)]).await
    }

    /// Stores several settings in one transaction: all of them, or (on an error) none.
    pub async fn set_settings(&self, settings: &[(&str, Option<&str>)]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
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
        tx.commit().await?;
        Ok(())
    }
}
