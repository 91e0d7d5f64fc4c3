//! Python as an independent parser in tests (feeds, iCalendar, the Prometheus text format).
//!
//! `.ci/test-venv.sh` creates a virtual environment with the packages (CI runs it before the
//! tests; the first test that needs it runs it too, so `cargo test` alone works on a machine
//! with `python3`). A test that cannot get it fails with the reason, never skips.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The interpreter of the test environment: `HERALD_TEST_PYTHON`, or the default path
/// `.ci/test-venv.sh` uses.
pub fn interpreter() -> PathBuf {
    if let Some(path) = std::env::var_os("HERALD_TEST_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = std::env::var_os("HERALD_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/herald-test-venv")
        });
    venv.join("bin/python")
}

/// The interpreter, after making sure the environment exists (once per test process).
fn ready_interpreter() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            if std::env::var_os("HERALD_TEST_PYTHON").is_none() {
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/test-venv.sh");
                let status = Command::new("bash")
                    .arg(script)
                    .stdout(Stdio::null())
                    .status()
                    .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
                assert!(status.success(), "{script} failed ({status})");
            }
            interpreter()
        })
        .clone()
}

/// Runs `script` with `input` on standard input and returns its standard output. Panics
/// with the way to install the environment when the interpreter is missing, and with the
/// script's standard error when it fails.
pub fn run(script: &str, input: &[u8]) -> String {
    let python = ready_interpreter();
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); create the test environment with .ci/test-venv.sh",
                python.display()
            )
        });
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .expect("write to python");
    let output = child.wait_with_output().expect("python runs");
    assert!(
        output.status.success(),
        "python failed ({}); if a module is missing, run .ci/test-venv.sh:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("python prints UTF-8")
}
