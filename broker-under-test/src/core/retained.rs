//! Retained messages: the last retained message of each topic. They belong to no session
//! and outlive every session (3.1.1/MQTT-3.1.2-7).

use super::message::Message;
use mqttspec_codec::topic::matches;
use std::collections::BTreeMap;
use std::ops::Bound;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Retained {
    /// The message as published (5.0: with its properties and expiry), RETAIN 1.
    pub msg: Message,
    /// The client id that published it (used by a fault only).
    #[cfg(feature = "faults")]
    pub publisher: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct RetainedStore {
    by_topic: BTreeMap<String, Retained>,
}

impl RetainedStore {
    /// Applies a PUBLISH with RETAIN 1: it replaces the topic's retained message, whatever
    /// its QoS (3.1.1/MQTT-3.3.1-5, 3.1.1/MQTT-3.3.1-7), and an empty payload clears it
    /// without being stored itself (3.1.1/MQTT-3.3.1-10, 3.1.1/MQTT-3.3.1-11).
    pub fn update(&mut self, msg: &Message, publisher: Option<&str>) {
        if msg.payload.is_empty() {
            self.by_topic.remove(&*msg.topic);
            return;
        }
        self.store_even_empty(msg, publisher);
    }

    /// Removes the topic's retained message (a fault's behaviour: a correct broker only
    /// clears it with an empty retained PUBLISH).
    pub fn clear(&mut self, topic: &str) {
        self.by_topic.remove(topic);
    }

    /// Stores `msg` as the topic's retained message, even when its payload is empty (which
    /// only a fault asks for: [`RetainedStore::update`] clears on an empty payload).
    pub fn store_even_empty(&mut self, msg: &Message, publisher: Option<&str>) {
        let _ = publisher;
        self.by_topic.insert(
            msg.topic.to_string(),
            Retained {
                msg: msg.delivery(msg.qos, true),
                #[cfg(feature = "faults")]
                publisher: publisher.map(str::to_owned),
            },
        );
    }

    /// The retained messages whose topic `filter` matches, in topic order. Only the topics
    /// that share the filter's literal prefix are visited.
    pub fn matching<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = &'a Retained> + 'a {
        let prefix = literal_prefix(filter);
        self.by_topic
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(topic, _)| topic.starts_with(prefix))
            .filter(move |(topic, _)| matches(filter, topic))
            .map(|(_, r)| r)
    }

    pub fn len(&self) -> usize {
        self.by_topic.len()
    }

    #[cfg(feature = "faults")]
    pub fn all(&self) -> impl Iterator<Item = &Retained> {
        self.by_topic.values()
    }

    /// Fault `retained_tied_to_session`: forgets what `client` published.
    #[cfg(feature = "faults")]
    pub fn remove_published_by(&mut self, client: &str) {
        self.by_topic
            .retain(|_, r| r.publisher.as_deref() != Some(client));
    }
}

/// A prefix every topic matched by `filter` starts with: the filter up to its first wildcard,
/// without the level separator before it ("a/b/#" also matches "a/b").
fn literal_prefix(filter: &str) -> &str {
    match filter.find(['+', '#']) {
        None => filter,
        Some(i) => {
            let head = &filter[..i];
            head.strip_suffix('/').unwrap_or(head)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use bytestring::ByteString;
    use mqttspec_codec::QoS;

    fn msg(topic: &str, payload: &'static str, qos: QoS) -> Message {
        Message::new(
            ByteString::from(topic),
            Bytes::from_static(payload.as_bytes()),
            qos,
            true,
        )
    }

    fn topics(store: &RetainedStore, filter: &str) -> Vec<String> {
        store
            .matching(filter)
            .map(|r| r.msg.topic.to_string())
            .collect()
    }

    #[test]
    fn set_replace_clear() {
        let mut s = RetainedStore::default();
        s.update(&msg("a/b", "one", QoS::AtLeastOnce), None);
        s.update(&msg("a/b", "two", QoS::AtMostOnce), None);
        let r: Vec<_> = s.matching("a/b").collect();
        assert_eq!(r.len(), 1);
        assert_eq!(
            (&r[0].msg.payload[..], r[0].msg.qos),
            (&b"two"[..], QoS::AtMostOnce)
        );
        s.update(&msg("a/b", "", QoS::AtMostOnce), None);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn prefix_scan_finds_every_match() {
        let mut s = RetainedStore::default();
        for t in ["a", "a/b", "a/b/c", "ab", "b/a", "$SYS/x", "/a"] {
            s.update(&msg(t, "x", QoS::AtMostOnce), None);
        }
        assert_eq!(topics(&s, "a/#"), ["a", "a/b", "a/b/c"]);
        assert_eq!(topics(&s, "a/+"), ["a/b"]);
        assert_eq!(topics(&s, "+/a"), ["/a", "b/a"]);
        assert_eq!(topics(&s, "#").len(), 6, "not $SYS/x");
        assert_eq!(topics(&s, "$SYS/#"), ["$SYS/x"]);
        assert_eq!(literal_prefix("a/b/#"), "a/b");
        assert_eq!(literal_prefix("#"), "");
    }
}
