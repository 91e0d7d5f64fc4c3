//! One outbox for every channel: each message names its channel and address, in JSON and XML,
//! and rows written before channels existed read as email.

use herald_test_support::smtp::SmtpServer;
use herald_test_support::*;

use crate::notifications::{wait_notifications, WAIT};

herald_test_support::backend_tests! {
    async fn each_message_names_its_channel_and_address_in_json_and_xml() {
        let smtp = SmtpServer::start().await;
        let app = TestApp::builder().smtp(&smtp).delivery(fast_delivery()).spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Ann", Some("Ann@Example.com"), &[mail]).await;
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();
        let list = wait_notifications(&app, t, "sent", |l| {
            l.len() == 1 && l[0]["State"] == "sent"
        })
        .await;
        assert_eq!(list[0]["Channel"], "email");
        assert_eq!(list[0]["Address"], "Ann@Example.com");
        assert_eq!(list[0]["Email"], "Ann@Example.com", "the original property stays");
        smtp.wait_for(1, WAIT).await;

        let xml = text(app.get_xml(&format!("/api/Tickets/{t}/Notifications")).await, 200).await;
        assert!(xml.contains("<Channel>email</Channel>"), "{xml}");
        assert!(xml.contains("<Address>Ann@Example.com</Address>"), "{xml}");
        app.stop().await;
    }

    async fn counts_are_kept_by_channel() {
        let app = TestApp::builder().spawn().await;
        let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
        app.create_customer("Ann", Some("ann@example.com"), &[mail]).await;
        app.create_customer("Bob", Some("bob@example.com"), &[mail]).await;
        let t = app.create_ticket("Mail is down", &[mail]).await["Id"].as_i64().unwrap();
        let by_channel = app.store.delivery_counts_by_channel(Some(t)).await.unwrap();
        assert_eq!(by_channel.len(), 1, "{by_channel:?}");
        assert_eq!(by_channel[0].0, herald::domain::Channel::Email);
        assert_eq!(by_channel[0].1.queued, 2, "no mail server: both stay queued");
        app.stop().await;
    }
}
