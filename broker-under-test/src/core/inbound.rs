//! PUBLISH from a client with its acknowledgement flow, and the client's acknowledgements of
//! the broker's own PUBLISH packets.

use super::close::CloseReason;
use super::message::Message;
use super::{Broker, ConnId, Time};
use mqttspec_codec::{PubAck, PubComp, PubRec, Publish, QoS};

impl Broker {
    pub(super) fn on_publish(&mut self, now: Time, conn: ConnId, client_id: &str, p: Publish) {
        if variation!(self.config, topic_length_limit_1024) && p.topic.len() > 1024 {
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        let dollar = p.topic.starts_with('$');
        if dollar && variation!(self.config, close_on_dollar_publish) {
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        // 3.1.1/MQTT-3.3.5-2: a PUBLISH the ACL denies is acknowledged normally and dropped.
        let allowed = self.may_publish(conn, &p.topic);
        if !allowed {
            tracing::debug!(client_id, topic = %p.topic, "PUBLISH denied by ACL");
        }
        match p.qos {
            // 3.1.1/MQTT-3.3.4-1: QoS 0 gets no answer.
            QoS::AtMostOnce => {}
            // 3.1.1/MQTT-4.3.2-2, 3.1.1/MQTT-2.3.1-6: PUBACK with the same identifier. A
            // repeated identifier is a new message, whatever DUP says.
            QoS::AtLeastOnce => {
                let id = if fault!(self.config, wrong_puback_packet_id) {
                    p.packet_id.wrapping_add(1)
                } else {
                    p.packet_id
                };
                self.out.send(conn, PubAck::new(id));
            }
            // 3.1.1/MQTT-4.3.3-2: PUBREC with the same identifier; the message is delivered
            // on the first PUBLISH only, and the identifier remembered until PUBREL, across
            // reconnections (method B of 4.3.3).
            QoS::ExactlyOnce => {
                let first = self
                    .sessions
                    .get_mut(client_id)
                    .is_none_or(|s| s.inbound_qos2.insert(p.packet_id));
                self.out.send(conn, PubRec::new(p.packet_id));
                if !first && !fault!(self.config, dup_qos2_delivery) {
                    tracing::debug!(client_id, id = p.packet_id, "QoS 2 PUBLISH seen before");
                    return;
                }
            }
        }
        if allowed && !(dollar && variation!(self.config, drop_dollar_publishes)) {
            self.publish(now, Message::from_publish(&p), Some(client_id));
        }
    }

    fn may_publish(&self, conn: ConnId, topic: &str) -> bool {
        let Some(acl) = &self.config.acl else {
            return true;
        };
        let user = self.conns.get(&conn).and_then(|c| c.username.as_deref());
        acl.can_publish(user, topic)
    }

    /// PUBREL: the QoS 2 identifier is released and PUBCOMP sent, also for an identifier the
    /// session does not hold (a PUBREL resent after PUBCOMP was lost).
    pub(super) fn on_pubrel(&mut self, conn: ConnId, client_id: &str, id: u16) {
        if let Some(s) = self.sessions.get_mut(client_id) {
            s.inbound_qos2.remove(&id);
        }
        if !fault!(self.config, no_pubcomp) {
            self.out.send(conn, PubComp::new(id));
        }
    }

    /// PUBACK for a QoS 1 message the broker sent; an unknown identifier is ignored.
    pub(super) fn on_puback(&mut self, now: Time, conn: ConnId, client_id: &str, id: u16) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        if variation!(self.config, close_on_out_of_order_puback)
            && s.oldest_qos1().is_some_and(|oldest| oldest != id)
        {
            // 3.1.1/MQTT-4.6.0-2 binds the client; breaking it is a protocol violation.
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        if !s.on_puback(id, &mut self.out, &self.config) {
            tracing::debug!(
                client_id,
                id,
                "PUBACK for no QoS 1 message in flight; ignored"
            );
        }
    }

    /// PUBREC for a QoS 2 message the broker sent: answered with PUBREL
    /// (3.1.1/MQTT-4.3.3-1); an unknown identifier is ignored.
    pub(super) fn on_pubrec(&mut self, now: Time, conn: ConnId, client_id: &str, id: u16) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        #[cfg(feature = "faults")]
        if self.config.variations.pubrel_delayed {
            // The PUBREL goes to a scratch outbox, and out later (a legal variation).
            if s.on_pubrec(id, &mut super::outbox::Outbox::default()) {
                self.hold_pubrel(now, conn, id);
            }
            return;
        }
        #[cfg(not(feature = "faults"))]
        let _ = (now, conn);
        if !s.on_pubrec(id, &mut self.out) {
            tracing::debug!(
                client_id,
                id,
                "PUBREC for no QoS 2 message in flight; ignored"
            );
        }
    }

    /// PUBCOMP ends a QoS 2 flow; an unknown identifier is ignored.
    pub(super) fn on_pubcomp(&mut self, client_id: &str, id: u16) {
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        if !s.on_pubcomp(id, &mut self.out, &self.config) {
            tracing::debug!(client_id, id, "PUBCOMP for no PUBREL in flight; ignored");
        }
    }
}
