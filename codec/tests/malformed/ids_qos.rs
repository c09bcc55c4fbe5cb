//! Packet identifiers, QoS values and DUP.

use crate::common::malformed::*;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::{DecodeErrorKind as K, PacketType as T, QosContext};

#[test]
fn packet_identifier_zero() {
    // (version, packet, fixture, offset of the identifier's low byte)
    let cases: &[(_, T, &[u8], usize)] = &[
        // PUBLISH QoS 1, remaining 5, topic "a", packet identifier 0
        (
            V311,
            T::Publish,
            &[0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
            6,
        ),
        // PUBLISH QoS 2, remaining 6, topic "a", packet identifier 0, property length 0
        (
            V5,
            T::Publish,
            &[0x34, 0x06, 0x00, 0x01, b'a', 0x00, 0x00, 0x00],
            6,
        ),
        // SUBSCRIBE, remaining 6, packet identifier 0, filter "a", QoS 0
        (
            V311,
            T::Subscribe,
            &[0x82, 0x06, 0x00, 0x00, 0x00, 0x01, b'a', 0x00],
            3,
        ),
        // UNSUBSCRIBE, remaining 6, packet identifier 0, property length 0, filter "a"
        (
            V5,
            T::Unsubscribe,
            &[0xA2, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, b'a'],
            3,
        ),
        // PUBACK / PUBREC / PUBREL / PUBCOMP, remaining 2, packet identifier 0
        (V311, T::PubAck, &[0x40, 0x02, 0x00, 0x00], 3),
        (V5, T::PubRec, &[0x50, 0x02, 0x00, 0x00], 3),
        (V311, T::PubRel, &[0x62, 0x02, 0x00, 0x00], 3),
        (V5, T::PubComp, &[0x70, 0x02, 0x00, 0x00], 3),
        // SUBACK, remaining 3, packet identifier 0, granted QoS 0
        (V311, T::SubAck, &[0x90, 0x03, 0x00, 0x00, 0x00], 3),
        // UNSUBACK, remaining 2, packet identifier 0
        (V311, T::UnsubAck, &[0xB0, 0x02, 0x00, 0x00], 3),
    ];
    for (v, packet, bad, at) in cases {
        let statement = match v {
            V311 => "3.1.1/MQTT-2.3.1-1",
            V5 => "5.0/MQTT-2.2.1-3",
        };
        refused(*v, bad, K::ZeroPacketId(*packet), statement);
        let good = accepted(*v, &with_byte(bad, *at, 0x01));
        assert_eq!(good.packet_type(), *packet);
    }
}

#[test]
fn publish_qos_3() {
    let bad: &[u8] = &[
        0x36, // PUBLISH, flags 0110: QoS 3
        0x05, // remaining length 5
        0x00, 0x01, b'a', // topic "a"
        0x00, 0x01, // packet identifier 1
    ];
    let kind = K::InvalidQos(QosContext::Publish);
    refused(V311, bad, kind.clone(), "3.1.1/MQTT-3.3.1-4");
    // 5.0: remaining length 6, the same fields and a property length 0.
    let bad5: &[u8] = &[0x36, 0x06, 0x00, 0x01, b'a', 0x00, 0x01, 0x00];
    refused(V5, bad5, kind, "5.0/MQTT-3.3.1-4");
    accepted(V311, &with_byte(bad, 0, 0x34));
}

#[test]
fn will_qos_3() {
    let bad: &[u8] = &[
        0x10, 0x13, // CONNECT, remaining length 19
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, // "MQTT" level 4
        0x1E, // flags: Will QoS 3 (bits 4-3), will, clean session
        0x00, 0x3C, // keep alive 60
        0x00, 0x01, b'c', // client id "c"
        0x00, 0x01, b't', // will topic "t"
        0x00, 0x01, b'p', // will message "p"
    ];
    refused(
        V311,
        bad,
        K::InvalidQos(QosContext::Will),
        "3.1.1/MQTT-3.1.2-14",
    );
    accepted(V311, &with_byte(bad, 9, 0x16));
    let bad5: &[u8] = &[
        0x10, 0x15, // CONNECT, remaining length 21
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, // "MQTT" level 5
        0x1E, // flags: Will QoS 3, will, clean start
        0x00, 0x3C, // keep alive 60
        0x00, // property length 0
        0x00, 0x01, b'c', // client id "c"
        0x00, // will property length 0
        0x00, 0x01, b't', // will topic "t"
        0x00, 0x01, b'p', // will payload "p"
    ];
    refused(
        V5,
        bad5,
        K::InvalidQos(QosContext::Will),
        "5.0/MQTT-3.1.2-12",
    );
    accepted(V5, &with_byte(bad5, 9, 0x16));
}

#[test]
fn subscription_qos_3() {
    let bad = subscribe_v311(b"a");
    let bad = with_byte(&bad, 7, 0x03); // options: QoS 3
    let kind = K::InvalidQos(QosContext::Subscription);
    refused(V311, &bad, kind.clone(), "3.1.1/MQTT-3.8.3-4");
    refused(V5, &subscribe_v5(b"a", 0x03), kind, "5.0/MQTT-4.13.1-1");
    accepted(V311, &with_byte(&bad, 7, 0x02));
}

#[test]
fn dup_with_qos_0() {
    let bad: &[u8] = &[
        0x38, // PUBLISH, flags 1000: DUP, QoS 0
        0x03, // remaining length 3
        0x00, 0x01, b'a', // topic "a"
    ];
    refused(V311, bad, K::DupWithQos0, "3.1.1/MQTT-3.3.1-2");
    // 5.0: remaining length 4, the same topic and a property length 0.
    let bad5: &[u8] = &[0x38, 0x04, 0x00, 0x01, b'a', 0x00];
    refused(V5, bad5, K::DupWithQos0, "5.0/MQTT-3.3.1-2");
    accepted(V311, &with_byte(bad, 0, 0x30));
}
