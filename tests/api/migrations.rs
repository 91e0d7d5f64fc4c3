//! Migrating databases that hold data.

use std::path::Path;

use serde_json::json;
use sqlx::migrate::Migrator;

use herald_test_support::*;

/// A SQLite database made by the first release (only the first migration) with customers
/// following services keeps them all when Herald migrates it, and from then on never gives a
/// deleted customer's id to a new one.
#[tokio::test]
async fn an_existing_sqlite_database_keeps_its_customers_and_their_services() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let mut first_release = Migrator::new(Path::new("migrations/sqlite")).await.unwrap();
    first_release.migrations = first_release.migrations[..1].to_vec().into();
    let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    first_release.run(&pool).await.unwrap();
    for sql in [
        "INSERT INTO services (id, name) VALUES (1, 'Mail'), (2, 'Web')",
        "INSERT INTO customers (id, name, email) VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', NULL)",
        "INSERT INTO customer_services (customer_id, service_id) VALUES (1, 1), (1, 2), (2, 2)",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let app = TestApp::builder().database(&url).spawn().await;
    let customers = json(app.get("/api/Customers").await, 200).await;
    let services = |c: &serde_json::Value| -> Vec<i64> {
        c["Services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(customers[0]["Name"], "Ann");
    assert_eq!(services(&customers[0]), [1, 2]);
    assert_eq!(customers[1]["Name"], "Bob");
    assert_eq!(services(&customers[1]), [2]);
    assert_eq!(app.delete("/api/Customers/2").await.status(), 200);
    let next = app
        .create("/api/Customers", &json!({"Name": "Cid", "Services": []}))
        .await;
    assert_eq!(next["Id"], 3, "the deleted customer's id 2 is not reused");
    app.stop().await;
}
