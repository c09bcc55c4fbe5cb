//! PUBLISH from a client with its acknowledgement flow, and the client's acknowledgements of
//! the broker's own PUBLISH packets. 5.0 adds topic aliases, the capability checks, Receive
//! Maximum, the payload format check and reason codes on the acknowledgements.

use super::close::CloseReason;
use super::message::Message;
use super::{Broker, ConnId, Time};
use bytestring::ByteString;
use mqttspec_codec::{
    Properties, Property, PropertyId, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode,
};

impl Broker {
    pub(super) fn on_publish(&mut self, now: Time, conn: ConnId, client_id: &str, p: Publish) {
        if variation!(self.config, topic_length_limit_1024) && p.topic.len() > 1024 {
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        let dollar = p.topic.starts_with('$');
        if dollar && variation!(self.config, close_on_dollar_publish) {
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let link = c.link;
        let topic = if link.v5() {
            match self.check_v5_publish(now, conn, client_id, &p) {
                Some(topic) => topic,
                None => return,
            }
        } else {
            p.topic.clone()
        };
        // 3.1.1/MQTT-3.3.5-2: a PUBLISH the ACL denies is acknowledged normally and dropped
        // (5.0: with reason 0x87).
        let allowed = self.may_publish(conn, &topic);
        if !allowed {
            tracing::debug!(client_id, topic = %topic, "PUBLISH denied by ACL");
        }
        // 5.0 section 3.3.2.3.2: a payload said to be UTF-8 that is not is refused.
        let bad_payload = link.v5()
            && p.properties.int(PropertyId::PayloadFormatIndicator) == Some(1)
            && std::str::from_utf8(&p.payload).is_err();
        let refusal = if !allowed {
            Some(ReasonCode::NOT_AUTHORIZED)
        } else if bad_payload {
            Some(ReasonCode::PAYLOAD_FORMAT_INVALID)
        } else {
            None
        };
        if p.qos == QoS::AtMostOnce && bad_payload {
            return self.close(
                now,
                conn,
                CloseReason::Violation(ReasonCode::PAYLOAD_FORMAT_INVALID),
            );
        }
        if p.qos == QoS::ExactlyOnce {
            // 3.1.1/MQTT-4.3.3-2, 5.0/MQTT-4.3.3-10: the message is delivered on the first
            // PUBLISH only, and the identifier remembered until PUBREL, across reconnections
            // (method B of 4.3.3). A refused message is not remembered (5.0/MQTT-4.3.3-9).
            let first = !self
                .sessions
                .get(client_id)
                .is_some_and(|s| s.inbound_qos2.contains(&p.packet_id));
            if first
                && (refusal.is_none() || fault!(self.config, refused_qos2_id_remembered))
                && let Some(s) = self.sessions.get_mut(client_id)
            {
                s.inbound_qos2.insert(p.packet_id);
            }
            if !first && !fault!(self.config, dup_qos2_delivery) {
                tracing::debug!(client_id, id = p.packet_id, "QoS 2 PUBLISH seen before");
                self.out.send(conn, &link, PubRec::new(p.packet_id));
                return;
            }
        }
        // Routed first, then acknowledged: 5.0 tells "no matching subscribers" (0x10) in the
        // acknowledgement, and the copies to subscribers are not held back behind it.
        // A legal variation: `$` topics are the server's (4.7.2); publishes to them dropped.
        let dropped = dollar && variation!(self.config, drop_dollar_publishes);
        if !link.v5() {
            if allowed && !dropped {
                let msg = Message::from_publish(&p, &topic, now);
                self.publish(now, msg, Some(client_id));
            }
            self.acknowledge(conn, &link, &p, None);
            return;
        }
        let code = match refusal {
            Some(code) => code,
            None if dropped => ReasonCode::SUCCESS,
            None => {
                let msg = Message::from_publish(&p, &topic, now);
                let msg = self.v5_property_faults(msg, &p.properties);
                match self.publish(now, msg, Some(client_id)) {
                    0 => ReasonCode::NO_MATCHING_SUBSCRIBERS,
                    _ => ReasonCode::SUCCESS,
                }
            }
        };
        self.acknowledge(conn, &link, &p, Some(code));
    }

    /// PUBACK or PUBREC with the PUBLISH's identifier (3.1.1/MQTT-4.3.2-2,
    /// 3.1.1/MQTT-2.3.1-6, 5.0/MQTT-2.2.1-5), with the 5.0 reason code; nothing for QoS 0
    /// (3.1.1/MQTT-3.3.4-1, 5.0/MQTT-3.3.4-1).
    fn acknowledge(
        &mut self,
        conn: ConnId,
        link: &super::link::Link,
        p: &Publish,
        code: Option<ReasonCode>,
    ) {
        // The short form for Success; a reason string for a refusal.
        let code = code.filter(|c| *c != ReasonCode::SUCCESS);
        let props = code
            .filter(|c| c.is_error())
            .and_then(|c| c.name())
            .map(|why| Properties::new().with(Property::ReasonString(why.into())));
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                let id = if fault!(self.config, wrong_puback_packet_id) {
                    p.packet_id.wrapping_add(1)
                } else {
                    p.packet_id
                };
                let ack = PubAck {
                    packet_id: id,
                    reason_code: code,
                    properties: props,
                };
                self.out.send(conn, link, ack);
            }
            QoS::ExactlyOnce => {
                let ack = PubRec {
                    packet_id: p.packet_id,
                    reason_code: code,
                    properties: props,
                };
                self.out.send(conn, link, ack);
            }
        }
    }

    /// The 5.0 rules of a client's PUBLISH that the codec cannot check: its topic alias
    /// (5.0 section 3.3.2.3.4), the capabilities the CONNACK declined and Receive Maximum.
    /// Returns the topic, or `None` when the connection was closed.
    fn check_v5_publish(
        &mut self,
        now: Time,
        conn: ConnId,
        client_id: &str,
        p: &Publish,
    ) -> Option<ByteString> {
        let violation = |code| Some(CloseReason::Violation(code));
        let mut close = None;
        // 5.0/MQTT-3.2.2-11 (client side): QoS above Maximum QoS is a protocol error.
        if p.qos > self.config.maximum_qos {
            close = violation(ReasonCode::QOS_NOT_SUPPORTED);
        } else if p.retain && !self.config.retain_available {
            // 5.0/MQTT-3.2.2-14 (client side).
            close = violation(ReasonCode::RETAIN_NOT_SUPPORTED);
        } else if p
            .properties
            .get(PropertyId::SubscriptionIdentifier)
            .is_some()
            && !fault!(self.config, subscription_identifier_from_client_accepted)
        {
            // 5.0 section 3.3.4: a client's PUBLISH carries no Subscription Identifier.
            close = Some(CloseReason::ProtocolError);
        } else if p.qos == QoS::ExactlyOnce
            && !fault!(self.config, receive_maximum_not_enforced)
            && let Some(s) = self.sessions.get(client_id)
            && !s.inbound_qos2.contains(&p.packet_id)
            && s.inbound_qos2.len() >= usize::from(self.config.receive_maximum.max(1))
        {
            // 5.0 section 3.3.4: more unacknowledged QoS 2 PUBLISH than Receive Maximum.
            close = violation(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED);
        }
        if let Some(reason) = close {
            self.close(now, conn, reason);
            return None;
        }
        let alias = p.properties.int(PropertyId::TopicAlias);
        let Some(alias) = alias else {
            return Some(p.topic.clone());
        };
        let alias = u16::try_from(alias).unwrap_or(0);
        let max = self.config.topic_alias_maximum;
        // 5.0/MQTT-3.3.2-12: 1 to the maximum is accepted; 0 or more is a Topic Alias
        // invalid error (5.0 section 3.3.2.3.4).
        if (alias == 0 || alias > max) && !fault!(self.config, invalid_topic_alias_accepted) {
            self.close(
                now,
                conn,
                CloseReason::Violation(ReasonCode::TOPIC_ALIAS_INVALID),
            );
            return None;
        }
        let c = self.conns.get_mut(&conn)?;
        #[cfg(feature = "faults")]
        if self.config.faults.topic_alias_kept_across_connections {
            let kept = self
                .fault_state
                .kept_aliases
                .entry(client_id.to_owned())
                .or_default();
            if p.topic.is_empty() {
                if let Some(topic) = kept.get(&alias) {
                    c.aliases.entry(alias).or_insert_with(|| topic.clone());
                }
            } else {
                kept.insert(alias, ByteString::from(&*p.topic));
            }
        }
        if p.topic.is_empty() {
            match c.aliases.get(&alias) {
                Some(topic) => Some(topic.clone()),
                None => {
                    // An alias never set: a protocol error.
                    self.close(now, conn, CloseReason::ProtocolError);
                    None
                }
            }
        } else {
            if !fault!(self.config, topic_alias_mapping_ignored) {
                c.aliases.insert(alias, ByteString::from(&*p.topic));
            }
            Some(p.topic.clone())
        }
    }

    /// Faults that damage the properties of a 5.0 message on its way through.
    fn v5_property_faults(&self, msg: Message, _received: &Properties) -> Message {
        #[cfg(feature = "faults")]
        return super::faults::v5::damage(msg, _received, &self.config.faults);
        #[cfg(not(feature = "faults"))]
        msg
    }

    fn may_publish(&self, conn: ConnId, topic: &str) -> bool {
        let Some(acl) = &self.config.acl else {
            return true;
        };
        let user = self.conns.get(&conn).and_then(|c| c.username.as_deref());
        acl.can_publish(user, topic)
    }

    /// PUBREL: the QoS 2 identifier is released and PUBCOMP sent, also for an identifier the
    /// session does not hold (a PUBREL resent after PUBCOMP was lost); 5.0 tells that case
    /// with reason 0x92.
    pub(super) fn on_pubrel(&mut self, conn: ConnId, client_id: &str, id: u16) {
        let held = self.sessions.get_mut(client_id).is_some_and(|s| {
            if fault!(self.config, qos2_id_kept_after_pubcomp) {
                s.inbound_qos2.contains(&id)
            } else {
                s.inbound_qos2.remove(&id)
            }
        });
        let Some(link) = self.conns.get(&conn).map(|c| c.link) else {
            return;
        };
        if fault!(self.config, no_pubcomp) {
            return;
        }
        let comp = if link.v5() && !held {
            PubComp::with_reason(id, ReasonCode::PACKET_IDENTIFIER_NOT_FOUND)
        } else {
            PubComp::new(id)
        };
        self.out.send(conn, &link, comp);
    }

    /// PUBACK for a QoS 1 message the broker sent; an unknown identifier is ignored.
    pub(super) fn on_puback(
        &mut self,
        now: Time,
        conn: ConnId,
        client_id: &str,
        id: u16,
        _failed: bool,
    ) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        #[cfg(feature = "faults")]
        if _failed && self.config.faults.error_puback_ignored {
            return;
        }
        #[cfg(feature = "faults")]
        let refused_share = s
            .inflight
            .iter()
            .find_map(|f| match f {
                super::session::Inflight::Publish { id: i, msg }
                    if *i == id && msg.shared.is_some() =>
                {
                    Some(msg.clone())
                }
                _ => None,
            })
            .filter(|_| _failed && self.config.faults.shared_error_ack_redistributed);
        if variation!(self.config, close_on_out_of_order_puback)
            && s.oldest_qos1().is_some_and(|oldest| oldest != id)
        {
            // 3.1.1/MQTT-4.6.0-2 binds the client; breaking it is a protocol violation.
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        if !s.on_puback(id, &mut self.out, &self.config, now) {
            tracing::debug!(
                client_id,
                id,
                "PUBACK for no QoS 1 message in flight; ignored"
            );
        }
        #[cfg(feature = "faults")]
        if let Some(msg) = refused_share {
            self.redistribute_except(now, msg, client_id);
        }
    }

    /// PUBREC for a QoS 2 message the broker sent: answered with PUBREL (3.1.1/MQTT-4.3.3-1,
    /// 5.0/MQTT-4.3.3-4) unless it refused the message. 5.0: an unknown identifier gets
    /// PUBREL 0x92; 3.1.1 ignores it.
    pub(super) fn on_pubrec(
        &mut self,
        now: Time,
        conn: ConnId,
        client_id: &str,
        id: u16,
        failed: bool,
    ) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        #[cfg(feature = "faults")]
        if self.config.variations.pubrel_delayed && !failed {
            // The PUBREL goes to a scratch outbox, and out later (a legal variation).
            let mut scratch = super::outbox::Outbox::default();
            if s.on_pubrec(id, failed, &mut scratch, &self.config, now)
                .is_some()
            {
                self.hold_pubrel(now, conn, id);
            }
            return;
        }
        #[cfg(not(feature = "faults"))]
        let _ = conn;
        if s.on_pubrec(id, failed, &mut self.out, &self.config, now)
            .is_some()
        {
            return;
        }
        tracing::debug!(client_id, id, "PUBREC for no QoS 2 message in flight");
        if s.link.v5()
            && !failed
            && let Some(conn) = s.conn
        {
            let rel = PubRel::with_reason(id, ReasonCode::PACKET_IDENTIFIER_NOT_FOUND);
            self.out.send(conn, &s.link, rel);
        }
    }

    /// PUBCOMP ends a QoS 2 flow; an unknown identifier is ignored.
    pub(super) fn on_pubcomp(&mut self, now: Time, client_id: &str, id: u16) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        if !s.on_pubcomp(id, &mut self.out, &self.config, now) {
            tracing::debug!(client_id, id, "PUBCOMP for no PUBREL in flight; ignored");
        }
    }
}
