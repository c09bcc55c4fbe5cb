//! The driver against a subscriber that stops reading: the broker keeps a bounded backlog
//! for it, then closes it, and meanwhile keeps serving everyone else.

#![allow(clippy::disallowed_methods)]

#[allow(unused_macros)]
#[macro_use]
mod common;

use common::raw::{RawClient, Received};
use mqttspec_codec::{Connect, Packet, Publish, QoS, Subscribe, Subscription};
use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_closed_and_others_are_served() {
    let broker = mqttspec_broker::driver::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        mqttspec_broker::Config::default(),
    )
    .await
    .unwrap();
    let addr = broker.local_addr;
    let connect = |id: &str| Connect {
        client_id: id.into(),
        keep_alive: 0,
        ..Connect::default()
    };
    let mut slow = RawClient::connect(addr, connect("slow")).await;
    slow.send(&Packet::Subscribe(Subscribe {
        packet_id: 1,
        subscriptions: vec![Subscription::new("flood", QoS::AtMostOnce)],
        ..Subscribe::default()
    }))
    .await;
    assert!(matches!(
        slow.recv(Duration::from_secs(5)).await,
        Received::Packet(Packet::SubAck(_))
    ));
    // 40 MiB of QoS 0 messages: more than the backlog limit (8 MiB) and the kernel's
    // socket buffers together, while `slow` reads nothing.
    let mut publisher = RawClient::connect(addr, connect("pub")).await;
    let publish = Packet::Publish(Publish::new(
        "flood",
        QoS::AtMostOnce,
        vec![0x5A; 16 * 1024],
    ));
    for _ in 0..2560 {
        publisher.send(&publish).await;
    }
    // Everyone else is still served.
    publisher.send(&Packet::PingReq).await;
    assert!(matches!(
        publisher.recv(Duration::from_secs(10)).await,
        Received::Packet(Packet::PingResp)
    ));
    // The slow subscriber gets what was buffered for it, then the close.
    let mut received = 0usize;
    let end = loop {
        match slow.recv(Duration::from_secs(10)).await {
            Received::Packet(Packet::Publish(_)) => received += 1,
            other => break other,
        }
    };
    assert!(matches!(end, Received::Closed), "{end:?} after {received}");
    assert!(
        received < 2560,
        "closed before the whole flood: {received} delivered"
    );
    broker.shutdown().await;
}
