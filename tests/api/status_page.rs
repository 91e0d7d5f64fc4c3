//! The public status page, a ticket's page and the Atom and RSS feeds, over HTTP: open, planned
//! and resolved tickets shown, private services and the tickets only about them never; the
//! feeds read by Python's `feedparser`, their entries keeping their ids across updates; the
//! organisation's name in the frame; a 404 with the status page off.

use herald::config::Key;
use herald::domain::Timestamp;
use serde_json::{json, Value};

use crate::calendar_feed::{api_time, id, planned};
use herald_test_support::*;

/// PUTs `ticket` back with `changes`.
pub async fn update(app: &TestApp, ticket: &Value, changes: Value) -> Value {
    let path = format!("/api/Tickets/{}", id(ticket));
    let mut body = json(app.get(&path).await, 200).await;
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.put_json(&path, &body).await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    json(app.get(&path).await, 200).await
}

pub async fn close(app: &TestApp, ticket: &Value) -> Value {
    update(
        app,
        ticket,
        json!({ "ClosedTime": api_time(Timestamp::now()) }),
    )
    .await
}

/// A page's body, checking its status and type.
pub async fn page(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/html"), "{path}: {kind}");
    r.text().await.unwrap()
}

/// A feed as Python's `feedparser` reads it.
pub async fn read_feed(app: &TestApp, path: &str, kind: &str) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with(kind), "{path}: {content_type}");
    let text = r.text().await.unwrap();
    let out = python::run(
        r#"
import json, sys, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({
    "bozo": bool(d.bozo), "version": d.version, "title": d.feed.get("title"),
    "entries": [{"id": e.get("id"), "title": e.get("title"), "link": e.get("link"),
                 "updated": e.get("updated") or e.get("published"),
                 "summary": e.get("summary", ""),
                 "tags": [t["term"] for t in e.get("tags", [])]} for e in d.entries],
}))
"#,
        text.as_bytes(),
    );
    let feed: Value = serde_json::from_str(&out).expect("the script prints JSON");
    assert_eq!(feed["bozo"], false, "{path} is well-formed: {text}");
    feed
}

fn titles(feed: &Value) -> Vec<String> {
    feed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_owned())
        .collect()
}

/// A public service Mail, a private one, and tickets of every kind on them.
struct World {
    app: TestApp,
    mail: i64,
    internal: i64,
    open: Value,
    planned: Value,
    resolved: Value,
    hidden: Value,
}

async fn world() -> World {
    let app = TestApp::builder()
        .setting(Key::PublicUrl, "https://status.example.com")
        .setting(Key::OrganisationName, "Example Hosting")
        .spawn()
        .await;
    let mail = id(&app.create_service("Mail").await);
    let internal = id(&app
        .create(
            "/api/Services",
            &json!({ "Name": "Internal billing", "IsPublic": false }),
        )
        .await);
    let open = app
        .create_ticket("Mail is slow\nQueues are long.", &[mail, internal])
        .await;
    let planned = planned(&app, "Mail server upgrade", &[mail], 48).await;
    let resolved = app.create_ticket("Webmail login fails", &[mail]).await;
    let resolved = close(&app, &resolved).await;
    let hidden = app.create_ticket("Billing batch stuck", &[internal]).await;
    World {
        app,
        mail,
        internal,
        open,
        planned,
        resolved,
        hidden,
    }
}

herald_test_support::backend_tests! {
    async fn the_status_page_shows_open_planned_and_resolved_tickets_of_public_services_only() {
        let w = world().await;
        let html = page(&w.app, "/status").await;
        assert!(html.contains("<title>Status · Example Hosting</title>"), "{html}");
        assert!(html.contains(r#"<a class="org" href="/status">Example Hosting</a>"#));
        assert!(html.contains("Example Hosting · all times are UTC"));
        assert!(html.contains("A service is disrupted"), "the state at the top");
        let section = |name: &str| {
            let start = html.find(&format!(r#"<section id="{name}">"#)).unwrap_or_else(|| panic!("{name}"));
            let end = html[start..].find("</section>").unwrap() + start;
            html[start..end].to_owned()
        };
        assert!(section("open").contains("Mail is slow"));
        assert!(section("open").contains(&format!("/status/tickets/{}", id(&w.open))));
        assert!(section("planned").contains("Mail server upgrade"));
        assert!(section("resolved").contains("Webmail login fails"));
        let services = section("services");
        assert!(services.contains("Mail") && services.contains("Disruption"), "{services}");
        for private in ["Internal billing", "Billing batch stuck"] {
            assert!(!html.contains(private), "{private} is private");
        }
        for (kind, href) in [
            ("application/atom+xml", "/status/feed.atom"),
            ("application/rss+xml", "/status/feed.rss"),
            ("text/calendar", "/status/calendar.ics"),
        ] {
            assert!(
                html.contains(&format!(r#"<link rel="alternate" type="{kind}""#))
                    && html.contains(&format!(r#"href="{href}""#)),
                "{kind}"
            );
        }
        assert!(!html.contains("<script"), "no JavaScript");
        assert!(!html.contains("http://") && !html.contains("https://"), "nothing from elsewhere");

        // Everything resolved, nothing planned begun: all operational.
        close(&w.app, &w.open).await;
        let html = page(&w.app, "/status").await;
        assert!(html.contains("All systems operational"), "{html}");
        assert!(html.contains("One piece of planned work is scheduled."));
        let _ = (w.mail, w.internal);
    }

    async fn a_ticket_page_shows_its_public_history_and_private_tickets_are_not_found() {
        let w = world().await;
        update(&w.app, &w.open, json!({ "Description": "Mail is slow\nA disk is replaced." })).await;
        let html = page(&w.app, &format!("/status/tickets/{}", id(&w.open))).await;
        assert!(html.contains("Example Hosting"));
        assert!(html.contains("Affects: Mail<"), "only the public service: {html}");
        assert!(!html.contains("Internal billing"));
        let history = &html[html.find("<h2>History</h2>").unwrap()..];
        let update = history.find("A disk is replaced.").expect("the update");
        let reported = history.find("Queues are long.").expect("the description when reported");
        assert!(update < reported, "newest first");
        assert!(history.contains("Reported") && history.contains("Update"));

        let html = page(&w.app, &format!("/status/tickets/{}", id(&w.resolved))).await;
        assert!(html.contains("Resolved"));
        for path in [
            format!("/status/tickets/{}", id(&w.hidden)),
            "/status/tickets/999999".to_owned(),
            "/status/tickets/x".to_owned(),
            "/status/tickets/-1".to_owned(),
        ] {
            let r = w.app.get(&path).await;
            assert_eq!(r.status(), 404, "{path}");
            assert!(!r.text().await.unwrap().contains("Billing"));
        }
        let _ = &w.planned;
    }

    async fn the_feeds_read_by_feedparser_keep_an_entry_id_across_updates() {
        let w = world().await;
        let atom = read_feed(&w.app, "/status/feed.atom", "application/atom+xml").await;
        assert_eq!(atom["version"], "atom10");
        assert_eq!(atom["title"], "Example Hosting status");
        let all = titles(&atom);
        assert_eq!(all.len(), 3, "{atom}");
        assert!(all.contains(&"Disruption: Mail is slow".to_owned()), "{all:?}");
        assert!(all.contains(&"Planned work: Mail server upgrade".to_owned()));
        assert!(all.contains(&"Resolved: Webmail login fails".to_owned()));
        let url = format!("https://status.example.com/status/tickets/{}", id(&w.open));
        let entry = atom["entries"].as_array().unwrap().iter().find(|e| e["link"] == url.as_str()).unwrap().clone();
        assert_eq!(entry["id"], url.as_str());
        assert_eq!(entry["tags"], json!(["Mail"]), "no private service");
        assert!(!atom.to_string().contains("Billing"));

        let rss = read_feed(&w.app, "/status/feed.rss", "application/rss+xml").await;
        assert_eq!(rss["version"], "rss20");
        assert_eq!(titles(&rss).len(), 3);
        assert!(rss["entries"].as_array().unwrap().iter().any(|e| e["id"] == url.as_str()));

        // An update is the same entry, updated, listed first.
        update(&w.app, &w.open, json!({ "Description": "Mail is slow\nFixed soon." })).await;
        let atom = read_feed(&w.app, "/status/feed.atom", "application/atom+xml").await;
        assert_eq!(titles(&atom).len(), 3);
        let first = &atom["entries"][0];
        assert_eq!(first["id"], url.as_str());
        assert!(first["summary"].as_str().unwrap().contains("Fixed soon."), "{first}");

        // Per service.
        let one = read_feed(&w.app, &format!("/status/services/{}/feed.atom", w.mail), "application/atom+xml").await;
        assert_eq!(one["title"], "Example Hosting status: Mail");
        assert_eq!(titles(&one).len(), 3);
        let one = read_feed(&w.app, &format!("/status/services/{}/feed.rss", w.mail), "application/rss+xml").await;
        assert_eq!(titles(&one).len(), 3);
        for path in [
            format!("/status/services/{}/feed.atom", w.internal),
            format!("/status/services/{}/feed.rss", w.internal),
            "/status/services/999999/feed.atom".to_owned(),
            "/status/services/x/feed.rss".to_owned(),
        ] {
            assert_eq!(w.app.get(&path).await.status(), 404, "{path}");
        }
        let _ = (&w.planned, &w.resolved, &w.hidden);
    }

    async fn with_the_status_page_off_every_public_page_and_feed_is_not_found() {
        let app = TestApp::builder().setting(Key::StatusPage, "off").spawn().await;
        let mail = id(&app.create_service("Mail").await);
        let ticket = app.create_ticket("Mail is slow", &[mail]).await;
        for path in [
            "/status".to_owned(),
            format!("/status/tickets/{}", id(&ticket)),
            "/status/feed.atom".to_owned(),
            "/status/feed.rss".to_owned(),
            format!("/status/services/{mail}/feed.atom"),
            format!("/status/services/{mail}/feed.rss"),
        ] {
            let r = app.get(&path).await;
            assert_eq!(r.status(), 404, "{path}");
            assert!(!r.text().await.unwrap().contains("Mail is slow"));
        }
        // The customers' own pages stay: an unknown link is still answered as such.
        let r = app.get("/my/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
        assert!(r.text().await.unwrap().contains("no longer valid"));
    }

    async fn pages_and_feeds_answer_conditional_requests_and_say_how_long_a_cdn_may_keep_them() {
        let w = world().await;
        for path in ["/status".to_owned(), "/status/feed.atom".to_owned(), "/status/feed.rss".to_owned(),
                     format!("/status/tickets/{}", id(&w.open))] {
            let r = w.app.get(&path).await;
            assert_eq!(r.status(), 200);
            let cache_control = r.headers()["cache-control"].to_str().unwrap().to_owned();
            assert!(cache_control.starts_with("public, max-age="), "{path}: {cache_control}");
            let etag = r.headers()["etag"].to_str().unwrap().to_owned();
            let modified = r.headers()["last-modified"].to_str().unwrap().to_owned();
            let body = r.text().await.unwrap();
            assert!(!body.is_empty());

            let again = w.app.request(reqwest::Method::GET, &path).header("If-None-Match", &etag).send().await.unwrap();
            assert_eq!(again.status(), 304, "{path}");
            assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
            assert!(again.text().await.unwrap().is_empty());
            let again = w.app.request(reqwest::Method::GET, &path).header("If-Modified-Since", &modified).send().await.unwrap();
            assert_eq!(again.status(), 304, "{path}");
            let other = w.app.request(reqwest::Method::GET, &path).header("If-None-Match", "\"other\"").send().await.unwrap();
            assert_eq!(other.status(), 200);
            assert_eq!(other.text().await.unwrap(), body, "the same bytes from memory");
        }

        // A change makes a new page with a new tag: the old one no longer matches.
        let etag = w.app.get("/status").await.headers()["etag"].to_str().unwrap().to_owned();
        update(&w.app, &w.open, json!({ "Description": "Mail is slow\nA disk is replaced." })).await;
        let r = w.app.request(reqwest::Method::GET, "/status").header("If-None-Match", &etag).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
        assert!(r.text().await.unwrap().contains("A disk is replaced."));
        // So does a service turned private.
        let path = format!("/api/Services/{}", w.mail);
        let mut mail = json(w.app.get(&path).await, 200).await;
        mail["IsPublic"] = json!(false);
        assert_eq!(w.app.put_json(&path, &mail).await.status(), 204);
        let html = page(&w.app, "/status").await;
        assert!(!html.contains("Mail is slow"), "{html}");
    }

    async fn a_change_through_another_instance_shows_within_the_shared_read_bound() {
        use herald::public::cache::SHARED_READ;
        // Both instances on one manual clock: the bound is crossed by moving it, not by waiting.
        // It starts 5 s into a minute: a page is also rendered afresh when its minute changes
        // (it says "in 2 h"), which would show the change early; the test moves it 3 s in all.
        let minute = Timestamp::now().unix_micros().div_euclid(60_000_000) * 60_000_000;
        let clock = herald::clock::Clock::manual(Timestamp::from_unix_micros(minute + 5_000_000));
        let a = TestApp::builder().clock(clock.clone()).spawn().await;
        let b = a.second_instance().clock(clock.clone()).spawn().await;
        let mail = id(&a.create_service("Mail").await);
        let open = a.create_ticket("Mail is slow", &[mail]).await;
        // A change through an instance shows on it at once.
        assert!(page(&a, "/status").await.contains("Mail is slow"));
        assert!(page(&b, "/status").await.contains("Mail is slow"));
        let atom_before = a.get("/status/feed.atom").await.text().await.unwrap();

        update(&b, &open, json!({ "Description": "Mail is slow\nA disk is replaced." })).await;
        assert!(page(&b, "/status").await.contains("A disk is replaced."), "at once where it was made");
        // The other instance may answer from its read of the change counter for SHARED_READ...
        clock.advance(SHARED_READ);
        assert!(!page(&a, "/status").await.contains("A disk is replaced."));
        assert_eq!(a.get("/status/feed.atom").await.text().await.unwrap(), atom_before);
        // ...and not a moment longer.
        clock.advance(std::time::Duration::from_millis(1));
        let after = page(&a, "/status").await;
        assert!(after.contains("A disk is replaced."), "{after}");
        let atom = a.get("/status/feed.atom").await.text().await.unwrap();
        assert_ne!(atom, atom_before);
        assert!(atom.contains("A disk is replaced."));

        // And the other way round, with the clock standing still after B's latest read.
        assert!(page(&b, "/status").await.contains("A disk is replaced."));
        let created = a.create_ticket("Calendar sync fails", &[mail]).await;
        assert!(page(&a, "/status").await.contains("Calendar sync fails"));
        assert!(page(&a, &format!("/status/tickets/{}", id(&created))).await.contains("Calendar sync fails"));
        assert!(!page(&b, "/status").await.contains("Calendar sync fails"));
        clock.advance(SHARED_READ + std::time::Duration::from_millis(1));
        assert!(page(&b, "/status").await.contains("Calendar sync fails"));
        b.stop().await;
        a.stop().await;
    }
}
