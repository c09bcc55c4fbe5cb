//! MQTT 5.0 operations and the generator of cases with 5.0 clients (docs/prop.md, "MQTT
//! 5.0"). Each client of a case speaks one version, chosen with the case; a 5.0 operation
//! given to a 3.1.1 client runs as its 3.1.1 counterpart (options and properties left
//! out) or, with no counterpart (the shared subscription), is skipped. Plain operations on
//! a 5.0 client mean what they mean in 3.1.1: CleanSession 0 is Clean Start 0 with a
//! Session Expiry Interval that never runs out.

use super::ops::{Case, Op, WillOp, filter, topic};
use proptest::prelude::*;
use std::fmt;

#[path = "patterns_v5.rs"]
mod patterns;

/// Which protocol versions the clients of a case speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Version {
    /// Every client 3.1.1 (the generator of the 3.1.1-only runs, seeds unchanged).
    #[default]
    #[value(name = "3.1.1")]
    V311,
    /// Every client 5.0.
    #[value(name = "5.0")]
    V5,
    /// Each client 3.1.1 or 5.0, chosen per case, so that messages cross versions.
    Both,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V311 => "3.1.1",
            Version::V5 => "5.0",
            Version::Both => "both",
        })
    }
}

/// Session Expiry Intervals generated (seconds): ends with the connection, a few seconds,
/// never (5.0 section 3.1.2.11.2).
pub const EXPIRIES: [u32; 3] = [0, 2, u32::MAX];
/// Will Delay Intervals generated (seconds).
pub const WILL_DELAYS: [u32; 2] = [0, 2];
/// Message Expiry Intervals generated (seconds): none, short (expires in an offline
/// queue when time passes), long (its forwarded value shows the wait).
pub const MSG_EXPIRIES: [Option<u32>; 3] = [None, Some(2), Some(60)];
/// How long a `pass` operation lets time run (seconds).
pub const PASS_SECS: [u64; 2] = [1, 4];
/// Topics of the shared space: only the shared subscription matches them.
pub const SHARED_TOPICS: &[&str] = &["^/a", "^/b"];
/// The shared subscription's filter (relative; `$share/g/<prefix>^/#` on the wire).
pub const SHARED_FILTER: &str = "^/#";
/// User properties of a 5.0 PUBLISH: the first `n` of these, in this order (a repeated
/// name, so that order matters: 3.3.2.3.7).
pub const USER_PROPS: &[(&str, &str)] = &[("k", "1"), ("k", "2"), ("z", "3")];

/// A 5.0 operation; `c` is a client index as in [`Op`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V5Op {
    /// CONNECT with Clean Start, a Session Expiry Interval (index into [`EXPIRIES`]) and a
    /// will with a Will Delay Interval (index into [`WILL_DELAYS`]).
    Connect {
        c: u8,
        clean: bool,
        expiry: u8,
        will: Option<WillOp>,
        will_delay: u8,
        hold: bool,
    },
    /// SUBSCRIBE with options: (filter, QoS, options) where options bit 0 is No Local,
    /// bit 1 Retain As Published, bits 2–3 Retain Handling.
    Subscribe {
        c: u8,
        filters: Vec<(u8, u8, u8)>,
    },
    /// Joins the shared group `$share/g/^/#` at this QoS.
    Share {
        c: u8,
        qos: u8,
    },
    Unshare {
        c: u8,
    },
    /// PUBLISH with a Message Expiry Interval (index into [`MSG_EXPIRIES`]) and `users`
    /// User Properties, on the ordinary topics or (`shared`) on the shared space.
    Publish {
        c: u8,
        topic: u8,
        qos: u8,
        retain: bool,
        expiry: u8,
        users: u8,
        shared: bool,
        count: u8,
    },
    /// DISCONNECT, possibly changing the Session Expiry Interval, possibly with reason
    /// 0x04 (Disconnect with Will Message).
    Disconnect {
        c: u8,
        expiry: Option<u8>,
        with_will: bool,
    },
    /// Time passes (index into [`PASS_SECS`]); free in the simulator.
    Pass {
        c: u8,
        secs: u8,
    },
}

impl V5Op {
    pub fn client(&self) -> u8 {
        match self {
            V5Op::Connect { c, .. }
            | V5Op::Subscribe { c, .. }
            | V5Op::Share { c, .. }
            | V5Op::Unshare { c }
            | V5Op::Publish { c, .. }
            | V5Op::Disconnect { c, .. }
            | V5Op::Pass { c, .. } => *c,
        }
    }

    pub fn client_mut(&mut self) -> &mut u8 {
        match self {
            V5Op::Connect { c, .. }
            | V5Op::Subscribe { c, .. }
            | V5Op::Share { c, .. }
            | V5Op::Unshare { c }
            | V5Op::Publish { c, .. }
            | V5Op::Disconnect { c, .. }
            | V5Op::Pass { c, .. } => c,
        }
    }
}

pub fn expiry(i: u8) -> u32 {
    EXPIRIES[usize::from(i) % EXPIRIES.len()]
}

pub fn will_delay(i: u8) -> u32 {
    WILL_DELAYS[usize::from(i) % WILL_DELAYS.len()]
}

pub fn msg_expiry(i: u8) -> Option<u32> {
    MSG_EXPIRIES[usize::from(i) % MSG_EXPIRIES.len()]
}

pub fn pass_secs(i: u8) -> u64 {
    PASS_SECS[usize::from(i) % PASS_SECS.len()]
}

pub fn shared_topic(i: u8) -> &'static str {
    SHARED_TOPICS[usize::from(i) % SHARED_TOPICS.len()]
}

pub fn users(n: u8) -> Vec<(String, String)> {
    USER_PROPS
        .iter()
        .take(usize::from(n))
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// (No Local, Retain As Published, Retain Handling) of an options byte.
pub fn opts(o: u8) -> (bool, bool, u8) {
    (o & 1 != 0, o & 2 != 0, ((o >> 2) & 3) % 3)
}

fn show_expiry(e: u32) -> String {
    if e == u32::MAX {
        "never".to_owned()
    } else {
        format!("{e}s")
    }
}

impl fmt::Display for V5Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V5Op::Connect {
                c,
                clean,
                expiry: e,
                will,
                will_delay: d,
                hold,
            } => {
                write!(
                    f,
                    "c{c} connect5 clean_start={} expiry={}",
                    u8::from(*clean),
                    show_expiry(expiry(*e))
                )?;
                if let Some(w) = will {
                    write!(
                        f,
                        " will({:?} qos {} retain {}{} delay {}s)",
                        topic(w.topic),
                        w.qos,
                        u8::from(w.retain),
                        if w.empty { " empty" } else { "" },
                        will_delay(*d)
                    )?;
                }
                if *hold {
                    write!(f, " holding acks")?;
                }
                Ok(())
            }
            V5Op::Subscribe { c, filters } => {
                let l: Vec<String> = filters
                    .iter()
                    .map(|(x, q, o)| {
                        let (nl, rap, rh) = opts(*o);
                        format!(
                            "{:?}@{q}{}{} rh{rh}",
                            filter(*x),
                            if nl { " nl" } else { "" },
                            if rap { " rap" } else { "" }
                        )
                    })
                    .collect();
                write!(f, "c{c} subscribe5 {}", l.join(", "))
            }
            V5Op::Share { c, qos } => write!(f, "c{c} subscribe $share/g/{SHARED_FILTER}@{qos}"),
            V5Op::Unshare { c } => write!(f, "c{c} unsubscribe $share/g/{SHARED_FILTER}"),
            V5Op::Publish {
                c,
                topic: t,
                qos,
                retain,
                expiry: e,
                users: n,
                shared,
                count,
            } => {
                let name = if *shared { shared_topic(*t) } else { topic(*t) };
                write!(
                    f,
                    "c{c} publish5 {name:?} qos {qos} retain {}",
                    u8::from(*retain && !*shared)
                )?;
                if let Some(e) = msg_expiry(*e) {
                    write!(f, " expiry {e}s")?;
                }
                if *n > 0 {
                    write!(f, " {n} user properties")?;
                }
                if *count > 1 {
                    write!(f, " x{count}")?;
                }
                Ok(())
            }
            V5Op::Disconnect {
                c,
                expiry: e,
                with_will,
            } => {
                write!(f, "c{c} disconnect5")?;
                if let Some(e) = e {
                    write!(f, " expiry={}", show_expiry(expiry(*e)))?;
                }
                if *with_will {
                    write!(f, " with will (0x04)")?;
                }
                Ok(())
            }
            V5Op::Pass { secs, .. } => write!(f, "{}s pass", pass_secs(*secs)),
        }
    }
}

pub(super) fn client() -> impl Strategy<Value = u8> {
    0u8..6
}

fn grant() -> impl Strategy<Value = u8> {
    prop_oneof![1 => Just(0u8), 2 => Just(1u8), 2 => Just(2u8)]
}

fn filter_index() -> impl Strategy<Value = u8> {
    prop_oneof![1 => prop::sample::select(vec![0u8, 4, 5, 6]), 1 => 0..super::ops::FILTERS.len() as u8]
}

pub(super) fn will(wills: bool) -> impl Strategy<Value = Option<WillOp>> {
    prop_oneof![
        2 => Just(None),
        1 => (
            prop_oneof![1 => Just(0u8), 1 => 0..super::ops::TOPICS.len() as u8],
            0u8..3,
            any::<bool>(),
            prop::bool::weighted(0.2)
        )
            .prop_map(|(topic, qos, retain, empty)| Some(WillOp {
                topic,
                qos,
                retain,
                empty
            })),
    ]
    .prop_map(move |w| if wills { w } else { None })
}

/// One 5.0 operation. `passes`: how often time passes (rarer over TCP, where it costs).
fn v5_op(wills: bool, passes: u32) -> impl Strategy<Value = Op> {
    let mut arms: Vec<(u32, BoxedStrategy<V5Op>)> = vec![
        (
            4,
            (
                client(),
                prop::bool::weighted(0.25),
                0u8..3,
                will(wills),
                0u8..2,
                prop::bool::weighted(0.3),
            )
                .prop_map(|(c, clean, expiry, will, will_delay, hold)| V5Op::Connect {
                    c,
                    clean,
                    expiry,
                    will,
                    will_delay,
                    hold,
                })
                .boxed(),
        ),
        (
            4,
            (
                client(),
                prop::collection::vec((filter_index(), grant(), 0u8..16), 1..=2),
            )
                .prop_map(|(c, filters)| V5Op::Subscribe { c, filters })
                .boxed(),
        ),
        (
            2,
            (client(), grant())
                .prop_map(|(c, qos)| V5Op::Share { c, qos })
                .boxed(),
        ),
        (1, client().prop_map(|c| V5Op::Unshare { c }).boxed()),
        (
            6,
            (
                client(),
                prop_oneof![1 => Just(0u8), 1 => 0..super::ops::TOPICS.len() as u8],
                grant(),
                prop::bool::weighted(0.3),
                0u8..3,
                0u8..=3,
                prop::bool::weighted(0.3),
                prop_oneof![2 => Just(1u8), 1 => 2u8..=3],
            )
                .prop_map(
                    |(c, topic, qos, retain, expiry, users, shared, count)| V5Op::Publish {
                        c,
                        topic,
                        qos,
                        retain,
                        expiry,
                        users,
                        shared,
                        count,
                    },
                )
                .boxed(),
        ),
        (
            2,
            (
                client(),
                prop_oneof![2 => Just(None), 1 => (0u8..3).prop_map(Some)],
                prop::bool::weighted(0.3),
            )
                .prop_map(|(c, expiry, with_will)| V5Op::Disconnect {
                    c,
                    expiry,
                    with_will,
                })
                .boxed(),
        ),
    ];
    if passes > 0 {
        arms.push((
            passes,
            (client(), 0u8..2)
                .prop_map(|(c, secs)| V5Op::Pass { c, secs })
                .boxed(),
        ));
    }
    proptest::strategy::Union::new_weighted(arms).prop_map(Op::V5)
}

/// Cases with 5.0 clients (`Version::V5`) or clients of both versions (`Version::Both`).
/// `timed`: generate time passing (the simulator; over TCP it would cost wall time).
pub fn case_v5(
    max_clients: u8,
    max_ops: usize,
    wills: bool,
    faults: bool,
    version: Version,
    timed: bool,
) -> impl Strategy<Value = Case> {
    let max_clients = max_clients.clamp(2, 6);
    // Time passing costs nothing in the simulator; over TCP it costs wall time, so there
    // the `pass` operation and the patterns built on it are left out (time still runs
    // between operations, and the runner waits out what the model cannot place).
    let mut arms: Vec<(u32, BoxedStrategy<Vec<Op>>)> = vec![
        (
            24,
            super::ops::single_op(wills, faults, timed)
                .prop_map(|o| vec![o])
                .boxed(),
        ),
        (1, super::ops::inflight_pattern(wills).boxed()),
        (
            20,
            v5_op(wills, if timed { 2 } else { 0 })
                .prop_map(|o| vec![o])
                .boxed(),
        ),
        (1, patterns::shared_member_lost().boxed()),
    ];
    if timed {
        arms.push((1, patterns::waiting_messages().boxed()));
        arms.push((1, patterns::session_expires(wills).boxed()));
    }
    let segment = proptest::strategy::Union::new_weighted(arms);
    let versions = match version {
        Version::V5 => Just(0x3Fu8).boxed(),
        _ => (0u8..64).boxed(),
    };
    (
        2..=max_clients,
        versions,
        prop::collection::vec(segment, 1..=max_ops.max(1)),
    )
        .prop_map(move |(clients, v5, segments)| {
            let mut c = Case {
                clients,
                ops: segments
                    .into_iter()
                    .flatten()
                    .take(max_ops.max(1))
                    .collect(),
                v5: v5 & ((1u8 << clients) - 1),
            };
            for op in &mut c.ops {
                super::ops::set_client_pub(op, clients);
            }
            c
        })
}
