//! Round trips over generated packets: for every packet type of both versions, encoding then
//! strict decoding gives the same packet, re-encoding gives the same bytes, `encoded_len` is
//! exact, and the result does not depend on how the bytes are chunked.

mod common;

use bytes::BytesMut;
use common::strategies as s;
use common::{VERSIONS, hex, spec};
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::{
    ByteString, Bytes, Connect, Decoder, EncodeError, Packet, PacketType, Properties, Property,
    PropertyId, ProtocolVersion, Publish, QoS, ReasonCode, Will,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// Every property of a valid packet's round trip, with the second chunk starting at `split`.
fn check_round_trip(
    v: ProtocolVersion,
    packet: &Packet,
    split: Index,
) -> Result<(), TestCaseError> {
    let bytes = packet
        .to_bytes(v)
        .map_err(|e| TestCaseError::fail(format!("encode failed: {e}")))?;
    prop_assert_eq!(bytes.len(), packet.encoded_len(v));
    let decoder = Decoder::new(v);
    let expected = Ok(Some(packet.clone()));

    // The whole packet at once.
    let mut buf = BytesMut::from(&bytes[..]);
    let decoded = decoder.decode(&mut buf);
    prop_assert_eq!(&decoded, &expected);
    prop_assert!(buf.is_empty());
    if let Ok(Some(p)) = decoded {
        let again = p
            .to_bytes(v)
            .map_err(|e| TestCaseError::fail(format!("re-encode failed: {e}")))?;
        prop_assert!(again == bytes, "re-encoding changed the bytes");
    }

    // Two chunks: the first one alone is not enough and is left untouched.
    let k = split.index(bytes.len() + 1);
    let mut buf = BytesMut::from(&bytes[..k]);
    if k < bytes.len() {
        prop_assert_eq!(decoder.decode(&mut buf), Ok(None));
        prop_assert!(buf[..] == bytes[..k], "a short buffer was modified");
    }
    buf.extend_from_slice(&bytes[k..]);
    prop_assert_eq!(decoder.decode(&mut buf), expected.clone());
    prop_assert!(buf.is_empty());

    // One byte at a time.
    let mut buf = BytesMut::with_capacity(bytes.len());
    for (i, b) in bytes.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        let out = decoder.decode(&mut buf);
        if i + 1 < bytes.len() {
            prop_assert_eq!(out, Ok(None), "after {} of {} bytes", i + 1, bytes.len());
            prop_assert_eq!(buf.len(), i + 1);
        } else {
            prop_assert_eq!(out, expected.clone());
            prop_assert!(buf.is_empty());
        }
    }
    Ok(())
}

/// Packets written back to back come out in order, and nothing is left.
fn check_concatenated(v: ProtocolVersion, packets: &[Packet]) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::new();
    for p in packets {
        p.encode(v, &mut buf)
            .map_err(|e| TestCaseError::fail(format!("encode failed: {e}")))?;
    }
    let decoder = Decoder::new(v);
    for (i, p) in packets.iter().enumerate() {
        prop_assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(p.clone())),
            "packet {}",
            i
        );
    }
    prop_assert!(buf.is_empty());
    prop_assert_eq!(decoder.decode(&mut buf), Ok(None));
    Ok(())
}

macro_rules! round_trip_tests {
    ($($name:ident: $v:expr => $strategy:expr;)*) => {
        proptest! {
            $(
                #[test]
                fn $name(packet in $strategy, split in any::<Index>()) {
                    check_round_trip($v, &packet, split)?;
                }
            )*
        }
    };
}

round_trip_tests! {
    v311_connect: V311 => s::connect(V311);
    v311_connack: V311 => s::connack(V311);
    v311_publish: V311 => s::publish(V311);
    v311_puback: V311 => s::puback(V311);
    v311_pubrec: V311 => s::pubrec(V311);
    v311_pubrel: V311 => s::pubrel(V311);
    v311_pubcomp: V311 => s::pubcomp(V311);
    v311_subscribe: V311 => s::subscribe(V311);
    v311_suback: V311 => s::suback(V311);
    v311_unsubscribe: V311 => s::unsubscribe(V311);
    v311_unsuback: V311 => s::unsuback(V311);
    v311_pingreq: V311 => Just(Packet::PingReq);
    v311_pingresp: V311 => Just(Packet::PingResp);
    v311_disconnect: V311 => s::disconnect(V311);
    v5_connect: V5 => s::connect(V5);
    v5_connack: V5 => s::connack(V5);
    v5_publish: V5 => s::publish(V5);
    v5_puback: V5 => s::puback(V5);
    v5_pubrec: V5 => s::pubrec(V5);
    v5_pubrel: V5 => s::pubrel(V5);
    v5_pubcomp: V5 => s::pubcomp(V5);
    v5_subscribe: V5 => s::subscribe(V5);
    v5_suback: V5 => s::suback(V5);
    v5_unsubscribe: V5 => s::unsubscribe(V5);
    v5_unsuback: V5 => s::unsuback(V5);
    v5_pingreq: V5 => Just(Packet::PingReq);
    v5_pingresp: V5 => Just(Packet::PingResp);
    v5_disconnect: V5 => s::disconnect(V5);
    v5_auth: V5 => s::auth();
}

proptest! {
    #[test]
    fn v311_concatenated_packets_decode_in_order(packets in vec(s::packet(V311), 1..6)) {
        check_concatenated(V311, &packets)?;
    }

    #[test]
    fn v5_concatenated_packets_decode_in_order(packets in vec(s::packet(V5), 1..6)) {
        check_concatenated(V5, &packets)?;
    }
}

/// The hand-copied specification tables the strategies use agree with the codec's.
#[test]
fn codec_property_table_matches_the_specification() {
    for id in PropertyId::ALL {
        for ctx in spec::PROPERTY_CONTEXTS {
            assert_eq!(
                id.allowed_in(ctx),
                spec::property_allowed(id, ctx),
                "{id:?} in {ctx:?}"
            );
            if spec::property_allowed(id, ctx) {
                assert_eq!(
                    id.repeatable_in(ctx),
                    spec::property_repeatable(id, ctx),
                    "{id:?} repeated in {ctx:?}"
                );
            }
        }
    }
}

#[test]
fn codec_reason_code_sets_match_the_specification() {
    for t in (1..=15).filter_map(PacketType::from_u8) {
        for code in 0..=255u8 {
            assert_eq!(
                ReasonCode(code).valid_for(t),
                spec::reason_codes_v5(t).contains(&code),
                "5.0 {t:?} {code:#04x}"
            );
            assert_eq!(
                ReasonCode(code).valid_for_v311(t),
                spec::return_codes_v311(t).contains(&code),
                "3.1.1 {t:?} {code:#04x}"
            );
        }
    }
}

/// Draws `n` values from a strategy with a fixed seed.
fn sample<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| match strategy.new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(e) => panic!("strategy rejected: {e}"),
        })
        .collect()
}

/// The edges the round trips rely on are really generated, not just possible.
#[test]
fn strategies_reach_the_edge_values() {
    let lens: Vec<usize> = sample(s::mqtt_string(), 2_000)
        .iter()
        .map(|s| s.len())
        .collect();
    assert!(lens.contains(&0));
    assert!(lens.contains(&s::MAX_FIELD));
    assert!(
        sample(s::binary(), 2_000)
            .iter()
            .any(|b| b.len() == s::MAX_FIELD)
    );

    for ctx in spec::PROPERTY_CONTEXTS {
        let blocks = sample(s::properties(ctx), 300);
        for id in PropertyId::ALL.into_iter().filter(|id| id.allowed_in(ctx)) {
            assert!(
                blocks.iter().any(|b| b.iter().any(|p| p.id() == id)),
                "{id:?} never generated in {ctx:?}"
            );
        }
        let repeated_user_props = blocks.iter().any(|b| b.user_properties().count() >= 2);
        assert!(
            repeated_user_props,
            "user properties never repeated in {ctx:?}"
        );
    }

    let publishes = sample(s::publish(V5), 500);
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        assert!(
            publishes
                .iter()
                .any(|p| matches!(p, Packet::Publish(p) if p.qos == qos))
        );
    }
    assert!(
        publishes
            .iter()
            .any(|p| matches!(p, Packet::Publish(p) if p.topic.is_empty()))
    );
    let filters = sample(s::topic_filter(V5), 500);
    for needle in ["+", "#", "$share/"] {
        assert!(filters.iter().any(|f| f.contains(needle)), "{needle}");
    }
    let acks = sample(s::puback(V5), 300);
    let shapes = |r: bool, p: bool| {
        acks.iter().any(|a| {
            matches!(a, Packet::PubAck(a) if a.reason_code.is_some() == r && a.properties.is_some() == p)
        })
    };
    assert!(shapes(false, false) && shapes(true, false) && shapes(true, true));
}

/// PUBLISH bodies sized to land on each side of every remaining-length boundary.
#[test]
fn remaining_length_boundaries() {
    let cases: [(usize, &[u8]); 8] = [
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (4, &[0x04]),
        (200_000, &[0xC0, 0x9A, 0x0C]),
    ];
    for v in VERSIONS {
        // Topic "a" takes 3 bytes, and 5.0 adds an empty property block.
        let overhead = if v.is_v5() { 4 } else { 3 };
        for (remaining, header) in cases {
            let publish = Packet::Publish(Publish::new(
                "a",
                QoS::AtMostOnce,
                Bytes::from(vec![0x42; remaining - overhead]),
            ));
            let bytes = publish.to_bytes(v).expect("encode");
            assert_eq!(bytes[0], 0x30);
            assert_eq!(&bytes[1..=header.len()], header, "{v} {remaining}");
            assert_eq!(bytes.len(), 1 + header.len() + remaining);
            assert_eq!(publish.encoded_len(v), bytes.len());
            // The fixed header alone, then the rest.
            let mut buf = BytesMut::from(&bytes[..=header.len()]);
            let decoder = Decoder::new(v);
            assert_eq!(decoder.decode(&mut buf), Ok(None));
            buf.extend_from_slice(&bytes[1 + header.len()..]);
            assert_eq!(decoder.decode(&mut buf), Ok(Some(publish)));
        }
    }
}

fn max_string(c: char) -> ByteString {
    ByteString::from(c.to_string().repeat(s::MAX_FIELD / c.len_utf8()))
}

/// Every length-prefixed field at its maximum at once, in both versions; one byte more
/// cannot be encoded.
#[test]
fn maximal_fields_round_trip_and_one_more_byte_is_refused() {
    for v in VERSIONS {
        let max_bytes = Bytes::from(vec![0xEE; s::MAX_FIELD]);
        let mut will = Will {
            topic: max_string('t'),
            payload: max_bytes.clone(),
            qos: QoS::ExactlyOnce,
            retain: true,
            properties: Properties::new(),
        };
        let mut connect = Connect {
            version: v,
            client_id: max_string('€'),
            username: Some(max_string('u')),
            password: Some(max_bytes.clone()),
            ..Connect::default()
        };
        if v.is_v5() {
            will.properties
                .push(Property::CorrelationData(max_bytes.clone()));
            connect
                .properties
                .push(Property::UserProperty(max_string('k'), max_string('é')));
        }
        connect.will = Some(will);
        let packet = Packet::Connect(connect.clone());
        let bytes = packet.to_bytes(v).expect("encode");
        assert_eq!(bytes.len(), packet.encoded_len(v));
        assert_eq!(common::decode_exact(v, &bytes), Ok(Some(packet)));

        connect.client_id = ByteString::from("x".repeat(s::MAX_FIELD + 1));
        assert_eq!(
            Packet::Connect(connect).to_bytes(v),
            Err(EncodeError::FieldTooLong(s::MAX_FIELD + 1))
        );
    }
}

/// A fixture for the plainest packet, so a failure of the generated tests can be told apart
/// from a broken basic layout.
#[test]
fn fixture_publish_qos1() {
    let packet = Packet::Publish(Publish {
        qos: QoS::AtLeastOnce,
        packet_id: 10,
        ..Publish::new("a/b", QoS::AtLeastOnce, Bytes::from_static(b"hi"))
    });
    let bytes = packet.to_bytes(V311).expect("encode");
    // 0x32 PUBLISH QoS 1; remaining 9; topic "a/b"; packet id 10; payload "hi".
    assert_eq!(hex(&bytes), "32 09 00 03 61 2F 62 00 0A 68 69");
    assert_eq!(common::decode_exact(V311, &bytes), Ok(Some(packet)));
}
