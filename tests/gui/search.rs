//! The customer list's search box matches what was typed, character for character: `%`, `_`
//! and `\` are not wildcards or escapes.

use crate::web::Web;
use herald_test_support::*;

/// The names among `names` that the customer list shows for the search `q`.
async fn found(web: &Web, q: &str, names: &[&str]) -> Vec<String> {
    let q = form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>();
    let page = web.get(&format!("/customers?q={q}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    names
        .iter()
        .filter(|n| page.body.contains(&format!(">{n}<")))
        .map(|n| n.to_string())
        .collect()
}

herald_test_support::backend_tests! {
    async fn the_customer_search_takes_percent_underscore_and_backslash_literally() {
        let app = TestApp::spawn().await;
        let web = Web::new(&app.address);
        assert_eq!(web.setup("Ann Admin", "ann@example.com", "correct horse battery").await.status, 303);
        let names = ["100% Pure", "1000 Ltd", "Under_score", "Underxscore", "Back\\slash", "Backslash"];
        for name in names {
            app.create_customer(name, None, &[]).await;
        }
        assert_eq!(found(&web, "100%", &names).await, ["100% Pure"]);
        assert_eq!(found(&web, "r_s", &names).await, ["Under_score"]);
        assert_eq!(found(&web, "k\\s", &names).await, ["Back\\slash"]);
        assert_eq!(found(&web, "%", &names).await, ["100% Pure"]);
        assert_eq!(found(&web, "_", &names).await, ["Under_score"]);
        // Ordinary searches still match anywhere, ignoring case.
        assert_eq!(found(&web, "SCORE", &names).await, ["Under_score", "Underxscore"]);
    }
}
