//! Sessions live in the database: signed in through one instance, signed in on every instance
//! behind the load balancer, and signed out on all at once. PostgreSQL only.

use std::time::Duration;

use crate::web::Web;
use herald_test_support::*;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn a_session_from_one_instance_is_valid_on_another() {
    if !postgres::available("a_session_from_one_instance_is_valid_on_another") {
        return;
    }
    let a = TestApp::builder().backend(Backend::Postgres).spawn().await;
    let b = a.second_instance().spawn().await;
    let on_a = Web::new(&a.address);
    let setup = on_a.setup("Ann Admin", EMAIL, PASSWORD).await;
    assert_eq!(setup.status, 303, "{}", setup.body);

    // Without the cookie, B sends the browser to sign in.
    let stranger = Web::new(&b.address);
    let page = stranger.get("/services").await;
    assert_eq!(page.status, 303);
    assert!(page.location.unwrap().starts_with("/login"));

    // With the cookie A set, B serves the pages and accepts the forms (the CSRF token is the
    // session's, also in the database).
    let on_b = Web::new(&b.address);
    for cookie in &setup.set_cookies {
        let (name, value) = cookie.split(';').next().unwrap().split_once('=').unwrap();
        on_b.set_cookie(name, value);
    }
    let page = on_b.get("/services").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let created = on_b
        .submit("/services/new", "/services", &[("Name", "Mail")])
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(
        json(a.get("/api/Services").await, 200).await[0]["Name"],
        "Mail"
    );

    // Signing out on B ends the session on A as well.
    let out = on_b.submit("/services", "/logout", &[]).await;
    assert_eq!(out.status, 303);
    let signed_out = poll_until(Duration::from_secs(10), || async {
        on_a.get("/services").await.status == 303
    })
    .await;
    assert!(signed_out, "A no longer accepts the session");
    a.stop().await;
    b.stop().await;
}
