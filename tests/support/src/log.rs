//! `TEST_LOG=1`: the servers' logs in the test output.

use std::sync::Once;

use tracing_subscriber::EnvFilter;

/// With `TEST_LOG` set (to anything but `0` or empty), installs a `tracing` subscriber writing
/// through the test harness (shown for failing tests, or always with `--nocapture`), filtered
/// by `RUST_LOG` (default: `info,sqlx=warn`). Without it, nothing: tests stay quiet.
/// [`TestAppBuilder::spawn`](crate::TestAppBuilder::spawn) calls it.
pub fn init_test_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if !std::env::var("TEST_LOG").is_ok_and(|v| !v.is_empty() && v != "0") {
            return;
        }
        let filter =
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
        // Another subscriber already installed (by the test itself) wins.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    });
}
