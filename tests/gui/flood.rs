//! A flood of sign-ins: each checks its password with Argon2id (19 MiB), a few at a time; those
//! that find the waiting room full are told 503 with `Retry-After` at once, none is a 500, and
//! the right password still signs in afterwards.

use herald::config::Key;
use herald::domain::Busy;
use reqwest::header::{COOKIE, RETRY_AFTER};

use crate::web::Web;
use herald_test_support::*;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery";
/// Any token of the right length works as a pre-session CSRF cookie with the same form field.
const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What one sign-in got: status, `Retry-After`, body.
type Answer = (u16, Option<String>, String);

/// Signs in as `email` from `address` (through the trusted proxy on loopback).
async fn sign_in(client: &reqwest::Client, base: &str, address: &str, email: &str) -> Answer {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", CSRF),
            ("email", email),
            ("password", "a wrong guess"),
        ])
        .finish();
    let r = client
        .post(format!("{base}/login"))
        .header(COOKIE, format!("herald_csrf={CSRF}"))
        .header("X-Forwarded-For", address)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let retry = r
        .headers()
        .get(RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), retry, r.text().await.unwrap())
}

herald_test_support::backend_tests! {
    async fn a_flood_of_sign_ins_is_told_503_beyond_the_waiting_room_and_nothing_breaks() {
        let app = TestApp::builder().setting(Key::TrustedProxies, "127.0.0.1").spawn().await;
        let admin = Web::new(&app.address);
        assert_eq!(admin.setup("Ann Admin", EMAIL, PASSWORD).await.status, 303);
        let hashing = app.store.hashing().clone();
        let admitted = hashing.admitted();
        let flood = admitted + 30;

        // Every turn taken, as by sign-ins already being checked: the first `admitted` wait,
        // the rest are refused at once, which the test waits for before giving the turns back.
        let occupied = hashing.occupy().await;
        let client = reqwest::Client::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Answer>();
        for i in 0..flood {
            let (client, base, tx) = (client.clone(), app.address.clone(), tx.clone());
            tokio::spawn(async move {
                let address = format!("10.0.{}.{}", i / 200, i % 200 + 1);
                let email = format!("nobody{i}@example.com");
                tx.send(sign_in(&client, &base, &address, &email).await).unwrap();
            });
        }
        drop(tx);
        let mut answers = Vec::new();
        while answers.len() < flood - admitted {
            answers.push(rx.recv().await.expect("every sign-in answers"));
        }
        assert!(answers.iter().all(|a| a.0 == 503), "only refusals while every turn is taken: {:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
        drop(occupied);
        while let Some(answer) = rx.recv().await {
            answers.push(answer);
        }
        assert_eq!(answers.len(), flood);
        let busy = answers.iter().filter(|a| a.0 == 503).count();
        let checked = answers.iter().filter(|a| a.0 == 401).count();
        assert_eq!(busy + checked, flood, "503 or a checked wrong password, nothing else");
        assert!(busy >= flood - admitted, "{busy} refused");
        for (_, retry, body) in answers.iter().filter(|a| a.0 == 503) {
            assert_eq!(retry.as_deref(), Some("2"));
            assert!(body.contains(Busy::MESSAGE), "{body}");
        }

        // Afterwards the right password signs in, and a wrong one is checked again.
        assert_eq!(Web::new(&app.address).sign_in(EMAIL, PASSWORD).await.status, 303);
        let again = sign_in(&client, &app.address, "10.0.0.1", "nobody0@example.com").await;
        assert_eq!(again.0, 401, "{}", again.2);
    }
}
