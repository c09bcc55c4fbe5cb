//! The end of a connection: whatever ends it, the connection is forgotten, its session
//! detached (and discarded if it was a CleanSession 1 session), and its will published unless
//! the client said DISCONNECT.

use super::connection::Phase;
use super::{Broker, ConnId, Time};

/// Why a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The client sent DISCONNECT.
    Disconnect,
    /// Malformed packet or protocol violation.
    ProtocolError,
    /// Silent for 1.5 keep alives.
    KeepAlive,
    /// Another connection CONNECTed with the same client id.
    Takeover,
    /// The driver reported the connection closed.
    Network,
    /// No CONNECT within the configured time.
    ConnectTimeout,
    /// The CONNECT was refused with a CONNACK.
    Refused,
}

impl CloseReason {
    /// Whether the will is published (3.1.1/MQTT-3.1.2-8, 3.1.1/MQTT-3.14.4-3).
    fn publishes_will(self) -> bool {
        matches!(
            self,
            Self::ProtocolError | Self::KeepAlive | Self::Takeover | Self::Network
        )
    }
}

impl Broker {
    /// Ends `conn`. Emits `Close` unless the network already closed it.
    pub(super) fn close(&mut self, now: Time, conn: ConnId, reason: CloseReason) {
        let Some(mut c) = self.conns.remove(&conn) else {
            return;
        };
        tracing::debug!(?conn, ?reason, "connection ends");
        self.timers.reset(conn, &mut c.deadline, None);
        if reason != CloseReason::Network {
            self.out.close(conn);
        }
        let Phase::Connected { client_id } = c.phase else {
            return;
        };
        self.detach_session(&client_id, conn);
        let mut will = c.will.take().filter(|_| self.will_due(reason));
        #[cfg(feature = "faults")]
        if will.is_none()
            && self.config.faults.will_kept_across_connections
            && self.will_due(reason)
        {
            will = self.fault_state.kept_wills.get(&client_id).cloned();
        }
        if let Some(w) = will.take() {
            // 3.1.1/MQTT-3.1.2-10: published once, then gone.
            self.publish_will(now, w, &client_id);
        }
    }

    fn will_due(&self, reason: CloseReason) -> bool {
        let suppressed = match reason {
            CloseReason::KeepAlive => fault!(self.config, no_will_on_keepalive_timeout),
            CloseReason::ProtocolError => fault!(self.config, no_will_on_protocol_error),
            CloseReason::Takeover => fault!(self.config, no_will_on_takeover),
            CloseReason::Disconnect => return fault!(self.config, will_sent_after_disconnect),
            _ => false,
        };
        reason.publishes_will() && !suppressed
    }

    /// The connection of `client_id`'s session ended. A CleanSession 1 session ends with it
    /// (3.1.1/MQTT-3.1.2-6); a CleanSession 0 session is kept (3.1.1/MQTT-3.1.2-4).
    fn detach_session(&mut self, client_id: &str, conn: ConnId) {
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        // With a fault the session may have moved to another connection already.
        if session.conn != Some(conn) {
            return;
        }
        session.conn = None;
        let mut discard = session.clean;
        if fault!(self.config, keep_clean_session_state) {
            discard = false;
            session.clean = false;
        }
        if fault!(self.config, forget_session_on_disconnect) {
            discard = true;
        }
        #[cfg(feature = "faults")]
        {
            self.fault_state.sequence += 1;
            session.stored_seq = self.fault_state.sequence;
            if self.config.faults.forget_subscriptions_on_disconnect && !discard {
                let filters: Vec<String> = session.subscriptions.keys().cloned().collect();
                session.subscriptions.clear();
                for f in filters {
                    self.subscriptions.remove(&f, client_id);
                }
            }
        }
        if discard {
            self.discard_session(client_id);
        }
    }

    /// Forgets a session and its subscriptions.
    pub(super) fn discard_session(&mut self, client_id: &str) {
        let Some(session) = self.sessions.remove(client_id) else {
            return;
        };
        for filter in session.subscriptions.keys() {
            self.subscriptions.remove(filter, client_id);
        }
        #[cfg(feature = "faults")]
        if self.config.faults.retained_tied_to_session {
            self.retained.remove_published_by(client_id);
        }
    }
}
