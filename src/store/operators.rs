//! Operators: soft-deleted, so tickets keep showing who was responsible.

use std::sync::LazyLock;

use futures::stream::BoxStream;
use futures::TryStreamExt;
use sqlx::{Any, Row, Transaction};

use super::rows::{self, Check};
use super::{audit, idempotency};
use super::{error::is_unique_violation, flag, Page, Store, StoreError};
use crate::domain::audit::{password_changed, AuditAction, AuditEntity, Audited};
use crate::domain::{Actor, NewOperator, Operator, Password, PasswordHash, Timestamp, Who};

const COLUMNS: &str = "id, name, email, cell_phone, is_admin";

impl Store {
    pub fn list_operators(&self, page: Page) -> BoxStream<'static, Result<Operator, StoreError>> {
        let pool = self.pool.clone();
        Box::pin(async_stream::try_stream! {
            let sql = format!(
                "SELECT {COLUMNS} FROM operators WHERE deleted_at IS NULL ORDER BY id LIMIT $1 OFFSET $2"
            );
            let mut rows = sqlx::query(&sql).bind(page.limit()).bind(page.offset()).fetch(&pool);
            while let Some(row) = rows.try_next().await? {
                yield rows::operator(&row)?;
            }
        })
    }

    pub async fn get_operator(&self, id: i64) -> Result<Operator, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT {COLUMNS} FROM operators WHERE id = $1 AND deleted_at IS NULL")
        });
        fn decode(rows: &[impl rows::Columns]) -> Result<Operator, StoreError> {
            let row = rows.first().ok_or(StoreError::NotFound)?;
            Ok(rows::operator(row)?)
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

    pub async fn count_operators(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM operators WHERE deleted_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The operator with this email (ignoring case) and their password hash, for signing in.
    pub async fn operator_credentials(
        &self,
        email: &str,
    ) -> Result<Option<(Operator, Option<PasswordHash>)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, password_hash FROM operators WHERE lower(email) = lower($1) AND deleted_at IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(email.trim())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let hash: Option<String> = row.try_get("password_hash")?;
                Ok(Some((rows::operator(&row)?, hash.map(PasswordHash))))
            }
        }
    }

    pub async fn create_operator(
        &self,
        new: &NewOperator,
        who: &Who,
    ) -> Result<Operator, StoreError> {
        let hash = self.stored_hash(new.password.as_ref()).await;
        let mut tx = self.write_tx().await?;
        unique_email(&mut tx, new.email.as_str(), None).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO operators (name, email, cell_phone, is_admin, password_hash) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(new.name.as_str())
        .bind(new.email.as_str())
        .bind(new.cell_phone.as_ref().map(|p| p.as_str()))
        .bind(flag(new.is_admin))
        .bind(hash)
        .fetch_one(&mut *tx)
        .await
        .map_err(email_taken)?;
        idempotency::link_created(&mut tx, idempotency::held().as_ref(), id).await?;
        let operator = operator_from(id, new);
        record_created(&mut tx, who, &operator).await?;
        tx.commit().await?;
        Ok(operator)
    }

    /// Replaces an operator; the password is kept when the update carries none.
    pub async fn update_operator(
        &self,
        id: i64,
        new: &NewOperator,
        precondition: Check<'_, Operator>,
        who: &Who,
    ) -> Result<Operator, StoreError> {
        let hash = self.stored_hash(new.password.as_ref()).await;
        let mut tx = self.write_tx().await?;
        let admins = self.lock_admins(&mut tx).await?;
        let current = self.operator_for_update(&mut tx, id).await?;
        rows::check(precondition, &current)?;
        unique_email(&mut tx, new.email.as_str(), Some(id)).await?;
        if current.is_admin && !new.is_admin && admins <= 1 {
            return Err(StoreError::invalid(
                "IsAdmin",
                "This is the last administrator; make another operator an administrator first.",
            ));
        }
        sqlx::query(
            "UPDATE operators SET name = $1, email = $2, cell_phone = $3, is_admin = $4, \
             password_hash = coalesce($5, password_hash) WHERE id = $6",
        )
        .bind(new.name.as_str())
        .bind(new.email.as_str())
        .bind(new.cell_phone.as_ref().map(|p| p.as_str()))
        .bind(flag(new.is_admin))
        .bind(hash)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(email_taken)?;
        if new.password.is_some() {
            super::sessions::end_sessions_in(&mut tx, id).await?;
        }
        let operator = operator_from(id, new);
        let password = new.password.is_some();
        let (before, after) = (Some(&current), Some(&operator));
        record_operator(&mut tx, who, AuditAction::Updated, before, after, password).await?;
        tx.commit().await?;
        Ok(operator)
    }

    pub async fn set_operator_password(
        &self,
        email: &str,
        hash: &PasswordHash,
        who: &Who,
    ) -> Result<Operator, StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM operators WHERE lower(email) = lower($1) AND deleted_at IS NULL{}",
            self.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(email.trim())
            .fetch_optional(&mut *tx)
            .await?;
        let operator = rows::operator(&row.ok_or(StoreError::NotFound)?)?;
        sqlx::query("UPDATE operators SET password_hash = $1 WHERE id = $2")
            .bind(&hash.0)
            .bind(operator.id)
            .execute(&mut *tx)
            .await?;
        super::sessions::end_sessions_in(&mut tx, operator.id).await?;
        let same = Some(&operator);
        record_operator(&mut tx, who, AuditAction::Updated, same, same, true).await?;
        tx.commit().await?;
        Ok(operator)
    }

    /// Deletes an operator; 409 when it is the last administrator.
    pub async fn delete_operator(
        &self,
        id: i64,
        precondition: Check<'_, Operator>,
        who: &Who,
    ) -> Result<Operator, StoreError> {
        let mut tx = self.write_tx().await?;
        let admins = self.lock_admins(&mut tx).await?;
        let current = self.operator_for_update(&mut tx, id).await?;
        rows::check(precondition, &current)?;
        if current.is_admin && admins <= 1 {
            return Err(StoreError::Conflict(
                "The last administrator cannot be deleted; make another operator an administrator first.".into(),
            ));
        }
        sqlx::query("UPDATE operators SET deleted_at = $1, password_hash = NULL WHERE id = $2")
            .bind(Timestamp::now().ticks())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::sessions::end_sessions_in(&mut tx, id).await?;
        audit::record(&mut tx, who, AuditAction::Deleted, Some(&current), None).await?;
        tx.commit().await?;
        Ok(current)
    }

    /// Creates the first administrator, unless an operator exists already (then `Conflict`):
    /// the check and the insert are one transaction, so two setup pages submitted at once
    /// cannot both succeed. The audit log records the new administrator as having created
    /// themselves, from `address`.
    pub async fn create_first_operator(
        &self,
        new: &NewOperator,
        address: Option<std::net::IpAddr>,
    ) -> Result<Operator, StoreError> {
        let hash = self.stored_hash(new.password.as_ref()).await;
        let mut tx = self.write_tx().await?;
        if let Some(lock) = self.backend().setup_lock() {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        let existing: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM operators WHERE deleted_at IS NULL")
                .fetch_one(&mut *tx)
                .await?;
        if existing > 0 {
            return Err(StoreError::Conflict(
                "Herald is set up already: sign in instead.".into(),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO operators (name, email, cell_phone, is_admin, password_hash) \
             VALUES ($1, $2, $3, 1, $4) RETURNING id",
        )
        .bind(new.name.as_str())
        .bind(new.email.as_str())
        .bind(new.cell_phone.as_ref().map(|p| p.as_str()))
        .bind(hash)
        .fetch_one(&mut *tx)
        .await?;
        let operator = Operator {
            is_admin: true,
            ..operator_from(id, new)
        };
        let actor = Actor::Operator {
            id,
            name: operator.name.clone(),
        };
        record_created(&mut tx, &Who::new(actor, address), &operator).await?;
        tx.commit().await?;
        Ok(operator)
    }

    /// Counts the live administrators and locks them until the transaction ends, so that two
    /// concurrent changes cannot each remove "one of two" administrators. Every change that can
    /// remove one takes these locks first, in id order, so they never deadlock.
    async fn lock_admins(&self, tx: &mut Transaction<'static, Any>) -> Result<usize, StoreError> {
        let sql = format!(
            "SELECT id FROM operators WHERE is_admin = 1 AND deleted_at IS NULL ORDER BY id{}",
            self.for_update()
        );
        let ids: Vec<i64> = sqlx::query_scalar(&sql).fetch_all(&mut **tx).await?;
        Ok(ids.len())
    }

    async fn operator_for_update(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: i64,
    ) -> Result<Operator, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM operators WHERE id = $1 AND deleted_at IS NULL{}",
            self.for_update()
        );
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
        Ok(rows::operator(&row.ok_or(StoreError::NotFound)?)?)
    }
}

impl Store {
    /// The stored form of a new password. Hashing is slow by design: callers do it before
    /// opening their transaction, so the writer is never held meanwhile; it takes a turn at
    /// hashing (see [`crate::domain::Hashing`]).
    pub(super) async fn stored_hash(&self, password: Option<&Password>) -> Option<String> {
        match password {
            Some(p) => Some(self.hashing.hash(p).await.0),
            None => None,
        }
    }
}

/// Records a change of an operator; `password`: a password was set (shown as changed, never
/// as itself or its hash).
async fn record_operator(
    conn: &mut sqlx::AnyConnection,
    who: &Who,
    action: AuditAction,
    before: Option<&Operator>,
    after: Option<&Operator>,
    password: bool,
) -> Result<(), StoreError> {
    let old = before.map(Operator::audit_view);
    let mut new = after.map(Operator::audit_view);
    if let Some(view) = new.as_mut().filter(|_| password) {
        password_changed(view);
    }
    let id = after.or(before).map(|o| o.id);
    let entity = AuditEntity::Operator;
    audit::record_views(conn, who, entity, id, action, old.as_ref(), new.as_ref()).await
}

/// Records the creation of an operator (with a password, shown as changed).
async fn record_created(
    conn: &mut sqlx::AnyConnection,
    who: &Who,
    operator: &Operator,
) -> Result<(), StoreError> {
    let created = AuditAction::Created;
    record_operator(conn, who, created, None, Some(operator), true).await
}

fn operator_from(id: i64, new: &NewOperator) -> Operator {
    Operator {
        id,
        name: new.name.to_string(),
        email: new.email.to_string(),
        cell_phone: new.cell_phone.as_ref().map(|p| p.as_str().to_owned()),
        is_admin: new.is_admin,
    }
}

async fn unique_email(
    tx: &mut Transaction<'static, Any>,
    email: &str,
    except: Option<i64>,
) -> Result<(), StoreError> {
    let clash: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM operators WHERE lower(email) = lower($1) AND deleted_at IS NULL AND id <> $2",
    )
    .bind(email)
    .bind(except.unwrap_or(0))
    .fetch_optional(&mut **tx)
    .await?;
    match clash {
        Some(_) => Err(taken()),
        None => Ok(()),
    }
}

fn taken() -> StoreError {
    StoreError::invalid("Email", "An operator with this Email already exists.")
}

fn email_taken(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        taken()
    } else {
        e.into()
    }
}
