//! Broker settings and their documented defaults.
//!
//! Every limit says what happens when it is hit. The core reads nothing but this struct: no
//! environment, no file; the CLI loads the users and ACL files (see [`crate::auth`]) into it.

use crate::auth::{Acl, AuthMethods, Users};
use mqttspec_codec::QoS;
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
    // MQTT 5.0 capabilities and limits, announced in CONNACK. Each one applies to 5.0
    // clients as the specification says; 3.1.1 clients get the same service where 3.1.1 has
    // a way to express it (granted QoS, retained messages), and nothing else changes for them.
    /// Highest QoS the broker accepts in a PUBLISH or will, and grants in a SUBACK. A 5.0
    /// PUBLISH above it gets DISCONNECT 0x9B, a will above it CONNACK 0x9B. Default: 2.
    pub maximum_qos: QoS,
    /// Retained messages stored and sent. When off, a 5.0 PUBLISH with RETAIN 1 gets
    /// DISCONNECT 0x9A and a will with Will Retain 1 CONNACK 0x9A; 3.1.1 messages are not
    /// retained. Default: on.
    pub retain_available: bool,
    /// Wildcard subscriptions. When off, a 5.0 SUBSCRIBE with '+' or '#' gets DISCONNECT
    /// 0xA2, a 3.1.1 one SUBACK 0x80 for that filter. Default: on.
    pub wildcard_subscriptions: bool,
    /// Shared subscriptions (`$share/group/filter`, 5.0 only). When off, a SUBSCRIBE with one
    /// gets DISCONNECT 0x9E. Default: on.
    pub shared_subscriptions: bool,
    /// Subscription Identifiers. When off, a SUBSCRIBE carrying one gets DISCONNECT 0xA1.
    /// Default: on.
    pub subscription_identifiers: bool,
    /// Topic aliases a 5.0 client may set towards the broker (CONNACK Topic Alias Maximum);
    /// 0 refuses them. An alias of 0 or above it is DISCONNECT 0x94. Default: 64.
    pub topic_alias_maximum: u16,
    /// QoS 1/2 PUBLISH packets a 5.0 client may have unacknowledged towards the broker
    /// (CONNACK Receive Maximum); one more is DISCONNECT 0x93. Values below 1 count as 1.
    /// Default: 65,535.
    pub receive_maximum: u16,
    /// A keep alive the broker imposes on 5.0 clients (CONNACK Server Keep Alive) instead of
    /// theirs. Default: none, the client's own.
    pub server_keep_alive: Option<u16>,
    /// Longest Session Expiry Interval granted, in seconds; a longer request is cut to it
    /// and the CONNACK says so. 0xFFFFFFFF (the default) means no cap: sessions may never
    /// expire.
    pub session_expiry_max: u32,
    /// Response Information for 5.0 clients that ask for it: this prefix followed by the
    /// client identifier and '/'. `None` sends none. Default: `Some("response/")`.
    pub response_information: Option<String>,
    /// When set, every CONNECT is refused with 0x9C (Use another server) and this Server
    /// Reference (5.0; 3.1.1 clients get 0x03, server unavailable). Default: none.
    pub server_reference: Option<String>,
    /// Enhanced authentication: with a users file, SCRAM-SHA-256 is offered, followed by
    /// [`Config::auth_methods`]. A CONNECT naming another method gets CONNACK 0x8C.
    /// Default: on.
    pub enhanced_auth: bool,
    /// Further enhanced-authentication methods. Default: none.
    pub auth_methods: AuthMethods,
    /// Seed of the nonces of enhanced authentication (the core draws no randomness of its
    /// own). Drivers should set it from the operating system. Default: 0.
    pub nonce_seed: u64,
    /// Subscriptions one session may hold; a new one beyond it gets SUBACK 0x97 (5.0) or
    /// 0x80 (3.1.1). Default: 10,000.
    pub max_subscriptions: usize,
    /// Longest client identifier accepted, in bytes; a longer one is refused with CONNACK
    /// 0x85 (5.0) or 0x02 (3.1.1), as 3.1.3.1 allows (a server must accept 1 to 23 letters
    /// and digits; it may accept more). Values below 23 count as 23. Default: 65,535, any
    /// identifier a CONNECT can carry.
    pub max_client_id_len: usize,
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
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            wildcard_subscriptions: true,
            shared_subscriptions: true,
            subscription_identifiers: true,
            topic_alias_maximum: 64,
            receive_maximum: u16::MAX,
            server_keep_alive: None,
            session_expiry_max: u32::MAX,
            response_information: Some("response/".to_owned()),
            server_reference: None,
            enhanced_auth: true,
            auth_methods: AuthMethods::default(),
            nonce_seed: 0,
            max_subscriptions: 10_000,
            max_client_id_len: 65_535,
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

    /// The enhanced-authentication methods offered: SCRAM-SHA-256 over the users file
    /// first, when there is one, then [`Config::auth_methods`].
    pub fn offered_auth_methods(&self) -> AuthMethods {
        if !self.enhanced_auth {
            return AuthMethods::default();
        }
        let mut methods = Vec::new();
        if let Some(users) = &self.users {
            methods.push(
                std::sync::Arc::new(crate::auth::ScramSha256::new(users.clone()))
                    as std::sync::Arc<dyn crate::auth::AuthMethod>,
            );
        }
        methods.extend(self.auth_methods.0.iter().cloned());
        AuthMethods(methods)
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
