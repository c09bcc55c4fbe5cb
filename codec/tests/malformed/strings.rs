//! UTF-8 strings and topic names.

use crate::common::malformed::*;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::{DecodeErrorKind as K, Packet, PropertyId};

#[test]
fn invalid_utf8() {
    let bad: &[u8] = &[
        0x30, 0x03, // PUBLISH QoS 0, remaining length 3
        0x00, 0x01, 0xFF, // topic: 0xFF is never valid UTF-8
    ];
    refused(V311, bad, K::InvalidUtf8, "3.1.1/MQTT-1.5.3-1");
    accepted(V311, &with_byte(bad, 4, b'a'));
}

#[test]
fn overlong_utf8_in_client_identifier() {
    let bad: &[u8] = &[
        0x10, 0x0F, // CONNECT, remaining length 15
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, // "MQTT" level 5
        0x02, // flags: clean start
        0x00, 0x3C, // keep alive 60
        0x00, // property length 0
        0x00, 0x02, 0xC0, 0x80, // client id: overlong form of U+0000
    ];
    refused(V5, bad, K::InvalidUtf8, "5.0/MQTT-1.5.4-1");
    let good = with_byte(&with_byte(bad, 15, b'i'), 16, b'd');
    accepted(V5, &good);
}

#[test]
fn null_character() {
    let bad: &[u8] = &[
        0x30, 0x05, // PUBLISH QoS 0, remaining length 5
        0x00, 0x03, b'a', 0x00, b'b', // topic "a\0b"
    ];
    refused(V311, bad, K::NullCharacter, "3.1.1/MQTT-1.5.3-2");
    refused(V311, bad, K::NullCharacter, "3.1.1/MQTT-4.7.3-2");
    accepted(V311, &with_byte(bad, 5, b'/'));
}

#[test]
fn null_character_in_user_property() {
    let bad: &[u8] = &[
        0x30, 0x0C, // PUBLISH QoS 0, remaining length 12
        0x00, 0x01, b't', // topic "t"
        0x08, // property length 8
        0x26, 0x00, 0x01, b'k', 0x00, 0x02, b'v', 0x00, // User Property "k" = "v\0"
    ];
    refused(V5, bad, K::NullCharacter, "5.0/MQTT-1.5.4-2");
    accepted(V5, &with_byte(bad, 13, b'w'));
}

#[test]
fn utf16_surrogate_encoded_in_utf8() {
    let bad: &[u8] = &[
        0x30, 0x06, // PUBLISH QoS 0, remaining length 6
        0x00, 0x03, 0xED, 0xA0, 0x80, // topic: U+D800 encoded as UTF-8
        0x00, // property length 0
    ];
    refused(V5, bad, K::InvalidUtf8, "5.0/MQTT-1.5.4-1");
    // 3.1.1: remaining length 5 and no property length.
    let bad311: &[u8] = &[0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80];
    refused(V311, bad311, K::InvalidUtf8, "3.1.1/MQTT-1.5.3-1");
    // E2 82 AC is U+20AC, a real three-byte character.
    let good = with_byte(&with_byte(&with_byte(bad, 4, 0xE2), 5, 0x82), 6, 0xAC);
    accepted(V5, &good);
}

#[test]
fn single_level_wildcard_in_topic_name() {
    let bad: &[u8] = &[
        0x30, 0x05, // PUBLISH QoS 0, remaining length 5
        0x00, 0x03, b'a', b'/', b'+', // topic "a/+"
    ];
    let kind = K::WildcardInTopicName("a/+".into());
    refused(V311, bad, kind.clone(), "3.1.1/MQTT-3.3.2-2");
    refused(V311, bad, kind, "3.1.1/MQTT-4.7.1-1");
    accepted(V311, &with_byte(bad, 6, b'b'));
}

#[test]
fn multi_level_wildcard_in_topic_name() {
    let bad: &[u8] = &[
        0x30, 0x06, // PUBLISH QoS 0, remaining length 6
        0x00, 0x03, b'a', b'/', b'#', // topic "a/#"
        0x00, // property length 0
    ];
    let kind = K::WildcardInTopicName("a/#".into());
    refused(V5, bad, kind.clone(), "5.0/MQTT-3.3.2-2");
    refused(V5, bad, kind, "5.0/MQTT-4.7.0-1");
    accepted(V5, &with_byte(bad, 6, b'b'));
}

#[test]
fn wildcard_in_will_topic() {
    let bad: &[u8] = &[
        0x10, 0x14, // CONNECT, remaining length 20
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, // "MQTT" level 4
        0x06, // flags: will, clean session
        0x00, 0x3C, // keep alive 60
        0x00, 0x01, b'c', // client id "c"
        0x00, 0x03, b'a', b'/', b'#', // will topic "a/#"
        0x00, 0x00, // will message: empty
    ];
    refused(
        V311,
        bad,
        K::WildcardInTopicName("a/#".into()),
        "3.1.1/MQTT-4.7.1-1",
    );
    accepted(V311, &with_byte(bad, 19, b'b'));
}

#[test]
fn empty_topic_name_in_3_1_1() {
    let bad: &[u8] = &[
        0x30, 0x02, // PUBLISH QoS 0, remaining length 2
        0x00, 0x00, // topic: empty
    ];
    refused(V311, bad, K::EmptyTopicName, "3.1.1/MQTT-4.7.3-1");
    accepted(V311, &[0x30, 0x03, 0x00, 0x01, b'a']);
}

#[test]
fn empty_topic_name_in_5_0_needs_a_topic_alias() {
    let bad: &[u8] = &[
        0x30, 0x03, // PUBLISH QoS 0, remaining length 3
        0x00, 0x00, // topic: empty
        0x00, // property length 0: no Topic Alias
    ];
    refused(V5, bad, K::EmptyTopicName, "5.0/MQTT-4.7.3-1");
    let good: &[u8] = &[
        0x30, 0x06, // PUBLISH QoS 0, remaining length 6
        0x00, 0x00, // topic: empty
        0x03, 0x23, 0x00, 0x01, // Topic Alias 1
    ];
    let Packet::Publish(p) = accepted(V5, good) else {
        panic!("not a PUBLISH")
    };
    assert!(p.topic.is_empty());
    assert_eq!(p.properties.int(PropertyId::TopicAlias), Some(1));
}
