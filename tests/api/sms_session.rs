//! The SMPP session against the test SMSC on loopback (the server side of the same crate):
//! bind as a transceiver, GSM 03.38 and UCS-2 as the SMSC reads them, concatenation, error
//! statuses classified, a dropped session bound again, receipts and mobile-originated texts.

use std::time::Duration;

use herald::config::sms_url::Smsc;
use herald::domain::phone::E164;
use herald::notify::sms::{encode, Inbound, Session, SessionOptions, SubmitError};
use herald_test_support::poll_until;
use herald_test_support::smsc::{TestSmsc, PASSWORD};

const WAIT: Duration = Duration::from_secs(10);

fn options() -> SessionOptions {
    SessionOptions {
        window: 8,
        bind_timeout: Duration::from_secs(5),
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        wait_for_bind: Duration::from_secs(5),
        ..SessionOptions::default()
    }
}

fn number(digits: &str) -> E164 {
    E164::from_digits(digits).unwrap()
}

async fn bound(smsc: &TestSmsc) -> (Session, tokio::sync::mpsc::UnboundedReceiver<Inbound>) {
    let (session, inbound) = Session::start(Smsc::from_url(&smsc.url()).unwrap(), options());
    assert!(
        session.wait_bound(WAIT).await,
        "bound: {:?}",
        session.problem()
    );
    (session, inbound)
}

#[tokio::test]
async fn gsm_ucs2_and_concatenation_as_the_smsc_reads_them() {
    let smsc = TestSmsc::start().await;
    let (session, _) = bound(&smsc).await;
    assert_eq!(smsc.binds(), 1);
    let to = number("31612345678");
    let ids = session
        .submit(&to, &encode("Outage {mail}: 50€ refund", "", 1))
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    session
        .submit(&to, &encode("Störung im Rechenzentrum Łódź", "", 2))
        .await
        .unwrap();
    let long = "Maintenance of the mail cluster. ".repeat(8);
    let ids = session.submit(&to, &encode(&long, "", 3)).await.unwrap();
    assert_eq!(ids.len(), 2);

    let received = smsc.received();
    assert_eq!(received[0].destination, "31612345678");
    assert_eq!(received[0].dest_ton, 1);
    assert_eq!(received[0].source, "Herald");
    assert_eq!(received[0].registered_delivery, 1, "a receipt is asked for");
    assert_eq!((received[0].data_coding, received[0].esm_class), (0, 0));
    assert_eq!(received[0].text, "Outage {mail}: 50€ refund");
    assert_eq!(received[1].data_coding, 8);
    assert_eq!(received[1].text, "Störung im Rechenzentrum Łódź");
    assert_eq!(received[2].esm_class, 0x40);
    assert_eq!(received[2].udh, Some((3, 2, 1)));
    assert_eq!(received[3].udh, Some((3, 2, 2)));
    let messages = smsc.messages();
    assert_eq!(messages.len(), 3);
    assert_eq!(
        (messages[2].segments, messages[2].text.as_str()),
        (2, long.as_str())
    );
    session.close();
}

#[tokio::test]
async fn statuses_are_classified_temporary_or_permanent() {
    let smsc = TestSmsc::start().await;
    let (session, _) = bound(&smsc).await;
    let to = number("31612345678");
    smsc.answer_next(&[0x58, 0x14]);
    let e = session.submit(&to, &encode("a", "", 1)).await.unwrap_err();
    assert!(
        matches!(&e, SubmitError::Temporary(s) if s.contains("ESME_RTHROTTLED")),
        "{e:?}"
    );
    let e = session.submit(&to, &encode("a", "", 1)).await.unwrap_err();
    assert!(
        matches!(&e, SubmitError::Temporary(s) if s.contains("ESME_RMSGQFUL")),
        "{e:?}"
    );
    smsc.refuse("31600000000", 0x0B);
    let e = session
        .submit(&number("31600000000"), &encode("a", "", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SubmitError::Permanent(s) if s.contains("ESME_RINVDSTADR")),
        "{e:?}"
    );
    assert!(session.submit(&to, &encode("a", "", 1)).await.is_ok());
    session.close();
}

#[tokio::test]
async fn a_dropped_session_is_bound_again_and_carries_on() {
    let smsc = TestSmsc::start().await;
    let (session, _) = bound(&smsc).await;
    let to = number("31612345678");
    session.submit(&to, &encode("before", "", 1)).await.unwrap();
    smsc.drop_sessions().await;
    assert!(
        poll_until(WAIT, || async { smsc.binds() == 2 && session.is_bound() }).await,
        "bound again"
    );
    assert_eq!(session.binds(), 2);
    session.submit(&to, &encode("after", "", 1)).await.unwrap();
    let texts: Vec<String> = smsc.messages().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["before", "after"]);
    session.close();
}

#[tokio::test]
async fn a_refused_bind_is_reported_and_nothing_is_submitted() {
    let smsc = TestSmsc::start().await;
    let url = smsc.url().replace(PASSWORD, "wrong");
    let (session, _) = Session::start(
        Smsc::from_url(&url).unwrap(),
        SessionOptions {
            bind_timeout: Duration::from_millis(500),
            wait_for_bind: Duration::from_millis(200),
            ..options()
        },
    );
    assert!(poll_until(WAIT, || async { session.problem().is_some() }).await);
    assert!(session.problem().unwrap().contains("bind"));
    let e = session
        .submit(&number("31612345678"), &encode("a", "", 1))
        .await
        .unwrap_err();
    assert!(matches!(e, SubmitError::Unavailable(_)), "{e:?}");
    assert!(smsc.refused_binds() >= 1);
    assert!(smsc.received().is_empty());
    session.close();
}

#[tokio::test]
async fn receipts_and_mobile_originated_texts_come_back() {
    let smsc = TestSmsc::start().await;
    let (session, mut inbound) = bound(&smsc).await;
    let ids = session
        .submit(&number("31612345678"), &encode("a", "", 1))
        .await
        .unwrap();
    smsc.receipt(&ids[0], true).await;
    smsc.receipt("other", false).await;
    smsc.mobile("31612345678", "Stop").await;
    let mut inbound_all = Vec::new();
    for _ in 0..3 {
        inbound_all.push(
            tokio::time::timeout(WAIT, inbound.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(
        inbound_all[0],
        Inbound::Receipt {
            message_id: ids[0].clone(),
            delivered: true,
            status: "DELIVRD".into()
        }
    );
    assert!(
        matches!(&inbound_all[1], Inbound::Receipt { delivered: false, status, .. } if status == "UNDELIV")
    );
    match &inbound_all[2] {
        Inbound::Mobile { from, text } => {
            assert_eq!(from.as_str(), "+31612345678");
            assert!(Inbound::is_stop(text), "{text}");
        }
        other => panic!("{other:?}"),
    }
    session.close();
}
