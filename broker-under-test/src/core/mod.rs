//! The sans-IO broker core, MQTT 3.1.1.
//!
//! Events and the current time go in ([`Broker::handle`], [`Broker::handle_timeout`]);
//! actions come out ([`Broker::poll_action`]) and the next deadline is told by
//! [`Broker::poll_timeout`]. The core owns no socket and reads no clock, and it keeps every
//! collection ordered, so the same inputs always give the same outputs.
//!
//! Connection life, as the driver sees it:
//! - `Opened` beyond [`Config::max_connections`] is answered with `Close` at once and the
//!   connection is not tracked: its later `Received`/`Closed` events are ignored.
//! - When the core decides to close (DISCONNECT, protocol error, keep alive, takeover,
//!   refused CONNECT, CONNECT timeout) it emits `Close` and forgets the connection at once;
//!   bytes that arrive for it afterwards and its eventual `Closed` are ignored.
//! - `Closed` from the driver is a network close: the will is published.
//!
//! Modules, one job each: `dispatch` (decode loop, packet dispatch, deadlines), `connect`
//! (CONNECT and CONNACK), `close` (the end of a connection, will and session detachment),
//! `inbound` (PUBLISH from clients and acknowledgements), `subscribe` (SUBSCRIBE and
//! UNSUBSCRIBE), `routing` (delivery to matching sessions), `session` (session state, the
//! in-flight window and queue), `subscriptions` (the topic tree), `retained`, `will`,
//! `timers`, `connection`, `message`, `outbox`; `faults` with the cargo feature `faults`.
//! Statements are cited where they are implemented, as `3.1.1/MQTT-x.y.z-n`.

/// Whether a test-only fault is on. Without the `faults` feature this is the constant `false`
/// and the broken branch compiles away.
macro_rules! fault {
    ($config:expr, $name:ident) => {{
        #[cfg(feature = "faults")]
        let on = $config.faults.$name;
        #[cfg(not(feature = "faults"))]
        let on = $crate::core::no_fault(&$config);
        on
    }};
}

/// Whether a legal variation (see `faults::variations`) is on; like `fault!`, the constant
/// `false` without the `faults` feature.
macro_rules! variation {
    ($config:expr, $name:ident) => {{
        #[cfg(feature = "faults")]
        let on = $config.variations.$name;
        #[cfg(not(feature = "faults"))]
        let on = $crate::core::no_fault(&$config);
        on
    }};
}

/// `fault!` without the `faults` feature. A function rather than the literal `false`, which
/// would make the boolean lints read every guarded branch as dead logic; inlined, it costs
/// nothing.
#[cfg(not(feature = "faults"))]
#[inline(always)]
fn no_fault(_: &Config) -> bool {
    false
}

mod close;
mod connect;
mod connection;
mod dispatch;
mod inbound;
mod message;
mod outbox;
mod retained;
mod routing;
mod session;
mod subscribe;
mod subscriptions;
mod timers;
mod will;

#[cfg(feature = "faults")]
pub mod faults;

#[cfg(test)]
mod tests;

use crate::config::Config;
use bytes::Bytes;
use connection::Connection;
use outbox::Outbox;
use retained::RetainedStore;
use session::Session;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use subscriptions::SubscriptionTree;
use timers::Timers;

/// Time since the driver started. The core never reads a clock: every call is given `now`.
pub type Time = Duration;

/// A network connection, numbered by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Something that happened on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connection was accepted. `peer` is used for the loopback-only anonymous rule.
    Opened {
        conn: ConnId,
        peer: Option<SocketAddr>,
    },
    /// Bytes arrived on a connection, in order, split anywhere.
    Received { conn: ConnId, bytes: Bytes },
    /// The peer closed the connection or the network failed.
    Closed { conn: ConnId },
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes on the connection, after every earlier `Send` to it.
    Send { conn: ConnId, bytes: Bytes },
    /// Close the connection once every earlier `Send` to it is written.
    Close { conn: ConnId },
}

/// Counters for operators and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Connections the core tracks (opened and not yet closed).
    pub connections: usize,
    /// Sessions, connected or stored.
    pub sessions: usize,
    /// Topics with a retained message.
    pub retained: usize,
    /// QoS 1/2 messages dropped because a session's queue held [`Config::max_queued`].
    pub dropped_queue_full: u64,
    /// Connections refused because [`Config::max_connections`] were open.
    pub refused_connections: u64,
}

/// The broker state machine.
pub struct Broker {
    config: Config,
    conns: BTreeMap<ConnId, Connection>,
    /// Keyed by client identifier (3.1.1/MQTT-3.1.3-2).
    sessions: BTreeMap<String, Session>,
    subscriptions: SubscriptionTree,
    retained: RetainedStore,
    timers: Timers,
    out: Outbox,
    /// Counter behind the client identifiers the broker assigns.
    assigned_ids: u64,
    stats: Stats,
    #[cfg(feature = "faults")]
    fault_state: faults::FaultState,
}

impl Broker {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            conns: BTreeMap::new(),
            sessions: BTreeMap::new(),
            subscriptions: SubscriptionTree::default(),
            retained: RetainedStore::default(),
            timers: Timers::default(),
            out: Outbox::default(),
            assigned_ids: 0,
            stats: Stats::default(),
            #[cfg(feature = "faults")]
            fault_state: faults::FaultState::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feeds one network event at time `now`.
    pub fn handle(&mut self, now: Time, event: Event) {
        match event {
            Event::Opened { conn, peer } => self.on_opened(now, conn, peer),
            Event::Received { conn, bytes } => self.on_received(now, conn, &bytes),
            Event::Closed { conn } => self.close(now, conn, close::CloseReason::Network),
        }
    }

    /// Runs the timers due at `now` (CONNECT timeout, keep-alive expiry).
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(conn) = self.timers.pop_due(now) {
            self.on_deadline(now, conn);
        }
        #[cfg(feature = "faults")]
        self.send_held(now);
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.pop()
    }

    /// When the core next wants `handle_timeout`, if ever.
    pub fn poll_timeout(&self) -> Option<Time> {
        let next = self.timers.next();
        #[cfg(feature = "faults")]
        let next = self.next_held(next);
        next
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        Stats {
            connections: self.conns.len(),
            sessions: self.sessions.len(),
            retained: self.retained.len(),
            ..self.stats
        }
    }

    fn on_opened(&mut self, now: Time, conn: ConnId, peer: Option<SocketAddr>) {
        if self.conns.contains_key(&conn) {
            tracing::warn!(?conn, "Opened twice; ignored");
            return;
        }
        if self.conns.len() >= self.config.max_connections {
            tracing::warn!(
                ?conn,
                max = self.config.max_connections,
                "connection refused"
            );
            self.stats.refused_connections += 1;
            self.out.close(conn);
            return;
        }
        let mut c = Connection::new(peer, self.config.max_packet_size);
        let deadline = now.saturating_add(self.config.connect_timeout);
        self.timers.reset(conn, &mut c.deadline, Some(deadline));
        self.conns.insert(conn, c);
    }
}
