//! A broker may refuse a connection because it cannot serve it now (3.2.2.3: CONNACK 0x03,
//! "server unavailable"; rmqtt answers so while it still tears down the client id's
//! previous connection). The harness asks again after a pause; a broker that keeps
//! refusing makes the scenario not applicable, never failed. A close without CONNACK is
//! asked again too (RabbitMQ closes a client id's next connection while it is still
//! closing the previous one); one that persists is still a failure.

mod common;

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::{RunOptions, Verdict, run_scenario};
use mqttspec::scenario::LoadedScenario;
use mqttspec::scenario::load::load_str;
use mqttspec_broker::{Config, driver};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SCENARIO: &str = r#"
name: A QoS 1 PUBLISH is acknowledged
statements: [3.1.1/MQTT-4.3.2-2]
version: "3.1.1"
broken_by: [wrong_puback_packet_id]
steps:
  - connect: {client: a}
  - send: {client: a, packet: {publish: {topic: "${topic}/u", qos: 1, packet_id: 3, payload: x}}}
  - expect: {client: a, packet: {puback: {packet_id: 3}}}
"#;

fn scenario() -> LoadedScenario {
    let catalogue = Catalogue::builtin().expect("catalogue");
    load_str("unavailable.yaml", SCENARIO, &catalogue).expect("the scenario loads")
}

/// A front that turns the first `refusals` connections away after their CONNECT (with
/// CONNACK 0x03, or with a bare close when `connack` is false), and passes every later
/// connection through to `backend`.
async fn front(backend: SocketAddr, refusals: usize, connack: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if n < refusals {
                    let mut buf = [0u8; 256];
                    let _ = socket.read(&mut buf).await;
                    if connack {
                        let _ = socket.write_all(&[0x20, 0x02, 0x00, 0x03]).await;
                    }
                    return;
                }
                if let Ok(mut upstream) = TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_refused_as_unavailable_is_tried_again() {
    let b = driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), Config::default())
        .await
        .expect("the reference broker starts");
    let addr = front(b.local_addr, 1, true).await;
    let r = run_scenario(&scenario(), 0, &RunOptions::new(addr, 3)).await;
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{}",
        common::verdicts::describe(&r)
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_stays_unavailable_makes_the_scenario_not_applicable() {
    let b = driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), Config::default())
        .await
        .expect("the reference broker starts");
    let addr = front(b.local_addr, usize::MAX, true).await;
    let r = run_scenario(&scenario(), 0, &RunOptions::new(addr, 3)).await;
    assert_eq!(
        r.verdict,
        Verdict::NotApplicable,
        "{}",
        common::verdicts::describe(&r)
    );
    let reason = r.reason.unwrap_or_default();
    assert!(
        reason.contains("unavailable") && reason.contains("0x03"),
        "{reason}"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_closed_once_without_connack_is_tried_again_and_a_persistent_close_fails() {
    let b = driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), Config::default())
        .await
        .expect("the reference broker starts");
    let once = front(b.local_addr, 1, false).await;
    let r = run_scenario(&scenario(), 0, &RunOptions::new(once, 3)).await;
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{}",
        common::verdicts::describe(&r)
    );
    let always = front(b.local_addr, usize::MAX, false).await;
    let r = run_scenario(&scenario(), 0, &RunOptions::new(always, 3)).await;
    assert_eq!(
        r.verdict,
        Verdict::Fail,
        "{}",
        common::verdicts::describe(&r)
    );
    b.shutdown().await;
}
