//! Topic filters, SUBSCRIBE and UNSUBSCRIBE payloads, subscription options.

use crate::common::malformed::*;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::{DecodeErrorKind as K, FilterError, Packet};

fn bad_filter(filter: &str, reason: FilterError) -> K {
    K::InvalidTopicFilter {
        filter: filter.into(),
        reason,
    }
}

#[test]
fn multi_level_wildcard_not_last() {
    let bad: &[u8] = &[
        0x82, 0x0A, // SUBSCRIBE, remaining length 10
        0x00, 0x01, // packet identifier 1
        0x00, 0x05, b'a', b'/', b'#', b'/', b'b', // filter "a/#/b"
        0x00, // options: QoS 0
    ];
    assert_eq!(bad, subscribe_v311(b"a/#/b"));
    let kind = bad_filter("a/#/b", FilterError::MultiLevelWildcard);
    refused(V311, bad, kind, "3.1.1/MQTT-4.7.1-2");
    accepted(V311, &subscribe_v311(b"a/b/#"));
}

#[test]
fn multi_level_wildcard_not_alone_in_its_level() {
    let bad: &[u8] = &[
        0x82, 0x08, // SUBSCRIBE, remaining length 8
        0x00, 0x01, // packet identifier 1
        0x00, // property length 0
        0x00, 0x02, b'a', b'#', // filter "a#"
        0x00, // options
    ];
    assert_eq!(bad, subscribe_v5(b"a#", 0));
    let kind = bad_filter("a#", FilterError::MultiLevelWildcard);
    refused(V5, bad, kind, "5.0/MQTT-4.7.1-1");
    accepted(V5, &subscribe_v5(b"a/#", 0));
}

#[test]
fn multi_level_wildcard_not_last_in_unsubscribe() {
    let bad: &[u8] = &[
        0xA2, 0x07, // UNSUBSCRIBE, remaining length 7
        0x00, 0x01, // packet identifier 1
        0x00, 0x03, b'#', b'/', b'a', // filter "#/a"
    ];
    let kind = bad_filter("#/a", FilterError::MultiLevelWildcard);
    refused(V311, bad, kind, "3.1.1/MQTT-4.7.1-2");
    accepted(V311, &with_byte(bad, 6, b'+'));
}

#[test]
fn single_level_wildcard_not_alone_in_its_level() {
    let bad = subscribe_v311(b"a/b+/c");
    let kind = bad_filter("a/b+/c", FilterError::SingleLevelWildcard);
    refused(V311, &bad, kind, "3.1.1/MQTT-4.7.1-3");
    accepted(V311, &subscribe_v311(b"a/+/c"));
    let bad: &[u8] = &[
        0xA2, 0x07, // UNSUBSCRIBE, remaining length 7
        0x00, 0x01, // packet identifier 1
        0x00, // property length 0
        0x00, 0x02, b'+', b'a', // filter "+a"
    ];
    refused(
        V5,
        bad,
        bad_filter("+a", FilterError::SingleLevelWildcard),
        "5.0/MQTT-4.7.1-2",
    );
    accepted(V5, &with_byte(bad, 8, b'/'));
}

#[test]
fn bad_shared_subscription_filters() {
    for filter in [
        "$share/g",
        "$share//a",
        "$share/g+/a",
        "$share/g#/a",
        "$share/g/",
    ] {
        let bad = subscribe_v5(filter.as_bytes(), 0);
        let kind = bad_filter(filter, FilterError::SharedSubscription);
        refused(V5, &bad, kind.clone(), "5.0/MQTT-4.8.2-1");
        refused(V5, &bad, kind, "5.0/MQTT-4.8.2-2");
    }
    // The filter after the share name obeys the usual rules.
    refused(
        V5,
        &subscribe_v5(b"$share/g/a/#/b", 0),
        bad_filter("$share/g/a/#/b", FilterError::MultiLevelWildcard),
        "5.0/MQTT-4.7.1-1",
    );
    accepted(V5, &subscribe_v5(b"$share/g/a", 0));
    accepted(V5, &subscribe_v5(b"$share/g/#", 0));
    // In 3.1.1 "$share" has no meaning: an ordinary filter.
    accepted(V311, &subscribe_v311(b"$share/g"));
}

#[test]
fn subscribe_without_filter() {
    let bad: &[u8] = &[
        0x82, 0x02, // SUBSCRIBE, remaining length 2
        0x00, 0x01, // packet identifier 1; no payload
    ];
    refused(V311, bad, K::EmptySubscribe, "3.1.1/MQTT-3.8.3-3");
    accepted(V311, &subscribe_v311(b"a"));
    let bad: &[u8] = &[
        0x82, 0x03, // SUBSCRIBE, remaining length 3
        0x00, 0x01, // packet identifier 1
        0x00, // property length 0; no payload
    ];
    refused(V5, bad, K::EmptySubscribe, "5.0/MQTT-3.8.3-2");
    accepted(V5, &subscribe_v5(b"a", 0));
}

#[test]
fn unsubscribe_without_filter() {
    let bad: &[u8] = &[
        0xA2, 0x02, // UNSUBSCRIBE, remaining length 2
        0x00, 0x01, // packet identifier 1; no payload
    ];
    refused(V311, bad, K::EmptyUnsubscribe, "3.1.1/MQTT-3.10.3-2");
    accepted(V311, &[0xA2, 0x05, 0x00, 0x01, 0x00, 0x01, b'a']);
    let bad: &[u8] = &[
        0xA2, 0x03, // UNSUBSCRIBE, remaining length 3
        0x00, 0x01, // packet identifier 1
        0x00, // property length 0; no payload
    ];
    refused(V5, bad, K::EmptyUnsubscribe, "5.0/MQTT-3.10.3-2");
    accepted(V5, &[0xA2, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, b'a']);
}

#[test]
fn subscription_options_reserved_bits_3_1_1() {
    // In 3.1.1 only bits 0-1 (QoS) exist: bits 2-7 are reserved.
    for bit in 2..8 {
        let options = (1u8 << bit) | 0x01;
        let bad = with_byte(&subscribe_v311(b"a"), 7, options);
        let kind = K::SubscriptionOptionsReserved(options);
        refused(V311, &bad, kind, "3.1.1/MQTT-3.8.3-4");
    }
    accepted(V311, &with_byte(&subscribe_v311(b"a"), 7, 0x01));
}

#[test]
fn subscription_options_reserved_bits_5_0() {
    // 0x2D: QoS 1, No Local, Retain As Published, Retain Handling 2: every defined bit used.
    for bit in 6..8 {
        let options = (1u8 << bit) | 0x2D;
        let kind = K::SubscriptionOptionsReserved(options);
        refused(V5, &subscribe_v5(b"a", options), kind, "5.0/MQTT-3.8.3-5");
    }
    let Packet::Subscribe(s) = accepted(V5, &subscribe_v5(b"a", 0x2D)) else {
        panic!("not a SUBSCRIBE")
    };
    let o = s.subscriptions[0].options;
    assert!(o.no_local && o.retain_as_published && o.retain_handling == 2);
}

#[test]
fn retain_handling_3() {
    let bad = subscribe_v5(b"a", 0x30); // options: Retain Handling 3, QoS 0
    refused(V5, &bad, K::InvalidRetainHandling, "5.0/MQTT-4.13.1-1");
    accepted(V5, &subscribe_v5(b"a", 0x20));
}

#[test]
fn no_local_on_shared_subscription() {
    let bad: &[u8] = &[
        0x82, 0x10, // SUBSCRIBE, remaining length 16
        0x00, 0x01, // packet identifier 1
        0x00, // property length 0
        0x00, 0x0A, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/',
        b'a', // "$share/g/a"
        0x04, // options: No Local, QoS 0
    ];
    assert_eq!(bad, subscribe_v5(b"$share/g/a", 0x04));
    let kind = K::NoLocalOnSharedSubscription("$share/g/a".into());
    refused(V5, bad, kind, "5.0/MQTT-3.8.3-4");
    accepted(V5, &with_byte(bad, 17, 0x00));
    // No Local on an ordinary subscription is fine.
    accepted(V5, &subscribe_v5(b"a", 0x04));
}
