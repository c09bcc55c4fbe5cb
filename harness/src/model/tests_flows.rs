//! Packet identifiers and QoS 2 stages ([`super::flows`]), rule by rule; and the model's
//! connections that hold PUBCOMP.

use super::flows::{Verdict, Wire, judge};
use super::judge::ViolationKind;
use super::*;
use std::collections::BTreeSet;

fn copy(seq: usize, slot: Slot, conn: ConnNo, id: MsgId, qos: u8, dup: bool) -> Observed {
    Observed {
        seq,
        slot,
        conn,
        key: Some(Key::Id(id)),
        topic: String::new(),
        qos,
        retain: false,
        dup,
        intact: true,
        v5: None,
    }
}

/// Client 0's connections: #0 (a new persistent session), #1 (resumes it), #2 (CleanSession
/// 1: a new session).
fn model() -> Model {
    let mut m = Model::new();
    m.connect(0, false, None, true);
    m.drop_conn(0);
    m.connect(0, false, None, false);
    m.drop_conn(0);
    m.connect(0, true, None, false);
    m
}

fn run(m: &Model, obs: &[Observed], wire: &[Wire], closed: &[ConnNo]) -> Verdict {
    let closed: BTreeSet<ConnNo> = closed.iter().copied().collect();
    judge(m, obs, wire, &closed)
}

const C0: Wire = Wire::ConnAck { conn: 0, slot: 0 };
const C1: Wire = Wire::ConnAck { conn: 1, slot: 0 };
const C2: Wire = Wire::ConnAck { conn: 2, slot: 0 };

fn acked(conn: ConnNo, id: u16) -> Wire {
    Wire::Acked { conn, slot: 0, id }
}

#[test]
fn epochs_follow_sessions() {
    let m = model();
    assert_eq!(m.epoch_of(0), m.epoch_of(1));
    assert_ne!(m.epoch_of(1), m.epoch_of(2));
    assert_eq!(m.epoch_of(9), None);
}

#[test]
fn a_new_publish_must_not_take_an_identifier_in_use() {
    let m = model();
    let obs = [copy(0, 0, 0, 1, 1, false), copy(1, 0, 0, 2, 1, false)];
    let reused = [
        C0,
        Wire::Publish { seq: 0, id: 7 },
        Wire::Publish { seq: 1, id: 7 },
    ];
    let v = run(&m, &obs, &reused, &[]).unexpected.expect("a violation");
    assert_eq!(v.kind, ViolationKind::Flow);
    assert!(v.rule.contains(&"3.1.1/MQTT-2.3.1-4".to_owned()));
    // Once the client acknowledged it, the broker may take it again.
    let freed = [
        C0,
        Wire::Publish { seq: 0, id: 7 },
        acked(0, 7),
        Wire::Publish { seq: 1, id: 7 },
    ];
    assert!(run(&m, &obs, &freed, &[]).unexpected.is_none());
    // A new session (CleanSession 1) has nothing in flight.
    let obs2 = [copy(0, 0, 0, 1, 1, false), copy(1, 0, 2, 2, 1, false)];
    let new_session = [
        C0,
        Wire::Publish { seq: 0, id: 7 },
        C2,
        Wire::Publish { seq: 1, id: 7 },
    ];
    assert!(run(&m, &obs2, &new_session, &[]).unexpected.is_none());
    // Held across a resumed session: still in use.
    let obs3 = [copy(0, 0, 0, 1, 1, false), copy(1, 0, 1, 2, 1, false)];
    let resumed = [
        C0,
        Wire::Publish { seq: 0, id: 7 },
        C1,
        Wire::Publish { seq: 1, id: 7 },
    ];
    assert!(run(&m, &obs3, &resumed, &[]).unexpected.is_some());
}

#[test]
fn a_resend_keeps_its_identifier() {
    let m = model();
    let obs = [copy(0, 0, 0, 1, 1, false), copy(1, 0, 1, 1, 1, true)];
    let same = [
        C0,
        Wire::Publish { seq: 0, id: 3 },
        C1,
        Wire::Publish { seq: 1, id: 3 },
    ];
    assert!(run(&m, &obs, &same, &[]).unexpected.is_none());
    let other = [
        C0,
        Wire::Publish { seq: 0, id: 3 },
        C1,
        Wire::Publish { seq: 1, id: 4 },
    ];
    let v = run(&m, &obs, &other, &[]).unexpected.expect("a violation");
    assert!(v.rule.contains(&"3.1.1/MQTT-4.4.0-1".to_owned()));
    // A resend of a copy the client acknowledged (the broker may not have read it): allowed
    // with its identifier.
    let after_ack = [
        C0,
        Wire::Publish { seq: 0, id: 3 },
        acked(0, 3),
        C1,
        Wire::Publish { seq: 1, id: 3 },
    ];
    assert!(run(&m, &obs, &after_ack, &[]).unexpected.is_none());
    // Two copies (overlapping subscriptions) with two identifiers: a resend may carry
    // either.
    let obs2 = [
        copy(0, 0, 0, 1, 1, false),
        copy(1, 0, 0, 1, 1, false),
        copy(2, 0, 1, 1, 1, true),
    ];
    let two = [
        C0,
        Wire::Publish { seq: 0, id: 3 },
        Wire::Publish { seq: 1, id: 4 },
        C1,
        Wire::Publish { seq: 2, id: 4 },
    ];
    assert!(run(&m, &obs2, &two, &[]).unexpected.is_none());
}

#[test]
fn pubrel_resent_on_resume_and_the_publish_not() {
    let m = model();
    let obs = [copy(0, 0, 0, 1, 2, false)];
    let released = [
        C0,
        Wire::Publish { seq: 0, id: 5 },
        Wire::Received {
            conn: 0,
            slot: 0,
            id: 5,
        },
        Wire::Released {
            conn: 0,
            slot: 0,
            id: 5,
        },
        C1,
    ];
    let v = run(&m, &obs, &released, &[0]).missing.expect("PUBREL owed");
    assert!(v.rule.contains(&"3.1.1/MQTT-4.4.0-1".to_owned()));
    let mut resent = released.to_vec();
    resent.push(Wire::Released {
        conn: 1,
        slot: 0,
        id: 5,
    });
    let ok = run(&m, &obs, &resent, &[0]);
    assert!(ok.missing.is_none() && ok.unexpected.is_none());
    // The PUBLISH again after its PUBREL (3.1.1/MQTT-4.3.3-1).
    let obs2 = [copy(0, 0, 0, 1, 2, false), copy(1, 0, 1, 1, 2, true)];
    let mut again = released.to_vec();
    again.push(Wire::Publish { seq: 1, id: 5 });
    let v = run(&m, &obs2, &again, &[0])
        .unexpected
        .expect("a violation");
    assert!(v.rule.contains(&"3.1.1/MQTT-4.3.3-1".to_owned()));
}

#[test]
fn pubrec_must_be_answered_by_pubrel_while_connected() {
    let m = model();
    let obs = [copy(0, 0, 0, 1, 2, false)];
    let wire = [
        C0,
        Wire::Publish { seq: 0, id: 5 },
        Wire::Received {
            conn: 0,
            slot: 0,
            id: 5,
        },
    ];
    assert!(run(&m, &obs, &wire, &[]).missing.is_some());
    // The connection ended: what follows is the resume's business.
    assert!(run(&m, &obs, &wire, &[0]).missing.is_none());
}

#[test]
fn pubcomp_holding_connection_keeps_qos2_at_the_pubrel_stage() {
    let mut m = Model::new();
    m.connect_holding(0, false, None, Hold::Comp);
    m.subscribe(0, &[("a".into(), 2)], &[2]);
    m.publish(Message {
        id: 1,
        key: Key::Id(1),
        publisher: 1,
        topic: "a".into(),
        qos: 2,
        retain: false,
        payload: b"m1:".to_vec(),
        will: false,
    });
    m.drop_conn(0);
    let before = m.obligations().len();
    // Resumed: the PUBLISH (answered with PUBREC) is not owed again; PUBREL is (flows).
    assert!(m.connect(0, false, None, false).session_present);
    assert!(
        m.obligations()[before..]
            .iter()
            .all(|o| o.cause != Cause::Redelivery)
    );
    // The same with a connection that holds everything: the PUBLISH is owed again, DUP 1.
    let mut h = Model::new();
    h.connect(0, false, None, true);
    h.subscribe(0, &[("a".into(), 2)], &[2]);
    h.publish(msg1());
    h.drop_conn(0);
    let before = h.obligations().len();
    h.connect(0, false, None, false);
    assert!(
        h.obligations()[before..]
            .iter()
            .any(|o| o.cause == Cause::Redelivery && o.must && o.dup)
    );
}

fn msg1() -> Message {
    Message {
        id: 1,
        key: Key::Id(1),
        publisher: 1,
        topic: "a".into(),
        qos: 2,
        retain: false,
        payload: b"m1:".to_vec(),
        will: false,
    }
}

#[test]
fn pubcomp_holding_flows_count_against_the_in_flight_limit() {
    let mut m = Model::new();
    m.connect_holding(0, false, None, Hold::Comp);
    m.subscribe(0, &[("a".into(), 2)], &[2]);
    for id in 1..=(HOLD_LIMIT as MsgId + 1) {
        let mut x = msg1();
        x.id = id;
        x.key = Key::Id(id);
        m.publish(x);
    }
    let musts = m.obligations().iter().filter(|o| o.must).count();
    assert_eq!(musts, HOLD_LIMIT);
}
