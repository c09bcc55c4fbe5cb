//! CONNECT: flags, protocol name and level.

use crate::common::malformed::*;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::{DecodeErrorKind as K, Packet};

#[test]
fn will_qos_or_retain_without_will_flag() {
    // Flags 0x0A: Will QoS 1 and clean session, Will Flag 0.
    let bad = with_byte(CONNECT_V311, 9, 0x0A);
    refused(
        V311,
        &bad,
        K::WillFieldsWithoutWillFlag,
        "3.1.1/MQTT-3.1.2-13",
    );
    // Flags 0x22: Will Retain and clean session, Will Flag 0.
    let bad = with_byte(CONNECT_V311, 9, 0x22);
    refused(
        V311,
        &bad,
        K::WillFieldsWithoutWillFlag,
        "3.1.1/MQTT-3.1.2-15",
    );
    // Flags 0x12: Will QoS 2 and clean start, Will Flag 0.
    let bad = with_byte(CONNECT_V5, 9, 0x12);
    refused(V5, &bad, K::WillFieldsWithoutWillFlag, "5.0/MQTT-3.1.2-11");
    let bad = with_byte(CONNECT_V5, 9, 0x22);
    refused(V5, &bad, K::WillFieldsWithoutWillFlag, "5.0/MQTT-3.1.2-13");
    accepted(V311, CONNECT_V311);
    accepted(V5, CONNECT_V5);
}

#[test]
fn connect_reserved_flag() {
    // Flags 0x03: clean session and the reserved bit 0.
    let bad = with_byte(CONNECT_V311, 9, 0x03);
    refused(V311, &bad, K::ConnectReservedFlag, "3.1.1/MQTT-3.1.2-3");
    let bad = with_byte(CONNECT_V5, 9, 0x03);
    refused(V5, &bad, K::ConnectReservedFlag, "5.0/MQTT-3.1.2-3");
    accepted(V311, CONNECT_V311);
}

#[test]
fn password_without_user_name() {
    let bad: &[u8] = &[
        0x10, 0x11, // CONNECT, remaining length 17
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, // "MQTT" level 4
        0x42, // flags: password, clean session; no user name
        0x00, 0x3C, // keep alive 60
        0x00, 0x01, b'c', // client id "c"
        0x00, 0x02, b'p', b'w', // password "pw"
    ];
    refused(V311, bad, K::PasswordWithoutUsername, "3.1.1/MQTT-3.1.2-22");
    let good: &[u8] = &[
        0x10, 0x14, // CONNECT, remaining length 20
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, // "MQTT" level 4
        0xC2, // flags: user name, password, clean session
        0x00, 0x3C, // keep alive 60
        0x00, 0x01, b'c', // client id "c"
        0x00, 0x01, b'u', // user name "u"
        0x00, 0x02, b'p', b'w', // password "pw"
    ];
    accepted(V311, good);
    // 5.0 allows a password alone (section 3.1.2.9).
    let v5: &[u8] = &[
        0x10, 0x12, // CONNECT, remaining length 18
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, // "MQTT" level 5
        0x42, // flags: password, clean start
        0x00, 0x3C, // keep alive 60
        0x00, // property length 0
        0x00, 0x01, b'c', // client id "c"
        0x00, 0x02, b'p', b'w', // password "pw"
    ];
    let Packet::Connect(c) = accepted(V5, v5) else {
        panic!("not a CONNECT")
    };
    assert_eq!(
        (c.username, c.password.as_deref()),
        (None, Some(&b"pw"[..]))
    );
}

#[test]
fn invalid_protocol_name() {
    // "MQTX" in place of "MQTT" (byte 7).
    let bad = with_byte(CONNECT_V311, 7, b'X');
    refused(
        V311,
        &bad,
        K::InvalidProtocolName("MQTX".into()),
        "3.1.1/MQTT-3.1.2-1",
    );
    accepted(V311, CONNECT_V311);
}

#[test]
fn unsupported_protocol_level() {
    // Level 6 (byte 8); the error is judged by the decoder's version.
    let bad = with_byte(CONNECT_V311, 8, 6);
    let kind = K::UnsupportedProtocolLevel(6);
    refused(V311, &bad, kind.clone(), "3.1.1/MQTT-3.1.2-2");
    refused(V5, &bad, kind, "5.0/MQTT-3.1.2-2");
    accepted(V311, CONNECT_V311);
}

#[test]
fn mqtt_3_1_is_not_supported() {
    let bad: &[u8] = &[
        0x10, 0x0F, // CONNECT, remaining length 15
        0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, // "MQIsdp" level 3
        0x02, // flags: clean session
        0x00, 0x3C, // keep alive 60
        0x00, 0x01, b'c', // client id "c"
    ];
    refused(
        V311,
        bad,
        K::UnsupportedProtocolLevel(3),
        "3.1.1/MQTT-3.1.2-2",
    );
    accepted(V311, CONNECT_V311);
}

/// Codec bug: "MQIsdp" with level 4 is refused as an unsupported protocol level although
/// level 4 is supported; the name is what is wrong (3.1.1 MQTT-3.1.2-1).
#[test]
fn mqisdp_name_with_level_4() {
    let bad: &[u8] = &[
        0x10, 0x0F, // CONNECT, remaining length 15
        0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x04, // "MQIsdp" level 4
        0x02, // flags: clean session
        0x00, 0x3C, // keep alive 60
        0x00, 0x01, b'c', // client id "c"
    ];
    refused(
        V311,
        bad,
        K::InvalidProtocolName("MQIsdp".into()),
        "3.1.1/MQTT-3.1.2-1",
    );
}
