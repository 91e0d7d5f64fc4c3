//! Two-factor sign-in: operators' TOTP secrets, their recovery codes (only digests), and the
//! sign-ins waiting between their password step and their code step (challenges).
//!
//! The rules that make a code count once are here, in single statements: a TOTP step is
//! accepted only when it is newer than the last accepted one (`UPDATE … WHERE last_step <`),
//! a recovery code only by the `DELETE` that removes it, a challenge only by the `DELETE` that
//! takes it. Two requests at once cannot both win any of them.

use sqlx::Row;

use super::{flag, Store, StoreError};
use crate::domain::audit::{AuditAction, AuditEntity, AuditView, Who};
use crate::domain::totp::TotpSecret;
use crate::domain::Timestamp;

/// Where an operator stands with two-factor sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactor {
    Off,
    /// Enrolment started: a secret was shown, no code confirmed it yet.
    Pending,
    /// On, with this many recovery codes left.
    On {
        recovery_codes: i64,
    },
}

impl TwoFactor {
    pub fn is_on(self) -> bool {
        matches!(self, TwoFactor::On { .. })
    }
}

/// What a sign-in waits for after its password step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// A code from the operator's app (or a recovery code).
    Code,
    /// Enrolment: two-factor sign-in is required and the operator has none yet.
    Enrol,
}

impl ChallengeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Code => "code",
            ChallengeKind::Enrol => "enrol",
        }
    }
}

/// A sign-in between its steps.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub operator_id: i64,
    /// As typed at the password step (the throttle counts under it).
    pub email: String,
    pub kind: ChallengeKind,
    /// Whether the password step was right (a wrong one still gets a code step: see the
    /// migration).
    pub password_ok: bool,
}

impl Store {
    pub async fn two_factor(&self, operator_id: i64) -> Result<TwoFactor, StoreError> {
        let confirmed: Option<i64> =
            sqlx::query_scalar("SELECT confirmed FROM operator_totp WHERE operator_id = $1")
                .bind(operator_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match confirmed {
            None => TwoFactor::Off,
            Some(0) => TwoFactor::Pending,
            Some(_) => TwoFactor::On {
                recovery_codes: sqlx::query_scalar(
                    "SELECT COUNT(*) FROM operator_recovery_codes WHERE operator_id = $1",
                )
                .bind(operator_id)
                .fetch_one(&self.pool)
                .await?,
            },
        })
    }

    /// The secret of an enrolment in progress, made (and stored) when there is none. `None`
    /// when two-factor sign-in is already on (it must be turned off first).
    pub async fn pending_totp_secret(
        &self,
        operator_id: i64,
        now: Timestamp,
    ) -> Result<Option<TotpSecret>, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT secret, confirmed FROM operator_totp WHERE operator_id = $1")
            .bind(operator_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = row {
            let confirmed: i64 = row.try_get("confirmed")?;
            if confirmed != 0 {
                return Ok(None);
            }
            let text: String = row.try_get("secret")?;
            if let Some(secret) = TotpSecret::parse_base32(&text) {
                return Ok(Some(secret));
            }
        }
        let secret = TotpSecret::generate();
        sqlx::query(
            "INSERT INTO operator_totp (operator_id, secret, confirmed, created_at, last_step) \
             VALUES ($1, $2, 0, $3, 0) \
             ON CONFLICT (operator_id) DO UPDATE SET secret = excluded.secret, confirmed = 0, \
               created_at = excluded.created_at, last_step = 0",
        )
        .bind(operator_id)
        .bind(secret.expose_base32())
        .bind(now.ticks())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(secret))
    }

    /// The operator's secret, confirmed or pending (`confirmed` says which).
    pub async fn totp_secret(
        &self,
        operator_id: i64,
    ) -> Result<Option<(TotpSecret, bool)>, StoreError> {
        let row = sqlx::query("SELECT secret, confirmed FROM operator_totp WHERE operator_id = $1")
            .bind(operator_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get("secret")?;
        let confirmed: i64 = row.try_get("confirmed")?;
        Ok(TotpSecret::parse_base32(&text).map(|s| (s, confirmed != 0)))
    }

    /// Accepts the code of `step` if no code of this or a later step was accepted before;
    /// `confirm` also turns a pending enrolment on and stores its recovery codes' digests.
    pub async fn accept_totp_step(
        &self,
        operator_id: i64,
        step: u64,
        confirm_with_recovery: Option<(&[String], &Who)>,
    ) -> Result<bool, StoreError> {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let mut tx = self.write_tx().await?;
        let confirmed = flag(true);
        let sql = if confirm_with_recovery.is_some() {
            "UPDATE operator_totp SET last_step = $1, confirmed = $3 \
             WHERE operator_id = $2 AND last_step < $1 AND confirmed = 0"
        } else {
            "UPDATE operator_totp SET last_step = $1 \
             WHERE operator_id = $2 AND last_step < $1 AND confirmed = $3"
        };
        let accepted = sqlx::query(sql)
            .bind(step)
            .bind(operator_id)
            .bind(confirmed)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !accepted {
            return Ok(false);
        }
        if let Some((digests, who)) = confirm_with_recovery {
            record_two_factor(&mut tx, who, operator_id, false, true).await?;
            sqlx::query("DELETE FROM operator_recovery_codes WHERE operator_id = $1")
                .bind(operator_id)
                .execute(&mut *tx)
                .await?;
            for digest in digests {
                sqlx::query(
                    "INSERT INTO operator_recovery_codes (operator_id, code_sha256) VALUES ($1, $2)",
                )
                .bind(operator_id)
                .bind(digest)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Uses up a recovery code: true when it was one of the operator's and unused.
    pub async fn use_recovery_code(
        &self,
        operator_id: i64,
        digest: &str,
    ) -> Result<bool, StoreError> {
        let used = sqlx::query(
            "DELETE FROM operator_recovery_codes WHERE operator_id = $1 AND code_sha256 = $2",
        )
        .bind(operator_id)
        .bind(digest)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(used == 1)
    }

    /// Turns two-factor sign-in off for an operator (their own choice, or an administrator's
    /// reset): the secret and the recovery codes are gone, and so are the sign-ins waiting for
    /// a code. True when there was something to turn off.
    pub async fn reset_two_factor(&self, operator_id: i64, who: &Who) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM operator_recovery_codes WHERE operator_id = $1")
            .bind(operator_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM login_challenges WHERE operator_id = $1")
            .bind(operator_id)
            .execute(&mut *tx)
            .await?;
        let removed = sqlx::query("DELETE FROM operator_totp WHERE operator_id = $1")
            .bind(operator_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed > 0 {
            record_two_factor(&mut tx, who, operator_id, true, false).await?;
        }
        tx.commit().await?;
        Ok(removed > 0)
    }

    /// Stores a sign-in between its steps (and forgets expired ones).
    pub async fn create_challenge(
        &self,
        token_sha256: &str,
        challenge: &Challenge,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM login_challenges WHERE expires_at < $1")
            .bind(now.ticks())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO login_challenges (token_sha256, operator_id, email, kind, password_ok, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_sha256)
        .bind(challenge.operator_id)
        .bind(&challenge.email)
        .bind(challenge.kind.as_str())
        .bind(flag(challenge.password_ok))
        .bind(expires_at.ticks())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unexpired challenge of this token, left in place (`take` false) or taken: a taken
    /// one is gone, so its step can be tried once.
    pub async fn challenge(
        &self,
        token_sha256: &str,
        now: Timestamp,
        take: bool,
    ) -> Result<Option<Challenge>, StoreError> {
        let sql = if take {
            "DELETE FROM login_challenges WHERE token_sha256 = $1 AND expires_at > $2 \
             RETURNING operator_id, email, kind, password_ok"
        } else {
            "SELECT operator_id, email, kind, password_ok FROM login_challenges \
             WHERE token_sha256 = $1 AND expires_at > $2"
        };
        let pool = if take { &self.writer } else { &self.pool };
        let row = sqlx::query(sql)
            .bind(token_sha256)
            .bind(now.ticks())
            .fetch_optional(pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind")?;
        let password_ok: i64 = row.try_get("password_ok")?;
        Ok(Some(Challenge {
            operator_id: row.try_get("operator_id")?,
            email: row.try_get("email")?,
            kind: if kind == "enrol" {
                ChallengeKind::Enrol
            } else {
                ChallengeKind::Code
            },
            password_ok: password_ok != 0,
        }))
    }
}

/// Records in the audit log that an operator's two-factor sign-in went from `was` to `is`
/// (on or off; never the key or the codes).
async fn record_two_factor(
    conn: &mut sqlx::AnyConnection,
    who: &Who,
    operator_id: i64,
    was: bool,
    is: bool,
) -> Result<(), StoreError> {
    let view = |on: bool| {
        AuditView::from([(
            "TwoFactor",
            serde_json::Value::from(if on { "on" } else { "off" }),
        )])
    };
    super::audit::record_views(
        conn,
        who,
        AuditEntity::Operator,
        Some(operator_id),
        AuditAction::Updated,
        Some(&view(was)),
        Some(&view(is)),
    )
    .await
}
