//! What simulated devices and subscribers share: the run's clock and history, and MQTT
//! packets over a [`Conn`].

use super::history::{History, What};
use super::link::Conn;
use mqttspec_codec::{Decoder, Packet, ProtocolVersion};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::time::Instant;

pub const V311: ProtocolVersion = ProtocolVersion::V311;
pub const BROKER_HOST: &str = "broker";
pub const BROKER_PORT: u16 = 1883;

/// Where the run's connections go.
#[derive(Clone, Debug)]
pub enum Net {
    /// The reference broker on its turmoil host.
    Sim,
    /// A real broker over TCP.
    Tcp(SocketAddr),
}

/// The run's shared history and clock origin, and how its clients reach the broker.
#[derive(Clone)]
pub struct Ctx {
    pub history: Rc<RefCell<History>>,
    pub start: Instant,
    pub net: Net,
    /// Put before every topic and client id on the wire: empty in the simulator; on a real
    /// broker, a tag of the run (`mqttspec-sim/<tag>/`) so that neither other runs'
    /// sessions and retained messages nor other clients' traffic mix with this run's. The
    /// history keeps the unprefixed names.
    pub prefix: Rc<str>,
    /// How long a device waits for its TCP connection, then for its CONNACK.
    pub connect_timeout: Duration,
}

impl Ctx {
    pub fn new() -> Self {
        Self {
            history: Rc::default(),
            start: Instant::now(),
            net: Net::Sim,
            prefix: Rc::from(""),
            connect_timeout: Duration::from_secs(30),
        }
    }

    /// A run against a real broker; `tag` tells it from other runs.
    pub fn real(addr: SocketAddr, tag: &str) -> Self {
        Self {
            net: Net::Tcp(addr),
            prefix: Rc::from(format!("mqttspec-sim/{tag}/")),
            // Real seconds: a broker that stopped answering must not hold a device, and
            // the run, for long after the devices' stop.
            connect_timeout: Duration::from_secs(10),
            ..Self::new()
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

    /// A topic or filter as it goes on the wire.
    pub fn wire(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    /// A topic as the history records it; a topic outside the run's prefix stays whole
    /// (and the checker will call it unexpected).
    pub fn unwire<'a>(&self, topic: &'a str) -> &'a str {
        topic.strip_prefix(&*self.prefix).unwrap_or(topic)
    }

    /// A client id as it goes on the wire: on a real broker, unique to the run.
    pub fn client_id(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            let tag = self
                .prefix
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            format!("{tag}-{name}")
        }
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
