//! SMTP transactions with and without PIPELINING (RFC 2920): a server that advertises it gets
//! `MAIL`, `RCPT` and `DATA` in one write, and still every message, whole and in step, even
//! when it refuses a recipient; messages waiting for the same connection follow each other in
//! the same write (a message's data, then the next one's commands); a server that does not
//! gets one command at a time.

use serde_json::Value;

use crate::notifications::{wait_notifications, WAIT};
use herald_test_support::smtp::SmtpServer;
use herald_test_support::{fast_delivery, TestApp};

/// A description whose lines start with dots: they must arrive as written (dot-stuffing).
const DESCRIPTION: &str = "Mail is down\n.\n..two dots\n.end";

fn settled(l: &[Value]) -> bool {
    l.len() == 12
        && l.iter()
            .all(|n| n["State"] == "sent" || n["State"] == "failed")
}

/// Twelve followers, one refused at RCPT; returns the server and the ticket's notifications.
async fn deliver_to_twelve(pipelining: bool) -> (SmtpServer, Vec<Value>) {
    let smtp = SmtpServer::start().await;
    smtp.set_pipelining(pipelining);
    smtp.reject_recipient("c5@example.com");
    let app = TestApp::builder()
        .smtp(&smtp)
        .delivery(fast_delivery())
        .spawn()
        .await;
    let mail = app.create_service("Mail").await["Id"].as_i64().unwrap();
    for i in 0..12 {
        let name = if i == 3 {
            "Zoë O'Brien, Jr.".to_owned()
        } else {
            format!("Customer {i}")
        };
        app.create_customer(&name, Some(&format!("c{i}@example.com")), &[mail])
            .await;
    }
    let t = app.create_ticket(DESCRIPTION, &[mail]).await["Id"]
        .as_i64()
        .unwrap();
    let list = wait_notifications(&app, t, "all settled", settled).await;
    app.stop().await;
    (smtp, list)
}

fn check_delivery(smtp: &SmtpServer, list: &[Value]) {
    let failed: Vec<&Value> = list.iter().filter(|n| n["State"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{list:#?}");
    assert_eq!(failed[0]["Email"], "c5@example.com");
    let error = failed[0]["LastError"].as_str().unwrap();
    assert!(error.starts_with("550 5.1.1"), "{error}");
    for sent in list.iter().filter(|n| n["State"] == "sent") {
        assert!(
            sent["Reply"].as_str().unwrap().starts_with("250 2.0.0 Ok"),
            "{sent}"
        );
    }
    assert_eq!(
        smtp.rcpt_attempts("c5@example.com"),
        1,
        "a refused recipient is not retried"
    );

    let got = smtp.messages();
    assert_eq!(got.len(), 11, "every other recipient's message, once");
    for i in (0..12).filter(|i| *i != 5) {
        let address = format!("c{i}@example.com");
        let mine = smtp.messages_to(&address);
        assert_eq!(mine.len(), 1, "{address}");
        let parsed = mine[0].parse();
        let to = parsed.to().unwrap().first().unwrap();
        let name = if i == 3 {
            "Zoë O'Brien, Jr.".to_owned()
        } else {
            format!("Customer {i}")
        };
        assert_eq!(
            (to.name(), to.address()),
            (Some(name.as_str()), Some(address.as_str()))
        );
        let id = mine[0].header("Message-ID").unwrap();
        assert!(
            id.starts_with("<herald.t") && id.ends_with("@herald.test>"),
            "{id}"
        );
        let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(text.contains(&format!("Hello {name},")), "{text}");
        assert!(text.contains(DESCRIPTION), "{text}");
        let html = parsed.body_html(0).unwrap().into_owned();
        assert!(
            html.contains("Hello Customer") || html.contains("Zo"),
            "{html}"
        );
    }
}

herald_test_support::backend_tests! {
    async fn a_pipelining_server_gets_commands_together_and_every_message_whole() {
        let (smtp, list) = deliver_to_twelve(true).await;
        check_delivery(&smtp, &list);
        assert!(smtp.pipelined_groups() > 0, "MAIL, RCPT and DATA were written together");
        assert!(
            smtp.chained_messages() > 0,
            "a message's data and the next one's MAIL, RCPT and DATA were written together"
        );
    }

    async fn a_server_without_pipelining_gets_one_command_at_a_time() {
        let (smtp, list) = deliver_to_twelve(false).await;
        check_delivery(&smtp, &list);
        assert_eq!(smtp.pipelined_groups(), 0);
        assert_eq!(smtp.chained_messages(), 0);
        assert_eq!(smtp.wait_for(11, WAIT).await.len(), 11);
    }
}
