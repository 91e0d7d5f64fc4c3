//! Password guesses sent all at once are held to the same limits as guesses sent one after
//! another (5 per account, 20 per address), also across instances on one PostgreSQL.

use futures::future::join_all;

use crate::web::Web;
use herald_test_support::*;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery";

/// Signs in with each (base address, email, password) at once (each from its own browser,
/// its sign-in page fetched first), and returns the statuses.
async fn sign_in_at_once(attempts: &[(&str, String, &str)]) -> Vec<u16> {
    let mut ready = Vec::new();
    for (base, email, password) in attempts {
        let web = Web::new(base);
        let csrf = web.get("/login").await.csrf();
        ready.push((web, csrf, email, password));
    }
    let posts = ready.iter().map(|(web, csrf, email, password)| async move {
        let fields = [
            ("csrf", csrf.as_str()),
            ("email", email.as_str()),
            ("password", *password),
        ];
        web.post("/login", &fields).await
    });
    join_all(posts)
        .await
        .into_iter()
        .map(|p| p.status)
        .collect()
}

/// How many attempts had their password checked (401: wrong) and how many were refused
/// before (429), asserting there was nothing else.
fn checked_and_refused(statuses: &[u16]) -> (usize, usize) {
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, statuses.len(), "{statuses:?}");
    (checked, refused)
}

herald_test_support::backend_tests! {
    async fn parallel_guesses_get_no_more_checks_than_sequential_ones() {
        let app = TestApp::spawn().await;
        assert_eq!(Web::new(&app.address).setup("Ann Admin", EMAIL, PASSWORD).await.status, 303);

        // 25 guesses at one account: 5 are checked.
        let guesses: Vec<_> = (0..25).map(|i| (app.address.as_str(), EMAIL.to_owned(), if i % 2 == 0 { "wrong" } else { "also wrong" })).collect();
        let (checked, refused) = checked_and_refused(&sign_in_at_once(&guesses).await);
        assert_eq!((checked, refused), (5, 20));
        // The right password waits too now.
        assert_eq!(Web::new(&app.address).sign_in(EMAIL, PASSWORD).await.status, 429);

        // 25 guesses at 25 accounts from one address: 15 more are checked (20 in all).
        let guesses: Vec<_> = (0..25).map(|i| (app.address.as_str(), format!("nobody{i}@example.com"), "guess")).collect();
        let (checked, refused) = checked_and_refused(&sign_in_at_once(&guesses).await);
        assert_eq!((checked, refused), (15, 10));
    }
}

#[tokio::test]
async fn parallel_guesses_through_two_instances_get_no_more_checks_than_through_one() {
    if !herald_test_support::postgres::available(
        "parallel_guesses_through_two_instances_get_no_more_checks_than_through_one",
    ) {
        return;
    }
    let a = TestApp::builder().backend(Backend::Postgres).spawn().await;
    let b = a.second_instance().spawn().await;
    assert_eq!(
        Web::new(&a.address)
            .setup("Ann Admin", EMAIL, PASSWORD)
            .await
            .status,
        303
    );
    let guesses: Vec<_> = (0..26)
        .map(|i| {
            let base = if i % 2 == 0 {
                a.address.as_str()
            } else {
                b.address.as_str()
            };
            (base, EMAIL.to_owned(), "wrong")
        })
        .collect();
    let (checked, refused) = checked_and_refused(&sign_in_at_once(&guesses).await);
    assert_eq!((checked, refused), (5, 21));
    a.stop().await;
    b.stop().await;
}
