//! Faults of topic matching and session lookup. With any of them on, routing scans every
//! subscription of every session with [`matches`] instead of using the index.

use super::Faults;
use crate::core::message::Message;
use crate::core::routing::{count_drop, deliver};
use crate::core::{Broker, Time};
use mqttspec_codec::QoS;
use std::time::Duration;

/// Topic matching as broken by the active faults (the correct rules where none applies).
pub(crate) fn matches(f: &Faults, filter: &str, topic: &str) -> bool {
    let (filter, topic) = if f.unicode_normalised_matching {
        (normalise(filter), normalise(topic))
    } else {
        (filter.to_owned(), topic.to_owned())
    };
    if f.wildcards_unsupported_but_granted {
        return filter == topic;
    }
    let leaks = f.wildcard_matches_dollar_topics
        || (f.hash_matches_dollar_topics && filter.starts_with('#'));
    if topic.starts_with('$') && filter.starts_with(['+', '#']) && !leaks {
        return false;
    }
    if f.hash_string_prefix
        && let Some(prefix) = filter.strip_suffix("/#")
        && topic.starts_with(prefix)
    {
        return true;
    }
    let split = |s: &str| -> Vec<String> {
        s.split('/')
            .filter(|l| !(f.empty_levels_dropped && l.is_empty()))
            .map(|l| {
                let l = if f.topic_whitespace_trimmed {
                    l.trim_end_matches(' ')
                } else {
                    l
                };
                if f.case_insensitive_matching {
                    l.to_ascii_lowercase()
                } else {
                    l.to_owned()
                }
            })
            .collect()
    };
    levels_match(&split(&filter), &split(&topic), f)
}

fn levels_match(filter: &[String], topic: &[String], f: &Faults) -> bool {
    let Some((first, rest)) = filter.split_first() else {
        return topic.is_empty();
    };
    match first.as_str() {
        "#" if rest.is_empty() => !(f.hash_skips_parent && topic.is_empty()),
        "+" if f.plus_matches_multiple_levels => {
            (1..=topic.len()).any(|n| levels_match(rest, &topic[n..], f))
        }
        "+" => !topic.is_empty() && levels_match(rest, &topic[1..], f),
        level => topic.first().is_some_and(|t| t == level) && levels_match(rest, &topic[1..], f),
    }
}

/// A small part of NFKC, enough to tell a normalising broker: fullwidth ASCII folded to
/// ASCII, and a vowel followed by U+0301 composed into its accented letter.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match u32::from(c) {
            n @ 0xFF01..=0xFF5E => char::from_u32(n - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c == '\u{301}'
            && let Some(last) = out.pop()
        {
            let composed = match last {
                'a' => 'á',
                'e' => 'é',
                'i' => 'í',
                'o' => 'ó',
                'u' => 'ú',
                'A' => 'Á',
                'E' => 'É',
                'I' => 'Í',
                'O' => 'Ó',
                'U' => 'Ú',
                other => {
                    out.push(other);
                    c
                }
            };
            out.push(composed);
            continue;
        }
        out.push(c);
    }
    out
}

impl Broker {
    /// Routing with the matching and subscription faults: every subscription is examined.
    pub(crate) fn route_with_faults(
        &mut self,
        now: Time,
        msg: &Message,
        publisher: Option<&str>,
    ) -> usize {
        let f = &self.config.faults;
        let publisher = publisher.filter(|_| !f.no_local_ignored);
        let mut targets: Vec<Target> = Vec::new();
        for (client, session) in &self.sessions {
            let mut best: Option<Target> = None;
            for (filter, sub) in &session.subscriptions {
                if sub.shared {
                    // Shared subscriptions are routed by the index, as without faults.
                    continue;
                }
                if f.session_dropped_while_connected
                    && session.conn.is_some()
                    && now.saturating_sub(sub.since) >= Duration::from_secs(1)
                {
                    continue;
                }
                let hit = if f.alters_matching() {
                    matches(f, filter, &msg.topic)
                } else {
                    mqttspec_codec::topic::matches(filter, &msg.topic)
                };
                // 5.0/MQTT-3.8.3-3: No Local.
                if !hit || (sub.entry.no_local && publisher == Some(client.as_str())) {
                    continue;
                }
                let this = Target {
                    client: client.clone(),
                    qos: if f.ignore_granted_qos {
                        QoS::ExactlyOnce
                    } else {
                        sub.entry.qos
                    },
                    copies: sub.copies,
                    as_published: sub.entry.retain_as_published && !f.retain_as_published_ignored,
                    ids: sub
                        .entry
                        .id
                        .filter(|_| !f.subscription_identifier_missing)
                        .into_iter()
                        .collect(),
                };
                if self.config.variations.copy_per_subscription {
                    // A legal variation (3.3.5): one copy per matching subscription, each
                    // with its own identifier (5.0/MQTT-3.3.4-5).
                    targets.push(this);
                } else if let Some(b) = best.as_mut() {
                    b.qos = b.qos.max(this.qos);
                    b.copies = b.copies.max(this.copies);
                    b.as_published |= this.as_published;
                    b.ids.extend(this.ids);
                } else {
                    best = Some(this);
                }
            }
            targets.extend(best);
        }
        let handed = targets.len();
        for t in targets {
            let Some(session) = self.sessions.get_mut(&t.client) else {
                continue;
            };
            let retain = msg.retain && (t.as_published || f.retain_flag_kept_on_forward);
            for _ in 0..t.copies {
                let mut copy = msg.delivery(t.qos, retain);
                copy.sub_ids.clone_from(&t.ids);
                let result = deliver(session, &mut self.out, copy, &self.config, now);
                count_drop(&mut self.stats, &t.client, result);
            }
        }
        handed + self.route_shared(now, msg, publisher)
    }
}

/// One session's copy (or copies) of a message, in [`Broker::route_with_faults`].
struct Target {
    client: String,
    qos: QoS,
    copies: u8,
    as_published: bool,
    ids: Vec<u32>,
}

impl Broker {
    /// `session_shared_across_client_ids`: a CleanSession 0 CONNECT without a session of its
    /// own takes over the most recently stored session of any client id.
    pub(crate) fn adopt_latest_session(&mut self, client_id: &str) {
        if self.sessions.contains_key(client_id) {
            return;
        }
        let latest = self
            .sessions
            .iter()
            .filter(|(_, s)| s.conn.is_none() && !s.clean)
            .max_by_key(|(_, s)| s.stored_seq)
            .map(|(id, _)| id.clone());
        let Some(old_id) = latest else {
            return;
        };
        let Some(session) = self.sessions.remove(&old_id) else {
            return;
        };
        for (filter, sub) in &session.subscriptions {
            self.unindex(&old_id, filter, sub.shared);
            if !sub.shared {
                self.subscriptions.insert(filter, client_id, sub.entry);
            }
        }
        self.sessions.insert(client_id.to_owned(), session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &str) -> Faults {
        Faults::only(name).unwrap()
    }

    #[test]
    fn without_matching_faults_it_is_the_reference_matcher() {
        let none = Faults::default();
        for (filter, topic) in [
            ("a/#", "a"),
            ("a/+", "a/b"),
            ("+", "$x"),
            ("a/+/c", "a/b/b/c"),
            ("A", "a"),
            ("a//b", "a/b"),
        ] {
            assert_eq!(
                matches(&none, filter, topic),
                mqttspec_codec::topic::matches(filter, topic),
                "{filter} {topic}"
            );
        }
    }

    #[test]
    fn each_fault_changes_its_case() {
        assert!(matches(
            &with("plus_matches_multiple_levels"),
            "a/+/x",
            "a/b/c/x"
        ));
        assert!(!matches(
            &with("wildcards_unsupported_but_granted"),
            "a/+",
            "a/b"
        ));
        assert!(matches(&with("empty_levels_dropped"), "a/b", "a//b"));
        assert!(!matches(&with("hash_skips_parent"), "x/#", "x"));
        assert!(matches(&with("hash_string_prefix"), "x/#", "xy"));
        assert!(matches(&with("case_insensitive_matching"), "A/b", "a/B"));
        assert!(matches(&with("topic_whitespace_trimmed"), "a/b", "a/b  "));
        assert!(matches(
            &with("unicode_normalised_matching"),
            "caf\u{e9}",
            "cafe\u{301}"
        ));
        assert!(matches(
            &with("unicode_normalised_matching"),
            "A",
            "\u{ff21}"
        ));
        assert!(matches(
            &with("wildcard_matches_dollar_topics"),
            "+/x",
            "$a/x"
        ));
        let hash = with("hash_matches_dollar_topics");
        assert!(matches(&hash, "#", "$a/x"));
        assert!(!matches(&hash, "+/x", "$a/x"));
    }
}
