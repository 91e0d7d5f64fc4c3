//! Two-factor sign-in: enrolment and sign-in in a real browser with codes the test computes
//! (RFC 6238, on a clock the test holds), and over plain HTTP what a browser would not show:
//! the throttle counting wrong codes, a wrong password learning nothing, a recovery code used
//! twice, an administrator requiring and resetting it.

use herald::clock::Clock;
use herald::domain::totp::{step_of, TotpSecret, STEP_SECONDS};
use herald::domain::Timestamp;
use herald::store::TwoFactor;
use serde_json::json;

use crate::browser::{self, Browser};
use crate::flows::{set_up, sign_out, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::web::{Page, Web};
use herald_test_support::*;

const WRONG: &str = "The email, the password or the code is wrong.";

/// 2026-12-01 12:00:00 UTC: where the tests' clocks stand.
fn start_time() -> Timestamp {
    Timestamp::from_unix_micros(1_796_126_400_000_000)
}

fn step_now(clock: &Clock) -> u64 {
    step_of(clock.now())
}

/// The secret an enrolment page shows (in groups of four).
fn secret_of(text: &str) -> TotpSecret {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    TotpSecret::parse_base32(&compact).expect("the page shows a base32 secret")
}

/// The text of the element with this id in a page (no nested elements).
fn element_text(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in: {}", page.body))
        + marker.len();
    let end = page.body[start..].find('<').unwrap() + start;
    page.body[start..end].to_owned()
}

/// The recovery codes of a recovery page.
fn recovery_codes(page: &Page) -> Vec<String> {
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_owned())
        .collect()
}

/// The sign-in's password step, which leads to the code step.
async fn password_step(b: &Browser) {
    b.goto("/login").await;
    b.fill("#email", ADMIN_EMAIL).await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.submit("#sign-in", "#verify-code").await;
    assert_eq!(b.path().await, "/login/code");
}

async fn in_browser(b: &Browser, clock: &Clock) {
    set_up(b).await;
    b.goto("/account/password").await;
    b.click("#two-factor-link").await;
    assert!(b.text("#two-factor-state").await.starts_with("Off."));
    b.submit("#setup-two-factor", "#totp-qr").await;
    let qr = b.wait_for("#totp-qr").await;
    assert_eq!(qr.tag_name().await.unwrap(), "svg");
    assert!(qr.html(false).await.unwrap().contains("<path"));
    let secret = secret_of(&b.text("#totp-secret").await);

    // A wrong first code turns nothing on.
    let step = step_now(clock);
    let wrong = if secret.code_at_step(step) == "000000" {
        "111111"
    } else {
        "000000"
    };
    b.fill("#code", wrong).await;
    b.submit("#confirm-code", "#code-error").await;
    b.fill("#code", &secret.code_at_step(step)).await;
    b.submit("#confirm-code", "#recovery-codes").await;
    let codes: Vec<String> = b
        .text("#recovery-codes")
        .await
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    b.click("#continue").await;
    assert_eq!(b.text("#recovery-left").await, "10");
    sign_out(b).await;

    // The password alone is not enough: the code step follows, and the enrolment's code (this
    // step's) is not accepted twice.
    password_step(b).await;
    b.goto("/tickets").await;
    b.wait_for("#sign-in").await;
    password_step(b).await;
    b.fill("#code", &secret.code_at_step(step)).await;
    b.submit("#verify-code", "#login-error").await;
    assert!(b.text("#login-error").await.contains(WRONG));

    // Thirty seconds later, the new code signs in.
    clock.set(
        clock
            .now()
            .plus(std::time::Duration::from_secs(STEP_SECONDS)),
    );
    password_step(b).await;
    b.fill("#code", &secret.code_at_step(step + 1)).await;
    b.submit("#verify-code", "#new-ticket").await;
    sign_out(b).await;

    // A recovery code signs in once.
    for (attempt, expect) in [(1, "#new-ticket"), (2, "#login-error")] {
        password_step(b).await;
        b.fill("#code", &codes[3].to_uppercase()).await;
        b.submit("#verify-code", expect).await;
        if attempt == 1 {
            b.goto("/account/two-factor").await;
            assert_eq!(b.text("#recovery-left").await, "9");
            sign_out(b).await;
        }
    }
}

#[tokio::test]
async fn enrolment_and_sign_in_with_codes_in_a_browser() {
    let clock = Clock::manual(start_time());
    let app = TestApp::builder().clock(clock.clone()).spawn().await;
    let Some(b) = browser::start(&app.address).await else {
        return;
    };
    in_browser(&b, &clock).await;
    b.finish().await;
}

/// Turns two-factor sign-in on for the signed-in operator of `web`; its secret and recovery
/// codes.
async fn enrol(web: &Web, clock: &Clock) -> (TotpSecret, Vec<String>) {
    let page = web
        .submit("/account/two-factor", "/account/two-factor/setup", &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = secret_of(&element_text(&page, "totp-secret"));
    let code = secret.code_at_step(step_now(clock));
    let done = web
        .post(
            "/account/two-factor/confirm",
            &[("csrf", &page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    (secret, recovery_codes(&done))
}

/// The password step, then the code step with `code`: the code step's answer.
async fn sign_in_with_code(web: &Web, email: &str, password: &str, code: &str) -> Page {
    let first = web.sign_in(email, password).await;
    if first.status != 303
        || !first
            .location
            .as_deref()
            .unwrap_or("")
            .starts_with("/login/code")
    {
        return first;
    }
    web.submit(
        first.location.as_deref().unwrap(),
        "/login/code",
        &[("code", code), ("next", "/tickets")],
    )
    .await
}

/// Another code than `code`.
fn not(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

herald_test_support::backend_tests! {
    async fn wrong_codes_are_counted_by_the_sign_in_throttle() {
        let clock = Clock::manual(start_time());
        let app = TestApp::builder().clock(clock.clone()).spawn().await;
        let admin = Web::new(&app.address);
        assert_eq!(admin.setup("Ann Admin", ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
        let (secret, _) = enrol(&admin, &clock).await;
        let right = secret.code_at_step(step_now(&clock) + 1);

        // Each sign-in with a wrong code counts twice (its password step and its code step):
        // after two, the third's code step must wait, and then the password step too.
        let web = Web::new(&app.address);
        for _ in 0..2 {
            let page = sign_in_with_code(&web, ADMIN_EMAIL, ADMIN_PASSWORD, not(&right)).await;
            assert_eq!(page.status, 401, "{}", page.body);
            assert!(page.body.contains(WRONG));
        }
        let page = sign_in_with_code(&web, ADMIN_EMAIL, ADMIN_PASSWORD, &right).await;
        assert_eq!(page.status, 429, "{}", page.body);
        assert!(page.body.contains("Too many failed sign-ins"), "{}", page.body);
        assert_eq!(web.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 429);
        // Nothing was used up by the refusals.
        assert_eq!(app.store.two_factor(1).await.unwrap(), TwoFactor::On { recovery_codes: 10 });
    }

    async fn a_wrong_password_still_gets_the_code_step_and_learns_nothing() {
        let clock = Clock::manual(start_time());
        let app = TestApp::builder().clock(clock.clone()).spawn().await;
        let admin = Web::new(&app.address);
        assert_eq!(admin.setup("Ann Admin", ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
        let (secret, codes) = enrol(&admin, &clock).await;
        let right = secret.code_at_step(step_now(&clock) + 1);

        let web = Web::new(&app.address);
        // A wrong password: the code step all the same, and the right code fails as a wrong one.
        let decoy = sign_in_with_code(&web, ADMIN_EMAIL, "not the password", &right).await;
        assert_eq!(decoy.status, 401, "{}", decoy.body);
        assert!(decoy.body.contains(WRONG));
        // It was not used up: the same code still signs in.
        let page = sign_in_with_code(&web, ADMIN_EMAIL, ADMIN_PASSWORD, &right).await;
        assert_eq!((page.status, page.location.as_deref()), (303, Some("/tickets")), "{}", page.body);
        assert_eq!(web.get("/tickets").await.status, 200);

        // A right password with a wrong code reads the same as the wrong password did.
        let other = Web::new(&app.address);
        let page = sign_in_with_code(&other, ADMIN_EMAIL, ADMIN_PASSWORD, not(&right)).await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains(WRONG));
        // A recovery code behind a wrong password is not used up either.
        let decoy = sign_in_with_code(&Web::new(&app.address), ADMIN_EMAIL, "not the password", &codes[0]).await;
        assert_eq!(decoy.status, 401);
        assert!(decoy.body.contains(WRONG));
        assert_eq!(app.store.two_factor(1).await.unwrap(), TwoFactor::On { recovery_codes: 10 });
        // A code step without a password step is nothing.
        let stray = Web::new(&app.address);
        let page = stray.submit("/login", "/login/code", &[("code", &right)]).await;
        assert_eq!(page.status, 400);
        assert_eq!(stray.get("/tickets").await.status, 303);
    }

    async fn a_recovery_code_signs_in_once() {
        let clock = Clock::manual(start_time());
        let app = TestApp::builder().clock(clock.clone()).spawn().await;
        let admin = Web::new(&app.address);
        assert_eq!(admin.setup("Ann Admin", ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
        let (_, codes) = enrol(&admin, &clock).await;
        assert_eq!(codes.len(), 10);

        let web = Web::new(&app.address);
        let page = sign_in_with_code(&web, ADMIN_EMAIL, ADMIN_PASSWORD, &codes[5]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(app.store.two_factor(1).await.unwrap(), TwoFactor::On { recovery_codes: 9 });
        let again = Web::new(&app.address);
        let page = sign_in_with_code(&again, ADMIN_EMAIL, ADMIN_PASSWORD, &codes[5]).await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains(WRONG));
        assert_eq!(again.get("/tickets").await.status, 303);
    }

    async fn an_administrator_requires_two_factor_sign_in_and_resets_it() {
        let clock = Clock::manual(start_time());
        let app = TestApp::builder().clock(clock.clone()).spawn().await;
        let admin = Web::new(&app.address);
        assert_eq!(admin.setup("Ann Admin", ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
        let bob_email = "bob@example.com";
        let bob_password = "bob's long password";
        let created = app
            .post_json("/api/Operators", &json!({"Name": "Bob", "Email": bob_email, "Password": bob_password, "IsAdmin": false}))
            .await;
        assert_eq!(created.status(), 201);
        let bob_id = created.json::<serde_json::Value>().await.unwrap()["Id"].as_i64().unwrap();

        // Required: the settings page stores it.
        let settings = admin.get("/settings").await;
        let mut fields: Vec<(String, String)> = vec![("csrf".into(), settings.csrf())];
        for name in herald::config::SETTINGS.iter().filter_map(|s| s.stored_as) {
            let value = if name == "require_two_factor" { "on".into() } else { settings.field(name) };
            fields.push((name.into(), value));
        }
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let saved = admin.post("/settings", &pairs).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        app.settings.refresh(&app.store).await.unwrap();
        assert!(app.settings.get().require_two_factor);

        // Bob's password leads to setting it up, not to a session.
        let bob = Web::new(&app.address);
        let first = bob.sign_in(bob_email, bob_password).await;
        assert_eq!(first.status, 303);
        let enrol_at = first.location.clone().unwrap();
        assert!(enrol_at.starts_with("/login/enrol"), "{enrol_at}");
        assert_eq!(bob.get("/tickets").await.status, 303);
        let page = bob.get(&enrol_at).await;
        assert_eq!(page.status, 200);
        let secret = secret_of(&element_text(&page, "totp-secret"));
        let wrong = bob.post("/login/enrol", &[("csrf", &page.csrf()), ("code", "12345x"), ("next", "/")]).await;
        assert_eq!(wrong.status, 400);
        assert_eq!(bob.get("/tickets").await.status, 303);
        let code = secret.code_at_step(step_now(&clock));
        let done = bob.post("/login/enrol", &[("csrf", &page.csrf()), ("code", &code), ("next", "/")]).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(recovery_codes(&done).len(), 10);
        assert_eq!(bob.get("/tickets").await.status, 200);
        // Bob cannot turn it off while it is required, nor reset anyone's.
        let off = bob.submit("/account/two-factor", "/account/two-factor/disable", &[("password", bob_password)]).await;
        assert_eq!(off.status, 409);
        let forbidden = bob.submit("/tickets", "/operators/1/two-factor/reset", &[]).await;
        assert_eq!(forbidden.status, 403);
        assert!(app.store.two_factor(bob_id).await.unwrap().is_on());

        // Bob lost his phone: the administrator resets it, and Bob sets it up again.
        let page = admin.get(&format!("/operators/{bob_id}/two-factor")).await;
        assert!(element_text(&page, "two-factor-state").contains("Two-factor sign-in is "));
        let reset = admin.post(&format!("/operators/{bob_id}/two-factor/reset"), &[("csrf", &page.csrf())]).await;
        assert_eq!(reset.status, 303);
        assert_eq!(app.store.two_factor(bob_id).await.unwrap(), TwoFactor::Off);
        // Both changes are in the audit log, by who made them, without the key or the codes.
        let log = app.get(&format!("/api/AuditLog?entity=Operator&entityId={bob_id}")).await;
        assert_eq!(log.status(), 200);
        let log: serde_json::Value = log.json().await.unwrap();
        let two_factor: Vec<(String, serde_json::Value, serde_json::Value)> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["NewValues"].get("TwoFactor").is_some())
            .map(|e| (e["Actor"].as_str().unwrap().to_owned(), e["OldValues"].clone(), e["NewValues"].clone()))
            .collect();
        assert_eq!(
            two_factor,
            vec![
                ("Bob".to_owned(), serde_json::json!({"TwoFactor": "off"}), serde_json::json!({"TwoFactor": "on"})),
                ("Ann Admin".to_owned(), serde_json::json!({"TwoFactor": "on"}), serde_json::json!({"TwoFactor": "off"})),
            ],
            "{log}"
        );
        assert!(!log.to_string().contains(&secret.expose_base32()));
        let again = Web::new(&app.address);
        let first = again.sign_in(bob_email, bob_password).await;
        assert!(first.location.unwrap().starts_with("/login/enrol"));

        // Not required any more: Bob (reset) signs in with his password alone.
        app.store.set_setting("require_two_factor", Some("off")).await.unwrap();
        app.settings.refresh(&app.store).await.unwrap();
        let plain = Web::new(&app.address);
        let page = plain.sign_in(bob_email, bob_password).await;
        assert_eq!((page.status, page.location.as_deref()), (303, Some("/tickets")));
        assert_eq!(plain.get("/tickets").await.status, 200);
    }
}
