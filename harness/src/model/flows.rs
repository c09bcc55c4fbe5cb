//! The broker's packet identifiers and the PUBREL stage of its QoS 2 flows, judged from what
//! went over the wire. The obligations of [`super::Model`] are per message and cannot name
//! identifiers (the broker chooses them), so this judge follows every flow of a session by
//! its identifier, from the PUBLISH the client received to the acknowledgement it sent.
//!
//! What the client knows is all it judges: an identifier is in use from the PUBLISH that
//! carried it until the client *sent* PUBACK (QoS 1) or PUBCOMP (QoS 2); the broker may
//! reuse it any time after (it may have read the acknowledgement). Which acknowledgements
//! the broker read before a connection ended is unknown, so a resend of an acknowledged
//! message is allowed, but it must carry one of the identifiers that message had.

use super::judge::{Violation, ViolationKind};
use super::{ConnNo, Key, Model, Observed, Slot};
use std::collections::{BTreeMap, BTreeSet};

/// One event on a connection of the case, in the order the client saw or did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// The broker's PUBLISH with this arrival number ([`Observed::seq`]) and identifier.
    Publish { seq: usize, id: u16 },
    /// The client sent PUBACK (QoS 1) or PUBCOMP (QoS 2): the flow is complete.
    Acked { conn: ConnNo, slot: Slot, id: u16 },
    /// The client sent PUBREC for a QoS 2 PUBLISH.
    Received { conn: ConnNo, slot: Slot, id: u16 },
    /// The broker sent PUBREL.
    Released { conn: ConnNo, slot: Slot, id: u16 },
    /// The broker's CONNACK on this connection.
    ConnAck { conn: ConnNo, slot: Slot },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The PUBLISH came, nothing was sent back.
    Sent,
    /// PUBREC sent: the broker must answer PUBREL (3.1.1/MQTT-4.3.3-1).
    Received,
    /// PUBREL came and PUBCOMP was not sent: the broker waits for PUBCOMP and must not
    /// send the PUBLISH again (3.1.1/MQTT-4.3.3-1).
    Released,
}

#[derive(Debug, Clone)]
struct Flow {
    key: Option<Key>,
    stage: Stage,
    conn: ConnNo,
}

#[derive(Debug, Default)]
struct Session {
    epoch: Option<u32>,
    in_use: BTreeMap<u16, Flow>,
    /// Every identifier a copy of a message had in this session.
    ids_of: BTreeMap<Key, BTreeSet<u16>>,
    /// PUBRELs a resumed connection must get: (connection, identifier).
    owed_rel: BTreeSet<(ConnNo, u16)>,
}

/// What the wire shows against the rules of packet identifiers and flows.
#[derive(Debug, Default)]
pub struct Verdict {
    /// A packet the broker must not have sent.
    pub unexpected: Option<Violation>,
    /// A PUBREL the broker has not sent (yet).
    pub missing: Option<Violation>,
}

fn violation(slot: Slot, summary: String, rule: &[&str], expected: &str, got: String) -> Violation {
    Violation {
        kind: ViolationKind::Flow,
        slot: Some(slot),
        msg: None,
        rule: rule.iter().map(|s| (*s).to_owned()).collect(),
        summary,
        expected: expected.to_owned(),
        got,
    }
}

fn name(key: Option<&Key>) -> String {
    match key {
        Some(Key::Id(id)) => format!("m{id}"),
        Some(Key::Empty(t)) => format!("the empty message on {t:?}"),
        None => "an unknown message".to_owned(),
    }
}

/// Judges the flows. `closed`: the connections the broker has closed (or that ended).
pub fn judge(model: &Model, obs: &[Observed], wire: &[Wire], closed: &BTreeSet<ConnNo>) -> Verdict {
    let mut sessions: BTreeMap<Slot, Session> = BTreeMap::new();
    let mut verdict = Verdict::default();
    for w in wire {
        if verdict.unexpected.is_some() {
            break;
        }
        match *w {
            Wire::ConnAck { conn, slot } => {
                let Some(epoch) = model.epoch_of(conn) else {
                    continue;
                };
                let s = sessions.entry(slot).or_default();
                if s.epoch != Some(epoch) {
                    // A new session: nothing of the old one is in flight any more.
                    *s = Session {
                        epoch: Some(epoch),
                        ..Session::default()
                    };
                    continue;
                }
                // A resumed session: every PUBREL the client left unanswered is sent again
                // with its identifier (3.1.1/MQTT-4.4.0-1).
                s.owed_rel.clear();
                for (id, f) in &s.in_use {
                    if f.stage == Stage::Released {
                        s.owed_rel.insert((conn, *id));
                    }
                }
            }
            Wire::Publish { seq, id } => {
                let Some(x) = obs.iter().find(|x| x.seq == seq) else {
                    continue;
                };
                if x.qos == 0 || model.epoch_of(x.conn).is_none() {
                    continue;
                }
                let s = sessions.entry(x.slot).or_default();
                let earlier = x.key.as_ref().and_then(|k| s.ids_of.get(k));
                if let Some(f) = s.in_use.get(&id) {
                    if x.dup && f.key == x.key && f.stage == Stage::Released {
                        verdict.unexpected = Some(violation(
                            x.slot,
                            format!(
                                "client c{} received {} again after the broker's PUBREL for it",
                                x.slot,
                                name(x.key.as_ref())
                            ),
                            &["3.1.1/MQTT-4.3.3-1", "3.1.1/MQTT-4.4.0-1"],
                            &format!("PUBREL {id} again, not the PUBLISH"),
                            format!("{x} with packet identifier {id}"),
                        ));
                        continue;
                    }
                    if !x.dup || f.key != x.key {
                        verdict.unexpected = Some(violation(
                            x.slot,
                            format!(
                                "client c{} received {} with packet identifier {id}, still in use by {}",
                                x.slot,
                                name(x.key.as_ref()),
                                name(f.key.as_ref())
                            ),
                            &[
                                "3.1.1/MQTT-2.3.1-4",
                                "3.1.1/MQTT-4.3.2-1",
                                "3.1.1/MQTT-4.3.3-1",
                            ],
                            "an identifier no unacknowledged flow of the session uses",
                            format!("{x} with packet identifier {id}"),
                        ));
                        continue;
                    }
                }
                if x.dup
                    && let Some(ids) = earlier
                    && !ids.contains(&id)
                {
                    let was: Vec<String> = ids.iter().map(ToString::to_string).collect();
                    verdict.unexpected = Some(violation(
                        x.slot,
                        format!(
                            "client c{} received a resend of {} with a new packet identifier",
                            x.slot,
                            name(x.key.as_ref())
                        ),
                        &["3.1.1/MQTT-4.4.0-1", "3.1.1/MQTT-2.3.1-4"],
                        &format!("DUP 1 with the original identifier ({})", was.join(" or ")),
                        format!("{x} with packet identifier {id}"),
                    ));
                    continue;
                }
                if let Some(k) = &x.key {
                    s.ids_of.entry(k.clone()).or_default().insert(id);
                }
                s.in_use.insert(
                    id,
                    Flow {
                        key: x.key.clone(),
                        stage: Stage::Sent,
                        conn: x.conn,
                    },
                );
            }
            Wire::Acked { conn, slot, id } => {
                if model.epoch_of(conn).is_some()
                    && let Some(s) = sessions.get_mut(&slot)
                {
                    s.in_use.remove(&id);
                    s.owed_rel.remove(&(conn, id));
                }
            }
            Wire::Received { conn, slot, id } => {
                if let Some(f) = sessions.get_mut(&slot).and_then(|s| s.in_use.get_mut(&id)) {
                    f.stage = Stage::Received;
                    f.conn = conn;
                }
            }
            Wire::Released { conn, slot, id } => {
                if let Some(s) = sessions.get_mut(&slot) {
                    s.owed_rel.remove(&(conn, id));
                    if let Some(f) = s.in_use.get_mut(&id) {
                        // A PUBREL for an identifier the client completed is a resend the
                        // broker may make (it may not have read the PUBCOMP): allowed.
                        f.stage = Stage::Released;
                        f.conn = conn;
                    }
                }
            }
        }
    }
    for (slot, s) in &sessions {
        if let Some(&(conn, id)) = s.owed_rel.iter().next() {
            let key = s.in_use.get(&id).and_then(|f| f.key.clone());
            verdict.missing = Some(violation(
                *slot,
                format!(
                    "client c{slot} resumed its session on connection #{conn} and the broker did not resend PUBREL {id} ({})",
                    name(key.as_ref())
                ),
                &["3.1.1/MQTT-4.4.0-1"],
                &format!("PUBREL {id} on connection #{conn}"),
                "no PUBREL".to_owned(),
            ));
            break;
        }
        if let Some((id, f)) = s
            .in_use
            .iter()
            .find(|(_, f)| f.stage == Stage::Received && !closed.contains(&f.conn))
        {
            verdict.missing = Some(violation(
                *slot,
                format!(
                    "client c{slot} sent PUBREC {id} ({}) and the broker did not answer PUBREL",
                    name(f.key.as_ref())
                ),
                &["3.1.1/MQTT-4.3.3-1"],
                &format!("PUBREL {id} on connection #{}", f.conn),
                "no PUBREL".to_owned(),
            ));
            break;
        }
    }
    verdict
}
