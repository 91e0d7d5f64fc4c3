//! Idempotency keys: the stored answers to POSTs that carried an `Idempotency-Key`.
//!
//! A request claims its key in the database before doing its work (a unique row per API key
//! scope and key), so of two identical requests at once, on one instance or several, only one
//! does the work; the other waits for the answer. The claim is completed with the answer, or
//! released when the work failed, so a retry can try again. Expired rows are forgotten by every
//! claim, and an expired key can be claimed anew.
//!
//! A create links its entity to the claim in the create's own transaction
//! ([`link_created`]), so no crash point allows a duplicate: once the entity is committed, the
//! key points to it (a retry answers with it, [`Claim::Created`], even when the instance died
//! before it kept the answer), and an abandoned claim is taken over only when nothing was
//! created. Each claim has its own token; a create whose claim was taken over meanwhile (its
//! request ran longer than [`Store::claim_idempotency_key`]'s `abandoned_before`) is refused
//! and rolled back, so the request that took over is the only one that creates.

use std::future::Future;

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};
use crate::domain::Timestamp;

tokio::task_local! {
    /// The claim of the request this task is working on (see [`holding`]).
    static HELD: HeldClaim;
}

/// A claim this request holds: its key and its own token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldClaim {
    scope: String,
    key: String,
    request_sha256: String,
    token: String,
}

/// Runs `work` (the handler of the request that holds `claim`): a create it makes is linked to
/// the claim in the create's transaction.
pub async fn holding<F: Future>(claim: HeldClaim, work: F) -> F::Output {
    HELD.scope(claim, work).await
}

/// The claim the current request holds, if any. A create reads it before its work moves to
/// another task (the group commit's writer).
pub(super) fn held() -> Option<HeldClaim> {
    HELD.try_with(Clone::clone).ok()
}

/// In a create's transaction: links the created entity `id` to the claim the request holds
/// (none: nothing to do). Refused, so the create is rolled back, when the claim is no longer
/// this request's: it was taken over as abandoned, or its key expired.
pub(super) async fn link_created(
    conn: &mut AnyConnection,
    held: Option<&HeldClaim>,
    id: i64,
) -> Result<(), StoreError> {
    let Some(held) = held else {
        return Ok(());
    };
    let linked = sqlx::query(
        "UPDATE idempotency_keys SET created_id = $5 \
         WHERE scope = $1 AND idem_key = $2 AND request_sha256 = $3 AND claim_token = $4 \
           AND status IS NULL AND created_id IS NULL",
    )
    .bind(&held.scope)
    .bind(&held.key)
    .bind(&held.request_sha256)
    .bind(&held.token)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if linked == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(
            "This request took too long: another request with its Idempotency-Key took over."
                .into(),
        ))
    }
}

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
    /// This request holds the key: do the work ([`holding`] the claim), then complete or
    /// release it.
    Claimed(HeldClaim),
    /// A request with this key and body was answered: answer the same.
    Answered(StoredAnswer),
    /// A request with this key and body created this entity, but its answer was not kept (its
    /// instance stopped in between, or is about to keep it): answer with the entity.
    Created(i64),
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
        let held = HeldClaim {
            scope: key.scope.to_owned(),
            key: key.key.to_owned(),
            request_sha256: key.request_sha256.to_owned(),
            token: uuid::Uuid::new_v4().simple().to_string(),
        };
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (scope, idem_key, request_sha256, created_at, claim_token) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, idem_key) DO NOTHING",
        )
        .bind(key.scope)
        .bind(key.key)
        .bind(key.request_sha256)
        .bind(now.ticks())
        .bind(&held.token)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(Claim::Claimed(held));
        }
        // An abandoned claim is taken over only when its request created nothing (a create
        // links itself in its own transaction): the new token makes a late create of the old
        // request fail.
        let taken_over = sqlx::query(
            "UPDATE idempotency_keys SET request_sha256 = $3, created_at = $4, claim_token = $5 \
             WHERE scope = $1 AND idem_key = $2 AND status IS NULL AND created_id IS NULL \
               AND created_at < $6",
        )
        .bind(key.scope)
        .bind(key.key)
        .bind(key.request_sha256)
        .bind(now.ticks())
        .bind(&held.token)
        .bind(abandoned_before.ticks())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken_over == 1 {
            tx.commit().await?;
            return Ok(Claim::Claimed(held));
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

    /// Records the answer of the request that claimed `key` (or of one that answered with the
    /// entity it created: [`Claim::Created`]).
    pub async fn complete_idempotency_key(
        &self,
        key: IdempotencyKey<'_>,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE idempotency_keys SET status = $4, content_type = $5, location = $6, \
               etag = $7, body = $8 \
             WHERE scope = $1 AND idem_key = $2 AND request_sha256 = $3 AND status IS NULL",
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

    /// Gives up a claim whose request failed, so a retry does the work again: only while this
    /// request still holds it and created nothing.
    pub async fn release_idempotency_key(&self, held: &HeldClaim) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "DELETE FROM idempotency_keys \
             WHERE scope = $1 AND idem_key = $2 AND claim_token = $3 \
               AND status IS NULL AND created_id IS NULL",
        )
        .bind(&held.scope)
        .bind(&held.key)
        .bind(&held.token)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn find(conn: &mut AnyConnection, key: IdempotencyKey<'_>) -> Result<Claim, StoreError> {
    let row = sqlx::query(
        "SELECT request_sha256, status, content_type, location, etag, body, created_id \
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
        let created: Option<i64> = row.try_get("created_id")?;
        return Ok(created.map_or(Claim::InProgress, Claim::Created));
    };
    Ok(Claim::Answered(StoredAnswer {
        status: u16::try_from(status).unwrap_or(500),
        content_type: row.try_get("content_type")?,
        location: row.try_get("location")?,
        etag: row.try_get("etag")?,
        body: row.try_get("body")?,
    }))
}
