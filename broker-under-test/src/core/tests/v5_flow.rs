//! MQTT 5.0 message flow on the virtual clock: message expiry, topic aliases in both
//! directions, Receive Maximum in both directions, Maximum Packet Size, subscription options
//! and identifiers, shared subscriptions.

use super::*;
use mqttspec_codec::{PropertyId, PubAck, SubscribeOptions};

const S: Duration = Duration::from_secs(1);

fn pub5(topic: &str, qos: QoS, id: u16, props: &[Property]) -> Publish {
    Publish {
        properties: Properties(props.to_vec()),
        ..publish(topic, qos, id, "m")
    }
}

fn opts(qos: QoS) -> SubscribeOptions {
    SubscribeOptions::qos(qos)
}

fn publishes(b: &mut Bench, conn: ConnId) -> Vec<Publish> {
    b.recv(conn)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn message_expiry_in_the_queue() {
    let mut b = bench();
    let (s, _) = b.connect5("s", false, &[Property::SessionExpiryInterval(1000)]);
    b.subscribe5(s, "t", opts(QoS::AtLeastOnce), &[]);
    b.drop_conn(s);
    let (p, _) = b.connect5("p", true, &[]);
    b.send(
        p,
        pub5(
            "t",
            QoS::AtLeastOnce,
            1,
            &[Property::MessageExpiryInterval(5)],
        ),
    );
    b.send(
        p,
        pub5(
            "t",
            QoS::AtLeastOnce,
            2,
            &[Property::MessageExpiryInterval(30)],
        ),
    );
    b.advance(10 * S);
    let (s, _) = b.connect5("s", false, &[Property::SessionExpiryInterval(1000)]);
    // 5.0/MQTT-3.3.2-5: the first expired while queued; 5.0/MQTT-3.3.2-6: the second's
    // interval is reduced by the 10 s it waited.
    let got = publishes(&mut b, s);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].properties.int(PropertyId::MessageExpiryInterval),
        Some(20)
    );
}

#[test]
fn retained_messages_expire_too() {
    let mut b = bench();
    let (p, _) = b.connect5("p", true, &[]);
    let mut r = pub5(
        "r",
        QoS::AtMostOnce,
        0,
        &[Property::MessageExpiryInterval(3)],
    );
    r.retain = true;
    b.send(p, r);
    let (s, _) = b.connect5("s", true, &[]);
    b.advance(2 * S);
    b.subscribe5(s, "r", opts(QoS::AtMostOnce), &[]);
    assert_eq!(
        publishes(&mut b, s)[0]
            .properties
            .int(PropertyId::MessageExpiryInterval),
        Some(1)
    );
    b.advance(2 * S);
    b.subscribe5(s, "r", opts(QoS::AtMostOnce), &[]);
    assert!(publishes(&mut b, s).is_empty());
}

#[test]
fn inbound_topic_aliases() {
    let mut b = bench();
    let (s, _) = b.connect5("s", true, &[]);
    b.subscribe5(s, "alias/#", opts(QoS::AtMostOnce), &[]);
    let (p, _) = b.connect5("p", true, &[]);
    b.send(
        p,
        pub5("alias/one", QoS::AtMostOnce, 0, &[Property::TopicAlias(3)]),
    );
    b.send(p, pub5("", QoS::AtMostOnce, 0, &[Property::TopicAlias(3)]));
    let got = publishes(&mut b, s);
    assert_eq!(
        got.iter().map(|p| &*p.topic).collect::<Vec<_>>(),
        ["alias/one", "alias/one"]
    );
    // 0 or above the maximum: 0x94; an alias never set: protocol error.
    for (alias, topic, code) in [
        (0, "x", ReasonCode::TOPIC_ALIAS_INVALID),
        (65, "x", ReasonCode::TOPIC_ALIAS_INVALID),
        (4, "", ReasonCode::PROTOCOL_ERROR),
    ] {
        let (c, _) = b.connect5("c", true, &[]);
        let mut bad = pub5(topic, QoS::AtMostOnce, 0, &[]);
        bad.properties.push(Property::TopicAlias(alias));
        b.send_raw(c, &Packet::from(bad).to_bytes(ProtocolVersion::V5).unwrap());
        assert_eq!(b.disconnected_with(c), code, "alias {alias}");
    }
}

#[test]
fn outbound_topic_aliases_within_the_clients_maximum() {
    let mut b = bench();
    let (s, _) = b.connect5("s", true, &[Property::TopicAliasMaximum(2)]);
    b.subscribe5(s, "#", opts(QoS::AtMostOnce), &[]);
    let (p, _) = b.connect5("p", true, &[]);
    for t in ["a", "a", "b", "c", "b"] {
        b.send(p, pub5(t, QoS::AtMostOnce, 0, &[]));
    }
    let got: Vec<(String, Option<u32>)> = publishes(&mut b, s)
        .iter()
        .map(|p| {
            (
                p.topic.to_string(),
                p.properties.int(PropertyId::TopicAlias),
            )
        })
        .collect();
    // 5.0/MQTT-3.1.2-26, 5.0/MQTT-3.3.2-11: never above 2.
    assert_eq!(
        got,
        [
            ("a".into(), Some(1)),
            ("".into(), Some(1)),
            ("b".into(), Some(2)),
            ("c".into(), None),
            ("".into(), Some(2)),
        ]
    );
    // 5.0/MQTT-3.1.2-27: none for a client that allowed none; 5.0/MQTT-3.3.2-7: aliases
    // start afresh on a new connection.
    let (n, _) = b.connect5("n", true, &[]);
    b.subscribe5(n, "#", opts(QoS::AtMostOnce), &[]);
    b.send(p, pub5("a", QoS::AtMostOnce, 0, &[]));
    assert!(publishes(&mut b, n)[0].properties.is_empty());
}

#[test]
fn receive_maximum_both_ways() {
    let mut b = bench();
    // The client's: at most 2 unacknowledged (5.0/MQTT-3.3.4-9).
    let (s, _) = b.connect5("s", true, &[Property::ReceiveMaximum(2)]);
    b.subscribe5(s, "t", opts(QoS::AtLeastOnce), &[]);
    let (p, _) = b.connect5("p", true, &[]);
    for i in 1..=3 {
        b.send(p, pub5("t", QoS::AtLeastOnce, i, &[]));
    }
    let got = publishes(&mut b, s);
    assert_eq!(got.len(), 2);
    b.send(s, PubAck::new(got[0].packet_id));
    assert_eq!(publishes(&mut b, s).len(), 1);
    // The broker's: one QoS 2 PUBLISH more than it allows is 0x93.
    let mut b = Bench::new(Config {
        receive_maximum: 2,
        ..Config::default()
    });
    let (c, ack) = b.connect5("c", true, &[]);
    assert_eq!(ack.properties.int(PropertyId::ReceiveMaximum), Some(2));
    b.send(c, pub5("t", QoS::ExactlyOnce, 1, &[]));
    b.send(c, pub5("t", QoS::ExactlyOnce, 2, &[]));
    // A resend of one awaiting PUBREL is not a new one.
    b.send(
        c,
        Publish {
            dup: true,
            ..pub5("t", QoS::ExactlyOnce, 2, &[])
        },
    );
    assert!(!b.closed(c));
    b.send(c, pub5("t", QoS::ExactlyOnce, 3, &[]));
    assert_eq!(b.disconnected_with(c), ReasonCode::RECEIVE_MAXIMUM_EXCEEDED);
}

#[test]
fn maximum_packet_size_drops_what_does_not_fit() {
    let mut b = bench();
    let (s, _) = b.connect5("s", true, &[Property::MaximumPacketSize(40)]);
    b.subscribe5(s, "t", opts(QoS::AtLeastOnce), &[]);
    let (p, _) = b.connect5("p", true, &[]);
    b.send(
        p,
        Publish::new("t", QoS::AtLeastOnce, vec![b'x'; 60]).with_id(1),
    );
    b.send(p, Publish::new("t", QoS::AtLeastOnce, "small").with_id(2));
    // 5.0/MQTT-3.1.2-24, -25: the large one is dropped as if delivered; no flow is left.
    let got = publishes(&mut b, s);
    assert_eq!(payloads(&got), ["small"]);
    assert_eq!(
        got[0].packet_id, 2,
        "the dropped message took an identifier only"
    );
}

trait WithId {
    fn with_id(self, id: u16) -> Self;
}

impl WithId for Publish {
    fn with_id(mut self, id: u16) -> Self {
        self.packet_id = id;
        self
    }
}

#[test]
fn no_local_retain_as_published_and_identifiers() {
    let mut b = bench();
    let (c, _) = b.connect5("c", true, &[]);
    let nl = SubscribeOptions {
        no_local: true,
        ..opts(QoS::AtMostOnce)
    };
    b.subscribe5(c, "nl/#", nl, &[Property::SubscriptionIdentifier(1)]);
    let rap = SubscribeOptions {
        retain_as_published: true,
        ..opts(QoS::AtMostOnce)
    };
    b.subscribe5(c, "nl/x", rap, &[Property::SubscriptionIdentifier(2)]);
    let (o, _) = b.connect5("o", true, &[]);
    let mut r = pub5("nl/x", QoS::AtMostOnce, 0, &[]);
    r.retain = true;
    b.send(o, r.clone());
    // From another client: one copy, both identifiers (5.0/MQTT-3.3.4-4), RETAIN as
    // published because one subscription asked (5.0/MQTT-3.3.1-13).
    let got = publishes(&mut b, c);
    assert_eq!(got.len(), 1);
    assert!(got[0].retain);
    let ids: Vec<_> = got[0]
        .properties
        .iter()
        .filter(|p| matches!(p, Property::SubscriptionIdentifier(_)))
        .cloned()
        .collect();
    assert_eq!(
        ids,
        [
            Property::SubscriptionIdentifier(1),
            Property::SubscriptionIdentifier(2)
        ]
    );
    // From itself: only the subscription without No Local matches (5.0/MQTT-3.8.3-3).
    b.send(c, pub5("nl/y", QoS::AtMostOnce, 0, &[]));
    assert!(publishes(&mut b, c).is_empty());
    b.send(c, r);
    let got = publishes(&mut b, c);
    assert_eq!(
        got[0].properties.int(PropertyId::SubscriptionIdentifier),
        Some(2)
    );
}

#[test]
fn retain_handling_0_1_2() {
    let mut b = bench();
    let (p, _) = b.connect5("p", true, &[]);
    b.send(p, retained("rh", QoS::AtMostOnce, 0, "kept"));
    let (c, _) = b.connect5("c", true, &[]);
    let rh = |n| SubscribeOptions {
        retain_handling: n,
        ..opts(QoS::AtMostOnce)
    };
    // 2: never (5.0/MQTT-3.3.1-11).
    b.subscribe5(c, "rh", rh(2), &[]);
    assert!(publishes(&mut b, c).is_empty());
    // 1: only when new (5.0/MQTT-3.3.1-10); it exists now.
    b.subscribe5(c, "rh", rh(1), &[]);
    assert!(publishes(&mut b, c).is_empty());
    let (d, _) = b.connect5("d", true, &[]);
    b.subscribe5(d, "rh", rh(1), &[]);
    assert_eq!(publishes(&mut b, d).len(), 1);
    // 0: always, also on a repeat (5.0/MQTT-3.3.1-9, 5.0/MQTT-3.8.4-4).
    for _ in 0..2 {
        b.subscribe5(c, "rh", rh(0), &[]);
        assert_eq!(publishes(&mut b, c).len(), 1);
    }
}

#[test]
fn shared_subscriptions_share_and_redistribute() {
    let mut b = bench();
    let expiry = [Property::SessionExpiryInterval(100)];
    let (m1, _) = b.connect5("m1", true, &expiry);
    let (m2, _) = b.connect5("m2", true, &expiry);
    for m in [m1, m2] {
        assert_eq!(
            b.subscribe5(m, "$share/g/job/+", opts(QoS::AtLeastOnce), &[]),
            [ReasonCode::GRANTED_QOS_1]
        );
    }
    let (p, _) = b.connect5("p", true, &[]);
    for i in 1..=4 {
        b.send(p, pub5("job/x", QoS::AtLeastOnce, i, &[]));
    }
    // Each message to one member, in turns.
    assert_eq!(publishes(&mut b, m1).len(), 2);
    assert_eq!(publishes(&mut b, m2).len(), 2);
    // With m2 offline, everything goes to m1.
    b.drop_conn(m2);
    b.send(p, pub5("job/x", QoS::AtLeastOnce, 5, &[]));
    b.send(p, pub5("job/x", QoS::AtLeastOnce, 6, &[]));
    assert_eq!(publishes(&mut b, m1).len(), 2);
    // m1 goes offline holding unacknowledged QoS 1 messages; when its session ends they are
    // offered to m2, back in the meantime.
    b.drop_conn(m1);
    let (m2, _) = b.connect5("m2", false, &expiry);
    let resent = publishes(&mut b, m2);
    assert_eq!(resent.len(), 2, "m2's own unacknowledged messages");
    b.advance(100 * S);
    assert_eq!(publishes(&mut b, m2).len(), 4, "m1's four, redistributed");
    // No retained messages for a shared subscription.
    b.send(p, retained("job/r", QoS::AtMostOnce, 0, "r"));
    publishes(&mut b, m2);
    let (m3, _) = b.connect5("m3", true, &[]);
    b.subscribe5(m3, "$share/h/job/#", opts(QoS::AtMostOnce), &[]);
    assert!(publishes(&mut b, m3).is_empty());
}
