//! Rules that must hold under concurrent requests. On SQLite writes are serialized; on
//! PostgreSQL they really run at once, so these races are run many times over.

use serde_json::{json, Value};

use herald_test_support::*;

const ROUNDS: usize = 25;

/// An administrator to create, the `n`th.
fn admin(n: usize) -> Value {
    json!({
        "Name": format!("Admin {n}"),
        "Email": format!("admin{n}@example.com"),
        "IsAdmin": true,
        "Password": "correct horse battery",
    })
}

/// The live administrators.
async fn admins(app: &TestApp) -> Vec<Value> {
    let live = json(app.get("/api/Operators").await, 200).await;
    live.as_array()
        .unwrap()
        .iter()
        .filter(|o| o["IsAdmin"] == true)
        .cloned()
        .collect()
}

herald_test_support::backend_tests! {
    async fn two_admins_deleted_at_once_leave_one() {
        let app = TestApp::spawn().await;
        let mut keeper = app.create("/api/Operators", &admin(0)).await["Id"].as_i64().unwrap();
        for round in 1..=ROUNDS {
            let other = app.create("/api/Operators", &admin(round)).await["Id"].as_i64().unwrap();
            let (first, second) = (format!("/api/Operators/{keeper}"), format!("/api/Operators/{other}"));
            let (a, b) = tokio::join!(app.delete(&first), app.delete(&second));
            let mut statuses = [a.status().as_u16(), b.status().as_u16()];
            statuses.sort();
            assert_eq!(statuses, [200, 409], "round {round}: exactly one delete wins");
            let admins = admins(&app).await;
            assert_eq!(admins.len(), 1, "round {round}: one administrator left");
            keeper = admins[0]["Id"].as_i64().unwrap();
        }
        app.stop().await;
    }

    async fn demoting_and_deleting_the_two_admins_at_once_leaves_one() {
        let app = TestApp::spawn().await;
        let mut keeper = app.create("/api/Operators", &admin(0)).await;
        for round in 1..=ROUNDS {
            let other = app.create("/api/Operators", &admin(round)).await["Id"].as_i64().unwrap();
            let mut demoted = keeper.clone();
            demoted["IsAdmin"] = json!(false);
            let (keeper_path, other_path) = (format!("/api/Operators/{}", keeper["Id"]), format!("/api/Operators/{other}"));
            let (put, delete) = tokio::join!(app.put_json(&keeper_path, &demoted), app.delete(&other_path));
            let got = [put.status().as_u16(), delete.status().as_u16()];
            assert!(
                got == [204, 409] || got == [400, 200],
                "round {round}: exactly one change wins, got {got:?}"
            );
            let admins = admins(&app).await;
            assert_eq!(admins.len(), 1, "round {round}: one administrator left");
            keeper = admins[0].clone();
        }
        app.stop().await;
    }

    async fn following_a_service_while_it_is_deleted_never_follows_a_deleted_service() {
        let app = TestApp::spawn().await;
        let customer = app.create_customer("Ann", Some("ann@example.com"), &[]).await;
        let id = customer["Id"].as_i64().unwrap();
        for round in 1..=ROUNDS {
            let service = app.create_service(&format!("Service {round}")).await["Id"].as_i64().unwrap();
            let follow = json!({"Id": id, "Name": "Ann", "Email": "ann@example.com", "Services": [{"Id": service}]});
            let (customer_path, service_path) = (format!("/api/Customers/{id}"), format!("/api/Services/{service}"));
            let (put, delete) = tokio::join!(app.put_json(&customer_path, &follow), app.delete(&service_path));
            assert_eq!(delete.status(), 200, "round {round}");
            assert!(
                [204, 200, 400].contains(&put.status().as_u16()),
                "round {round}: the follow succeeds or names the deleted service, got {}",
                put.status()
            );
            let now = json(app.get(&format!("/api/Customers/{id}")).await, 200).await;
            assert_eq!(now["Services"], json!([]), "round {round}: follows no deleted service");
        }
        app.stop().await;
    }

    async fn tickets_posted_at_once_are_each_answered_as_if_alone() {
        let app = TestApp::spawn().await;
        let service = app.create_service("Web").await["Id"].as_i64().unwrap();
        // Posted together, so on SQLite they share commits; every third names an unknown
        // service and must fail without taking the others with it.
        let posts = (0..30).map(|i| {
            let services = if i % 3 == 2 { json!([{"Id": 999_999}]) } else { json!([{"Id": service}]) };
            let body = json!({"Description": format!("Ticket {i}"), "Services": services, "DoNotSendEmail": true});
            let app = &app;
            async move { (i, app.post_json("/api/Tickets", &body).await) }
        });
        let mut created = Vec::new();
        for (i, response) in futures::future::join_all(posts).await {
            if i % 3 == 2 {
                let error = json(response, 400).await;
                assert_eq!(
                    error["ModelState"]["ticket.Services"][0],
                    "There is no service with Id 999999.",
                    "post {i}"
                );
            } else {
                let ticket = json(response, 201).await;
                assert_eq!(ticket["Description"], format!("Ticket {i}"));
                // What the POST answered is what is stored.
                let id = ticket["Id"].as_i64().unwrap();
                assert_eq!(json(app.get(&format!("/api/Tickets/{id}")).await, 200).await, ticket);
                created.push(id);
            }
        }
        let listed = json(app.get(&format!("/api/Tickets?serviceId={service}")).await, 200).await;
        let mut listed: Vec<i64> = listed.as_array().unwrap().iter().map(|t| t["Id"].as_i64().unwrap()).collect();
        listed.sort();
        created.sort();
        assert_eq!(listed, created, "exactly the accepted tickets are stored");
        app.stop().await;
    }
}
