//! Opt-outs, held by address: an opted-out address is left out of every fan-out
//! ([`super::outbox::enqueue`] filters on this table), whatever services a customer with that
//! address follows, so a client that PUTs the customer back with all its services does not
//! undo it. The channel says what kind of address it is (`email` now; phone numbers later).
//!
//! A customer opts back in on their personal page; an operator lifts an opt-out in the GUI.
//! Either way the row stays, with who lifted it and when.

use super::{audit, customers, Store, StoreError};
use crate::domain::audit::{customer_with_opt_out, AuditAction, AuditEntity};
use crate::domain::{Timestamp, Who};

/// The channel of email addresses (stored lower-cased).
pub const EMAIL: &str = "email";

/// Who lifts an opt-out when the customer opts back in themselves.
pub const BY_CUSTOMER: &str = "the customer, on their personal page";

/// An opt-out as the GUI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOut {
    pub address: String,
    pub opted_out_at: Timestamp,
    /// When and by whom it was lifted (it no longer counts then).
    pub lifted: Option<(Timestamp, String)>,
}

impl Store {
    /// Opts `email` out of every message from `at` on. Idempotent: an address already opted out
    /// keeps its first time.
    pub async fn opt_out_email(&self, email: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        opt_out(&mut tx, EMAIL, email, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts the opt-out of the customer's email address (if it has one), recording who and
    /// when on the opt-out and, in the audit log, the customer's `OptedOutTime` back to null.
    /// Returns whether there was one to lift; `NotFound` for no such customer.
    pub async fn lift_customer_opt_out(
        &self,
        customer_id: i64,
        who: &Who,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "SELECT email FROM customers WHERE id = $1{}",
            self.for_update()
        );
        let email: Option<String> = sqlx::query_scalar::<_, Option<String>>(&sql)
            .bind(customer_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let Some(email) = email.filter(|e| !e.is_empty()) else {
            return Ok(false);
        };
        let before = customers::load(&mut tx, customer_id).await?;
        let lifted = lift(&mut tx, EMAIL, &email, &who.actor.label(), at).await?;
        let after = customers::load(&mut tx, customer_id).await?;
        audit::record_views(
            &mut tx,
            who,
            AuditEntity::Customer,
            Some(customer_id),
            AuditAction::Updated,
            Some(&customer_with_opt_out(&before)),
            Some(&customer_with_opt_out(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(lifted)
    }

    /// The opt-out record of `email`, current or lifted.
    pub async fn opt_out_of(&self, email: &str) -> Result<Option<OptOut>, StoreError> {
        let row: Option<(String, i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT address, opted_out_at, lifted_at, lifted_by FROM opt_outs \
             WHERE channel = $1 AND address = $2",
        )
        .bind(EMAIL)
        .bind(email.to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(address, at, lifted_at, lifted_by)| OptOut {
            address,
            opted_out_at: Timestamp::from_ticks(at),
            lifted: lifted_at.map(|t| (Timestamp::from_ticks(t), lifted_by.unwrap_or_default())),
        }))
    }
}

pub(super) async fn opt_out(
    conn: &mut sqlx::AnyConnection,
    channel: &str,
    address: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO opt_outs (channel, address, opted_out_at) VALUES ($1, $2, $3) \
         ON CONFLICT (channel, address) DO UPDATE SET \
           opted_out_at = CASE WHEN opt_outs.lifted_at IS NULL THEN opt_outs.opted_out_at \
             ELSE excluded.opted_out_at END, \
           lifted_at = NULL, lifted_by = NULL",
    )
    .bind(channel)
    .bind(address.to_lowercase())
    .bind(at.ticks())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn lift(
    conn: &mut sqlx::AnyConnection,
    channel: &str,
    address: &str,
    by: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE opt_outs SET lifted_at = $1, lifted_by = $2 \
         WHERE channel = $3 AND address = $4 AND lifted_at IS NULL",
    )
    .bind(at.ticks())
    .bind(by)
    .bind(channel)
    .bind(address.to_lowercase())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}
