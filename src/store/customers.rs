//! Customers and the services they follow.

use futures::stream::BoxStream;
use futures::TryStreamExt;
use sqlx::{Any, Row, Transaction};

use std::sync::LazyLock;

use super::rows::{self, Check, Columns};
use super::{audit, idempotency};
use super::{Page, Store, StoreError};
use crate::domain::audit::AuditAction;
use crate::domain::{Customer, LanguageTag, NewCustomer, Who};

/// Customers with their followed services, one row per (customer, service), ordered by
/// customer then service so a list can be assembled while streaming.
const SELECT: &str = "SELECT c.id, c.name, c.email, c.cell_phone, c.language, o.opted_out_at, \
       s.id AS s_id, s.name AS s_name, s.description AS s_description, s.is_public AS s_is_public \
     FROM {FROM} c \
     LEFT JOIN opt_outs o ON o.channel = 'email' AND o.address = lower(c.email) \
       AND o.lifted_at IS NULL \
     LEFT JOIN customer_services cs ON cs.customer_id = c.id \
     LEFT JOIN services s ON s.id = cs.service_id \
     ORDER BY c.id, s.id";

fn select(from: &str) -> String {
    SELECT.replace("{FROM}", from)
}

fn customer_head(row: &impl Columns) -> Result<Customer, sqlx::Error> {
    Ok(Customer {
        id: row.int("id")?,
        name: row.text("name")?,
        email: row.opt_text("email")?,
        cell_phone: row.opt_text("cell_phone")?,
        services: Vec::new(),
        opted_out_time: rows::ts(row, "opted_out_at")?,
        // A stored tag that no longer parses (written by hand) counts as none.
        language: row
            .opt_text("language")?
            .and_then(|t| LanguageTag::parse(&t).ok()),
    })
}

/// Who a ticket about some services would email: distinct addresses, ignoring case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recipients {
    pub emailed: i64,
    /// Followers whose address opted out (they are not emailed).
    pub opted_out: i64,
}

/// Filters of the customer list (the GUI's search box and service filter).
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Matches name, email or phone, ignoring case.
    pub search: Option<String>,
    pub service_id: Option<i64>,
}

impl CustomerFilter {
    /// The `WHERE …` clause (empty when nothing is filtered), its parameters numbered from
    /// `$first`: the search pattern first (returned, to bind), then the service id.
    pub(super) fn clause(&self, first: usize) -> (String, Option<String>) {
        let pattern = self
            .search
            .as_deref()
            .map(|s| format!("%{}%", like_escaped(&s.to_lowercase())));
        let mut wheres = Vec::new();
        let mut next = first;
        if pattern.is_some() {
            wheres.push(format!(
                "(lower(name) LIKE ${next} ESCAPE '\\' OR lower(coalesce(email, '')) LIKE ${next} ESCAPE '\\' \
                 OR coalesce(cell_phone, '') LIKE ${next} ESCAPE '\\')"
            ));
            next += 1;
        }
        if self.service_id.is_some() {
            wheres.push(format!(
                "id IN (SELECT customer_id FROM customer_services WHERE service_id = ${next})"
            ));
        }
        let clause = if wheres.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wheres.join(" AND "))
        };
        (clause, pattern)
    }
}

/// `text` as a LIKE pattern that matches itself only: `%`, `_` and the escape character `\`
/// stand for themselves (the clause says `ESCAPE '\'`).
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl Store {
    pub fn list_customers(&self, page: Page) -> BoxStream<'static, Result<Customer, StoreError>> {
        self.search_customers(CustomerFilter::default(), page)
    }

    pub fn search_customers(
        &self,
        filter: CustomerFilter,
        page: Page,
    ) -> BoxStream<'static, Result<Customer, StoreError>> {
        let pool = self.pool.clone();
        Box::pin(async_stream::try_stream! {
            let (where_clause, pattern) = filter.clause(3);
            let from = format!("(SELECT * FROM customers {where_clause} ORDER BY id LIMIT $1 OFFSET $2)");
            let sql = select(&from);
            let mut q = sqlx::query(&sql).bind(page.limit()).bind(page.offset());
            if let Some(p) = pattern {
                q = q.bind(p);
            }
            if let Some(id) = filter.service_id {
                q = q.bind(id);
            }
            let mut rows = q.fetch(&pool);
            let mut current: Option<Customer> = None;
            while let Some(row) = rows.try_next().await? {
                let id: i64 = row.try_get("id")?;
                if current.as_ref().is_some_and(|c| c.id != id) {
                    yield current.take().expect("checked above");
                }
                let customer = match current.as_mut() {
                    Some(c) => c,
                    None => current.insert(customer_head(&row)?),
                };
                if let Some(s) = rows::joined_service(&row)? {
                    customer.services.push(s);
                }
            }
            if let Some(c) = current {
                yield c;
            }
        })
    }

    pub async fn get_customer(&self, id: i64) -> Result<Customer, StoreError> {
        if let Some(reads) = self.engine.pg_reads() {
            return reads.read(&SELECT_ONE, id, customer_of).await;
        }
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, id).await
    }

    pub async fn create_customer(
        &self,
        new: &NewCustomer,
        who: &Who,
    ) -> Result<Customer, StoreError> {
        let mut tx = self.write_tx().await?;
        self.existing_services(&mut tx, &new.services, "Services")
            .await?;
        let language = new.language.clone().resolve_optional(None);
        let (number, country) = self.stored_sms_number(new);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (name, email, cell_phone, language, \
               sms_number, sms_number_from, sms_number_country) \
             VALUES ($1, $2, $3, $4, $5, $3, $6) RETURNING id",
        )
        .bind(new.name.as_str())
        .bind(new.email.as_ref().map(|e| e.as_str()))
        .bind(new.cell_phone.as_ref().map(|p| p.as_str()))
        .bind(language.as_ref().map(LanguageTag::as_str))
        .bind(number)
        .bind(country)
        .fetch_one(&mut *tx)
        .await?;
        idempotency::link_created(&mut tx, idempotency::held().as_ref(), id).await?;
        follow(&mut tx, id, &new.services).await?;
        let customer = load(&mut tx, id).await?;
        audit::record(&mut tx, who, AuditAction::Created, None, Some(&customer)).await?;
        tx.commit().await?;
        Ok(customer)
    }

    pub async fn update_customer(
        &self,
        id: i64,
        new: &NewCustomer,
        precondition: Check<'_, Customer>,
        who: &Who,
    ) -> Result<Customer, StoreError> {
        let mut tx = self.write_tx().await?;
        self.lock_customer(&mut tx, id).await?;
        let current = load(&mut tx, id).await?;
        rows::check(precondition, &current)?;
        self.existing_services(&mut tx, &new.services, "Services")
            .await?;
        let language = new
            .language
            .clone()
            .resolve_optional(current.language.clone());
        let (number, country) = self.stored_sms_number(new);
        sqlx::query(
            "UPDATE customers SET name = $1, email = $2, cell_phone = $3, language = $4, \
               sms_number = $6, sms_number_from = $3, sms_number_country = $7 WHERE id = $5",
        )
        .bind(new.name.as_str())
        .bind(new.email.as_ref().map(|e| e.as_str()))
        .bind(new.cell_phone.as_ref().map(|p| p.as_str()))
        .bind(language.as_ref().map(LanguageTag::as_str))
        .bind(id)
        .bind(number)
        .bind(country)
        .execute(&mut *tx)
        .await?;
        replace_followed(&mut tx, id, &new.services).await?;
        let customer = load(&mut tx, id).await?;
        let (before, after) = (Some(&current), Some(&customer));
        audit::record(&mut tx, who, AuditAction::Updated, before, after).await?;
        tx.commit().await?;
        Ok(customer)
    }

    pub async fn delete_customer(
        &self,
        id: i64,
        precondition: Check<'_, Customer>,
        who: &Who,
    ) -> Result<Customer, StoreError> {
        let mut tx = self.write_tx().await?;
        self.lock_customer(&mut tx, id).await?;
        let current = load(&mut tx, id).await?;
        rows::check(precondition, &current)?;
        // Its personal links kept on their own too (on PostgreSQL no foreign key cascades: see
        // the migration `tokens_without_row_checks`); a batch's entry for it leads nowhere
        // once the customer is gone (ids are never reused).
        for table in ["customer_services", "customer_tokens", "link_revocations"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM customers WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, who, AuditAction::Deleted, Some(&current), None).await?;
        tx.commit().await?;
        Ok(current)
    }

    async fn lock_customer(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT id FROM customers WHERE id = $1{}",
            self.for_update()
        );
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(())
    }

    /// How many distinct email addresses follow at least one of these services: those that
    /// will be emailed, and those left out because they opted out.
    pub async fn count_recipients(&self, service_ids: &[i64]) -> Result<Recipients, StoreError> {
        if service_ids.is_empty() {
            return Ok(Recipients::default());
        }
        let sql = format!(
            "SELECT COUNT(DISTINCT CASE WHEN o.address IS NULL THEN lower(c.email) END), \
               COUNT(DISTINCT CASE WHEN o.address IS NOT NULL THEN lower(c.email) END) \
             FROM customers c \
             JOIN customer_services cs ON cs.customer_id = c.id \
             LEFT JOIN opt_outs o ON o.channel = 'email' AND o.address = lower(c.email) \
               AND o.lifted_at IS NULL \
             WHERE c.email IS NOT NULL AND c.email <> '' AND cs.service_id IN ({})",
            self.backend().ids_in(1)
        );
        let (emailed, opted_out) = sqlx::query_as::<_, (i64, i64)>(&sql)
            .bind(super::ids_param(service_ids))
            .fetch_one(&self.pool)
            .await?;
        Ok(Recipients { emailed, opted_out })
    }

    /// The languages of those of these customers that have one (id → tag), for the messages
    /// of a delivery batch.
    pub async fn customer_languages(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, LanguageTag>, StoreError> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!(
            "SELECT id, language FROM customers WHERE language IS NOT NULL AND id IN ({})",
            self.backend().ids_in(1)
        );
        let rows = sqlx::query_as::<_, (i64, String)>(&sql)
            .bind(super::ids_param(ids))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, tag)| Some((id, LanguageTag::parse(&tag).ok()?)))
            .collect())
    }
}

/// The customer follows exactly `services` (which the caller checked exist).
pub(super) async fn replace_followed(
    tx: &mut sqlx::AnyConnection,
    customer: i64,
    services: &[i64],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM customer_services WHERE customer_id = $1")
        .bind(customer)
        .execute(&mut *tx)
        .await?;
    follow(tx, customer, services).await
}

async fn follow(
    tx: &mut sqlx::AnyConnection,
    customer: i64,
    services: &[i64],
) -> Result<(), StoreError> {
    if services.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO customer_services (customer_id, service_id) \
         SELECT $1, id FROM services WHERE id IN ({})",
        super::Backend::of(tx).ids_in(2)
    );
    sqlx::query(&sql)
        .bind(customer)
        .bind(super::ids_param(services))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// One customer with the services they follow.
static SELECT_ONE: LazyLock<String> =
    LazyLock::new(|| select("(SELECT * FROM customers WHERE id = $1)"));

pub(super) async fn load(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Customer, StoreError> {
    let rows = sqlx::query(&SELECT_ONE)
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    customer_of(&rows)
}

/// The customer the rows of [`SELECT_ONE`] describe.
fn customer_of(rows: &[impl Columns]) -> Result<Customer, StoreError> {
    let first = rows.first().ok_or(StoreError::NotFound)?;
    let mut customer = customer_head(first)?;
    for row in rows {
        if let Some(s) = rows::joined_service(row)? {
            customer.services.push(s);
        }
    }
    Ok(customer)
}
