//! Fixed header: reserved flags and packet types, remaining length, maximum packet size,
//! minimal variable byte integers.

use crate::common::malformed::*;
use bytes::BytesMut;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::{
    DecodeErrorKind as K, DecodeOptions, Decoder, Packet, PacketType as T, ProtocolVersion,
};

#[test]
fn pubrel_flags_must_be_0010() {
    let bad: &[u8] = &[
        0x60, // PUBREL, flags 0000 (must be 0010)
        0x02, // remaining length 2
        0x00, 0x01, // packet identifier 1
    ];
    let kind = K::ReservedFlags {
        packet: T::PubRel,
        flags: 0,
    };
    refused(V311, bad, kind.clone(), "3.1.1/MQTT-3.6.1-1");
    refused(V5, bad, kind, "5.0/MQTT-3.6.1-1");
    accepted(V311, &with_byte(bad, 0, 0x62));
}

#[test]
fn subscribe_flags_must_be_0010() {
    let bad: &[u8] = &[
        0x80, // SUBSCRIBE, flags 0000 (must be 0010)
        0x06, // remaining length 6
        0x00, 0x01, // packet identifier 1
        0x00, 0x01, b'a', // filter "a"
        0x00, // options: QoS 0
    ];
    let kind = K::ReservedFlags {
        packet: T::Subscribe,
        flags: 0,
    };
    refused(V311, bad, kind, "3.1.1/MQTT-3.8.1-1");
    accepted(V311, &with_byte(bad, 0, 0x82));
}

#[test]
fn unsubscribe_flags_must_be_0010() {
    let bad: &[u8] = &[
        0xA3, // UNSUBSCRIBE, flags 0011 (must be 0010)
        0x06, // remaining length 6
        0x00, 0x01, // packet identifier 1
        0x00, // property length 0
        0x00, 0x01, b'a', // filter "a"
    ];
    let kind = K::ReservedFlags {
        packet: T::Unsubscribe,
        flags: 0b0011,
    };
    refused(V5, bad, kind, "5.0/MQTT-3.10.1-1");
    accepted(V5, &with_byte(bad, 0, 0xA2));
}

#[test]
fn disconnect_flags_must_be_0000() {
    let bad: &[u8] = &[
        0xE1, // DISCONNECT, flags 0001
        0x00, // remaining length 0
    ];
    let kind = K::ReservedFlags {
        packet: T::Disconnect,
        flags: 1,
    };
    refused(V311, bad, kind.clone(), "3.1.1/MQTT-3.14.1-1");
    refused(V5, bad, kind, "5.0/MQTT-3.14.1-1");
    accepted(V311, &with_byte(bad, 0, 0xE0));
}

#[test]
fn flag_zero_packet_with_flags_set() {
    let bad: &[u8] = &[
        0x48, // PUBACK, flags 1000 (must be 0000)
        0x02, // remaining length 2
        0x00, 0x07, // packet identifier 7
    ];
    let kind = K::ReservedFlags {
        packet: T::PubAck,
        flags: 0b1000,
    };
    refused(V311, bad, kind.clone(), "3.1.1/MQTT-2.2.2-1");
    refused(V311, bad, kind.clone(), "3.1.1/MQTT-2.2.2-2");
    refused(V5, bad, kind, "5.0/MQTT-2.1.3-1");
    accepted(V311, &with_byte(bad, 0, 0x40));
}

/// Every type with fixed flags, every wrong flag value, from a minimal valid packet.
#[test]
fn every_wrong_flag_value_of_every_fixed_flag_type() {
    const BOTH: &[ProtocolVersion] = &[V311, V5];
    let valid: &[(&[u8], &[ProtocolVersion])] = &[
        (&[0x20, 0x02, 0x00, 0x00], &[V311]), // CONNACK: flags 0, accepted
        (&[0x20, 0x03, 0x00, 0x00, 0x00], &[V5]), // CONNACK: flags 0, success, no properties
        (&[0x40, 0x02, 0x00, 0x01], BOTH),    // PUBACK 1
        (&[0x50, 0x02, 0x00, 0x01], BOTH),    // PUBREC 1
        (&[0x62, 0x02, 0x00, 0x01], BOTH),    // PUBREL 1
        (&[0x70, 0x02, 0x00, 0x01], BOTH),    // PUBCOMP 1
        (&[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00], &[V311]), // SUBSCRIBE 1, "a" QoS 0
        (&[0x90, 0x03, 0x00, 0x01, 0x00], &[V311]), // SUBACK 1, granted QoS 0
        (&[0xA2, 0x05, 0x00, 0x01, 0x00, 0x01, b'a'], &[V311]), // UNSUBSCRIBE 1, "a"
        (&[0xB0, 0x02, 0x00, 0x01], &[V311]), // UNSUBACK 1
        (&[0xC0, 0x00], BOTH),                // PINGREQ
        (&[0xD0, 0x00], BOTH),                // PINGRESP
        (&[0xE0, 0x00], BOTH),                // DISCONNECT
        (&[0xF0, 0x00], &[V5]),               // AUTH (5.0 only)
    ];
    for (bytes, versions) in valid {
        for &v in *versions {
            accepted(v, bytes);
            let packet = T::from_u8(bytes[0] >> 4).expect("type");
            for flags in (0..16).filter(|f| *f != bytes[0] & 0x0F) {
                let statement = match v {
                    V311 => "3.1.1/MQTT-2.2.2-1",
                    V5 => "5.0/MQTT-2.1.3-1",
                };
                let bad = with_byte(bytes, 0, (bytes[0] & 0xF0) | flags);
                refused(v, &bad, K::ReservedFlags { packet, flags }, statement);
            }
        }
    }
}

#[test]
fn auth_flags_must_be_0000() {
    let bad: &[u8] = &[
        0xF1, // AUTH, flags 0001
        0x00, // remaining length 0: Success, no properties
    ];
    let kind = K::ReservedFlags {
        packet: T::Auth,
        flags: 1,
    };
    refused(V5, bad, kind, "5.0/MQTT-3.15.1-1");
    accepted(V5, &with_byte(bad, 0, 0xF0));
}

#[test]
fn reserved_packet_type_0() {
    let bad: &[u8] = &[
        0x00, // type 0 (reserved), flags 0000
        0x00, // remaining length 0
    ];
    refused(V311, bad, K::ReservedPacketType(0), "3.1.1/MQTT-4.8.0-1");
    refused(V5, bad, K::ReservedPacketType(0), "5.0/MQTT-4.13.1-1");
    assert_eq!(accepted(V311, &with_byte(bad, 0, 0xC0)), Packet::PingReq);
}

#[test]
fn auth_does_not_exist_in_3_1_1() {
    let bad: &[u8] = &[
        0xF0, // type 15: AUTH in 5.0, reserved in 3.1.1
        0x00, // remaining length 0
    ];
    refused(V311, bad, K::ReservedPacketType(15), "3.1.1/MQTT-4.8.0-1");
    assert!(matches!(accepted(V5, bad), Packet::Auth(_)));
}

/// Codec bug: in 3.1.1, type 15 with non-zero flags is reported as AUTH's reserved flags,
/// citing `3.1.1/MQTT-3.15.1-1`, a statement 3.1.1 does not have. The packet type is
/// reserved in 3.1.1 and should be refused as such before its flags are looked at.
#[test]
fn auth_with_flags_in_3_1_1_is_a_reserved_type() {
    let bad: &[u8] = &[
        0xF1, // type 15 (reserved in 3.1.1), flags 0001
        0x00, // remaining length 0
    ];
    refused(V311, bad, K::ReservedPacketType(15), "3.1.1/MQTT-4.8.0-1");
}

#[test]
fn remaining_length_over_four_bytes() {
    let bad: &[u8] = &[
        0x30, // PUBLISH QoS 0
        0x80, 0x80, 0x80, 0x80, 0x01, // remaining length: a fifth byte
    ];
    refused(V311, bad, K::RemainingLengthTooLong, "3.1.1/MQTT-4.8.0-1");
    refused(V5, bad, K::RemainingLengthTooLong, "5.0/MQTT-4.13.1-1");
    // Control: the same value in four bytes, 0x80 0x80 0x80 0x01 = 2,097,152, is read and
    // the packet it announces decodes.
    let mut good = vec![0x30, 0x80, 0x80, 0x80, 0x01];
    good.extend_from_slice(&[0x00, 0x01, b'a']); // topic "a"
    good.resize(5 + 2_097_152, 0x55); // payload
    accepted(V311, &good);
}

#[test]
fn packet_larger_than_max_packet_size_refused_on_its_fixed_header() {
    let v311: &[u8] = &[
        0x30, // PUBLISH QoS 0
        0x0A, // remaining length 10: 12 bytes in all
        0x00, 0x03, b'a', b'/', b'b', // topic "a/b"
        b'h', b'e', b'l', b'l', b'o', // payload
    ];
    let v5: &[u8] = &[
        0x30, // PUBLISH QoS 0
        0x0B, // remaining length 11: 13 bytes in all
        0x00, 0x03, b'a', b'/', b'b', // topic "a/b"
        0x00, // property length 0
        b'h', b'e', b'l', b'l', b'o', // payload
    ];
    for (v, packet, statement) in [
        (V311, v311, "3.1.1/MQTT-4.8.0-1"),
        (V5, v5, "5.0/MQTT-3.2.2-15"),
    ] {
        let size = packet.len() as u32;
        let with_max = |max| {
            Decoder::with_options(
                v,
                DecodeOptions {
                    max_packet_size: max,
                    strict: true,
                },
            )
        };
        // Only the fixed header has arrived, and that is enough to refuse.
        let mut header = BytesMut::from(&packet[..2]);
        let err = with_max(size - 1)
            .decode(&mut header)
            .expect_err("oversized");
        let kind = K::PacketTooLarge {
            size: u64::from(size),
            max: size - 1,
        };
        assert_eq!(err.kind, kind);
        assert!(err.statements().contains(&statement.to_owned()));
        // Control: at exactly the limit the header waits for the body, then decodes.
        let mut buf = BytesMut::from(&packet[..2]);
        assert_eq!(with_max(size).decode(&mut buf), Ok(None));
        buf.extend_from_slice(&packet[2..]);
        assert!(matches!(
            with_max(size).decode(&mut buf),
            Ok(Some(Packet::Publish(_)))
        ));
    }
}

#[test]
fn non_minimal_remaining_length() {
    let bad: &[u8] = &[
        0x40, // PUBACK
        0x82, 0x00, // remaining length 2 written in two bytes
        0x00, 0x01, // packet identifier 1
    ];
    refused(V5, bad, K::NonMinimalVarint, "5.0/MQTT-1.5.5-1");
    refused(V311, bad, K::NonMinimalVarint, "3.1.1/MQTT-4.8.0-1");
    accepted(V5, &[0x40, 0x02, 0x00, 0x01]);
}

#[test]
fn non_minimal_property_length() {
    let bad: &[u8] = &[
        0x40, // PUBACK
        0x05, // remaining length 5
        0x00, 0x01, // packet identifier 1
        0x10, // reason: No matching subscribers
        0x80, 0x00, // property length 0 written in two bytes
    ];
    refused(V5, bad, K::NonMinimalVarint, "5.0/MQTT-1.5.5-1");
    let good: &[u8] = &[0x40, 0x04, 0x00, 0x01, 0x10, 0x00];
    accepted(V5, good);
}

#[test]
fn non_minimal_subscription_identifier() {
    let bad: &[u8] = &[
        0x82, // SUBSCRIBE
        0x0A, // remaining length 10
        0x00, 0x01, // packet identifier 1
        0x03, // property length 3
        0x0B, 0x81, 0x00, // Subscription Identifier 1 written in two bytes
        0x00, 0x01, b'a', // filter "a"
        0x00, // options
    ];
    refused(V5, bad, K::NonMinimalVarint, "5.0/MQTT-1.5.5-1");
    let good: &[u8] = &[
        0x82, 0x09, 0x00, 0x01, 0x02, 0x0B, 0x01, 0x00, 0x01, b'a', 0x00,
    ];
    accepted(V5, good);
}
