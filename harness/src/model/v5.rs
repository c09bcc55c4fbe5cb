//! What MQTT 5.0 adds to the model: Session Expiry Interval and time, Will Delay Interval,
//! subscription options (No Local, Retain As Published, Retain Handling), Message Expiry
//! Interval, User Properties and one shared subscription group. 3.1.1 clients are the
//! same sessions with no options; messages cross between the versions (a 3.1.1 copy of a
//! 5.0 message has no properties: 3.1.1 has none).
//!
//! Time. The runner tells the model its clock (milliseconds since the case began) before
//! each operation. A timed event (a session expiring, a delayed will, a queued message
//! expiring) is *surely not yet* before `T - EARLY` and *surely past* after `T + LATE`,
//! `T` being when it is due by the runner's clock. In between the model cannot say, so the
//! runner waits that window out before the next operation ([`Model::ambiguous_until`]):
//! every judgement is made when each event has surely happened or surely not.
//! `LATE` lets a broker act up to 1.5 s after the instant (timers checked once a second,
//! clocks counted in whole seconds); the text gives no tolerance, and a broker acting even
//! later is reported.

use super::*;
use std::collections::BTreeSet;

/// A broker may act this much before the runner's instant (its clock starts when it reads
/// the packet, a little before the runner sees the answer).
pub const EARLY: u64 = 500;
/// ... and this much after it.
pub const LATE: u64 = 1500;

/// Session Expiry Interval meaning "never" (5.0 section 3.1.2.11.2).
pub const NEVER: u32 = u32::MAX;

/// Subscription options of a 5.0 subscription (5.0 section 3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubOpts {
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: u8,
}

/// The 5.0 part of a session.
#[derive(Debug, Clone, Default)]
pub struct SessV5 {
    /// Session Expiry Interval in seconds (from the CONNECT, changed by DISCONNECT).
    pub expiry: u32,
    /// The interval the CONNECT gave (a DISCONNECT may not raise it from 0: 3.14.2.2.2).
    pub connect_expiry: u32,
    /// When its connection closed (runner's clock, ms).
    pub closed_at: u64,
    pub opts: BTreeMap<String, SubOpts>,
    /// Granted QoS of its subscription in the shared group, if a member.
    pub shared: Option<u8>,
}

/// What the model keeps of a 5.0 PUBLISH beyond [`Message`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsgV5 {
    pub expiry: Option<u32>,
    pub user: Vec<(String, String)>,
    /// When the PUBLISH was sent and when its acknowledgement came (runner's clock, ms).
    pub sent_ms: u64,
    pub acked_ms: u64,
}

/// What a 5.0 copy carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeenV5 {
    pub expiry: Option<u32>,
    pub user: Vec<(String, String)>,
    /// When it came (runner's clock, ms).
    pub at_ms: u64,
}

/// A will waiting for its delay (or the session's end).
#[derive(Debug, Clone)]
pub struct PendingWill {
    pub slot: Slot,
    pub msg: Message,
    pub due: u64,
}

/// One message on the shared subscription: at most `max_copies` first copies among the
/// members, and at least one if `must`.
#[derive(Debug, Clone)]
pub struct SharedRule {
    pub msg: MsgId,
    pub key: Key,
    pub qos: u8,
    pub members: Vec<Slot>,
    pub must: bool,
    pub max_copies: usize,
    pub op: usize,
}

/// The model's 5.0 state.
#[derive(Debug, Clone, Default)]
pub struct V5State {
    pub now: u64,
    pub msgs: BTreeMap<MsgId, MsgV5>,
    pub conn_v5: BTreeSet<ConnNo>,
    pub conn_opened: BTreeMap<ConnNo, u64>,
    pub pending_wills: Vec<PendingWill>,
    pub shared: Vec<SharedRule>,
    /// Queued copies that carry RETAIN 1 (Retain As Published), by (session, message);
    /// true: overlapping subscriptions disagree, either RETAIN is allowed.
    pub queued_retain: BTreeMap<(Slot, MsgId), bool>,
    /// Session Expiry Interval and Will Delay Interval of each 5.0 connection's CONNECT.
    pub conn_props: BTreeMap<ConnNo, (u32, u32)>,
    /// Queued messages dropped because their interval ran out, by session.
    pub expired: BTreeSet<(Slot, MsgId)>,
    /// Wills that waited for their Will Delay Interval.
    pub delayed: BTreeSet<MsgId>,
}

/// A 5.0 CONNECT.
#[derive(Debug, Clone)]
pub struct ConnectV5 {
    pub clean_start: bool,
    pub expiry: u32,
    pub will: Option<WillSpec>,
    pub will_delay: u32,
    pub hold: super::Hold,
}

/// Shared-space topics start with this: only they match the shared subscription's filter
/// (ordinary filters such as `#` match them as well).
pub const SHARED_SPACE: char = '^';

fn window(due: u64, now: u64) -> Option<u64> {
    (now + EARLY >= due && now <= due + LATE).then_some(due + LATE)
}

fn secs_ms(s: u32) -> u64 {
    u64::from(s) * 1000
}

impl Model {
    pub fn now(&self) -> u64 {
        self.v5.now
    }

    /// The runner's clock, in ms since the case began.
    pub fn set_now(&mut self, ms: u64) {
        self.v5.now = self.v5.now.max(ms);
    }

    pub fn is_v5_conn(&self, conn: ConnNo) -> bool {
        self.v5.conn_v5.contains(&conn)
    }

    pub fn msg_v5(&self, id: MsgId) -> Option<&MsgV5> {
        self.v5.msgs.get(&id)
    }

    /// The Session Expiry and Will Delay Interval a 5.0 connection's CONNECT carried.
    pub fn conn_props(&self, conn: ConnNo) -> Option<(u32, u32)> {
        self.v5.conn_props.get(&conn).copied()
    }

    /// A connection number used by a CONNECT the broker refused (the runner skipped it).
    pub fn burn_conn(&mut self) {
        self.next_conn += 1;
    }

    /// When a connection was opened (runner's clock, ms).
    pub fn opened_at(&self, conn: ConnNo) -> u64 {
        self.v5.conn_opened.get(&conn).copied().unwrap_or(0)
    }

    /// Whether the case has a 5.0 connection.
    pub fn any_v5(&self) -> bool {
        !self.v5.conn_v5.is_empty()
    }

    pub fn shared_rules(&self) -> &[SharedRule] {
        &self.v5.shared
    }

    /// Notes when a connection was opened (its CONNECT went out after this).
    pub fn conn_opened(&mut self, conn: ConnNo, ms: u64) {
        self.v5.conn_opened.insert(conn, ms);
    }

    /// Records the 5.0 properties of a message before [`Model::publish`] routes it.
    pub fn note_v5(&mut self, id: MsgId, info: MsgV5) {
        self.v5.msgs.insert(id, info);
    }

    /// Until when the model cannot tell whether a timed event happened: the runner waits
    /// that long before its next operation.
    pub fn ambiguous_until(&self) -> Option<u64> {
        let now = self.v5.now;
        let mut until: Option<u64> = None;
        let mut add = |t: Option<u64>| {
            if let Some(t) = t {
                until = Some(until.map_or(t, |u: u64| u.max(t)));
            }
        };
        for w in &self.v5.pending_wills {
            add(window(w.due, now));
        }
        for s in self.sessions.values() {
            if s.conn.is_some() || !s.persistent {
                continue;
            }
            if s.v5.expiry != NEVER {
                add(window(s.v5.closed_at + secs_ms(s.v5.expiry), now));
            }
            for (msg, _, _) in &s.queued {
                if let Some(m) = self.v5.msgs.get(msg)
                    && let Some(e) = m.expiry
                {
                    let (from, to) = (m.sent_ms + secs_ms(e), m.acked_ms + secs_ms(e));
                    if now + EARLY >= from && now <= to + LATE {
                        add(Some(to + LATE));
                    }
                }
            }
        }
        until
    }

    /// The latest instant a pending will may still be published at.
    pub fn last_will_due(&self) -> Option<u64> {
        self.v5.pending_wills.iter().map(|w| w.due + LATE).max()
    }

    /// Applies what has surely happened by now: delayed wills published, expired sessions
    /// and expired queued messages gone. Returns whether anything was published.
    pub fn sweep(&mut self) -> bool {
        let now = self.v5.now;
        // Expired sessions end (5.0/MQTT-4.1.0-2); their wills were due by then
        // (the Will Delay Interval counts to the session's end at most, 3.1.3.2.2).
        let expired: Vec<Slot> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.conn.is_none()
                    && s.persistent
                    && s.v5.expiry != NEVER
                    && s.v5.closed_at + secs_ms(s.v5.expiry) + LATE < now
            })
            .map(|(k, _)| *k)
            .collect();
        for slot in expired {
            self.end_session(slot);
        }
        // Queued messages whose Message Expiry Interval ran out are not delivered
        // (5.0/MQTT-3.3.2-5).
        let msgs = &self.v5.msgs;
        let gone = |id: &MsgId| {
            msgs.get(id)
                .and_then(|m| m.expiry.map(|e| m.acked_ms + secs_ms(e) + LATE < now))
                .unwrap_or(false)
        };
        for (slot, s) in self.sessions.iter_mut() {
            if s.conn.is_none() {
                for (id, _, _) in s.queued.iter().filter(|(id, _, _)| gone(id)) {
                    self.v5.expired.insert((*slot, *id));
                }
                s.queued.retain(|(id, _, _)| !gone(id));
                s.lax.retain(|id| !gone(id));
            }
        }
        let (due, wait): (Vec<PendingWill>, Vec<PendingWill>) =
            std::mem::take(&mut self.v5.pending_wills)
                .into_iter()
                .partition(|w| w.due + LATE < now);
        self.v5.pending_wills = wait;
        let any = !due.is_empty();
        for w in due {
            // Published once the delay passed (5.0/MQTT-3.1.2-8).
            self.publish(w.msg);
        }
        any
    }

    /// A session ends (expiry, or replaced by a Clean Start): a shared member's share may
    /// go to another member (4.8.2: "SHOULD send the Application Message to another
    /// Client"), so one more copy is allowed among the members.
    pub(super) fn end_session(&mut self, slot: Slot) {
        if self.sessions.contains_key(&slot) {
            self.member_lost(slot, false);
            self.sessions.remove(&slot);
        }
    }

    /// A member lost its connection or session: its share of the group's messages may go
    /// to another member (one more first copy allowed), and the members that joined since
    /// the message was published may be the ones that get it.
    pub(super) fn member_lost(&mut self, slot: Slot, qos1_only: bool) {
        let op = self.op;
        let next = self.next_conn;
        let now_members: Vec<(Slot, u8, Option<ConnNo>)> = self
            .sessions
            .iter()
            .filter_map(|(k, s)| s.v5.shared.map(|g| (*k, g, s.conn.as_ref().map(|c| c.no))))
            .collect();
        // The lost member's copy was made at its own grant; handed on, it may keep that
        // QoS (4.8.2 does not say the copy is made anew), never above the new member's.
        let lost_grant = self.sessions.get(&slot).and_then(|s| s.v5.shared);
        let mut add = Vec::new();
        let mut widen: Vec<(MsgId, u8)> = Vec::new();
        for r in &mut self.v5.shared {
            if !r.members.contains(&slot) || (qos1_only && r.qos != 1) {
                continue;
            }
            r.max_copies += 1;
            if let Some(g) = lost_grant {
                widen.push((r.msg, g.min(r.qos)));
            }
            for &(m, g, conn) in &now_members {
                if !r.members.contains(&m) {
                    r.members.push(m);
                    add.push(Obligation {
                        slot: m,
                        msg: r.msg,
                        key: r.key.clone(),
                        cause: Cause::Live,
                        must: false,
                        must_qos: None,
                        qos_alt: vec![g.min(r.qos)],
                        copies: 1,
                        retain: false,
                        dup: false,
                        from_conn: conn.unwrap_or(next),
                        op,
                        rule: &["5.0/MQTT-4.8.2-3", "5.0/MQTT-4.5.0-1"],
                    });
                }
            }
        }
        self.obligations.extend(add);
        for (msg, q) in widen {
            for o in self.obligations.iter_mut() {
                if o.msg == msg
                    && o.slot != slot
                    && is_shared(o)
                    && o.qos_alt.iter().any(|x| *x >= q)
                    && !o.qos_alt.contains(&q)
                {
                    o.qos_alt.push(q);
                    o.qos_alt.sort_unstable();
                }
            }
        }
    }

    /// A 5.0 CONNECT, accepted.
    pub fn connect_v5(&mut self, slot: Slot, c: ConnectV5) -> ConnectOutcome {
        // Takeover first: the old connection's will follows its own delay
        // (5.0/MQTT-3.1.4-3, 3.1.2.5).
        let took_over = self.connection(slot);
        if took_over.is_some() {
            // A takeover by a Clean Start 0 connection: the new connection to the session
            // exists before the old one closes. A will with a delay must then not come
            // (5.0/MQTT-3.1.3-9); one without is published because the server closed the
            // connection (3.1.2.5) or not, because a new connection to the session came
            // "before the Will Delay Interval has passed" (3.1.3.2.2): not settled, so it
            // may come.
            let mut kept = None;
            if !c.clean_start
                && let Some(conn) = self.sessions.get_mut(&slot).and_then(|s| s.conn.as_mut())
                && let Some(w) = conn.will.take()
            {
                if conn.will_delay == 0 {
                    kept = Some(w);
                } else {
                    self.v5.delayed.insert(w.id);
                }
            }
            self.close(slot, true);
            if let Some(w) = kept {
                self.publish_maybe(Message {
                    id: w.id,
                    key: key_for(w.id, &w.topic, &w.payload),
                    publisher: slot,
                    topic: w.topic,
                    qos: w.qos,
                    retain: w.retain,
                    payload: w.payload,
                    will: true,
                });
            }
        }
        // A pending will of this session: a new connection to the session cancels it
        // (5.0/MQTT-3.1.3-9). With Clean Start 1 the old session ends instead, and whether
        // the new connection is one "to this Session" is not settled: it may be published.
        let (mine, rest): (Vec<PendingWill>, Vec<PendingWill>) =
            std::mem::take(&mut self.v5.pending_wills)
                .into_iter()
                .partition(|w| w.slot == slot);
        self.v5.pending_wills = rest;
        if c.clean_start {
            if self.sessions.contains_key(&slot) {
                self.member_lost(slot, false);
            }
            for w in mine {
                self.publish_maybe(w.msg);
            }
        }
        let mut out = self.connect_holding(slot, c.clean_start, c.will.clone(), c.hold);
        out.took_over = took_over;
        self.v5.conn_v5.insert(out.conn);
        self.v5
            .conn_props
            .insert(out.conn, (c.expiry, c.will_delay));
        if let Some(s) = self.sessions.get_mut(&slot) {
            s.persistent = c.expiry > 0;
            s.v5.expiry = c.expiry;
            s.v5.connect_expiry = c.expiry;
            if let Some(conn) = s.conn.as_mut() {
                conn.will_delay = c.will_delay;
            }
        }
        out
    }

    /// A 5.0 DISCONNECT. `expiry`: a new Session Expiry Interval; `with_will`: reason 0x04
    /// (publish the will). Returns false when the DISCONNECT is a protocol error (raising
    /// the interval from 0, 3.14.2.2.2): the broker closes the connection as for any
    /// protocol error, so the will is published and the session keeps interval 0.
    pub fn disconnect_v5(&mut self, slot: Slot, expiry: Option<u32>, with_will: bool) -> bool {
        let Some(s) = self.sessions.get_mut(&slot) else {
            return true;
        };
        if let Some(e) = expiry {
            if s.v5.connect_expiry == 0 && e > 0 {
                self.close(slot, true);
                return false;
            }
            s.v5.expiry = e;
            s.persistent = e > 0;
        }
        self.close(slot, with_will);
        true
    }

    /// Publishes a message the broker may or may not have published: every obligation it
    /// makes is optional, and a retained one only may have replaced the old one.
    pub(super) fn publish_maybe(&mut self, msg: Message) {
        let before = self.obligations.len();
        let old = self.retained.get(&msg.topic).cloned();
        let order = self.order.len();
        self.publish(msg.clone());
        for o in &mut self.obligations[before..] {
            o.must = false;
        }
        self.order.truncate(order);
        if msg.retain {
            let mut r = old.unwrap_or_default();
            if !msg.payload.is_empty() {
                r.candidates.push(msg.id);
            }
            r.certain = false;
            self.retained.insert(msg.topic.clone(), r);
        }
    }

    /// A 5.0 SUBSCRIBE answered with `granted`. Retained messages per Retain Handling
    /// (5.0/MQTT-3.3.1-9, -10, -11): 0 always, 1 only for a subscription that did not
    /// exist, 2 never.
    pub fn subscribe_v5(&mut self, slot: Slot, filters: &[(String, u8, SubOpts)], granted: &[u8]) {
        let Some(session) = self.sessions.get(&slot) else {
            return;
        };
        let mut with: (Vec<(String, u8)>, Vec<u8>) = Default::default();
        let mut without = Vec::new();
        for ((f, q, o), &code) in filters.iter().zip(granted) {
            if code > 2 {
                continue;
            }
            let existed = session.subs.contains_key(f);
            let send = match o.retain_handling {
                0 => true,
                1 => !existed,
                _ => false,
            };
            if send {
                with.0.push((f.clone(), *q));
                with.1.push(code);
            } else {
                without.push((f.clone(), code));
            }
        }
        self.subscribe(slot, &with.0, &with.1);
        if let Some(session) = self.sessions.get_mut(&slot) {
            for (f, code) in without {
                session.subs.insert(f, code);
            }
            for ((f, _, o), &code) in filters.iter().zip(granted) {
                if code <= 2 {
                    session.v5.opts.insert(f.clone(), *o);
                }
            }
        }
    }

    /// Joins the shared group (granted `code`).
    pub fn subscribe_shared(&mut self, slot: Slot, code: u8) {
        if code <= 2
            && let Some(s) = self.sessions.get_mut(&slot)
        {
            s.v5.shared = Some(code);
        }
    }

    pub fn unsubscribe_shared(&mut self, slot: Slot) {
        if let Some(s) = self.sessions.get_mut(&slot) {
            s.v5.shared = None;
        }
    }

    /// The copies a live (or queued) delivery makes for a session: per matching
    /// subscription, (QoS, RETAIN). No Local leaves out the client's own messages
    /// (5.0/MQTT-3.8.3-3); RETAIN is kept only with Retain As Published
    /// (5.0/MQTT-3.3.1-12, -13).
    pub(super) fn live_grants(session: &Session, msg: &Message, slot: Slot) -> Vec<(u8, bool)> {
        session
            .subs
            .iter()
            .filter(|(f, _)| topic::matches(f, &msg.topic))
            .filter_map(|(f, g)| {
                let o = session.v5.opts.get(f).copied().unwrap_or_default();
                if o.no_local && msg.publisher == slot && !msg.will {
                    return None;
                }
                Some(((*g).min(msg.qos), o.retain_as_published && msg.retain))
            })
            .collect()
    }

    /// A message on the shared space: one member of the group gets it (4.8.2, at its
    /// granted QoS: 5.0/MQTT-4.8.2-3). Which member is the broker's choice, and the text
    /// lets it choose a session whose client is offline (the copy then waits there), so a
    /// copy is demanded only when every member is connected.
    pub(super) fn route_shared(&mut self, msg: &Message) {
        let op = self.op;
        let next = self.next_conn;
        let members: Vec<(Slot, u8, Option<ConnNo>)> = self
            .sessions
            .iter()
            .filter_map(|(k, s)| s.v5.shared.map(|g| (*k, g, s.conn.as_ref().map(|c| c.no))))
            .collect();
        if members.is_empty() {
            return;
        }
        let all_live = members.iter().all(|(_, _, c)| c.is_some());
        for &(slot, g, conn) in &members {
            self.obligations.push(Obligation {
                slot,
                msg: msg.id,
                key: msg.key.clone(),
                cause: if conn.is_some() {
                    Cause::Live
                } else {
                    Cause::Queued
                },
                must: false,
                must_qos: None,
                qos_alt: vec![g.min(msg.qos)],
                copies: 1,
                retain: false,
                dup: false,
                from_conn: conn.unwrap_or(next),
                op,
                rule: &["5.0/MQTT-4.8.2-3", "5.0/MQTT-4.5.0-1"],
            });
        }
        self.v5.shared.push(SharedRule {
            msg: msg.id,
            key: msg.key.clone(),
            qos: msg.qos,
            members: members.iter().map(|m| m.0).collect(),
            must: all_live,
            max_copies: 1,
            op,
        });
    }
}

use super::judge_v5::is_shared;
pub use super::judge_v5::*;
