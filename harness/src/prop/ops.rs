//! The operations of a property-test case and their proptest strategy.
//!
//! Operations are generated without looking at state; the executor skips those that do not
//! apply (a publish by a client that is not connected), so that proptest's shrinking,
//! which removes operations and simplifies their fields, always yields a runnable case.

pub use crate::model::Hold;
use proptest::prelude::*;
use std::fmt;

/// The keep alive of a connection that a `Silence` operation may end (seconds): short, so
/// that the broker's close (1.5 times it, 3.1.1/MQTT-3.1.2-24) comes soon.
pub const SHORT_KEEP_ALIVE: u16 = 2;

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
    /// `hold`: what the connection leaves unacknowledged ([`Hold`]). `keep_alive`: 60, or
    /// [`SHORT_KEEP_ALIVE`], with which the client pings on its own until a `Silence`.
    Connect {
        c: u8,
        clean: bool,
        will: Option<WillOp>,
        hold: Hold,
        keep_alive: u16,
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
    /// Nothing happens for `ms` milliseconds (time-dependent faults; cheap in the
    /// simulator's virtual time, rare over TCP).
    Idle {
        c: u8,
        ms: u16,
    },
    /// The client's connection (with a short keep alive) falls silent and stays open: the
    /// broker must close it within 1.5 times the keep alive (3.1.1/MQTT-3.1.2-24) and
    /// publish its will (3.1.1/MQTT-3.1.2-8).
    Silence {
        c: u8,
    },
    /// Simulator only (`--sim`): nothing passes either way on the client's connection
    /// until a `Release` (or the end of the case); meanwhile the client does nothing.
    Hold {
        c: u8,
    },
    Release {
        c: u8,
    },
    /// Simulator only (`--sim`): the broker's host crashes (nothing more reaches the
    /// clients, not even a FIN: every connection is lost) and restarts after `ms`
    /// milliseconds without the state it held in memory.
    Restart {
        c: u8,
        ms: u16,
    },
    /// A QoS 2 PUBLISH sent twice (the second with DUP 1, the same identifier) before
    /// PUBREL: delivered once (method B, 3.1.1/MQTT-4.3.3-2).
    PublishTwice {
        c: u8,
        topic: u8,
        retain: bool,
        size: Size,
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
            | Op::Idle { c, .. }
            | Op::Restart { c, .. }
            | Op::Hold { c }
            | Op::Release { c }
            | Op::Silence { c }
            | Op::PublishTwice { c, .. }
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
                keep_alive,
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
                match hold {
                    Hold::No => {}
                    Hold::All => write!(f, " holding acks")?,
                    Hold::Comp => write!(f, " holding PUBCOMP")?,
                }
                if *keep_alive != 60 {
                    write!(f, " keep alive {keep_alive}s")?;
                }
                Ok(())
            }
            Op::Idle { c: _, ms } => write!(f, "idle {ms}ms"),
            Op::Restart { c: _, ms } => write!(f, "broker restart ({ms}ms down)"),
            Op::Hold { c } => write!(f, "c{c} held (nothing passes)"),
            Op::Release { c } => write!(f, "c{c} released"),
            Op::Silence { c } => write!(f, "c{c} falls silent"),
            Op::PublishTwice {
                c,
                topic: t,
                retain,
                size,
            } => write!(
                f,
                "c{c} publish {:?} qos 2 retain {} {size:?}, sent twice before PUBREL",
                topic(*t),
                u8::from(*retain)
            ),
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

/// What a connection holds: acknowledges everything most of the time.
fn hold() -> impl Strategy<Value = Hold> {
    prop_oneof![12 => Just(Hold::No), 7 => Just(Hold::All), 3 => Just(Hold::Comp)]
}

fn keep_alive(silence: bool) -> BoxedStrategy<u16> {
    if silence {
        prop_oneof![8 => Just(60u16), 1 => Just(SHORT_KEEP_ALIVE)].boxed()
    } else {
        Just(60u16).boxed()
    }
}

/// Weights are tenths: `slow` (the operations that let time pass) is 10 in the simulator,
/// 1 over TCP, where their seconds are real. `silence`: short keep alives and silent
/// connections.
fn op(
    wills: bool,
    faults: bool,
    slow: u32,
    silence: bool,
    restarts: bool,
) -> impl Strategy<Value = Op> {
    let mut arms: Vec<(u32, BoxedStrategy<Op>)> =
        vec![
        // Persistent sessions three times as often as clean ones: long-lived sessions,
        // queued messages and reconnects are what the stateful rules are about.
        (
            40,
            (
                client(),
                prop::bool::weighted(0.25),
                will(wills),
                hold(),
                keep_alive(silence),
            )
                .prop_map(|(c, clean, will, hold, keep_alive)| Op::Connect {
                    c,
                    clean,
                    will,
                    hold,
                    keep_alive,
                })
                .boxed(),
        ),
        (10, client().prop_map(|c| Op::Disconnect { c }).boxed()),
        (30, client().prop_map(|c| Op::Drop { c }).boxed()),
        (
            30,
            (client(), prop::collection::vec((filter_index(), grant()), 1..=3))
                .prop_map(|(c, filters)| Op::Subscribe { c, filters })
                .boxed(),
        ),
        (
            10,
            (client(), prop::collection::vec(filter_index(), 1..=2))
                .prop_map(|(c, filters)| Op::Unsubscribe { c, filters })
                .boxed(),
        ),
        (
            60,
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
        (
            10,
            (
                client(),
                topic_index(),
                prop::bool::weighted(0.3),
                prop_oneof![6 => Just(Size::Small), 1 => Just(Size::Empty)],
            )
                .prop_map(|(c, topic, retain, size)| Op::PublishTwice {
                    c,
                    topic,
                    retain,
                    size,
                })
                .boxed(),
        ),
        (
            slow,
            (client(), 1000u16..=3000)
                .prop_map(|(c, ms)| Op::Idle { c, ms })
                .boxed(),
        ),
    ];
    if silence {
        arms.push((slow, client().prop_map(|c| Op::Silence { c }).boxed()));
    }
    if faults {
        arms.push((
            20,
            (client(), 100u16..=800)
                .prop_map(|(c, ms)| Op::Partition { c, ms })
                .boxed(),
        ));
        if restarts {
            arms.push((
                5,
                (client(), 100u16..=500)
                    .prop_map(|(c, ms)| Op::Restart { c, ms })
                    .boxed(),
            ));
        }
        arms.push((5, client().prop_map(|c| Op::Hold { c }).boxed()));
        arms.push((10, client().prop_map(|c| Op::Release { c }).boxed()));
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
                    hold: Hold::All,
                    keep_alive: 60,
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
                    hold: Hold::No,
                    keep_alive: 60,
                }),
            ];
            ops.into_iter()
                .zip(keep)
                .filter_map(|(op, k)| op.filter(|_| k))
                .collect()
        })
}

/// A will on a connection with a short keep alive that then falls silent: the keep alive
/// runs out and the will must be published (3.1.1/MQTT-3.1.2-24, -8). With `keep` flags,
/// as [`inflight_unsubscribe`].
fn silent_will() -> impl Strategy<Value = Vec<Op>> {
    (
        client(),
        topic_index(),
        0u8..3,
        any::<bool>(),
        prop::array::uniform2(prop::bool::weighted(0.999)),
    )
        .prop_map(|(c, topic, qos, retain, keep)| {
            let ops = [
                Op::Connect {
                    c,
                    clean: false,
                    will: Some(WillOp {
                        topic,
                        qos,
                        retain,
                        empty: false,
                    }),
                    hold: Hold::No,
                    keep_alive: SHORT_KEEP_ALIVE,
                },
                Op::Silence { c },
            ];
            ops.into_iter()
                .zip(keep)
                .filter_map(|(op, k)| k.then_some(op))
                .collect()
        })
}

/// An independent operation most of the time, sometimes a pattern of several.
fn segment(wills: bool, faults: bool, sim: bool, silence: bool) -> impl Strategy<Value = Vec<Op>> {
    let slow = if sim { 10 } else { 1 };
    let mut arms: Vec<(u32, BoxedStrategy<Vec<Op>>)> = vec![
        (
            240,
            op(wills, faults, slow, silence, true)
                .prop_map(|o| vec![o])
                .boxed(),
        ),
        (10, inflight_unsubscribe(wills).boxed()),
    ];
    // Proptest refuses arms of weight 0: left out instead.
    if wills && silence {
        arms.push((slow, silent_will().boxed()));
    }
    proptest::strategy::Union::new_weighted(arms)
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
/// `faults`: network-fault operations (partitions), for the simulator. `sim`: operations
/// that let time pass are common (virtual time), else rare. `silence`: short keep alives
/// and connections that fall silent.
pub fn case(
    max_clients: u8,
    max_ops: usize,
    wills: bool,
    faults: bool,
    sim: bool,
    silence: bool,
) -> impl Strategy<Value = Case> {
    let max_clients = max_clients.clamp(2, 6);
    (
        2..=max_clients,
        prop::collection::vec(segment(wills, faults, sim, silence), 1..=max_ops.max(1)),
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
/// `timed`: in the simulator, where idle time costs nothing. No silent connections and no
/// broker restarts: the 5.0 model does not place a keep-alive close against a Will Delay
/// Interval, nor what a restart may lose of delayed wills and shared groups.
pub fn single_op(wills: bool, faults: bool, timed: bool) -> impl Strategy<Value = Op> {
    op(wills, faults, if timed { 10 } else { 1 }, false, false)
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
    | Op::Idle { c, .. }
    | Op::Restart { c, .. }
    | Op::Hold { c }
    | Op::Release { c }
    | Op::Silence { c }
    | Op::PublishTwice { c, .. }
    | Op::Subscribe { c, .. }
    | Op::Unsubscribe { c, .. }
    | Op::Publish { c, .. }) = op
    else {
        return;
    };
    *c %= clients;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// Every combination of the generator's switches builds (proptest refuses arms of
    /// weight 0) and yields runnable cases; without silence, no short keep alive.
    #[test]
    fn every_switch_combination_generates() {
        for bits in 0..16u8 {
            let (wills, faults, sim, silence) =
                (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0, bits & 8 != 0);
            let strategy = case(4, 12, wills, faults, sim, silence);
            let mut runner = TestRunner::deterministic();
            for _ in 0..50 {
                let c = strategy.new_tree(&mut runner).expect("a case").current();
                assert!(!c.ops.is_empty() && c.ops.len() <= 12);
                for op in &c.ops {
                    match op {
                        Op::Connect {
                            keep_alive, will, ..
                        } => {
                            assert!(silence || *keep_alive == 60, "{op}");
                            assert!(wills || will.is_none(), "{op}");
                        }
                        Op::Silence { .. } => assert!(silence, "{op}"),
                        Op::Partition { .. }
                        | Op::Restart { .. }
                        | Op::Hold { .. }
                        | Op::Release { .. } => assert!(faults, "{op}"),
                        _ => {}
                    }
                }
            }
        }
    }
}
