//! Invariants of the broker core, checked after every event from what the core did (its
//! actions) and what it reports (its stats): every frame it sends decodes strictly with our
//! codec; nothing is sent to a connection after its close (or before its opening); the
//! connections it tracks are exactly those opened and not yet closed; no more connections
//! than configured; connected clients have sessions; what it keeps grows at most with what
//! it was given; and, from the core's [`DebugState`], sessions and subscriptions agree: the
//! routing index mirrors the sessions' subscriptions, every session has a client id, a
//! session is attached exactly to the connection connected as its client id, and a session
//! that ends with its connection (3.1.1 CleanSession 1, 5.0 Session Expiry Interval 0) is
//! gone once that connection is (3.1.1/MQTT-3.1.2-6; 5.0 section 3.1.2.11.2); an offline
//! session with a finite expiry has a time to end (5.0/MQTT-4.1.0-2).

use bytes::BytesMut;
use mqttspec_broker::core::{DebugState, Stats};
use mqttspec_broker::{Action, ConnId};
use mqttspec_codec::{Connect, DecodeOptions, Decoder, Packet, PropertyId, ProtocolVersion};
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
    #[error("a session has an empty client identifier")]
    SessionWithoutClientId,
    #[error("the routing index has {client:?} subscribed to {filter:?}, its session does not")]
    OrphanSubscription { client: String, filter: String },
    #[error("session {client:?} has a subscription to {filter:?} missing from the routing index")]
    UnindexedSubscription { client: String, filter: String },
    #[error("session {client:?} ends with its connection but outlived it")]
    CleanSessionKept { client: String },
    #[error("offline session {client:?} has a finite expiry but no expiry time")]
    SessionNeverEnds { client: String },
    #[error("session {client:?} is attached to {conn:?}, which is not connected as it")]
    SessionAttachment { client: String, conn: ConnId },
    #[error("{conn:?} is connected as {client:?}, whose session is not attached to it")]
    ConnectionWithoutSession { conn: ConnId, client: String },
    #[error("{conn:?}: connected (CONNACK 0, not closed) {model}, the core says {core}")]
    ConnectedMismatch {
        conn: ConnId,
        model: bool,
        core: bool,
    },
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
    /// Whether the client's CONNECT asked for a session that ends with the connection
    /// (3.1.1 CleanSession 1, 5.0 Session Expiry Interval absent or 0), once it is complete.
    ends_with_connection: Option<bool>,
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
    /// By client id: whether the last connection that connected as it asked for a session
    /// that ends with the connection.
    last_connect: BTreeMap<String, Option<bool>>,
}

impl Checker {
    pub fn new(max_connections: usize) -> Self {
        Self {
            conns: BTreeMap::new(),
            max_connections,
            input_bytes: 0,
            last_connect: BTreeMap::new(),
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
        if c.ends_with_connection.is_none() && c.sent.len() < 1024 {
            c.sent.extend_from_slice(bytes);
            // The CONNECT's protocol level, read as the core reads it.
            if let Some((first, _, body)) = super::super::frame::split(&c.sent)
                && first >> 4 == 1
            {
                c.version = Connect::peek_version(body);
                let decoder = Decoder::with_options(
                    c.version.unwrap_or(ProtocolVersion::V311),
                    DecodeOptions {
                        strict: false,
                        max_packet_size: u32::MAX,
                    },
                );
                if let Ok(Some(Packet::Connect(connect))) =
                    decoder.decode(&mut BytesMut::from(&c.sent[..]))
                {
                    c.ends_with_connection = Some(match connect.version {
                        ProtocolVersion::V5 => connect
                            .properties
                            .int(PropertyId::SessionExpiryInterval)
                            .is_none_or(|e| e == 0),
                        _ => connect.clean_start,
                    });
                }
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

impl Checker {
    /// The core's sessions and subscriptions after one event.
    pub fn state(&mut self, state: &DebugState) -> Result<(), Violation> {
        for (conn, client) in &state.connected {
            let ends = self.conns.get(conn).and_then(|c| c.ends_with_connection);
            self.last_connect.insert(client.clone(), ends);
        }
        let mut index: std::collections::BTreeSet<(&str, &str)> = state
            .index
            .iter()
            .map(|(c, f)| (c.as_str(), f.as_str()))
            .collect();
        let connected: BTreeMap<ConnId, &str> = state
            .connected
            .iter()
            .map(|(conn, c)| (*conn, c.as_str()))
            .collect();
        for s in &state.sessions {
            let client = s.client_id.as_str();
            if client.is_empty() {
                return Err(Violation::SessionWithoutClientId);
            }
            for f in &s.subscriptions {
                if !index.remove(&(client, f.as_str())) {
                    return Err(Violation::UnindexedSubscription {
                        client: client.to_owned(),
                        filter: f.clone(),
                    });
                }
            }
            match s.conn {
                Some(conn) => {
                    let open = self.conns.get(&conn).is_some_and(|c| !c.closed);
                    if !open || connected.get(&conn) != Some(&client) {
                        return Err(Violation::SessionAttachment {
                            client: client.to_owned(),
                            conn,
                        });
                    }
                }
                // Offline, yet it was to end with its connection: by the session's own
                // expiry, or by what the last CONNECT as this client id asked for.
                None if s.expiry == 0 || self.last_connect.get(client) == Some(&Some(true)) => {
                    return Err(Violation::CleanSessionKept {
                        client: client.to_owned(),
                    });
                }
                None if s.expiry != u32::MAX && s.expires_at.is_none() => {
                    return Err(Violation::SessionNeverEnds {
                        client: client.to_owned(),
                    });
                }
                None => {}
            }
        }
        if let Some((client, filter)) = index.into_iter().next() {
            return Err(Violation::OrphanSubscription {
                client: client.to_owned(),
                filter: filter.to_owned(),
            });
        }
        for (conn, client) in &connected {
            let attached = state
                .sessions
                .iter()
                .any(|s| s.client_id == *client && s.conn == Some(*conn));
            if !attached {
                return Err(Violation::ConnectionWithoutSession {
                    conn: *conn,
                    client: (*client).to_owned(),
                });
            }
        }
        // The connections the client saw accepted are those the core has connected.
        for (conn, c) in &self.conns {
            let model = c.connected && !c.closed;
            let core = connected.contains_key(conn);
            if model != core {
                return Err(Violation::ConnectedMismatch {
                    conn: *conn,
                    model,
                    core,
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
