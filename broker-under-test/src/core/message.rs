//! An application message as the broker stores and forwards it.

use super::Time;
use bytes::Bytes;
use bytestring::ByteString;
use mqttspec_codec::{Properties, Property, ProtocolVersion, Publish, QoS};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub topic: ByteString,
    pub payload: Bytes,
    /// The QoS it was published with, or, for a delivery, the QoS it is delivered with.
    pub qos: QoS,
    /// As published, or, for a delivery, the RETAIN flag to send.
    pub retain: bool,
    /// The 5.0 properties forwarded with it, in their order: Payload Format Indicator,
    /// Content Type, Response Topic, Correlation Data, User Properties. Never Topic Alias,
    /// Subscription Identifier nor Message Expiry Interval (kept as `expires_at`). Shared by
    /// every copy; `None` when there are none.
    pub props: Option<Arc<Properties>>,
    /// When its Message Expiry Interval runs out, in core time.
    pub expires_at: Option<Time>,
    /// For a delivery: the Subscription Identifiers of the subscriptions it matched.
    pub sub_ids: Vec<u32>,
    /// For a delivery through a shared subscription: its filter (`$share/group/filter`).
    pub shared: Option<Arc<str>>,
}

impl Message {
    /// A message without 5.0 properties.
    pub fn new(topic: ByteString, payload: Bytes, qos: QoS, retain: bool) -> Self {
        Self {
            topic,
            payload,
            qos,
            retain,
            props: None,
            expires_at: None,
            sub_ids: Vec::new(),
            shared: None,
        }
    }

    /// The message of a client's PUBLISH (its topic already resolved from an alias), received
    /// at `now`. Topic and payload are copied out of the input buffer they were decoded
    /// from, so that a message kept for long (retained, queued) does not keep that whole
    /// buffer alive.
    pub fn from_publish(p: &Publish, topic: &str, now: Time) -> Self {
        let mut msg = Self::new(
            ByteString::from(topic),
            Bytes::copy_from_slice(&p.payload),
            p.qos,
            p.retain,
        );
        msg.set_properties(&p.properties, now);
        msg
    }

    /// Keeps what is forwarded of a PUBLISH's or will's properties (5.0/MQTT-3.3.2-4, -15,
    /// -16, -17, -18, -20: unchanged and in order) and the expiry.
    pub fn set_properties(&mut self, props: &Properties, now: Time) {
        if props.is_empty() {
            return;
        }
        let mut kept = Properties::new();
        for p in props.iter() {
            match p {
                Property::MessageExpiryInterval(secs) => {
                    self.expires_at =
                        Some(now.saturating_add(Duration::from_secs(u64::from(*secs))));
                }
                Property::TopicAlias(_)
                | Property::SubscriptionIdentifier(_)
                | Property::WillDelayInterval(_) => {}
                other => {
                    kept.push(owned(other));
                }
            }
        }
        if !kept.is_empty() {
            self.props = Some(Arc::new(kept));
        }
    }

    /// Whether it expired at `now` (5.0/MQTT-3.3.2-5).
    pub fn expired(&self, now: Time) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// The copy sent to one subscriber: at most `qos`, with this RETAIN flag.
    pub fn delivery(&self, qos: QoS, retain: bool) -> Self {
        Self {
            topic: self.topic.clone(),
            payload: self.payload.clone(),
            qos: self.qos.min(qos),
            retain,
            props: self.props.clone(),
            expires_at: self.expires_at,
            sub_ids: Vec::new(),
            shared: None,
        }
    }

    /// The PUBLISH packet carrying this message to a client of `version` at `now`: a 3.1.1
    /// client gets no properties; a 5.0 client the remaining expiry (5.0/MQTT-3.3.2-6), the
    /// forwarded properties and the Subscription Identifiers (5.0/MQTT-3.3.4-3).
    pub fn to_publish(
        &self,
        packet_id: u16,
        dup: bool,
        version: ProtocolVersion,
        now: Time,
    ) -> Publish {
        let mut publish = Publish {
            dup,
            qos: self.qos,
            retain: self.retain,
            topic: self.topic.clone(),
            packet_id,
            payload: self.payload.clone(),
            ..Publish::default()
        };
        if version.is_v5() {
            publish.properties = self.properties_at(now);
        }
        publish
    }

    fn properties_at(&self, now: Time) -> Properties {
        let forwarded = self.props.as_deref().map_or(0, |p| p.0.len());
        if forwarded == 0 && self.expires_at.is_none() && self.sub_ids.is_empty() {
            return Properties::new();
        }
        let mut props = Properties(Vec::with_capacity(forwarded + 1 + self.sub_ids.len()));
        if let Some(at) = self.expires_at {
            // Rounded up, so a message is never announced as expired before it is.
            let left = at.saturating_sub(now);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            props.push(Property::MessageExpiryInterval(
                u32::try_from(secs).unwrap_or(u32::MAX),
            ));
        }
        if let Some(p) = &self.props {
            props.0.extend(p.0.iter().cloned());
        }
        for id in &self.sub_ids {
            props.push(Property::SubscriptionIdentifier(*id));
        }
        props
    }
}

/// A property with its strings and bytes copied out of the input buffer.
fn owned(p: &Property) -> Property {
    use Property as P;
    let s = |s: &ByteString| ByteString::from(&**s);
    let b = |b: &Bytes| Bytes::copy_from_slice(b);
    match p {
        P::ContentType(v) => P::ContentType(s(v)),
        P::ResponseTopic(v) => P::ResponseTopic(s(v)),
        P::CorrelationData(v) => P::CorrelationData(b(v)),
        P::UserProperty(k, v) => P::UserProperty(s(k), s(v)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_counted_down_and_rounded_up() {
        let mut p = Publish::new("t", QoS::AtLeastOnce, "x");
        p.properties = Properties::new()
            .with(Property::MessageExpiryInterval(10))
            .with(Property::TopicAlias(3))
            .with(Property::UserProperty("k".into(), "v".into()));
        let t0 = Duration::from_secs(100);
        let m = Message::from_publish(&p, "t", t0);
        let out = m.to_publish(
            1,
            false,
            ProtocolVersion::V5,
            t0 + Duration::from_millis(3500),
        );
        assert_eq!(
            out.properties.0,
            [
                Property::MessageExpiryInterval(7),
                Property::UserProperty("k".into(), "v".into())
            ]
        );
        assert!(!m.expired(t0 + Duration::from_millis(9999)));
        assert!(m.expired(t0 + Duration::from_secs(10)));
        let old = m.to_publish(1, false, ProtocolVersion::V311, t0);
        assert!(old.properties.is_empty());
    }
}
