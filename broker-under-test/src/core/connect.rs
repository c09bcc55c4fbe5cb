//! CONNECT: protocol level, client identifier, authentication, takeover of an existing
//! connection, session creation or resumption, CONNACK.
//!
//! What the codec already refuses (wrong protocol name, reserved flag, will flags, QoS 3,
//! password without user name) never reaches this module: the connection is closed without
//! CONNACK by [`super::dispatch`] (3.1.1/MQTT-3.1.4-1).

use super::close::CloseReason;
use super::connection::Phase;
use super::dispatch::keep_alive_deadline;
use super::session::Session;
use super::will::will_message;
use super::{Broker, ConnId, Time};
use mqttspec_codec::reason::v311;
use mqttspec_codec::{ConnAck, Connect, ProtocolVersion, ReasonCode};
use std::net::SocketAddr;

impl Broker {
    pub(super) fn on_connect(&mut self, now: Time, conn: ConnId, connect: Connect) {
        // 3.1.1/MQTT-3.1.2-2: only level 4 is spoken here; a level 5 CONNECT is refused
        // with 0x01 (MQTT 5.0 is not supported yet).
        if connect.version != ProtocolVersion::V311 {
            return self.refuse(now, conn, v311::UNACCEPTABLE_PROTOCOL_VERSION);
        }
        if connect.keep_alive == 0 && variation!(self.config, refuse_keepalive_zero) {
            // 3.1.1/MQTT-3.2.2-6: no return code fits, so no CONNACK.
            return self.close(now, conn, CloseReason::Refused);
        }
        let clean = connect.clean_start && !fault!(self.config, clean_session_ignored);
        let client_id = match self.client_id_for(&connect, clean) {
            Ok(id) => id,
            Err(code) => return self.refuse(now, conn, code),
        };
        let peer = self.conns.get(&conn).and_then(|c| c.peer);
        let username = match self.authenticate(peer, &connect) {
            Ok(user) => user,
            Err(code) => return self.refuse(now, conn, code),
        };
        let existing = self.sessions.get(&client_id).and_then(|s| s.conn);
        if let Some(old) = existing.filter(|&old| old != conn) {
            if fault!(self.config, reject_duplicate_client_id) {
                return self.refuse(now, conn, v311::IDENTIFIER_REJECTED);
            }
            if !fault!(self.config, no_takeover) {
                // 3.1.1/MQTT-3.1.4-2: the existing connection is closed (its will published:
                // it did not DISCONNECT).
                tracing::debug!(client_id, ?old, new = ?conn, "takeover");
                self.close(now, old, CloseReason::Takeover);
            }
        }
        let session_present = self.open_session(&client_id, clean);
        let deadline = keep_alive_deadline(&self.config, now, connect.keep_alive);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.phase = Phase::Connected {
            client_id: client_id.clone(),
        };
        c.keep_alive = connect.keep_alive;
        c.username = username;
        // 3.1.1/MQTT-3.1.2-8: the will is stored with the connection.
        c.will = connect
            .will
            .as_ref()
            .filter(|_| !fault!(self.config, no_will))
            .map(will_message);
        self.timers.reset(conn, &mut c.deadline, deadline);
        #[cfg(feature = "faults")]
        {
            c.decoder.options.strict = !self.config.faults.needs_lenient_decoder();
            if let Some(w) = &c.will {
                self.fault_state
                    .kept_wills
                    .insert(client_id.clone(), w.clone());
            }
        }
        tracing::debug!(?conn, client_id, clean, session_present, "connected");
        let session_present = if fault!(self.config, session_present_always_set) {
            true
        } else {
            session_present && !fault!(self.config, session_present_never_set)
        };
        // 3.1.1/MQTT-3.2.0-1: CONNACK first, then what the resumed session had pending
        // (3.1.1/MQTT-4.4.0-1). 3.1.1/MQTT-3.1.4-4: return code 0.
        let connack = ConnAck::new(session_present, v311::ACCEPTED);
        if !fault!(self.config, queued_before_connack) {
            self.out.send(conn, connack.clone());
        }
        if let Some(session) = self.sessions.get_mut(&client_id) {
            session.resume(conn, &mut self.out, &self.config);
        }
        if fault!(self.config, queued_before_connack) {
            self.out.send(conn, connack);
        }
    }

    /// Answers a refused CONNECT and closes (3.1.1/MQTT-3.2.2-5). Session Present is 0
    /// (3.1.1/MQTT-3.2.2-4).
    pub(super) fn refuse(&mut self, now: Time, conn: ConnId, code: ReasonCode) {
        tracing::debug!(?conn, code = code.0, "CONNECT refused");
        self.out.send(conn, ConnAck::new(false, code));
        #[cfg(feature = "faults")]
        {
            let faults = &self.config.faults;
            let linger = if faults.process_packets_after_refused_connect {
                // Stay open a moment so that what follows the CONNECT gets processed.
                Some(Some(
                    now.saturating_add(std::time::Duration::from_millis(500)),
                ))
            } else if faults.no_close_after_refused_connack {
                Some(None)
            } else {
                None
            };
            if let (Some(deadline), Some(c)) = (linger, self.conns.get_mut(&conn)) {
                c.phase = Phase::Refused;
                self.timers.reset(conn, &mut c.deadline, deadline);
                return;
            }
        }
        self.close(now, conn, CloseReason::Refused);
    }

    /// The client identifier this connection will use, or the CONNACK code refusing it.
    fn client_id_for(&mut self, connect: &Connect, clean: bool) -> Result<String, ReasonCode> {
        if connect.client_id.is_empty() {
            // 3.1.1/MQTT-3.1.3-6 lets a server refuse it (3.1.1/MQTT-3.1.3-9: with 0x02).
            if variation!(self.config, refuse_empty_client_id) {
                return Err(v311::IDENTIFIER_REJECTED);
            }
            // 3.1.1/MQTT-3.1.3-8: an empty identifier needs CleanSession 1.
            if !clean && !fault!(self.config, accept_empty_client_id_persistent) {
                return Err(v311::IDENTIFIER_REJECTED);
            }
            // 3.1.1/MQTT-3.1.3-6: a unique identifier of the server's choice.
            return Ok(self.assign_client_id());
        }
        if fault!(self.config, reject_client_id_over_16_bytes) && connect.client_id.len() > 16 {
            return Err(v311::IDENTIFIER_REJECTED);
        }
        // 3.1.1/MQTT-3.1.3-5: 1 to 23 alphanumerics must be accepted; any other non-empty
        // UTF-8 identifier is accepted too, as the specification allows.
        Ok(connect.client_id.to_string())
    }

    fn assign_client_id(&mut self) -> String {
        if fault!(self.config, empty_client_id_shared) {
            return "mqttspec-shared-id".to_owned();
        }
        loop {
            self.assigned_ids += 1;
            let id = format!("auto-{:010}", self.assigned_ids);
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    /// The user name to run the connection as, or the CONNACK code refusing it.
    fn authenticate(
        &self,
        peer: Option<SocketAddr>,
        connect: &Connect,
    ) -> Result<Option<String>, ReasonCode> {
        let Some(user) = &connect.username else {
            return if self.config.allow_anonymous.allows(peer) {
                Ok(None)
            } else {
                Err(v311::NOT_AUTHORIZED)
            };
        };
        if let Some(users) = &self.config.users {
            let password = connect.password.as_deref();
            if !password.is_some_and(|p| users.verify(user, p)) {
                return Err(v311::BAD_USER_NAME_OR_PASSWORD);
            }
        }
        Ok(Some(user.to_string()))
    }

    /// Creates or resumes the session of `client_id`; returns Session Present.
    fn open_session(&mut self, client_id: &str, clean: bool) -> bool {
        if clean {
            // 3.1.1/MQTT-3.1.2-6: any stored session is discarded; a new one lives as long
            // as this connection. 3.1.1/MQTT-3.2.2-1: Session Present 0.
            self.discard_session(client_id);
            self.sessions
                .insert(client_id.to_owned(), Session::new(true));
            return false;
        }
        #[cfg(feature = "faults")]
        if self.config.faults.session_shared_across_client_ids {
            self.adopt_latest_session(client_id);
        }
        match self.sessions.get_mut(client_id) {
            // 3.1.1/MQTT-3.1.2-4, 3.1.1/MQTT-3.2.2-2: resume, Session Present 1.
            Some(session) => {
                session.clean = false;
                true
            }
            // 3.1.1/MQTT-3.2.2-3: a new session, Session Present 0.
            None => {
                self.sessions
                    .insert(client_id.to_owned(), Session::new(false));
                false
            }
        }
    }
}
