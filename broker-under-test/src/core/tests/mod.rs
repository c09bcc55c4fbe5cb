//! Unit tests of the core, driven on a virtual clock: a test bench feeds encoded packets as
//! `Received` events, runs the timers as time advances, and decodes what the core sends.

mod auth;
mod connect;
#[cfg(feature = "faults")]
mod faults;
mod faults_fuzz;
#[cfg(feature = "faults")]
mod faults_stateful;
#[cfg(feature = "faults")]
mod faults_v5;
#[cfg(feature = "faults")]
mod faults_v5_a;
#[cfg(feature = "faults")]
mod faults_v5_b;
mod keepalive;
mod limits;
mod qos;
mod retained;
mod session;
mod subscribe;
mod v5;
mod v5_flow;
#[cfg(feature = "faults")]
mod variations;
mod will;

use super::{Action, Broker, ConnId, Event, Time};
use crate::config::Config;
use bytes::{Bytes, BytesMut};
use mqttspec_codec::reason::v311;
use mqttspec_codec::{
    ConnAck, Connect, Decoder, Packet, Properties, Property, ProtocolVersion, Publish, QoS,
    ReasonCode, SubAck, Subscribe, Subscription, Will,
};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

/// What one connection got from the broker.
#[derive(Default)]
struct Log {
    /// The version of the CONNECT sent on it.
    version: Option<ProtocolVersion>,
    bytes: BytesMut,
    packets: VecDeque<Packet>,
    closed: bool,
}

/// A broker on a virtual clock with scripted connections.
pub(super) struct Bench {
    pub broker: Broker,
    pub now: Time,
    logs: BTreeMap<ConnId, Log>,
    next_conn: u64,
    /// Everything the broker did, in order, with the time: for comparing two runs.
    pub trace: Vec<String>,
}

/// A bench with the default configuration.
pub(super) fn bench() -> Bench {
    Bench::new(Config::default())
}

pub(super) fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 40000)))
}

impl Bench {
    pub fn new(config: Config) -> Self {
        Self {
            broker: Broker::new(config),
            now: Duration::from_secs(1000),
            logs: BTreeMap::new(),
            next_conn: 0,
            trace: Vec::new(),
        }
    }

    /// Opens a connection from a loopback peer.
    pub fn open(&mut self) -> ConnId {
        self.open_from(loopback())
    }

    pub fn open_from(&mut self, peer: Option<SocketAddr>) -> ConnId {
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        self.logs.insert(conn, Log::default());
        self.broker.handle(self.now, Event::Opened { conn, peer });
        self.pump();
        conn
    }

    /// Sends a packet from the client (a CONNECT in the version it names, anything else in
    /// the version of the connection's CONNECT).
    pub fn send(&mut self, conn: ConnId, packet: impl Into<Packet>) {
        let packet = packet.into();
        let log = self.logs.entry(conn).or_default();
        if let Packet::Connect(c) = &packet {
            log.version = Some(c.version);
        }
        let version = log.version.unwrap_or(ProtocolVersion::V311);
        let bytes = packet.to_bytes(version).unwrap();
        self.send_raw(conn, &bytes);
    }

    pub fn send_raw(&mut self, conn: ConnId, bytes: &[u8]) {
        let bytes = Bytes::copy_from_slice(bytes);
        self.broker
            .handle(self.now, Event::Received { conn, bytes });
        self.pump();
    }

    /// The network closes the connection (no DISCONNECT).
    pub fn drop_conn(&mut self, conn: ConnId) {
        self.broker.handle(self.now, Event::Closed { conn });
        self.pump();
    }

    /// Moves the clock forward by `by`, running each timer at its own time.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(t) = self.broker.poll_timeout().filter(|t| *t <= target) {
            self.now = self.now.max(t);
            self.broker.handle_timeout(self.now);
            self.pump();
        }
        self.now = target;
    }

    pub fn pump(&mut self) {
        while let Some(action) = self.broker.poll_action() {
            match action {
                Action::Send { conn, bytes } => {
                    let log = self.logs.entry(conn).or_default();
                    assert!(!log.closed, "{conn:?}: Send after Close");
                    log.bytes.extend_from_slice(&bytes);
                    // What a correct broker sends must pass strict decoding; a broken one
                    // (test faults) may send what only a lenient decoder reads.
                    #[cfg(feature = "faults")]
                    let strict = self.broker.config().faults.enabled().is_empty();
                    #[cfg(not(feature = "faults"))]
                    let strict = true;
                    let options = mqttspec_codec::DecodeOptions {
                        strict,
                        ..mqttspec_codec::DecodeOptions::default()
                    };
                    let version = log.version.unwrap_or(ProtocolVersion::V311);
                    let decoder = Decoder::with_options(version, options);
                    while let Some(p) = decoder.decode(&mut log.bytes).unwrap() {
                        self.trace.push(format!("{:?} {conn:?} {p:?}", self.now));
                        log.packets.push_back(p);
                    }
                }
                Action::Close { conn } => {
                    self.trace.push(format!("{:?} {conn:?} close", self.now));
                    self.logs.entry(conn).or_default().closed = true;
                }
            }
        }
    }

    /// Every packet `conn` received since the last call.
    pub fn recv(&mut self, conn: ConnId) -> Vec<Packet> {
        self.logs
            .get_mut(&conn)
            .map(|l| l.packets.drain(..).collect())
            .unwrap_or_default()
    }

    /// The one packet `conn` received since the last call.
    pub fn recv_one(&mut self, conn: ConnId) -> Packet {
        let mut got = self.recv(conn);
        assert_eq!(got.len(), 1, "{conn:?} expected one packet, got {got:?}");
        got.remove(0)
    }

    /// The PUBLISH packets `conn` received since the last call (nothing else allowed).
    pub fn publishes(&mut self, conn: ConnId) -> Vec<Publish> {
        self.recv(conn)
            .into_iter()
            .map(|p| match p {
                Packet::Publish(p) => p,
                other => panic!("{conn:?}: expected PUBLISH, got {other:?}"),
            })
            .collect()
    }

    pub fn closed(&self, conn: ConnId) -> bool {
        self.logs.get(&conn).is_some_and(|l| l.closed)
    }

    /// Sends a CONNECT and returns the CONNACK (the connection may be closed after it).
    pub fn connect_with(&mut self, connect: Connect) -> (ConnId, ConnAck) {
        let conn = self.open();
        self.send(conn, connect);
        let got = self.recv(conn);
        match got.first() {
            Some(Packet::ConnAck(ack)) => {
                let ack = ack.clone();
                // Keep anything that came after the CONNACK for the test to read.
                let log = self.logs.entry(conn).or_default();
                for p in got.into_iter().skip(1).rev() {
                    log.packets.push_front(p);
                }
                (conn, ack)
            }
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Connects `client_id` and checks it was accepted.
    pub fn connect(&mut self, client_id: &str, clean: bool) -> ConnId {
        let (conn, ack) = self.connect_with(connect(client_id, clean));
        assert_eq!(ack.code, v311::ACCEPTED, "{client_id}");
        conn
    }

    /// Subscribes and checks the SUBACK grants `qos`.
    pub fn subscribe(&mut self, conn: ConnId, filter: &str, qos: QoS) {
        self.send(conn, subscribe(1, &[(filter, qos)]));
        // Only the SUBACK is taken: retained messages after it stay for the test to read.
        let first = self.logs.get_mut(&conn).and_then(|l| l.packets.pop_front());
        match &first {
            Some(Packet::SubAck(SubAck { return_codes, .. })) => {
                assert_eq!(return_codes, &[ReasonCode(qos.as_u8())]);
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }
}

/// A 5.0 CONNECT with these properties.
pub(super) fn connect5(client_id: &str, clean: bool, props: &[Property]) -> Connect {
    Connect {
        version: ProtocolVersion::V5,
        properties: Properties(props.to_vec()),
        ..connect(client_id, clean)
    }
}

impl Bench {
    /// Connects a 5.0 client and checks it was accepted; returns the CONNACK too.
    pub fn connect5(
        &mut self,
        client_id: &str,
        clean: bool,
        props: &[Property],
    ) -> (ConnId, ConnAck) {
        let (conn, ack) = self.connect_with(connect5(client_id, clean, props));
        assert_eq!(ack.code, ReasonCode::SUCCESS, "{client_id}: {ack:?}");
        (conn, ack)
    }

    /// Subscribes with 5.0 options and properties; returns the SUBACK codes.
    pub fn subscribe5(
        &mut self,
        conn: ConnId,
        filter: &str,
        options: mqttspec_codec::SubscribeOptions,
        props: &[Property],
    ) -> Vec<ReasonCode> {
        self.send(
            conn,
            Subscribe {
                packet_id: 7,
                properties: Properties(props.to_vec()),
                subscriptions: vec![Subscription {
                    filter: filter.into(),
                    options,
                }],
            },
        );
        let first = self.logs.get_mut(&conn).and_then(|l| l.packets.pop_front());
        match first {
            Some(Packet::SubAck(a)) => a.return_codes,
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// The DISCONNECT `conn` got before being closed.
    pub fn disconnected_with(&mut self, conn: ConnId) -> ReasonCode {
        assert!(self.closed(conn), "{conn:?} not closed");
        let got = self.recv(conn);
        match got.last() {
            Some(Packet::Disconnect(d)) => d.reason(),
            other => panic!("expected DISCONNECT, got {other:?} in {got:?}"),
        }
    }
}

pub(super) fn connect(client_id: &str, clean: bool) -> Connect {
    Connect {
        client_id: client_id.into(),
        clean_start: clean,
        keep_alive: 0,
        ..Connect::default()
    }
}

pub(super) fn with_will(mut c: Connect, topic: &str, qos: QoS, retain: bool) -> Connect {
    c.will = Some(Will {
        topic: topic.into(),
        payload: Bytes::from_static(b"gone"),
        qos,
        retain,
        ..Will::default()
    });
    c
}

pub(super) fn publish(topic: &str, qos: QoS, id: u16, payload: &'static str) -> Publish {
    Publish {
        packet_id: id,
        ..Publish::new(topic, qos, Bytes::from_static(payload.as_bytes()))
    }
}

pub(super) fn retained(topic: &str, qos: QoS, id: u16, payload: &'static str) -> Publish {
    Publish {
        retain: true,
        ..publish(topic, qos, id, payload)
    }
}

pub(super) fn subscribe(id: u16, filters: &[(&str, QoS)]) -> Subscribe {
    Subscribe {
        packet_id: id,
        subscriptions: filters
            .iter()
            .map(|(f, q)| Subscription::new(*f, *q))
            .collect(),
        ..Subscribe::default()
    }
}

pub(super) fn payloads(publishes: &[Publish]) -> Vec<String> {
    publishes
        .iter()
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect()
}

const QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];
