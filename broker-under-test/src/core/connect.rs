//! CONNECT: protocol version, client identifier, authentication (enhanced authentication is
//! in [`super::enhanced_auth`]), takeover of an existing connection, session creation or
//! resumption, CONNACK with the 5.0 properties.
//!
//! What the codec already refuses (wrong protocol name, reserved flag, will flags, QoS 3,
//! password without user name) never reaches this module: the connection is closed without
//! CONNACK by [`super::dispatch`] (3.1.1/MQTT-3.1.4-1, 5.0/MQTT-3.1.4-1).

use super::close::CloseReason;
use super::connection::Phase;
use super::dispatch::keep_alive_deadline;
use super::link::Link;
use super::session::{NEVER_EXPIRES, Session};
use super::will::will_message;
use super::{Broker, ConnId, Time};
use bytes::Bytes;
use mqttspec_codec::reason::v311;
use mqttspec_codec::{
    ConnAck, Connect, Properties, Property, PropertyId, ProtocolVersion, QoS, ReasonCode,
};
use std::net::SocketAddr;

impl Broker {
    pub(super) fn on_connect(&mut self, now: Time, conn: ConnId, connect: Connect) {
        let v5 = connect.version == ProtocolVersion::V5;
        if v5 {
            self.open_v5(conn, &connect);
        } else if connect.version != ProtocolVersion::V311 {
            return self.refuse(now, conn, v311::UNACCEPTABLE_PROTOCOL_VERSION);
        }
        if connect.keep_alive == 0 && variation!(self.config, refuse_keepalive_zero) {
            // A legal variation: 3.1.1/MQTT-3.2.2-6 lets a server close without a CONNACK.
            return self.close(now, conn, CloseReason::Refused);
        }
        if let Some(server) = self.config.server_reference.clone() {
            let props = Properties::new().with(Property::ServerReference(server.into()));
            let code = if v5 {
                ReasonCode::USE_ANOTHER_SERVER
            } else {
                v311::SERVER_UNAVAILABLE
            };
            return self.refuse_with(now, conn, code, props);
        }
        if v5 && let Some(will) = &connect.will {
            // 5.0/MQTT-3.2.2-12, -13: a will the broker cannot honour is refused.
            if will.qos > self.config.maximum_qos {
                return self.refuse(now, conn, ReasonCode::QOS_NOT_SUPPORTED);
            }
            if will.retain && !self.config.retain_available {
                return self.refuse(now, conn, ReasonCode::RETAIN_NOT_SUPPORTED);
            }
            // 5.0 section 3.1.3.2.3: a will payload said to be UTF-8 may be checked.
            if will.properties.int(PropertyId::PayloadFormatIndicator) == Some(1)
                && std::str::from_utf8(&will.payload).is_err()
            {
                return self.refuse(now, conn, ReasonCode::PAYLOAD_FORMAT_INVALID);
            }
        }
        if v5
            && let Some(Property::AuthenticationMethod(method)) =
                connect.properties.get(PropertyId::AuthenticationMethod)
        {
            let method = method.to_string();
            return self.start_connect_auth(now, conn, connect, method);
        }
        let peer = self.conns.get(&conn).and_then(|c| c.peer);
        match self.authenticate(peer, &connect) {
            Ok(user) => self.accept(now, conn, connect, user, None),
            Err(code) => self.refuse(now, conn, code),
        }
    }

    /// A 5.0 CONNECT: the connection speaks 5.0 from now on, with the client's limits.
    fn open_v5(&mut self, conn: ConnId, connect: &Connect) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.decoder.version = ProtocolVersion::V5;
        let props = &connect.properties;
        c.link = Link {
            version: ProtocolVersion::V5,
            max_packet_size: props.int(PropertyId::MaximumPacketSize).unwrap_or(u32::MAX),
            problem_info: props.int(PropertyId::RequestProblemInformation) != Some(0)
                || fault!(self.config, problem_information_ignored),
        };
    }

    /// Accepts an authenticated CONNECT: takeover, session, CONNACK, then what the session
    /// had pending. `auth_data` is the enhanced-authentication method's last word.
    pub(super) fn accept(
        &mut self,
        now: Time,
        conn: ConnId,
        connect: Connect,
        username: Option<String>,
        auth_data: Option<Bytes>,
    ) {
        let v5 = connect.version.is_v5();
        let clean = connect.clean_start && !fault!(self.config, clean_session_ignored);
        let (client_id, assigned) = match self.client_id_for(&connect, clean) {
            Ok(id) => id,
            Err(code) => return self.refuse(now, conn, code),
        };
        let existing = self.sessions.get(&client_id).and_then(|s| s.conn);
        if let Some(old) = existing.filter(|&old| old != conn) {
            if fault!(self.config, reject_duplicate_client_id) {
                return self.refuse(now, conn, v311::IDENTIFIER_REJECTED);
            }
            if !fault!(self.config, no_takeover) {
                // 3.1.1/MQTT-3.1.4-2, 5.0/MQTT-3.1.4-3: the existing connection is closed
                // (5.0: after DISCONNECT 0x8E; its will published: it did not DISCONNECT).
                tracing::debug!(client_id, ?old, new = ?conn, "takeover");
                self.close(now, old, CloseReason::Takeover);
            }
        }
        let props = &connect.properties;
        // 3.1.1: CleanSession 1 is expiry 0, CleanSession 0 never expires.
        let requested = if v5 {
            props.int(PropertyId::SessionExpiryInterval).unwrap_or(0)
        } else if clean {
            0
        } else {
            NEVER_EXPIRES
        };
        let expiry = requested.min(self.config.session_expiry_max);
        let session_present = self.open_session(now, &client_id, clean, expiry);
        let keep_alive = match self.config.server_keep_alive {
            Some(k) if v5 => k,
            _ => connect.keep_alive,
        };
        let deadline = keep_alive_deadline(&self.config, now, keep_alive);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.phase = Phase::Connected {
            client_id: client_id.clone(),
        };
        c.keep_alive = keep_alive;
        c.username = username;
        // 3.1.1/MQTT-3.1.2-8, 5.0/MQTT-3.1.2-7: the will is stored with the connection.
        c.will = connect
            .will
            .as_ref()
            .filter(|_| !fault!(self.config, no_will))
            .map(|w| will_message(w, now));
        self.timers.reset(conn, &mut c.deadline, deadline);
        let link = c.link;
        #[cfg(feature = "faults")]
        {
            c.decoder.options.strict = !self.config.faults.needs_lenient_decoder();
            if let Some(w) = &c.will {
                self.fault_state
                    .kept_wills
                    .insert(client_id.clone(), w.clone());
            }
        }
        let auth_method = c.auth_method.clone();
        tracing::debug!(?conn, client_id, clean, session_present, "connected");
        let session_present = if fault!(self.config, session_present_always_set) {
            true
        } else {
            session_present && !fault!(self.config, session_present_never_set)
        };
        // 3.1.1/MQTT-3.1.4-4, 5.0/MQTT-3.1.4-5: accepted with code 0.
        let mut connack = ConnAck::new(session_present, v311::ACCEPTED);
        if v5 {
            connack.properties = self.connack_properties(&ConnackInfo {
                connect: &connect,
                client_id: &client_id,
                assigned,
                requested_expiry: requested,
                expiry,
                auth_method,
                auth_data,
            });
        }
        // 3.1.1/MQTT-3.2.0-1, 5.0/MQTT-3.2.0-1: CONNACK first, then what the resumed session
        // had pending (3.1.1/MQTT-4.4.0-1).
        if !fault!(self.config, queued_before_connack) {
            self.out.send(conn, &link, connack.clone());
        }
        if let Some(session) = self.sessions.get_mut(&client_id) {
            session.link = link;
            session.receive_max = props
                .int(PropertyId::ReceiveMaximum)
                .map_or(u16::MAX, |r| u16::try_from(r).unwrap_or(u16::MAX));
            session.alias_max = props
                .int(PropertyId::TopicAliasMaximum)
                .map_or(0, |a| u16::try_from(a).unwrap_or(u16::MAX));
            // 5.0/MQTT-3.1.3-9: a will still waiting for its delay is not sent.
            if !fault!(self.config, delayed_will_sent_after_reconnect) {
                session.will = None;
            }
            session.expires_at = None;
            session.resume(conn, &mut self.out, &self.config, now);
        }
        self.schedule_session(&client_id);
        if fault!(self.config, queued_before_connack) {
            self.out.send(conn, &link, connack);
        }
    }

    /// The properties of an accepting 5.0 CONNACK (section 3.2.2.3): the limits and
    /// capabilities that differ from the specification's defaults, and what the client
    /// asked for or must learn.
    fn connack_properties(&self, info: &ConnackInfo<'_>) -> Properties {
        let cfg = &self.config;
        let mut p = Properties::new();
        if info.expiry != info.requested_expiry {
            p.push(Property::SessionExpiryInterval(info.expiry));
        }
        if cfg.receive_maximum < u16::MAX {
            p.push(Property::ReceiveMaximum(cfg.receive_maximum.max(1)));
        }
        // 5.0/MQTT-3.2.2-9
        if cfg.maximum_qos < QoS::ExactlyOnce {
            p.push(Property::MaximumQos(cfg.maximum_qos.as_u8()));
        }
        if !cfg.retain_available {
            p.push(Property::RetainAvailable(0));
        }
        p.push(Property::MaximumPacketSize(cfg.max_packet_size.max(1)));
        // 5.0/MQTT-3.1.3-7, 3.2.2-16
        if info.assigned && !fault!(cfg, assigned_client_id_missing) {
            p.push(Property::AssignedClientIdentifier(info.client_id.into()));
        }
        if cfg.topic_alias_maximum > 0 {
            p.push(Property::TopicAliasMaximum(cfg.topic_alias_maximum));
        }
        if !cfg.wildcard_subscriptions {
            p.push(Property::WildcardSubscriptionAvailable(0));
        }
        if !cfg.subscription_identifiers {
            p.push(Property::SubscriptionIdentifierAvailable(0));
        }
        if !cfg.shared_subscriptions {
            p.push(Property::SharedSubscriptionAvailable(0));
        }
        if let Some(k) = cfg.server_keep_alive {
            p.push(Property::ServerKeepAlive(k));
        }
        // 5.0/MQTT-3.1.2-28: only when asked for.
        let asked = info
            .connect
            .properties
            .int(PropertyId::RequestResponseInformation)
            == Some(1);
        if let Some(prefix) = &cfg.response_information
            && (asked || fault!(cfg, response_information_unrequested))
        {
            p.push(Property::ResponseInformation(
                format!("{prefix}{}/", info.client_id).into(),
            ));
        }
        // 5.0/MQTT-4.12.0-5: the method of the CONNECT, and the method's last data;
        // 5.0/MQTT-4.12.0-6: none without one.
        if let Some(method) = &info.auth_method
            && !fault!(cfg, auth_method_missing)
        {
            p.push(Property::AuthenticationMethod(method.as_str().into()));
        }
        if info.auth_method.is_none()
            && fault!(cfg, auth_without_method)
            && let Some(first) = self.auth_methods.names().first()
        {
            p.push(Property::AuthenticationMethod((*first).into()));
        }
        if let Some(data) = &info.auth_data {
            p.push(Property::AuthenticationData(data.clone()));
        }
        p
    }

    /// Answers a refused CONNECT and closes (3.1.1/MQTT-3.2.2-5, 5.0/MQTT-3.2.2-7). Session
    /// Present is 0 (3.1.1/MQTT-3.2.2-4, 5.0/MQTT-3.2.2-6). `code` is a 3.1.1 return code
    /// or a 5.0 reason code; a 3.1.1 code is translated for a 5.0 client.
    pub(super) fn refuse(&mut self, now: Time, conn: ConnId, code: ReasonCode) {
        self.refuse_with(now, conn, code, Properties::new());
    }

    pub(super) fn refuse_with(
        &mut self,
        now: Time,
        conn: ConnId,
        code: ReasonCode,
        properties: Properties,
    ) {
        let link = self.conns.get(&conn).map(|c| c.link).unwrap_or_default();
        let code = if link.v5() { v5_code(code) } else { code };
        tracing::debug!(?conn, code = code.0, "CONNECT refused");
        let code = if link.v5() && fault!(self.config, connack_reason_not_in_table) {
            v311::NOT_AUTHORIZED
        } else {
            code
        };
        // 3.1.1/MQTT-3.2.2-4, 5.0/MQTT-3.2.2-6: Session Present 0.
        let mut connack = ConnAck::new(fault!(self.config, session_present_on_refusal), code);
        if link.v5() {
            connack.properties = properties;
        }
        self.out.send(conn, &link, connack);
        if link.v5() && fault!(self.config, disconnect_after_refused_connack) {
            let code = if code.valid_for(mqttspec_codec::PacketType::Disconnect) {
                code
            } else {
                ReasonCode::UNSPECIFIED_ERROR
            };
            self.out
                .send(conn, &link, mqttspec_codec::Disconnect::with_reason(code));
        }
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

    /// The client identifier this connection will use and whether the broker assigned it,
    /// or the CONNACK code refusing it.
    fn client_id_for(
        &mut self,
        connect: &Connect,
        clean: bool,
    ) -> Result<(String, bool), ReasonCode> {
        if connect.client_id.is_empty() {
            // 3.1.1/MQTT-3.1.3-6 lets a server refuse it (3.1.1/MQTT-3.1.3-9: with 0x02).
            if variation!(self.config, refuse_empty_client_id) {
                return Err(v311::IDENTIFIER_REJECTED);
            }
            // 3.1.1/MQTT-3.1.3-8: an empty identifier needs CleanSession 1 (not in 5.0).
            if !connect.version.is_v5()
                && !clean
                && !fault!(self.config, accept_empty_client_id_persistent)
            {
                return Err(v311::IDENTIFIER_REJECTED);
            }
            // 3.1.1/MQTT-3.1.3-6, 5.0/MQTT-3.1.3-6: a unique identifier of the server's choice.
            return Ok((self.assign_client_id(), true));
        }
        if fault!(self.config, reject_client_id_over_16_bytes) && connect.client_id.len() > 16 {
            return Err(v311::IDENTIFIER_REJECTED);
        }
        // 3.1.1/MQTT-3.1.3-5, 5.0/MQTT-3.1.3-5 oblige up to 23 bytes; beyond, the limit.
        if connect.client_id.len() > self.config.max_client_id_len.max(23) {
            return Err(v311::IDENTIFIER_REJECTED);
        }
        // 3.1.1/MQTT-3.1.3-5, 5.0/MQTT-3.1.3-5: 1 to 23 alphanumerics must be accepted; any
        // other non-empty UTF-8 identifier is accepted too, as the specification allows.
        Ok((connect.client_id.to_string(), false))
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
    fn open_session(&mut self, now: Time, client_id: &str, clean: bool, expiry: u32) -> bool {
        if clean {
            // 3.1.1/MQTT-3.1.2-6, 5.0/MQTT-3.1.2-4: any stored session is discarded (which
            // ends it: a will waiting for its delay goes out). 3.1.1/MQTT-3.2.2-1,
            // 5.0/MQTT-3.2.2-2: Session Present 0.
            self.end_session(now, client_id);
            self.sessions
                .insert(client_id.to_owned(), Session::new(true, expiry));
            return false;
        }
        #[cfg(feature = "faults")]
        if self.config.faults.session_shared_across_client_ids {
            self.adopt_latest_session(client_id);
        }
        match self.sessions.get_mut(client_id) {
            // 3.1.1/MQTT-3.1.2-4, 3.1.1/MQTT-3.2.2-2, 5.0/MQTT-3.1.2-5, 5.0/MQTT-3.2.2-3:
            // resume, Session Present 1.
            Some(session) => {
                session.clean = false;
                session.expiry = expiry;
                true
            }
            // 3.1.1/MQTT-3.2.2-3, 5.0/MQTT-3.1.2-6: a new session, Session Present 0.
            None => {
                self.sessions
                    .insert(client_id.to_owned(), Session::new(false, expiry));
                false
            }
        }
    }
}

/// What the CONNACK properties depend on.
struct ConnackInfo<'a> {
    connect: &'a Connect,
    client_id: &'a str,
    assigned: bool,
    requested_expiry: u32,
    expiry: u32,
    auth_method: Option<String>,
    auth_data: Option<Bytes>,
}

/// The 5.0 reason code for a 3.1.1 CONNACK return code; 5.0 codes pass unchanged.
fn v5_code(code: ReasonCode) -> ReasonCode {
    match code.0 {
        0x01 => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
        0x02 => ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
        0x03 => ReasonCode::SERVER_UNAVAILABLE,
        0x04 => ReasonCode::BAD_USER_NAME_OR_PASSWORD,
        0x05 => ReasonCode::NOT_AUTHORIZED,
        _ => code,
    }
}
