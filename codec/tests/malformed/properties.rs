//! 5.0 properties: placement, repetition, identifiers, values.

use crate::common::malformed::*;
use mqttspec_codec::ProtocolVersion::V5;
use mqttspec_codec::{DecodeErrorKind as K, PropertyId};

#[test]
fn property_not_allowed_in_packet() {
    let bad: &[u8] = &[
        0x30, 0x09, // PUBLISH QoS 0, remaining length 9
        0x00, 0x01, b't', // topic "t"
        0x05, // property length 5
        0x11, 0x00, 0x00, 0x00, 0x0A, // Session Expiry Interval 10: not for PUBLISH
    ];
    let kind = K::PropertyNotAllowed {
        property: PropertyId::SessionExpiryInterval,
        context: "PUBLISH",
    };
    refused(V5, bad, kind, "5.0/MQTT-4.13.1-1");
    accepted(V5, &with_byte(bad, 6, 0x02)); // Message Expiry Interval 10
}

#[test]
fn will_property_in_connect_properties() {
    let bad: &[u8] = &[
        0x10, 0x13, // CONNECT, remaining length 19
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, // "MQTT" level 5
        0x02, // flags: clean start
        0x00, 0x3C, // keep alive 60
        0x05, // property length 5
        0x18, 0x00, 0x00, 0x00, 0x0A, // Will Delay Interval 10: only in Will properties
        0x00, 0x01, b'c', // client id "c"
    ];
    let kind = K::PropertyNotAllowed {
        property: PropertyId::WillDelayInterval,
        context: "CONNECT",
    };
    refused(V5, bad, kind, "5.0/MQTT-4.13.1-1");
    accepted(V5, &with_byte(bad, 13, 0x11)); // Session Expiry Interval 10
}

#[test]
fn property_given_twice() {
    let bad: &[u8] = &[
        0x30, 0x0C, // PUBLISH QoS 0, remaining length 12
        0x00, 0x01, b't', // topic "t"
        0x08, // property length 8
        0x03, 0x00, 0x01, b'x', // Content Type "x"
        0x03, 0x00, 0x01, b'y', // Content Type "y": a second one
    ];
    refused(
        V5,
        bad,
        K::DuplicateProperty(PropertyId::ContentType),
        "5.0/MQTT-4.13.1-1",
    );
    accepted(V5, &with_byte(bad, 10, 0x08)); // Response Topic "y"
}

#[test]
fn subscription_identifier_twice_in_subscribe() {
    let bad: &[u8] = &[
        0x82, 0x0B, // SUBSCRIBE, remaining length 11
        0x00, 0x01, // packet identifier 1
        0x04, // property length 4
        0x0B, 0x01, // Subscription Identifier 1
        0x0B, 0x02, // Subscription Identifier 2: only PUBLISH may repeat it
        0x00, 0x01, b'a', // filter "a"
        0x00, // options
    ];
    let kind = K::DuplicateProperty(PropertyId::SubscriptionIdentifier);
    refused(V5, bad, kind, "5.0/MQTT-4.13.1-1");
    // Control: the same property block in a PUBLISH.
    let good: &[u8] = &[
        0x30, 0x08, // PUBLISH QoS 0, remaining length 8
        0x00, 0x01, b't', // topic "t"
        0x04, 0x0B, 0x01, 0x0B, 0x02, // the same block
    ];
    accepted(V5, good);
}

#[test]
fn unknown_property_identifier() {
    let bad: &[u8] = &[
        0x30, 0x06, // PUBLISH QoS 0, remaining length 6
        0x00, 0x01, b't', // topic "t"
        0x02, // property length 2
        0x7F, 0x00, // identifier 0x7F: not defined
    ];
    refused(V5, bad, K::UnknownProperty(0x7F), "5.0/MQTT-4.13.1-1");
    refused(
        V5,
        &with_byte(bad, 6, 0x00),
        K::UnknownProperty(0x00),
        "5.0/MQTT-4.13.1-1",
    );
    accepted(V5, &with_byte(bad, 6, 0x01)); // Payload Format Indicator 0
}

fn bad_value(property: PropertyId, value: u32) -> K {
    K::InvalidPropertyValue { property, value }
}

#[test]
fn topic_alias_0() {
    let bad: &[u8] = &[
        0x30, 0x07, // PUBLISH QoS 0, remaining length 7
        0x00, 0x01, b't', // topic "t"
        0x03, // property length 3
        0x23, 0x00, 0x00, // Topic Alias 0
    ];
    let kind = bad_value(PropertyId::TopicAlias, 0);
    refused(V5, bad, kind, "5.0/MQTT-3.3.2-8");
    accepted(V5, &with_byte(bad, 8, 0x01));
}

#[test]
fn receive_maximum_0() {
    let bad: &[u8] = &[
        0x10, 0x11, // CONNECT, remaining length 17
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, // "MQTT" level 5
        0x02, // flags: clean start
        0x00, 0x3C, // keep alive 60
        0x03, // property length 3
        0x21, 0x00, 0x00, // Receive Maximum 0
        0x00, 0x01, b'c', // client id "c"
    ];
    let kind = bad_value(PropertyId::ReceiveMaximum, 0);
    refused(V5, bad, kind, "5.0/MQTT-4.13.1-1");
    accepted(V5, &with_byte(bad, 15, 0x01));
}

#[test]
fn maximum_packet_size_0() {
    let bad: &[u8] = &[
        0x20, 0x08, // CONNACK, remaining length 8
        0x00, // acknowledge flags
        0x00, // reason: Success
        0x05, // property length 5
        0x27, 0x00, 0x00, 0x00, 0x00, // Maximum Packet Size 0
    ];
    let kind = bad_value(PropertyId::MaximumPacketSize, 0);
    refused(V5, bad, kind, "5.0/MQTT-4.13.1-1");
    accepted(V5, &with_byte(bad, 9, 0x01));
}

#[test]
fn subscription_identifier_0() {
    let bad: &[u8] = &[
        0x82, 0x09, // SUBSCRIBE, remaining length 9
        0x00, 0x01, // packet identifier 1
        0x02, // property length 2
        0x0B, 0x00, // Subscription Identifier 0
        0x00, 0x01, b'a', // filter "a"
        0x00, // options
    ];
    let kind = bad_value(PropertyId::SubscriptionIdentifier, 0);
    refused(V5, bad, kind, "5.0/MQTT-4.13.1-1");
    accepted(V5, &with_byte(bad, 6, 0x01));
}

#[test]
fn flag_property_set_to_2() {
    let connack = |id: u8| -> Vec<u8> {
        vec![
            0x20, 0x05, // CONNACK, remaining length 5
            0x00, 0x00, // acknowledge flags, Success
            0x02, id, 0x02, // property length 2: `id` = 2
        ]
    };
    let connect = |id: u8| -> Vec<u8> {
        let mut out = vec![
            0x10, 0x10, // CONNECT, remaining length 16
            0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, // "MQTT" level 5
            0x02, 0x00, 0x3C, // flags: clean start; keep alive 60
            0x02, id, 0x02, // property length 2: `id` = 2
        ];
        out.extend_from_slice(&[0x00, 0x01, b'c']); // client id "c"
        out
    };
    let publish = |id: u8| -> Vec<u8> {
        vec![
            0x30, 0x06, // PUBLISH QoS 0, remaining length 6
            0x00, 0x01, b't', // topic "t"
            0x02, id, 0x02, // property length 2: `id` = 2
        ]
    };
    let cases = [
        (connack(0x24), 6, PropertyId::MaximumQos),
        (connack(0x25), 6, PropertyId::RetainAvailable),
        (connack(0x28), 6, PropertyId::WildcardSubscriptionAvailable),
        (
            connack(0x29),
            6,
            PropertyId::SubscriptionIdentifierAvailable,
        ),
        (connack(0x2A), 6, PropertyId::SharedSubscriptionAvailable),
        (connect(0x17), 14, PropertyId::RequestProblemInformation),
        (connect(0x19), 14, PropertyId::RequestResponseInformation),
        (publish(0x01), 7, PropertyId::PayloadFormatIndicator),
    ];
    for (bad, at, property) in cases {
        refused(V5, &bad, bad_value(property, 2), "5.0/MQTT-4.13.1-1");
        accepted(V5, &with_byte(&bad, at, 0x01));
    }
}

/// 5.0 MQTT-3.3.2-14: the Response Topic is a topic name and contains no
/// wildcard.
#[test]
fn wildcard_in_response_topic() {
    let bad: &[u8] = &[
        0x30, 0x09, // PUBLISH QoS 0, remaining length 9
        0x00, 0x01, b't', // topic "t"
        0x05, // property length 5
        0x08, 0x00, 0x02, b'r', b'#', // Response Topic "r#"
    ];
    let err = crate::common::decode_exact(V5, bad).expect_err("must be refused");
    assert!(err.statements().contains(&"5.0/MQTT-3.3.2-14".to_owned()));
    accepted(V5, &with_byte(bad, 10, b'/'));
}
