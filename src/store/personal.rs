//! A customer's personal links: the tokens in them (only their SHA-256 kept, see
//! [`crate::domain::LinkToken`]), and what the personal page and the one-click unsubscribe
//! change through them.
//!
//! Each message carries a token of its own, issued by the delivery worker as it sends
//! ([`Store::issue_link_tokens`]); so the plain token never rests in the database. They all
//! lead to their customer until an operator issues the customer a new link
//! ([`Store::revoke_links`]), which ends every earlier one.

use std::collections::HashSet;

use super::{audit, customers, opt_outs, services, Store, StoreError};
use crate::domain::audit::{
    customer_with_opt_out, personal_link_changed, AuditAction, AuditEntity, Audited,
};
use crate::domain::{Customer, Timestamp, Who};

/// Parameters per row of [`Store::issue_link_tokens`]'s `VALUES` list.
const TOKEN_PARAMS: usize = 2;
/// Rows per statement (well under both engines' parameter limits).
const TOKEN_CHUNK: usize = 500;

impl Store {
    /// Records issued tokens: (customer id, token digest) pairs. A customer deleted meanwhile
    /// is skipped (their message's link leads nowhere, as it should).
    pub async fn issue_link_tokens(
        &self,
        tokens: &[(i64, String)],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if tokens.is_empty() {
            return Ok(());
        }
        if let Some(outbox) = self.engine.sqlite_outbox() {
            let tokens = tokens.to_vec();
            return outbox
                .run(move |conn| super::sqlite_outbox::issue_link_tokens(conn, at, &tokens))
                .await;
        }
        let param = |n: usize| self.backend().param(n);
        let mut writes = self.writes(tokens.len().div_ceil(TOKEN_CHUNK)).await?;
        for chunk in tokens.chunks(TOKEN_CHUNK) {
            // Numbered in the order they appear (SQLite's are positional): the time, then the rows.
            let values = (0..chunk.len())
                .map(|row| {
                    let first = 2 + row * TOKEN_PARAMS;
                    format!("({}, {})", param(first), param(first + 1))
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO customer_tokens (token_sha256, customer_id, created_at) \
                 SELECT v.column1, c.id, {} FROM (VALUES {values}) AS v \
                 JOIN customers c ON c.id = v.column2",
                param(1)
            );
            let mut q = sqlx::query(&sql).bind(at.ticks());
            for (customer, digest) in chunk {
                q = q.bind(digest.clone()).bind(*customer);
            }
            writes.execute(q).await?;
        }
        writes.commit().await
    }

    /// The customer a link token (by its digest) leads to; `None` for an unknown or revoked one.
    pub async fn customer_by_link(&self, digest: &str) -> Result<Option<Customer>, StoreError> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT customer_id FROM customer_tokens WHERE token_sha256 = $1")
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?;
        match id {
            None => Ok(None),
            Some(id) => match self.get_customer(id).await {
                Ok(c) => Ok(Some(c)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Ends every link issued to the customer so far (the next message carries a new one),
    /// recorded in the audit log as the customer's `PersonalLink` changed. Returns how many
    /// links there were; `NotFound` for no such customer.
    pub async fn revoke_links(&self, customer_id: i64, who: &Who) -> Result<u64, StoreError> {
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
        let done = sqlx::query("DELETE FROM customer_tokens WHERE customer_id = $1")
            .bind(customer_id)
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
        Ok(done.rows_affected())
    }

    /// Opts out the address of the customer a link leads to; `None` when the link leads
    /// nowhere (nothing changed). Idempotent.
    pub async fn opt_out_by_link(
        &self,
        digest: &str,
        who: &Who,
        at: Timestamp,
    ) -> Result<Option<Customer>, StoreError> {
        self.by_link(digest, who, |tx, _, email| {
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
        digest: &str,
        who: &Who,
        at: Timestamp,
    ) -> Result<Option<Customer>, StoreError> {
        self.by_link(digest, who, |tx, _, email| {
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
        digest: &str,
        services: &[i64],
        who: &Who,
    ) -> Result<Option<Customer>, StoreError> {
        let lock = self.for_share();
        let services = services.to_vec();
        self.by_link(digest, who, |tx, id, _| {
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
        digest: &str,
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
        let Some(id) = link_customer(&mut tx, digest, self.for_update()).await? else {
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

/// The id of the customer a link leads to, locked for the change.
async fn link_customer(
    conn: &mut sqlx::AnyConnection,
    digest: &str,
    lock: &str,
) -> Result<Option<i64>, StoreError> {
    let sql = format!(
        "SELECT c.id FROM customers c JOIN customer_tokens t ON t.customer_id = c.id \
         WHERE t.token_sha256 = $1{lock}"
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(digest)
        .fetch_optional(&mut *conn)
        .await?)
}
