//! Runs one case against a broker, step by step, keeping the model in step, and judges
//! what arrived. No sleeps: after each operation it waits (bounded) until every client has
//! what the model says it must; at the end until the broker has been quiet for a short
//! bounded interval; only then it judges that nothing else arrived.

use super::conn::{Conn, Inner, Shared};
use super::ops::{Case, Op, Size, filter, topic};
use crate::engine::transport::Endpoint;
use crate::model::judge::{self, ViolationKind};
use crate::model::{ConnNo, Key, Message, Model, MsgId, Observed, Slot, Violation, WillSpec};
use mqttspec_codec::{
    Connect, Disconnect, Packet, ProtocolVersion, Publish, QoS, Subscribe, Subscription,
    Unsubscribe, Will,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How a case talks to its broker.
#[derive(Debug, Clone)]
pub struct CaseConfig {
    pub endpoint: Endpoint,
    /// Topic prefix of the case (no trailing slash).
    pub topic_prefix: String,
    /// Client-id prefix of the case.
    pub client_prefix: String,
    /// Longest wait for an acknowledgement, a CONNACK or a close.
    pub ack_wait: Duration,
    /// Longest wait for the deliveries the model requires.
    pub must_wait: Duration,
    /// The quiet interval before judging that nothing else arrives.
    pub quiet: Duration,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Clear retained messages and stored sessions at the end.
    pub cleanup: bool,
}

/// One executed operation, for the report and the reproducer.
#[derive(Debug, Clone)]
pub enum Done {
    Connect {
        slot: Slot,
        conn: ConnNo,
        clean: bool,
        will: Option<WillSpec>,
        hold: bool,
        session_present: bool,
        took_over: Option<ConnNo>,
    },
    Disconnect {
        slot: Slot,
        conn: ConnNo,
    },
    Drop {
        slot: Slot,
        conn: ConnNo,
    },
    Subscribe {
        slot: Slot,
        conn: ConnNo,
        filters: Vec<(String, u8)>,
    },
    Unsubscribe {
        slot: Slot,
        conn: ConnNo,
        filters: Vec<String>,
    },
    Publish {
        slot: Slot,
        conn: ConnNo,
        msg: Message,
    },
}

/// What a case came to.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub done: Vec<(Op, Done)>,
    pub model: Model,
    pub violation: Option<Violation>,
    pub observed: Vec<Observed>,
    pub trace: Vec<String>,
    /// Operations run (skipped ones not counted).
    pub ops_run: usize,
}

struct Exec {
    cfg: CaseConfig,
    model: Model,
    shared: Arc<Shared>,
    conns: BTreeMap<Slot, Conn>,
    next_msg: MsgId,
    done: Vec<(Op, Done)>,
    persistent: Vec<Slot>,
}

fn payload(id: MsgId, size: Size, will: bool) -> Vec<u8> {
    match size {
        Size::Empty => Vec::new(),
        Size::Small if will => format!("m{id}:will").into_bytes(),
        Size::Small => format!("m{id}:hi").into_bytes(),
        Size::Large => {
            let mut p = format!("m{id}:").into_bytes();
            p.resize(300, b'x');
            p
        }
    }
}

fn protocol(summary: String, rule: &[&str], expected: &str, got: String) -> Violation {
    Violation {
        kind: ViolationKind::Protocol,
        slot: None,
        msg: None,
        rule: rule.iter().map(|s| (*s).to_owned()).collect(),
        summary,
        expected: expected.to_owned(),
        got,
    }
}

/// Runs one case.
pub async fn run_case(case: &Case, cfg: &CaseConfig) -> CaseOutcome {
    let mut exec = Exec {
        cfg: cfg.clone(),
        model: Model::new(),
        shared: Arc::new(Shared::default()),
        conns: BTreeMap::new(),
        next_msg: 1,
        done: Vec::new(),
        persistent: Vec::new(),
    };
    let clients = case.clients.max(1);
    let mut violation = None;
    let mut ops_run = 0;
    for (index, op) in case.ops.iter().enumerate() {
        exec.model.begin_op(exec.done.len());
        let slot = usize::from(op.client() % clients);
        match exec.apply(op, slot).await {
            Ok(false) => continue,
            Ok(true) => ops_run += 1,
            Err(v) => {
                violation = Some(v);
                break;
            }
        }
        let _ = index;
        if let Some(v) = exec.settle().await {
            violation = Some(v);
            break;
        }
    }
    if violation.is_none() {
        violation = exec.finish().await;
    }
    exec.close_all().await;
    if cfg.cleanup {
        exec.cleanup().await;
    }
    let inner = exec.shared.lock();
    let observed = exec.observed(&inner);
    let trace = inner.trace.clone();
    drop(inner);
    CaseOutcome {
        done: exec.done,
        model: exec.model,
        violation,
        observed,
        trace,
        ops_run,
    }
}

impl Exec {
    fn full_topic(&self, rel: &str) -> String {
        format!("{}/{rel}", self.cfg.topic_prefix)
    }

    fn client_id(&self, slot: Slot) -> String {
        format!("{}c{slot}", self.cfg.client_prefix)
    }

    /// What the model makes of every PUBLISH so far.
    fn observed(&self, inner: &Inner) -> Vec<Observed> {
        let prefix = format!("{}/", self.cfg.topic_prefix);
        inner
            .publishes
            .iter()
            .map(|p| {
                let rel = p.topic.strip_prefix(&prefix).unwrap_or(&p.topic).to_owned();
                let own = p.topic.starts_with(&prefix);
                let (key, intact) = if p.payload.is_empty() {
                    (own.then(|| Key::Empty(rel.clone())), own)
                } else {
                    match parse_id(&p.payload).and_then(|id| self.model.message(id)) {
                        Some(m) => (
                            Some(m.key.clone()),
                            m.topic == rel && own && m.payload == p.payload,
                        ),
                        None => (None, false),
                    }
                };
                Observed {
                    seq: p.seq,
                    slot: p.slot,
                    conn: p.conn,
                    key,
                    topic: rel,
                    qos: p.qos,
                    retain: p.retain,
                    dup: p.dup,
                    intact,
                }
            })
            .collect()
    }

    fn errors(&self) -> Option<Violation> {
        let inner = self.shared.lock();
        inner.errors.first().map(|e| {
            protocol(
                "the broker sent a malformed packet".into(),
                &["3.1.1/MQTT-4.8.0-1"],
                "well-formed packets",
                e.clone(),
            )
        })
    }

    /// Waits for the acknowledgement `want` accepts on connection `no`.
    async fn ack(
        &self,
        no: ConnNo,
        what: &str,
        rule: &[&str],
        want: impl Fn(&Packet) -> bool,
    ) -> Result<Packet, Violation> {
        let deadline = Instant::now() + self.cfg.ack_wait;
        let mut found = None;
        self.shared
            .wait_until(deadline, |i| {
                if found.is_some() {
                    return true;
                }
                if let Some(q) = i.acks.get(&no)
                    && let Some(pos) = q.iter().position(&want)
                {
                    found = Some(pos);
                    return true;
                }
                i.closed.contains(&no)
            })
            .await;
        let mut inner = self.shared.lock();
        if let Some(pos) = found
            && let Some(p) = inner.acks.get_mut(&no).and_then(|q| q.remove(pos))
        {
            return Ok(p);
        }
        let got = if inner.closed.contains(&no) {
            "the broker closed the connection".to_owned()
        } else {
            format!("nothing within {:?}", self.cfg.ack_wait)
        };
        Err(protocol(
            format!("no {what} on connection #{no}"),
            rule,
            what,
            got,
        ))
    }

    /// Runs one operation; `Ok(false)` if it does not apply now.
    async fn apply(&mut self, op: &Op, slot: Slot) -> Result<bool, Violation> {
        let connected = self.conns.contains_key(&slot);
        if !connected
            && matches!(
                op,
                Op::Subscribe { .. } | Op::Unsubscribe { .. } | Op::Publish { .. }
            )
        {
            // A client that is not connected connects first (a persistent session, which
            // is what the stateful rules are about), so that every operation counts.
            let implied = Op::Connect {
                c: op.client(),
                clean: false,
                will: None,
                hold: false,
            };
            self.connect(&implied, slot, false, None, false).await?;
            self.settle_or(op).await?;
            self.model.begin_op(self.done.len());
        }
        match op {
            Op::Connect {
                clean, will, hold, ..
            } => {
                if !self.model.connect_is_modelled(slot, *clean) {
                    return Ok(false);
                }
                self.connect(op, slot, *clean, will.as_ref(), *hold).await?;
            }
            Op::Disconnect { .. } | Op::Drop { .. } if !connected => return Ok(false),
            Op::Disconnect { .. } => {
                let Some(c) = self.conns.remove(&slot) else {
                    return Ok(false);
                };
                c.send(Packet::Disconnect(Disconnect::default()));
                c.shutdown();
                self.wait_closed(c.no).await;
                self.model.disconnect(slot);
                self.done
                    .push((op.clone(), Done::Disconnect { slot, conn: c.no }));
            }
            Op::Drop { .. } => {
                let Some(c) = self.conns.remove(&slot) else {
                    return Ok(false);
                };
                c.shutdown();
                self.wait_closed(c.no).await;
                self.model.drop_conn(slot);
                self.done
                    .push((op.clone(), Done::Drop { slot, conn: c.no }));
            }
            Op::Subscribe { filters, .. } => {
                let mut list: Vec<(String, u8)> = Vec::new();
                for (f, q) in filters {
                    let f = filter(*f).to_owned();
                    if !list.iter().any(|(g, _)| *g == f) {
                        list.push((f, *q));
                    }
                }
                let Some(c) = self.conns.get_mut(&slot) else {
                    return Ok(false);
                };
                let no = c.no;
                let pid = c.next_packet_id();
                let subs = list
                    .iter()
                    .map(|(f, q)| {
                        Subscription::new(format!("{}/{f}", self.cfg.topic_prefix), qos(*q))
                    })
                    .collect();
                c.send(Packet::Subscribe(Subscribe {
                    packet_id: pid,
                    subscriptions: subs,
                    ..Subscribe::default()
                }));
                let p = self
                    .ack(
                        no,
                        "SUBACK",
                        &["3.1.1/MQTT-3.8.4-1"],
                        |p| matches!(p, Packet::SubAck(a) if a.packet_id == pid),
                    )
                    .await?;
                let Packet::SubAck(a) = p else {
                    return Ok(true);
                };
                let codes: Vec<u8> = a.return_codes.iter().map(|c| c.0).collect();
                if codes.len() != list.len()
                    || codes
                        .iter()
                        .zip(&list)
                        .any(|(c, (_, q))| *c != 0x80 && *c > *q)
                {
                    return Err(protocol(
                        "the SUBACK does not grant what was asked".into(),
                        &["3.1.1/MQTT-3.8.4-5", "3.1.1/MQTT-3.9.3-1"],
                        &format!("{} codes, each at most the QoS asked, or 0x80", list.len()),
                        format!("{codes:?}"),
                    ));
                }
                self.model.subscribe(slot, &list, &codes);
                self.done.push((
                    op.clone(),
                    Done::Subscribe {
                        slot,
                        conn: no,
                        filters: list,
                    },
                ));
            }
            Op::Unsubscribe { filters, .. } => {
                let mut list: Vec<String> = Vec::new();
                for f in filters {
                    let f = filter(*f).to_owned();
                    if !list.contains(&f) {
                        list.push(f);
                    }
                }
                let Some(c) = self.conns.get_mut(&slot) else {
                    return Ok(false);
                };
                let no = c.no;
                let pid = c.next_packet_id();
                let filters = list
                    .iter()
                    .map(|f| format!("{}/{f}", self.cfg.topic_prefix).into())
                    .collect();
                c.send(Packet::Unsubscribe(Unsubscribe {
                    packet_id: pid,
                    filters,
                    ..Unsubscribe::default()
                }));
                self.ack(
                    no,
                    "UNSUBACK",
                    &["3.1.1/MQTT-3.10.4-4"],
                    |p| matches!(p, Packet::UnsubAck(a) if a.packet_id == pid),
                )
                .await?;
                self.model.unsubscribe(slot, &list);
                self.done.push((
                    op.clone(),
                    Done::Unsubscribe {
                        slot,
                        conn: no,
                        filters: list,
                    },
                ));
            }
            Op::Publish {
                topic: t,
                qos: q,
                retain,
                size,
                count,
                ..
            } => {
                for k in 0..(*count).max(1) {
                    if k > 0 {
                        self.model.begin_op(self.done.len());
                    }
                    if !self.publish_one(op, slot, *t, *q, *retain, *size).await? {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// One PUBLISH, acknowledged; `Ok(false)` if the client is not connected.
    async fn publish_one(
        &mut self,
        op: &Op,
        slot: Slot,
        t: u8,
        q: u8,
        retain: bool,
        size: Size,
    ) -> Result<bool, Violation> {
        let id = self.next_msg;
        let rel = topic(t).to_owned();
        let full = self.full_topic(&rel);
        let Some(c) = self.conns.get_mut(&slot) else {
            return Ok(false);
        };
        self.next_msg += 1;
        let no = c.no;
        let body = payload(id, size, false);
        let mut p = Publish::new(full, qos(q), body.clone());
        p.retain = retain;
        let pid = if q > 0 { c.next_packet_id() } else { 0 };
        p.packet_id = pid;
        c.send(Packet::Publish(p));
        match q {
            0 => {
                // A PINGRESP after the PUBLISH: the broker has read it.
                c.send(Packet::PingReq);
                self.ack(no, "PINGRESP", &["3.1.1/MQTT-3.12.4-1"], |p| {
                    matches!(p, Packet::PingResp)
                })
                .await?;
            }
            1 => {
                self.ack(
                    no,
                    "PUBACK",
                    &["3.1.1/MQTT-4.3.2-2"],
                    |p| matches!(p, Packet::PubAck(a) if a.packet_id == pid),
                )
                .await?;
            }
            _ => {
                self.ack(
                    no,
                    "PUBREC",
                    &["3.1.1/MQTT-4.3.3-2"],
                    |p| matches!(p, Packet::PubRec(a) if a.packet_id == pid),
                )
                .await?;
                self.ack(
                    no,
                    "PUBCOMP",
                    &["3.1.1/MQTT-4.3.3-2"],
                    |p| matches!(p, Packet::PubComp(a) if a.packet_id == pid),
                )
                .await?;
            }
        }
        let msg = Message {
            id,
            key: crate::model::key_for(id, &rel, &body),
            publisher: slot,
            topic: rel,
            qos: q,
            retain,
            payload: body,
            will: false,
        };
        self.model.publish(msg.clone());
        self.done.push((
            op.clone(),
            Done::Publish {
                slot,
                conn: no,
                msg,
            },
        ));
        Ok(true)
    }

    async fn connect(
        &mut self,
        op: &Op,
        slot: Slot,
        clean: bool,
        will: Option<&super::ops::WillOp>,
        hold: bool,
    ) -> Result<(), Violation> {
        let will = will.map(|w| {
            let id = self.next_msg;
            self.next_msg += 1;
            WillSpec {
                id,
                topic: topic(w.topic).to_owned(),
                qos: w.qos,
                retain: w.retain,
                payload: payload(id, if w.empty { Size::Empty } else { Size::Small }, true),
            }
        });
        let no = self.model.next_conn();
        let mut conn = Conn::open(
            &self.cfg.endpoint,
            no,
            slot,
            hold,
            self.shared.clone(),
            self.cfg.ack_wait,
        )
        .await
        .map_err(|e| {
            protocol(
                "the broker took no connection".into(),
                &["3.1.1/MQTT-3.1.4-1"],
                "a TCP connection",
                e,
            )
        })?;
        let _ = conn.next_packet_id();
        let connect = Connect {
            version: ProtocolVersion::V311,
            clean_start: clean,
            keep_alive: 60,
            client_id: self.client_id(slot).into(),
            will: will.as_ref().map(|w| Will {
                topic: self.full_topic(&w.topic).into(),
                payload: w.payload.clone().into(),
                qos: qos(w.qos),
                retain: w.retain,
                properties: Default::default(),
            }),
            username: self.cfg.username.clone().map(Into::into),
            password: self
                .cfg
                .username
                .as_ref()
                .and(self.cfg.password.clone())
                .map(Into::into),
            ..Connect::default()
        };
        conn.send(Packet::Connect(connect));
        let p = self
            .ack(
                no,
                "CONNACK",
                &["3.1.1/MQTT-3.2.0-1", "3.1.1/MQTT-3.1.4-4"],
                |p| matches!(p, Packet::ConnAck(_)),
            )
            .await?;
        let Packet::ConnAck(ack) = p else {
            return Ok(());
        };
        if ack.code.0 != 0 {
            return Err(protocol(
                format!("the broker refused client c{slot}"),
                &["3.1.1/MQTT-3.1.4-4"],
                "CONNACK 0",
                format!("CONNACK {:#04x}", ack.code.0),
            ));
        }
        let old = self.conns.insert(slot, conn);
        let outcome = self.model.connect(slot, clean, will.clone(), hold);
        if !clean && !self.persistent.contains(&slot) {
            self.persistent.push(slot);
        }
        self.done.push((
            op.clone(),
            Done::Connect {
                slot,
                conn: no,
                clean,
                will,
                hold,
                session_present: outcome.session_present,
                took_over: outcome.took_over,
            },
        ));
        if ack.session_present != outcome.session_present {
            return Err(Violation {
                kind: ViolationKind::SessionPresent,
                slot: Some(slot),
                msg: None,
                rule: if clean {
                    vec!["3.1.1/MQTT-3.2.2-1".into()]
                } else if outcome.session_present {
                    vec!["3.1.1/MQTT-3.2.2-2".into(), "3.1.1/MQTT-3.1.2-4".into()]
                } else {
                    vec!["3.1.1/MQTT-3.2.2-3".into()]
                },
                summary: format!("wrong Session Present for client c{slot}"),
                expected: format!("Session Present {}", u8::from(outcome.session_present)),
                got: format!("Session Present {}", u8::from(ack.session_present)),
            });
        }
        if let Some(old) = old {
            // The existing client must be disconnected (3.1.1/MQTT-3.1.4-2).
            let closed = self
                .shared
                .wait_until(Instant::now() + self.cfg.ack_wait, |i| {
                    i.closed.contains(&old.no)
                })
                .await;
            if !closed {
                return Err(protocol(
                    format!(
                        "the broker left connection #{} of client c{slot} open after a takeover",
                        old.no
                    ),
                    &["3.1.1/MQTT-3.1.4-2"],
                    "the old connection closed by the broker",
                    format!("still open after {:?}", self.cfg.ack_wait),
                ));
            }
        }
        Ok(())
    }

    async fn wait_closed(&self, no: ConnNo) {
        self.shared
            .wait_until(Instant::now() + self.cfg.ack_wait, |i| {
                i.closed.contains(&no)
            })
            .await;
    }

    /// After an operation: every required copy has come (bounded wait), and nothing came
    /// that no obligation allows.
    async fn settle_or(&self, _op: &Op) -> Result<(), Violation> {
        match self.settle().await {
            Some(v) => Err(v),
            None => Ok(()),
        }
    }

    async fn settle(&self) -> Option<Violation> {
        if let Some(v) = self.errors() {
            return Some(v);
        }
        let deadline = Instant::now() + self.cfg.must_wait;
        self.shared
            .wait_until(deadline, |i| {
                judge::missing(&self.model, &self.observed(i)).is_none()
            })
            .await;
        let obs = self.observed(&self.shared.lock());
        judge::unexpected(&self.model, &obs).or_else(|| judge::missing(&self.model, &obs))
    }

    /// At the end: quiet for `quiet` (within ten times that at most), then judge
    /// everything.
    async fn finish(&self) -> Option<Violation> {
        let limit = Instant::now() + self.cfg.quiet * 10;
        loop {
            let before = self.shared.lock().publishes.len();
            let until = (Instant::now() + self.cfg.quiet).min(limit);
            let more = self
                .shared
                .wait_until(until, |i| i.publishes.len() != before)
                .await;
            if !more || Instant::now() >= limit {
                break;
            }
        }
        if let Some(v) = self.errors() {
            return Some(v);
        }
        let obs = self.observed(&self.shared.lock());
        judge::unexpected(&self.model, &obs).or_else(|| judge::missing(&self.model, &obs))
    }

    async fn close_all(&mut self) {
        let conns = std::mem::take(&mut self.conns);
        for (_, c) in conns {
            c.send(Packet::Disconnect(Disconnect::default()));
            c.shutdown();
        }
    }

    /// Discards stored sessions and clears retained messages of the case's topics.
    async fn cleanup(&mut self) {
        let wait = self.cfg.ack_wait.min(Duration::from_secs(1));
        let mut ids: Vec<String> = self.persistent.iter().map(|s| self.client_id(*s)).collect();
        ids.push(format!("{}z", self.cfg.client_prefix));
        for (n, id) in ids.iter().enumerate() {
            let no = 10_000 + n as ConnNo;
            let Ok(c) = Conn::open(
                &self.cfg.endpoint,
                no,
                usize::MAX,
                false,
                self.shared.clone(),
                wait,
            )
            .await
            else {
                return;
            };
            c.send(Packet::Connect(Connect {
                clean_start: true,
                client_id: id.clone().into(),
                username: self.cfg.username.clone().map(Into::into),
                password: self
                    .cfg
                    .username
                    .as_ref()
                    .and(self.cfg.password.clone())
                    .map(Into::into),
                ..Connect::default()
            }));
            let deadline = Instant::now() + wait;
            let ok = self
                .shared
                .wait_until(deadline, |i| {
                    i.acks.get(&no).is_some_and(|q| !q.is_empty()) || i.closed.contains(&no)
                })
                .await;
            if ok && n + 1 == ids.len() {
                for (k, t) in super::ops::TOPICS.iter().enumerate() {
                    let mut p = Publish::new(self.full_topic(t), QoS::AtLeastOnce, Vec::new());
                    p.retain = true;
                    p.packet_id = k as u16 + 1;
                    c.send(Packet::Publish(p));
                }
                c.send(Packet::PingReq);
                let _ = self
                    .shared
                    .wait_until(Instant::now() + wait, |i| {
                        i.acks
                            .get(&no)
                            .is_some_and(|q| q.iter().any(|p| matches!(p, Packet::PingResp)))
                    })
                    .await;
            }
            c.send(Packet::Disconnect(Disconnect::default()));
            c.shutdown();
        }
    }
}

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// The message id a payload of this case carries (`m<id>:…`).
pub fn parse_id(payload: &[u8]) -> Option<MsgId> {
    let rest = payload.strip_prefix(b"m")?;
    let end = rest.iter().position(|b| *b == b':')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}
