//! The end of a connection and of a session. Whatever ends a connection, it is forgotten,
//! its session detached (and ended if its expiry is 0), and its will published — at once or
//! after its delay — unless the client said a normal DISCONNECT. A 5.0 client is told why
//! with a DISCONNECT before the close where the broker decides to close.

use super::connection::Phase;
use super::session::NEVER_EXPIRES;
use super::will::StoredWill;
use super::{Broker, ConnId, Time};
use mqttspec_codec::{Disconnect, ReasonCode};
use std::time::Duration;

/// Why a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The client sent DISCONNECT (5.0: with reason 0x00).
    Disconnect,
    /// The client sent DISCONNECT with reason 0x04 (5.0): the will is published.
    DisconnectWithWill,
    /// Malformed packet or protocol violation (5.0: DISCONNECT 0x82).
    ProtocolError,
    /// A violation with its own 5.0 reason code (0x81, 0x93, 0x94, 0x95, 0x9A ...).
    Violation(ReasonCode),
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
    /// The broker is stopping.
    Shutdown,
}

impl CloseReason {
    /// Whether the will is published (3.1.1/MQTT-3.1.2-8, 3.1.1/MQTT-3.14.4-3,
    /// 5.0/MQTT-3.1.2-8, 5.0/MQTT-3.14.4-3).
    fn publishes_will(self) -> bool {
        matches!(
            self,
            Self::ProtocolError
                | Self::Violation(_)
                | Self::KeepAlive
                | Self::Takeover
                | Self::Network
                | Self::DisconnectWithWill
        )
    }

    /// The reason code of the DISCONNECT a 5.0 client gets before the broker closes.
    fn server_code(self) -> Option<ReasonCode> {
        match self {
            Self::ProtocolError => Some(ReasonCode::PROTOCOL_ERROR),
            Self::Violation(code) => Some(code),
            Self::KeepAlive => Some(ReasonCode::KEEP_ALIVE_TIMEOUT),
            // 5.0/MQTT-3.1.4-3
            Self::Takeover => Some(ReasonCode::SESSION_TAKEN_OVER),
            Self::Shutdown => Some(ReasonCode::SERVER_SHUTTING_DOWN),
            _ => None,
        }
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
            // 5.0/MQTT-3.14.0-1: only after a successful CONNACK; the DISCONNECT is the
            // last packet (5.0/MQTT-3.14.4-1, -2).
            let mut told = false;
            if let Some(code) = reason.server_code()
                && c.v5()
                && let Phase::Connected { client_id } = &c.phase
                && !fault!(self.config, no_server_disconnect)
            {
                let disconnect = self.server_disconnect(code, client_id);
                self.out.send(conn, &c.link, disconnect);
                if fault!(self.config, packets_after_server_disconnect) {
                    self.out
                        .send(conn, &c.link, mqttspec_codec::Packet::PingResp);
                }
                told = true;
            }
            if !(told && fault!(self.config, no_close_after_server_disconnect)) {
                self.out.close(conn);
            }
        }
        let Phase::Connected { client_id } = c.phase else {
            return;
        };
        let will_due = self.will_due(reason);
        #[allow(unused_mut)]
        let mut will = c.will.take().filter(|_| will_due);
        #[cfg(feature = "faults")]
        if will.is_none() && self.config.faults.will_kept_across_connections && will_due {
            will = self.fault_state.kept_wills.get(&client_id).cloned();
        }
        self.detach_session(now, &client_id, conn, will);
    }

    /// The DISCONNECT the broker sends before it closes: the reason code, nothing else
    /// (5.0/MQTT-3.14.2-2: never a Session Expiry Interval).
    #[cfg_attr(not(feature = "faults"), allow(unused_variables))]
    fn server_disconnect(&self, code: ReasonCode, client_id: &str) -> Disconnect {
        #[cfg(feature = "faults")]
        {
            let f = &self.config.faults;
            let code = if f.server_disconnect_reason_not_in_table {
                ReasonCode::BAD_USER_NAME_OR_PASSWORD
            } else {
                code
            };
            let mut d = Disconnect::with_reason(code);
            if f.server_disconnect_session_expiry {
                let expiry = self.sessions.get(client_id).map_or(0, |s| s.expiry);
                d.properties = Some(
                    mqttspec_codec::Properties::new()
                        .with(mqttspec_codec::Property::SessionExpiryInterval(expiry)),
                );
            }
            d
        }
        #[cfg(not(feature = "faults"))]
        Disconnect::with_reason(code)
    }

    fn will_due(&self, reason: CloseReason) -> bool {
        let suppressed = match reason {
            CloseReason::KeepAlive => fault!(self.config, no_will_on_keepalive_timeout),
            CloseReason::ProtocolError | CloseReason::Violation(_) => {
                fault!(self.config, no_will_on_protocol_error)
            }
            CloseReason::Takeover => fault!(self.config, no_will_on_takeover),
            CloseReason::Disconnect => return fault!(self.config, will_sent_after_disconnect),
            CloseReason::DisconnectWithWill => fault!(self.config, disconnect_with_will_ignored),
            _ => false,
        };
        reason.publishes_will() && !suppressed
    }

    /// The connection of `client_id`'s session ended. A session with expiry 0 ends with it
    /// (3.1.1/MQTT-3.1.2-6, 5.0 section 3.1.2.11.2); any other is kept (3.1.1/MQTT-3.1.2-4,
    /// 5.0/MQTT-3.1.2-23) until its expiry. The will goes out now, or after its delay if the
    /// session lives that long (5.0/MQTT-3.1.2-8).
    fn detach_session(
        &mut self,
        now: Time,
        client_id: &str,
        conn: ConnId,
        will: Option<StoredWill>,
    ) {
        let Some(session) = self.sessions.get_mut(client_id) else {
            if let Some(w) = will {
                self.publish_will(now, w, client_id);
            }
            return;
        };
        // With a fault the session may have moved to another connection already.
        if session.conn != Some(conn) {
            if let Some(w) = will {
                self.publish_will(now, w, client_id);
            }
            return;
        }
        session.conn = None;
        #[cfg(feature = "faults")]
        if self.config.faults.shared_qos2_handed_to_other_member {
            let moved = session.take_shared_qos2();
            for msg in moved {
                self.redistribute_except(now, msg, client_id);
            }
        }
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        let mut discard = session.expiry == 0 || fault!(self.config, session_expiry_ignored);
        if fault!(self.config, keep_clean_session_state) {
            discard = false;
            session.clean = false;
            session.expiry = NEVER_EXPIRES;
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
        let mut now_will = None;
        if let Some(w) = will {
            if w.delay == 0 || discard || fault!(self.config, will_delay_ignored) {
                now_will = Some(w);
            } else {
                let due = now.saturating_add(Duration::from_secs(u64::from(w.delay)));
                session.will = Some((w, due));
            }
        }
        if discard {
            self.end_session(now, client_id);
        } else {
            if session.expiry != NEVER_EXPIRES && !fault!(self.config, session_never_expires) {
                session.expires_at =
                    Some(now.saturating_add(Duration::from_secs(u64::from(session.expiry))));
            }
            self.schedule_session(client_id);
        }
        if let Some(w) = now_will {
            // 3.1.1/MQTT-3.1.2-10: published once, then gone.
            self.publish_will(now, w, client_id);
        }
    }

    /// Sets the session's timer to the earlier of its delayed will and its expiry.
    pub(super) fn schedule_session(&mut self, client_id: &str) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        let next = match (s.will.as_ref().map(|w| w.1), s.expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.session_timers
            .reset(client_id.to_owned(), &mut s.deadline, next);
    }

    /// A session's timer expired: its delayed will is due, or the session itself
    /// (5.0/MQTT-4.1.0-2), whose end also publishes a will still waiting.
    pub(super) fn on_session_deadline(&mut self, now: Time, client_id: &str) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        s.deadline = None;
        if s.conn.is_some() && !fault!(self.config, delayed_will_sent_after_reconnect) {
            return;
        }
        if s.will.as_ref().is_some_and(|w| w.1 <= now)
            && let Some((w, _)) = s.will.take()
        {
            self.publish_will(now, w, client_id);
        }
        let expired = self
            .sessions
            .get(client_id)
            .is_some_and(|s| s.expires_at.is_some_and(|t| t <= now));
        if expired {
            tracing::debug!(client_id, "session expired");
            self.end_session(now, client_id);
        } else {
            self.schedule_session(client_id);
        }
    }

    /// Ends a session: forgets it and its subscriptions, publishes a will still waiting for
    /// its delay (the session ended first), and hands the messages it held for shared
    /// subscriptions to other members of those subscriptions.
    pub(super) fn end_session(&mut self, now: Time, client_id: &str) {
        let Some(mut session) = self.sessions.remove(client_id) else {
            return;
        };
        self.session_timers
            .reset(client_id.to_owned(), &mut session.deadline, None);
        for (filter, sub) in &session.subscriptions {
            self.unindex(client_id, filter, sub.shared);
        }
        #[cfg(feature = "faults")]
        if self.config.faults.retained_tied_to_session {
            self.retained.remove_published_by(client_id);
        }
        if let Some((w, _)) = session.will.take() {
            self.publish_will(now, w, client_id);
        }
        for msg in session.take_shared() {
            self.redistribute(now, msg);
        }
    }
}
