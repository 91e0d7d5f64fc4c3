//! Webhooks: kept with plain CRUD (audited, never the secret), their rows in the outbox (one
//! per active matching webhook per event), and Herald turning one off (a 410, or failing for the
//! whole retry window).

use std::collections::HashMap;

use futures::stream::BoxStream;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::rows::{self, Check};
use super::{audit, idempotency, outbox};
use super::{Page, Store, StoreError};
use crate::domain::audit::{secret_changed, AuditAction, AuditEntity, Audited};
use crate::domain::{
    Actor, NewWebhook, Ticket, TicketEvent, Timestamp, Webhook, WebhookFormat, WebhookSecret, Who,
};

const COLUMNS: &str = "id, url, format, is_active, deactivated_at, deactivated_reason";

/// What the webhook sender needs of a webhook.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub id: i64,
    pub url: String,
    pub format: WebhookFormat,
    pub secret: WebhookSecret,
    pub is_active: bool,
}

fn webhook(row: &AnyRow, services: Vec<i64>) -> Result<Webhook, StoreError> {
    let format: String = row.try_get("format")?;
    let deactivated_at = rows::ts(row, "deactivated_at")?;
    let reason: Option<String> = row.try_get("deactivated_reason")?;
    Ok(Webhook {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        services,
        format: WebhookFormat::parse(&format)
            .ok_or_else(|| StoreError::Config(format!("unknown webhook format {format}")))?,
        is_active: rows::flag(row, "is_active")?,
        deactivated: deactivated_at.map(|at| (at, reason.unwrap_or_default())),
        new_secret: None,
    })
}

async fn services_of(conn: &mut AnyConnection, id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT service_id FROM webhook_services WHERE webhook_id = $1 ORDER BY service_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

async fn set_services(tx: &mut AnyConnection, id: i64, services: &[i64]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM webhook_services WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut ids = services.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for service in ids {
        sqlx::query("INSERT INTO webhook_services (webhook_id, service_id) VALUES ($1, $2)")
            .bind(id)
            .bind(service)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Queues one message of `event` per active webhook whose services include one of the ticket's
/// (or that covers every service), in the change's transaction; its address is the webhook's
/// URL. Returns how many were queued.
pub(super) async fn enqueue(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    event: &TicketEvent,
) -> Result<u64, StoreError> {
    let services = outbox::service_ids_sql(tx, ticket, 4);
    let sql = format!(
        "INSERT INTO notifications (event_id, ticket_id, customer_id, channel, address, \
           webhook_id, name, state, attempts, queued_at, next_attempt_at) \
         SELECT $1, $2, NULL, 'webhook', w.url, w.id, 'Webhook ' || w.id, 'queued', 0, $3, $3 \
         FROM webhooks w WHERE w.is_active <> 0 AND ( \
           NOT EXISTS (SELECT 1 FROM webhook_services a WHERE a.webhook_id = w.id) \
           OR EXISTS (SELECT 1 FROM webhook_services s WHERE s.webhook_id = w.id \
             AND s.service_id IN ({services})))"
    );
    let mut q = sqlx::query(&sql)
        .bind(event.id)
        .bind(ticket.id)
        .bind(event.at.ticks());
    if let Some(ids) = outbox::service_ids_param(ticket) {
        q = q.bind(ids);
    }
    Ok(q.execute(&mut *tx).await?.rows_affected())
}

impl Store {
    pub fn list_webhooks(&self, page: Page) -> BoxStream<'static, Result<Webhook, StoreError>> {
        let pool = self.pool.clone();
        Box::pin(async_stream::try_stream! {
            let sql = format!("SELECT {COLUMNS} FROM webhooks ORDER BY id LIMIT $1 OFFSET $2");
            let found = sqlx::query(&sql).bind(page.limit()).bind(page.offset()).fetch_all(&pool).await?;
            let mut conn = pool.acquire().await?;
            for row in found {
                let services = services_of(&mut conn, row.try_get("id")?).await?;
                yield webhook(&row, services)?;
            }
        })
    }

    pub async fn get_webhook(&self, id: i64) -> Result<Webhook, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        let services = services_of(&mut conn, id).await?;
        webhook(&row, services)
    }

    /// Creates a webhook; its secret (generated when none is given) is in the answer only.
    pub async fn create_webhook(&self, new: &NewWebhook, who: &Who) -> Result<Webhook, StoreError> {
        let mut tx = self.write_tx().await?;
        self.existing_services(&mut tx, &new.services, "Services")
            .await?;
        let secret = new.secret.clone().unwrap_or_else(WebhookSecret::generate);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (url, format, secret, is_active) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(new.url.as_str())
        .bind(new.format.as_str())
        .bind(secret.expose())
        .bind(super::flag(new.is_active))
        .fetch_one(&mut *tx)
        .await?;
        set_services(&mut tx, id, &new.services).await?;
        idempotency::link_created(&mut tx, idempotency::held().as_ref(), id).await?;
        let mut created = self.webhook_for_update(&mut tx, id).await?;
        record(
            &mut tx,
            who,
            AuditAction::Created,
            None,
            Some(&created),
            true,
        )
        .await?;
        tx.commit().await?;
        created.new_secret = Some(secret);
        Ok(created)
    }

    /// Replaces a webhook's fields (an omitted secret keeps the stored one). Turning it on
    /// again clears why Herald had turned it off.
    pub async fn update_webhook(
        &self,
        id: i64,
        new: &NewWebhook,
        precondition: Check<'_, Webhook>,
        who: &Who,
    ) -> Result<Webhook, StoreError> {
        let mut tx = self.write_tx().await?;
        let current = self.webhook_for_update(&mut tx, id).await?;
        rows::check(precondition, &current)?;
        self.existing_services(&mut tx, &new.services, "Services")
            .await?;
        let stored: String = sqlx::query_scalar("SELECT secret FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let new_secret = new.secret.as_ref().filter(|s| s.expose() != stored);
        sqlx::query(
            "UPDATE webhooks SET url = $1, format = $2, secret = COALESCE($3, secret), \
               secret_replaced = CASE WHEN $3 IS NULL THEN secret_replaced ELSE 1 END, \
               is_active = $4, \
               deactivated_at = CASE WHEN $4 <> 0 THEN NULL ELSE deactivated_at END, \
               deactivated_reason = CASE WHEN $4 <> 0 THEN NULL ELSE deactivated_reason END \
             WHERE id = $5",
        )
        .bind(new.url.as_str())
        .bind(new.format.as_str())
        .bind(new_secret.map(|s| s.expose().to_owned()))
        .bind(super::flag(new.is_active))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        set_services(&mut tx, id, &new.services).await?;
        let updated = self.webhook_for_update(&mut tx, id).await?;
        let (before, after) = (Some(&current), Some(&updated));
        let secret = new_secret.is_some();
        record(&mut tx, who, AuditAction::Updated, before, after, secret).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes a webhook; its messages not yet sent are cancelled.
    pub async fn delete_webhook(
        &self,
        id: i64,
        precondition: Check<'_, Webhook>,
        who: &Who,
    ) -> Result<Webhook, StoreError> {
        let mut tx = self.write_tx().await?;
        let current = self.webhook_for_update(&mut tx, id).await?;
        rows::check(precondition, &current)?;
        cancel_pending(&mut tx, id, true).await?;
        sqlx::query("DELETE FROM webhook_services WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, who, AuditAction::Deleted, Some(&current), None).await?;
        tx.commit().await?;
        Ok(current)
    }

    /// Herald turns a webhook off (`reason`: a 410, or failing for the whole retry window): its
    /// messages not yet sent are cancelled, and the change is audited as Herald's. Nothing
    /// happens to a webhook already off or deleted.
    pub async fn deactivate_webhook(
        &self,
        id: i64,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let current = match self.webhook_for_update(&mut tx, id).await {
            Ok(current) if current.is_active => current,
            Ok(_) | Err(StoreError::NotFound) => return Ok(false),
            Err(e) => return Err(e),
        };
        sqlx::query(
            "UPDATE webhooks SET is_active = 0, deactivated_at = $1, deactivated_reason = $2 \
             WHERE id = $3",
        )
        .bind(at.ticks())
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        cancel_pending(&mut tx, id, false).await?;
        let updated = self.webhook_for_update(&mut tx, id).await?;
        let who = Who::new(Actor::Scheduler, None);
        audit::record(
            &mut tx,
            &who,
            AuditAction::Updated,
            Some(&current),
            Some(&updated),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The secret the webhook's create set and showed, while it is still its secret (none once
    /// it was replaced, or when there is no such webhook): what a replay of the create shows
    /// (see `api::idempotency`).
    pub async fn creation_secret(&self, id: i64) -> Result<Option<WebhookSecret>, StoreError> {
        let secret: Option<String> =
            sqlx::query_scalar("SELECT secret FROM webhooks WHERE id = $1 AND secret_replaced = 0")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(secret.map(WebhookSecret::from_stored))
    }

    /// The webhooks Herald turned off and nobody turned on again, by id: what the GUI tells
    /// its operators about.
    pub async fn deactivated_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhooks WHERE is_active = 0 AND deactivated_at IS NOT NULL \
             ORDER BY id LIMIT 100"
        );
        let found = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut conn = self.pool.acquire().await?;
        let mut off = Vec::with_capacity(found.len());
        for row in found {
            let services = services_of(&mut conn, row.try_get("id")?).await?;
            off.push(webhook(&row, services)?);
        }
        Ok(off)
    }

    /// What the sender needs of these webhooks (those that still exist), by id.
    pub async fn webhook_targets(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, WebhookTarget>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT id, url, format, secret, is_active FROM webhooks WHERE id IN ({})",
            self.backend().ids_in(1)
        );
        let found = sqlx::query(&sql)
            .bind(super::ids_param(ids))
            .fetch_all(&self.pool)
            .await?;
        let mut targets = HashMap::new();
        for row in found {
            let format: String = row.try_get("format")?;
            let target = WebhookTarget {
                id: row.try_get("id")?,
                url: row.try_get("url")?,
                format: WebhookFormat::parse(&format).ok_or_else(|| {
                    StoreError::Config(format!("unknown webhook format {format}"))
                })?,
                secret: WebhookSecret::from_stored(row.try_get("secret")?),
                is_active: rows::flag(&row, "is_active")?,
            };
            targets.insert(target.id, target);
        }
        Ok(targets)
    }

    async fn webhook_for_update(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: i64,
    ) -> Result<Webhook, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhooks WHERE id = $1{}",
            self.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let services = services_of(tx, id).await?;
        webhook(&row, services)
    }
}

/// Records a change of a webhook; `secret`: its signing secret was set (shown as changed, never
/// as itself).
async fn record(
    conn: &mut AnyConnection,
    who: &Who,
    action: AuditAction,
    before: Option<&Webhook>,
    after: Option<&Webhook>,
    secret: bool,
) -> Result<(), StoreError> {
    let old = before.map(Webhook::audit_view);
    let mut new = after.map(Webhook::audit_view);
    if let Some(view) = new.as_mut().filter(|_| secret) {
        secret_changed(view);
    }
    let id = after.or(before).map(|w| w.id);
    let entity = AuditEntity::Webhook;
    audit::record_views(conn, who, entity, id, action, old.as_ref(), new.as_ref()).await
}

/// Cancels a webhook's messages not yet sent; `in_flight`: those a worker holds too (else
/// their outcome is recorded as it comes, and a later claim finds the webhook off).
async fn cancel_pending(
    tx: &mut AnyConnection,
    webhook_id: i64,
    in_flight: bool,
) -> Result<u64, StoreError> {
    let held = if in_flight {
        ""
    } else {
        " AND claimed_by IS NULL"
    };
    let done = sqlx::query(&format!(
        "UPDATE notifications SET state = 'cancelled', next_attempt_at = NULL \
         WHERE webhook_id = $1 AND state IN ('queued', 'retrying'){held}"
    ))
    .bind(webhook_id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}
