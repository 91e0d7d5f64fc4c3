//! The SMS fan-out benchmark's two programs (`bench/sms.sh`), on the SMPP crate Herald uses
//! (`smpp34`):
//!
//! - `bench_sms smsc COUNT_FILE`: an SMSC on loopback that accepts every `submit_sm` (the test
//!   SMSC of `herald-test-support` in its counting mode). Prints its port, then keeps the number
//!   of submits it has accepted and of binds in COUNT_FILE (`ACCEPTED BINDS`, rewritten every
//!   millisecond while they change).
//! - `bench_sms client PORT N WINDOW TEXT`: the baseline, a bare client of the same crate: binds
//!   as a transceiver, submits TEXT (GSM 03.38, one segment, as Herald encodes it) to N numbers
//!   with WINDOW submits in flight, and prints the seconds from the first submit to the last
//!   answer and the rate.
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use herald_test_support::smsc::{TestSmsc, PASSWORD, SYSTEM_ID};
use smpp34::client::{SmppClient, SmppClientListener, BIND_TYPE, SMSC};
use smpp34::{deliver_sm, deliver_sm_resp, SmppConnectionInformation};
use tokio::sync::{mpsc, Semaphore};

/// The numbers texted: the same in Herald's database (bench/sms.sh) and here.
fn number(i: u64) -> String {
    format!("3161{:07}", i)
}

struct Listener(mpsc::UnboundedSender<SMSC>);

#[async_trait]
impl SmppClientListener for Listener {
    async fn on_deliver_sm(
        &self,
        pdu: deliver_sm,
        _: &SmppConnectionInformation,
        _: &String,
    ) -> deliver_sm_resp {
        pdu.accept()
    }

    async fn on_smsc_bound(&self, smsc: SMSC, _: &String) {
        let _ = self.0.send(smsc);
    }

    async fn on_smsc_unbound(&self, _: &String) {}

    async fn on_connection_failed(&self, error: &str) {
        panic!("the bench client could not connect: {error}");
    }
}

async fn smsc(count_file: &str) {
    let smsc = TestSmsc::start_counting().await;
    println!("{}", smsc.port);
    std::io::stdout().flush().expect("stdout");
    let tmp = format!("{count_file}.tmp");
    let mut last = (u64::MAX, 0);
    loop {
        let now = (smsc.accepted(), smsc.binds());
        if now != last {
            std::fs::write(&tmp, format!("{} {}\n", now.0, now.1))
                .expect("the count file is writable");
            std::fs::rename(&tmp, count_file).expect("the count file is writable");
            last = now;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn client(port: u16, n: u64, window: usize, text: &str) {
    let (bound_tx, mut bound) = mpsc::unbounded_channel();
    let mut client = SmppClient::new_with_default_timers(
        "127.0.0.1".into(),
        port,
        false,
        BIND_TYPE::TRX,
        SYSTEM_ID.into(),
        PASSWORD.into(),
        String::new(),
        0,
        0,
        String::new(),
        Arc::new(Listener(bound_tx)),
        10_000,
        30_000,
        120_000,
        30_000,
        64 * 1024,
        window,
    );
    client.start().await;
    let smsc = Arc::new(bound.recv().await.expect("bound"));
    // The bytes Herald submits for this text: GSM 03.38, one septet per octet.
    let encoded = herald::notify::sms::encode(text, "", 0);
    assert_eq!(
        encoded.parts.len(),
        1,
        "the benchmark's text fits one segment"
    );
    let part = encoded.parts[0].clone();
    let slots = Arc::new(Semaphore::new(window));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 1..=n {
        let slot = slots.clone().acquire_owned().await.expect("open");
        let (smsc, part, failed) = (smsc.clone(), part.clone(), failed.clone());
        tasks.spawn(async move {
            let answer = smsc
                .submit_sm()
                .source_addr("Herald")
                .source_addr_ton(5)
                .source_addr_npi(0)
                .destination_addr(number(i))
                .dest_addr_ton(1)
                .dest_addr_npi(1)
                .esm_class(0)
                .data_coding(0)
                .registered_delivery(1)
                .short_message(part)
                .send()
                .await;
            if !answer.is_ok_and(|r| r.is_success()) {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            drop(slot);
        });
    }
    while tasks.join_next().await.is_some() {}
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "every submit accepted");
    println!("{secs:.4} {:.0}", n as f64 / secs);
    client.stop().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["smsc", count_file] => smsc(count_file).await,
        ["client", port, n, window, text] => {
            client(
                port.parse().expect("a port"),
                n.parse().expect("a count"),
                window.parse().expect("a window"),
                text,
            )
            .await
        }
        _ => {
            eprintln!("usage: bench_sms smsc COUNT_FILE | bench_sms client PORT N WINDOW TEXT");
            std::process::exit(2);
        }
    }
}
