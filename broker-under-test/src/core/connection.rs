//! Per-connection state: where the connection is in its life, its input buffer and decoder,
//! and what its CONNECT set up (version and limits, keep alive, will, user, aliases).

use super::Time;
use super::link::Link;
use super::will::StoredWill;
use crate::auth::AuthExchange;
use bytes::BytesMut;
use bytestring::ByteString;
use mqttspec_codec::{Connect, DecodeOptions, Decoder, ProtocolVersion};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Where a connection is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Opened; the first packet must be a CONNECT (3.1.1/MQTT-3.1.0-1).
    AwaitingConnect,
    /// A 5.0 CONNECT with an Authentication Method is waiting for the client's next AUTH
    /// (5.0 section 4.12).
    Authenticating { connect: Box<Connect> },
    /// CONNECT accepted; the session of this client id is attached to the connection.
    Connected { client_id: String },
    /// CONNECT refused with a CONNACK; nothing else is processed (3.1.1/MQTT-3.1.4-5).
    /// Only reachable with a fault, because a refused connection is normally closed and
    /// forgotten at once.
    #[cfg_attr(not(feature = "faults"), allow(dead_code))]
    Refused,
}

impl Phase {
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Refused)
    }
}

/// An enhanced-authentication exchange under way.
#[derive(Debug)]
pub(crate) struct AuthState {
    pub exchange: Box<dyn AuthExchange>,
}

#[derive(Debug)]
pub(crate) struct Connection {
    pub peer: Option<SocketAddr>,
    pub phase: Phase,
    pub decoder: Decoder,
    pub input: BytesMut,
    /// How to write to the client (version, its Maximum Packet Size, problem information).
    pub link: Link,
    /// The single pending deadline of this connection (see [`super::timers`]).
    pub deadline: Option<Time>,
    /// Keep alive in force, in seconds; 0 disables it.
    pub keep_alive: u16,
    /// Stored on CONNECT, published unless a DISCONNECT ends the connection
    /// (3.1.1/MQTT-3.1.2-8, 5.0/MQTT-3.1.2-7), with its Will Delay Interval in seconds.
    pub will: Option<StoredWill>,
    /// The authenticated user name, for the ACL.
    pub username: Option<String>,
    /// Topic aliases the client set (5.0), alias → topic; valid on this connection only.
    pub aliases: BTreeMap<u16, ByteString>,
    /// The enhanced-authentication method of the CONNECT and an exchange under way.
    pub auth_method: Option<String>,
    pub auth: Option<AuthState>,
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
            link: Link::V311,
            deadline: None,
            keep_alive: 0,
            will: None,
            username: None,
            aliases: BTreeMap::new(),
            auth_method: None,
            auth: None,
        }
    }

    pub fn client_id(&self) -> Option<&str> {
        match &self.phase {
            Phase::Connected { client_id } => Some(client_id),
            _ => None,
        }
    }

    pub fn v5(&self) -> bool {
        self.link.v5()
    }
}
