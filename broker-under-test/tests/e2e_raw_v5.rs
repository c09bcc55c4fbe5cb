//! End-to-end 5.0 checks on our codec's bare client: what the 5.0 client libraries hide
//! (the broker's DISCONNECT reason codes, topic aliases on the wire) and what only our
//! broker offers (SCRAM-SHA-256, shutdown with 0x8B). Checks that Mosquitto supports run
//! against it too.

#![allow(clippy::disallowed_methods)]

#[macro_use]
mod common;

use common::Target;
use common::raw::{RawClient, Received};
use mqttspec_broker::auth::scram::client::ScramClient;
use mqttspec_broker::auth::{Users, hash_line};
use mqttspec_codec::{
    Auth, Connect, Packet, Properties, Property, PropertyId, ProtocolVersion, Publish, QoS,
    ReasonCode, Subscribe, Subscription,
};
use std::net::SocketAddr;
use std::time::Duration;

both!(
    takeover_is_told_0x8e,
    topic_alias_from_the_client,
    invalid_topic_alias_is_0x94
);

const WAIT: Duration = Duration::from_secs(5);

fn connect5(id: &str, props: Vec<Property>) -> Connect {
    Connect {
        version: ProtocolVersion::V5,
        client_id: id.into(),
        properties: Properties(props),
        ..Connect::default()
    }
}

async fn next(c: &mut RawClient) -> Packet {
    match c.recv(WAIT).await {
        Received::Packet(p) => p,
        other => panic!("expected a packet, got {other:?}"),
    }
}

/// The DISCONNECT the broker sends before closing, then the close.
async fn disconnected_with(c: &mut RawClient) -> ReasonCode {
    let code = match next(c).await {
        Packet::Disconnect(d) => d.reason(),
        other => panic!("expected DISCONNECT, got {other:?}"),
    };
    assert!(matches!(c.recv(WAIT).await, Received::Closed));
    code
}

/// 5.0/MQTT-3.1.4-3: the old connection is closed, after DISCONNECT 0x8E. Mosquitto 2.0.11
/// closes it without the DISCONNECT (the statement's MUST is on the close), so against it
/// only the close is required.
async fn takeover_is_told_0x8e(t: Target) {
    let id = t.client_id("take");
    let mut old = RawClient::connect(t.addr, connect5(&id, vec![])).await;
    let _new = RawClient::connect(t.addr, connect5(&id, vec![])).await;
    match old.recv(WAIT).await {
        Received::Packet(Packet::Disconnect(d)) => {
            assert_eq!(d.reason(), ReasonCode::SESSION_TAKEN_OVER);
            assert!(matches!(old.recv(WAIT).await, Received::Closed));
        }
        Received::Closed if t.kind == common::Kind::Mosquitto => {}
        other => panic!("expected DISCONNECT 0x8E, got {other:?}"),
    }
}

async fn subscribed(addr: SocketAddr, id: &str, filter: &str) -> RawClient {
    let mut s = RawClient::connect(addr, connect5(id, vec![])).await;
    s.send(&Packet::Subscribe(Subscribe {
        packet_id: 1,
        subscriptions: vec![Subscription::new(filter, QoS::AtMostOnce)],
        ..Subscribe::default()
    }))
    .await;
    assert!(matches!(next(&mut s).await, Packet::SubAck(_)));
    s
}

/// 5.0/MQTT-3.3.2-12: an alias set with a topic stands for it afterwards.
async fn topic_alias_from_the_client(t: Target) {
    let topic = format!("e2e/raw5/{}", t.client_id("alias"));
    let mut s = subscribed(t.addr, &t.client_id("s"), &topic).await;
    let mut p = RawClient::connect(t.addr, connect5(&t.client_id("p"), vec![])).await;
    for (name, payload) in [(topic.as_str(), "first"), ("", "second")] {
        let publish = Publish {
            properties: Properties(vec![Property::TopicAlias(1)]),
            ..Publish::new(name, QoS::AtMostOnce, payload)
        };
        p.send(&Packet::Publish(publish)).await;
    }
    for payload in ["first", "second"] {
        match next(&mut s).await {
            Packet::Publish(got) => {
                assert_eq!(&got.topic[..], topic);
                assert_eq!(&got.payload[..], payload.as_bytes());
            }
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }
}

/// An alias above the broker's Topic Alias Maximum: DISCONNECT 0x94 (5.0 section
/// 3.3.2.3.4).
async fn invalid_topic_alias_is_0x94(t: Target) {
    let mut c = RawClient::open(t.addr).await;
    c.send(&Packet::Connect(connect5(&t.client_id("bad"), vec![])))
        .await;
    let max = match next(&mut c).await {
        Packet::ConnAck(a) => a.properties.int(PropertyId::TopicAliasMaximum).unwrap_or(0),
        other => panic!("expected CONNACK, got {other:?}"),
    };
    let alias = u16::try_from(max + 1).unwrap_or(u16::MAX);
    let publish = Publish {
        properties: Properties(vec![Property::TopicAlias(alias)]),
        ..Publish::new("e2e/raw5/x", QoS::AtMostOnce, "x")
    };
    c.send(&Packet::Publish(publish)).await;
    assert_eq!(
        disconnected_with(&mut c).await,
        ReasonCode::TOPIC_ALIAS_INVALID
    );
}

fn auth(code: ReasonCode, data: Vec<u8>) -> Packet {
    Packet::Auth(Auth {
        reason_code: Some(code),
        properties: Some(Properties(vec![
            Property::AuthenticationMethod("SCRAM-SHA-256".into()),
            Property::AuthenticationData(data.into()),
        ])),
    })
}

fn data_of(props: &Properties) -> Vec<u8> {
    match props.get(PropertyId::AuthenticationData) {
        Some(Property::AuthenticationData(d)) => d.to_vec(),
        other => panic!("no Authentication Data: {other:?}"),
    }
}

/// SCRAM-SHA-256 over TCP against a users file, and the shutdown DISCONNECT 0x8B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_over_tcp_then_shutdown_says_0x8b() {
    let line = hash_line("alice", b"pencil", b"salt-of-the-test", 1000).unwrap();
    let config = mqttspec_broker::Config {
        users: Some(Users::parse(&line).unwrap()),
        nonce_seed: 42,
        ..mqttspec_broker::Config::default()
    };
    let broker = mqttspec_broker::driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .unwrap();
    let mut scram = ScramClient::new("alice", b"pencil", "e2e-nonce");
    let mut c = RawClient::open(broker.local_addr).await;
    c.send(&Packet::Connect(connect5(
        "scram",
        vec![
            Property::AuthenticationMethod("SCRAM-SHA-256".into()),
            Property::AuthenticationData(scram.first().into()),
        ],
    )))
    .await;
    let Packet::Auth(challenge) = next(&mut c).await else {
        panic!("expected AUTH")
    };
    let last = scram
        .last(&data_of(&challenge.properties.unwrap()))
        .unwrap();
    c.send(&auth(ReasonCode::CONTINUE_AUTHENTICATION, last))
        .await;
    let Packet::ConnAck(ack) = next(&mut c).await else {
        panic!("expected CONNACK")
    };
    assert_eq!(ack.code, ReasonCode::SUCCESS);
    assert!(scram.verify(&data_of(&ack.properties)));
    let stopping = tokio::spawn(broker.shutdown());
    assert_eq!(
        disconnected_with(&mut c).await,
        ReasonCode::SERVER_SHUTTING_DOWN
    );
    stopping.await.unwrap();
}
