//! The faults of the 5.0 suite's part B (acknowledgements, topic aliases, QoS flows,
//! shared subscriptions), each with a script whose course it changes (see `faults.rs`).

use super::faults::check;
use super::*;
use mqttspec_codec::{PubAck, SubscribeOptions, Unsubscribe};

macro_rules! scripts {
    (by hand: [$($extra:ident),*]; $($name:ident => |$b:ident| $body:block)*) => {
        $(#[test] fn $name() { check(stringify!($name), &|$b: &mut Bench| $body); })*
        pub(super) const COVERED: &[&str] = &[$(stringify!($name),)* $(stringify!($extra)),*];
    };
}

fn pub5(topic: &str, qos: QoS, id: u16, props: &[Property]) -> Publish {
    Publish {
        properties: Properties(props.to_vec()),
        ..publish(topic, qos, id, "m")
    }
}

fn qos(q: QoS) -> SubscribeOptions {
    SubscribeOptions::qos(q)
}

scripts! {
    by hand: [non_minimal_remaining_length, property_length_omitted];
    ack_reason_code_not_in_table => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        b.send(c, pub5("t", QoS::AtLeastOnce, 1, &[]));
        b.send(c, pub5("t", QoS::ExactlyOnce, 2, &[]));
        b.send(c, Packet::PubRel(mqttspec_codec::PubRel::new(2)));
    }
    oversize_ack_diagnostics => |b| {
        let (c, _) = b.connect5("c", true, &[Property::MaximumPacketSize(64)]);
        b.send(c, subscribe(1, &[("x", QoS::AtMostOnce)]));
        b.send(c, pub5("t", QoS::AtLeastOnce, 1, &[]));
    }
    topic_alias_kept_across_connections => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        b.send(c, pub5("t", QoS::AtMostOnce, 0, &[Property::TopicAlias(1)]));
        b.drop_conn(c);
        let (c, _) = b.connect5("c", true, &[]);
        b.send(c, pub5("", QoS::AtMostOnce, 0, &[Property::TopicAlias(1)]));
    }
    qos2_id_kept_after_pubcomp => |b| {
        let (s, _) = b.connect5("s", true, &[]);
        b.subscribe5(s, "t", qos(QoS::AtMostOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        for _ in 0..2 {
            b.send(p, pub5("t", QoS::ExactlyOnce, 7, &[]));
            b.send(p, Packet::PubRel(mqttspec_codec::PubRel::new(7)));
        }
    }
    error_puback_ignored => |b| {
        let (s, _) = b.connect5("s", false, &[Property::SessionExpiryInterval(100)]);
        b.subscribe5(s, "t", qos(QoS::AtLeastOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, pub5("t", QoS::AtLeastOnce, 1, &[]));
        let id = b.publishes(s).first().map_or(1, |m| m.packet_id);
        b.send(s, PubAck::with_reason(id, ReasonCode(0x80)));
        b.drop_conn(s);
        b.connect5("s", false, &[Property::SessionExpiryInterval(100)]);
    }
    subscription_identifier_from_client_accepted => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        b.send(c, pub5("t", QoS::AtMostOnce, 0, &[Property::SubscriptionIdentifier(3)]));
    }
    wildcard_response_topic_accepted => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        b.send(c, pub5("t", QoS::AtMostOnce, 0, &[Property::ResponseTopic("r/+".into())]));
    }
    no_local_on_shared_accepted => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        b.send(c, Subscribe {
            packet_id: 1,
            properties: Properties::default(),
            subscriptions: vec![Subscription {
                filter: "$share/g/t".into(),
                options: SubscribeOptions { no_local: true, ..qos(QoS::AtMostOnce) },
            }],
        });
    }
    shared_error_ack_redistributed => |b| {
        let (m1, _) = b.connect5("m1", true, &[]);
        b.subscribe5(m1, "$share/g/t", qos(QoS::AtLeastOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, pub5("t", QoS::AtLeastOnce, 1, &[]));
        let (m2, _) = b.connect5("m2", true, &[]);
        b.subscribe5(m2, "$share/g/t", qos(QoS::AtLeastOnce), &[]);
        let id = b.publishes(m1).first().map_or(1, |m| m.packet_id);
        b.send(m1, PubAck::with_reason(id, ReasonCode(0x80)));
    }
    shared_qos2_handed_to_other_member => |b| {
        let (m1, _) = b.connect5("m1", false, &[Property::SessionExpiryInterval(100)]);
        b.subscribe5(m1, "$share/g/t", qos(QoS::ExactlyOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, pub5("t", QoS::ExactlyOnce, 1, &[]));
        let (m2, _) = b.connect5("m2", true, &[]);
        b.subscribe5(m2, "$share/g/t", qos(QoS::ExactlyOnce), &[]);
        b.drop_conn(m1);
    }
    refused_qos2_id_remembered => |b| {
        let (s, _) = b.connect5("s", true, &[]);
        b.subscribe5(s, "t", qos(QoS::AtMostOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, Publish {
            payload: Bytes::from_static(&[0xFF]),
            ..pub5("t", QoS::ExactlyOnce, 4, &[Property::PayloadFormatIndicator(1)])
        });
        b.send(p, pub5("t", QoS::ExactlyOnce, 4, &[]));
    }
    inflight_message_expires => |b| {
        let (s, _) = b.connect5("s", false, &[Property::SessionExpiryInterval(100)]);
        b.subscribe5(s, "t", qos(QoS::ExactlyOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, pub5("t", QoS::ExactlyOnce, 1, &[Property::MessageExpiryInterval(1)]));
        b.drop_conn(s);
        b.advance(Duration::from_secs(3));
        b.connect5("s", false, &[Property::SessionExpiryInterval(100)]);
    }
    accept_invalid_utf8_in_properties => |b| {
        let (s, _) = b.connect5("s", true, &[]);
        b.subscribe5(s, "t", qos(QoS::AtMostOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        // PUBLISH QoS 0, topic "t", Content Type of one byte FF, payload "x".
        b.send_raw(p, &[0x30, 0x09, 0x00, 0x01, b't', 0x04, 0x03, 0x00, 0x01, 0xFF, b'x']);
    }
    unsuback_codes_reversed => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        b.subscribe5(c, "a", qos(QoS::AtMostOnce), &[]);
        b.send(c, Unsubscribe {
            packet_id: 2,
            filters: vec!["a".into(), "b".into()],
            ..Unsubscribe::default()
        });
    }
}

/// The bytes the broker writes in answer to `packet`, sent on a fresh 5.0 connection after
/// its CONNECT (the bench's decoder cannot read what these faults write: the bytes are
/// looked at instead).
fn answer_bytes(faults: crate::core::faults::Faults, packet: Packet) -> Vec<u8> {
    let mut broker = Broker::new(Config {
        faults,
        ..Config::default()
    });
    let conn = ConnId(1);
    let now = Duration::from_secs(1);
    broker.handle(
        now,
        Event::Opened {
            conn,
            peer: loopback(),
        },
    );
    let connect = Packet::Connect(connect5("c", true, &[]))
        .to_bytes(ProtocolVersion::V5)
        .unwrap();
    broker.handle(
        now,
        Event::Received {
            conn,
            bytes: connect,
        },
    );
    while broker.poll_action().is_some() {}
    let bytes = packet.to_bytes(ProtocolVersion::V5).unwrap();
    broker.handle(now, Event::Received { conn, bytes });
    match broker.poll_action() {
        Some(Action::Send { bytes, .. }) => bytes.to_vec(),
        other => panic!("expected an answer, got {other:?}"),
    }
}

#[test]
fn non_minimal_remaining_length() {
    let fault = crate::core::faults::Faults::only("non_minimal_remaining_length").unwrap();
    assert_eq!(
        answer_bytes(Default::default(), Packet::PingReq),
        [0xD0, 0x00]
    );
    assert_eq!(answer_bytes(fault, Packet::PingReq), [0xD0, 0x80, 0x00]);
}

#[test]
fn property_length_omitted() {
    let fault = crate::core::faults::Faults::only("property_length_omitted").unwrap();
    let sub = || Packet::Subscribe(subscribe(1, &[("x", QoS::AtLeastOnce)]));
    // SUBACK: identifier 1, property length 0, granted QoS 1; without the property length.
    assert_eq!(
        answer_bytes(Default::default(), sub()),
        [0x90, 0x04, 0x00, 0x01, 0x00, 0x01]
    );
    assert_eq!(answer_bytes(fault, sub()), [0x90, 0x03, 0x00, 0x01, 0x01]);
}
