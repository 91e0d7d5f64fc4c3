//! A customer's personal links: the tokens in them (only their SHA-256 kept, see
//! [`crate::domain::LinkToken`]), and what the personal page and the one-click unsubscribe
//! change through them.
//!
//! Each message carries a token of its own, issued by the delivery worker as it sends, the
//! batch's together in one row ([`Store::issue_link_batch`]: each entry the customer and the
//! token's digest, found by the token's place); so the plain token never rests in the
//! database. Tokens issued before batches were kept (and a confirmation's personal link still
//! is) one row each in `customer_tokens`, by digest. They all lead to their customer until an
//! operator issues the customer a new link ([`Store::revoke_links`]), which ends every earlier
//! one.

use std::collections::HashSet;

use super::{audit, customers, opt_outs, services, Store, StoreError};
use crate::domain::audit::{
    customer_with_opt_out, personal_link_changed, AuditAction, AuditEntity, Audited,
};
use crate::domain::{Customer, LinkToken, Timestamp, Who};

/// Bytes of a batch's entry: the customer's id (big-endian), then the token's SHA-256.
const ENTRY: usize = 8 + 32;

impl Store {
    /// Records the links of a batch of messages as batch `batch` (see
    /// [`LinkToken::in_batch`]): entry `i` is (customer id, the SHA-256 of token `i`). Fails
    /// (and records nothing) when the key is taken.
    pub async fn issue_link_batch(
        &self,
        batch: i64,
        entries: &[(i64, [u8; 32])],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut packed = Vec::with_capacity(entries.len() * ENTRY);
        for (customer, digest) in entries {
            packed.extend_from_slice(&customer.to_be_bytes());
            packed.extend_from_slice(digest);
        }
        if let Some(outbox) = self.engine.sqlite_outbox() {
            return outbox
                .run(move |conn| super::sqlite_outbox::issue_link_batch(conn, batch, at, &packed))
                .await;
        }
        sqlx::query("INSERT INTO link_batches (id, issued_at, entries) VALUES ($1, $2, $3)")
            .bind(batch)
            .bind(at.ticks())
            .bind(packed)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The customer a link leads to; `None` for an unknown or revoked one.
    pub async fn customer_by_link(
        &self,
        token: &LinkToken,
    ) -> Result<Option<Customer>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(id) = link_customer(&mut conn, token, "").await? else {
            return Ok(None);
        };
        drop(conn);
        match self.get_customer(id).await {
            Ok(c) => Ok(Some(c)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Ends every link issued to the customer so far (the next message carries a new one),
    /// recorded in the audit log as the customer's `PersonalLink` changed; `NotFound` for no
    /// such customer.
    pub async fn revoke_links(&self, customer_id: i64, who: &Who) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "SELECT id FROM customers WHERE id = $1{}",
            self.for_update()
        );
        sqlx::query(&sql)
            .bind(customer_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let customer = customers::load(&mut tx, customer_id).await?;
        sqlx::query("DELETE FROM customer_tokens WHERE customer_id = $1")
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO link_revocations (customer_id, revoked_at) VALUES ($1, $2) \
             ON CONFLICT (customer_id) DO UPDATE SET revoked_at = excluded.revoked_at",
        )
        .bind(customer_id)
        .bind(Timestamp::now().ticks())
        .execute(&mut *tx)
        .await?;
        let before = customer.audit_view();
        let mut after = before.clone();
        personal_link_changed(&mut after);
        audit::record_views(
            &mut tx,
            who,
            AuditEntity::Customer,
            Some(customer_id),
            AuditAction::Updated,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opts out the address of the customer a link leads to; `None` when the link leads
    /// nowhere (nothing changed). Idempotent.
    pub async fn opt_out_by_link(
        &self,
        token: &LinkToken,
        who: &Who,
        at: Timestamp,
    ) -> Result<Option<Customer>, StoreError> {
        self.by_link(token, who, |tx, _, email| {
            Box::pin(async move {
                if let Some(email) = email {
                    opt_outs::opt_out(tx, opt_outs::EMAIL, &email, at).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// The customer opts back in from their personal page.
    pub async fn opt_in_by_link(
        &self,
        token: &LinkToken,
        who: &Who,
        at: Timestamp,
    ) -> Result<Option<Customer>, StoreError> {
        self.by_link(token, who, |tx, _, email| {
            Box::pin(async move {
                if let Some(email) = email {
                    opt_outs::lift(tx, opt_outs::EMAIL, &email, opt_outs::BY_CUSTOMER, at).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// The customer a link leads to follows exactly these services. Each must be a public
    /// service or one the customer already follows (a private service they follow can be
    /// kept or dropped, never added); any other id is a 400 naming `Services`, said as for an
    /// id that does not exist, and nothing changes. `None` when the link leads nowhere.
    pub async fn set_followed_by_link(
        &self,
        token: &LinkToken,
        services: &[i64],
        who: &Who,
    ) -> Result<Option<Customer>, StoreError> {
        let lock = self.for_share();
        let services = services.to_vec();
        self.by_link(token, who, |tx, id, _| {
            Box::pin(async move {
                let followed: HashSet<i64> = sqlx::query_scalar(
                    "SELECT service_id FROM customer_services WHERE customer_id = $1",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
                let found = services::live_services(tx, &services, "Services", lock).await?;
                let refused: Vec<i64> = found
                    .iter()
                    .filter(|s| !s.is_public && !followed.contains(&s.id))
                    .map(|s| s.id)
                    .collect();
                if !refused.is_empty() {
                    return Err(StoreError::invalid(
                        "Services",
                        services::no_such_services(&refused),
                    ));
                }
                customers::replace_followed(tx, id, &services).await
            })
        })
        .await
    }

    /// Runs `change` on the customer a link leads to (its id and email address, if any), in one
    /// transaction, and records what it changed on the customer in the audit log.
    async fn by_link<F>(
        &self,
        token: &LinkToken,
        who: &Who,
        change: F,
    ) -> Result<Option<Customer>, StoreError>
    where
        F: for<'c> FnOnce(
            &'c mut sqlx::AnyConnection,
            i64,
            Option<String>,
        ) -> futures::future::BoxFuture<'c, Result<(), StoreError>>,
    {
        let mut tx = self.write_tx().await?;
        let Some(id) = link_customer(&mut tx, token, self.for_update()).await? else {
            return Ok(None);
        };
        let before = customers::load(&mut tx, id).await?;
        let email = before.email.clone().filter(|e| !e.is_empty());
        change(&mut tx, id, email).await?;
        let after = customers::load(&mut tx, id).await?;
        audit::record_views(
            &mut tx,
            who,
            AuditEntity::Customer,
            Some(after.id),
            AuditAction::Updated,
            Some(&customer_with_opt_out(&before)),
            Some(&customer_with_opt_out(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(after))
    }
}

/// The id of the customer a link leads to (locked for the change by `lock`); `None` for an
/// unknown or revoked link, or a deleted customer's.
async fn link_customer(
    conn: &mut sqlx::AnyConnection,
    token: &LinkToken,
    lock: &str,
) -> Result<Option<i64>, StoreError> {
    let Some((batch, index)) = token.place() else {
        let sql = format!(
            "SELECT c.id FROM customers c JOIN customer_tokens t ON t.customer_id = c.id \
             WHERE t.token_sha256 = $1{lock}"
        );
        return Ok(sqlx::query_scalar(&sql)
            .bind(token.digest())
            .fetch_optional(&mut *conn)
            .await?);
    };
    let entry: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT issued_at, substr(entries, CAST($2 AS INTEGER), CAST($3 AS INTEGER)) \
         FROM link_batches WHERE id = $1",
    )
    .bind(batch)
    .bind(i64::from(index) * ENTRY as i64 + 1)
    .bind(ENTRY as i64)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((issued_at, entry)) = entry else {
        return Ok(None);
    };
    if entry.len() != ENTRY || entry[8..] != token.sha256() {
        return Ok(None);
    }
    let customer = i64::from_be_bytes(entry[..8].try_into().expect("8 bytes"));
    let sql = format!(
        "SELECT c.id FROM customers c WHERE c.id = $1 AND NOT EXISTS ( \
           SELECT 1 FROM link_revocations r WHERE r.customer_id = c.id AND r.revoked_at >= $2){lock}"
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(customer)
        .bind(issued_at)
        .fetch_optional(&mut *conn)
        .await?)
}
