//! What simulated devices and subscribers share: the run's clock and history, and MQTT
//! packets over a [`Conn`].

use super::history::{History, What};
use super::link::Conn;
use mqttspec_codec::{Decoder, Packet, ProtocolVersion};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tokio::time::Instant;

pub const V311: ProtocolVersion = ProtocolVersion::V311;
pub const BROKER_HOST: &str = "broker";
pub const BROKER_PORT: u16 = 1883;

/// The run's shared history and clock origin.
#[derive(Clone)]
pub struct Ctx {
    pub history: Rc<RefCell<History>>,
    pub start: Instant,
}

impl Ctx {
    pub fn new() -> Self {
        Self {
            history: Rc::default(),
            start: Instant::now(),
        }
    }

    pub fn record(&self, what: What) {
        // Inside turmoil, its own clock: the same for every host and every run of a seed
        // (each host's tokio clock starts from a real instant).
        let at = turmoil::sim_elapsed()
            .unwrap_or_else(|| Instant::now().saturating_duration_since(self.start));
        self.history.borrow_mut().push(at, what);
    }

    pub fn at(&self, offset: Duration) -> Instant {
        self.start + offset
    }
}

impl Default for Ctx {
    fn default() -> Self {
        Self::new()
    }
}

/// Encodes and queues a packet; false when the connection is gone.
pub fn send(conn: &mut Conn, p: Packet) -> bool {
    match p.to_bytes(V311) {
        Ok(b) => conn.send(b),
        Err(_) => false,
    }
}

/// What reading the next packet gave.
pub enum Next {
    Packet(Box<Packet>),
    Closed,
    /// The broker sent bytes that are not a valid packet.
    Garbage(String),
}

/// Takes one packet already buffered, if any.
pub fn buffered(conn: &mut Conn, decoder: &Decoder) -> Option<Next> {
    match decoder.decode(&mut conn.buf) {
        Ok(Some(p)) => Some(Next::Packet(Box::new(p))),
        Ok(None) => None,
        Err(e) => Some(Next::Garbage(e.to_string())),
    }
}

/// The next packet, waiting for bytes as needed.
pub async fn next(conn: &mut Conn, decoder: &Decoder) -> Next {
    loop {
        if let Some(n) = buffered(conn, decoder) {
            return n;
        }
        if !conn.fill().await {
            return Next::Closed;
        }
    }
}
