//! Signing in to the GUI: sessions (the failed sign-in counters are in `login_failures`).
//!
//! Sessions live in the database so that every instance behind a load balancer serves every
//! session. A session row is keyed by the SHA-256 of the cookie's random token; the token
//! itself is never stored. An operator's sessions end when their password changes or they
//! are deleted ([`end_sessions_in`], called from the operator changes in the same transaction).

use sqlx::{AnyConnection, Row};

use super::rows;
use super::{Store, StoreError};
use crate::domain::{Operator, Timestamp};

/// A live session and the operator it belongs to.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub operator: Operator,
    pub csrf_token: String,
    pub seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A new session: the token's digest, its CSRF token and its expiry.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token_sha256: &'a str,
    pub operator_id: i64,
    pub csrf_token: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

impl Store {
    /// Stores a new session (and forgets expired ones while at it).
    pub async fn create_session(&self, new: &NewSession<'_>) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM gui_sessions WHERE expires_at < $1")
            .bind(new.now.ticks())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO gui_sessions (token_sha256, operator_id, csrf_token, created_at, seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(new.token_sha256)
        .bind(new.operator_id)
        .bind(new.csrf_token)
        .bind(new.now.ticks())
        .bind(new.expires_at.ticks())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unexpired session with this token digest, if its operator still exists.
    pub async fn find_session(
        &self,
        token_sha256: &str,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT o.id, o.name, o.email, o.cell_phone, o.is_admin, \
               s.csrf_token, s.seen_at, s.expires_at \
             FROM gui_sessions s JOIN operators o ON o.id = s.operator_id \
             WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND o.deleted_at IS NULL",
        )
        .bind(token_sha256)
        .bind(now.ticks())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(SessionRecord {
            operator: rows::operator(&row)?,
            csrf_token: row.try_get("csrf_token")?,
            seen_at: Timestamp::from_ticks(row.try_get("seen_at")?),
            expires_at: Timestamp::from_ticks(row.try_get("expires_at")?),
        }))
    }

    /// Records activity on a session and pushes its expiry out.
    pub async fn touch_session(
        &self,
        token_sha256: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE gui_sessions SET seen_at = $1, expires_at = $2 WHERE token_sha256 = $3",
        )
        .bind(now.ticks())
        .bind(expires_at.ticks())
        .bind(token_sha256)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Ends one session (signing out).
    pub async fn end_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM gui_sessions WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// How many unexpired sessions an operator has (shown on the operators page, and tests).
    pub async fn count_sessions(
        &self,
        operator_id: i64,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM gui_sessions WHERE operator_id = $1 AND expires_at > $2",
        )
        .bind(operator_id)
        .bind(now.ticks())
        .fetch_one(&self.pool)
        .await?)
    }
}

/// Ends every session of an operator, inside the transaction that changes their password or
/// deletes them.
pub(super) async fn end_sessions_in(
    conn: &mut AnyConnection,
    operator_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM gui_sessions WHERE operator_id = $1")
        .bind(operator_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
