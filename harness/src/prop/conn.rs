//! The executor's MQTT 3.1.1 connections: a reader task that records every PUBLISH,
//! answers the broker's QoS flows (unless the connection holds its acknowledgements) and
//! queues the other packets for the executor; a writer task fed through a channel.

use crate::engine::transport::{self, Endpoint, Gate};
use bytes::BytesMut;
use mqttspec_codec::{Decoder, Packet, ProtocolVersion, PubAck, PubComp, PubRec, PubRel};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::model::flows::Wire;
use crate::model::{ConnNo, Hold, Slot};
use std::sync::atomic::{AtomicBool, Ordering};

/// A PUBLISH as it came, before the model reads it.
#[derive(Debug, Clone)]
pub struct RawPublish {
    pub seq: usize,
    pub slot: Slot,
    pub conn: ConnNo,
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub packet_id: u16,
    /// 5.0 properties the model judges (none on 3.1.1).
    pub expiry: Option<u32>,
    pub user: Vec<(String, String)>,
    /// When it came.
    pub at: Instant,
}

#[derive(Debug, Default)]
pub struct Inner {
    pub publishes: Vec<RawPublish>,
    pub acks: BTreeMap<ConnNo, VecDeque<Packet>>,
    pub closed: BTreeSet<ConnNo>,
    /// Malformed packets and other protocol breaches the broker committed.
    pub errors: Vec<String>,
    /// Packets a connection received before its CONNACK (3.1.1/MQTT-3.2.0-1).
    pub before_connack: Vec<String>,
    /// Packet identifiers and QoS 2 stages, in order ([`crate::model::flows`]).
    pub wire: Vec<Wire>,
    pub trace: Vec<String>,
    /// When the last packet arrived.
    pub last_arrival: Option<Instant>,
}

/// What every reader of a case writes to.
#[derive(Debug, Default)]
pub struct Shared {
    inner: Mutex<Inner>,
    pub notify: Notify,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `ready` holds, at most until `deadline`. Returns whether it held.
    pub async fn wait_until(
        &self,
        deadline: Instant,
        mut ready: impl FnMut(&Inner) -> bool,
    ) -> bool {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ready(&self.lock()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return ready(&self.lock());
            }
        }
    }

    fn event(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.lock());
        self.notify.notify_waiters();
    }
}

enum Out {
    Packet(Box<Packet>),
    /// A PINGREQ of the keep-alive pinger (its PINGRESP is not an acknowledgement the
    /// executor waits for).
    Ping,
    /// Packets written together, in order.
    Batch(Vec<Packet>),
    /// Closes the sending side (the broker reads end of stream).
    Shutdown,
}

/// One connection of the case.
pub struct Conn {
    pub no: ConnNo,
    pub slot: Slot,
    tx: mpsc::UnboundedSender<Out>,
    next_id: u16,
    /// Holds both directions during a partition (simulator only).
    gate: Gate,
    /// Sends nothing more (the keep alive runs out), the socket kept open.
    silenced: Arc<AtomicBool>,
    /// The keep alive its CONNECT carries (seconds).
    pub keep_alive: u16,
}

impl Conn {
    /// Opens a 3.1.1 connection (within `within`).
    pub async fn open(
        endpoint: &Endpoint,
        no: ConnNo,
        slot: Slot,
        hold: Hold,
        ping: Option<Duration>,
        shared: Arc<Shared>,
        within: Duration,
    ) -> Result<Self, String> {
        let v311 = ProtocolVersion::V311;
        Self::open_v(endpoint, no, slot, hold, ping, shared, within, v311).await
    }

    /// Opens a connection speaking `version` (within `within`).
    #[allow(clippy::too_many_arguments)]
    pub async fn open_v(
        endpoint: &Endpoint,
        no: ConnNo,
        slot: Slot,
        hold: Hold,
        ping: Option<Duration>,
        shared: Arc<Shared>,
        within: Duration,
        version: ProtocolVersion,
    ) -> Result<Self, String> {
        let (mut r, mut w) = match tokio::time::timeout(within, transport::connect(endpoint)).await
        {
            Ok(Ok(halves)) => halves,
            Ok(Err(e)) => return Err(format!("cannot connect to {endpoint}: {e}")),
            Err(_) => return Err(format!("no TCP connection to {endpoint} within {within:?}")),
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
        let wshared = shared.clone();
        let gate = Gate::default();
        let wgate = gate.clone();
        let rgate = gate.clone();
        let silenced = Arc::new(AtomicBool::new(false));
        let wsilenced = silenced.clone();
        // Who sent each PINGREQ in flight (true: the pinger), so that the reader tells the
        // pinger's PINGRESPs from those the executor waits for (answered in order, 3.12).
        let pings: Arc<Mutex<VecDeque<bool>>> = Arc::default();
        let wpings = pings.clone();
        tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                wgate.passable().await;
                let (batch, pinger) = match out {
                    Out::Packet(p) => (vec![*p], false),
                    Out::Batch(b) => (b, false),
                    Out::Ping => (vec![Packet::PingReq], true),
                    Out::Shutdown => {
                        let _ = w.shutdown().await;
                        break;
                    }
                };
                if wsilenced.load(Ordering::Relaxed) {
                    // Silent, but the socket stays open: only the keep alive can end it.
                    continue;
                }
                // A batch goes out in one write: nothing the reader answers meanwhile
                // comes between its packets.
                let mut bytes = Vec::new();
                for p in &batch {
                    let Ok(b) = p.to_bytes(version) else {
                        continue;
                    };
                    if matches!(p, Packet::PingReq) {
                        wpings
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push_back(pinger);
                    }
                    // Traced before it leaves, so that the answer comes after it.
                    wshared.event(|i| i.trace.push(format!("#{no} {} -> {p:?}", who(slot))));
                    bytes.extend_from_slice(&b);
                }
                if w.write_all(&bytes).await.is_err() {
                    break;
                }
            }
        });
        if let Some(every) = ping {
            // A short keep alive: PINGREQ often enough that no wait of the case lets it run
            // out (3.1.2.10), until the connection is silenced or gone.
            let weak = tx.downgrade();
            let psilenced = silenced.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(tx) = weak.upgrade() else {
                        return;
                    };
                    if psilenced.load(Ordering::Relaxed) || tx.send(Out::Ping).is_err() {
                        return;
                    }
                }
            });
        }
        let acks_tx = tx.clone();
        tokio::spawn(async move {
            let decoder = Decoder::new(version);
            let mut buf = BytesMut::with_capacity(4096);
            let mut reader = Reader {
                no,
                slot,
                hold,
                connacked: false,
                pings,
                rel_sent: BTreeSet::new(),
            };
            loop {
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(p)) => reader.on_packet(&shared, &acks_tx, p),
                        Ok(None) => break,
                        Err(e) => {
                            shared.event(|i| {
                                i.errors.push(format!(
                                    "connection #{no} of {}: malformed packet from the broker: {e}",
                                    who(slot)
                                ));
                                i.closed.insert(no);
                            });
                            return;
                        }
                    }
                }
                let read = r.read_buf(&mut buf).await;
                // During a partition what arrived waits, as in the network.
                rgate.passable().await;
                match read {
                    Ok(0) | Err(_) => {
                        shared.event(|i| {
                            i.trace
                                .push(format!("#{no} {} closed by the broker", who(slot)));
                            i.closed.insert(no);
                        });
                        return;
                    }
                    Ok(_) => {}
                }
            }
        });
        Ok(Self {
            no,
            slot,
            tx,
            next_id: 0,
            gate,
            silenced,
            keep_alive: 60,
        })
    }

    pub fn send(&self, p: Packet) {
        let _ = self.tx.send(Out::Packet(Box::new(p)));
    }

    /// Sends packets in one write, so that no answer of the reader comes between them.
    pub fn send_batch(&self, packets: Vec<Packet>) {
        let _ = self.tx.send(Out::Batch(packets));
    }

    /// Nothing passes either way for `d`.
    pub fn partition(&self, d: Duration) {
        self.gate.partition_until(Instant::now() + d);
    }

    /// Nothing passes either way until [`Conn::release`].
    pub fn hold(&self) {
        self.gate.hold();
    }

    pub fn release(&self) {
        self.gate.release();
    }

    /// Sends nothing from now on and keeps the socket open: the broker's keep alive
    /// (3.1.1/MQTT-3.1.2-24) is what ends the connection.
    pub fn silence(&self) {
        self.silenced.store(true, Ordering::Relaxed);
    }

    pub fn shutdown(&self) {
        let _ = self.tx.send(Out::Shutdown);
    }

    pub fn next_packet_id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_id
    }
}

/// How the trace names a connection's client (the end-of-case cleanup has none).
fn who(slot: Slot) -> String {
    if slot == CLEANUP {
        "cleanup".to_owned()
    } else {
        format!("c{slot}")
    }
}

/// The slot of the cleanup connections.
pub const CLEANUP: Slot = usize::MAX;

/// What the reader of one connection knows.
struct Reader {
    no: ConnNo,
    slot: Slot,
    hold: Hold,
    connacked: bool,
    pings: Arc<Mutex<VecDeque<bool>>>,
    /// Identifiers of the client's QoS 2 flows that got their PUBREL.
    rel_sent: BTreeSet<u16>,
}

impl Reader {
    fn on_packet(&mut self, shared: &Shared, tx: &mpsc::UnboundedSender<Out>, p: Packet) {
        let (no, slot, hold) = (self.no, self.slot, self.hold);
        let line = format!("#{no} {} <- {p:?}", who(slot));
        if !self.connacked && !matches!(p, Packet::ConnAck(_)) {
            // The CONNACK is the server's first packet (3.1.1/MQTT-3.2.0-1).
            shared.event(|i| {
                i.before_connack.push(format!(
                    "connection #{no} of {}: {} before the CONNACK",
                    who(slot),
                    crate::engine::describe::packet(&p)
                ));
            });
        }
        match p {
            Packet::Publish(publish) => {
                let qos = publish.qos.as_u8();
                let id = publish.packet_id;
                // Acknowledged at once, unless the connection holds them.
                let answer = match qos {
                    1 if hold != Hold::All => Some(Packet::PubAck(PubAck::new(id))),
                    2 if hold != Hold::All => Some(Packet::PubRec(PubRec::new(id))),
                    _ => None,
                };
                if let Some(a) = answer {
                    let _ = tx.send(Out::Packet(Box::new(a)));
                }
                shared.event(|i| {
                    let seq = i.publishes.len();
                    i.publishes.push(RawPublish {
                        seq,
                        slot,
                        conn: no,
                        topic: publish.topic.to_string(),
                        payload: publish.payload.to_vec(),
                        qos,
                        retain: publish.retain,
                        dup: publish.dup,
                        packet_id: id,
                        expiry: publish.properties.iter().find_map(|p| match p {
                            mqttspec_codec::Property::MessageExpiryInterval(s) => Some(*s),
                            _ => None,
                        }),
                        user: publish
                            .properties
                            .user_properties()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect(),
                        at: Instant::now(),
                    });
                    if qos > 0 {
                        i.wire.push(Wire::Publish { seq, id });
                        match qos {
                            _ if hold == Hold::All => {}
                            1 => i.wire.push(Wire::Acked { conn: no, slot, id }),
                            _ => i.wire.push(Wire::Received { conn: no, slot, id }),
                        }
                    }
                    i.trace.push(line);
                    i.last_arrival = Some(Instant::now());
                });
            }
            Packet::PubRel(rel) => {
                // Completes the broker's QoS 2 flow (a PUBREL is answered even when the
                // connection holds its PUBLISH acknowledgements: the message was already
                // received), unless the connection holds PUBCOMP.
                let id = rel.packet_id;
                let complete = hold != Hold::Comp;
                if complete {
                    let _ = tx.send(Out::Packet(Box::new(Packet::PubComp(PubComp::new(id)))));
                }
                shared.event(|i| {
                    i.wire.push(Wire::Released { conn: no, slot, id });
                    if complete {
                        i.wire.push(Wire::Acked { conn: no, slot, id });
                    }
                    i.trace.push(line);
                    i.last_arrival = Some(Instant::now());
                });
            }
            Packet::PingResp
                if self
                    .pings
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pop_front()
                    == Some(true) =>
            {
                shared.event(|i| {
                    i.trace.push(format!("{line} (keep-alive ping)"));
                    i.last_arrival = Some(Instant::now());
                });
            }
            other => {
                // One PUBREL per flow: a PUBLISH sent twice is answered by two PUBRECs.
                if let Packet::PubRec(rec) = &other
                    && self.rel_sent.insert(rec.packet_id)
                {
                    let _ = tx.send(Out::Packet(Box::new(Packet::PubRel(PubRel::new(
                        rec.packet_id,
                    )))));
                }
                if let Packet::PubComp(comp) = &other {
                    self.rel_sent.remove(&comp.packet_id);
                }
                if matches!(other, Packet::ConnAck(_)) {
                    self.connacked = true;
                }
                shared.event(|i| {
                    if matches!(other, Packet::ConnAck(_)) {
                        i.wire.push(Wire::ConnAck { conn: no, slot });
                    }
                    i.trace.push(line);
                    i.acks.entry(no).or_default().push_back(other);
                    i.last_arrival = Some(Instant::now());
                });
            }
        }
    }
}
