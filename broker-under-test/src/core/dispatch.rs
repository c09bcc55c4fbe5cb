//! From bytes to packets to handlers: the decode loop of a connection, what each packet means
//! in each phase of the connection, and what a decode error or an expired deadline does.

use super::close::CloseReason;
use super::connection::Phase;
use super::timers::keep_alive_grace;
use super::{Broker, ConnId, Time};
use crate::config::Config;
use mqttspec_codec::reason::v311;
use mqttspec_codec::{DecodeError, DecodeErrorKind, Packet, ReasonCode};

/// What the decode loop does next.
enum Step {
    Packet(Packet),
    Wait,
    /// A frame was discarded (faults only); look at the next one.
    #[cfg_attr(not(feature = "faults"), allow(dead_code))]
    Skip,
    Error(DecodeError),
}

impl Broker {
    pub(super) fn on_received(&mut self, now: Time, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            // Closed by the core already: the driver may still deliver what it had read.
            return;
        };
        if c.phase.is_refused() && !fault!(self.config, process_packets_after_refused_connect) {
            // 3.1.1/MQTT-3.1.4-5: nothing after a refused CONNECT is processed.
            return;
        }
        c.input.extend_from_slice(bytes);
        loop {
            match self.next_step(conn) {
                Step::Packet(packet) => {
                    self.touch(now, conn, &packet);
                    self.on_packet(now, conn, packet);
                }
                Step::Skip => {}
                Step::Wait => break,
                Step::Error(e) => {
                    self.on_decode_error(now, conn, e);
                    // The connection is closed, or (with a fault) lingers refused: then what
                    // followed the CONNECT in the same bytes is looked at too.
                    let lingers = self.conns.get(&conn).is_some_and(|c| c.phase.is_refused());
                    if !lingers {
                        break;
                    }
                }
            }
        }
    }

    fn next_step(&mut self, conn: ConnId) -> Step {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Step::Wait;
        };
        #[cfg(feature = "faults")]
        match super::faults::patch::prepare(&mut c.input, &self.config.faults, c.decoder.version) {
            super::faults::patch::Prepared::Decode => {}
            super::faults::patch::Prepared::Wait => return Step::Wait,
            super::faults::patch::Prepared::Skipped => return Step::Skip,
        }
        match c.decoder.decode(&mut c.input) {
            Ok(None) => Step::Wait,
            Ok(Some(packet)) => {
                #[cfg(feature = "faults")]
                if !c.decoder.options.strict
                    && let Err(kind) =
                        super::faults::validate::recheck(&packet, &self.config.faults)
                {
                    return Step::Error(DecodeError::new(c.decoder.version, kind));
                }
                Step::Packet(packet)
            }
            Err(e) => {
                #[cfg(feature = "faults")]
                if super::faults::patch::ignorable(&e.kind, &self.config.faults) {
                    return Step::Skip;
                }
                Step::Error(e)
            }
        }
    }

    /// A packet arrived: the keep alive timer restarts (3.1.1/MQTT-3.1.2-24 counts from the
    /// last control packet received).
    fn touch(&mut self, now: Time, conn: ConnId, packet: &Packet) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.client_id().is_none() || fault!(self.config, keepalive_not_reset_by_packets) {
            return;
        }
        if fault!(self.config, keepalive_reset_only_by_pingreq) && *packet != Packet::PingReq {
            return;
        }
        let deadline = keep_alive_deadline(&self.config, now, c.keep_alive);
        self.timers.reset(conn, &mut c.deadline, deadline);
    }

    fn on_packet(&mut self, now: Time, conn: ConnId, packet: Packet) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let client_id = match &c.phase {
            Phase::AwaitingConnect => {
                return match packet {
                    Packet::Connect(connect) => self.on_connect(now, conn, connect),
                    other => {
                        // 3.1.1/MQTT-3.1.0-1: the first packet must be a CONNECT.
                        tracing::debug!(?conn, kind = ?other.packet_type(), "first packet not CONNECT");
                        self.close(now, conn, CloseReason::ProtocolError);
                    }
                };
            }
            Phase::Refused => {
                if let Packet::Publish(p) = packet
                    && fault!(self.config, process_packets_after_refused_connect)
                {
                    let msg = super::message::Message::from_publish(&p, &p.topic, now);
                    self.publish(now, msg, None);
                }
                return;
            }
            Phase::Authenticating { .. } => {
                return match packet {
                    Packet::Auth(auth) => self.on_auth(now, conn, auth),
                    // 5.0/MQTT-3.1.4-6 (in spirit): only AUTH until the CONNACK.
                    _ => self.close(now, conn, CloseReason::ProtocolError),
                };
            }
            Phase::Connected { client_id } => client_id.clone(),
        };
        let link = c.link;
        match packet {
            Packet::Publish(p) => self.on_publish(now, conn, &client_id, p),
            Packet::PubAck(a) => {
                let failed = a.reason().is_error();
                self.on_puback(now, conn, &client_id, a.packet_id, failed)
            }
            Packet::PubRec(a) => {
                self.on_pubrec(now, conn, &client_id, a.packet_id, a.reason().is_error())
            }
            Packet::PubRel(a) => self.on_pubrel(conn, &client_id, a.packet_id),
            Packet::PubComp(a) => self.on_pubcomp(now, &client_id, a.packet_id),
            Packet::Subscribe(s) => self.on_subscribe(now, conn, &client_id, s),
            Packet::Unsubscribe(u) => self.on_unsubscribe(conn, &client_id, u),
            Packet::PingReq => {
                // 3.1.1/MQTT-3.12.4-1, 5.0/MQTT-3.12.4-1
                if !fault!(self.config, no_pingresp) {
                    self.out.send(conn, &link, Packet::PingResp);
                }
            }
            Packet::Disconnect(d) => self.on_disconnect(now, conn, &client_id, d),
            Packet::Auth(auth) => self.on_auth(now, conn, auth),
            Packet::Connect(connect) => {
                #[cfg(feature = "faults")]
                if fault!(self.config, hang_after_second_connect) {
                    self.fault_state.hung = true;
                    return;
                }
                if fault!(self.config, accept_second_connect) {
                    let _ = connect;
                    self.out.send(
                        conn,
                        &link,
                        mqttspec_codec::ConnAck::new(false, v311::ACCEPTED),
                    );
                    return;
                }
                // 3.1.1/MQTT-3.1.0-2, 5.0/MQTT-3.1.0-2: a second CONNECT is a protocol error.
                self.close(now, conn, CloseReason::ProtocolError);
            }
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                #[cfg(feature = "faults")]
                if fault!(self.config, stop_accepting_after_server_packet) {
                    self.fault_state.stop_accepting = true;
                }
                if fault!(self.config, ignore_server_only_packets) {
                    return;
                }
                // 3.1.1/MQTT-4.8.0-1: packets only a server sends are a protocol violation.
                tracing::debug!(?conn, kind = ?packet.packet_type(), "server packet from client");
                self.close(now, conn, CloseReason::ProtocolError);
            }
        }
    }

    fn on_decode_error(&mut self, now: Time, conn: ConnId, error: DecodeError) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        tracing::debug!(?conn, %error, "decode error");
        if fault!(self.config, panic_on_invalid_utf8)
            && matches!(
                error.kind,
                DecodeErrorKind::InvalidUtf8 | DecodeErrorKind::NullCharacter
            )
        {
            panic!("fault panic_on_invalid_utf8: {error}");
        }
        if fault!(self.config, reserved_flags_keep_connection)
            && matches!(c.phase, Phase::Connected { .. })
            && matches!(error.kind, DecodeErrorKind::ReservedFlags { .. })
        {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.input.clear();
            }
            return;
        }
        if matches!(c.phase, Phase::AwaitingConnect) && unsupported_level(&error) {
            // 3.1.1/MQTT-3.1.2-2: an unsupported protocol level gets CONNACK 0x01.
            return self.refuse(now, conn, v311::UNACCEPTABLE_PROTOCOL_VERSION);
        }
        // 3.1.1/MQTT-3.1.4-1, 5.0/MQTT-3.1.4-1 (a malformed CONNECT: close without CONNACK),
        // 3.1.1/MQTT-4.8.0-1, 5.0/MQTT-4.13.1-1 (any other malformed packet or protocol
        // error; a 5.0 client is told which with DISCONNECT first).
        self.close(
            now,
            conn,
            CloseReason::Violation(disconnect_code(&error.kind)),
        );
    }

    /// DISCONNECT from the client (section 3.14). 5.0: a new Session Expiry Interval is
    /// taken, except from 0 to non-zero, which is a protocol error (5.0 section 3.14.2.2.2);
    /// reason 0x04 asks for the will to be published.
    fn on_disconnect(
        &mut self,
        now: Time,
        conn: ConnId,
        client_id: &str,
        d: mqttspec_codec::Disconnect,
    ) {
        let expiry = d
            .properties
            .as_ref()
            .and_then(|p| p.int(mqttspec_codec::PropertyId::SessionExpiryInterval));
        if let Some(new) = expiry {
            let cap = self.config.session_expiry_max;
            let allow_from_zero = fault!(self.config, session_expiry_raised_from_zero);
            if let Some(s) = self.sessions.get_mut(client_id) {
                if s.expiry == 0 && new != 0 && !allow_from_zero {
                    return self.close(now, conn, CloseReason::ProtocolError);
                }
                s.expiry = new.min(cap);
            }
        }
        // 3.1.1/MQTT-3.14.4-3, 5.0/MQTT-3.14.4-3: the will is discarded, then the server
        // closes; 5.0 reason 0x04 keeps it.
        let reason = if d.reason() == mqttspec_codec::ReasonCode::DISCONNECT_WITH_WILL {
            CloseReason::DisconnectWithWill
        } else {
            CloseReason::Disconnect
        };
        self.close(now, conn, reason);
    }

    /// A deadline of `conn` expired.
    pub(super) fn on_deadline(&mut self, now: Time, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.deadline = None;
        let reason = match c.phase {
            Phase::AwaitingConnect | Phase::Authenticating { .. } => CloseReason::ConnectTimeout,
            // 3.1.1/MQTT-3.1.2-24, 5.0/MQTT-3.1.2-22: silent for 1.5 keep alives (5.0: told
            // with DISCONNECT 0x8D).
            Phase::Connected { .. } => CloseReason::KeepAlive,
            Phase::Refused => CloseReason::Refused,
        };
        tracing::debug!(?conn, ?reason, "deadline");
        self.close(now, conn, reason);
    }
}

/// Whether a decode error of a first packet means "a CONNECT of a protocol level we do not
/// speak": a level other than 4 and 5 under the name "MQTT" (or "MQIsdp").
fn unsupported_level(error: &DecodeError) -> bool {
    matches!(error.kind, DecodeErrorKind::UnsupportedProtocolLevel(_))
}

/// The 5.0 DISCONNECT reason for a packet the decoder refused: 0x95 for one over the
/// maximum size (5.0 section 3.2.2.3.6), 0x82 for the rules the specification calls
/// protocol errors (property repeated or misplaced or out of range, reason code not
/// defined, No Local on a shared subscription), 0x81 for the rest.
fn disconnect_code(kind: &DecodeErrorKind) -> ReasonCode {
    use DecodeErrorKind as K;
    match kind {
        K::PacketTooLarge { .. } => ReasonCode::PACKET_TOO_LARGE,
        // Topic Alias 0 (5.0 section 3.3.2.3.4).
        K::InvalidPropertyValue {
            property: mqttspec_codec::PropertyId::TopicAlias,
            ..
        } => ReasonCode::TOPIC_ALIAS_INVALID,
        K::DuplicateProperty(_)
        | K::PropertyNotAllowed { .. }
        | K::InvalidPropertyValue { .. }
        | K::InvalidReasonCode { .. }
        | K::NoLocalOnSharedSubscription(_) => ReasonCode::PROTOCOL_ERROR,
        _ => ReasonCode::MALFORMED_PACKET,
    }
}

/// When a client with this keep alive, heard from at `now`, is due to be closed.
pub(super) fn keep_alive_deadline(config: &Config, now: Time, keep_alive: u16) -> Option<Time> {
    if fault!(config, ignore_keepalive) {
        return None;
    }
    let keep_alive = match keep_alive {
        0 if variation!(config, keepalive_zero_closed_when_idle) => 1,
        k => k,
    };
    let grace = keep_alive_grace(keep_alive)?;
    let grace = if variation!(config, keepalive_close_at_1x) {
        grace * 2 / 3
    } else if fault!(config, keepalive_close_at_3x) {
        grace * 2
    } else {
        grace
    };
    Some(now.saturating_add(grace))
}
