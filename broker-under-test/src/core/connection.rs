//! Per-connection state: where the connection is in its life, its input buffer and decoder,
//! and what its CONNECT set up (keep alive, will, user).

use super::Time;
use super::message::Message;
use bytes::BytesMut;
use mqttspec_codec::{DecodeOptions, Decoder, ProtocolVersion};
use std::net::SocketAddr;

/// Where a connection is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Opened; the first packet must be a CONNECT (3.1.1/MQTT-3.1.0-1).
    AwaitingConnect,
    /// CONNECT accepted; the session of this client id is attached to the connection.
    Connected { client_id: String },
    /// CONNECT refused with a CONNACK; nothing else is processed (3.1.1/MQTT-3.1.4-5).
    /// Only reachable with a fault, because a refused connection is normally closed and
    /// forgotten at once.
    #[cfg_attr(not(feature = "faults"), allow(dead_code))]
    Refused,
}

#[derive(Debug)]
pub(crate) struct Connection {
    pub peer: Option<SocketAddr>,
    pub phase: Phase,
    pub decoder: Decoder,
    pub input: BytesMut,
    /// The single pending deadline of this connection (see [`super::timers`]).
    pub deadline: Option<Time>,
    /// Keep alive from the CONNECT, in seconds; 0 disables it.
    pub keep_alive: u16,
    /// Stored on CONNECT, published unless a DISCONNECT ends the connection
    /// (3.1.1/MQTT-3.1.2-8).
    pub will: Option<Message>,
    /// The authenticated user name, for the ACL.
    pub username: Option<String>,
}

impl Connection {
    pub fn new(peer: Option<SocketAddr>, max_packet_size: u32) -> Self {
        let options = DecodeOptions {
            max_packet_size,
            strict: true,
        };
        Self {
            peer,
            phase: Phase::AwaitingConnect,
            decoder: Decoder::with_options(ProtocolVersion::V311, options),
            input: BytesMut::new(),
            deadline: None,
            keep_alive: 0,
            will: None,
            username: None,
        }
    }

    pub fn client_id(&self) -> Option<&str> {
        match &self.phase {
            Phase::Connected { client_id } => Some(client_id),
            _ => None,
        }
    }
}
