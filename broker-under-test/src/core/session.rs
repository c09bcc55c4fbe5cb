//! Session state (section 4.1): subscriptions, QoS 1/2 messages in flight to the client and
//! queued for it, and the QoS 2 packet identifiers received from it awaiting PUBREL.
//!
//! Outgoing QoS 1/2 messages take a packet identifier when they enter the in-flight window
//! and keep it until acknowledged, across reconnections (3.1.1/MQTT-2.3.1-4). The window is
//! a queue in send order, so a reconnect resends in the original order
//! (3.1.1/MQTT-4.6.0-1); messages beyond it wait in `queue`, also in order.

use super::message::Message;
use super::outbox::Outbox;
use super::{ConnId, Time};
use crate::config::Config;
use mqttspec_codec::{PubRel, QoS};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One subscription of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// The granted maximum QoS.
    pub qos: QoS,
    /// When it was made (used by a fault only).
    #[cfg_attr(not(feature = "faults"), allow(dead_code))]
    pub since: Time,
    /// Copies delivered per matching message: 1, or 2 with the `resubscribe_adds_duplicate`
    /// fault.
    #[cfg(feature = "faults")]
    pub copies: u8,
}

/// An outgoing QoS 1/2 flow that has started and not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inflight {
    /// PUBLISH sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Publish { id: u16, msg: Message },
    /// PUBREC received and PUBREL sent; waiting for PUBCOMP.
    Release { id: u16 },
}

impl Inflight {
    pub fn id(&self) -> u16 {
        match self {
            Self::Publish { id, .. } | Self::Release { id } => *id,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Session {
    /// CleanSession of the CONNECT that created or last resumed it.
    pub clean: bool,
    /// The connection it is attached to, once that connection got its CONNACK.
    pub conn: Option<ConnId>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub inflight: VecDeque<Inflight>,
    pub queue: VecDeque<Message>,
    /// QoS 2 PUBLISH identifiers received and delivered, awaiting PUBREL: a PUBLISH that
    /// comes again with one of them is not delivered again (method B of 4.3.3).
    pub inbound_qos2: BTreeSet<u16>,
    last_id: u16,
    /// When it was last detached from a connection (used by a fault only).
    #[cfg(feature = "faults")]
    pub stored_seq: u64,
}

/// What became of a message handed to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivered {
    Sent,
    Queued,
    /// QoS 0 for an offline client, which is not kept.
    Discarded,
    /// The queue was full.
    Dropped,
}

impl Session {
    pub fn new(clean: bool) -> Self {
        Self {
            clean,
            conn: None,
            subscriptions: BTreeMap::new(),
            inflight: VecDeque::new(),
            queue: VecDeque::new(),
            inbound_qos2: BTreeSet::new(),
            last_id: 0,
            #[cfg(feature = "faults")]
            stored_seq: 0,
        }
    }

    /// Sends `msg` (already at its delivery QoS and RETAIN flag) or queues it.
    pub fn deliver(&mut self, out: &mut Outbox, msg: Message, config: &Config) -> Delivered {
        if msg.qos == QoS::AtMostOnce {
            return match self.conn {
                Some(conn) => {
                    out.send(conn, msg.to_publish(0, fault!(config, qos0_dup_set)));
                    Delivered::Sent
                }
                // 3.1.1/MQTT-3.1.2-5: QoS 0 messages MAY be kept for an offline session.
                None if !self.clean
                    && variation!(config, queue_qos0_offline)
                    && self.queue.len() < config.max_queued =>
                {
                    self.queue.push_back(msg);
                    Delivered::Queued
                }
                None => Delivered::Discarded,
            };
        }
        // 3.1.1/MQTT-4.6.0-6: nothing may overtake what is already queued.
        if self.conn.is_some()
            && self.queue.is_empty()
            && self.inflight.len() < config.inflight_window()
        {
            self.send_new(out, msg, config);
            return Delivered::Sent;
        }
        if self.queue.len() >= config.max_queued {
            return Delivered::Dropped;
        }
        if fault!(config, queue_lifo) {
            self.queue.push_front(msg);
            return Delivered::Queued;
        }
        self.queue.push_back(msg);
        Delivered::Queued
    }

    /// Puts `msg` in flight with a fresh identifier and sends it.
    fn send_new(&mut self, out: &mut Outbox, msg: Message, config: &Config) {
        let id = if fault!(config, reuse_packet_id) {
            1
        } else {
            self.allocate_id()
        };
        if let Some(conn) = self.conn {
            out.send(
                conn,
                msg.to_publish(id, fault!(config, new_delivery_dup_set)),
            );
        }
        self.inflight.push_back(Inflight::Publish { id, msg });
    }

    /// An identifier no flow in flight uses (3.1.1/MQTT-2.3.1-4). The window is at most
    /// 65,535 long, so one is always free.
    fn allocate_id(&mut self) -> u16 {
        loop {
            self.last_id = self.last_id.wrapping_add(1);
            let id = self.last_id;
            if id != 0 && !self.inflight.iter().any(|f| f.id() == id) {
                return id;
            }
        }
    }

    /// Moves queued messages into the window as far as it allows.
    /// Queued QoS 0 messages (kept only with a variation) go out at once, outside the window.
    pub fn fill_window(&mut self, out: &mut Outbox, config: &Config) {
        while let Some(conn) = self.conn {
            match self.queue.front() {
                Some(m) if m.qos == QoS::AtMostOnce => {
                    if let Some(msg) = self.queue.pop_front() {
                        out.send(conn, msg.to_publish(0, false));
                    }
                }
                Some(_) if self.inflight.len() < config.inflight_window() => {
                    if let Some(msg) = self.queue.pop_front() {
                        self.send_new(out, msg, config);
                    }
                }
                _ => break,
            }
        }
    }

    fn position(&self, id: u16) -> Option<usize> {
        self.inflight.iter().position(|f| f.id() == id)
    }

    /// The identifier of the oldest QoS 1 message in flight: the one the client must
    /// acknowledge first (3.1.1/MQTT-4.6.0-2).
    pub fn oldest_qos1(&self) -> Option<u16> {
        self.inflight.iter().find_map(|f| match f {
            Inflight::Publish { id, msg } if msg.qos == QoS::AtLeastOnce => Some(*id),
            _ => None,
        })
    }

    /// PUBACK from the client: ends a QoS 1 flow. An unknown identifier is ignored.
    pub fn on_puback(&mut self, id: u16, out: &mut Outbox, config: &Config) -> bool {
        match self.position(id) {
            Some(i)
                if matches!(&self.inflight[i], Inflight::Publish { msg, .. }
                    if msg.qos == QoS::AtLeastOnce) =>
            {
                self.inflight.remove(i);
                self.fill_window(out, config);
                true
            }
            _ => false,
        }
    }

    /// PUBREC from the client: the QoS 2 message is delivered; answer PUBREL and wait for
    /// PUBCOMP (3.1.1/MQTT-4.3.3-1). A repeated PUBREC gets the PUBREL again.
    pub fn on_pubrec(&mut self, id: u16, out: &mut Outbox) -> bool {
        let Some(i) = self.position(id) else {
            return false;
        };
        match &self.inflight[i] {
            Inflight::Publish { msg, .. } if msg.qos == QoS::ExactlyOnce => {}
            Inflight::Release { .. } => {}
            Inflight::Publish { .. } => return false,
        }
        self.inflight[i] = Inflight::Release { id };
        if let Some(conn) = self.conn {
            out.send(conn, PubRel::new(id));
        }
        true
    }

    /// PUBCOMP from the client: ends a QoS 2 flow. An unknown identifier is ignored.
    pub fn on_pubcomp(&mut self, id: u16, out: &mut Outbox, config: &Config) -> bool {
        match self.position(id) {
            Some(i) if matches!(self.inflight[i], Inflight::Release { .. }) => {
                self.inflight.remove(i);
                self.fill_window(out, config);
                true
            }
            _ => false,
        }
    }

    /// Attaches the session to `conn` and resends what was in flight, in its original
    /// order and with its original identifiers: PUBLISH with DUP 1, PUBREL as it was
    /// (3.1.1/MQTT-4.4.0-1, 3.1.1/MQTT-3.3.1-1); then sends what the window admits of the
    /// queue.
    pub fn resume(&mut self, conn: ConnId, out: &mut Outbox, config: &Config) {
        self.conn = Some(conn);
        #[cfg(feature = "faults")]
        if config.faults.redelivery_new_packet_id {
            self.renumber_publishes();
        }
        for flow in &self.inflight {
            match flow {
                Inflight::Publish { id, msg } if !fault!(config, no_redelivery_on_reconnect) => {
                    let dup = !fault!(config, redelivery_without_dup);
                    out.send(conn, msg.to_publish(*id, dup));
                }
                Inflight::Release { id } if !fault!(config, no_pubrel_resend_on_reconnect) => {
                    out.send(conn, PubRel::new(*id));
                }
                _ => {}
            }
        }
        self.fill_window(out, config);
    }

    /// Fault `redelivery_new_packet_id`: gives every unacknowledged PUBLISH a new identifier.
    #[cfg(feature = "faults")]
    fn renumber_publishes(&mut self) {
        for i in 0..self.inflight.len() {
            if matches!(self.inflight[i], Inflight::Publish { .. }) {
                let fresh = self.allocate_id();
                if let Inflight::Publish { id, .. } = &mut self.inflight[i] {
                    *id = fresh;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Action;
    use bytestring::ByteString;

    fn msg(topic: &str, qos: QoS) -> Message {
        Message {
            topic: ByteString::from(topic),
            payload: bytes::Bytes::from_static(b"x"),
            qos,
            retain: false,
        }
    }

    fn sent(out: &mut Outbox) -> usize {
        std::iter::from_fn(|| out.pop())
            .filter(|a| matches!(a, Action::Send { .. }))
            .count()
    }

    #[test]
    fn identifiers_skip_those_in_flight_and_zero() {
        let mut s = Session::new(false);
        s.last_id = u16::MAX - 1;
        s.inflight.push_back(Inflight::Release { id: u16::MAX });
        s.inflight.push_back(Inflight::Release { id: 1 });
        assert_eq!(s.allocate_id(), 2);
    }

    #[test]
    fn window_then_queue_then_drop() {
        let config = Config {
            max_inflight: 2,
            max_queued: 1,
            ..Config::default()
        };
        let mut out = Outbox::default();
        let mut s = Session::new(false);
        s.conn = Some(ConnId(1));
        let d: Vec<_> = (0..4)
            .map(|_| s.deliver(&mut out, msg("t", QoS::AtLeastOnce), &config))
            .collect();
        use Delivered::*;
        assert_eq!(d, [Sent, Sent, Queued, Dropped]);
        assert_eq!(sent(&mut out), 2);
        assert!(s.on_puback(1, &mut out, &config));
        assert_eq!(sent(&mut out), 1, "the queued message fills the window");
        assert!(!s.on_puback(1, &mut out, &config), "already acknowledged");
        assert_eq!(
            s.inflight.iter().map(Inflight::id).collect::<Vec<_>>(),
            [2, 3]
        );
    }

    #[test]
    fn offline_qos0_is_discarded() {
        let config = Config::default();
        let mut s = Session::new(false);
        let mut out = Outbox::default();
        let d = s.deliver(&mut out, msg("t", QoS::AtMostOnce), &config);
        assert_eq!(d, Delivered::Discarded);
        assert_eq!(
            s.deliver(&mut out, msg("t", QoS::ExactlyOnce), &config),
            Delivered::Queued
        );
    }
}
