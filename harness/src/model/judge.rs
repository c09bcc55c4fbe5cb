//! Judging what arrived against the model's obligations: every required copy came, and
//! nothing came that no obligation allows.

use super::{ConnNo, Key, Model, MsgId, Obligation, Slot};
use std::collections::BTreeMap;
use std::fmt;

/// A PUBLISH a client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Arrival order over the whole case.
    pub seq: usize,
    pub slot: Slot,
    pub conn: ConnNo,
    /// `None`: the payload is not one this case published.
    pub key: Option<Key>,
    /// The topic without the case's prefix (the whole topic if it lacks it).
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    /// Whether payload and topic are those of the message its key names.
    pub intact: bool,
    /// On a 5.0 connection: the properties the model judges, and when it came.
    pub v5: Option<super::v5::SeenV5>,
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PUBLISH {:?} qos {} retain {} dup {} on connection #{} ({})",
            self.topic,
            self.qos,
            u8::from(self.retain),
            u8::from(self.dup),
            self.conn,
            match &self.key {
                Some(Key::Id(id)) => format!("message m{id}"),
                Some(Key::Empty(_)) => "empty payload".to_owned(),
                None => "a payload this case never published".to_owned(),
            }
        )
    }
}

/// What kind of rule was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// A copy the model requires did not come.
    Missing,
    /// A copy came that no obligation allows.
    Unexpected,
    /// Two messages came out of the order 4.6 requires.
    Order,
    /// The CONNACK's Session Present was wrong.
    SessionPresent,
    /// A packet identifier or a QoS 2 stage of the broker's flows was wrong ([`super::flows`]).
    Flow,
    /// The broker broke the protocol another way (refused, closed, malformed, silent).
    Protocol,
}

/// A broken rule, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub slot: Option<Slot>,
    pub msg: Option<MsgId>,
    /// The statements broken.
    pub rule: Vec<String>,
    pub summary: String,
    pub expected: String,
    pub got: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.summary, self.rule.join(", "))
    }
}

fn describe(o: &Obligation) -> String {
    let qos = match o.must_qos {
        Some(q) if o.must => format!("qos {q}"),
        _ => format!("qos one of {:?}", o.qos_alt),
    };
    format!(
        "{} of {:?} to client c{}: {qos} retain {} dup {} ({:?}, {} cop{} at most, from connection #{})",
        if o.must { "a copy" } else { "possibly a copy" },
        o.key,
        o.slot,
        u8::from(o.retain),
        u8::from(o.dup),
        o.cause,
        o.copies,
        if o.copies == 1 { "y" } else { "ies" },
        o.from_conn
    )
}

fn satisfies(o: &Obligation, x: &Observed) -> bool {
    x.slot == o.slot
        && x.key.as_ref() == Some(&o.key)
        && x.conn >= o.from_conn
        && x.intact
        && x.retain == o.retain
        && x.dup == o.dup
        && match o.must_qos {
            Some(q) => x.qos == q,
            None => o.qos_alt.contains(&x.qos),
        }
}

fn got_for(obs: &[Observed], slot: Slot, key: &Key) -> String {
    let list: Vec<String> = obs
        .iter()
        .filter(|x| x.slot == slot && x.key.as_ref() == Some(key))
        .map(ToString::to_string)
        .collect();
    if list.is_empty() {
        "no copy of it".to_owned()
    } else {
        list.join("; ")
    }
}

/// The first required copy that has not come, if any.
pub fn missing(model: &Model, obs: &[Observed]) -> Option<Violation> {
    missing_unless(model, obs, &|_| false)
}

/// [`missing`], but not for the clients `skip` names (whose connection is held).
pub fn missing_unless(
    model: &Model,
    obs: &[Observed],
    skip: &dyn Fn(Slot) -> bool,
) -> Option<Violation> {
    let o = model
        .obligations()
        .iter()
        .find(|o| o.must && !skip(o.slot) && !obs.iter().any(|x| satisfies(o, x)))?;
    Some(Violation {
        kind: ViolationKind::Missing,
        slot: Some(o.slot),
        msg: Some(o.msg),
        rule: {
            let mut r: Vec<String> = Vec::new();
            if model.message(o.msg).is_some_and(|m| m.will) {
                r.push("3.1.1/MQTT-3.1.2-8".to_owned());
            }
            r.extend(o.rule.iter().map(|s| (*s).to_owned()));
            r
        },
        summary: format!(
            "client c{} did not receive m{} as required ({:?})",
            o.slot, o.msg, o.cause
        ),
        expected: describe(o),
        got: got_for(obs, o.slot, &o.key),
    })
}

/// The first arrival no obligation allows, or two arrivals out of order.
pub fn unexpected(model: &Model, obs: &[Observed]) -> Option<Violation> {
    // Copies with DUP 0 left per obligation.
    let mut left: Vec<usize> = model.obligations().iter().map(|o| o.copies).collect();
    let mut by_key: BTreeMap<(Slot, &Key), Vec<usize>> = BTreeMap::new();
    for (i, o) in model.obligations().iter().enumerate() {
        by_key.entry((o.slot, &o.key)).or_default().push(i);
    }
    let empty = Vec::new();
    for x in obs {
        let fail = |summary: String, rule: &[&str], expected: String| Violation {
            kind: ViolationKind::Unexpected,
            slot: Some(x.slot),
            msg: match x.key {
                Some(Key::Id(id)) => Some(id),
                _ => None,
            },
            rule: rule.iter().map(|s| (*s).to_owned()).collect(),
            summary,
            expected,
            got: x.to_string(),
        };
        let Some(key) = &x.key else {
            return Some(fail(
                format!("client c{} received a message nobody published", x.slot),
                &["3.1.1/MQTT-4.5.0-1", "3.1.1/MQTT-3.3.2-3"],
                "only messages of this case".into(),
            ));
        };
        if !x.intact {
            return Some(fail(
                format!(
                    "client c{} received a message with another topic or payload than published",
                    x.slot
                ),
                &["3.1.1/MQTT-4.5.0-1", "3.1.1/MQTT-3.3.2-3"],
                "the published topic and payload, unchanged".into(),
            ));
        }
        if x.dup && x.qos == 0 {
            return Some(fail(
                format!("client c{} received a QoS 0 PUBLISH with DUP 1", x.slot),
                &["3.1.1/MQTT-3.3.1-2"],
                "DUP 0 on every QoS 0 PUBLISH".into(),
            ));
        }
        let candidates = by_key.get(&(x.slot, key)).unwrap_or(&empty);
        let obligations = model.obligations();
        if candidates.is_empty() {
            return Some(fail(
                format!(
                    "client c{} received {:?}, which no subscription or session of it calls for",
                    x.slot, key
                ),
                &[
                    "3.1.1/MQTT-3.3.2-3",
                    "3.1.1/MQTT-3.10.4-2",
                    "3.1.1/MQTT-3.1.2-6",
                ],
                "no copy".into(),
            ));
        }
        if x.dup {
            // A resend: 4.4 has the server resend unacknowledged QoS 1/2 PUBLISH packets
            // on reconnect with DUP 1 (3.1.1/MQTT-3.3.1-1); the model does not track
            // which acknowledgements the broker had read before a connection ended, so a
            // resend of any QoS 1/2 copy is allowed.
            let ok = candidates
                .iter()
                .any(|&i| obligations[i].qos_alt.iter().any(|q| *q > 0) && x.qos > 0);
            if !ok {
                return Some(fail(
                    format!("client c{} received a resend of a QoS 0 message", x.slot),
                    &["3.1.1/MQTT-3.3.1-1", "3.1.1/MQTT-3.3.1-3"],
                    "no resend".into(),
                ));
            }
            continue;
        }
        // The most specific obligation that fits (fewest QoS allowed): a copy that two
        // obligations allow goes where it leaves the other one free.
        let slot_for = candidates
            .iter()
            .copied()
            .filter(|&i| {
                let o = &obligations[i];
                !o.dup
                    && left[i] > 0
                    && x.conn >= o.from_conn
                    && x.retain == o.retain
                    && o.qos_alt.contains(&x.qos)
            })
            .min_by_key(|&i| obligations[i].qos_alt.len());
        match slot_for {
            Some(i) => left[i] -= 1,
            None => {
                let allowed: Vec<String> = candidates
                    .iter()
                    .map(|&i| describe(&obligations[i]))
                    .collect();
                let first = &obligations[candidates[0]];
                let rule: &[&str] = if candidates
                    .iter()
                    .all(|&i| obligations[i].retain != x.retain)
                {
                    if x.retain {
                        &["3.1.1/MQTT-3.3.1-9"]
                    } else {
                        &["3.1.1/MQTT-3.3.1-8"]
                    }
                } else if candidates
                    .iter()
                    .all(|&i| !obligations[i].qos_alt.contains(&x.qos))
                {
                    &["3.1.1/MQTT-3.8.4-6", "3.1.1/MQTT-3.3.5-1"]
                } else if first.must_qos.unwrap_or(0) > 0 && !x.dup && x.conn > first.from_conn {
                    &["3.1.1/MQTT-3.3.1-1", "3.1.1/MQTT-4.3.2-1"]
                } else {
                    &[
                        "3.1.1/MQTT-4.3.2-1",
                        "3.1.1/MQTT-4.3.3-2",
                        "3.1.1/MQTT-3.3.5-1",
                    ]
                };
                let mut v = fail(
                    format!(
                        "client c{} received a copy of {:?} that nothing allows (extra copy, or wrong QoS/RETAIN/DUP)",
                        x.slot, key
                    ),
                    rule,
                    allowed.join("; "),
                );
                // An empty payload names no message: the first it may be stands for it (the
                // reproducer counts copies by it).
                v.msg = v.msg.or(Some(first.msg));
                return Some(v);
            }
        }
    }
    order(model, obs)
}

fn order(model: &Model, obs: &[Observed]) -> Option<Violation> {
    let first_arrival = |slot: Slot, id: MsgId| {
        obs.iter()
            .find(|x| x.slot == slot && x.key == Some(Key::Id(id)) && !x.dup)
            .map(|x| x.seq)
    };
    for r in model.order_rules() {
        if let (Some(a), Some(b)) = (
            first_arrival(r.slot, r.first),
            first_arrival(r.slot, r.second),
        ) && b < a
        {
            return Some(Violation {
                kind: ViolationKind::Order,
                slot: Some(r.slot),
                msg: Some(r.second),
                rule: vec!["3.1.1/MQTT-4.6.0-6".into(), "3.1.1/MQTT-4.6.0-5".into()],
                summary: format!(
                    "client c{} received m{} before m{}, published earlier by the same client on the same topic and QoS",
                    r.slot, r.second, r.first
                ),
                expected: format!("m{} before m{}", r.first, r.second),
                got: format!(
                    "m{} first (arrival {b}), m{} after (arrival {a})",
                    r.second, r.first
                ),
            });
        }
    }
    None
}
