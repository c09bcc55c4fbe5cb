//! An executable model of an MQTT 3.1.1 broker, written from the specification for
//! `mqttspec prop`; what 5.0 adds (session expiry, will delay, subscription options,
//! message expiry, user properties, shared subscriptions) is in `v5.rs`. It must never call into the reference broker's crate: a
//! mistake shared by the two would hide itself (a test checks the sources of this module).
//!
//! The model is driven one operation at a time, after the broker has settled each one
//! (the runner waits for the acknowledgement of every client request). It does not predict
//! one trace: every operation adds *obligations*, per client and message, saying what
//! MUST arrive and what MAY arrive (copies, QoS, RETAIN, DUP), and [`judge`] checks what
//! came against them. Every allowance is written down where it is made, with the section
//! of the specification it comes from; a correct broker must never be flagged.

pub mod flows;
pub mod judge;
mod judge_v5;
mod restart;
mod route;
pub mod topic;
pub mod v5;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
mod tests_v5;

use std::collections::BTreeMap;

pub use judge::{Observed, Violation};

/// A client of the model: an index into the run's client ids.
pub type Slot = usize;
/// Identifies one published message (or will) of a case; carried in its payload.
pub type MsgId = u32;
/// Connections are numbered over the case, in the order they were opened.
pub type ConnNo = u32;

/// What a received PUBLISH is recognised by: its payload names the message, except an empty
/// payload, which can only be told apart by its topic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Id(MsgId),
    Empty(String),
}

/// A message a client published (or a will), as the model keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MsgId,
    pub key: Key,
    pub publisher: Slot,
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub payload: Vec<u8>,
    pub will: bool,
}

/// A will given in a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WillSpec {
    /// The id the will's payload carries (when not empty).
    pub id: MsgId,
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    /// The will's payload (may be empty).
    pub payload: Vec<u8>,
}

/// Why a copy of a message reaches a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Routed to a matching subscription of a connected client.
    Live,
    /// Kept for an offline persistent session and sent when it resumed.
    Queued,
    /// The retained message sent for a new subscription.
    Retained,
    /// Resent after a reconnect because it was never acknowledged.
    Redelivery,
}

/// What the broker owes one client for one message (or may send it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    pub slot: Slot,
    pub msg: MsgId,
    pub key: Key,
    pub cause: Cause,
    /// At least one copy must arrive (else it only may).
    pub must: bool,
    /// The QoS the required copy must have; `None`: any of `qos_alt`.
    pub must_qos: Option<u8>,
    /// Every QoS a copy may have.
    pub qos_alt: Vec<u8>,
    /// How many copies with DUP 0 may arrive.
    pub copies: usize,
    pub retain: bool,
    /// The required copy has DUP 1 (a redelivery); else DUP 0.
    pub dup: bool,
    /// Copies count from this connection of the client on.
    pub from_conn: ConnNo,
    /// The operation that created it.
    pub op: usize,
    /// The statements that require (or allow) it.
    pub rule: &'static [&'static str],
}

/// Two messages a client must receive in this order (4.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRule {
    pub slot: Slot,
    pub first: MsgId,
    pub second: MsgId,
}

/// In-flight QoS 1/2 messages beyond this many on a connection that holds its
/// acknowledgements are not demanded: 3.1.1 leaves flow control to the implementation
/// (Mosquitto's max_inflight_messages, for one) and such messages may wait in the
/// broker's queue; they are allowed whenever they come.
pub const HOLD_LIMIT: usize = 8;

/// What a connection of the case leaves unacknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hold {
    /// Acknowledges everything at once.
    #[default]
    No,
    /// Never acknowledges a QoS 1/2 PUBLISH (PUBREL is still answered).
    All,
    /// Answers PUBLISH (PUBACK, PUBREC) but never PUBREL: QoS 2 flows stay at the
    /// broker's PUBREL stage, which must be resent on resume (3.1.1/MQTT-4.4.0-1).
    Comp,
}

#[derive(Debug, Clone)]
struct Conn {
    no: ConnNo,
    clean: bool,
    hold: bool,
    /// Holds PUBCOMP (see [`Hold::Comp`]).
    comp: bool,
    will: Option<WillSpec>,
    /// Will Delay Interval in seconds (5.0; 0 for 3.1.1).
    will_delay: u32,
}

#[derive(Debug, Clone, Default)]
struct Session {
    persistent: bool,
    subs: BTreeMap<String, u8>,
    /// Messages kept while offline: (message, QoS of delivery, must).
    queued: Vec<(MsgId, u8, bool)>,
    /// Delivered to a holding connection and not acknowledged: (message, QoS, RETAIN).
    unacked: Vec<(MsgId, u8, bool)>,
    /// QoS 2 deliveries whose PUBREL a [`Hold::Comp`] connection left unanswered: the
    /// broker's flow waits for PUBCOMP (they count against [`HOLD_LIMIT`]).
    released: Vec<MsgId>,
    /// Messages that may come at any later time (beyond HOLD_LIMIT).
    lax: Vec<MsgId>,
    /// Which session this is (a new one for every session started), for
    /// [`Model::epoch_of`].
    epoch: u32,
    /// A broker restart may have lost it: until the client's next CONNACK says, what it
    /// would receive is allowed, not required ([`Model::restart`]).
    uncertain: bool,
    /// Last ordered message per (publisher, topic, QoS), for 4.6.
    last_in_order: BTreeMap<(Slot, String, u8), MsgId>,
    conn: Option<Conn>,
    /// Session expiry, subscription options, shared membership (5.0).
    v5: v5::SessV5,
}

/// The retained message of a topic, as far as the model knows it.
#[derive(Debug, Clone, Default)]
struct Retained {
    /// The messages that may be the retained one.
    candidates: Vec<MsgId>,
    /// Whether the single candidate surely is (else each may be, or none).
    certain: bool,
}

/// The model broker.
#[derive(Debug, Clone, Default)]
pub struct Model {
    sessions: BTreeMap<Slot, Session>,
    retained: BTreeMap<String, Retained>,
    messages: BTreeMap<MsgId, Message>,
    /// Every will a CONNECT gave, by id.
    wills: BTreeMap<MsgId, Message>,
    obligations: Vec<Obligation>,
    order: Vec<OrderRule>,
    next_conn: ConnNo,
    op: usize,
    /// The session (epoch) each connection attached to.
    epochs: BTreeMap<ConnNo, u32>,
    next_epoch: u32,
    /// Time, 5.0 properties, delayed wills, the shared group (v5.rs).
    v5: v5::V5State,
}

/// What a CONNECT must get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOutcome {
    pub conn: ConnNo,
    pub session_present: bool,
    /// The connection this one took over, if any.
    pub took_over: Option<ConnNo>,
}

impl Model {
    pub fn new() -> Self {
        Self::default()
    }

    /// The number the next connection will have.
    pub fn next_conn(&self) -> ConnNo {
        self.next_conn
    }

    pub fn obligations(&self) -> &[Obligation] {
        &self.obligations
    }

    pub fn order_rules(&self) -> &[OrderRule] {
        &self.order
    }

    /// A published message, or the will a connection carries (published or not).
    pub fn message(&self, id: MsgId) -> Option<&Message> {
        self.messages.get(&id).or_else(|| self.wills.get(&id))
    }

    /// Sets the index of the operation being applied (recorded in obligations).
    pub fn begin_op(&mut self, op: usize) {
        self.op = op;
    }

    pub fn is_connected(&self, slot: Slot) -> bool {
        self.conn(slot).is_some()
    }

    /// Whether the client's connection is a CleanSession 1 one.
    pub fn connected_clean(&self, slot: Slot) -> Option<bool> {
        self.conn(slot).map(|c| c.clean)
    }

    pub fn connection(&self, slot: Slot) -> Option<ConnNo> {
        self.conn(slot).map(|c| c.no)
    }

    /// The session a connection attached to: connections with the same epoch share the
    /// session state (packet identifiers in flight included); `None` for a connection the
    /// model never accepted.
    pub fn epoch_of(&self, conn: ConnNo) -> Option<u32> {
        self.epochs.get(&conn).copied()
    }

    fn conn(&self, slot: Slot) -> Option<&Conn> {
        self.sessions.get(&slot).and_then(|s| s.conn.as_ref())
    }

    /// Whether the model can say what a CONNECT does here. A CleanSession 0 CONNECT that
    /// takes over a CleanSession 1 connection is left out: whether the old connection's
    /// session is "the current Session" it resumes (3.1.2.4) or ended with its connection
    /// is not settled by the text, so brokers differ on Session Present and subscriptions.
    pub fn connect_is_modelled(&self, slot: Slot, clean: bool) -> bool {
        // (5.0 alike: a connection whose session ends with it, Session Expiry Interval 0.)
        clean
            || self
                .sessions
                .get(&slot)
                .is_none_or(|s| s.conn.is_none() || s.persistent)
    }

    /// A CONNECT of `slot`, accepted. Returns the Session Present the CONNACK must carry
    /// (3.1.1/MQTT-3.2.2-1, -2, -3).
    pub fn connect(
        &mut self,
        slot: Slot,
        clean: bool,
        will: Option<WillSpec>,
        hold: bool,
    ) -> ConnectOutcome {
        let hold = if hold { Hold::All } else { Hold::No };
        self.connect_holding(slot, clean, will, hold)
    }

    /// [`Model::connect`] with any [`Hold`] mode.
    pub fn connect_holding(
        &mut self,
        slot: Slot,
        clean: bool,
        will: Option<WillSpec>,
        mode: Hold,
    ) -> ConnectOutcome {
        let hold = mode == Hold::All;
        // Takeover: the server disconnects the existing client (3.1.1/MQTT-3.1.4-2), which
        // closes its connection without a DISCONNECT, so its will is published
        // (3.1.1/MQTT-3.1.2-8).
        if let Some(w) = &will {
            self.wills.insert(
                w.id,
                Message {
                    id: w.id,
                    key: key_for(w.id, &w.topic, &w.payload),
                    publisher: slot,
                    topic: w.topic.clone(),
                    qos: w.qos,
                    retain: w.retain,
                    payload: w.payload.clone(),
                    will: true,
                },
            );
        }
        let took_over = self.conn(slot).map(|c| c.no);
        if took_over.is_some() {
            self.close(slot, true);
        }
        let no = self.next_conn;
        self.next_conn += 1;
        let conn = Conn {
            no,
            clean,
            hold,
            comp: mode == Hold::Comp,
            will: will.clone(),
            will_delay: 0,
        };
        let resumed = !clean && self.sessions.get(&slot).is_some_and(|s| s.persistent);
        if !resumed {
            let epoch = self.next_epoch;
            self.next_epoch += 1;
            self.epochs.insert(no, epoch);
            // CleanSession 1 discards any earlier session; CleanSession 0 without a stored
            // one starts a new one (3.1.1/MQTT-3.1.2-4, -6).
            self.sessions.insert(
                slot,
                Session {
                    persistent: !clean,
                    conn: Some(conn),
                    epoch,
                    // 3.1.1 sessions never expire; a 5.0 CONNECT sets its own interval.
                    v5: v5::SessV5 {
                        expiry: v5::NEVER,
                        connect_expiry: v5::NEVER,
                        ..Default::default()
                    },
                    ..Session::default()
                },
            );
            return ConnectOutcome {
                conn: no,
                session_present: false,
                took_over,
            };
        }
        let op = self.op;
        let mut new = Vec::new();
        let Some(session) = self.sessions.get_mut(&slot) else {
            return ConnectOutcome {
                conn: no,
                session_present: false,
                took_over,
            };
        };
        session.conn = Some(conn);
        // The broker has the session (Session Present 1): certain again.
        session.uncertain = false;
        self.epochs.insert(no, session.epoch);
        // QoS 2 flows at the PUBREL stage: the broker resends PUBREL (3.1.1/MQTT-4.4.0-1,
        // judged by [`flows`]); a connection that answers it completes them.
        if mode != Hold::Comp {
            session.released.clear();
        }
        // Unacknowledged QoS 1/2 messages are sent again, with DUP 1 and their packet
        // identifiers (3.1.1/MQTT-4.4.0-1, 3.1.1/MQTT-3.3.1-1).
        let unacked = std::mem::take(&mut session.unacked);
        for &(msg, qos, retain) in &unacked {
            new.push((msg, Cause::Redelivery, true, qos, retain));
        }
        if hold {
            session.unacked = unacked;
        } else if mode == Hold::Comp {
            // Resent QoS 2 copies get PUBREC, and their PUBREL is left unanswered.
            let comp = unacked
                .iter()
                .filter(|(_, q, _)| *q == 2)
                .map(|(m, _, _)| *m);
            session.released.extend(comp);
        }
        // Messages kept while offline are sent now: QoS 1/2 must be
        // (3.1.1/MQTT-3.1.2-5); QoS 0 ones may be (3.1.2.4: "QoS 0 messages pending
        // transmission to the Client" are optional session state).
        for (msg, qos, must) in std::mem::take(&mut session.queued) {
            new.push((msg, Cause::Queued, must, qos, false));
            if hold && qos > 0 && must {
                session.unacked.push((msg, qos, false));
            } else if mode == Hold::Comp && qos == 2 && must {
                session.released.push(msg);
            }
        }
        // Messages past HOLD_LIMIT may come on any later connection, as first copies or
        // resends.
        for &msg in &session.lax {
            new.push((msg, Cause::Queued, false, 0, false));
        }
        for (msg, cause, mut must, qos, mut retain) in new {
            // A queued 5.0 copy keeps RETAIN under Retain As Published; with overlapping
            // subscriptions that disagree, either is allowed (v5.rs).
            if cause == Cause::Queued
                && let Some(&mixed) = self.v5.queued_retain.get(&(slot, msg))
            {
                retain = !mixed;
                if mixed {
                    must = false;
                    self.oblige(Obligation {
                        slot,
                        msg,
                        key: self.key_of(msg),
                        cause,
                        must,
                        must_qos: Some(qos),
                        // Overlapping subscriptions: a copy at any of their QoS.
                        qos_alt: vec![0, 1, 2],
                        copies: 1,
                        retain: true,
                        dup: false,
                        from_conn: no,
                        op,
                        rule: &["5.0/MQTT-3.3.1-13"],
                    });
                }
            }
            let (qos_alt, dup) = match cause {
                Cause::Queued if !must => (vec![0, 1, 2], false),
                _ => (vec![qos], cause == Cause::Redelivery),
            };
            let rule: &'static [&'static str] = match cause {
                Cause::Redelivery => &["3.1.1/MQTT-4.4.0-1", "3.1.1/MQTT-3.3.1-1"],
                _ => &["3.1.1/MQTT-3.1.2-5", "3.1.1/MQTT-3.1.2-4"],
            };
            self.oblige(Obligation {
                slot,
                msg,
                key: self.key_of(msg),
                cause,
                must,
                must_qos: Some(qos),
                qos_alt,
                copies: 1,
                retain,
                dup,
                from_conn: no,
                op,
                rule,
            });
        }
        ConnectOutcome {
            conn: no,
            session_present: true,
            took_over,
        }
    }

    fn key_of(&self, msg: MsgId) -> Key {
        self.messages
            .get(&msg)
            .map_or(Key::Id(msg), |m| m.key.clone())
    }

    fn oblige(&mut self, o: Obligation) {
        self.obligations.push(o);
    }

    /// The client sends DISCONNECT: the will is discarded (3.1.1/MQTT-3.14.4-3); a
    /// CleanSession 1 session ends (3.1.1/MQTT-3.1.2-6).
    pub fn disconnect(&mut self, slot: Slot) {
        self.close(slot, false);
    }

    /// The network connection closes without DISCONNECT: the will is published
    /// (3.1.1/MQTT-3.1.2-8).
    pub fn drop_conn(&mut self, slot: Slot) {
        self.close(slot, true);
    }

    fn close(&mut self, slot: Slot, publish_will: bool) {
        let now = self.v5.now;
        let Some(session) = self.sessions.get_mut(&slot) else {
            return;
        };
        let Some(conn) = session.conn.take() else {
            return;
        };
        let ends = !session.persistent;
        let expiry = session.v5.expiry;
        if ends {
            self.end_session(slot);
        } else {
            session.v5.closed_at = now;
            if !conn.hold {
                // A connection that acknowledges everything leaves nothing unacknowledged
                // but what it holds; the acknowledgements it sent are taken as received.
                session.unacked.clear();
            } else {
                // A QoS 1 shared message in flight to it may go to another member
                // (4.8.2: "MAY attempt to send the message to another Client").
                self.member_lost(slot, true);
            }
        }
        if publish_will && let Some(w) = conn.will {
            let id = w.id;
            let msg = Message {
                id,
                key: key_for(id, &w.topic, &w.payload),
                publisher: slot,
                topic: w.topic,
                qos: w.qos,
                retain: w.retain,
                payload: w.payload,
                will: true,
            };
            // 5.0: published once the Will Delay Interval passed or the session ended,
            // whichever comes first (3.1.3.2.2); 3.1.1 wills have no delay.
            let delay = if ends { 0 } else { conn.will_delay.min(expiry) };
            if delay == 0 {
                self.publish(msg);
            } else {
                self.v5.delayed.insert(msg.id);
                self.v5.pending_wills.push(v5::PendingWill {
                    slot,
                    msg,
                    due: now + u64::from(delay) * 1000,
                });
            }
        }
    }

    /// A SUBSCRIBE answered with `granted` (one code per filter: 0, 1, 2 or 0x80).
    pub fn subscribe(&mut self, slot: Slot, filters: &[(String, u8)], granted: &[u8]) {
        let op = self.op;
        let Some(session) = self.sessions.get_mut(&slot) else {
            return;
        };
        let Some(conn) = session.conn.as_ref().map(|c| c.no) else {
            return;
        };
        // Processed as if each filter came in its own SUBSCRIBE (3.1.1/MQTT-3.8.4-4); an
        // identical filter replaces the old subscription (3.1.1/MQTT-3.8.4-3).
        let mut new: Vec<(String, u8)> = Vec::new();
        for ((filter, _asked), &code) in filters.iter().zip(granted) {
            if code > 2 {
                continue;
            }
            session.subs.insert(filter.clone(), code);
            // A plain SUBSCRIBE has every option 0 (5.0 ones are set by subscribe_v5).
            session.v5.opts.remove(filter);
            new.push((filter.clone(), code));
        }
        // Every retained message matching a new (or replaced) subscription is sent, with
        // RETAIN 1 (3.1.1/MQTT-3.3.1-6, -8, 3.1.1/MQTT-3.8.4-3), at the lower of its QoS and
        // the grant (3.1.1/MQTT-3.8.4-6). Several matching filters in one SUBSCRIBE may
        // each send it: one copy per filter at most, at any of their QoS.
        let mut owed = Vec::new();
        for (topic, r) in &self.retained {
            let matching: Vec<u8> = new
                .iter()
                .filter(|(f, _)| topic::matches(f, topic))
                .map(|(_, g)| *g)
                .collect();
            if matching.is_empty() {
                continue;
            }
            for &msg in &r.candidates {
                let Some(m) = self.messages.get(&msg) else {
                    continue;
                };
                let mut alt: Vec<u8> = matching.iter().map(|g| (*g).min(m.qos)).collect();
                alt.sort_unstable();
                alt.dedup();
                owed.push(Obligation {
                    slot,
                    msg,
                    key: m.key.clone(),
                    cause: Cause::Retained,
                    must: r.certain,
                    must_qos: None,
                    qos_alt: alt,
                    copies: matching.len(),
                    retain: true,
                    dup: false,
                    from_conn: conn,
                    op,
                    rule: &["3.1.1/MQTT-3.3.1-6", "3.1.1/MQTT-3.3.1-8"],
                });
            }
        }
        for o in owed {
            self.oblige(o);
        }
    }

    /// An UNSUBSCRIBE answered with UNSUBACK: exact filters are removed
    /// (3.1.1/MQTT-3.10.4-1); deliveries already begun go on (3.1.1/MQTT-3.10.4-3).
    pub fn unsubscribe(&mut self, slot: Slot, filters: &[String]) {
        if let Some(s) = self.sessions.get_mut(&slot) {
            for f in filters {
                s.subs.remove(f);
            }
        }
    }
}

/// The key of a message with this payload.
pub fn key_for(id: MsgId, topic: &str, payload: &[u8]) -> Key {
    if payload.is_empty() {
        Key::Empty(topic.to_owned())
    } else {
        Key::Id(id)
    }
}
