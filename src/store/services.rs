//! Services: soft-deleted, so tickets keep showing the services they were about.

use std::collections::HashSet;
use std::sync::LazyLock;

use futures::stream::BoxStream;
use futures::TryStreamExt;
use sqlx::{Any, AnyConnection, Transaction};

use super::rows::{self, Check};
use super::{audit, idempotency};
use super::{error::is_unique_violation, Backend, Page, Store, StoreError};
use crate::domain::audit::AuditAction;
use crate::domain::{NewService, Service, Timestamp, Who};

const COLUMNS: &str = "id, name, description, is_public";

impl Store {
    pub fn list_services(&self, page: Page) -> BoxStream<'static, Result<Service, StoreError>> {
        let pool = self.pool.clone();
        Box::pin(async_stream::try_stream! {
            let sql = format!(
                "SELECT {COLUMNS} FROM services WHERE deleted_at IS NULL ORDER BY id LIMIT $1 OFFSET $2"
            );
            let mut rows = sqlx::query(&sql).bind(page.limit()).bind(page.offset()).fetch(&pool);
            while let Some(row) = rows.try_next().await? {
                yield rows::service(&row, "")?;
            }
        })
    }

    pub async fn get_service(&self, id: i64) -> Result<Service, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT {COLUMNS} FROM services WHERE id = $1 AND deleted_at IS NULL")
        });
        fn decode(rows: &[impl rows::Columns]) -> Result<Service, StoreError> {
            let row = rows.first().ok_or(StoreError::NotFound)?;
            Ok(rows::service(row, "")?)
        }
        if let Some(reads) = self.engine.pg_reads() {
            return reads.read(&SQL, id, decode).await;
        }
        let row = sqlx::query(&SQL)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        decode(row.as_slice())
    }

    pub async fn create_service(&self, new: &NewService, who: &Who) -> Result<Service, StoreError> {
        let mut tx = self.write_tx().await?;
        unique_name(&mut tx, new.name.as_str(), None).await?;
        let is_public = new.is_public.resolve(None, Service::PUBLIC_BY_DEFAULT);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO services (name, description, is_public) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(new.name.as_str())
        .bind(new.description.as_deref())
        .bind(i64::from(is_public))
        .fetch_one(&mut *tx)
        .await
        .map_err(name_taken)?;
        idempotency::link_created(&mut tx, idempotency::held().as_ref(), id).await?;
        let service = Service {
            id,
            name: new.name.to_string(),
            description: new.description.clone(),
            is_public,
        };
        audit::record(&mut tx, who, AuditAction::Created, None, Some(&service)).await?;
        tx.commit().await?;
        self.public_changed();
        Ok(service)
    }

    pub async fn update_service(
        &self,
        id: i64,
        new: &NewService,
        precondition: Check<'_, Service>,
        who: &Who,
    ) -> Result<Service, StoreError> {
        let mut tx = self.write_tx().await?;
        let current = self.service_for_update(&mut tx, id).await?;
        rows::check(precondition, &current)?;
        unique_name(&mut tx, new.name.as_str(), Some(id)).await?;
        // Extension properties the request omits keep their stored values.
        let is_public = new
            .is_public
            .resolve(Some(current.is_public), Service::PUBLIC_BY_DEFAULT);
        sqlx::query(
            "UPDATE services SET name = $1, description = $2, is_public = $3 WHERE id = $4",
        )
        .bind(new.name.as_str())
        .bind(new.description.as_deref())
        .bind(i64::from(is_public))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(name_taken)?;
        let service = Service {
            id,
            name: new.name.to_string(),
            description: new.description.clone(),
            is_public,
        };
        let (before, after) = (Some(&current), Some(&service));
        audit::record(&mut tx, who, AuditAction::Updated, before, after).await?;
        tx.commit().await?;
        self.public_changed();
        Ok(service)
    }

    /// Deletes a service: customers stop following it; tickets keep showing it.
    pub async fn delete_service(
        &self,
        id: i64,
        precondition: Check<'_, Service>,
        who: &Who,
    ) -> Result<Service, StoreError> {
        let mut tx = self.write_tx().await?;
        let current = self.service_for_update(&mut tx, id).await?;
        rows::check(precondition, &current)?;
        sqlx::query("DELETE FROM customer_services WHERE service_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE services SET deleted_at = $1 WHERE id = $2")
            .bind(Timestamp::now().ticks())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, who, AuditAction::Deleted, Some(&current), None).await?;
        tx.commit().await?;
        self.public_changed();
        Ok(current)
    }

    async fn service_for_update(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: i64,
    ) -> Result<Service, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM services WHERE id = $1 AND deleted_at IS NULL{}",
            self.for_update()
        );
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
        Ok(rows::service(&row.ok_or(StoreError::NotFound)?, "")?)
    }

    /// Live services with these ids; a 400 naming the field when any is unknown. The rows stay
    /// locked against a concurrent delete until the transaction ends, so nothing can come to
    /// refer to a deleted service.
    pub(super) async fn existing_services(
        &self,
        tx: &mut Transaction<'static, Any>,
        ids: &[i64],
        field: &'static str,
    ) -> Result<(), StoreError> {
        live_services(tx, ids, field, self.for_share()).await?;
        Ok(())
    }
}

/// [`Store::existing_services`] on a connection, returning the services by id; `lock` is the
/// engine's row-lock suffix ([`Store::for_share`]).
pub(super) async fn live_services(
    conn: &mut AnyConnection,
    ids: &[i64],
    field: &'static str,
    lock: &'static str,
) -> Result<Vec<Service>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM services WHERE deleted_at IS NULL AND id IN ({}) ORDER BY id{lock}",
        Backend::of(conn).ids_in(1),
    );
    let found = sqlx::query(&sql)
        .bind(super::ids_param(ids))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| rows::service(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let live: HashSet<i64> = found.iter().map(|s| s.id).collect();
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !live.contains(id))
        .collect();
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(StoreError::invalid(field, no_such_services(&missing)))
    }
}

/// How many of the missing ids a message names; it says how many more there are.
const NAMED_MISSING: usize = 10;

/// "There is no service with Id 7, 9." — naming at most [`NAMED_MISSING`] of them.
pub(super) fn no_such_services(missing: &[i64]) -> String {
    let named: Vec<String> = missing
        .iter()
        .take(NAMED_MISSING)
        .map(|id| id.to_string())
        .collect();
    let more = missing.len().saturating_sub(NAMED_MISSING);
    if more == 0 {
        format!("There is no service with Id {}.", named.join(", "))
    } else {
        format!(
            "There is no service with Id {} (and {more} more of the ids given).",
            named.join(", ")
        )
    }
}

async fn unique_name(
    tx: &mut Transaction<'static, Any>,
    name: &str,
    except: Option<i64>,
) -> Result<(), StoreError> {
    let clash: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM services WHERE lower(name) = lower($1) AND deleted_at IS NULL AND id <> $2",
    )
    .bind(name)
    .bind(except.unwrap_or(0))
    .fetch_optional(&mut **tx)
    .await?;
    match clash {
        Some(_) => Err(taken()),
        None => Ok(()),
    }
}

fn taken() -> StoreError {
    StoreError::invalid("Name", "A service with this Name already exists.")
}

fn name_taken(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        taken()
    } else {
        e.into()
    }
}
