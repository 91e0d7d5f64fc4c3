//! GETs of one entity are answered from memory on SQLite while nothing was committed since
//! (`src/answers.rs`). What must hold, on both backends alike: every GET shows what was last
//! committed through Herald — its own writes to the entity or to what it shows (a ticket
//! shows its services), and a statement run past Herald's code on its connection — and a
//! commit by another connection (another process) is seen within a moment.

use std::time::{Duration, Instant};

use sqlx::Connection;

use herald_test_support::*;
use serde_json::json;

/// The body and `ETag` of a GET, asserting 200.
async fn read(app: &TestApp, path: &str) -> (String, String) {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    let tag = response.headers()["etag"].to_str().unwrap().to_owned();
    (response.text().await.unwrap(), tag)
}

herald_test_support::backend_tests! {
    async fn every_get_shows_the_last_commit_whoever_made_it() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        let ticket = app.create_ticket("Mail is slow", &[mail]).await["Id"].as_i64().unwrap();
        let path = format!("/api/Tickets/{ticket}");

        let (first, first_tag) = read(&app, &path).await;
        assert!(first.contains("Mail is slow"), "{first}");
        assert_eq!(read(&app, &path).await, (first.clone(), first_tag.clone()), "the same answer again");
        let xml = app.get_xml(&path).await;
        assert!(xml.headers()["content-type"].to_str().unwrap().contains("xml"));
        assert!(xml.text().await.unwrap().contains("<Description>Mail is slow</Description>"));

        // A change to a service the ticket shows.
        let r = app.put_json(&format!("/api/Services/{mail}"), &json!({"Id": mail, "Name": "Email"})).await;
        assert_eq!(r.status(), 204);
        let (renamed, renamed_tag) = read(&app, &path).await;
        assert!(renamed.contains("\"Name\":\"Email\""), "{renamed}");
        assert_ne!(renamed_tag, first_tag);

        // A statement run on the database past Herald (another process, an operator's SQL).
        sqlx::query(&format!("UPDATE tickets SET description = 'Changed by hand' WHERE id = {ticket}"))
            .execute(app.store.writer())
            .await
            .unwrap();
        let (by_hand, _) = read(&app, &path).await;
        assert!(by_hand.contains("Changed by hand"), "{by_hand}");
        let xml = app.get_xml(&path).await.text().await.unwrap();
        assert!(xml.contains("<Description>Changed by hand</Description>"), "{xml}");
        let (service, _) = read(&app, &format!("/api/Services/{mail}")).await;
        sqlx::query(&format!("UPDATE services SET name = 'Post' WHERE id = {mail}"))
            .execute(app.store.writer())
            .await
            .unwrap();
        let (service_again, _) = read(&app, &format!("/api/Services/{mail}")).await;
        assert!(service.contains("Email") && service_again.contains("Post"), "{service} / {service_again}");

        // Another connection's commit, as another process's (the command line, a statement run
        // by hand): seen within SQLite's `LOOK_AGAIN` (0.1 s), at once on PostgreSQL.
        let mut outside = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
        sqlx::query(&format!("UPDATE services SET name = 'Parcel' WHERE id = {mail}"))
            .execute(&mut outside)
            .await
            .unwrap();
        outside.close().await.unwrap();
        let waited = Instant::now();
        loop {
            let (now, _) = read(&app, &format!("/api/Services/{mail}")).await;
            if now.contains("Parcel") {
                break;
            }
            assert!(waited.elapsed() < Duration::from_secs(10), "never seen: {now}");
            tokio::task::yield_now().await;
        }
        let (ticket_now, _) = read(&app, &path).await;
        assert!(ticket_now.contains("\"Name\":\"Parcel\""), "{ticket_now}");

        // Herald's own change to the ticket, then its deletion.
        let body: serde_json::Value = serde_json::from_str(&by_hand).unwrap();
        app.put_ticket_changes(&body, json!({"Description": "Mail is fine"})).await;
        let (put, _) = read(&app, &path).await;
        assert!(put.contains("Mail is fine"), "{put}");
        assert_eq!(app.delete(&path).await.status(), 200);
        assert_eq!(app.get(&path).await.status(), 404);
        assert_eq!(app.get_xml(&path).await.status(), 404);
    }
}
