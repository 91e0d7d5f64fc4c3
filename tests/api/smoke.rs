use herald_test_support::*;
use serde_json::json;

herald_test_support::backend_tests! {
    async fn seed_examples_work() {
        let app = TestApp::spawn().await;
        let mail = app.create_service("Mail").await;
        let ticket = app.create_ticket("down", &[mail["Id"].as_i64().unwrap()]).await;
        assert_eq!(ticket["IsClosed"], false);
        let list = json(app.get("/api/Tickets").await, 200).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let one = json(app.get("/api/Tickets/1").await, 200).await;
        assert_eq!(one["Description"], "down");
        let r = app
            .put_json("/api/Tickets/1", &json!({"Id": 1, "Description": "still down"}))
            .await;
        assert_eq!(r.status(), 204);
        let r = app.delete("/api/Tickets/1").await;
        assert_eq!(json(r, 200).await["Description"], "still down");
        assert_eq!(app.get("/api/Tickets/1").await.status(), 404);
        app.stop().await;
    }
}
