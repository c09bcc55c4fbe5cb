//! Generated 5.0 patterns: operations that rarely line up by chance, each removable by
//! shrinking on its own (as the 3.1.1 in-flight-unsubscribe pattern of ops.rs).

use super::super::ops::Op;
use super::{V5Op, client, will};
use proptest::prelude::*;

/// Messages that wait (5.0 section 3.3.2.3.3): a persistent 5.0 client subscribes to a
/// filter matching "a", is away while another client publishes on "a" with a Message Expiry
/// Interval, time passes, and it comes back. Either it was offline (the message is queued:
/// a short interval must have expired it, a long one must come reduced by the wait) or it
/// held its acknowledgements (the message was in flight: it must be resent whatever its
/// interval, 5.0/MQTT-4.3.3-7 and 4.4). Independent operations rarely line up this way;
/// as in the 3.1.1 pattern each operation can be shrunk away on its own.
pub(super) fn waiting_messages() -> impl Strategy<Value = Vec<Op>> {
    (
        (client(), client()),
        prop::sample::select(vec![0u8, 4, 5, 6]),
        (1u8..=2, 1u8..=2, 1u8..=2),
        any::<bool>(),
        prop::array::uniform6(prop::bool::weighted(0.999)),
    )
        .prop_map(|((c, p), f, (grant, qos, expiry), inflight, keep)| {
            let connect = |hold| {
                Op::V5(V5Op::Connect {
                    c,
                    clean: false,
                    expiry: 2,
                    will: None,
                    will_delay: 0,
                    hold,
                })
            };
            let publish = Op::V5(V5Op::Publish {
                c: p,
                topic: 0,
                qos,
                retain: false,
                expiry,
                users: 0,
                shared: false,
                count: 1,
            });
            let subscribe = Op::Subscribe {
                c,
                filters: vec![(f, grant)],
            };
            let ops = if inflight {
                [
                    connect(true),
                    subscribe,
                    publish,
                    Op::Drop { c },
                    Op::V5(V5Op::Pass { c, secs: 1 }),
                    connect(false),
                ]
            } else {
                [
                    connect(false),
                    subscribe,
                    Op::Drop { c },
                    publish,
                    Op::V5(V5Op::Pass { c, secs: 1 }),
                    connect(false),
                ]
            };
            ops.into_iter()
                .zip(keep)
                .filter_map(|(op, k)| k.then_some(op))
                .collect()
        })
}

/// A session with a short Session Expiry Interval (and perhaps a delayed will) ends while
/// time passes: the client subscribes, goes away, time passes, and it comes back with
/// Clean Start 0 (5.0/MQTT-4.1.0-2, 3.1.3.2.2).
pub(super) fn session_expires(wills: bool) -> impl Strategy<Value = Vec<Op>> {
    (
        (client(), prop::sample::select(vec![0u8, 4, 5, 6]), 1u8..=2),
        (will(wills), 0u8..2, any::<bool>(), 0u8..2),
        prop::array::uniform5(prop::bool::weighted(0.999)),
    )
        .prop_map(|((c, f, grant), (will, will_delay, drop, secs), keep)| {
            let ops = [
                Op::V5(V5Op::Connect {
                    c,
                    clean: false,
                    expiry: 1,
                    will,
                    will_delay,
                    hold: false,
                }),
                Op::Subscribe {
                    c,
                    filters: vec![(f, grant)],
                },
                if drop {
                    Op::Drop { c }
                } else {
                    Op::Disconnect { c }
                },
                Op::V5(V5Op::Pass { c, secs }),
                Op::V5(V5Op::Connect {
                    c,
                    clean: false,
                    expiry: 2,
                    will: None,
                    will_delay: 0,
                    hold: false,
                }),
            ];
            ops.into_iter()
                .zip(keep)
                .filter_map(|(op, k)| k.then_some(op))
                .collect()
        })
}

/// Two members of the shared group, one holding its acknowledgements, get QoS 1/2
/// messages; the holding one drops and comes back. A QoS 2 message in flight stays its
/// own (5.0/MQTT-4.8.2-4); a QoS 1 one may go to the other member (4.8.2).
pub(super) fn shared_member_lost() -> impl Strategy<Value = Vec<Op>> {
    (
        (client(), client(), client()),
        (1u8..=2, 1u8..=2, 2u8..=3),
        prop::array::uniform6(prop::bool::weighted(0.999)),
    )
        .prop_map(|((c, d, p), (grant, qos, count), keep)| {
            let ops = [
                Op::V5(V5Op::Connect {
                    c,
                    clean: false,
                    expiry: 2,
                    will: None,
                    will_delay: 0,
                    hold: true,
                }),
                Op::V5(V5Op::Share { c, qos: grant }),
                Op::V5(V5Op::Share { c: d, qos: 2 }),
                Op::V5(V5Op::Publish {
                    c: p,
                    topic: 0,
                    qos,
                    retain: false,
                    expiry: 0,
                    users: 0,
                    shared: true,
                    count,
                }),
                Op::Drop { c },
                Op::V5(V5Op::Connect {
                    c,
                    clean: false,
                    expiry: 2,
                    will: None,
                    will_delay: 0,
                    hold: false,
                }),
            ];
            ops.into_iter()
                .zip(keep)
                .filter_map(|(op, k)| k.then_some(op))
                .collect()
        })
}
