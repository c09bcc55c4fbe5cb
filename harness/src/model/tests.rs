//! The model, rule by rule.

use super::judge::{ViolationKind, missing, unexpected};
use super::*;

fn msg(id: MsgId, publisher: Slot, topic: &str, qos: u8, retain: bool) -> Message {
    let payload = format!("m{id}:").into_bytes();
    Message {
        id,
        key: Key::Id(id),
        publisher,
        topic: topic.into(),
        qos,
        retain,
        payload,
        will: false,
    }
}

fn seen(
    seq: usize,
    slot: Slot,
    conn: ConnNo,
    id: MsgId,
    qos: u8,
    retain: bool,
    dup: bool,
) -> Observed {
    Observed {
        seq,
        slot,
        conn,
        key: Some(Key::Id(id)),
        topic: String::new(),
        qos,
        retain,
        dup,
        intact: true,
        v5: None,
    }
}

fn musts(m: &Model) -> Vec<(Slot, MsgId, Cause, Option<u8>)> {
    m.obligations()
        .iter()
        .filter(|o| o.must)
        .map(|o| (o.slot, o.msg, o.cause, o.must_qos))
        .collect()
}

#[test]
fn session_present_follows_clean_session_and_stored_state() {
    let mut m = Model::new();
    assert!(!m.connect(0, false, None, false).session_present);
    m.disconnect(0);
    assert!(m.connect(0, false, None, false).session_present);
    m.disconnect(0);
    assert!(!m.connect(0, true, None, false).session_present);
    m.disconnect(0);
    // The CleanSession 1 session ended with its connection.
    assert!(!m.connect(0, false, None, false).session_present);
}

#[test]
fn delivery_at_the_lower_of_published_and_granted_qos() {
    let mut m = Model::new();
    m.connect(0, true, None, false);
    m.subscribe(0, &[("a/+".into(), 1)], &[1]);
    m.publish(msg(1, 1, "a/b", 2, false));
    assert_eq!(musts(&m), vec![(0, 1, Cause::Live, Some(1))]);
    assert!(missing(&m, &[]).is_some());
    assert!(missing(&m, &[seen(0, 0, 0, 1, 1, false, false)]).is_none());
    // At QoS 2 it is a breach of 3.8.4-6.
    let v = unexpected(&m, &[seen(0, 0, 0, 1, 2, false, false)]);
    assert_eq!(v.map(|v| v.kind), Some(ViolationKind::Unexpected));
}

#[test]
fn overlapping_subscriptions_one_copy_at_max_or_one_per_subscription() {
    let mut m = Model::new();
    m.connect(0, true, None, false);
    m.subscribe(0, &[("a/#".into(), 0), ("a/b".into(), 2)], &[0, 2]);
    m.publish(msg(1, 1, "a/b", 2, false));
    let one = [seen(0, 0, 0, 1, 2, false, false)];
    let two = [
        seen(0, 0, 0, 1, 0, false, false),
        seen(1, 0, 0, 1, 2, false, false),
    ];
    assert!(missing(&m, &one).is_none() && unexpected(&m, &one).is_none());
    assert!(missing(&m, &two).is_none() && unexpected(&m, &two).is_none());
    // Only the lower copy: the one at the highest QoS is missing.
    assert!(missing(&m, &[seen(0, 0, 0, 1, 0, false, false)]).is_some());
    // Three copies for two subscriptions.
    let three = [
        two[0].clone(),
        two[1].clone(),
        seen(2, 0, 0, 1, 2, false, false),
    ];
    assert!(unexpected(&m, &three).is_some());
}

#[test]
fn retained_set_replaced_cleared_and_flagged() {
    let mut m = Model::new();
    m.publish(msg(1, 1, "a", 1, true));
    m.publish(msg(2, 1, "a", 1, true));
    m.connect(0, true, None, false);
    m.subscribe(0, &[("a".into(), 2)], &[2]);
    // Only the newest, with RETAIN 1 (3.3.1-5, -6, -8).
    let o: Vec<_> = m
        .obligations()
        .iter()
        .map(|o| (o.msg, o.retain, o.must))
        .collect();
    assert_eq!(o, vec![(2, true, true)]);
    // Live copies carry RETAIN 0 (3.3.1-9).
    m.publish(msg(3, 1, "a", 1, true));
    let bad = [
        seen(0, 0, 0, 2, 1, true, false),
        seen(1, 0, 0, 3, 1, true, false),
    ];
    assert!(unexpected(&m, &bad).is_some());
    // An empty retained message clears (3.3.1-10, -11).
    let mut empty = msg(4, 1, "a", 1, true);
    empty.payload.clear();
    empty.key = Key::Empty("a".into());
    m.publish(empty);
    m.connect(2, true, None, false);
    m.subscribe(2, &[("#".into(), 1)], &[1]);
    assert!(m.obligations().iter().all(|o| o.slot != 2));
}

#[test]
fn retained_qos0_may_be_kept_or_not() {
    let mut m = Model::new();
    m.publish(msg(1, 1, "a", 1, true));
    m.publish(msg(2, 1, "a", 0, true));
    m.connect(0, true, None, false);
    m.subscribe(0, &[("a".into(), 1)], &[1]);
    // The old one is gone (3.3.1-7); the new one may come.
    let o: Vec<_> = m.obligations().iter().map(|o| (o.msg, o.must)).collect();
    assert_eq!(o, vec![(2, false)]);
}

#[test]
fn offline_persistent_session_gets_qos1_and_may_get_qos0() {
    let mut m = Model::new();
    m.connect(0, false, None, false);
    m.subscribe(0, &[("a".into(), 2)], &[2]);
    m.disconnect(0);
    m.publish(msg(1, 1, "a", 1, false));
    m.publish(msg(2, 1, "a", 0, false));
    m.publish(msg(3, 1, "a", 2, false));
    let out = m.connect(0, false, None, false);
    assert!(out.session_present);
    let o: Vec<_> = m
        .obligations()
        .iter()
        .map(|o| (o.msg, o.must, o.cause))
        .collect();
    assert_eq!(
        o,
        vec![
            (1, true, Cause::Queued),
            (2, false, Cause::Queued),
            (3, true, Cause::Queued)
        ]
    );
    // In the order published (4.6).
    let late = [
        seen(0, 0, 1, 3, 2, false, false),
        seen(1, 0, 1, 1, 1, false, false),
    ];
    assert!(
        unexpected(&m, &late).is_none(),
        "different QoS: not ordered"
    );
    m.publish(msg(4, 1, "a", 1, false));
    let wrong = [
        seen(0, 0, 1, 4, 1, false, false),
        seen(1, 0, 1, 1, 1, false, false),
        seen(2, 0, 1, 3, 2, false, false),
    ];
    assert_eq!(
        unexpected(&m, &wrong).map(|v| v.kind),
        Some(ViolationKind::Order)
    );
}

#[test]
fn unacknowledged_messages_come_again_with_dup_on_resume() {
    let mut m = Model::new();
    m.connect(0, false, None, true);
    m.subscribe(0, &[("a".into(), 1)], &[1]);
    m.publish(msg(1, 1, "a", 1, false));
    m.drop_conn(0);
    let out = m.connect(0, false, None, false);
    let r: Vec<_> = m
        .obligations()
        .iter()
        .filter(|o| o.cause == Cause::Redelivery)
        .map(|o| (o.msg, o.dup, o.from_conn))
        .collect();
    assert_eq!(r, vec![(1, true, out.conn)]);
    // A resend with DUP 0 is a breach of 3.3.1-1.
    let obs = [
        seen(0, 0, 0, 1, 1, false, false),
        seen(1, 0, 1, 1, 1, false, false),
    ];
    assert!(unexpected(&m, &obs).is_some());
    let ok = [
        seen(0, 0, 0, 1, 1, false, false),
        seen(1, 0, 1, 1, 1, false, true),
    ];
    assert!(unexpected(&m, &ok).is_none() && missing(&m, &ok).is_none());
}

#[test]
fn will_on_drop_and_takeover_not_on_disconnect() {
    let will = |id| WillSpec {
        id,
        topic: "w".into(),
        qos: 1,
        retain: false,
        payload: format!("w{id}").into_bytes(),
    };
    let mut m = Model::new();
    m.connect(0, true, None, false);
    m.subscribe(0, &[("w".into(), 1)], &[1]);
    m.connect(1, true, Some(will(10)), false);
    m.disconnect(1);
    assert!(musts(&m).is_empty(), "no will after DISCONNECT (3.14.4-3)");
    m.connect(1, true, Some(will(11)), false);
    m.drop_conn(1);
    m.connect(1, true, Some(will(12)), false);
    let out = m.connect(1, true, None, false);
    assert!(out.took_over.is_some());
    let w: Vec<_> = musts(&m).iter().map(|o| o.1).collect();
    assert_eq!(w, vec![11, 12]);
}

#[test]
fn own_will_to_an_offline_session_may_come_once_per_subscription() {
    // Found against Mosquitto (allow_duplicate_messages true): two copies of the client's
    // own will, one per overlapping subscription, after it resumed.
    let mut m = Model::new();
    let will = WillSpec {
        id: 1,
        topic: "a".into(),
        qos: 1,
        retain: false,
        payload: b"m1:will".to_vec(),
    };
    m.connect(1, false, Some(will), false);
    m.subscribe(1, &[("a".into(), 1), ("a/#".into(), 1)], &[1, 1]);
    m.drop_conn(1);
    let back = m.connect(1, false, None, false);
    let two = [
        seen(0, 1, back.conn, 1, 1, false, false),
        seen(1, 1, back.conn, 1, 1, false, false),
    ];
    assert!(unexpected(&m, &two).is_none());
    assert!(missing(&m, &[]).is_none());
}

#[test]
fn unsubscribe_removes_only_the_exact_filter() {
    let mut m = Model::new();
    m.connect(0, true, None, false);
    m.subscribe(0, &[("a/#".into(), 1), ("a/b".into(), 1)], &[1, 1]);
    m.unsubscribe(0, &["a/+".into(), "a/b".into()]);
    m.publish(msg(1, 1, "a/b", 1, false));
    assert_eq!(musts(&m), vec![(0, 1, Cause::Live, Some(1))]);
    m.unsubscribe(0, &["a/#".into()]);
    m.publish(msg(2, 1, "a/b", 1, false));
    assert_eq!(musts(&m).len(), 1);
    let obs = [
        seen(0, 0, 0, 1, 1, false, false),
        seen(1, 0, 0, 2, 1, false, false),
    ];
    assert!(unexpected(&m, &obs).is_some());
}

#[test]
fn clean_session_discards_subscriptions_and_queue() {
    let mut m = Model::new();
    m.connect(0, false, None, false);
    m.subscribe(0, &[("a".into(), 1)], &[1]);
    m.disconnect(0);
    m.publish(msg(1, 1, "a", 1, false));
    m.connect(0, true, None, false);
    m.publish(msg(2, 1, "a", 1, false));
    assert!(musts(&m).is_empty());
}

#[test]
fn the_model_does_not_use_the_reference_broker() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model");
    let forbidden = ["mqttspec", "_broker"].concat();
    for entry in std::fs::read_dir(&dir).expect("the model's sources") {
        let path = entry.expect("an entry").path();
        let text = std::fs::read_to_string(&path).expect("a source file");
        assert!(
            !text.contains(&forbidden),
            "{} uses the reference broker",
            path.display()
        );
    }
}

/// A restart may lose sessions, retained messages and wills, or keep them: until the
/// client's CONNACK says, nothing that state would bring is required, and both are allowed.
#[test]
fn restart_makes_lost_state_optional_until_the_connack_says() {
    let mut m = Model::new();
    m.publish(msg(1, 2, "r", 1, true));
    m.connect(0, false, None, false);
    m.subscribe(0, &[("a".into(), 1)], &[1]);
    let will = WillSpec {
        id: 9,
        topic: "a".into(),
        qos: 1,
        retain: false,
        payload: b"m9:will".to_vec(),
    };
    m.connect(1, false, Some(will), false);
    m.restart();
    assert!(!m.is_connected(0) && !m.is_connected(1));
    assert!(m.session_uncertain(0));
    // A message for the session a restart may have lost: allowed, not required.
    m.publish(msg(2, 3, "a", 1, false));
    m.forget_session(0);
    assert!(!m.connect(0, false, None, false).session_present);
    assert!(m.obligations().iter().all(|o| !o.must));
    // Had the broker kept it (Session Present 1), the copy may come on resume, the will
    // too; neither is required.
    let mut k = Model::new();
    k.connect(0, false, None, false);
    k.subscribe(0, &[("a".into(), 1)], &[1]);
    k.restart();
    k.publish(msg(2, 3, "a", 1, false));
    assert!(k.connect(0, false, None, false).session_present);
    assert!(!k.session_uncertain(0));
    let o: Vec<_> = k
        .obligations()
        .iter()
        .filter(|o| o.msg == 2)
        .map(|o| o.must)
        .collect();
    assert_eq!(o, vec![false]);
    // The retained message may be gone: a new subscription may get it or not.
    let before = m.obligations().len();
    m.subscribe(0, &[("r".into(), 1)], &[1]);
    let r: Vec<_> = m.obligations()[before..]
        .iter()
        .map(|o| (o.msg, o.must))
        .collect();
    assert_eq!(r, vec![(1, false)]);
    // Once the session is re-established (a new one: subscribed again), routing is
    // required again.
    m.subscribe(0, &[("a".into(), 1)], &[1]);
    m.publish(msg(3, 3, "a", 1, false));
    assert!(m.obligations().iter().any(|o| o.msg == 3 && o.must));
}
