//! The 5.0 rules of the model, one by one (v5.rs).

use super::judge::{missing, unexpected};
use super::v5::*;
use super::*;

fn msg(id: MsgId, publisher: Slot, topic: &str, qos: u8, retain: bool) -> Message {
    Message {
        id,
        key: Key::Id(id),
        publisher,
        topic: topic.into(),
        qos,
        retain,
        payload: format!("m{id}:").into_bytes(),
        will: false,
    }
}

fn seen(slot: Slot, conn: ConnNo, id: MsgId, qos: u8, retain: bool) -> Observed {
    Observed {
        seq: 0,
        slot,
        conn,
        key: Some(Key::Id(id)),
        topic: String::new(),
        qos,
        retain,
        dup: false,
        intact: true,
        v5: None,
    }
}

fn c5(expiry: u32) -> ConnectV5 {
    ConnectV5 {
        clean_start: false,
        expiry,
        will: None,
        will_delay: 0,
        hold: super::Hold::No,
    }
}

fn will(id: MsgId, delay: u32, expiry: u32) -> ConnectV5 {
    ConnectV5 {
        will: Some(WillSpec {
            id,
            topic: "w".into(),
            qos: 1,
            retain: false,
            payload: format!("m{id}:will").into_bytes(),
        }),
        will_delay: delay,
        ..c5(expiry)
    }
}

fn opts(no_local: bool, rap: bool, rh: u8) -> SubOpts {
    SubOpts {
        no_local,
        retain_as_published: rap,
        retain_handling: rh,
    }
}

fn owed(m: &Model, slot: Slot, id: MsgId) -> Vec<(bool, bool)> {
    m.obligations()
        .iter()
        .filter(|o| o.slot == slot && o.msg == id)
        .map(|o| (o.must, o.retain))
        .collect()
}

#[test]
fn no_local_leaves_out_the_clients_own_messages() {
    let mut m = Model::new();
    m.connect_v5(0, c5(NEVER));
    m.subscribe_v5(0, &[("a".into(), 1, opts(true, false, 0))], &[1]);
    m.publish(msg(1, 0, "a", 1, false));
    assert!(owed(&m, 0, 1).is_empty());
    // Another client's message still comes.
    m.publish(msg(2, 1, "a", 1, false));
    assert_eq!(owed(&m, 0, 2), vec![(true, false)]);
    // Its own copy is a violation, of 5.0/MQTT-3.8.3-3.
    let v = unexpected(&m, &[seen(0, 0, 1, 1, false)]).map(|v| explain_expired(&m, v));
    assert_eq!(v.map(|v| v.rule), Some(vec!["5.0/MQTT-3.8.3-3".to_owned()]));
}

#[test]
fn retain_as_published_keeps_retain_on_forwarded_messages() {
    let mut m = Model::new();
    m.connect_v5(0, c5(NEVER));
    m.subscribe_v5(
        0,
        &[
            ("a".into(), 1, opts(false, true, 0)),
            ("b".into(), 1, opts(false, false, 0)),
        ],
        &[1, 1],
    );
    m.publish(msg(1, 1, "a", 1, true));
    m.publish(msg(2, 1, "b", 1, true));
    assert_eq!(owed(&m, 0, 1), vec![(true, true)]);
    assert_eq!(owed(&m, 0, 2), vec![(true, false)]);
    assert!(missing(&m, &[seen(0, 0, 1, 1, false), seen(0, 0, 2, 1, false)]).is_some());
    assert!(missing(&m, &[seen(0, 0, 1, 1, true), seen(0, 0, 2, 1, false)]).is_none());
}

#[test]
fn overlapping_subscriptions_that_disagree_on_retain_as_published_allow_either() {
    let mut m = Model::new();
    m.connect_v5(0, c5(NEVER));
    m.subscribe_v5(
        0,
        &[
            ("a".into(), 1, opts(false, true, 0)),
            ("#".into(), 1, opts(false, false, 0)),
        ],
        &[1, 1],
    );
    m.publish(msg(1, 1, "a", 1, true));
    for r in [true, false] {
        assert!(unexpected(&m, &[seen(0, 0, 1, 1, r)]).is_none());
    }
}

#[test]
fn retain_handling_0_1_2() {
    let mut m = Model::new();
    m.publish(msg(1, 1, "a", 1, true));
    m.connect_v5(0, c5(NEVER));
    let retained = |m: &Model| {
        m.obligations()
            .iter()
            .filter(|o| o.cause == Cause::Retained)
            .count()
    };
    m.subscribe_v5(0, &[("a".into(), 1, opts(false, false, 2))], &[1]);
    assert_eq!(retained(&m), 0, "2: never");
    m.subscribe_v5(0, &[("a".into(), 1, opts(false, false, 1))], &[1]);
    assert_eq!(retained(&m), 0, "1: not for an existing subscription");
    m.subscribe_v5(0, &[("a/#".into(), 1, opts(false, false, 1))], &[1]);
    assert_eq!(retained(&m), 1, "1: for a new one");
    m.subscribe_v5(0, &[("a".into(), 1, opts(false, false, 0))], &[1]);
    assert_eq!(retained(&m), 2, "0: always");
}

#[test]
fn session_expiry_zero_ends_with_the_connection() {
    let mut m = Model::new();
    m.connect_v5(0, c5(0));
    m.subscribe_v5(0, &[("a".into(), 1, SubOpts::default())], &[1]);
    m.drop_conn(0);
    m.publish(msg(1, 1, "a", 1, false));
    assert!(!m.connect_v5(0, c5(NEVER)).session_present);
    assert!(owed(&m, 0, 1).is_empty());
}

#[test]
fn session_expiry_in_time() {
    let mut m = Model::new();
    m.connect_v5(0, c5(2));
    m.subscribe_v5(0, &[("a".into(), 1, SubOpts::default())], &[1]);
    m.set_now(1000);
    m.disconnect(0);
    // Surely alive before 3000 - EARLY, unknown until 3000 + LATE, surely gone after.
    m.set_now(2000);
    assert_eq!(m.ambiguous_until(), None);
    m.sweep();
    m.publish(msg(1, 1, "a", 1, false));
    m.set_now(2600);
    assert_eq!(m.ambiguous_until(), Some(3000 + LATE));
    m.set_now(3000 + LATE + 1);
    assert_eq!(m.ambiguous_until(), None);
    m.sweep();
    assert!(!m.connect_v5(0, c5(2)).session_present);
    // The queued message went with the session.
    assert!(owed(&m, 0, 1).iter().all(|(must, _)| !must));
}

#[test]
fn a_session_that_has_not_expired_is_resumed() {
    let mut m = Model::new();
    m.connect_v5(0, c5(2));
    m.disconnect(0);
    m.set_now(1000);
    m.sweep();
    assert!(m.connect_v5(0, c5(2)).session_present);
}

#[test]
fn disconnect_raising_expiry_from_zero_is_a_protocol_error() {
    let mut m = Model::new();
    m.connect_v5(1, c5(NEVER));
    m.subscribe_v5(1, &[("w".into(), 1, SubOpts::default())], &[1]);
    m.connect_v5(0, will(9, 0, 0));
    assert!(!m.disconnect_v5(0, Some(NEVER), false));
    // The will is published (closed for a protocol error) and the session ended.
    assert_eq!(owed(&m, 1, 9), vec![(true, false)]);
    assert!(!m.connect_v5(0, c5(NEVER)).session_present);
    // Lowering or keeping it is fine.
    let mut m = Model::new();
    m.connect_v5(0, c5(NEVER));
    assert!(m.disconnect_v5(0, Some(0), false));
    assert!(!m.connect_v5(0, c5(NEVER)).session_present);
}

#[test]
fn will_delay_publishes_later_and_a_reconnect_cancels_it() {
    let mut m = Model::new();
    m.connect_v5(1, c5(NEVER));
    m.subscribe_v5(1, &[("w".into(), 1, SubOpts::default())], &[1]);
    m.connect_v5(0, will(9, 2, NEVER));
    m.drop_conn(0);
    assert!(owed(&m, 1, 9).is_empty(), "not at once");
    m.set_now(2000 + LATE + 1);
    assert!(m.sweep());
    assert_eq!(owed(&m, 1, 9), vec![(true, false)]);
    // A reconnect within the delay cancels it (5.0/MQTT-3.1.3-9).
    let mut m = Model::new();
    m.connect_v5(1, c5(NEVER));
    m.subscribe_v5(1, &[("w".into(), 1, SubOpts::default())], &[1]);
    m.connect_v5(0, will(9, 2, NEVER));
    m.drop_conn(0);
    m.set_now(500);
    m.connect_v5(0, c5(NEVER));
    m.set_now(10_000);
    assert!(!m.sweep());
    assert!(owed(&m, 1, 9).is_empty());
}

#[test]
fn will_delay_is_cut_short_by_the_session_end() {
    let mut m = Model::new();
    m.connect_v5(1, c5(NEVER));
    m.subscribe_v5(1, &[("w".into(), 1, SubOpts::default())], &[1]);
    // Session Expiry 0: the session ends with the connection, so the will goes at once.
    m.connect_v5(0, will(9, 2, 0));
    m.drop_conn(0);
    assert_eq!(owed(&m, 1, 9), vec![(true, false)]);
}

#[test]
fn disconnect_with_will_message_publishes_the_will() {
    let mut m = Model::new();
    m.connect_v5(1, c5(NEVER));
    m.subscribe_v5(1, &[("w".into(), 1, SubOpts::default())], &[1]);
    m.connect_v5(0, will(9, 0, NEVER));
    m.disconnect_v5(0, None, true);
    assert_eq!(owed(&m, 1, 9), vec![(true, false)]);
    m.connect_v5(0, will(10, 0, NEVER));
    m.disconnect_v5(0, None, false);
    assert!(owed(&m, 1, 10).is_empty());
}

#[test]
fn expired_queued_messages_are_not_delivered() {
    let mut m = Model::new();
    m.connect_v5(0, c5(NEVER));
    m.subscribe_v5(0, &[("a".into(), 1, SubOpts::default())], &[1]);
    m.disconnect(0);
    for (id, e) in [(1, 2), (2, 60)] {
        m.note_v5(
            id,
            MsgV5 {
                expiry: Some(e),
                ..MsgV5::default()
            },
        );
        m.publish(msg(id, 1, "a", 1, false));
    }
    m.set_now(2000);
    assert_eq!(m.ambiguous_until(), Some(2000 + LATE));
    m.set_now(2000 + LATE + 1);
    m.sweep();
    m.connect_v5(0, c5(NEVER));
    let must: Vec<MsgId> = m
        .obligations()
        .iter()
        .filter(|o| o.must)
        .map(|o| o.msg)
        .collect();
    assert_eq!(must, vec![2]);
    let v = unexpected(&m, &[seen(0, 1, 1, 1, false)]).map(|v| explain_expired(&m, v));
    assert_eq!(v.map(|v| v.rule), Some(vec!["5.0/MQTT-3.3.2-5".to_owned()]));
}

#[test]
fn forwarded_expiry_is_reduced_by_the_wait() {
    let info = MsgV5 {
        expiry: Some(60),
        user: Vec::new(),
        sent_ms: 1000,
        acked_ms: 1010,
    };
    // Queued 4 s (the connection opened at 5010): 55 to 57 are right; 60 is not reduced.
    let (lo, hi) = expiry_range(60, &info, 5010, 5100);
    assert!(lo <= 55 && hi == 57 && hi < 60, "{lo} {hi}");
    // Delivered at once: up to 60.
    assert_eq!(expiry_range(60, &info, 0, 1020).1, 60);
}

fn v5_seen(
    slot: Slot,
    conn: ConnNo,
    id: MsgId,
    expiry: Option<u32>,
    user: &[(&str, &str)],
) -> Observed {
    Observed {
        v5: Some(SeenV5 {
            expiry,
            user: user
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            at_ms: 1100,
        }),
        ..seen(slot, conn, id, 1, false)
    }
}

#[test]
fn user_properties_forwarded_in_order_and_expiry_present() {
    let mut m = Model::new();
    m.connect_v5(0, c5(NEVER));
    m.subscribe_v5(0, &[("a".into(), 1, SubOpts::default())], &[1]);
    m.note_v5(
        1,
        MsgV5 {
            expiry: Some(60),
            user: vec![("k".into(), "1".into()), ("k".into(), "2".into())],
            sent_ms: 1000,
            acked_ms: 1010,
        },
    );
    m.publish(msg(1, 1, "a", 1, false));
    let ok = [v5_seen(0, 0, 1, Some(60), &[("k", "1"), ("k", "2")])];
    assert!(check(&m, &ok).is_none());
    for bad in [
        v5_seen(0, 0, 1, Some(60), &[("k", "2"), ("k", "1")]),
        v5_seen(0, 0, 1, Some(60), &[]),
        v5_seen(0, 0, 1, None, &[("k", "1"), ("k", "2")]),
    ] {
        assert!(check(&m, &[bad]).is_some());
    }
    // A 3.1.1 receiver sees no properties: nothing to judge.
    assert!(check(&m, &[seen(0, 0, 1, 1, false)]).is_none());
}

#[test]
fn shared_subscription_one_member_gets_each_message() {
    let mut m = Model::new();
    m.connect_v5(0, c5(NEVER));
    m.connect_v5(1, c5(NEVER));
    m.subscribe_shared(0, 1);
    m.subscribe_shared(1, 2);
    m.publish(msg(1, 2, "^/a", 2, false));
    // Both connected: one copy must come, to either, at its own grant (5.0/MQTT-4.8.2-3).
    assert!(missing_shared(&m, &[]).is_some());
    let to0 = [seen(0, 0, 1, 1, false)];
    let to1 = [seen(1, 1, 1, 2, false)];
    for one in [&to0[..], &to1[..]] {
        assert!(missing_shared(&m, one).is_none());
        assert!(unexpected(&m, one).is_none() && check(&m, one).is_none());
    }
    // Both: one too many.
    let both = [to0[0].clone(), to1[0].clone()];
    assert!(check(&m, &both).is_some());
    // At the other member's grant: wrong QoS.
    assert!(unexpected(&m, &[seen(0, 0, 1, 2, false)]).is_some());
}

#[test]
fn shared_message_may_wait_for_an_offline_member() {
    let mut m = Model::new();
    m.connect_v5(0, c5(NEVER));
    m.connect_v5(1, c5(NEVER));
    m.subscribe_shared(0, 1);
    m.subscribe_shared(1, 1);
    m.drop_conn(1);
    m.publish(msg(1, 2, "^/a", 1, false));
    // The broker may have chosen the offline member's session.
    assert!(missing_shared(&m, &[]).is_none());
    assert!(unexpected(&m, &[seen(1, 2, 1, 1, false)]).is_none());
}

#[test]
fn shared_qos1_in_flight_may_go_to_another_member_but_not_qos2() {
    for (qos, extra) in [(1u8, true), (2, false)] {
        let mut m = Model::new();
        m.connect_v5(
            0,
            ConnectV5 {
                hold: super::Hold::All,
                ..c5(NEVER)
            },
        );
        m.connect_v5(1, c5(NEVER));
        m.subscribe_shared(0, 2);
        m.subscribe_shared(1, 2);
        m.publish(msg(1, 2, "^/a", qos, false));
        m.drop_conn(0);
        let both = [seen(0, 0, 1, qos, false), seen(1, 1, 1, qos, false)];
        assert_eq!(check(&m, &both).is_none(), extra, "QoS {qos}");
    }
}

#[test]
fn a_5_0_clients_finding_cites_5_0_statements() {
    let v = Violation {
        kind: super::judge::ViolationKind::SessionPresent,
        slot: Some(0),
        msg: None,
        rule: vec!["3.1.1/MQTT-3.2.2-3".into()],
        summary: String::new(),
        expected: String::new(),
        got: String::new(),
    };
    let r = rules_for_v5(v).rule;
    assert!(r.iter().all(|x| x.starts_with("5.0/")) && r.contains(&"5.0/MQTT-4.1.0-2".to_owned()));
}

#[test]
fn takeover_by_clean_start_0_leaves_a_will_without_delay_open() {
    for (delay, clean, expect) in [
        (0, false, vec![(false, false)]),
        (2, false, vec![]),
        (0, true, vec![(true, false)]),
    ] {
        let mut m = Model::new();
        m.connect_v5(1, c5(NEVER));
        m.subscribe_v5(1, &[("w".into(), 1, SubOpts::default())], &[1]);
        m.connect_v5(0, will(9, delay, NEVER));
        m.connect_v5(
            0,
            ConnectV5 {
                clean_start: clean,
                ..c5(NEVER)
            },
        );
        m.set_now(10_000);
        m.sweep();
        assert_eq!(owed(&m, 1, 9), expect, "delay {delay} clean {clean}");
    }
}
