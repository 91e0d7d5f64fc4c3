//! `TEST_LOG=1` puts the server's logs in a failing test's output (and, with `--nocapture`, in
//! every test's): this test binary runs one of its own tests again as a child process.

use std::process::Command;

use herald_test_support::*;

/// Set by [`test_log_shows_the_servers_logs_when_a_test_fails`] for its child only.
const FAIL: &str = "HERALD_TEST_LOG_FAIL";

#[tokio::test]
async fn a_test_that_fails_when_told_to() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/api/Services").await.status(), 200);
    assert!(std::env::var_os(FAIL).is_none(), "failing, as told to");
}

/// Runs [`a_test_that_fails_when_told_to`] alone; its exit status and standard output.
fn run_child(test_log: bool, fail: bool, nocapture: bool) -> (bool, String) {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["test_log::a_test_that_fails_when_told_to", "--exact"])
        .env_remove("TEST_LOG")
        .env_remove("RUST_LOG")
        .env_remove(FAIL);
    if nocapture {
        child.arg("--nocapture");
    }
    if test_log {
        child.env("TEST_LOG", "1");
    }
    if fail {
        child.env(FAIL, "1");
    }
    let out = child.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

const REQUEST_LOG: &str = "request{method=GET path=/api/services?key=REDACTED}";

#[test]
fn test_log_shows_the_servers_logs_when_a_test_fails() {
    let (passed, output) = run_child(true, true, false);
    assert!(!passed, "{output}");
    assert!(output.contains("failing, as told to"), "{output}");
    assert!(output.contains(REQUEST_LOG), "{output}");
    assert!(output.contains("status=200"), "{output}");
    assert!(!output.contains(KEY), "the API key is not logged: {output}");

    let (passed, output) = run_child(false, true, false);
    assert!(!passed, "{output}");
    assert!(
        !output.contains("request{"),
        "quiet without TEST_LOG: {output}"
    );

    let (passed, output) = run_child(true, false, false);
    assert!(passed, "{output}");
    assert!(
        !output.contains("request{"),
        "a passing test's logs stay captured: {output}"
    );

    let (passed, output) = run_child(true, false, true);
    assert!(passed, "{output}");
    assert!(
        output.contains(REQUEST_LOG),
        "--nocapture shows them: {output}"
    );
}
