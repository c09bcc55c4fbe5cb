//! Broker settings and their documented defaults.

/// Broker limits and policies. Every field has a documented default in [`Config::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest packet accepted from a client, fixed header included.
    pub max_packet_size: u32,
    /// QoS 1/2 messages sent to one client and not yet acknowledged; more wait in the queue.
    pub max_inflight: usize,
    /// Messages queued for one session (offline, or beyond the in-flight window); further
    /// QoS 1/2 messages for it are dropped and counted.
    pub max_queued: usize,
    /// Open network connections; further connections are refused.
    pub max_connections: usize,
    /// Let clients connect without a user name. Default: only from loopback peers.
    pub allow_anonymous: Anonymous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anonymous {
    Never,
    LoopbackOnly,
    Always,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_packet_size: 1024 * 1024,
            max_inflight: 32,
            max_queued: 10_000,
            max_connections: 10_000,
            allow_anonymous: Anonymous::LoopbackOnly,
        }
    }
}
