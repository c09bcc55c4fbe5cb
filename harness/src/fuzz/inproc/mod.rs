//! In-process fuzz targets, shared by the cargo-fuzz binaries in `fuzz/` and by the stable
//! tests that replay their checked-in corpora (`fuzz/corpus/<target>/`): each takes the raw
//! bytes libFuzzer gives and never panics on any of them unless an invariant breaks.
//!
//! - [`broker_core`]: the broker's sans-IO core driven by a structured event sequence
//!   (several connections, raw bytes or generated packets, closes, time advancing), with
//!   the [`checker`]'s invariants after every event.
//! - [`decode`], [`frames`]: the codec on any bytes, whole and cut into reads
//!   ([`codec`]; their seed corpora are built by [`seeds`]).
//! - [`scenario_loader`], [`workload_loader`]: arbitrary text into the loaders, which must
//!   answer with errors, never a panic.

pub mod checker;
pub mod codec;
pub mod seeds;

pub use codec::{decode, frames};

use arbitrary::{Arbitrary, Unstructured};
use checker::{Checker, Violation};
use mqttspec_broker::{Action, Broker, Config, ConnId, Event};
use mqttspec_codec::{
    Connect, Packet, Properties, Property, ProtocolVersion, PubAck, PubComp, PubRec, PubRel,
    Publish, QoS, Subscribe, Subscription, Unsubscribe, Will,
};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

const TOPICS: &[&str] = &["a", "a/b", "a/b/c", "$SYS/x", "b", "a//b", "é/ü"];
const FILTERS: &[&str] = &["a", "a/+", "a/#", "#", "+/b", "+", "$SYS/#", "$share/g/a/#"];
const CLIENT_IDS: &[&str] = &["", "c1", "c2", "c3", "a-very-long-client-identifier-x"];

/// A packet the target builds with the codec.
#[derive(Debug, Arbitrary)]
pub enum FuzzPacket {
    Connect {
        v5: bool,
        id: u8,
        clean: bool,
        keep_alive: u8,
        will: Option<(u8, u8, bool)>,
        session_expiry: Option<u8>,
    },
    Publish {
        topic: u8,
        qos: u8,
        retain: bool,
        dup: bool,
        id: u16,
        payload: Vec<u8>,
        alias: Option<u8>,
    },
    Subscribe {
        filter: u8,
        qos: u8,
        id: u16,
        options: u8,
    },
    Unsubscribe {
        filter: u8,
        id: u16,
    },
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    PingReq,
    Disconnect {
        reason: u8,
    },
}

/// One event of the structured sequence.
#[derive(Debug, Arbitrary)]
pub enum Op {
    Open,
    /// Raw bytes on connection number `conn` (modulo those opened).
    Bytes {
        conn: u8,
        bytes: Vec<u8>,
    },
    /// A packet built with the codec, in the connection's version, split in two writes at
    /// `split`.
    Packet {
        conn: u8,
        packet: FuzzPacket,
        split: u8,
    },
    /// The network closes the connection.
    Close {
        conn: u8,
    },
    /// Time passes (keep alive, CONNECT timeout, will delay, session expiry).
    Advance {
        seconds: u8,
    },
}

fn qos(n: u8) -> QoS {
    QoS::from_u8(n % 3).unwrap_or(QoS::AtMostOnce)
}

fn pick<'a>(table: &[&'a str], n: u8) -> &'a str {
    table[usize::from(n) % table.len()]
}

impl FuzzPacket {
    fn build(&self, version: ProtocolVersion) -> Packet {
        let v5 = version == ProtocolVersion::V5;
        match self {
            Self::Connect {
                v5,
                id,
                clean,
                keep_alive,
                will,
                session_expiry,
            } => {
                let version = if *v5 {
                    ProtocolVersion::V5
                } else {
                    ProtocolVersion::V311
                };
                let mut properties = Properties::new();
                if let (true, Some(e)) = (*v5, session_expiry) {
                    properties.push(Property::SessionExpiryInterval(u32::from(*e)));
                }
                Packet::Connect(Connect {
                    version,
                    clean_start: *clean,
                    keep_alive: u16::from(*keep_alive),
                    properties,
                    client_id: pick(CLIENT_IDS, *id).into(),
                    will: will.map(|(t, q, r)| Will {
                        topic: pick(TOPICS, t).into(),
                        payload: bytes::Bytes::from_static(b"will"),
                        qos: qos(q),
                        retain: r,
                        properties: Properties::new(),
                    }),
                    username: None,
                    password: None,
                })
            }
            Self::Publish {
                topic,
                qos: q,
                retain,
                dup,
                id,
                payload,
                alias,
            } => {
                let mut p = Publish::new(pick(TOPICS, *topic), qos(*q), payload.clone());
                p.retain = *retain;
                p.dup = *dup && p.qos != QoS::AtMostOnce;
                if p.qos != QoS::AtMostOnce {
                    p.packet_id = (*id).max(1);
                }
                if let (true, Some(a)) = (v5, alias) {
                    p.properties.push(Property::TopicAlias(u16::from(*a)));
                }
                Packet::Publish(p)
            }
            Self::Subscribe {
                filter,
                qos: q,
                id,
                options,
            } => {
                let mut sub = Subscription::new(pick(FILTERS, *filter), qos(*q));
                if v5 {
                    sub.options.no_local = options & 1 != 0;
                    sub.options.retain_as_published = options & 2 != 0;
                    sub.options.retain_handling = (options >> 2) % 3;
                }
                Packet::Subscribe(Subscribe {
                    packet_id: (*id).max(1),
                    properties: Properties::new(),
                    subscriptions: vec![sub],
                })
            }
            Self::Unsubscribe { filter, id } => Packet::Unsubscribe(Unsubscribe {
                packet_id: (*id).max(1),
                properties: Properties::new(),
                filters: vec![pick(FILTERS, *filter).into()],
            }),
            Self::PubAck(id) => Packet::PubAck(PubAck::new((*id).max(1))),
            Self::PubRec(id) => Packet::PubRec(PubRec::new((*id).max(1))),
            Self::PubRel(id) => Packet::PubRel(PubRel::new((*id).max(1))),
            Self::PubComp(id) => Packet::PubComp(PubComp::new((*id).max(1))),
            Self::PingReq => Packet::PingReq,
            Self::Disconnect { reason } => Packet::Disconnect(mqttspec_codec::Disconnect {
                reason_code: (v5 && *reason == 4).then_some(mqttspec_codec::ReasonCode(4)),
                properties: None,
            }),
        }
    }
}

/// The configuration of the fuzzed core: small limits, so that the fuzzer reaches them.
pub fn core_config() -> Config {
    Config {
        max_connections: 4,
        max_inflight: 2,
        max_queued: 4,
        max_subscriptions: 3,
        max_client_id_len: 24,
        topic_alias_maximum: 2,
        receive_maximum: 2,
        ..Config::default()
    }
}

/// Drives a fresh core with the event sequence decoded from `data` and checks the
/// invariants after every event. `Err` names the first invariant broken; a panic of the
/// core propagates.
pub fn broker_core(data: &[u8]) -> Result<(), Violation> {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < 256 {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    run_ops(core_config(), &ops)
}

/// [`broker_core`] on a sequence of events already decoded, with any configuration.
pub fn run_ops(config: Config, ops: &[Op]) -> Result<(), Violation> {
    let mut checker = Checker::new(config.max_connections);
    let mut broker = Broker::new(config);
    let peer: Option<SocketAddr> = Some(SocketAddr::from(([127, 0, 0, 1], 40000)));
    let mut now = Duration::ZERO;
    let mut opened: Vec<(ConnId, ProtocolVersion)> = Vec::new();
    let mut next = 0u64;
    for op in ops {
        let conn_of = |n: u8, opened: &[(ConnId, ProtocolVersion)]| {
            (!opened.is_empty()).then(|| opened[usize::from(n) % opened.len()])
        };
        match op {
            Op::Open => {
                next += 1;
                let conn = ConnId(next);
                opened.push((conn, ProtocolVersion::V311));
                checker.opened(conn);
                feed(
                    now,
                    &mut broker,
                    &mut checker,
                    Some(Event::Opened { conn, peer }),
                )?;
            }
            Op::Bytes { conn, bytes } => {
                let Some((conn, _)) = conn_of(*conn, &opened) else {
                    continue;
                };
                if checker.is_closed(conn) && bytes.len() % 2 == 0 {
                    continue;
                }
                checker.client_sent(conn, bytes);
                let bytes = bytes::Bytes::from(bytes.clone());
                feed(
                    now,
                    &mut broker,
                    &mut checker,
                    Some(Event::Received { conn, bytes }),
                )?;
            }
            Op::Packet {
                conn,
                packet,
                split,
            } => {
                let Some((conn, version)) = conn_of(*conn, &opened) else {
                    continue;
                };
                let built = packet.build(version);
                if let Packet::Connect(c) = &built
                    && let Some(slot) = opened.iter_mut().find(|(id, _)| *id == conn)
                {
                    slot.1 = c.version;
                }
                let version = match &built {
                    Packet::Connect(c) => c.version,
                    _ => version,
                };
                let Ok(bytes) = built.to_bytes(version) else {
                    continue;
                };
                let at = usize::from(*split) % (bytes.len() + 1);
                for part in [bytes.slice(..at), bytes.slice(at..)] {
                    if part.is_empty() {
                        continue;
                    }
                    checker.client_sent(conn, &part);
                    feed(
                        now,
                        &mut broker,
                        &mut checker,
                        Some(Event::Received { conn, bytes: part }),
                    )?;
                }
            }
            Op::Close { conn } => {
                let Some((conn, _)) = conn_of(*conn, &opened) else {
                    continue;
                };
                // The driver reports a close once, for a connection the core still has.
                if checker.is_closed(conn) {
                    continue;
                }
                checker.client_closed(conn);
                feed(now, &mut broker, &mut checker, Some(Event::Closed { conn }))?;
            }
            Op::Advance { seconds } => {
                let target = now + Duration::from_secs(u64::from(*seconds));
                while let Some(t) = broker.poll_timeout().filter(|t| *t <= target) {
                    now = now.max(t);
                    feed(now, &mut broker, &mut checker, None)?;
                }
                now = target;
            }
        }
    }
    // The end of the run: the broker shuts down cleanly.
    broker.shutdown(now);
    let mut actions = Vec::new();
    while let Some(a) = broker.poll_action() {
        actions.push(a);
    }
    checker.actions(&actions)?;
    // Sessions that ended with their connections are gone, the others are consistent.
    checker.state(&broker.debug_state())?;
    // Every connection is closed after a shutdown.
    let open = broker.stats().connections;
    if open != 0 {
        return Err(Violation::ConnectionCount {
            core: open,
            model: 0,
        });
    }
    let _: Option<&Action> = actions.first();
    Ok(())
}

/// Feeds one event (or runs the timers, for `None`) and checks the invariants.
fn feed(
    now: Duration,
    broker: &mut Broker,
    checker: &mut Checker,
    event: Option<Event>,
) -> Result<(), Violation> {
    match event {
        Some(e) => broker.handle(now, e),
        None => broker.handle_timeout(now),
    }
    let mut actions = Vec::new();
    while let Some(a) = broker.poll_action() {
        actions.push(a);
    }
    checker.actions(&actions)?;
    checker.stats(&broker.stats())?;
    checker.state(&broker.debug_state())
}

fn catalogue() -> Option<&'static crate::catalogue::Catalogue> {
    static CATALOGUE: OnceLock<Option<crate::catalogue::Catalogue>> = OnceLock::new();
    CATALOGUE
        .get_or_init(|| crate::catalogue::Catalogue::builtin().ok())
        .as_ref()
}

/// Arbitrary text into the scenario loader: a scenario or errors with positions, and each
/// error renders; never a panic.
pub fn scenario_loader(data: &[u8]) {
    let Some(catalogue) = catalogue() else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    if let Err(e) = crate::scenario::load_str("fuzz.yaml", &text, catalogue) {
        let _ = e.to_string();
    }
}

/// Arbitrary text into the simulator's workload loader: a workload or an error; never a
/// panic.
pub fn workload_loader(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match crate::sim::workload::Workload::load_str("fuzz.yaml", &text) {
        Ok(w) => {
            let _ = w.device_count();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
