//! Broker settings and their documented defaults.
//!
//! Every limit says what happens when it is hit. The core reads nothing but this struct: no
//! environment, no file; the CLI loads the users and ACL files (see [`crate::auth`]) into it.

use crate::auth::{Acl, Users};
use std::time::Duration;

/// The test-only legal variations: behaviours 3.1.1 allows that differ from the reference
/// broker's defaults (`src/core/faults/variations.rs`).
#[cfg(feature = "faults")]
pub use crate::core::faults::variations::{UnknownVariation, Variations};
/// The test-only fault switches: each flag breaks one behaviour on purpose, so that the
/// conformance harness can prove a scenario fails on a broken broker. The list, with one
/// line per fault saying what the broken broker does, is in `src/core/faults/mod.rs`.
#[cfg(feature = "faults")]
pub use crate::core::faults::{Faults, UnknownFault};

/// Broker limits and policies. Every field has a documented default in [`Config::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest packet accepted from a client, fixed header included. A client that announces
    /// a bigger one is disconnected as soon as its fixed header is read (its will is
    /// published). Default: 4 MiB, room for a 1 MiB payload with its headers.
    pub max_packet_size: u32,
    /// QoS 1/2 messages sent to one client and not yet acknowledged; more wait in the queue
    /// and go out, in order, as acknowledgements free the window. Values below 1 count as 1,
    /// above 65,535 as 65,535 (packet identifiers must be unique). Default: 32.
    pub max_inflight: usize,
    /// Messages queued for one session (offline, or beyond the in-flight window); further
    /// QoS 1/2 messages for it are dropped (the newest one, the one that did not fit) and
    /// counted in [`crate::core::Stats::dropped_queue_full`]. QoS 0 messages are never
    /// queued: they are sent to a connected client at once and dropped for an offline one.
    /// Default: 10,000.
    pub max_queued: usize,
    /// Open network connections. The connection that would exceed it is closed at once,
    /// without reading anything from it (the core answers its `Opened` with `Close` and
    /// forgets it). Default: 10,000.
    pub max_connections: usize,
    /// Let clients connect without a user name. Refused ones get CONNACK 0x05.
    /// Default: only from loopback peers.
    pub allow_anonymous: Anonymous,
    /// How long a new connection may take to send its CONNECT before it is closed.
    /// Default: 10 s.
    pub connect_timeout: Duration,
    /// Users and their password hashes. `None`: user names are not checked (any user name,
    /// any password is accepted). With a users file, a CONNECT whose user name is unknown or
    /// whose password does not match gets CONNACK 0x04. Default: `None`.
    pub users: Option<Users>,
    /// Per-user topic access. `None`: every client may publish and subscribe anywhere.
    /// A subscription the ACL denies gets SUBACK 0x80; a PUBLISH it denies is acknowledged
    /// as its QoS requires and dropped. Default: `None`.
    pub acl: Option<Acl>,
    /// Test-only faults, all off by default.
    #[cfg(feature = "faults")]
    pub faults: Faults,
    /// Test-only legal variations, all off by default.
    #[cfg(feature = "faults")]
    pub variations: Variations,
}

/// Who may connect without a user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anonymous {
    /// Never: a CONNECT without a user name gets CONNACK 0x05.
    Never,
    /// Only from a loopback peer (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), or from a
    /// connection the driver opened without a peer address (in-process transports).
    LoopbackOnly,
    /// From anywhere.
    Always,
}

impl Anonymous {
    /// Whether a client without a user name may connect from `peer`.
    pub fn allows(self, peer: Option<std::net::SocketAddr>) -> bool {
        match self {
            Self::Never => false,
            Self::Always => true,
            Self::LoopbackOnly => peer.is_none_or(|p| p.ip().to_canonical().is_loopback()),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_packet_size: 4 * 1024 * 1024,
            max_inflight: 32,
            max_queued: 10_000,
            max_connections: 10_000,
            allow_anonymous: Anonymous::LoopbackOnly,
            connect_timeout: Duration::from_secs(10),
            users: None,
            acl: None,
            #[cfg(feature = "faults")]
            faults: Faults::default(),
            #[cfg(feature = "faults")]
            variations: Variations::default(),
        }
    }
}

impl Config {
    /// The in-flight window actually used: [`Config::max_inflight`] clamped to 1..=65,535.
    pub fn inflight_window(&self) -> usize {
        self.max_inflight.clamp(1, usize::from(u16::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn anonymous_policy() {
        let lo: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let lo6: SocketAddr = "[::1]:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        let far: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let l = Anonymous::LoopbackOnly;
        assert!(l.allows(Some(lo)) && l.allows(Some(lo6)) && l.allows(Some(mapped)));
        assert!(l.allows(None));
        assert!(!l.allows(Some(far)));
        assert!(Anonymous::Always.allows(Some(far)));
        assert!(!Anonymous::Never.allows(Some(lo)));
    }

    #[test]
    fn window_is_clamped() {
        let mut c = Config {
            max_inflight: 0,
            ..Config::default()
        };
        assert_eq!(c.inflight_window(), 1);
        c.max_inflight = 1 << 20;
        assert_eq!(c.inflight_window(), 65_535);
    }
}
