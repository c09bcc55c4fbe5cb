//! The subscription index: a tree of topic levels, so a PUBLISH visits only the branches its
//! topic can match instead of every subscription of every session. The sessions keep their
//! own list of filters (the truth for session state); this tree mirrors it for routing.

use mqttspec_codec::QoS;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<String, Node>,
    /// Client id → granted QoS of the filter that ends at this node.
    subscribers: BTreeMap<String, QoS>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.subscribers.is_empty()
    }
}

#[derive(Debug, Default)]
pub(crate) struct SubscriptionTree {
    root: Node,
}

impl SubscriptionTree {
    /// Adds or replaces `client`'s subscription to `filter`.
    pub fn insert(&mut self, filter: &str, client: &str, qos: QoS) {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.children.entry(level.to_owned()).or_default();
        }
        node.subscribers.insert(client.to_owned(), qos);
    }

    /// Removes `client`'s subscription to exactly `filter`, pruning emptied branches.
    pub fn remove(&mut self, filter: &str, client: &str) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        remove_from(&mut self.root, &levels, client)
    }

    /// Every client with a subscription matching `topic`, each once, with the highest QoS
    /// granted among its matching subscriptions (3.1.1/MQTT-3.3.5-1).
    pub fn matches(&self, topic: &str) -> BTreeMap<&str, QoS> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut found = BTreeMap::new();
        // 3.1.1/MQTT-4.7.2-1: a leading wildcard does not match a topic starting with '$'.
        let dollar = topic.starts_with('$');
        collect(&self.root, &levels, dollar, &mut found);
        found
    }
}

fn remove_from(node: &mut Node, levels: &[&str], client: &str) -> bool {
    let Some((first, rest)) = levels.split_first() else {
        return node.subscribers.remove(client).is_some();
    };
    let Some(child) = node.children.get_mut(*first) else {
        return false;
    };
    let removed = remove_from(child, rest, client);
    if child.is_empty() {
        node.children.remove(*first);
    }
    removed
}

fn add<'a>(found: &mut BTreeMap<&'a str, QoS>, node: &'a Node) {
    for (client, &qos) in &node.subscribers {
        let best = found.entry(client.as_str()).or_insert(qos);
        *best = (*best).max(qos);
    }
}

/// `skip_wildcards` is set only at the root of a `$` topic.
fn collect<'a>(
    node: &'a Node,
    levels: &[&str],
    skip_wildcards: bool,
    found: &mut BTreeMap<&'a str, QoS>,
) {
    // '#' matches the rest, including nothing more: "a/#" matches "a" (section 4.7.1.2).
    if !skip_wildcards && let Some(hash) = node.children.get("#") {
        add(found, hash);
    }
    let Some((level, rest)) = levels.split_first() else {
        add(found, node);
        return;
    };
    if !skip_wildcards && let Some(plus) = node.children.get("+") {
        collect(plus, rest, false, found);
    }
    if let Some(child) = node.children.get(*level) {
        collect(child, rest, false, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqttspec_codec::topic::matches;

    const FILTERS: &[&str] = &[
        "#",
        "+",
        "+/+",
        "/+",
        "a",
        "a/#",
        "a/+",
        "a/+/c",
        "a/b",
        "a/b/#",
        "+/b/c",
        "$SYS/#",
        "$SYS/+",
        "+/monitor",
        "sport/tennis/#",
        "sport/+",
        "a//c",
        "a/+/+/d",
    ];
    const TOPICS: &[&str] = &[
        "a",
        "a/b",
        "a/b/c",
        "a//c",
        "/a",
        "/",
        "a/",
        "$SYS/x",
        "$SYS/monitor",
        "x/monitor",
        "sport",
        "sport/",
        "sport/tennis",
        "sport/tennis/p1",
        "a/b/c/d",
    ];

    /// The tree agrees with the codec's reference matcher on every pair.
    #[test]
    fn agrees_with_the_reference_matcher() {
        for (i, filter) in FILTERS.iter().enumerate() {
            let mut tree = SubscriptionTree::default();
            tree.insert(filter, &format!("c{i}"), QoS::AtLeastOnce);
            for topic in TOPICS {
                let hit = tree.matches(topic).contains_key(format!("c{i}").as_str());
                assert_eq!(hit, matches(filter, topic), "{filter} vs {topic}");
            }
        }
    }

    #[test]
    fn overlapping_subscriptions_give_one_entry_at_the_highest_qos() {
        let mut tree = SubscriptionTree::default();
        tree.insert("a/#", "c", QoS::AtMostOnce);
        tree.insert("a/+", "c", QoS::ExactlyOnce);
        tree.insert("a/b", "c", QoS::AtLeastOnce);
        tree.insert("a/b", "d", QoS::AtMostOnce);
        let m = tree.matches("a/b");
        assert_eq!(m.len(), 2);
        assert_eq!(m["c"], QoS::ExactlyOnce);
        assert_eq!(m["d"], QoS::AtMostOnce);
    }

    #[test]
    fn remove_is_exact_and_prunes() {
        let mut tree = SubscriptionTree::default();
        tree.insert("a/+", "c", QoS::AtMostOnce);
        assert!(!tree.remove("a/b", "c"));
        assert!(!tree.remove("a/+", "d"));
        assert!(tree.remove("a/+", "c"));
        assert!(tree.root.is_empty());
        assert!(tree.matches("a/b").is_empty());
    }
}
