//! Reason and return codes, CONNACK flags, truncated fields, trailing bytes, and what a
//! lenient decoder lets through.

use crate::common::malformed::*;
use bytes::BytesMut;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::{
    DecodeErrorKind as K, DecodeOptions, Decoder, Packet, PacketType as T, ProtocolVersion,
};

#[test]
fn reason_code_not_defined_for_the_packet() {
    // (packet, fixture, offset of the code, a code the packet does define)
    let cases: &[(T, &[u8], usize, u8)] = &[
        // PUBACK / PUBREC 1 with 0x92, which only PUBREL and PUBCOMP define
        (T::PubAck, &[0x40, 0x03, 0x00, 0x01, 0x92], 4, 0x10),
        (T::PubRec, &[0x50, 0x03, 0x00, 0x01, 0x92], 4, 0x10),
        // PUBREL / PUBCOMP 1 with 0x10, which only PUBACK and PUBREC define
        (T::PubRel, &[0x62, 0x03, 0x00, 0x01, 0x10], 4, 0x92),
        (T::PubComp, &[0x70, 0x03, 0x00, 0x01, 0x10], 4, 0x92),
        // SUBACK 1, property length 0, code 0x03 (no QoS 3)
        (T::SubAck, &[0x90, 0x04, 0x00, 0x01, 0x00, 0x03], 5, 0x02),
        // UNSUBACK 1, property length 0, code 0x10
        (T::UnsubAck, &[0xB0, 0x04, 0x00, 0x01, 0x00, 0x10], 5, 0x11),
        // DISCONNECT with code 0x05
        (T::Disconnect, &[0xE0, 0x01, 0x05], 2, 0x04),
        // AUTH with code 0x01
        (T::Auth, &[0xF0, 0x01, 0x01], 2, 0x18),
        // CONNACK: flags 0, code 0x01 (a 3.1.1 return code), property length 0
        (T::ConnAck, &[0x20, 0x03, 0x00, 0x01, 0x00], 3, 0x80),
    ];
    for (packet, bad, at, good) in cases {
        let code = bad[*at];
        let kind = K::InvalidReasonCode {
            packet: *packet,
            code,
        };
        refused(V5, bad, kind.clone(), "5.0/MQTT-4.13.1-1");
        // CONNACK, DISCONNECT and AUTH name the statement of their own table too.
        let own = match packet {
            T::ConnAck => Some("5.0/MQTT-3.2.2-8"),
            T::Disconnect => Some("5.0/MQTT-3.14.2-1"),
            T::Auth => Some("5.0/MQTT-3.15.2-1"),
            _ => None,
        };
        if let Some(id) = own {
            refused(V5, bad, kind, id);
        }
        assert_eq!(
            accepted(V5, &with_byte(bad, *at, *good)).packet_type(),
            *packet
        );
    }
}

#[test]
fn suback_return_code_3_1_1() {
    let bad: &[u8] = &[
        0x90, 0x03, // SUBACK, remaining length 3
        0x00, 0x01, // packet identifier 1
        0x03, // return code 3: not defined
    ];
    let kind = K::InvalidReasonCode {
        packet: T::SubAck,
        code: 3,
    };
    refused(V311, bad, kind, "3.1.1/MQTT-4.8.0-1");
    accepted(V311, &with_byte(bad, 4, 0x80));
}

#[test]
fn connack_return_code_over_5_in_3_1_1() {
    let bad: &[u8] = &[
        0x20, 0x02, // CONNACK, remaining length 2
        0x00, // acknowledge flags
        0x06, // return code 6: 3.1.1 defines 0 to 5
    ];
    for code in [0x06, 0x80] {
        let kind = K::InvalidReasonCode {
            packet: T::ConnAck,
            code,
        };
        refused(V311, &with_byte(bad, 3, code), kind, "3.1.1/MQTT-4.8.0-1");
    }
    accepted(V311, &with_byte(bad, 3, 0x05));
}

#[test]
fn connack_reserved_flags() {
    let bad: &[u8] = &[
        0x20, 0x02, // CONNACK, remaining length 2
        0x02, // acknowledge flags: reserved bit 1
        0x00, // return code 0
    ];
    let kind = K::ConnAckReservedFlags(0x02);
    refused(V311, bad, kind, "3.1.1/MQTT-4.8.0-1");
    accepted(V311, &with_byte(bad, 2, 0x01));
    let bad: &[u8] = &[
        0x20, 0x03, // CONNACK, remaining length 3
        0x80, // acknowledge flags: reserved bit 7
        0x00, // reason: Success
        0x00, // property length 0
    ];
    refused(V5, bad, K::ConnAckReservedFlags(0x80), "5.0/MQTT-3.2.2-1");
    accepted(V5, &with_byte(bad, 2, 0x01));
}

/// 3.1.1 MQTT-3.2.2-4 and 5.0 MQTT-3.2.2-6 require Session Present 0 in a
/// CONNACK that refuses the connection.
#[test]
fn session_present_with_a_refusal() {
    let bad: &[u8] = &[
        0x20, 0x02, // CONNACK, remaining length 2
        0x01, // acknowledge flags: Session Present
        0x05, // return code 5: not authorized
    ];
    let err = crate::common::decode_exact(V311, bad).expect_err("must be refused");
    assert!(err.statements().contains(&"3.1.1/MQTT-3.2.2-4".to_owned()));
    accepted(V311, &with_byte(bad, 2, 0x00));
}

fn truncated(packet: T, field: &'static str) -> K {
    K::Truncated { packet, field }
}

#[test]
fn string_length_past_the_end() {
    let bad: &[u8] = &[
        0x30, 0x03, // PUBLISH QoS 0, remaining length 3
        0x00, 0x05, b'a', // topic: length 5, one byte present
    ];
    let kind = truncated(T::Publish, "topic name");
    refused(V311, bad, kind, "3.1.1/MQTT-4.8.0-1");
    accepted(V311, &with_byte(bad, 3, 0x01));
}

#[test]
fn missing_packet_identifier() {
    let bad: &[u8] = &[
        0x40, 0x00, // PUBACK, remaining length 0: no packet identifier
    ];
    let kind = truncated(T::PubAck, "packet identifier");
    refused(V5, bad, kind, "5.0/MQTT-4.13.1-1");
    accepted(V5, &[0x40, 0x02, 0x00, 0x01]);
    let bad: &[u8] = &[
        0x32, 0x03, // PUBLISH QoS 1, remaining length 3
        0x00, 0x01, b'a', // topic "a"; no packet identifier
    ];
    let kind = truncated(T::Publish, "packet identifier");
    refused(V311, bad, kind, "3.1.1/MQTT-4.8.0-1");
    accepted(V311, &[0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x01]);
}

#[test]
fn other_truncated_fields() {
    // SUBSCRIBE 1 with filter "a" and no options byte.
    let bad: &[u8] = &[0x82, 0x05, 0x00, 0x01, 0x00, 0x01, b'a'];
    let kind = truncated(T::Subscribe, "subscription options");
    refused(V311, bad, kind, "3.1.1/MQTT-4.8.0-1");
    // PUBACK 1, Success, property length 5 with nothing after it.
    let bad: &[u8] = &[0x40, 0x04, 0x00, 0x01, 0x00, 0x05];
    refused(
        V5,
        bad,
        truncated(T::PubAck, "properties"),
        "5.0/MQTT-4.13.1-1",
    );
    accepted(V5, &with_byte(bad, 5, 0x00));
    // PUBLISH "t", property length 2: Message Expiry Interval with one of its four bytes.
    let bad: &[u8] = &[0x30, 0x06, 0x00, 0x01, b't', 0x02, 0x02, 0x00];
    let kind = truncated(T::Publish, "property value");
    refused(V5, bad, kind, "5.0/MQTT-4.13.1-1");
    // CONNECT that stops after its keep alive.
    let bad = [&CONNECT_V311[..12]].concat();
    let bad = with_byte(&bad, 1, 0x0A);
    let kind = truncated(T::Connect, "client identifier");
    refused(V311, &bad, kind, "3.1.1/MQTT-4.8.0-1");
}

fn trailing(packet: T, extra: usize) -> K {
    K::TrailingBytes { packet, extra }
}

#[test]
fn trailing_bytes_after_the_last_field() {
    let bad: &[u8] = &[
        0xC0, 0x01, // PINGREQ, remaining length 1
        0x00, // an extra byte
    ];
    refused(V311, bad, trailing(T::PingReq, 1), "3.1.1/MQTT-4.8.0-1");
    assert_eq!(accepted(V311, &[0xC0, 0x00]), Packet::PingReq);

    // In 3.1.1 these packets end earlier than in 5.0: the same bytes are valid 5.0.
    let cases: &[(T, &[u8])] = &[
        // PUBACK 1 + a byte (a reason code in 5.0)
        (T::PubAck, &[0x40, 0x03, 0x00, 0x01, 0x00]),
        // DISCONNECT + a byte (a reason code in 5.0)
        (T::Disconnect, &[0xE0, 0x01, 0x00]),
        // UNSUBACK 1 + a byte (a property length in 5.0)
        (T::UnsubAck, &[0xB0, 0x03, 0x00, 0x01, 0x00]),
        // CONNACK accepted + a byte (a property length in 5.0)
        (T::ConnAck, &[0x20, 0x03, 0x00, 0x00, 0x00]),
    ];
    for (packet, bytes) in cases {
        refused(V311, bytes, trailing(*packet, 1), "3.1.1/MQTT-4.8.0-1");
        assert_eq!(accepted(V5, bytes).packet_type(), *packet);
    }

    // CONNECT with one byte after its client id.
    let mut bad = CONNECT_V311.to_vec();
    bad[1] += 1;
    bad.push(b'x');
    refused(V311, &bad, trailing(T::Connect, 1), "3.1.1/MQTT-4.8.0-1");
}

/// Rules that are protocol checks are skipped by a lenient decoder; what cannot be
/// represented is refused either way.
#[test]
fn lenient_decoder_skips_protocol_checks_only() {
    let lenient = |v| {
        Decoder::with_options(
            v,
            DecodeOptions {
                strict: false,
                ..DecodeOptions::default()
            },
        )
    };
    let decode = |v, bytes: &[u8]| lenient(v).decode(&mut BytesMut::from(bytes));
    let skipped: &[(_, &[u8])] = &[
        (V311, &[0x40, 0x02, 0x00, 0x00]), // PUBACK with packet identifier 0
        (V311, &[0x30, 0x05, 0x00, 0x03, b'a', b'/', b'+']), // wildcard topic
        (V311, &[0x30, 0x02, 0x00, 0x00]), // empty topic
        (V311, &[0x38, 0x03, 0x00, 0x01, b'a']), // DUP on QoS 0
        (V311, &[0x82, 0x02, 0x00, 0x01]), // SUBSCRIBE without filter
        (V311, &[0x20, 0x02, 0x02, 0x06]), // CONNACK reserved flag, return code 6
        (V5, &[0x40, 0x03, 0x00, 0x01, 0x92]), // PUBACK reason 0x92
        (V5, &[0x30, 0x07, 0x00, 0x01, b't', 0x03, 0x23, 0x00, 0x00]), // Topic Alias 0
    ];
    for (v, bytes) in skipped {
        assert!(matches!(decode(*v, bytes), Ok(Some(_))), "{bytes:02X?}");
        assert!(decode_strict_fails(*v, bytes), "{bytes:02X?}");
    }
    let always: &[(_, &[u8])] = &[
        (V311, &[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01]), // QoS 3
        (V311, &[0x30, 0x03, 0x00, 0x01, 0xFF]),             // invalid UTF-8
        (V311, &[0x40, 0x00]),                               // truncated
        (V311, &[0xC0, 0x01, 0x00]),                         // trailing byte
        (V311, &[0x60, 0x02, 0x00, 0x01]),                   // PUBREL flags 0000
        (V5, &[0x30, 0x06, 0x00, 0x01, b't', 0x02, 0x7F, 0x00]), // unknown property
    ];
    for (v, bytes) in always {
        assert!(decode(*v, bytes).is_err(), "{bytes:02X?}");
    }
}

fn decode_strict_fails(v: ProtocolVersion, bytes: &[u8]) -> bool {
    crate::common::decode_exact(v, bytes).is_err()
}
