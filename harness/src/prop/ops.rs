//! The operations of a property-test case and their proptest strategy.
//!
//! Operations are generated without looking at state; the executor skips those that do not
//! apply (a publish by a client that is not connected), so that proptest's shrinking,
//! which removes operations and simplifies their fields, always yields a runnable case.

use proptest::prelude::*;
use std::fmt;

/// Topic names, relative to the case's prefix: collision-prone, with empty levels.
/// (`$` topics are left out: every name carries the case's prefix, so a leading-`$` name
/// could only be matched by filters outside it; the `$` rule is unit-tested in the model.)
pub const TOPICS: &[&str] = &["a", "a/b", "a//b", "a/", "b"];
/// Topic filters, relative to the case's prefix.
pub const FILTERS: &[&str] = &[
    "a", "a/b", "a/+", "+/b", "a/#", "#", "+", "a//b", "a/+/b", "+/+", "a/",
];

/// How big a payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Empty,
    Small,
    /// Past 100 bytes, and past a typical small buffer.
    Large,
}

/// A will in a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WillOp {
    pub topic: u8,
    pub qos: u8,
    pub retain: bool,
    pub empty: bool,
}

/// One operation; `c` is a client index (taken modulo the case's client count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Connects the client; on a connected one, a takeover by a new connection.
    /// `hold`: the connection never acknowledges the QoS 1/2 messages it receives.
    Connect {
        c: u8,
        clean: bool,
        will: Option<WillOp>,
        hold: bool,
    },
    Disconnect {
        c: u8,
    },
    /// Closes the connection without DISCONNECT.
    Drop {
        c: u8,
    },
    /// Simulator only (`--sim`): nothing passes either way on the client's connection for
    /// `ms` milliseconds; bytes wait and then arrive in order, as TCP retransmits them.
    Partition {
        c: u8,
        ms: u16,
    },
    Subscribe {
        c: u8,
        filters: Vec<(u8, u8)>,
    },
    Unsubscribe {
        c: u8,
        filters: Vec<u8>,
    },
    /// `count` messages alike, one after the other (queues of several messages).
    Publish {
        c: u8,
        topic: u8,
        qos: u8,
        retain: bool,
        size: Size,
        count: u8,
    },
    /// A 5.0 operation (ops_v5.rs).
    V5(super::ops_v5::V5Op),
}

impl Op {
    pub fn client(&self) -> u8 {
        match self {
            Op::Connect { c, .. }
            | Op::Disconnect { c }
            | Op::Drop { c }
            | Op::Partition { c, .. }
            | Op::Subscribe { c, .. }
            | Op::Unsubscribe { c, .. }
            | Op::Publish { c, .. } => *c,
            Op::V5(v) => v.client(),
        }
    }
}

pub fn topic(i: u8) -> &'static str {
    TOPICS[usize::from(i) % TOPICS.len()]
}

pub fn filter(i: u8) -> &'static str {
    FILTERS[usize::from(i) % FILTERS.len()]
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Connect {
                c,
                clean,
                will,
                hold,
            } => {
                write!(f, "c{c} connect clean={}", u8::from(*clean))?;
                if let Some(w) = will {
                    write!(
                        f,
                        " will({:?} qos {} retain {}{})",
                        topic(w.topic),
                        w.qos,
                        u8::from(w.retain),
                        if w.empty { " empty" } else { "" }
                    )?;
                }
                if *hold {
                    write!(f, " holding acks")?;
                }
                Ok(())
            }
            Op::Disconnect { c } => write!(f, "c{c} disconnect"),
            Op::Drop { c } => write!(f, "c{c} drop"),
            Op::Partition { c, ms } => write!(f, "c{c} partition {ms}ms"),
            Op::Subscribe { c, filters } => {
                let l: Vec<String> = filters
                    .iter()
                    .map(|(x, q)| format!("{:?}@{q}", filter(*x)))
                    .collect();
                write!(f, "c{c} subscribe {}", l.join(" "))
            }
            Op::Unsubscribe { c, filters } => {
                let l: Vec<String> = filters
                    .iter()
                    .map(|x| format!("{:?}", filter(*x)))
                    .collect();
                write!(f, "c{c} unsubscribe {}", l.join(" "))
            }
            Op::Publish {
                c,
                topic: t,
                qos,
                retain,
                size,
                count,
            } => write!(
                f,
                "c{c} publish {:?} qos {qos} retain {} {size:?}{}",
                topic(*t),
                u8::from(*retain),
                if *count > 1 {
                    format!(" x{count}")
                } else {
                    String::new()
                }
            ),
            Op::V5(v) => v.fmt(f),
        }
    }
}

fn client() -> impl Strategy<Value = u8> {
    0u8..6
}

fn will(wills: bool) -> impl Strategy<Value = Option<WillOp>> {
    prop_oneof![
        2 => Just(None),
        1 => (topic_index(), 0u8..3, any::<bool>(), prop::bool::weighted(0.2)).prop_map(
            |(topic, qos, retain, empty)| Some(WillOp { topic, qos, retain, empty })
        ),
    ]
    .prop_map(move |w| if wills { w } else { None })
}

/// Topic "a" half the time: many messages on one topic make queues, ordering and
/// retained replacement matter.
fn topic_index() -> impl Strategy<Value = u8> {
    prop_oneof![1 => Just(0u8), 1 => 0..TOPICS.len() as u8]
}

/// Filters matching "a" (`a`, `a/#`, `#`, `+`) half the time.
fn filter_index() -> impl Strategy<Value = u8> {
    prop_oneof![1 => prop::sample::select(vec![0u8, 4, 5, 6]), 1 => 0..FILTERS.len() as u8]
}

fn op(wills: bool, faults: bool) -> impl Strategy<Value = Op> {
    let mut arms: Vec<(u32, BoxedStrategy<Op>)> =
        vec![
        // Persistent sessions three times as often as clean ones: long-lived sessions,
        // queued messages and reconnects are what the stateful rules are about.
        (
            4,
            (client(), prop::bool::weighted(0.25), will(wills), prop::bool::weighted(0.4))
                .prop_map(|(c, clean, will, hold)| Op::Connect { c, clean, will, hold })
                .boxed(),
        ),
        (1, client().prop_map(|c| Op::Disconnect { c }).boxed()),
        (3, client().prop_map(|c| Op::Drop { c }).boxed()),
        (
            3,
            (client(), prop::collection::vec((filter_index(), grant()), 1..=3))
                .prop_map(|(c, filters)| Op::Subscribe { c, filters })
                .boxed(),
        ),
        (
            1,
            (client(), prop::collection::vec(filter_index(), 1..=2))
                .prop_map(|(c, filters)| Op::Unsubscribe { c, filters })
                .boxed(),
        ),
        (
            6,
            (
                client(),
                topic_index(),
                grant(),
                prop::bool::weighted(0.3),
                prop_oneof![1 => Just(Size::Empty), 6 => Just(Size::Small), 1 => Just(Size::Large)],
                prop_oneof![2 => Just(1u8), 1 => 2u8..=3],
            )
                .prop_map(|(c, topic, qos, retain, size, count)| Op::Publish {
                    c,
                    topic,
                    qos,
                    retain,
                    size,
                    count,
                })
                .boxed(),
        ),
    ];
    if faults {
        arms.push((
            2,
            (client(), 100u16..=800)
                .prop_map(|(c, ms)| Op::Partition { c, ms })
                .boxed(),
        ));
    }
    proptest::strategy::Union::new_weighted(arms)
}

/// A QoS, 1 and 2 twice as often as 0.
fn grant() -> impl Strategy<Value = u8> {
    prop_oneof![1 => Just(0u8), 2 => Just(1u8), 2 => Just(2u8)]
}

/// Deliveries begun before an UNSUBSCRIBE (3.1.1 section 3.10.4, MQTT-3.10.4-3): a
/// persistent connection that holds its acknowledgements subscribes, receives a burst of
/// QoS 1/2 messages on a topic the filter matches, unsubscribes that filter and then comes
/// back (after a drop, a DISCONNECT or by a takeover), so that the broker must resend what
/// is still in flight. Independent operations rarely line up this way. Each operation of
/// the pattern has a `keep` flag, true when generated, that shrinking turns false: the
/// operations can be removed one by one like independent ones.
fn inflight_unsubscribe(wills: bool) -> impl Strategy<Value = Vec<Op>> {
    (
        (client(), client()),
        // Filters matching topic "a": `a`, `a/#`, `#`, `+`.
        prop::sample::select(vec![0u8, 4, 5, 6]),
        (1u8..=2, 1u8..=2, 1u8..=3),
        prop_oneof![2 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        will(wills),
        prop::array::uniform6(prop::bool::weighted(0.999)),
    )
        .prop_map(|((c, p), f, (grant, qos, count), end, w, keep)| {
            let end_op = match end {
                1 => Some(Op::Disconnect { c }),
                2 => None,
                _ => Some(Op::Drop { c }),
            };
            let ops = [
                Some(Op::Connect {
                    c,
                    clean: false,
                    will: w,
                    hold: true,
                }),
                Some(Op::Subscribe {
                    c,
                    filters: vec![(f, grant)],
                }),
                Some(Op::Publish {
                    c: p,
                    topic: 0,
                    qos,
                    retain: false,
                    size: Size::Small,
                    count,
                }),
                Some(Op::Unsubscribe {
                    c,
                    filters: vec![f],
                }),
                end_op,
                Some(Op::Connect {
                    c,
                    clean: false,
                    will: None,
                    hold: false,
                }),
            ];
            ops.into_iter()
                .zip(keep)
                .filter_map(|(op, k)| op.filter(|_| k))
                .collect()
        })
}

/// An independent operation most of the time, sometimes a pattern of several.
fn segment(wills: bool, faults: bool) -> impl Strategy<Value = Vec<Op>> {
    prop_oneof![
        24 => op(wills, faults).prop_map(|o| vec![o]),
        1 => inflight_unsubscribe(wills),
    ]
}

/// A case: how many clients (2 to `max_clients`) and the operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub clients: u8,
    pub ops: Vec<Op>,
    /// Bit i set: client i speaks MQTT 5.0 (else 3.1.1).
    pub v5: u8,
}

/// `wills: false` generates connections without wills (to look past a known will finding).
/// `faults`: network-fault operations (partitions), for the simulator.
pub fn case(
    max_clients: u8,
    max_ops: usize,
    wills: bool,
    faults: bool,
) -> impl Strategy<Value = Case> {
    let max_clients = max_clients.clamp(2, 6);
    (
        2..=max_clients,
        prop::collection::vec(segment(wills, faults), 1..=max_ops.max(1)),
    )
        .prop_map(move |(clients, segments)| Case {
            clients,
            ops: segments
                .into_iter()
                .flatten()
                .take(max_ops.max(1))
                .map(|mut op| {
                    set_client(&mut op, clients);
                    op
                })
                .collect(),
            v5: 0,
        })
}

/// One independent operation (for the 5.0 generator).
pub fn single_op(wills: bool, faults: bool) -> impl Strategy<Value = Op> {
    op(wills, faults)
}

/// The in-flight-unsubscribe pattern (for the 5.0 generator).
pub fn inflight_pattern(wills: bool) -> impl Strategy<Value = Vec<Op>> {
    inflight_unsubscribe(wills)
}

pub fn set_client_pub(op: &mut Op, clients: u8) {
    set_client(op, clients);
}

fn set_client(op: &mut Op, clients: u8) {
    if let Op::V5(v) = op {
        *v.client_mut() %= clients;
        return;
    }
    let (Op::Connect { c, .. }
    | Op::Disconnect { c }
    | Op::Drop { c }
    | Op::Partition { c, .. }
    | Op::Subscribe { c, .. }
    | Op::Unsubscribe { c, .. }
    | Op::Publish { c, .. }) = op
    else {
        return;
    };
    *c %= clients;
}
