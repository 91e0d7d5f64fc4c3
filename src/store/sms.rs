//! The SMS channel's storage: its fan-out (called by [`super::outbox::enqueue`] in the change's
//! transaction), the SMSC's message ids of what was submitted, delivery receipts, and the
//! opt-out of a number that texted `STOP`.
//!
//! Numbers are normalised to E.164 here, in Rust (SQL cannot), with the default country of the
//! live settings ([`Store::set_sms_plan`]); the followers' numbers are read once and the rows
//! written with one `INSERT … SELECT` from a JSON parameter, however many followers.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use sqlx::AnyConnection;

use super::dialect::Backend;
use super::outbox::{service_ids_param, service_ids_sql};
use super::{audit, opt_outs, Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntity, AuditView};
use crate::domain::phone::{SmsPlan, E164};
use crate::domain::{Ticket, TicketEvent, Timestamp, Who};

/// The channel of phone numbers (E.164) in `opt_outs` and `notifications`.
pub const SMS: &str = "sms";

/// One part of a text the SMSC accepted: its message id (what its receipt names), and which
/// segment of how many it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsPart {
    pub notification: i64,
    pub message_id: String,
    /// 1-based.
    pub segment: u8,
    pub segments: u8,
}

impl Store {
    /// Sets which events are texted and how numbers are read (from the live settings).
    pub fn set_sms_plan(&self, plan: SmsPlan) {
        let mut current = self.sms_plan.write().expect("never poisoned");
        let renormalise =
            (current.enabled, current.default_country) != (plan.enabled, plan.default_country);
        *current = plan;
        drop(current);
        if renormalise {
            self.sms_numbers.notify_one();
        }
    }

    /// Notified when customers' stored numbers may need normalising (see
    /// [`Store::normalise_sms_numbers`]): `CellPhone`s written in bulk, or the SMS channel or
    /// its default country changed. The key says for which plan the last full pass ran.
    pub fn sms_numbers_to_normalise(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.sms_numbers.clone()
    }

    /// The channel's state and default country stored numbers depend on: a full pass of
    /// [`Store::normalise_sms_numbers`] is due when it changes (`None`: the channel is off).
    pub fn sms_numbers_key(&self) -> Option<String> {
        let plan = self.sms_plan();
        plan.enabled.then(|| country_key(&plan))
    }

    /// What a new or updated customer's row keeps of its `CellPhone` (see
    /// [`stored_number`]): nothing without one.
    pub(super) fn stored_sms_number(
        &self,
        new: &crate::domain::NewCustomer,
    ) -> (Option<String>, Option<String>) {
        match new.cell_phone.as_ref().map(|p| p.as_str()) {
            Some(phone) if !phone.is_empty() => {
                let (number, country) = stored_number(phone, &self.sms_plan());
                (number, Some(country))
            }
            _ => (None, None),
        }
    }

    pub(super) fn sms_plan(&self) -> SmsPlan {
        self.sms_plan.read().expect("never poisoned").clone()
    }

    /// Records the SMSC's message ids of the parts of submitted messages, in one write.
    pub async fn record_sms_parts(&self, parts: &[SmsPart]) -> Result<(), StoreError> {
        if parts.is_empty() {
            return Ok(());
        }
        if let Some(outbox) = self.engine.sqlite_outbox() {
            let parts = parts.to_vec();
            return outbox
                .run(move |conn| super::sqlite_outbox::record_sms_parts(conn, &parts))
                .await;
        }
        let rows: Vec<Value> = parts
            .iter()
            .map(|p| json!({"n": p.notification, "m": p.message_id, "s": p.segment, "t": p.segments}))
            .collect();
        let mut tx = self.write_tx().await?;
        let from = match Backend::of(&tx) {
            Backend::Sqlite => "SELECT json_extract(value, '$.m'), json_extract(value, '$.n'), \
                 json_extract(value, '$.s'), json_extract(value, '$.t') FROM json_each($1)"
                .to_owned(),
            Backend::Postgres => "SELECT e->>'m', (e->>'n')::bigint, (e->>'s')::int, \
                 (e->>'t')::int FROM jsonb_array_elements($1::jsonb) e"
                .to_owned(),
        };
        sqlx::query(&format!(
            // `WHERE true`: SQLite reads an upsert after a SELECT only with a WHERE clause.
            "INSERT INTO sms_parts (message_id, notification_id, segment, segments) {from} \
             WHERE true ON CONFLICT (message_id) DO UPDATE SET \
             notification_id = excluded.notification_id, segment = excluded.segment, \
             segments = excluded.segments"
        ))
        .bind(Value::Array(rows).to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The segments the SMSC accepted of each of these messages (texts retried after a later
    /// segment was refused), by message.
    pub async fn sms_accepted_segments(
        &self,
        notifications: &[i64],
    ) -> Result<HashMap<i64, Vec<SmsPart>>, StoreError> {
        let mut found: HashMap<i64, Vec<SmsPart>> = HashMap::new();
        if notifications.is_empty() {
            return Ok(found);
        }
        let sql = format!(
            "SELECT notification_id, message_id, segment, segments FROM sms_parts \
             WHERE segment IS NOT NULL AND notification_id IN ({})",
            self.backend().ids_in(1)
        );
        let rows = sqlx::query_as::<_, (i64, String, i64, i64)>(&sql)
            .bind(super::ids_param(notifications))
            .fetch_all(&self.pool)
            .await?;
        for (notification, message_id, segment, segments) in rows {
            let (Ok(segment), Ok(segments)) = (u8::try_from(segment), u8::try_from(segments))
            else {
                continue;
            };
            found.entry(notification).or_default().push(SmsPart {
                notification,
                message_id,
                segment,
                segments,
            });
        }
        Ok(found)
    }

    /// A delivery receipt: the message of the part `message_id` becomes delivered (from sent)
    /// or undelivered (from sent or delivered: one lost part loses the text). Returns whether
    /// it matched a message in that state; `false` may mean its outcome is not written yet.
    pub async fn sms_receipt(
        &self,
        message_id: &str,
        delivered: bool,
        status: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (state, from) = if delivered {
            ("delivered", "('sent')")
        } else {
            ("undelivered", "('sent', 'delivered')")
        };
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(&format!(
            "UPDATE notifications SET state = $1, reply = $2, sent_at = COALESCE(sent_at, $3) \
             WHERE id = (SELECT notification_id FROM sms_parts WHERE message_id = $4) \
               AND channel = 'sms' AND state IN {from}"
        ))
        .bind(state)
        .bind(format!("delivery receipt: {status}"))
        .bind(at.ticks())
        .bind(message_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done > 0)
    }

    /// Opts `number` out of texts (it texted `STOP`), recorded in the audit log on every
    /// customer with that number. Idempotent.
    pub async fn opt_out_number(&self, number: &E164, who: &Who) -> Result<(), StoreError> {
        let plan = self.sms_plan();
        let mut tx = self.write_tx().await?;
        let already: Option<i64> = sqlx::query_scalar(
            "SELECT opted_out_at FROM opt_outs WHERE channel = $1 AND address = $2 \
             AND lifted_at IS NULL",
        )
        .bind(SMS)
        .bind(number.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if already.is_some() {
            return Ok(());
        }
        let now = self.now();
        opt_outs::opt_out(&mut tx, SMS, number.as_str(), now).await?;
        let customers: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, cell_phone FROM customers WHERE cell_phone IS NOT NULL AND cell_phone <> ''",
        )
        .fetch_all(&mut *tx)
        .await?;
        for (id, phone) in customers {
            if E164::normalise(&phone, plan.default_country).as_ref() != Ok(number) {
                continue;
            }
            let view = |v: Value| -> AuditView { BTreeMap::from([("SmsOptedOut", v)]) };
            audit::record_views(
                &mut tx,
                who,
                AuditEntity::Customer,
                Some(id),
                AuditAction::Updated,
                Some(&view(Value::Null)),
                Some(&view(json!(number.as_str()))),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The key of the default country a stored number depended on (see the migration
/// `customer_sms_numbers`): its code, or `-` when none is set. A number written with its
/// country code depends on none: `''`.
fn country_key(plan: &SmsPlan) -> String {
    plan.default_country
        .map_or_else(|| "-".to_owned(), |c| c.code().to_owned())
}

/// What a customer's row keeps of `phone` (a `CellPhone`, not empty): its number in E.164
/// (`None` when it cannot be normalised), and the key of the default country that depended on
/// (`sms_number`, `sms_number_country`; `sms_number_from` is `phone` itself).
pub(super) fn stored_number(phone: &str, plan: &SmsPlan) -> (Option<String>, String) {
    let number = E164::normalise(phone, plan.default_country)
        .ok()
        .map(|n| n.as_str().to_owned());
    let trimmed = phone.trim();
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let country = if international {
        String::new()
    } else {
        country_key(plan)
    };
    (number, country)
}

/// Whether a customer's stored number (`c.sms_number`) holds for its `CellPhone` now (with the
/// default country in parameter `param`); never NULL.
fn stored_number_holds(param: usize) -> String {
    format!(
        "(c.sms_number IS NOT NULL AND c.sms_number_from IS NOT NULL \
          AND c.sms_number_from = c.cell_phone AND c.sms_number_country IS NOT NULL \
          AND (c.sms_number_country = '' OR c.sms_number_country = ${param}))"
    )
}

impl Store {
    /// Normalises and stores the numbers of up to `limit` customers after id `after` whose
    /// `CellPhone` changed since it was last normalised (or never was), or, with `all`, also
    /// those whose normalisation depended on another default country. Returns the last id it
    /// looked at, or `None` when there were none.
    pub async fn normalise_sms_numbers(
        &self,
        all: bool,
        after: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        let plan = self.sms_plan();
        if !plan.enabled {
            return Ok(None);
        }
        let key = country_key(&plan);
        let stale = match self.backend() {
            Backend::Sqlite => "sms_number_from IS NOT cell_phone",
            Backend::Postgres => "sms_number_from IS DISTINCT FROM cell_phone",
        };
        let sql = if all {
            format!(
                "SELECT id, cell_phone FROM customers WHERE cell_phone <> '' AND id > $1 \
                 AND ({stale} OR sms_number_country IS NULL \
                   OR (sms_number_country <> '' AND sms_number_country <> $3)) \
                 ORDER BY id LIMIT $2"
            )
        } else {
            // The partial index `customers_sms_stale` holds exactly these.
            format!(
                "SELECT id, cell_phone FROM customers WHERE cell_phone <> '' AND {stale} \
                 AND id > $1 ORDER BY id LIMIT $2"
            )
        };
        let mut q = sqlx::query_as::<_, (i64, String)>(&sql)
            .bind(after)
            .bind(limit);
        if all {
            q = q.bind(&key);
        }
        let customers = q.fetch_all(&self.pool).await?;
        let Some(last) = customers.last().map(|(id, _)| *id) else {
            return Ok(None);
        };
        let rows: Vec<Value> = customers
            .into_iter()
            .map(|(id, phone)| {
                let (number, country) = stored_number(&phone, &plan);
                json!({"i": id, "f": phone, "n": number, "k": country})
            })
            .collect();
        // Only where the CellPhone is still the one normalised (a write may have come between).
        let sql = match self.backend() {
            Backend::Sqlite => {
                "UPDATE customers SET sms_number = json_extract(e.value, '$.n'), \
                   sms_number_from = json_extract(e.value, '$.f'), \
                   sms_number_country = json_extract(e.value, '$.k') \
                 FROM json_each($1) e \
                 WHERE customers.id = json_extract(e.value, '$.i') \
                   AND customers.cell_phone = json_extract(e.value, '$.f')"
            }
            Backend::Postgres => {
                "UPDATE customers SET sms_number = e->>'n', sms_number_from = e->>'f', \
                   sms_number_country = e->>'k' \
                 FROM jsonb_array_elements($1::jsonb) e \
                 WHERE customers.id = (e->>'i')::bigint AND customers.cell_phone = e->>'f'"
            }
        };
        let mut tx = self.write_tx().await?;
        sqlx::query(sql)
            .bind(Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(last))
    }
}

/// The SMS fan-out of `event`: one row per distinct normalised number of the followers with a
/// `CellPhone` (the first follower's, by id), when the event is one of `sms_events`, numbers
/// opted out left out; a number that cannot be normalised gets a row `skipped` at once, with
/// why, so the skip shows with the ticket's deliveries. Nothing when no SMS gateway is set
/// (the channel is off).
///
/// The followers whose stored number holds (nearly all: see [`Store::normalise_sms_numbers`])
/// are queued by one `INSERT … SELECT`; the rest (a `CellPhone` changed a moment ago, a default
/// country changed, a number that cannot be normalised) are read and normalised here.
pub(super) async fn enqueue(
    tx: &mut AnyConnection,
    ticket: &Ticket,
    event: &TicketEvent,
    plan: &SmsPlan,
) -> Result<u64, StoreError> {
    if !plan.enabled || !plan.events.contains(&event.kind) {
        return Ok(0);
    }
    let key = country_key(plan);
    let services = service_ids_sql(tx, ticket, 5);
    let holds = stored_number_holds(4);
    let followers = format!(
        "FROM customers c WHERE c.cell_phone <> '' AND {holds} AND c.id IN ( \
           SELECT cs.customer_id FROM customer_services cs WHERE cs.service_id IN ({services}))"
    );
    // One row per number, the first follower's (lowest id); as for email (see
    // `outbox::enqueue_email`): SQLite by GROUP BY, PostgreSQL by a window.
    let first_per_number = match Backend::of(tx) {
        Backend::Sqlite => format!(
            "(SELECT min(c.id) AS id {followers} GROUP BY c.sms_number) f \
             JOIN customers r ON r.id = f.id WHERE"
        ),
        Backend::Postgres => format!(
            "(SELECT c.id, c.sms_number, c.name, \
               ROW_NUMBER() OVER (PARTITION BY c.sms_number ORDER BY c.id) AS rn \
             {followers}) r WHERE r.rn = 1 AND"
        ),
    };
    let sql = format!(
        "INSERT INTO notifications (event_id, ticket_id, customer_id, channel, address, name, \
           state, attempts, queued_at, next_attempt_at) \
         SELECT $1, $2, r.id, 'sms', r.sms_number, r.name, 'queued', 0, $3, $3 \
         FROM {first_per_number} r.sms_number NOT IN ( \
           SELECT o.address FROM opt_outs o WHERE o.channel = 'sms' AND o.lifted_at IS NULL)"
    );
    let mut q = sqlx::query(&sql)
        .bind(event.id)
        .bind(ticket.id)
        .bind(event.at.ticks())
        .bind(&key);
    if let Some(ids) = service_ids_param(ticket) {
        q = q.bind(ids);
    }
    let mut queued = q.execute(&mut *tx).await?.rows_affected();

    let services = service_ids_sql(tx, ticket, 2);
    let holds = stored_number_holds(1);
    let sql = format!(
        "SELECT c.id, c.name, c.cell_phone FROM customers c \
         WHERE c.cell_phone IS NOT NULL AND c.cell_phone <> '' AND NOT {holds} AND c.id IN ( \
           SELECT cs.customer_id FROM customer_services cs WHERE cs.service_id IN ({services})) \
         ORDER BY c.id"
    );
    let mut q = sqlx::query_as::<_, (i64, String, String)>(&sql).bind(&key);
    if let Some(ids) = service_ids_param(ticket) {
        q = q.bind(ids);
    }
    let followers = q.fetch_all(&mut *tx).await?;
    if followers.is_empty() {
        return Ok(queued);
    }
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (id, name, phone) in followers {
        match E164::normalise(&phone, plan.default_country) {
            Ok(number) => {
                if seen.insert(number.as_str().to_owned()) {
                    rows.push(json!({"c": id, "n": name, "a": number.as_str(), "s": "queued"}));
                }
            }
            Err(why) => {
                if seen.insert(phone.clone()) {
                    rows.push(
                        json!({"c": id, "n": name, "a": phone.trim(), "s": "skipped",
                        "r": why}),
                    );
                }
            }
        }
    }
    let from = match Backend::of(tx) {
        Backend::Sqlite => {
            "SELECT json_extract(value, '$.c') AS c, json_extract(value, '$.n') AS n, \
             json_extract(value, '$.a') AS a, json_extract(value, '$.s') AS s, \
             json_extract(value, '$.r') AS r FROM json_each($4)"
                .to_owned()
        }
        Backend::Postgres => "SELECT (e->>'c')::bigint AS c, e->>'n' AS n, e->>'a' AS a, \
             e->>'s' AS s, e->>'r' AS r FROM jsonb_array_elements($4::jsonb) e"
            .to_owned(),
    };
    // A skipped number's row is final at once: no attempt is due. A number the statement
    // above queued already (another follower's stored number) is not queued twice.
    let sql = format!(
        "INSERT INTO notifications (event_id, ticket_id, customer_id, channel, address, name, \
           state, attempts, queued_at, next_attempt_at, reply) \
         SELECT $1, $2, r.c, 'sms', r.a, r.n, r.s, 0, $3, \
           CASE WHEN r.s = 'queued' THEN $3 ELSE NULL END, r.r \
         FROM ({from}) r \
         WHERE r.s <> 'queued' OR (r.a NOT IN ( \
           SELECT o.address FROM opt_outs o WHERE o.channel = 'sms' AND o.lifted_at IS NULL) \
           AND r.a NOT IN (SELECT q.address FROM notifications q \
             WHERE q.ticket_id = $2 AND q.event_id = $1 AND q.channel = 'sms'))"
    );
    queued += sqlx::query(&sql)
        .bind(event.id)
        .bind(ticket.id)
        .bind(event.at.ticks())
        .bind(Value::Array(rows).to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    Ok(queued)
}
