//! Self-subscription with double opt-in: a request from the public wing waits until a link
//! emailed to it is confirmed within its validity; only then is the customer created (or
//! updated) and the services followed. Nothing is created for an address that never confirms.
//!
//! The confirmation email goes through the outbox: [`Store::request_subscription`] queues it in
//! the request's own transaction (a message of no event, see `outbox::enqueue_confirmation`),
//! and the email channel's worker issues its link as it sends it
//! ([`Store::issue_subscription_links`]: a fresh random token whose SHA-256 alone is kept in
//! `subscription_links`, as for personal links), so the plain token exists only in the message.
//! A retry sends a new link; every link issued works until the request is used or expires.
//!
//! Requests are counted per client address and per email address in a fixed window
//! (`subscription_throttle`, the address only as a digest): over the client's limit the
//! request is refused; over the address's it is accepted and silently not mailed, so the
//! answer never tells whether an address is already a customer, or was asked for before.

use sha2::{Digest, Sha256};

use std::collections::HashMap;

use super::{audit, customers, ids_param, opt_outs, outbox, services, Backend, Store, StoreError};
use crate::domain::audit::{customer_with_opt_out, AuditAction, AuditEntity, Audited};
use crate::domain::{Customer, Timestamp, Who};

/// How often a subscription may be asked for in one [`Throttle::window`].
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub window: std::time::Duration,
    pub per_client: i64,
    pub per_address: i64,
}

impl Default for Throttle {
    /// An hour: 10 requests per client address, 3 per email address.
    fn default() -> Self {
        Throttle {
            window: std::time::Duration::from_secs(3600),
            per_client: 10,
            per_address: 3,
        }
    }
}

/// How long a request's link is kept after it expired (to say "expired", not "unknown").
const KEPT_AFTER_EXPIRY: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// Stored, and its confirmation email queued.
    Queued,
    /// Too many for this address: nothing stored, nothing to send; answered as [`Queued`].
    Quiet,
    /// Too many from this client: refused.
    TooMany,
}

/// What a confirmation link leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Unknown,
    Expired,
    Used,
    /// Valid: for this address and these services' names.
    Open {
        email: String,
        services: Vec<String>,
    },
}

/// What confirming did.
#[derive(Debug, Clone)]
pub enum Confirmed {
    /// The link cannot be used (unknown, expired, used): nothing changed.
    Refused(LinkState),
    /// The customer as now stored.
    Done(Customer),
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Store {
    /// Records a request for `email` (lower-cased by the caller's parse, compared ignoring
    /// case) to follow `service_ids`, which must all be public services (else a 400 naming
    /// `Services`, said as for ids that do not exist), valid until `expires`, and queues its
    /// confirmation email in the same transaction. `client` is the request's client address.
    pub async fn request_subscription(
        &self,
        email: &str,
        service_ids: &[i64],
        client: Option<std::net::IpAddr>,
        expires: Timestamp,
        limits: Throttle,
    ) -> Result<Requested, StoreError> {
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let found =
            services::live_services(&mut tx, service_ids, "Services", self.for_share()).await?;
        let private: Vec<i64> = found
            .iter()
            .filter(|s| !s.is_public)
            .map(|s| s.id)
            .collect();
        if !private.is_empty() {
            return Err(StoreError::invalid(
                "Services",
                services::no_such_services(&private),
            ));
        }
        let window_start = now.minus(limits.window);
        sqlx::query("DELETE FROM subscription_throttle WHERE window_start <= $1")
            .bind(window_start.ticks())
            .execute(&mut *tx)
            .await?;
        // Their links go with them (a foreign key's cascade), their emails too.
        let forgotten = now.minus(KEPT_AFTER_EXPIRY).ticks();
        sqlx::query(
            "DELETE FROM notifications WHERE subscription_id IN \
             (SELECT id FROM subscription_requests WHERE expires_at <= $1)",
        )
        .bind(forgotten)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM subscription_requests WHERE expires_at <= $1")
            .bind(forgotten)
            .execute(&mut *tx)
            .await?;
        let client_subject = format!(
            "client:{}",
            client.map_or_else(|| "unknown".to_owned(), |a| a.to_string())
        );
        if count(&mut tx, &client_subject, now, window_start).await? > limits.per_client {
            tx.commit().await?;
            return Ok(Requested::TooMany);
        }
        let address_subject = format!("address:{}", digest(&email.to_lowercase()));
        if count(&mut tx, &address_subject, now, window_start).await? > limits.per_address {
            tx.commit().await?;
            return Ok(Requested::Quiet);
        }
        let mut ids: Vec<i64> = found.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        let request: i64 = sqlx::query_scalar(
            "INSERT INTO subscription_requests (email, services, created_at, expires_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(email.to_lowercase())
        .bind(ids_param(&ids))
        .bind(now.ticks())
        .bind(expires.ticks())
        .fetch_one(&mut *tx)
        .await?;
        // Mailed as it was typed.
        outbox::enqueue_confirmation(&mut tx, request, email, now).await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(Requested::Queued)
    }

    /// What the confirmation link with this digest leads to (nothing changes).
    pub async fn subscription_link(&self, token_digest: &str) -> Result<LinkState, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let (state, _, _) = link_state(&mut conn, token_digest, self.now(), "").await?;
        Ok(state)
    }

    /// Issues confirmation links as their emails are sent: records each (request id, token
    /// digest) of a request still open, in one write, and answers what each request's email
    /// says (request id → its state and when it expires; a request no longer stored is absent).
    pub async fn issue_subscription_links(
        &self,
        links: &[(i64, String)],
    ) -> Result<HashMap<i64, (LinkState, Timestamp)>, StoreError> {
        let now = self.now();
        let mut states = HashMap::new();
        if links.is_empty() {
            return Ok(states);
        }
        let mut tx = self.write_tx().await?;
        for (request, digest) in links {
            let sql = "SELECT id, email, services, expires_at, used_at FROM subscription_requests \
                       WHERE id = $1";
            let row: Option<RequestRow> = sqlx::query_as(sql)
                .bind(request)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else { continue };
            let expires = Timestamp::from_ticks(row.3);
            let (state, _) = request_state(&mut tx, row, now).await?;
            if matches!(state, LinkState::Open { .. }) {
                sqlx::query(
                    "INSERT INTO subscription_links (token_sha256, request_id, created_at) \
                     VALUES ($1, $2, $3)",
                )
                .bind(digest)
                .bind(request)
                .bind(now.ticks())
                .execute(&mut *tx)
                .await?;
            }
            states.insert(*request, (state, expires));
        }
        tx.commit().await?;
        Ok(states)
    }

    /// Confirms the request behind a link: once, before it expires. The customer with the
    /// request's address (the first, ignoring case) follows the services too (those still
    /// public), or a new customer named by the address is created; an opt-out of the address
    /// is lifted (they asked for these emails, and confirmed it). `link_digest` is recorded as
    /// a personal link of the customer's, so the answer can lead to their personal page.
    /// Audited as `who`'s.
    pub async fn confirm_subscription(
        &self,
        token_digest: &str,
        link_digest: &str,
        who: &Who,
    ) -> Result<Confirmed, StoreError> {
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let (state, ids, request) =
            link_state(&mut tx, token_digest, now, self.for_update()).await?;
        let LinkState::Open { email, .. } = state else {
            return Ok(Confirmed::Refused(state));
        };
        sqlx::query("UPDATE subscription_requests SET used_at = $1 WHERE id = $2")
            .bind(now.ticks())
            .bind(request)
            .execute(&mut *tx)
            .await?;
        let sql = format!(
            "SELECT id FROM customers WHERE lower(email) = $1 ORDER BY id LIMIT 1{}",
            self.for_update()
        );
        let existing: Option<i64> = sqlx::query_scalar(&sql)
            .bind(&email)
            .fetch_optional(&mut *tx)
            .await?;
        let (id, before) = match existing {
            Some(id) => (id, Some(customers::load(&mut tx, id).await?)),
            None => {
                let name: String = email.chars().take(200).collect();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id",
                )
                .bind(name)
                .bind(&email)
                .fetch_one(&mut *tx)
                .await?;
                (id, None)
            }
        };
        if !ids.is_empty() {
            let sql = format!(
                "INSERT INTO customer_services (customer_id, service_id) \
                 SELECT $1, s.id FROM services s WHERE s.id IN ({}) AND s.is_public = 1 \
                   AND s.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM customer_services cs \
                   WHERE cs.customer_id = $1 AND cs.service_id = s.id)",
                self.backend().ids_in(2)
            );
            sqlx::query(&sql)
                .bind(id)
                .bind(ids_param(&ids))
                .execute(&mut *tx)
                .await?;
        }
        opt_outs::lift(&mut tx, opt_outs::EMAIL, &email, &who.actor.label(), now).await?;
        sqlx::query(
            "INSERT INTO customer_tokens (token_sha256, customer_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(link_digest)
        .bind(id)
        .bind(now.ticks())
        .execute(&mut *tx)
        .await?;
        let after = customers::load(&mut tx, id).await?;
        match &before {
            None => audit::record(&mut tx, who, AuditAction::Created, None, Some(&after)).await?,
            Some(before) => {
                audit::record_views(
                    &mut tx,
                    who,
                    AuditEntity::Customer,
                    after.audit_id(),
                    AuditAction::Updated,
                    Some(&customer_with_opt_out(before)),
                    Some(&customer_with_opt_out(&after)),
                )
                .await?
            }
        }
        tx.commit().await?;
        Ok(Confirmed::Done(after))
    }
}

/// Counts one more request of `subject` in the window that began after `window_start` (a new
/// window from `now` when the last one is over); returns the count.
async fn count(
    conn: &mut sqlx::AnyConnection,
    subject: &str,
    now: Timestamp,
    window_start: Timestamp,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO subscription_throttle (subject, window_start, requests) VALUES ($1, $2, 1) \
         ON CONFLICT (subject) DO UPDATE SET \
           requests = CASE WHEN subscription_throttle.window_start <= $3 THEN 1 \
             ELSE subscription_throttle.requests + 1 END, \
           window_start = CASE WHEN subscription_throttle.window_start <= $3 THEN $2 \
             ELSE subscription_throttle.window_start END \
         RETURNING requests",
    )
    .bind(subject)
    .bind(now.ticks())
    .bind(window_start.ticks())
    .fetch_one(&mut *conn)
    .await?)
}

/// A request as stored: id, email, services (JSON ids), expires_at, used_at.
type RequestRow = (i64, String, String, i64, Option<i64>);

/// A link's state, its request's service ids and the request's id (0: unknown), the request's
/// row locked with `lock`.
async fn link_state(
    conn: &mut sqlx::AnyConnection,
    token_digest: &str,
    now: Timestamp,
    lock: &str,
) -> Result<(LinkState, Vec<i64>, i64), StoreError> {
    let sql = format!(
        "SELECT r.id, r.email, r.services, r.expires_at, r.used_at FROM subscription_links l \
         JOIN subscription_requests r ON r.id = l.request_id WHERE l.token_sha256 = $1{lock}"
    );
    let row: Option<RequestRow> = sqlx::query_as(&sql)
        .bind(token_digest)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok((LinkState::Unknown, Vec::new(), 0));
    };
    let id = row.0;
    let (state, ids) = request_state(conn, row, now).await?;
    Ok((state, ids, id))
}

/// A request's state and its service ids (those of an open request only).
async fn request_state(
    conn: &mut sqlx::AnyConnection,
    (_, email, services, expires_at, used_at): RequestRow,
    now: Timestamp,
) -> Result<(LinkState, Vec<i64>), StoreError> {
    if used_at.is_some() {
        return Ok((LinkState::Used, Vec::new()));
    }
    if expires_at <= now.ticks() {
        return Ok((LinkState::Expired, Vec::new()));
    }
    let ids: Vec<i64> = serde_json::from_str(&services).unwrap_or_default();
    let names: Vec<String> = if ids.is_empty() {
        Vec::new()
    } else {
        let sql = format!(
            "SELECT name FROM services WHERE id IN ({}) AND is_public = 1 \
             AND deleted_at IS NULL ORDER BY name",
            Backend::of(conn).ids_in(1)
        );
        sqlx::query_scalar(&sql)
            .bind(ids_param(&ids))
            .fetch_all(&mut *conn)
            .await?
    };
    Ok((
        LinkState::Open {
            email,
            services: names,
        },
        ids,
    ))
}
