//! Slowing down password guessing: sign-in attempts are counted per account (the email tried)
//! and per client address, in the database so every instance sees them. An attempt is counted
//! before its password is checked, in the same step as the check of the counts, so parallel
//! guesses are held to the limits as sequential ones are. Past a number of free attempts, each
//! further attempt must wait, the wait doubling with every failure up to a cap. A successful
//! sign-in clears the account's count and takes back its attempt from the address's (without
//! clearing it: a guesser with one valid account must not reset their address). Counts are
//! forgotten an hour after the last failure.

use std::net::IpAddr;
use std::time::Duration;

use crate::domain::Timestamp;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before any wait.
    pub free: i64,
    /// The first wait; each further failure doubles it.
    pub first_wait: Duration,
    pub max_wait: Duration,
}

pub const PER_ACCOUNT: Policy = Policy {
    free: 5,
    first_wait: Duration::from_secs(30),
    max_wait: Duration::from_secs(15 * 60),
};

/// More lenient: many people may share one address behind a NAT.
pub const PER_ADDRESS: Policy = Policy {
    free: 20,
    first_wait: Duration::from_secs(30),
    max_wait: Duration::from_secs(15 * 60),
};

pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

impl Policy {
    /// How long after the last failure the next attempt is allowed.
    pub fn wait_after(&self, failures: i64) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(failures - self.free)
            .unwrap_or(u32::MAX)
            .min(20);
        self.first_wait
            .saturating_mul(1u32 << doublings)
            .min(self.max_wait)
    }
}

/// The subjects an attempt is counted under.
#[derive(Debug, Clone)]
pub struct Subjects {
    pub account: String,
    pub address: Option<String>,
}

impl Subjects {
    pub fn new(email: &str, address: Option<IpAddr>) -> Self {
        Subjects {
            account: format!("account:{}", email.trim().to_lowercase()),
            address: address.map(|a| format!("address:{a}")),
        }
    }

    fn all(&self) -> Vec<&str> {
        let mut v = vec![self.account.as_str()];
        if let Some(a) = &self.address {
            v.push(a.as_str());
        }
        v
    }
}

/// Counts an attempt before its password is checked; `Some(wait)` when it must be refused
/// instead (and then it is not counted). Checking and counting are one step in the store, so
/// guesses sent at once pass no more often than guesses sent one after another.
pub async fn admit(
    store: &Store,
    subjects: &Subjects,
    now: Timestamp,
) -> Result<Option<Duration>, StoreError> {
    let forget_before = now.minus(FORGET_AFTER);
    store
        .count_login_attempt(&subjects.all(), now, forget_before, |subject, failures| {
            let policy = if subject == subjects.account {
                PER_ACCOUNT
            } else {
                PER_ADDRESS
            };
            policy.wait_after(failures)
        })
        .await
}

/// The attempt succeeded: the account's failures are forgotten, and the address is not
/// charged for this attempt (a guesser with one valid account must not reset their address).
pub async fn record_success(store: &Store, subjects: &Subjects) -> Result<(), StoreError> {
    let refunded: Vec<&str> = subjects.address.as_deref().into_iter().collect();
    store
        .forgive_login_attempt(&subjects.account, &refunded)
        .await
}

/// "2 minutes", "30 seconds": a wait as people read it.
pub fn describe(wait: Duration) -> String {
    let secs = u64::try_from(wait.as_millis().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1);
    if secs >= 90 {
        format!("{} minutes", secs.div_ceil(60))
    } else {
        format!("{secs} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_attempts() {
        let p = PER_ACCOUNT;
        assert_eq!(p.wait_after(0), Duration::ZERO);
        assert_eq!(p.wait_after(4), Duration::ZERO);
        assert_eq!(p.wait_after(5), Duration::from_secs(30));
        assert_eq!(p.wait_after(6), Duration::from_secs(60));
        assert_eq!(p.wait_after(7), Duration::from_secs(120));
        assert_eq!(p.wait_after(1000), p.max_wait);
    }

    #[test]
    fn subjects_ignore_case() {
        let s = Subjects::new(" Ann@Example.com ", Some("10.0.0.1".parse().unwrap()));
        assert_eq!(s.account, "account:ann@example.com");
        assert_eq!(s.address.as_deref(), Some("address:10.0.0.1"));
    }

    #[test]
    fn waits_read_well() {
        assert_eq!(describe(Duration::from_secs(30)), "30 seconds");
        assert_eq!(describe(Duration::from_millis(29_990)), "30 seconds");
        assert_eq!(describe(Duration::from_secs(200)), "4 minutes");
    }
}
