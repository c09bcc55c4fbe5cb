//! Invariants of the broker core, checked after every event from what the core did (its
//! actions) and what it reports (its stats): every frame it sends decodes strictly with our
//! codec; nothing is sent to a connection after its close (or before its opening); the
//! connections it tracks are exactly those opened and not yet closed; no more connections
//! than configured; connected clients have sessions; what it keeps grows at most with what
//! it was given.

use bytes::BytesMut;
use mqttspec_broker::core::Stats;
use mqttspec_broker::{Action, ConnId};
use mqttspec_codec::{Connect, DecodeOptions, Decoder, Packet, ProtocolVersion};
use std::collections::BTreeMap;
use thiserror::Error;

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Violation {
    #[error("{0:?}: the core sent bytes after closing the connection")]
    SendAfterClose(ConnId),
    #[error("{0:?}: the core wrote to a connection that was never opened")]
    UnknownConnection(ConnId),
    #[error("{conn:?}: the core sent a malformed frame: {error}")]
    MalformedFrame { conn: ConnId, error: String },
    #[error("{conn:?}: the core sent {packet} before accepting the connection with CONNACK")]
    BeforeConnack { conn: ConnId, packet: &'static str },
    #[error("{0:?}: the core sent a second CONNACK on one connection")]
    SecondConnack(ConnId),
    #[error("the core tracks {core} connections, {model} are open")]
    ConnectionCount { core: usize, model: usize },
    #[error("{open} connections are open, over the limit of {max}")]
    TooManyConnections { open: usize, max: usize },
    #[error("{connected} clients are connected but the core has {sessions} sessions")]
    MissingSessions { connected: usize, sessions: usize },
    #[error("the core keeps {what} {count}, more than {bytes} bytes of input can make")]
    Unbounded {
        what: &'static str,
        count: usize,
        bytes: usize,
    },
}

#[derive(Debug, Default)]
struct Conn {
    /// What the client sent, until its CONNECT is complete (to learn its version).
    sent: Vec<u8>,
    version: Option<ProtocolVersion>,
    /// What the core sent and is not decoded yet.
    received: BytesMut,
    /// A CONNACK accepting the client came.
    connected: bool,
    /// A CONNACK came (accepting or not).
    connack: bool,
    /// Closed by the core (a `Close` action) or by the network (`Closed` event).
    closed: bool,
}

/// A model of the connections, fed the same events as the core and then its actions.
#[derive(Debug)]
pub struct Checker {
    conns: BTreeMap<ConnId, Conn>,
    max_connections: usize,
    input_bytes: usize,
}

impl Checker {
    pub fn new(max_connections: usize) -> Self {
        Self {
            conns: BTreeMap::new(),
            max_connections,
            input_bytes: 0,
        }
    }

    pub fn opened(&mut self, conn: ConnId) {
        self.conns.entry(conn).or_default();
    }

    /// The client sent `bytes` (delivered to the core as `Received`).
    pub fn client_sent(&mut self, conn: ConnId, bytes: &[u8]) {
        self.input_bytes += bytes.len();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.version.is_none() && c.sent.len() < 1024 {
            c.sent.extend_from_slice(bytes);
            // The CONNECT's protocol level, read as the core reads it.
            if let Some((first, _, body)) = super::super::frame::split(&c.sent)
                && first >> 4 == 1
            {
                c.version = Connect::peek_version(body);
            }
        }
    }

    /// The network closed the connection (`Closed` event).
    pub fn client_closed(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.closed = true;
        }
    }

    /// Whether the connection is closed, by either side (the driver delivers nothing more
    /// from a connection it saw close).
    pub fn is_closed(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_none_or(|c| c.closed)
    }

    /// The core's actions after one event.
    pub fn actions(&mut self, actions: &[Action]) -> Result<(), Violation> {
        for action in actions {
            match action {
                Action::Send { conn, bytes } => {
                    let c = self
                        .conns
                        .get_mut(conn)
                        .ok_or(Violation::UnknownConnection(*conn))?;
                    if c.closed {
                        return Err(Violation::SendAfterClose(*conn));
                    }
                    c.received.extend_from_slice(bytes);
                    decode_all(*conn, c)?;
                }
                Action::Close { conn } => {
                    let c = self
                        .conns
                        .get_mut(conn)
                        .ok_or(Violation::UnknownConnection(*conn))?;
                    c.closed = true;
                }
            }
        }
        Ok(())
    }

    /// The core's counters after one event.
    pub fn stats(&self, stats: &Stats) -> Result<(), Violation> {
        let open = self.conns.values().filter(|c| !c.closed).count();
        if stats.connections != open {
            return Err(Violation::ConnectionCount {
                core: stats.connections,
                model: open,
            });
        }
        if open > self.max_connections {
            return Err(Violation::TooManyConnections {
                open,
                max: self.max_connections,
            });
        }
        let connected = self
            .conns
            .values()
            .filter(|c| c.connected && !c.closed)
            .count();
        if stats.sessions < connected {
            return Err(Violation::MissingSessions {
                connected,
                sessions: stats.sessions,
            });
        }
        // A session takes a CONNECT (14 bytes at least), a retained message a PUBLISH with
        // RETAIN (5 bytes at least).
        for (what, count, min) in [
            ("sessions", stats.sessions, 14),
            ("retained messages", stats.retained, 5),
        ] {
            if count * min > self.input_bytes {
                return Err(Violation::Unbounded {
                    what,
                    count,
                    bytes: self.input_bytes,
                });
            }
        }
        Ok(())
    }
}

/// Decodes every complete frame the core sent on `conn`, strictly, in the version of the
/// client's CONNECT (a CONNACK refusing an unknown level may be in either version).
fn decode_all(conn: ConnId, c: &mut Conn) -> Result<(), Violation> {
    let options = DecodeOptions {
        strict: true,
        max_packet_size: u32::MAX,
    };
    loop {
        let versions = match c.version {
            Some(v) => vec![v],
            None => vec![ProtocolVersion::V311, ProtocolVersion::V5],
        };
        let mut last_error = None;
        let mut decoded = None;
        for v in &versions {
            let mut copy = c.received.clone();
            match Decoder::with_options(*v, options).decode(&mut copy) {
                Ok(Some(p)) => {
                    decoded = Some((p, copy));
                    break;
                }
                Ok(None) => return Ok(()),
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        match decoded {
            Some((packet, rest)) => {
                c.received = rest;
                // One CONNACK per connection; before an accepting one, only AUTH (5.0
                // enhanced authentication): no messages, acknowledgements or DISCONNECT
                // (3.1.1/MQTT-3.2.0-1, 5.0/MQTT-3.2.0-1, 5.0/MQTT-3.14.0-1).
                match &packet {
                    Packet::ConnAck(a) => {
                        if c.connack {
                            return Err(Violation::SecondConnack(conn));
                        }
                        c.connack = true;
                        c.connected = a.code.0 == 0;
                    }
                    Packet::Auth(_) if !c.connack => {}
                    other if !c.connected => {
                        return Err(Violation::BeforeConnack {
                            conn,
                            packet: other.packet_type().name(),
                        });
                    }
                    _ => {}
                }
            }
            None => {
                return Err(Violation::MalformedFrame {
                    conn,
                    error: last_error.unwrap_or_default(),
                });
            }
        }
    }
}
