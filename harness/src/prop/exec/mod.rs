//! Runs one case against a broker, step by step, keeping the model in step, and judges
//! what arrived (operations in `apply.rs`, the end-of-case cleanup in `cleanup.rs`). No sleeps: after each operation it waits (bounded) until every client has
//! what the model says it must; at the end until the broker has been quiet for a short
//! bounded interval; only then it judges that nothing else arrived.

mod apply;
mod cleanup;
mod timed;
pub mod v5;

use super::conn::{Conn, Inner, Shared};
use super::ops::{Case, Op, Size, filter, topic};
use crate::engine::transport::Endpoint;
use crate::model::judge::{self, ViolationKind};
use crate::model::{
    ConnNo, Hold, Key, Message, Model, MsgId, Observed, Slot, Violation, WillSpec, flows,
};
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
    /// In the simulator: restarts the broker's host.
    pub broker_control: Option<crate::engine::BrokerControl>,
}

/// One executed operation, for the report and the reproducer.
#[derive(Debug, Clone)]
pub enum Done {
    Connect {
        slot: Slot,
        conn: ConnNo,
        clean: bool,
        will: Option<WillSpec>,
        hold: Hold,
        keep_alive: u16,
        session_present: bool,
        took_over: Option<ConnNo>,
    },
    Idle {
        ms: u64,
    },
    /// The broker's host crashed and came back after `ms` with no state in memory.
    Restart {
        ms: u64,
    },
    /// Nothing passes on the connection until its `Release`.
    Hold {
        slot: Slot,
        conn: ConnNo,
    },
    Release {
        slot: Slot,
        conn: ConnNo,
    },
    /// The connection fell silent; the broker closed it (keep alive).
    Silence {
        slot: Slot,
        conn: ConnNo,
        keep_alive: u16,
    },
    Disconnect {
        slot: Slot,
        conn: ConnNo,
    },
    Drop {
        slot: Slot,
        conn: ConnNo,
    },
    Partition {
        slot: Slot,
        conn: ConnNo,
        ms: u64,
    },
    Subscribe {
        slot: Slot,
        conn: ConnNo,
        filters: Vec<(String, u8)>,
        /// The SUBACK was wrong: the reproducer states the codes a correct one may have.
        suback_checked: bool,
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
        /// A QoS 2 PUBLISH sent again with DUP 1 before PUBREL.
        twice: bool,
    },
    /// 5.0 operations and time passing (v5.rs).
    V5(v5::DoneV5),
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
    /// Clients whose connection is held (simulator): nothing they must receive can come
    /// until the release, and they do nothing meanwhile.
    held: std::collections::BTreeSet<Slot>,
    /// When the case began (the model's clock counts from here).
    start: Instant,
    /// Bit i: client i speaks 5.0.
    v5_slots: u8,
    /// Session Expiry and Will Delay Interval for the next 5.0 CONNECT.
    v5_connect: Option<(u32, u32)>,
    /// What the broker's 5.0 CONNACK declined.
    caps: v5::Caps,
    caps_seen: bool,
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
        held: Default::default(),
        start: Instant::now(),
        v5_slots: case.v5,
        v5_connect: None,
        caps: v5::Caps::default(),
        caps_seen: false,
    };
    let clients = case.clients.max(1);
    let mut violation = None;
    let mut ops_run = 0;
    for (index, op) in case.ops.iter().enumerate() {
        // Timed 5.0 events (delayed wills, expiries) are placed before the operation.
        if let Err(v) = exec.advance().await {
            violation = Some(v);
            break;
        }
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
    if violation.is_none()
        && let Err(v) = exec.wait_wills().await
    {
        violation = Some(v);
    }
    if violation.is_none() {
        // What is held comes now, and is judged with the rest.
        exec.release_all();
        violation = exec.finish().await;
    }
    // A 5.0 client's finding cites the 5.0 statements.
    violation = violation.map(|v| match v.slot {
        Some(slot) if exec.is_v5(slot) => crate::model::v5::rules_for_v5(v),
        _ => v,
    });
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
                    v5: self.seen_v5(p),
                }
            })
            .collect()
    }

    fn errors(&self) -> Option<Violation> {
        let inner = self.shared.lock();
        if let Some(e) = inner.before_connack.first() {
            return Some(protocol(
                "the broker sent a packet before the CONNACK".into(),
                &["3.1.1/MQTT-3.2.0-1"],
                "the CONNACK first",
                e.clone(),
            ));
        }
        inner.errors.first().map(|e| {
            protocol(
                "the broker sent a malformed packet".into(),
                &["3.1.1/MQTT-4.8.0-1"],
                "well-formed packets",
                e.clone(),
            )
        })
    }

    /// Packet identifiers and QoS 2 stages ([`flows`]) of what came so far; a held
    /// connection owes nothing yet.
    fn flows(&self, inner: &Inner, obs: &[Observed]) -> flows::Verdict {
        let mut quiet = inner.closed.clone();
        quiet.extend(
            self.held
                .iter()
                .filter_map(|s| self.conns.get(s).map(|c| c.no)),
        );
        flows::judge(&self.model, obs, &inner.wire, &quiet)
    }

    /// The first required copy that has not come, but to a held client.
    fn missing(&self, obs: &[Observed]) -> Option<Violation> {
        judge::missing_unless(&self.model, obs, &|slot| self.held.contains(&slot))
    }

    /// Releases every held connection (as `Release` operations of the case).
    fn release_all(&mut self) {
        for slot in std::mem::take(&mut self.held) {
            if let Some(c) = self.conns.get(&slot) {
                c.release();
                let op = Op::Release {
                    c: u8::try_from(slot).unwrap_or(u8::MAX),
                };
                self.done.push((op, Done::Release { slot, conn: c.no }));
            }
        }
    }

    /// Everything judged on what came so far: an arrival nothing allows first, then a
    /// required one that has not come.
    fn judge_all(&self) -> Option<Violation> {
        let inner = self.shared.lock();
        let obs = self.observed(&inner);
        let f = self.flows(&inner, &obs);
        judge::unexpected(&self.model, &obs)
            .map(|v| crate::model::v5::explain_expired(&self.model, v))
            .or_else(|| crate::model::v5::check(&self.model, &obs))
            .or(f.unexpected)
            .or_else(|| self.missing(&obs))
            .or(f.missing)
            // A held member's shared copies come at its release: judged then.
            .or_else(|| {
                if self.held.is_empty() {
                    crate::model::v5::missing_shared(&self.model, &obs)
                } else {
                    None
                }
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
                let obs = self.observed(i);
                self.missing(&obs).is_none()
                    && self.flows(i, &obs).missing.is_none()
                    && (!self.held.is_empty()
                        || crate::model::v5::missing_shared(&self.model, &obs).is_none())
            })
            .await;
        self.judge_all()
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
        self.judge_all()
    }

    async fn close_all(&mut self) {
        let conns = std::mem::take(&mut self.conns);
        for (_, c) in conns {
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
