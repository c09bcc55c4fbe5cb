//! The subscription index: a tree of topic levels, so a PUBLISH visits only the branches its
//! topic can match instead of every subscription of every session. The sessions keep their
//! own list of filters (the truth for session state); this tree mirrors it for routing.

use mqttspec_codec::QoS;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What routing needs of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubEntry {
    pub qos: QoS,
    /// 5.0 No Local: not delivered to the publishing client id.
    pub no_local: bool,
    /// 5.0 Retain As Published: the RETAIN flag forwarded as published.
    pub retain_as_published: bool,
    /// 5.0 Subscription Identifier.
    pub id: Option<u32>,
}

impl SubEntry {
    #[cfg(test)]
    pub fn qos(qos: QoS) -> Self {
        Self {
            qos,
            no_local: false,
            retain_as_published: false,
            id: None,
        }
    }
}

/// The members of one shared subscription (5.0 section 4.8.2), keyed by client id.
#[derive(Debug)]
pub(crate) struct SharedGroup {
    /// The whole filter, `$share/group/filter`: the subscription's name.
    pub key: Arc<str>,
    pub members: BTreeMap<String, SubEntry>,
}

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<String, Node>,
    /// Client id → the non-shared subscription of the filter that ends at this node.
    subscribers: BTreeMap<String, SubEntry>,
    /// Share name → the shared subscription `$share/<name>/<filter of this node>`.
    shared: BTreeMap<String, SharedGroup>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.subscribers.is_empty() && self.shared.is_empty()
    }
}

/// One client's share of a message: the highest QoS among its matching subscriptions
/// (3.1.1/MQTT-3.3.5-1, 5.0/MQTT-3.3.4-2), whether any asked for Retain As Published, and
/// every Subscription Identifier (5.0/MQTT-3.3.4-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Match {
    pub qos: QoS,
    pub retain_as_published: bool,
    pub ids: Vec<u32>,
}

/// What a topic matches.
#[derive(Debug, Default)]
pub(crate) struct Matches<'a> {
    pub clients: BTreeMap<&'a str, Match>,
    pub shared: Vec<&'a SharedGroup>,
}

#[derive(Debug, Default)]
pub(crate) struct SubscriptionTree {
    root: Node,
}

impl SubscriptionTree {
    fn node_mut(&mut self, filter: &str) -> &mut Node {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.children.entry(level.to_owned()).or_default();
        }
        node
    }

    /// Adds or replaces `client`'s subscription to `filter`.
    pub fn insert(&mut self, filter: &str, client: &str, entry: SubEntry) {
        self.node_mut(filter)
            .subscribers
            .insert(client.to_owned(), entry);
    }

    /// Adds `client` to the shared subscription `$share/<group>/<filter>`, or updates it.
    pub fn insert_shared(&mut self, group: &str, filter: &str, client: &str, entry: SubEntry) {
        let node = self.node_mut(filter);
        node.shared
            .entry(group.to_owned())
            .or_insert_with(|| SharedGroup {
                key: Arc::from(format!("$share/{group}/{filter}")),
                members: BTreeMap::new(),
            })
            .members
            .insert(client.to_owned(), entry);
    }

    /// Removes `client`'s subscription to exactly `filter`, pruning emptied branches.
    pub fn remove(&mut self, filter: &str, client: &str) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        remove_from(&mut self.root, &levels, &|node: &mut Node| {
            node.subscribers.remove(client).is_some()
        })
    }

    /// Removes `client` from `$share/<group>/<filter>`.
    pub fn remove_shared(&mut self, group: &str, filter: &str, client: &str) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        remove_from(&mut self.root, &levels, &|node: &mut Node| {
            let Some(g) = node.shared.get_mut(group) else {
                return false;
            };
            let removed = g.members.remove(client).is_some();
            if g.members.is_empty() {
                node.shared.remove(group);
            }
            removed
        })
    }

    /// The members of `$share/<group>/<filter>`.
    pub fn shared_group(&self, group: &str, filter: &str) -> Option<&SharedGroup> {
        let mut node = &self.root;
        for level in filter.split('/') {
            node = node.children.get(level)?;
        }
        node.shared.get(group)
    }

    /// Every (client id, filter) in the index, a shared subscription as its whole
    /// `$share/group/filter` (for consistency checks).
    pub fn entries(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack: Vec<(&Node, String)> = self
            .root
            .children
            .iter()
            .map(|(level, n)| (n, level.clone()))
            .collect();
        while let Some((node, filter)) = stack.pop() {
            for client in node.subscribers.keys() {
                out.push((client.clone(), filter.clone()));
            }
            for group in node.shared.values() {
                for client in group.members.keys() {
                    out.push((client.clone(), group.key.to_string()));
                }
            }
            for (level, child) in &node.children {
                stack.push((child, format!("{filter}/{level}")));
            }
        }
        out.sort();
        out
    }

    /// Every client with a subscription matching `topic`, each once, and every shared
    /// subscription matching it. A subscription with No Local is skipped for `publisher`
    /// (5.0/MQTT-3.8.3-3).
    pub fn matches<'a>(&'a self, topic: &str, publisher: Option<&str>) -> Matches<'a> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut found = Matches::default();
        // 3.1.1/MQTT-4.7.2-1, 5.0/MQTT-4.7.2-1: a leading wildcard does not match a topic
        // starting with '$'.
        let dollar = topic.starts_with('$');
        collect(&self.root, &levels, dollar, publisher, &mut found);
        found
    }
}

fn remove_from(node: &mut Node, levels: &[&str], at_end: &dyn Fn(&mut Node) -> bool) -> bool {
    let Some((first, rest)) = levels.split_first() else {
        return at_end(node);
    };
    let Some(child) = node.children.get_mut(*first) else {
        return false;
    };
    let removed = remove_from(child, rest, at_end);
    if child.is_empty() {
        node.children.remove(*first);
    }
    removed
}

fn add<'a>(found: &mut Matches<'a>, node: &'a Node, publisher: Option<&str>) {
    for (client, e) in &node.subscribers {
        if e.no_local && publisher == Some(client.as_str()) {
            continue;
        }
        let m = found.clients.entry(client.as_str()).or_insert(Match {
            qos: e.qos,
            retain_as_published: false,
            ids: Vec::new(),
        });
        m.qos = m.qos.max(e.qos);
        m.retain_as_published |= e.retain_as_published;
        if let Some(id) = e.id {
            m.ids.push(id);
        }
    }
    found.shared.extend(node.shared.values());
}

/// `skip_wildcards` is set only at the root of a `$` topic.
fn collect<'a>(
    node: &'a Node,
    levels: &[&str],
    skip_wildcards: bool,
    publisher: Option<&str>,
    found: &mut Matches<'a>,
) {
    // '#' matches the rest, including nothing more: "a/#" matches "a" (section 4.7.1.2).
    if !skip_wildcards && let Some(hash) = node.children.get("#") {
        add(found, hash, publisher);
    }
    let Some((level, rest)) = levels.split_first() else {
        add(found, node, publisher);
        return;
    };
    if !skip_wildcards && let Some(plus) = node.children.get("+") {
        collect(plus, rest, false, publisher, found);
    }
    if let Some(child) = node.children.get(*level) {
        collect(child, rest, false, publisher, found);
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
            tree.insert(filter, &format!("c{i}"), SubEntry::qos(QoS::AtLeastOnce));
            for topic in TOPICS {
                let hit = tree
                    .matches(topic, None)
                    .clients
                    .contains_key(format!("c{i}").as_str());
                assert_eq!(hit, matches(filter, topic), "{filter} vs {topic}");
            }
        }
    }

    #[test]
    fn overlapping_subscriptions_give_one_entry_at_the_highest_qos() {
        let mut tree = SubscriptionTree::default();
        tree.insert("a/#", "c", SubEntry::qos(QoS::AtMostOnce));
        tree.insert("a/+", "c", SubEntry::qos(QoS::ExactlyOnce));
        tree.insert("a/b", "c", SubEntry::qos(QoS::AtLeastOnce));
        tree.insert("a/b", "d", SubEntry::qos(QoS::AtMostOnce));
        let m = tree.matches("a/b", None).clients;
        assert_eq!(m.len(), 2);
        assert_eq!(m["c"].qos, QoS::ExactlyOnce);
        assert_eq!(m["d"].qos, QoS::AtMostOnce);
    }

    #[test]
    fn remove_is_exact_and_prunes() {
        let mut tree = SubscriptionTree::default();
        tree.insert("a/+", "c", SubEntry::qos(QoS::AtMostOnce));
        assert!(!tree.remove("a/b", "c"));
        assert!(!tree.remove("a/+", "d"));
        assert!(tree.remove("a/+", "c"));
        assert!(tree.root.is_empty());
        assert!(tree.matches("a/b", None).clients.is_empty());
    }

    #[test]
    fn no_local_ids_and_shared_groups() {
        let mut tree = SubscriptionTree::default();
        let with = |id, no_local| SubEntry {
            id: Some(id),
            no_local,
            ..SubEntry::qos(QoS::AtLeastOnce)
        };
        tree.insert("a/#", "c", with(1, true));
        tree.insert("a/b", "c", with(2, false));
        assert_eq!(tree.matches("a/b", Some("c")).clients["c"].ids, [2]);
        assert_eq!(tree.matches("a/b", Some("x")).clients["c"].ids, [1, 2]);
        assert!(tree.matches("a/c", Some("c")).clients.is_empty());
        tree.insert_shared("g", "a/+", "m1", SubEntry::qos(QoS::AtMostOnce));
        tree.insert_shared("g", "a/+", "m2", SubEntry::qos(QoS::AtMostOnce));
        assert_eq!(
            tree.entries(),
            [
                ("c".to_owned(), "a/#".to_owned()),
                ("c".to_owned(), "a/b".to_owned()),
                ("m1".to_owned(), "$share/g/a/+".to_owned()),
                ("m2".to_owned(), "$share/g/a/+".to_owned()),
            ]
        );
        let m = tree.matches("a/b", None);
        assert_eq!(m.shared.len(), 1);
        assert_eq!(&*m.shared[0].key, "$share/g/a/+");
        assert_eq!(m.shared[0].members.len(), 2);
        assert!(tree.remove_shared("g", "a/+", "m1"));
        assert!(tree.remove_shared("g", "a/+", "m2"));
        assert!(tree.shared_group("g", "a/+").is_none());
    }
}
