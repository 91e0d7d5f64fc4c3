//! What time it is, for the rules that tests must be able to move through time (the steps of
//! two-factor codes; ticket writes, the scheduler and delivery, through the store): the system
//! clock in production, a clock the test sets in tests.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::domain::Timestamp;

/// The system clock, or a manual one shared with whoever set it.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that stands at `at` until [`Clock::set`] moves it.
    pub fn manual(at: Timestamp) -> Clock {
        Clock(Some(Arc::new(AtomicI64::new(at.unix_micros()))))
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            None => Timestamp::now(),
            Some(micros) => Timestamp::from_unix_micros(micros.load(Ordering::SeqCst)),
        }
    }

    /// Moves a manual clock `by` forward (does nothing to the system clock).
    pub fn advance(&self, by: std::time::Duration) {
        if let Some(micros) = &self.0 {
            let by = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
            micros.fetch_add(by, Ordering::SeqCst);
        }
    }

    /// Moves a manual clock (does nothing to the system clock).
    pub fn set(&self, at: Timestamp) {
        if let Some(micros) = &self.0 {
            micros.store(at.unix_micros(), Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_until_moved() {
        let clock = Clock::manual(Timestamp::from_unix_micros(1_000_000));
        let shared = clock.clone();
        assert_eq!(clock.now(), Timestamp::from_unix_micros(1_000_000));
        shared.set(Timestamp::from_unix_micros(31_000_000));
        assert_eq!(clock.now(), Timestamp::from_unix_micros(31_000_000));
        shared.advance(std::time::Duration::from_secs(2));
        assert_eq!(clock.now(), Timestamp::from_unix_micros(33_000_000));
        let system = Clock::system();
        system.set(Timestamp::from_unix_micros(0));
        assert!(system.now() > Timestamp::from_unix_micros(0));
    }
}
