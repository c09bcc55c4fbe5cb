//! The sans-IO broker core. INTERFACE SKELETON: bodies are filled in by the core's author.

use crate::config::Config;
use bytes::Bytes;
use std::net::SocketAddr;
use std::time::Duration;

/// Time since the driver started. The core never reads a clock: every call is given `now`.
pub type Time = Duration;

/// A network connection, numbered by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Something that happened on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connection was accepted. `peer` is used for the loopback-only anonymous rule.
    Opened { conn: ConnId, peer: Option<SocketAddr> },
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

/// The broker state machine.
pub struct Broker {
    config: Config,
}

impl Broker {
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feeds one network event at time `now`.
    pub fn handle(&mut self, now: Time, event: Event) {
        let _ = (now, event);
        todo!("broker core")
    }

    /// Runs the timers due at `now` (keep-alive expiry, retries).
    pub fn handle_timeout(&mut self, now: Time) {
        let _ = now;
        todo!("broker core")
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        todo!("broker core")
    }

    /// When the core next wants `handle_timeout`, if ever.
    pub fn poll_timeout(&self) -> Option<Time> {
        todo!("broker core")
    }
}
