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

use crate::model::{ConnNo, Slot};

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
}

impl Conn {
    /// Opens a 3.1.1 connection (within `within`).
    pub async fn open(
        endpoint: &Endpoint,
        no: ConnNo,
        slot: Slot,
        hold: bool,
        shared: Arc<Shared>,
        within: Duration,
    ) -> Result<Self, String> {
        Self::open_v(
            endpoint,
            no,
            slot,
            hold,
            shared,
            within,
            ProtocolVersion::V311,
        )
        .await
    }

    /// Opens a connection speaking `version` (within `within`).
    pub async fn open_v(
        endpoint: &Endpoint,
        no: ConnNo,
        slot: Slot,
        hold: bool,
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
        tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                wgate.passable().await;
                match out {
                    Out::Packet(p) => {
                        let Ok(bytes) = p.to_bytes(version) else {
                            continue;
                        };
                        // Traced before it leaves, so that the answer comes after it.
                        wshared.event(|i| i.trace.push(format!("#{no} {} -> {p:?}", who(slot))));
                        if w.write_all(&bytes).await.is_err() {
                            break;
                        }
                    }
                    Out::Shutdown => {
                        let _ = w.shutdown().await;
                        break;
                    }
                }
            }
        });
        let acks_tx = tx.clone();
        tokio::spawn(async move {
            let decoder = Decoder::new(version);
            let mut buf = BytesMut::with_capacity(4096);
            loop {
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(p)) => on_packet(&shared, &acks_tx, no, slot, hold, p),
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
        })
    }

    pub fn send(&self, p: Packet) {
        let _ = self.tx.send(Out::Packet(Box::new(p)));
    }

    /// Nothing passes either way for `d`.
    pub fn partition(&self, d: Duration) {
        self.gate.partition_until(Instant::now() + d);
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

fn on_packet(
    shared: &Shared,
    tx: &mpsc::UnboundedSender<Out>,
    no: ConnNo,
    slot: Slot,
    hold: bool,
    p: Packet,
) {
    let line = format!("#{no} {} <- {p:?}", who(slot));
    match p {
        Packet::Publish(publish) => {
            let qos = publish.qos.as_u8();
            if !hold {
                match qos {
                    1 => {
                        let _ = tx.send(Out::Packet(Box::new(Packet::PubAck(PubAck::new(
                            publish.packet_id,
                        )))));
                    }
                    2 => {
                        let _ = tx.send(Out::Packet(Box::new(Packet::PubRec(PubRec::new(
                            publish.packet_id,
                        )))));
                    }
                    _ => {}
                }
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
                    packet_id: publish.packet_id,
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
                i.trace.push(line);
                i.last_arrival = Some(Instant::now());
            });
        }
        Packet::PubRel(rel) => {
            // Completes the broker's QoS 2 flow (a PUBREL is answered even when the
            // connection holds its acknowledgements: the message was already received).
            let _ = tx.send(Out::Packet(Box::new(Packet::PubComp(PubComp::new(
                rel.packet_id,
            )))));
            shared.event(|i| {
                i.trace.push(line);
                i.last_arrival = Some(Instant::now());
            });
        }
        other => {
            if let Packet::PubRec(rec) = &other {
                let _ = tx.send(Out::Packet(Box::new(Packet::PubRel(PubRel::new(
                    rec.packet_id,
                )))));
            }
            shared.event(|i| {
                i.trace.push(line);
                i.acks.entry(no).or_default().push_back(other);
                i.last_arrival = Some(Instant::now());
            });
        }
    }
}
