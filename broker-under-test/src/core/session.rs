//! Session state (section 4.1): subscriptions, QoS 1/2 messages in flight to the client and
//! queued for it, and the QoS 2 packet identifiers received from it awaiting PUBREL.
//!
//! Outgoing QoS 1/2 messages take a packet identifier when they enter the in-flight window
//! and keep it until acknowledged, across reconnections (3.1.1/MQTT-2.3.1-4). The window is
//! a queue in send order, so a reconnect resends in the original order
//! (3.1.1/MQTT-4.6.0-1); messages beyond it wait in `queue`, also in order. With 5.0 the
//! session also has an expiry, may hold a delayed will, and writes to its client within the
//! client's Receive Maximum, Maximum Packet Size and Topic Alias Maximum.

use super::link::Link;
use super::message::Message;
use super::outbox::Outbox;
use super::subscriptions::SubEntry;
use super::{ConnId, Time};
use crate::config::Config;
use bytestring::ByteString;
use mqttspec_codec::{Property, PubRel, QoS};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Session Expiry Interval meaning "never" (5.0 section 3.1.2.11.2).
pub(crate) const NEVER_EXPIRES: u32 = u32::MAX;

/// One subscription of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// The granted maximum QoS, options and identifier, as routing uses them.
    pub entry: SubEntry,
    /// Whether it is a shared subscription; the session keys it by its whole filter.
    pub shared: bool,
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
    /// CleanSession (3.1.1) or Clean Start (5.0) of the CONNECT that created or last resumed
    /// it.
    pub clean: bool,
    /// Session Expiry Interval in seconds: 0 ends the session with its connection,
    /// [`NEVER_EXPIRES`] never ends it. A 3.1.1 session has 0 (CleanSession 1) or never.
    pub expiry: u32,
    /// The connection it is attached to, once that connection got its CONNACK.
    pub conn: Option<ConnId>,
    /// How to write to that connection.
    pub link: Link,
    /// The client's Receive Maximum (5.0); 65,535 otherwise.
    pub receive_max: u16,
    /// The client's Topic Alias Maximum (5.0): aliases the broker may set towards it.
    pub alias_max: u16,
    /// Topic aliases set towards the current connection (5.0/MQTT-3.3.2-7: per connection).
    pub aliases: BTreeMap<ByteString, u16>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub inflight: VecDeque<Inflight>,
    pub queue: VecDeque<Message>,
    /// QoS 2 PUBLISH identifiers received and delivered, awaiting PUBREL: a PUBLISH that
    /// comes again with one of them is not delivered again (method B of 4.3.3).
    pub inbound_qos2: BTreeSet<u16>,
    /// A will waiting for its Will Delay Interval, and when it is due (5.0 section 3.1.3.2.2).
    pub will: Option<(super::will::StoredWill, Time)>,
    /// When the session ends if nobody reconnects (offline, finite expiry).
    pub expires_at: Option<Time>,
    /// Its timer: the earlier of the will and the expiry.
    pub deadline: Option<Time>,
    last_id: u16,
    /// When it was last detached from a connection (used by a fault only).
    #[cfg(feature = "faults")]
    pub stored_seq: u64,
    /// Fault `queue_lost_on_second_resume`: how often the session was resumed.
    #[cfg(feature = "faults")]
    pub resumes: u32,
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
    pub fn new(clean: bool, expiry: u32) -> Self {
        Self {
            clean,
            expiry,
            conn: None,
            link: Link::V311,
            receive_max: u16::MAX,
            alias_max: 0,
            aliases: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            inflight: VecDeque::new(),
            queue: VecDeque::new(),
            inbound_qos2: BTreeSet::new(),
            will: None,
            expires_at: None,
            deadline: None,
            last_id: 0,
            #[cfg(feature = "faults")]
            stored_seq: 0,
            #[cfg(feature = "faults")]
            resumes: 0,
        }
    }

    /// QoS 1/2 PUBLISH packets that may be unacknowledged at once: the configured window,
    /// and no more than the client's Receive Maximum (5.0/MQTT-3.3.4-9, 4.9.0-2).
    fn window(&self, config: &Config) -> usize {
        let receive_max = if fault!(config, receive_maximum_ignored) {
            usize::from(u16::MAX)
        } else {
            usize::from(self.receive_max.max(1))
        };
        config.inflight_window().min(receive_max)
    }

    /// Sends `msg` (already at its delivery QoS and RETAIN flag) or queues it.
    pub fn deliver(
        &mut self,
        out: &mut Outbox,
        msg: Message,
        config: &Config,
        now: Time,
    ) -> Delivered {
        if msg.qos == QoS::AtMostOnce {
            return match self.conn {
                Some(conn) => {
                    let dup = fault!(config, qos0_dup_set);
                    self.transmit(out, conn, &msg, 0, dup, config, now);
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
        if self.conn.is_some() && self.queue.is_empty() && self.inflight.len() < self.window(config)
        {
            self.send_new(out, msg, config, now);
            return Delivered::Sent;
        }
        if self.queue.len() >= config.max_queued {
            return Delivered::Dropped;
        }
        if self.conn.is_none()
            && self.queue.len() >= 2
            && fault!(config, offline_queue_drops_topic_change)
            && self.queue.back().is_some_and(|m| m.topic != msg.topic)
        {
            return Delivered::Dropped;
        }
        if fault!(config, queue_lifo) {
            self.queue.push_front(msg);
            return Delivered::Queued;
        }
        self.queue.push_back(msg);
        Delivered::Queued
    }

    /// Writes one PUBLISH of `msg` to `conn`, with a topic alias where the client allows
    /// them (5.0/MQTT-3.1.2-26, -27, 3.3.2-11: never above its Topic Alias Maximum, never
    /// 0). Returns false when it was too large for the client and not sent.
    #[allow(clippy::too_many_arguments)]
    fn transmit(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        msg: &Message,
        id: u16,
        dup: bool,
        config: &Config,
        now: Time,
    ) -> bool {
        let mut publish = msg.to_publish(id, dup, self.link.version, now);
        let alias_max = match self.alias_max {
            0 if fault!(config, topic_alias_without_client_consent) => 10,
            m => m,
        };
        if self.link.v5() && alias_max > 0 {
            if let Some(&alias) = self.aliases.get(&msg.topic) {
                publish.topic = ByteString::new();
                publish.properties.push(Property::TopicAlias(alias));
            } else if self.aliases.len() < usize::from(alias_max) {
                let alias = u16::try_from(self.aliases.len() + 1).unwrap_or(u16::MAX);
                let alias = if fault!(config, topic_alias_over_maximum) {
                    alias.saturating_add(alias_max)
                } else {
                    alias
                };
                publish.properties.push(Property::TopicAlias(alias));
                // The client learns the alias only if the packet goes out.
                let sent = out.send(conn, &self.link, publish);
                if sent {
                    self.aliases.insert(msg.topic.clone(), alias);
                }
                return sent;
            }
        }
        if fault!(config, max_packet_size_ignored) {
            let unlimited = Link {
                max_packet_size: u32::MAX,
                ..self.link
            };
            return out.send(conn, &unlimited, publish);
        }
        out.send(conn, &self.link, publish)
    }

    /// Puts `msg` in flight with a fresh identifier and sends it. A message too large for
    /// the client is dropped as if its flow had completed (5.0/MQTT-3.1.2-25).
    fn send_new(&mut self, out: &mut Outbox, msg: Message, config: &Config, now: Time) {
        let id = if fault!(config, reuse_packet_id) {
            1
        } else {
            self.allocate_id()
        };
        if let Some(conn) = self.conn {
            let dup = fault!(config, new_delivery_dup_set);
            if !self.transmit(out, conn, &msg, id, dup, config, now) {
                return;
            }
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

    /// Moves queued messages into the window as far as it allows. Messages that expired
    /// while queued are dropped (5.0/MQTT-3.3.2-5). Queued QoS 0 messages (kept only with a
    /// variation) go out at once, outside the window.
    pub fn fill_window(&mut self, out: &mut Outbox, config: &Config, now: Time) {
        while let Some(conn) = self.conn {
            let qos0 = match self.queue.front() {
                Some(m) => m.qos == QoS::AtMostOnce,
                None => break,
            };
            if !qos0 && self.inflight.len() >= self.window(config) {
                break;
            }
            let Some(msg) = self.queue.pop_front() else {
                break;
            };
            if msg.expired(now) && !fault!(config, message_expiry_ignored) {
                tracing::debug!(topic = %msg.topic, "expired in the queue");
                continue;
            }
            if qos0 {
                self.transmit(out, conn, &msg, 0, false, config, now);
                continue;
            }
            self.send_new(out, msg, config, now);
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

    /// PUBACK from the client: ends a QoS 1 flow, whatever its reason code
    /// (5.0/MQTT-4.4.0-2). An unknown identifier is ignored.
    pub fn on_puback(&mut self, id: u16, out: &mut Outbox, config: &Config, now: Time) -> bool {
        match self.position(id) {
            Some(i)
                if matches!(&self.inflight[i], Inflight::Publish { msg, .. }
                    if msg.qos == QoS::AtLeastOnce) =>
            {
                self.inflight.remove(i);
                self.fill_window(out, config, now);
                true
            }
            _ => false,
        }
    }

    /// PUBREC from the client: the QoS 2 message is delivered; answer PUBREL and wait for
    /// PUBCOMP (3.1.1/MQTT-4.3.3-1, 5.0/MQTT-4.3.3-4). A repeated PUBREC gets the PUBREL
    /// again. A PUBREC with a reason code of 0x80 or more ends the flow
    /// (5.0/MQTT-4.4.0-2). Returns `None` for an identifier not in flight.
    pub fn on_pubrec(
        &mut self,
        id: u16,
        failed: bool,
        out: &mut Outbox,
        config: &Config,
        now: Time,
    ) -> Option<()> {
        let i = self.position(id)?;
        match &self.inflight[i] {
            Inflight::Publish { msg, .. } if msg.qos == QoS::ExactlyOnce => {}
            Inflight::Release { .. } => {}
            Inflight::Publish { .. } => return None,
        }
        if failed {
            self.inflight.remove(i);
            self.fill_window(out, config, now);
            return Some(());
        }
        self.inflight[i] = Inflight::Release { id };
        if let Some(conn) = self.conn {
            out.send(conn, &self.link, PubRel::new(id));
        }
        Some(())
    }

    /// PUBCOMP from the client: ends a QoS 2 flow. An unknown identifier is ignored.
    pub fn on_pubcomp(&mut self, id: u16, out: &mut Outbox, config: &Config, now: Time) -> bool {
        match self.position(id) {
            Some(i) if matches!(self.inflight[i], Inflight::Release { .. }) => {
                self.inflight.remove(i);
                self.fill_window(out, config, now);
                true
            }
            _ => false,
        }
    }

    /// Attaches the session to `conn` and resends what was in flight, in its original
    /// order and with its original identifiers: PUBLISH with DUP 1, PUBREL as it was
    /// (3.1.1/MQTT-4.4.0-1, 3.1.1/MQTT-3.3.1-1, 5.0/MQTT-4.4.0-1); then sends what the window
    /// admits of the queue. Topic aliases start afresh (5.0/MQTT-3.3.2-7).
    pub fn resume(&mut self, conn: ConnId, out: &mut Outbox, config: &Config, now: Time) {
        self.conn = Some(conn);
        self.aliases.clear();
        #[cfg(feature = "faults")]
        {
            // Counts every attachment, the session's first included: 3 is its second
            // resumption.
            self.resumes += 1;
            if config.faults.queue_lost_on_second_resume && self.resumes >= 3 {
                self.queue.clear();
            }
        }
        #[cfg(feature = "faults")]
        if config.faults.redelivery_new_packet_id {
            self.renumber_publishes();
        }
        let flows = std::mem::take(&mut self.inflight);
        for flow in flows {
            match &flow {
                Inflight::Publish { msg, .. }
                    if fault!(config, inflight_message_expires) && msg.expired(now) =>
                {
                    continue;
                }
                Inflight::Publish { id, msg } if !fault!(config, no_redelivery_on_reconnect) => {
                    let dup = !fault!(config, redelivery_without_dup);
                    if !self.transmit(out, conn, msg, *id, dup, config, now) {
                        // Too large for the new connection's limit: as if delivered.
                        continue;
                    }
                }
                Inflight::Release { id } if !fault!(config, no_pubrel_resend_on_reconnect) => {
                    out.send(conn, &self.link, PubRel::new(*id));
                }
                _ => {}
            }
            self.inflight.push_back(flow);
        }
        self.fill_window(out, config, now);
    }

    /// The messages that came through shared subscriptions and may go to another member
    /// when this session ends: queued ones, and QoS 1 ones in flight. A QoS 2 message whose
    /// PUBLISH went out stays with this session (5.0/MQTT-4.8.2-5).
    pub fn take_shared(&mut self) -> Vec<Message> {
        let mut moved: Vec<Message> = Vec::new();
        for flow in std::mem::take(&mut self.inflight) {
            match flow {
                Inflight::Publish { msg, .. }
                    if msg.shared.is_some() && msg.qos == QoS::AtLeastOnce =>
                {
                    moved.push(msg);
                }
                other => self.inflight.push_back(other),
            }
        }
        for msg in std::mem::take(&mut self.queue) {
            if msg.shared.is_some() {
                moved.push(msg);
            } else {
                self.queue.push_back(msg);
            }
        }
        moved
    }

    /// Fault `shared_qos2_handed_to_other_member`: the QoS 2 messages of shared
    /// subscriptions whose PUBLISH went out, taken from the session.
    #[cfg(feature = "faults")]
    pub fn take_shared_qos2(&mut self) -> Vec<Message> {
        let mut moved = Vec::new();
        for flow in std::mem::take(&mut self.inflight) {
            match flow {
                Inflight::Publish { msg, .. }
                    if msg.shared.is_some() && msg.qos == QoS::ExactlyOnce =>
                {
                    moved.push(msg);
                }
                other => self.inflight.push_back(other),
            }
        }
        moved
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

    const T: Time = Time::from_secs(1);

    fn msg(topic: &str, qos: QoS) -> Message {
        Message::new(
            ByteString::from(topic),
            bytes::Bytes::from_static(b"x"),
            qos,
            false,
        )
    }

    fn sent(out: &mut Outbox) -> usize {
        std::iter::from_fn(|| out.pop())
            .filter(|a| matches!(a, Action::Send { .. }))
            .count()
    }

    #[test]
    fn identifiers_skip_those_in_flight_and_zero() {
        let mut s = Session::new(false, NEVER_EXPIRES);
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
        let mut s = Session::new(false, NEVER_EXPIRES);
        s.conn = Some(ConnId(1));
        let d: Vec<_> = (0..4)
            .map(|_| s.deliver(&mut out, msg("t", QoS::AtLeastOnce), &config, T))
            .collect();
        use Delivered::*;
        assert_eq!(d, [Sent, Sent, Queued, Dropped]);
        assert_eq!(sent(&mut out), 2);
        assert!(s.on_puback(1, &mut out, &config, T));
        assert_eq!(sent(&mut out), 1, "the queued message fills the window");
        assert!(
            !s.on_puback(1, &mut out, &config, T),
            "already acknowledged"
        );
        assert_eq!(
            s.inflight.iter().map(Inflight::id).collect::<Vec<_>>(),
            [2, 3]
        );
    }

    #[test]
    fn offline_qos0_is_discarded() {
        let config = Config::default();
        let mut s = Session::new(false, NEVER_EXPIRES);
        let mut out = Outbox::default();
        let d = s.deliver(&mut out, msg("t", QoS::AtMostOnce), &config, T);
        assert_eq!(d, Delivered::Discarded);
        assert_eq!(
            s.deliver(&mut out, msg("t", QoS::ExactlyOnce), &config, T),
            Delivered::Queued
        );
    }
}
