//! Every fault changes what the broker does in a small script of its own: the script runs
//! on a correct broker and on one with only that fault on, and the two transcripts differ.
//! (Whether the difference is the intended one is for the conformance scenarios to show.)

use super::connect::raw_connect;
use super::*;
use crate::core::faults::Faults;
use mqttspec_codec::{Disconnect, PubRec, Unsubscribe};

fn run(config: Config, script: &dyn Fn(&mut Bench)) -> Vec<String> {
    let mut b = Bench::new(config);
    script(&mut b);
    b.trace
}

pub(super) fn check(name: &str, script: &dyn Fn(&mut Bench)) {
    let correct = run(Config::default(), script);
    let faults = Faults::only(name).unwrap();
    let broken = run(
        Config {
            faults,
            ..Config::default()
        },
        script,
    );
    assert_ne!(
        correct, broken,
        "fault {name} changes nothing in its script"
    );
}

fn watcher(b: &mut Bench, filter: &str) -> ConnId {
    let w = b.connect("watcher", true);
    b.subscribe(w, filter, QoS::ExactlyOnce);
    w
}

fn willing(b: &mut Bench, retain: bool, keep_alive: u16) -> ConnId {
    let mut c = with_will(connect("c", true), "will", QoS::AtLeastOnce, retain);
    c.keep_alive = keep_alive;
    b.connect_with(c).0
}

fn late_subscriber(b: &mut Bench, filter: &str) {
    let late = b.connect("late", true);
    b.subscribe(late, filter, QoS::ExactlyOnce);
}

fn offline_then_back(b: &mut Bench, qos: QoS) {
    let s = b.connect("s", false);
    b.subscribe(s, "t", qos);
    b.drop_conn(s);
    let p = b.connect("p", true);
    b.send(p, publish("t", qos, 1, "queued"));
    // Not `connect`: with a fault the CONNACK may not come first.
    let s = b.open();
    b.send(s, connect("s", false));
}

fn inflight_then_back(b: &mut Bench, qos: QoS, pubrec: bool) {
    let s = b.connect("s", false);
    b.subscribe(s, "t", qos);
    let p = b.connect("p", true);
    b.send(p, publish("t", qos, 1, "x"));
    let id = b.publishes(s)[0].packet_id;
    if pubrec {
        b.send(s, PubRec::new(id));
    }
    b.drop_conn(s);
    b.connect("s", false);
}

/// `s` subscribed to `filter`, then `p` publishes on `topic`.
fn route(b: &mut Bench, filter: &str, topic: &str) {
    let s = b.connect("s", true);
    b.subscribe(s, filter, QoS::AtMostOnce);
    let p = b.connect("p", true);
    b.send(p, Publish::new(topic, QoS::AtMostOnce, "x"));
}

fn raw_publish(topic: &[u8]) -> Vec<u8> {
    let mut f = vec![0x32, (topic.len() + 4) as u8, 0, topic.len() as u8];
    f.extend_from_slice(topic);
    f.extend_from_slice(&[0, 1]);
    f
}

fn unsubscribe(filters: &[&str]) -> Unsubscribe {
    Unsubscribe {
        packet_id: 5,
        filters: filters.iter().map(|f| (*f).into()).collect(),
        ..Unsubscribe::default()
    }
}

macro_rules! scripts {
    ($($name:ident => |$b:ident| $body:block)*) => {
        $(#[test] fn $name() { check(stringify!($name), &|$b: &mut Bench| $body); })*
        const COVERED: &[&str] = &[$(stringify!($name)),*];
    };
}

#[test]
fn every_fault_has_a_script() {
    for name in Faults::NAMES {
        assert!(
            COVERED.contains(name)
                || super::faults_v5::COVERED.contains(name)
                || super::faults_v5::COVERED_WITH_CONFIG.contains(name)
                || super::faults_v5_a::COVERED.contains(name)
                || super::faults_v5_b::COVERED.contains(name)
                || super::faults_stateful::COVERED.contains(name)
                || super::faults_fuzz::COVERED.contains(name),
            "no script for {name}"
        );
    }
}

scripts! {
    qos0_dup_set => |b| { route(b, "t", "t"); }
    new_delivery_dup_set => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::AtLeastOnce);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtLeastOnce, 1, "x"));
    }
    retain_flag_kept_on_forward => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "r", QoS::AtMostOnce);
        let p = b.connect("p", true);
        b.send(p, retained("r", QoS::AtMostOnce, 0, "x"));
    }
    ignore_granted_qos => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::AtMostOnce);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtLeastOnce, 1, "x"));
    }
    qos0_retained_ignored => |b| {
        let p = b.connect("p", true);
        b.send(p, retained("r", QoS::AtLeastOnce, 1, "old"));
        b.send(p, retained("r", QoS::AtMostOnce, 0, "new"));
        late_subscriber(b, "r");
    }
    empty_retained_stored => |b| {
        let p = b.connect("p", true);
        b.send(p, retained("r", QoS::AtMostOnce, 0, ""));
        late_subscriber(b, "r");
    }
    retain0_clears_retained => |b| {
        let p = b.connect("p", true);
        b.send(p, retained("r", QoS::AtMostOnce, 0, "kept"));
        b.send(p, publish("r", QoS::AtMostOnce, 0, "live"));
        late_subscriber(b, "r");
    }
    deliver_to_one_subscriber => |b| {
        let one = b.connect("one", true);
        b.subscribe(one, "t", QoS::AtMostOnce);
        let two = b.connect("two", true);
        b.subscribe(two, "t", QoS::AtMostOnce);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtMostOnce, 0, "x"));
    }
    no_pubcomp => |b| {
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::ExactlyOnce, 1, "x"));
        b.send(p, Packet::PubRel(mqttspec_codec::PubRel::new(1)));
    }
    queue_lifo => |b| {
        let s = b.connect("s", false);
        b.subscribe(s, "t", QoS::AtLeastOnce);
        b.drop_conn(s);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtLeastOnce, 1, "first"));
        b.send(p, publish("t", QoS::AtLeastOnce, 2, "second"));
        let s = b.open();
        b.send(s, connect("s", false));
    }
    reuse_packet_id => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::AtLeastOnce);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtLeastOnce, 1, "a"));
        b.send(p, publish("t", QoS::AtLeastOnce, 2, "b"));
    }
    accept_second_connect => |b| { let c = b.connect("c", true); b.send(c, connect("c", true)); }
    ignore_protocol_name => |b| {
        let c = b.open();
        b.send_raw(c, &raw_connect(b"MQTX", 4, 2, "c", &[]));
        let c = b.open();
        b.send_raw(c, &raw_connect(b"MQTTX", 4, 2, "d", &[]));
    }
    accept_any_protocol_level => |b| { let c = b.open(); b.send_raw(c, &raw_connect(b"MQTT", 9, 2, "c", &[])); }
    no_close_after_refused_connack => |b| { b.connect_with(connect("", false)); }
    ignore_connect_reserved_flag => |b| { let c = b.open(); b.send_raw(c, &raw_connect(b"MQTT", 4, 3, "c", &[])); }
    accept_will_qos_3 => |b| {
        let c = b.open();
        b.send_raw(c, &raw_connect(b"MQTT", 4, 0x1E, "c", &[0, 1, b't', 0, 1, b'x']));
    }
    ignore_will_bits_without_will_flag => |b| { let c = b.open(); b.send_raw(c, &raw_connect(b"MQTT", 4, 0x0A, "c", &[])); }
    accept_empty_client_id_persistent => |b| { b.connect_with(connect("", false)); }
    empty_client_id_shared => |b| { b.connect("", true); b.connect("", true); }
    reject_client_id_over_16_bytes => |b| { b.connect_with(connect("abcdefghijklmnopq", true)); }
    no_takeover => |b| { b.connect("x", true); b.connect_with(connect("x", true)); }
    reject_duplicate_client_id => |b| { b.connect("x", true); b.connect_with(connect("x", true)); }
    process_packets_after_refused_connect => |b| {
        // The PUBLISH in the same bytes as the CONNECT, then in bytes of its own.
        let c = b.open();
        let mut bytes = raw_connect(b"MQTT", 9, 2, "c", &[]);
        let p = Packet::from(retained("r", QoS::AtMostOnce, 0, "x"));
        bytes.extend_from_slice(&p.to_bytes(ProtocolVersion::V311).unwrap());
        b.send_raw(c, &bytes);
        b.send(c, retained("s", QoS::AtMostOnce, 0, "x"));
        b.advance(Duration::from_secs(1));
        late_subscriber(b, "r");
        late_subscriber(b, "s");
    }
    session_present_always_set => |b| { b.connect("c", true); }
    session_present_never_set => |b| { let c = b.connect("c", false); b.drop_conn(c); b.connect("c", false); }
    forget_session_on_disconnect => |b| { let c = b.connect("c", false); b.drop_conn(c); b.connect("c", false); }
    forget_subscriptions_on_disconnect => |b| { offline_then_back(b, QoS::AtLeastOnce); }
    no_offline_queue => |b| { offline_then_back(b, QoS::AtLeastOnce); }
    queued_before_connack => |b| { offline_then_back(b, QoS::AtLeastOnce); }
    clean_session_ignored => |b| {
        let c = b.connect("c", false);
        b.drop_conn(c);
        b.connect_with(connect("c", true));
    }
    keep_clean_session_state => |b| { let c = b.connect("c", true); b.drop_conn(c); b.connect_with(connect("c", false)); }
    retained_tied_to_session => |b| {
        let p = b.connect("p", true);
        b.send(p, retained("r", QoS::AtMostOnce, 0, "x"));
        b.send(p, Disconnect::default());
        late_subscriber(b, "r");
    }
    session_shared_across_client_ids => |b| { let a = b.connect("a", false); b.drop_conn(a); b.connect_with(connect("b", false)); }
    session_dropped_while_connected => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::AtMostOnce);
        b.advance(Duration::from_secs(2));
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtMostOnce, 0, "x"));
    }
    no_redelivery_on_reconnect => |b| { inflight_then_back(b, QoS::AtLeastOnce, false); }
    redelivery_without_dup => |b| { inflight_then_back(b, QoS::AtLeastOnce, false); }
    redelivery_new_packet_id => |b| { inflight_then_back(b, QoS::AtLeastOnce, false); }
    no_pubrel_resend_on_reconnect => |b| { inflight_then_back(b, QoS::ExactlyOnce, true); }
    no_will => |b| { watcher(b, "will"); let c = willing(b, false, 0); b.drop_conn(c); }
    no_will_on_keepalive_timeout => |b| { watcher(b, "will"); willing(b, false, 1); b.advance(Duration::from_secs(2)); }
    no_will_on_protocol_error => |b| { watcher(b, "will"); let c = willing(b, false, 0); b.send_raw(c, &[0x36, 0]); }
    no_will_on_takeover => |b| { watcher(b, "will"); willing(b, false, 0); b.connect("c", true); }
    will_qos_ignored => |b| { watcher(b, "will"); let c = willing(b, false, 0); b.drop_conn(c); }
    will_retain_ignored => |b| { let c = willing(b, true, 0); b.drop_conn(c); late_subscriber(b, "will"); }
    will_always_retained => |b| { let c = willing(b, false, 0); b.drop_conn(c); late_subscriber(b, "will"); }
    will_kept_across_connections => |b| {
        watcher(b, "will");
        let c = willing(b, false, 0);
        b.send(c, Disconnect::default());
        let again = b.connect("c", true);
        b.drop_conn(again);
    }
    will_sent_after_disconnect => |b| { watcher(b, "will"); let c = willing(b, false, 0); b.send(c, Disconnect::default()); }
    ignore_disconnect_reserved_flags => |b| { watcher(b, "will"); let c = willing(b, false, 0); b.send_raw(c, &[0xE1, 0]); }
    ignore_keepalive => |b| { willing(b, false, 1); b.advance(Duration::from_secs(2)); }
    keepalive_close_at_3x => |b| { willing(b, false, 10); b.advance(Duration::from_secs(20)); }
    keepalive_not_reset_by_packets => |b| {
        let c = willing(b, false, 2);
        b.advance(Duration::from_secs(2));
        b.send(c, Packet::PingReq);
        b.advance(Duration::from_secs(2));
    }
    keepalive_reset_only_by_pingreq => |b| {
        let c = willing(b, false, 2);
        b.advance(Duration::from_secs(2));
        b.send(c, publish("t", QoS::AtMostOnce, 0, "x"));
        b.advance(Duration::from_secs(2));
    }
    no_pingresp => |b| { let c = b.connect("c", true); b.send(c, Packet::PingReq); }
    wrong_puback_packet_id => |b| { let c = b.connect("c", true); b.send(c, publish("t", QoS::AtLeastOnce, 7, "x")); }
    dup_qos2_delivery => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::ExactlyOnce);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::ExactlyOnce, 7, "x"));
        b.send(p, Publish { dup: true, ..publish("t", QoS::ExactlyOnce, 7, "x") });
    }
    lenient_decoding => |b| { let c = b.connect("c", true); b.send_raw(c, &[0x36, 5, 0, 1, b't', 0, 1]); }
    suback_wrong_packet_id => |b| { let c = b.connect("c", true); b.send(c, subscribe(7, &[("t", QoS::AtMostOnce)])); }
    no_suback_for_existing_filter => |b| {
        let c = b.connect("c", true);
        b.send(c, subscribe(1, &[("t", QoS::AtMostOnce)]));
        b.send(c, subscribe(2, &[("t", QoS::AtMostOnce)]));
    }
    skip_retained_on_subscribe => |b| {
        let p = b.connect("p", true);
        b.send(p, retained("r", QoS::AtMostOnce, 0, "x"));
        late_subscriber(b, "r");
    }
    resubscribe_skips_retained => |b| {
        let p = b.connect("p", true);
        b.send(p, retained("r", QoS::AtMostOnce, 0, "x"));
        let s = b.connect("s", true);
        b.send(s, subscribe(1, &[("r", QoS::AtMostOnce)]));
        b.send(s, subscribe(2, &[("r", QoS::AtMostOnce)]));
    }
    resubscribe_keeps_old_subscription => |b| {
        let s = b.connect("s", true);
        b.send(s, subscribe(1, &[("t", QoS::ExactlyOnce)]));
        b.send(s, subscribe(2, &[("t", QoS::AtMostOnce)]));
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::ExactlyOnce, 1, "x"));
    }
    resubscribe_adds_duplicate => |b| {
        let s = b.connect("s", true);
        b.send(s, subscribe(1, &[("t", QoS::AtMostOnce)]));
        b.send(s, subscribe(2, &[("t", QoS::AtMostOnce)]));
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtMostOnce, 0, "x"));
    }
    subscribe_first_filter_only => |b| { let c = b.connect("c", true); b.send(c, subscribe(1, &[("a", QoS::AtMostOnce), ("b", QoS::AtLeastOnce)])); }
    suback_per_filter => |b| { let c = b.connect("c", true); b.send(c, subscribe(1, &[("a", QoS::AtMostOnce), ("b", QoS::AtLeastOnce)])); }
    suback_codes_reversed => |b| { let c = b.connect("c", true); b.send(c, subscribe(1, &[("a", QoS::AtMostOnce), ("b", QoS::AtLeastOnce)])); }
    suback_v5_failure_code => |b| { let c = b.connect("c", true); b.send_raw(c, &[0x82, 7, 0, 1, 0, 2, b'a', b'#', 0]); }
    accept_invalid_filters => |b| { let c = b.connect("c", true); b.send_raw(c, &[0x82, 7, 0, 1, 0, 2, b'a', b'#', 0]); }
    accept_zero_packet_id => |b| { let c = b.connect("c", true); b.send_raw(c, &[0x82, 6, 0, 0, 0, 1, b'a', 0]); }
    accept_empty_subscribe => |b| { let c = b.connect("c", true); b.send_raw(c, &[0x82, 2, 0, 1]); }
    lenient_subscribe_options => |b| { let c = b.connect("c", true); b.send_raw(c, &[0x82, 6, 0, 1, 0, 1, b'a', 3]); }
    unsuback_wrong_packet_id => |b| { let c = b.connect("c", true); b.send(c, unsubscribe(&["a"])); }
    no_unsuback_when_nothing_removed => |b| { let c = b.connect("c", true); b.send(c, unsubscribe(&["a"])); }
    unsubscribe_ignored => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::AtMostOnce);
        b.send(s, unsubscribe(&["t"]));
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtMostOnce, 0, "x"));
    }
    unsubscribe_matches_wildcards => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "a/b", QoS::AtMostOnce);
        b.send(s, unsubscribe(&["a/+"]));
        let p = b.connect("p", true);
        b.send(p, publish("a/b", QoS::AtMostOnce, 0, "x"));
    }
    unsubscribe_first_filter_only => |b| {
        let s = b.connect("s", true);
        b.send(s, subscribe(1, &[("a", QoS::AtMostOnce), ("b", QoS::AtMostOnce)]));
        b.send(s, unsubscribe(&["a", "b"]));
        let p = b.connect("p", true);
        b.send(p, publish("b", QoS::AtMostOnce, 0, "x"));
    }
    unsuback_per_filter => |b| { let c = b.connect("c", true); b.send(c, unsubscribe(&["a", "b"])); }
    unsubscribe_drops_inflight => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::ExactlyOnce);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::ExactlyOnce, 1, "x"));
        let id = b.publishes(s)[0].packet_id;
        b.send(s, unsubscribe(&["t"]));
        b.send(s, PubRec::new(id));
    }
    plus_matches_multiple_levels => |b| { route(b, "a/+/x", "a/b/c/x"); }
    wildcards_unsupported_but_granted => |b| { route(b, "a/+", "a/b"); }
    empty_levels_dropped => |b| { route(b, "a/b", "a//b"); }
    hash_skips_parent => |b| { route(b, "x/#", "x"); }
    hash_string_prefix => |b| { route(b, "x/#", "xy"); }
    case_insensitive_matching => |b| { route(b, "A", "a"); }
    topic_whitespace_trimmed => |b| { route(b, "a", "a "); }
    unicode_normalised_matching => |b| { route(b, "caf\u{e9}", "cafe\u{301}"); }
    wildcard_matches_dollar_topics => |b| { route(b, "+/x", "$a/x"); }
    accept_empty_topic => |b| { let c = b.connect("c", true); b.send_raw(c, &raw_publish(b"")); }
    accept_wildcards_in_topic_name => |b| { let c = b.connect("c", true); b.send_raw(c, &raw_publish(b"a/+")); }
    hash_matches_dollar_topics => |b| { route(b, "#", "$a/x"); }
    long_topics_truncated => |b| { route(b, "#", &"x".repeat(1100)); }
    payloads_truncated_over_100_bytes => |b| {
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::AtMostOnce);
        let p = b.connect("p", true);
        b.send(p, Publish::new("t", QoS::AtMostOnce, "x".repeat(101)));
    }
    accept_invalid_utf8 => |b| { let c = b.connect("c", true); b.send_raw(c, &raw_publish(&[b'a', 0xFF])); }
    accept_null_character => |b| { let c = b.connect("c", true); b.send_raw(c, &raw_publish(b"a\0")); }
    strip_byte_order_mark => |b| { route(b, "#", "\u{feff}x"); }
    ignore_reserved_flags => |b| { let c = b.connect("c", true); b.send_raw(c, &[0xC1, 0]); }
    lenient_remaining_length => |b| {
        let c = b.connect("c", true);
        b.send_raw(c, &[0xC0, 0x80, 0x80, 0x80, 0x80, 0x00]);
        b.send_raw(c, &[0x40, 1, 0]);
        b.send(c, Packet::PingReq);
    }
    ignore_unknown_packet_types => |b| { let c = b.connect("c", true); b.send_raw(c, &[0x00, 0]); b.send(c, Packet::PingReq); }
    ignore_server_only_packets => |b| { let c = b.connect("c", true); b.send(c, Packet::PingResp); b.send(c, Packet::PingReq); }
}
