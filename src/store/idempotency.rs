//! Idempotency keys: the stored answers to POSTs that carried an `Idempotency-Key`.
//!
//! A request claims its key in the database before doing its work (a unique row per API key
//! scope and key), so of two identical requests at once, on one instance or several, only one
//! does the work; the other waits for the answer. The claim is completed with the answer, or
//! released when the work failed, so a retry can try again. Expired rows are forgotten by every
//! claim, and an expired key can be claimed anew.

use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::Timestamp;

/// A request's key: whose (the API key's digest), which, and what it asked (a digest of the
/// request).
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyKey<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub request_sha256: &'a str,
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request holds the key: do the work, then complete or release it.
    Claimed,
    /// A request with this key and body was answered: answer the same.
    Answered(StoredAnswer),
    /// A request with this key and body is still being worked on.
    InProgress,
    /// The key was used for another request.
    OtherRequest,
    /// Nobody holds the key (its claim was released): claim it.
    Free,
}

impl Store {
    /// Claims `key` for a request made at `now`. Rows created before `expired_before` are
    /// forgotten; a claim still in progress since before `abandoned_before` (its request can
    /// no longer be running) is taken over.
    pub async fn claim_idempotency_key(
        &self,
        key: IdempotencyKey<'_>,
        now: Timestamp,
        expired_before: Timestamp,
        abandoned_before: Timestamp,
    ) -> Result<Claim, StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(expired_before.ticks())
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (scope, idem_key, request_sha256, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (scope, idem_key) DO NOTHING",
        )
        .bind(key.scope)
        .bind(key.key)
        .bind(key.request_sha256)
        .bind(now.ticks())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(Claim::Claimed);
        }
        let taken_over = sqlx::query(
            "UPDATE idempotency_keys SET request_sha256 = $3, created_at = $4 \
             WHERE scope = $1 AND idem_key = $2 AND status IS NULL AND created_at < $5",
        )
        .bind(key.scope)
        .bind(key.key)
        .bind(key.request_sha256)
        .bind(now.ticks())
        .bind(abandoned_before.ticks())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken_over == 1 {
            tx.commit().await?;
            return Ok(Claim::Claimed);
        }
        let found = find(&mut tx, key).await?;
        tx.commit().await?;
        // Released between the insert and the read: the caller waits, then claims again.
        Ok(if found == Claim::Free {
            Claim::InProgress
        } else {
            found
        })
    }

    /// What the key holds now (for a request waiting on one in progress).
    pub async fn idempotency_key(&self, key: IdempotencyKey<'_>) -> Result<Claim, StoreError> {
        let mut conn = self.pool.acquire().await?;
        find(&mut conn, key).await
    }

    /// Records the answer of the request that claimed `key`.
    pub async fn complete_idempotency_key(
        &self,
        key: IdempotencyKey<'_>,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE idempotency_keys SET status = $4, content_type = $5, location = $6, \
               etag = $7, body = $8 \
             WHERE scope = $1 AND idem_key = $2 AND request_sha256 = $3",
        )
        .bind(key.scope)
        .bind(key.key)
        .bind(key.request_sha256)
        .bind(i64::from(answer.status))
        .bind(answer.content_type.as_deref())
        .bind(answer.location.as_deref())
        .bind(answer.etag.as_deref())
        .bind(&answer.body)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives up a claim whose request failed, so a retry does the work again.
    pub async fn release_idempotency_key(&self, key: IdempotencyKey<'_>) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "DELETE FROM idempotency_keys \
             WHERE scope = $1 AND idem_key = $2 AND request_sha256 = $3 AND status IS NULL",
        )
        .bind(key.scope)
        .bind(key.key)
        .bind(key.request_sha256)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn find(
    conn: &mut sqlx::AnyConnection,
    key: IdempotencyKey<'_>,
) -> Result<Claim, StoreError> {
    let row = sqlx::query(
        "SELECT request_sha256, status, content_type, location, etag, body \
         FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
    )
    .bind(key.scope)
    .bind(key.key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Claim::Free);
    };
    let request: String = row.try_get("request_sha256")?;
    if request != key.request_sha256 {
        return Ok(Claim::OtherRequest);
    }
    let status: Option<i64> = row.try_get("status")?;
    let Some(status) = status else {
        return Ok(Claim::InProgress);
    };
    Ok(Claim::Answered(StoredAnswer {
        status: u16::try_from(status).unwrap_or(500),
        content_type: row.try_get("content_type")?,
        location: row.try_get("location")?,
        etag: row.try_get("etag")?,
        body: row.try_get("body")?,
    }))
}
