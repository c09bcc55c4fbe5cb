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
