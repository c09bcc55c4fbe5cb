//! MQTT 5.0: CONNECT/CONNACK, sessions and their expiry, wills and their delay, DISCONNECT
//! in both directions, mixed versions, enhanced authentication, declined capabilities.

use super::*;
use crate::auth::scram::client::ScramClient;
use crate::auth::{Users, hash_line};
use mqttspec_codec::{Auth, Disconnect, PropertyId, SubscribeOptions};

const S: Duration = Duration::from_secs(1);

fn expiry(secs: u32) -> Property {
    Property::SessionExpiryInterval(secs)
}

fn pub5(topic: &str, qos: QoS, id: u16, props: &[Property]) -> Publish {
    Publish {
        properties: Properties(props.to_vec()),
        ..publish(topic, qos, id, "m")
    }
}

#[test]
fn connack_announces_limits_and_assigns_ids() {
    // 5.0/MQTT-3.1.3-7, 5.0/MQTT-3.2.2-16: the assigned identifier is in the CONNACK.
    let mut b = bench();
    let (_, ack) = b.connect5("", false, &[]);
    let props = &ack.properties;
    assert!(matches!(
        props.get(PropertyId::AssignedClientIdentifier),
        Some(Property::AssignedClientIdentifier(id)) if id.starts_with("auto-")
    ));
    assert_eq!(
        props.int(PropertyId::MaximumPacketSize),
        Some(4 * 1024 * 1024)
    );
    assert_eq!(props.int(PropertyId::TopicAliasMaximum), Some(64));
    // Defaults say "supported": nothing declined is announced.
    assert_eq!(props.get(PropertyId::MaximumQos), None);
    assert_eq!(props.get(PropertyId::ResponseInformation), None);
    // 5.0/MQTT-3.1.2-28: Response Information only when requested.
    let (_, ack) = b.connect5("r", true, &[Property::RequestResponseInformation(1)]);
    assert_eq!(
        ack.properties.get(PropertyId::ResponseInformation),
        Some(&Property::ResponseInformation("response/r/".into()))
    );
}

#[test]
fn declined_capabilities_are_announced_and_enforced() {
    let mut b = Bench::new(Config {
        maximum_qos: QoS::AtLeastOnce,
        retain_available: false,
        wildcard_subscriptions: false,
        shared_subscriptions: false,
        subscription_identifiers: false,
        receive_maximum: 5,
        server_keep_alive: Some(7),
        session_expiry_max: 60,
        ..Config::default()
    });
    let (c, ack) = b.connect5("c", true, &[expiry(3600)]);
    let p = &ack.properties;
    assert_eq!(p.int(PropertyId::MaximumQos), Some(1));
    assert_eq!(p.int(PropertyId::RetainAvailable), Some(0));
    assert_eq!(p.int(PropertyId::WildcardSubscriptionAvailable), Some(0));
    assert_eq!(p.int(PropertyId::SubscriptionIdentifierAvailable), Some(0));
    assert_eq!(p.int(PropertyId::SharedSubscriptionAvailable), Some(0));
    assert_eq!(p.int(PropertyId::ReceiveMaximum), Some(5));
    assert_eq!(p.int(PropertyId::ServerKeepAlive), Some(7));
    assert_eq!(p.int(PropertyId::SessionExpiryInterval), Some(60));
    // 5.0/MQTT-3.2.2-10: QoS 2 may be asked for, and is granted 1.
    assert_eq!(
        b.subscribe5(c, "t", SubscribeOptions::qos(QoS::ExactlyOnce), &[]),
        [ReasonCode::GRANTED_QOS_1]
    );
    let cases: [(Packet, ReasonCode); 5] = [
        (
            pub5("t", QoS::ExactlyOnce, 1, &[]).into(),
            ReasonCode::QOS_NOT_SUPPORTED,
        ),
        (
            retained("t", QoS::AtMostOnce, 0, "x").into(),
            ReasonCode::RETAIN_NOT_SUPPORTED,
        ),
        (
            subscribe(2, &[("a/+", QoS::AtMostOnce)]).into(),
            ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
        ),
        (
            subscribe(2, &[("$share/g/a", QoS::AtMostOnce)]).into(),
            ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED,
        ),
        (
            Subscribe {
                properties: Properties(vec![Property::SubscriptionIdentifier(3)]),
                ..subscribe(2, &[("a", QoS::AtMostOnce)])
            }
            .into(),
            ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
        ),
    ];
    for (packet, code) in cases {
        let (c, _) = b.connect5("x", true, &[]);
        b.send(c, packet);
        assert_eq!(b.disconnected_with(c), code);
    }
    // 5.0/MQTT-3.2.2-12, -13: a will the broker cannot honour is refused.
    let will = with_will(connect5("w", true, &[]), "w", QoS::ExactlyOnce, false);
    assert_eq!(b.connect_with(will).1.code, ReasonCode::QOS_NOT_SUPPORTED);
    let will = with_will(connect5("w", true, &[]), "w", QoS::AtMostOnce, true);
    assert_eq!(
        b.connect_with(will).1.code,
        ReasonCode::RETAIN_NOT_SUPPORTED
    );
}

#[test]
fn session_expiry_on_the_virtual_clock() {
    let mut b = bench();
    // 5.0/MQTT-3.1.2-23: kept for its interval.
    let (c, _) = b.connect5("s", false, &[expiry(10)]);
    b.subscribe5(c, "t", SubscribeOptions::qos(QoS::AtLeastOnce), &[]);
    b.drop_conn(c);
    b.advance(9 * S);
    let (c, ack) = b.connect5("s", false, &[expiry(10)]);
    assert!(ack.session_present);
    b.drop_conn(c);
    // 5.0/MQTT-4.1.0-2: gone once it has passed.
    b.advance(10 * S);
    let (c, ack) = b.connect5("s", false, &[expiry(0)]);
    assert!(!ack.session_present);
    // Expiry 0: ends with the connection.
    b.send(c, Disconnect::default());
    let (c, ack) = b.connect5("s", false, &[expiry(u32::MAX)]);
    assert!(!ack.session_present);
    // 0xFFFFFFFF never expires.
    b.drop_conn(c);
    b.advance(Duration::from_secs(10 * 365 * 86400));
    let (c, ack) = b.connect5("s", false, &[]);
    assert!(ack.session_present);
    // Changed at DISCONNECT: from 0 to 5 is a protocol error.
    b.send(
        c,
        Disconnect {
            reason_code: Some(ReasonCode::SUCCESS),
            properties: Some(Properties(vec![expiry(5)])),
        },
    );
    assert_eq!(b.disconnected_with(c), ReasonCode::PROTOCOL_ERROR);
    // From 100 to 5 is taken.
    let (c, _) = b.connect5("s", false, &[expiry(100)]);
    b.send(
        c,
        Disconnect {
            reason_code: Some(ReasonCode::SUCCESS),
            properties: Some(Properties(vec![expiry(5)])),
        },
    );
    b.advance(6 * S);
    assert_eq!(b.broker.stats().sessions, 0);
}

fn will5(client: &str, delay: u32, session: u32) -> Connect {
    let mut c = with_will(
        connect5(client, false, &[expiry(session)]),
        "will",
        QoS::AtMostOnce,
        false,
    );
    if let Some(w) = c.will.as_mut() {
        w.properties = Properties(vec![
            Property::WillDelayInterval(delay),
            Property::UserProperty("a".into(), "1".into()),
            Property::UserProperty("b".into(), "2".into()),
        ]);
    }
    c
}

#[test]
fn will_delay_on_the_virtual_clock() {
    let mut b = bench();
    let (watcher, _) = b.connect5("watcher", true, &[]);
    b.subscribe5(watcher, "will", SubscribeOptions::qos(QoS::AtMostOnce), &[]);
    // Published when the delay has passed (5.0/MQTT-3.1.2-8), properties in order
    // (5.0/MQTT-3.1.3-10).
    let c = b.connect_with(will5("c", 5, 100)).0;
    b.drop_conn(c);
    b.advance(4 * S);
    assert!(b.publishes(watcher).is_empty());
    b.advance(S);
    let got = b.publishes(watcher);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].properties.user_properties().collect::<Vec<_>>(),
        [("a", "1"), ("b", "2")]
    );
    // Not published when the client is back in time (5.0/MQTT-3.1.3-9).
    let c = b.connect_with(will5("d", 5, 100)).0;
    b.drop_conn(c);
    b.advance(3 * S);
    b.connect5("d", false, &[expiry(100)]);
    b.advance(100 * S);
    assert!(b.publishes(watcher).is_empty());
    // Published when the session ends first.
    let c = b.connect_with(will5("e", 50, 2)).0;
    b.drop_conn(c);
    b.advance(2 * S);
    assert_eq!(b.publishes(watcher).len(), 1);
    // DISCONNECT 0x04 publishes it (5.0/MQTT-3.1.2-8); 0x00 does not (5.0/MQTT-3.14.4-3).
    let c = b.connect_with(will5("f", 0, 0)).0;
    b.send(c, Disconnect::with_reason(ReasonCode::DISCONNECT_WITH_WILL));
    assert_eq!(b.publishes(watcher).len(), 1);
    let c = b.connect_with(will5("g", 0, 0)).0;
    b.send(c, Disconnect::with_reason(ReasonCode::SUCCESS));
    assert!(b.publishes(watcher).is_empty());
}

#[test]
fn server_disconnects_say_why() {
    let mut b = bench();
    // 5.0/MQTT-3.1.4-3: takeover, 0x8E.
    let (old, _) = b.connect5("t", true, &[]);
    b.connect5("t", true, &[]);
    assert_eq!(b.disconnected_with(old), ReasonCode::SESSION_TAKEN_OVER);
    // Keep alive, 0x8D.
    let mut c = connect5("k", true, &[]);
    c.keep_alive = 2;
    let (k, _) = b.connect_with(c);
    b.advance(3 * S);
    assert_eq!(b.disconnected_with(k), ReasonCode::KEEP_ALIVE_TIMEOUT);
    // Malformed (QoS 3), 0x81; a second CONNECT, 0x82.
    let (m, _) = b.connect5("m", true, &[]);
    b.send_raw(m, &[0x36, 6, 0, 1, b't', 0, 1, 0]);
    assert_eq!(b.disconnected_with(m), ReasonCode::MALFORMED_PACKET);
    let (p, _) = b.connect5("p", true, &[]);
    b.send(p, connect5("p", true, &[]));
    assert_eq!(b.disconnected_with(p), ReasonCode::PROTOCOL_ERROR);
    // A Subscription Identifier from a client, 0x82.
    let (s, _) = b.connect5("s", true, &[]);
    b.send(
        s,
        pub5(
            "t",
            QoS::AtMostOnce,
            0,
            &[Property::SubscriptionIdentifier(1)],
        ),
    );
    assert_eq!(b.disconnected_with(s), ReasonCode::PROTOCOL_ERROR);
    // Too large, 0x95.
    let mut small = Bench::new(Config {
        max_packet_size: 64,
        ..Config::default()
    });
    let (big, _) = small.connect5("big", true, &[]);
    small.send(big, Publish::new("t", QoS::AtMostOnce, vec![0u8; 100]));
    assert_eq!(small.disconnected_with(big), ReasonCode::PACKET_TOO_LARGE);
    // Shutdown, 0x8B to 5.0 clients; 3.1.1 clients are just closed.
    let (a, _) = b.connect5("a", true, &[]);
    let old = b.connect("old", true);
    b.broker.shutdown(b.now);
    b.pump();
    assert_eq!(b.disconnected_with(a), ReasonCode::SERVER_SHUTTING_DOWN);
    assert!(b.closed(old) && b.recv(old).is_empty());
}

#[test]
fn mixed_versions_exchange_messages() {
    let mut b = bench();
    let old = b.connect("old", true);
    b.subscribe(old, "mix/#", QoS::AtLeastOnce);
    let (new, _) = b.connect5("new", true, &[]);
    b.subscribe5(new, "mix/#", SubscribeOptions::qos(QoS::AtLeastOnce), &[]);
    let props = [
        Property::ContentType("text/plain".into()),
        Property::UserProperty("k".into(), "v".into()),
        Property::ResponseTopic("mix/reply".into()),
        Property::CorrelationData(Bytes::from_static(b"\x01\x02")),
    ];
    b.send(new, pub5("mix/a", QoS::AtLeastOnce, 1, &props));
    // The 3.1.1 subscriber gets it without properties (it could not be encoded otherwise).
    let got = b.publishes(old);
    assert_eq!(payloads(&got), ["m"]);
    let to_new: Vec<Packet> = b.recv(new);
    let forwarded = to_new.iter().find_map(|p| match p {
        Packet::Publish(p) => Some(p.properties.clone()),
        _ => None,
    });
    // 5.0/MQTT-3.3.2-15, -16, -17, -18, -20: unchanged and in order.
    assert_eq!(forwarded.unwrap().0, props);
    // The reverse: a 3.1.1 message reaches the 5.0 subscriber, with no properties.
    b.send(old, publish("mix/b", QoS::AtLeastOnce, 2, "plain"));
    let to_new: Vec<Publish> = b
        .recv(new)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(payloads(&to_new), ["plain"]);
    assert!(to_new[0].properties.is_empty());
}

#[test]
fn acknowledgement_reason_codes() {
    let mut b = bench();
    let (c, _) = b.connect5("c", true, &[]);
    // 0x10: no matching subscribers.
    b.send(c, pub5("nobody", QoS::AtLeastOnce, 1, &[]));
    assert!(
        matches!(b.recv_one(c), Packet::PubAck(a) if a.reason() == ReasonCode::NO_MATCHING_SUBSCRIBERS)
    );
    // 0x92: PUBREL for an identifier not held.
    b.send(c, mqttspec_codec::PubRel::new(9));
    assert!(
        matches!(b.recv_one(c), Packet::PubComp(a) if a.reason() == ReasonCode::PACKET_IDENTIFIER_NOT_FOUND)
    );
    // 0x99: a payload said to be UTF-8 that is not.
    let mut bad = pub5(
        "t",
        QoS::AtLeastOnce,
        2,
        &[Property::PayloadFormatIndicator(1)],
    );
    bad.payload = Bytes::from_static(b"\xff");
    b.send(c, bad);
    assert!(
        matches!(b.recv_one(c), Packet::PubAck(a) if a.reason() == ReasonCode::PAYLOAD_FORMAT_INVALID)
    );
    // 0x91: SUBSCRIBE with an identifier a QoS 2 PUBLISH still holds; 0x11 on UNSUBACK.
    b.send(c, pub5("t", QoS::ExactlyOnce, 5, &[]));
    b.recv(c);
    b.send(c, subscribe(5, &[("x", QoS::AtMostOnce)]));
    assert!(
        matches!(b.recv_one(c), Packet::SubAck(a) if a.return_codes == [ReasonCode::PACKET_IDENTIFIER_IN_USE])
    );
    b.send(
        c,
        mqttspec_codec::Unsubscribe {
            packet_id: 6,
            filters: vec!["never".into()],
            ..Default::default()
        },
    );
    assert!(
        matches!(b.recv_one(c), Packet::UnsubAck(a) if a.reason_codes == [ReasonCode::NO_SUBSCRIPTION_EXISTED])
    );
}

fn scram_bench() -> Bench {
    let line = hash_line("alice", b"pencil", b"0123456789abcdef", 16).unwrap();
    Bench::new(Config {
        users: Some(Users::parse(&line).unwrap()),
        ..Config::default()
    })
}

fn auth_packet(code: ReasonCode, data: Vec<u8>) -> Auth {
    Auth {
        reason_code: Some(code),
        properties: Some(Properties(vec![
            Property::AuthenticationMethod("SCRAM-SHA-256".into()),
            Property::AuthenticationData(data.into()),
        ])),
    }
}

fn auth_data(props: &Properties) -> Vec<u8> {
    match props.get(PropertyId::AuthenticationData) {
        Some(Property::AuthenticationData(d)) => d.to_vec(),
        other => panic!("no authentication data: {other:?}"),
    }
}

#[test]
fn scram_sha_256_connect_and_reauthentication() {
    let mut b = scram_bench();
    let mut client = ScramClient::new("alice", b"pencil", "nonce1");
    let c = b.open();
    b.send(
        c,
        connect5(
            "a",
            true,
            &[
                Property::AuthenticationMethod("SCRAM-SHA-256".into()),
                Property::AuthenticationData(client.first().into()),
            ],
        ),
    );
    // 5.0/MQTT-4.12.0-2: AUTH 0x18, with the method (5.0/MQTT-4.12.0-5).
    let Packet::Auth(challenge) = b.recv_one(c) else {
        panic!()
    };
    assert_eq!(challenge.reason(), ReasonCode::CONTINUE_AUTHENTICATION);
    let props = challenge.properties.unwrap();
    assert!(props.get(PropertyId::AuthenticationMethod).is_some());
    let last = client.last(&auth_data(&props)).unwrap();
    b.send(c, auth_packet(ReasonCode::CONTINUE_AUTHENTICATION, last));
    let Packet::ConnAck(ack) = b.recv_one(c) else {
        panic!()
    };
    assert_eq!(ack.code, ReasonCode::SUCCESS);
    assert!(client.verify(&auth_data(&ack.properties)));
    // Re-authentication: AUTH 0x19, 0x18, then AUTH 0x00.
    let mut again = ScramClient::new("alice", b"pencil", "nonce2");
    b.send(c, auth_packet(ReasonCode::RE_AUTHENTICATE, again.first()));
    let Packet::Auth(challenge) = b.recv_one(c) else {
        panic!()
    };
    let last = again
        .last(&auth_data(&challenge.properties.unwrap()))
        .unwrap();
    b.send(c, auth_packet(ReasonCode::CONTINUE_AUTHENTICATION, last));
    let Packet::Auth(done) = b.recv_one(c) else {
        panic!()
    };
    assert_eq!(done.reason(), ReasonCode::SUCCESS);
    // A failed re-authentication: DISCONNECT 0x87 (5.0/MQTT-4.12.1-2).
    let mut wrong = ScramClient::new("alice", b"pen", "nonce3");
    b.send(c, auth_packet(ReasonCode::RE_AUTHENTICATE, wrong.first()));
    let Packet::Auth(challenge) = b.recv_one(c) else {
        panic!()
    };
    let last = wrong
        .last(&auth_data(&challenge.properties.unwrap()))
        .unwrap();
    b.send(c, auth_packet(ReasonCode::CONTINUE_AUTHENTICATION, last));
    assert_eq!(b.disconnected_with(c), ReasonCode::NOT_AUTHORIZED);
}

#[test]
fn scram_failures_and_unknown_methods() {
    let mut b = scram_bench();
    // A wrong password: CONNACK 0x86 and close.
    let mut client = ScramClient::new("alice", b"wrong", "n");
    let c = b.open();
    b.send(
        c,
        connect5(
            "a",
            true,
            &[
                Property::AuthenticationMethod("SCRAM-SHA-256".into()),
                Property::AuthenticationData(client.first().into()),
            ],
        ),
    );
    let Packet::Auth(challenge) = b.recv_one(c) else {
        panic!()
    };
    let last = client
        .last(&auth_data(&challenge.properties.unwrap()))
        .unwrap();
    b.send(c, auth_packet(ReasonCode::CONTINUE_AUTHENTICATION, last));
    assert!(
        matches!(b.recv_one(c), Packet::ConnAck(a) if a.code == ReasonCode::BAD_USER_NAME_OR_PASSWORD)
    );
    assert!(b.closed(c));
    // 5.0/MQTT-4.12.0-1: an unknown method, 0x8C.
    let (c, ack) = b.connect_with(connect5(
        "u",
        true,
        &[Property::AuthenticationMethod("KERBEROS".into())],
    ));
    assert_eq!(ack.code, ReasonCode::BAD_AUTHENTICATION_METHOD);
    assert!(b.closed(c));
    // AUTH on a connection that did not use enhanced authentication: protocol error.
    let (c, ack) = b.connect_with(Connect {
        username: Some("alice".into()),
        password: Some(Bytes::from_static(b"pencil")),
        ..connect5("p", true, &[])
    });
    assert_eq!(ack.code, ReasonCode::SUCCESS);
    b.send(c, auth_packet(ReasonCode::RE_AUTHENTICATE, vec![]));
    assert_eq!(b.disconnected_with(c), ReasonCode::PROTOCOL_ERROR);
}
