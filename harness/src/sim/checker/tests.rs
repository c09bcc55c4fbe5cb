//! Each kind of violation, shown on a small hand-written history; and a clean history
//! that has none.

use super::*;
use crate::sim::history::{History, MsgId, PayloadId, What};

fn id(seq: u64) -> MsgId {
    MsgId {
        device: "d".into(),
        seq,
    }
}

struct H(History);

impl H {
    fn new() -> Self {
        let mut h = H(History::default());
        h.at(
            0,
            What::ConnectSent {
                device: "d".into(),
                conn: 1,
            },
        );
        h.at(
            0,
            What::Connected {
                device: "d".into(),
                conn: 1,
                session_present: false,
            },
        );
        h
    }
    fn at(&mut self, ms: u64, what: What) -> &mut Self {
        self.0.push(Duration::from_millis(ms), what);
        self
    }
    fn publish(&mut self, ms: u64, seq: u64, qos: u8, acked: bool) -> &mut Self {
        self.at(
            ms,
            What::Published {
                id: id(seq),
                topic: "fleet/d/data".into(),
                qos,
                retain: false,
            },
        );
        if acked {
            self.at(ms + 1, What::Acked { id: id(seq) });
        }
        self
    }
    fn retained(&mut self, ms: u64, seq: u64, acked: bool) -> &mut Self {
        self.at(
            ms,
            What::Published {
                id: id(seq),
                topic: "fleet/d/state".into(),
                qos: 1,
                retain: true,
            },
        );
        if acked {
            self.at(ms + 1, What::Acked { id: id(seq) });
        }
        self
    }
    fn deliver(&mut self, ms: u64, sub: &str, seq: u64, qos: u8) -> &mut Self {
        self.at(
            ms,
            What::Delivered {
                subscriber: sub.into(),
                payload: PayloadId::Message(id(seq)),
                topic: "fleet/d/data".into(),
                qos,
                dup: false,
                retain: false,
            },
        )
    }
    fn will(&mut self, ms: u64, conn: u32) -> &mut Self {
        self.at(
            ms,
            What::Delivered {
                subscriber: "s".into(),
                payload: PayloadId::Will {
                    device: "d".into(),
                    conn,
                },
                topic: "fleet/d/will".into(),
                qos: 1,
                dup: false,
                retain: false,
            },
        )
    }
    fn end(&mut self, ms: u64, conn: u32, clean: bool) -> &mut Self {
        self.at(
            ms,
            What::ConnectionEnded {
                device: "d".into(),
                conn,
                clean,
                why: "test".into(),
            },
        )
    }
    fn check(&self, granted: u8) -> Accounting {
        let exp = Expectations {
            subscribers: vec![("s".into(), "fleet/#".into(), granted)],
            wills: [("d".to_owned(), 1u8)].into_iter().collect(),
            auditor: Some("audit".into()),
            will_grace: Duration::from_secs(45),
        };
        check(&self.0, &exp)
    }
}

fn kinds(acc: &Accounting) -> Vec<ViolationKind> {
    acc.violations.iter().map(|v| v.kind).collect()
}

#[test]
fn a_clean_history_has_no_violation() {
    let acc = H::new()
        .publish(10, 1, 1, true)
        .deliver(20, "s", 1, 1)
        .deliver(25, "s", 1, 1) // QoS 1 may duplicate
        .publish(30, 2, 2, false)
        .deliver(40, "s", 2, 2) // recovered
        .publish(50, 3, 1, false) // unknown outcome, never delivered: allowed
        .publish(60, 4, 0, false)
        .end(100, 1, false)
        .will(150, 1)
        .check(2)
        .clone();
    assert_eq!(kinds(&acc), vec![], "{:#?}", acc.violations);
    assert_eq!(acc.qos[1].duplicates, 1);
    assert_eq!(acc.qos[2].recovered, 1);
    assert_eq!(acc.qos[1].unknown, 1);
    assert_eq!(acc.wills.delivered, 1);
}

#[test]
fn acked_but_never_delivered_is_lost() {
    let acc = H::new().publish(10, 1, 1, true).check(1);
    assert_eq!(kinds(&acc), vec![ViolationKind::Lost]);
}

#[test]
fn qos2_twice_is_duplicated_and_qos0_twice_too() {
    let acc = H::new()
        .publish(10, 1, 2, true)
        .deliver(20, "s", 1, 2)
        .deliver(30, "s", 1, 2)
        .check(2);
    assert_eq!(kinds(&acc), vec![ViolationKind::Duplicated]);
    let acc = H::new()
        .publish(10, 1, 0, false)
        .deliver(20, "s", 1, 0)
        .deliver(30, "s", 1, 0)
        .check(2);
    assert_eq!(kinds(&acc), vec![ViolationKind::Duplicated]);
}

#[test]
fn never_published_or_wrong_qos_is_unexpected() {
    let acc = H::new().deliver(20, "s", 9, 1).check(1);
    assert_eq!(kinds(&acc), vec![ViolationKind::Unexpected]);
    // Granted 1, published 2: must arrive at 1.
    let acc = H::new()
        .publish(10, 1, 2, true)
        .deliver(20, "s", 1, 2)
        .check(1);
    assert_eq!(kinds(&acc), vec![ViolationKind::Unexpected]);
}

#[test]
fn later_message_first_is_out_of_order() {
    let acc = H::new()
        .publish(10, 1, 1, true)
        .publish(11, 2, 1, true)
        .deliver(20, "s", 2, 1)
        .deliver(21, "s", 1, 1)
        .check(1);
    assert_eq!(kinds(&acc), vec![ViolationKind::OutOfOrder]);
}

#[test]
fn will_on_clean_disconnect_is_unexpected_and_missing_will_is_reported() {
    let acc = H::new().end(100, 1, true).will(150, 1).check(1);
    assert_eq!(kinds(&acc), vec![ViolationKind::WillUnexpected]);
    let acc = H::new().end(100, 1, false).check(1);
    assert_eq!(kinds(&acc), vec![ViolationKind::WillMissing]);
}

#[test]
fn retained_state_must_be_the_last_acknowledged_or_later() {
    let audit = |h: &mut H, ms: u64, seq: u64| {
        h.at(
            ms,
            What::Delivered {
                subscriber: "audit".into(),
                payload: PayloadId::Message(id(seq)),
                topic: "fleet/d/state".into(),
                qos: 1,
                dup: false,
                retain: true,
            },
        );
    };
    let mut ok = H::new();
    ok.retained(10, 1, true)
        .retained(20, 2, true)
        .retained(30, 3, false);
    audit(&mut ok, 100, 3);
    let acc = ok.check(0);
    assert!(
        !kinds(&acc).contains(&ViolationKind::RetainedWrong),
        "{:#?}",
        acc.violations
    );
    let mut stale = H::new();
    stale.retained(10, 1, true).retained(20, 2, true);
    audit(&mut stale, 100, 1);
    let acc = stale.check(0);
    assert!(
        kinds(&acc).contains(&ViolationKind::RetainedWrong),
        "{:#?}",
        acc.violations
    );
    let mut none = H::new();
    none.retained(10, 1, true);
    let acc = none.check(0);
    assert!(kinds(&acc).contains(&ViolationKind::RetainedWrong));
}

fn subscribed(h: &mut H, ms: u64) -> &mut H {
    h.at(
        ms,
        What::Subscribed {
            subscriber: "s".into(),
            filter: "fleet/#".into(),
        },
    )
}

#[test]
fn a_broker_crash_excuses_only_what_it_could_take() {
    let min = 60_000;
    let mut h = H::new();
    subscribed(&mut h, 5);
    h.publish(10, 1, 1, true) // long before the crash: still owed
        .publish(10 * min, 2, 1, true) // just before the crash
        .at(10 * min + 500, What::BrokerDown)
        .end(10 * min + 600, 1, false) // its will went with the broker
        .at(10 * min + 5_000, What::BrokerUp)
        .publish(10 * min + 6_000, 3, 1, true); // before the subscriber is back
    subscribed(&mut h, 10 * min + 7_000);
    h.publish(10 * min + 8_000, 4, 1, true); // after: owed again
    let acc = h.check(1);
    let lost: Vec<String> = acc
        .violations
        .iter()
        .filter(|v| v.kind == ViolationKind::Lost)
        .map(|v| v.subject.clone())
        .collect();
    assert_eq!(lost, vec!["d#1", "d#4"], "{:#?}", acc.violations);
    assert_eq!(acc.qos[1].lost_to_restart, 2);
    assert_eq!(acc.wills.lost_to_restart, 1);
    assert!(!kinds(&acc).contains(&ViolationKind::WillMissing));
}

#[test]
fn a_will_owed_long_before_a_crash_is_still_missing() {
    let min = 60_000;
    let mut h = H::new();
    subscribed(&mut h, 5);
    h.end(min, 1, false)
        .at(10 * min, What::BrokerDown)
        .at(10 * min + 5_000, What::BrokerUp);
    let acc = h.check(1);
    assert_eq!(kinds(&acc), vec![ViolationKind::WillMissing]);
}

#[test]
fn a_crash_allows_an_empty_retained_store() {
    let mut h = H::new();
    h.retained(10, 1, true).at(1_000, What::BrokerDown);
    assert!(h.check(1).violations.is_empty());
    // Without the crash the same history is a violation.
    let mut h = H::new();
    h.retained(10, 1, true).at(
        1_000,
        What::ConnectSent {
            device: "x".into(),
            conn: 1,
        },
    );
    assert!(kinds(&h.check(1)).contains(&ViolationKind::RetainedWrong));
}

#[test]
fn a_will_is_not_owed_while_the_crash_has_taken_the_subscription() {
    let min = 60_000;
    let mut h = H::new();
    subscribed(&mut h, 5);
    h.at(min, What::BrokerDown)
        .at(min + 5_000, What::BrokerUp)
        .at(
            min + 6_000,
            What::Connected {
                device: "d".into(),
                conn: 2,
                session_present: false,
            },
        )
        .end(4 * min, 2, false); // long after the crash, before the subscriber is back
    subscribed(&mut h, 5 * min);
    h.at(
        5 * min + 1_000,
        What::Connected {
            device: "d".into(),
            conn: 3,
            session_present: false,
        },
    )
    .end(6 * min, 3, false); // after: owed
    let acc = h.check(1);
    let missing: Vec<String> = acc.violations.iter().map(|v| v.subject.clone()).collect();
    assert_eq!(missing, vec!["will of d conn 3"], "{:#?}", acc.violations);
}
