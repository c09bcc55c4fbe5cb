//! The sans-IO broker core, MQTT 3.1.1 and 5.0 on the same listener: one session table, one
//! subscription tree; each connection speaks the version of its CONNECT, and messages flow
//! between versions (a 3.1.1 subscriber gets a 5.0 message without its properties).
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
//! - [`Broker::shutdown`] tells every 5.0 client DISCONNECT 0x8B and closes everything.
//!
//! Modules, one job each: `dispatch` (decode loop, packet dispatch, deadlines), `connect`
//! (CONNECT and CONNACK), `enhanced_auth` (AUTH), `close` (the end of a connection and of a
//! session: will, delayed will, session expiry), `link` (how to write to one client),
//! `inbound` (PUBLISH from clients and acknowledgements), `subscribe` (SUBSCRIBE and
//! UNSUBSCRIBE), `routing` (delivery to matching sessions), `session` (session state, the
//! in-flight window and queue), `subscriptions` (the topic tree), `retained`, `will`,
//! `timers`, `connection`, `message`, `outbox`; `faults` with the cargo feature `faults`.
//! Statements are cited where they are implemented, as `3.1.1/MQTT-x.y.z-n` and
//! `5.0/MQTT-x.y.z-n`.

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
mod enhanced_auth;
mod inbound;
mod inspect;
mod link;
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

use crate::auth::AuthMethods;
use crate::config::Config;
use bytes::Bytes;
use connection::Connection;
pub use inspect::{DebugState, SessionView};
use outbox::Outbox;
use retained::RetainedStore;
use session::Session;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
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
    /// Keyed by client identifier (3.1.1/MQTT-3.1.3-2, 5.0/MQTT-3.1.3-2).
    sessions: BTreeMap<String, Session>,
    subscriptions: SubscriptionTree,
    retained: RetainedStore,
    timers: Timers<ConnId>,
    /// Session expiry and delayed wills, by client id.
    session_timers: Timers<String>,
    out: Outbox,
    /// Counter behind the client identifiers the broker assigns.
    assigned_ids: u64,
    /// Whose turn it is in each shared subscription, by `$share/group/filter`.
    share_cursor: BTreeMap<Arc<str>, usize>,
    /// The enhanced-authentication methods offered.
    auth_methods: AuthMethods,
    /// Counter behind the enhanced-authentication nonces.
    nonces: u64,
    stats: Stats,
    #[cfg(feature = "faults")]
    fault_state: faults::FaultState,
}

impl Broker {
    pub fn new(config: Config) -> Self {
        let out = Outbox::new(&config);
        Self {
            auth_methods: config.offered_auth_methods(),
            config,
            conns: BTreeMap::new(),
            sessions: BTreeMap::new(),
            subscriptions: SubscriptionTree::default(),
            retained: RetainedStore::default(),
            timers: Timers::default(),
            session_timers: Timers::default(),
            out,
            assigned_ids: 0,
            share_cursor: BTreeMap::new(),
            nonces: 0,
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
        #[cfg(feature = "faults")]
        if self.fault_state.hung {
            return;
        }
        match event {
            Event::Opened { conn, peer } => self.on_opened(now, conn, peer),
            Event::Received { conn, bytes } => self.on_received(now, conn, &bytes),
            Event::Closed { conn } => self.close(now, conn, close::CloseReason::Network),
        }
    }

    /// Runs the timers due at `now` (CONNECT timeout, keep-alive expiry, delayed wills,
    /// session expiry), earliest first; connection timers before session timers due at the
    /// same time.
    pub fn handle_timeout(&mut self, now: Time) {
        #[cfg(feature = "faults")]
        if self.fault_state.hung {
            return;
        }
        loop {
            let conn_next = self.timers.next().filter(|t| *t <= now);
            let session_next = self.session_timers.next().filter(|t| *t <= now);
            match (conn_next, session_next) {
                (Some(a), b) if b.is_none_or(|b| a <= b) => {
                    if let Some(conn) = self.timers.pop_due(now) {
                        self.on_deadline(now, conn);
                    }
                }
                (_, Some(_)) => {
                    if let Some(client_id) = self.session_timers.pop_due(now) {
                        self.on_session_deadline(now, &client_id);
                    }
                }
                _ => break,
            }
        }
        #[cfg(feature = "faults")]
        self.send_held(now);
    }

    /// The broker stops: every 5.0 client gets DISCONNECT 0x8B (Server shutting down), then
    /// every connection is closed. Wills are not published: nobody is left to receive them.
    pub fn shutdown(&mut self, now: Time) {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.will = None;
            }
            self.close(now, conn, close::CloseReason::Shutdown);
        }
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.pop()
    }

    /// When the core next wants `handle_timeout`, if ever.
    pub fn poll_timeout(&self) -> Option<Time> {
        let next = match (self.timers.next(), self.session_timers.next()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        #[cfg(feature = "faults")]
        let next = self.next_held(next);
        next
    }

    /// Fault `stop_accepting_after_server_packet`: whether the driver is to stop accepting.
    #[cfg(feature = "faults")]
    pub fn fault_stop_accepting(&self) -> bool {
        self.fault_state.stop_accepting
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
