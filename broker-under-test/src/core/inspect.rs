//! A read-only view of the core's session and subscription state, for invariant checkers
//! (the `broker_core` fuzz target) and tests. Not an operator interface: it copies the
//! state, so it is slow on a large broker.

use super::connection::Phase;
use super::{Broker, ConnId, Time};

/// One session as the core keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub client_id: String,
    /// The connection it is attached to (after that connection's CONNACK).
    pub conn: Option<ConnId>,
    /// Session Expiry Interval in seconds (`u32::MAX`: never; 0: ends with its connection).
    pub expiry: u32,
    /// When an offline session ends.
    pub expires_at: Option<Time>,
    /// The session's filters, a shared subscription as its whole `$share/group/filter`.
    pub subscriptions: Vec<String>,
}

/// The session table, the routing index and the connected connections, copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebugState {
    pub sessions: Vec<SessionView>,
    /// (client id, filter) of every subscription in the routing index.
    pub index: Vec<(String, String)>,
    /// Connections past their CONNACK, with the client id they connected as.
    pub connected: Vec<(ConnId, String)>,
}

impl Broker {
    /// A copy of the session and subscription state, for consistency checks.
    #[doc(hidden)]
    pub fn debug_state(&self) -> DebugState {
        let sessions = self
            .sessions
            .iter()
            .map(|(id, s)| SessionView {
                client_id: id.clone(),
                conn: s.conn,
                expiry: s.expiry,
                expires_at: s.expires_at,
                subscriptions: s.subscriptions.keys().cloned().collect(),
            })
            .collect();
        let connected = self
            .conns
            .iter()
            .filter_map(|(conn, c)| match &c.phase {
                Phase::Connected { client_id } => Some((*conn, client_id.clone())),
                _ => None,
            })
            .collect();
        DebugState {
            sessions,
            index: self.subscriptions.entries(),
            connected,
        }
    }
}
