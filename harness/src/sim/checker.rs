//! Accounts for every message of a run, per subscriber, in the manner of a queue checker:
//! delivered, lost, duplicated, unexpected, or recovered (delivered although its publisher
//! never learned the outcome). Which of those are violations depends on the QoS the
//! subscriber was entitled to (the lower of published and granted, 3.1.1 section 3.8.4).

use super::history::{Event, History, MsgId, PayloadId, What};
use mqttspec_codec::topic::matches;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// What the checker needs to know besides the history.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// Subscribers with a persistent session for the whole run: name, filter, granted QoS.
    pub subscribers: Vec<(String, String, u8)>,
    /// Devices with a will: its QoS. Wills go to `fleet/<device>/will`.
    pub wills: BTreeMap<String, u8>,
    /// The subscriber that subscribes at the end to read the retained messages.
    pub auditor: Option<String>,
    /// How long after a device's connection ends the broker may take to publish its will
    /// (1.5 times the longest keep alive, and some): a broker crash within that time
    /// excuses a missing will.
    pub will_grace: Duration,
}

/// A message published this long before a broker crash should have reached an online
/// subscriber before it; younger ones may be lost with the broker's state (the reference
/// broker keeps nothing across a restart, and MQTT does not require it to).
pub const RESTART_WINDOW: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    Lost,
    Duplicated,
    Unexpected,
    OutOfOrder,
    WillMissing,
    WillUnexpected,
    RetainedWrong,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub subscriber: String,
    /// The message, will or topic concerned.
    pub subject: String,
    /// Simulated time of the event that shows it (the end of the run for things missing).
    pub at_ms: u128,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}: {} at {} (t={:.3}s): {}",
            self.kind,
            self.subject,
            self.subscriber,
            self.at_ms as f64 / 1000.0,
            self.detail
        )
    }
}

/// Counts per effective QoS (the lower of published and granted), over (message,
/// subscriber) pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QosCounts {
    /// Messages published at this QoS (not pairs).
    pub published: u64,
    /// Of those, acknowledged to the publisher.
    pub acked: u64,
    /// Pairs that should or may see a delivery.
    pub expected: u64,
    /// Pairs delivered at least once.
    pub delivered: u64,
    /// Extra copies beyond the first, summed over pairs.
    pub duplicates: u64,
    /// Pairs never delivered although the publisher had its acknowledgement.
    pub lost: u64,
    /// Pairs never delivered whose outcome the publisher did not know (allowed).
    pub unknown: u64,
    /// Pairs delivered although the publisher never got its acknowledgement.
    pub recovered: u64,
    /// Pairs never delivered because a broker restart lost them (allowed): published
    /// shortly before the crash, or before the subscriber had subscribed again.
    pub lost_to_restart: u64,
    /// Delivery latency of first copies, milliseconds: p50, p99, max.
    pub latency_ms: [u64; 3],
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WillCounts {
    /// Connections of devices with a will that ended without a clean DISCONNECT after the
    /// broker accepted them.
    pub abnormal_closes: u64,
    /// (will, subscriber) pairs: delivered, missing, and delivered for a clean close.
    pub delivered: u64,
    pub missing: u64,
    pub unexpected: u64,
    /// Missing, but a broker crash took them (allowed).
    pub lost_to_restart: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Accounting {
    pub qos: [QosCounts; 3],
    pub wills: WillCounts,
    pub reconnects: u64,
    pub retained_topics_checked: u64,
    pub violations: Vec<Violation>,
}

struct Pub<'a> {
    topic: &'a str,
    qos: u8,
    retain: bool,
    at: Duration,
    acked: bool,
}

fn violation(
    kind: ViolationKind,
    subscriber: &str,
    subject: impl fmt::Display,
    at: Duration,
    detail: impl Into<String>,
) -> Violation {
    Violation {
        kind,
        subscriber: subscriber.to_owned(),
        subject: subject.to_string(),
        at_ms: at.as_millis(),
        detail: detail.into(),
    }
}

fn percentiles(mut v: Vec<u64>) -> [u64; 3] {
    if v.is_empty() {
        return [0; 3];
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    [at(0.5), at(0.99), at(1.0)]
}

/// Checks a history against MQTT's delivery guarantees.
pub fn check(history: &History, exp: &Expectations) -> Accounting {
    let end = history.events.last().map_or(Duration::ZERO, |e| e.at);
    let mut acc = Accounting::default();
    let mut pubs: BTreeMap<MsgId, Pub<'_>> = BTreeMap::new();
    for Event { at, what } in &history.events {
        match what {
            What::Published {
                id,
                topic,
                qos,
                retain,
            } => {
                pubs.insert(
                    id.clone(),
                    Pub {
                        topic,
                        qos: *qos,
                        retain: *retain,
                        at: *at,
                        acked: false,
                    },
                );
            }
            What::Acked { id } => {
                if let Some(p) = pubs.get_mut(id) {
                    p.acked = true;
                }
            }
            What::Connected { conn, .. } if *conn > 1 => acc.reconnects += 1,
            _ => {}
        }
    }
    let mut accepted = BTreeSet::new();
    for e in &history.events {
        match &e.what {
            What::Connected { device, conn, .. } if exp.wills.contains_key(device) => {
                accepted.insert((device, *conn));
            }
            What::ConnectionEnded {
                device,
                conn,
                clean: false,
                ..
            } if accepted.contains(&(device, *conn)) => acc.wills.abnormal_closes += 1,
            _ => {}
        }
    }
    for p in pubs.values() {
        let c = &mut acc.qos[usize::from(p.qos.min(2))];
        c.published += 1;
        c.acked += u64::from(p.acked);
    }

    let crashes: Vec<Duration> = history
        .events
        .iter()
        .filter(|e| e.what == What::BrokerDown)
        .map(|e| e.at)
        .collect();
    let auditor = exp.auditor.as_deref();
    for (name, filter, granted) in &exp.subscribers {
        let sub = Sub {
            name,
            filter,
            granted: *granted,
        };
        let gaps = subscription_gaps(history, name, &crashes);
        check_messages(history, &pubs, &sub, &gaps, end, &mut acc);
        check_wills(history, exp, &sub, (&crashes, &gaps), end, &mut acc);
    }
    if let Some(auditor) = auditor {
        check_retained(
            history,
            &pubs,
            auditor,
            crashes.last().copied(),
            end,
            &mut acc,
        );
    }
    for e in &history.events {
        if let What::Garbage { subscriber, detail } = &e.what {
            acc.violations.push(violation(
                ViolationKind::Unexpected,
                subscriber,
                "payload",
                e.at,
                detail.clone(),
            ));
        }
    }
    acc.violations.sort_by_key(|v| (v.at_ms, v.kind));
    acc
}

/// One live subscriber: its name, filter and granted QoS.
struct Sub<'a> {
    name: &'a str,
    filter: &'a str,
    granted: u8,
}

/// For each broker crash, the stretch of publication times whose messages the subscriber
/// may never get: from [`RESTART_WINDOW`] before the crash until the subscriber's next
/// subscription is in place (the end of the run if it never is).
fn subscription_gaps(
    history: &History,
    name: &str,
    crashes: &[Duration],
) -> Vec<(Duration, Duration)> {
    crashes
        .iter()
        .map(|&c| {
            let back = history.events.iter().find(|e| {
                e.at >= c
                    && matches!(&e.what, What::Subscribed { subscriber, .. } if subscriber == name)
            });
            (
                c.saturating_sub(RESTART_WINDOW),
                back.map_or(Duration::MAX, |e| e.at),
            )
        })
        .collect()
}

fn check_messages(
    history: &History,
    pubs: &BTreeMap<MsgId, Pub<'_>>,
    sub: &Sub<'_>,
    gaps: &[(Duration, Duration)],
    end: Duration,
    acc: &mut Accounting,
) {
    let (name, filter, granted) = (sub.name, sub.filter, sub.granted);
    // Deliveries of each message to this subscriber, in order.
    let mut got: BTreeMap<&MsgId, Vec<Duration>> = BTreeMap::new();
    // Per (publisher, topic): the highest sequence delivered first so far.
    let mut last_first: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for e in &history.events {
        let What::Delivered {
            subscriber,
            payload: PayloadId::Message(id),
            topic,
            qos,
            ..
        } = &e.what
        else {
            continue;
        };
        if subscriber != name {
            continue;
        }
        let Some(p) = pubs.get(id) else {
            acc.violations.push(violation(
                ViolationKind::Unexpected,
                name,
                id,
                e.at,
                "delivered but never published",
            ));
            continue;
        };
        if p.topic != topic || !matches(filter, topic) {
            acc.violations.push(violation(
                ViolationKind::Unexpected,
                name,
                id,
                e.at,
                format!(
                    "published on {} but delivered on {topic} to filter {filter}",
                    p.topic
                ),
            ));
            continue;
        }
        let effective = p.qos.min(granted);
        if *qos != effective {
            acc.violations.push(violation(
                ViolationKind::Unexpected,
                name,
                id,
                e.at,
                format!("delivered at QoS {qos}, entitled to QoS {effective}"),
            ));
        }
        let copies = got.entry(id).or_default();
        copies.push(e.at);
        if copies.len() == 1 && effective >= 1 {
            let key = (id.device.as_str(), p.topic);
            let last = last_first.entry(key).or_insert(0);
            if id.seq < *last {
                acc.violations.push(violation(
                    ViolationKind::OutOfOrder,
                    name,
                    id,
                    e.at,
                    format!(
                        "first delivered after #{} of the same publisher and topic",
                        *last
                    ),
                ));
            }
            *last = (*last).max(id.seq);
        }
    }
    let mut latencies: [Vec<u64>; 3] = Default::default();
    for (id, p) in pubs {
        if !matches(filter, p.topic) {
            continue;
        }
        let effective = p.qos.min(granted);
        let c = &mut acc.qos[usize::from(effective.min(2))];
        c.expected += 1;
        let in_gap = gaps.iter().any(|&(from, to)| p.at >= from && p.at < to);
        match got.get(id) {
            None if in_gap => c.lost_to_restart += 1,
            None if p.acked && effective >= 1 => {
                c.lost += 1;
                acc.violations.push(violation(
                    ViolationKind::Lost,
                    name,
                    id,
                    end,
                    format!(
                        "acknowledged to its publisher (QoS {}) but never delivered (entitled to QoS {effective})",
                        p.qos
                    ),
                ));
            }
            None => c.unknown += 1,
            Some(copies) => {
                c.delivered += 1;
                c.recovered += u64::from(!p.acked && p.qos >= 1);
                let extra = copies.len() as u64 - 1;
                c.duplicates += extra;
                latencies[usize::from(effective.min(2))]
                    .push(copies[0].saturating_sub(p.at).as_millis() as u64);
                if extra > 0 && effective != 1 {
                    acc.violations.push(violation(
                        ViolationKind::Duplicated,
                        name,
                        id,
                        copies[1],
                        format!("{} copies at QoS {effective}", copies.len()),
                    ));
                }
            }
        }
    }
    for (q, l) in latencies.into_iter().enumerate() {
        // Several subscribers: keep the worst of each figure.
        let p = percentiles(l);
        let c = &mut acc.qos[q].latency_ms;
        for i in 0..3 {
            c[i] = c[i].max(p[i]);
        }
    }
}

fn check_wills(
    history: &History,
    exp: &Expectations,
    sub: &Sub<'_>,
    (crashes, gaps): (&[Duration], &[(Duration, Duration)]),
    end: Duration,
    acc: &mut Accounting,
) {
    let (name, filter, granted) = (sub.name, sub.filter, sub.granted);
    // Per (device, conn): accepted, how it ended.
    let mut conns: BTreeMap<(&str, u32), (bool, Option<bool>)> = BTreeMap::new();
    // Per (device, conn): when it was accepted and when it ended, for broker crashes.
    let mut spans: BTreeMap<(&str, u32), (Duration, Duration)> = BTreeMap::new();
    let mut wills: BTreeMap<(&str, u32), (usize, Duration)> = BTreeMap::new();
    for e in &history.events {
        match &e.what {
            What::ConnectSent { device, conn } => {
                conns.entry((device, *conn)).or_insert((false, None));
            }
            What::Connected { device, conn, .. } => {
                conns.entry((device, *conn)).or_insert((false, None)).0 = true;
                spans.insert((device, *conn), (e.at, end));
            }
            What::ConnectionEnded {
                device,
                conn,
                clean,
                ..
            } => {
                conns.entry((device, *conn)).or_insert((false, None)).1 = Some(*clean);
                if let Some(span) = spans.get_mut(&(device.as_str(), *conn)) {
                    span.1 = e.at;
                }
            }
            What::Delivered {
                subscriber,
                payload: PayloadId::Will { device, conn },
                ..
            } if subscriber == name => {
                let w = wills.entry((device, *conn)).or_insert((0, e.at));
                w.0 += 1;
            }
            _ => {}
        }
    }
    for ((device, conn), (copies, at)) in &wills {
        let subject = format!("will of {device} conn {conn}");
        match conns.get(&(*device, *conn)) {
            None => acc.violations.push(violation(
                ViolationKind::WillUnexpected,
                name,
                &subject,
                *at,
                "no such connection was ever made",
            )),
            Some((_, Some(true))) => {
                acc.wills.unexpected += 1;
                acc.violations.push(violation(
                    ViolationKind::WillUnexpected,
                    name,
                    &subject,
                    *at,
                    "published although the device disconnected cleanly",
                ));
            }
            _ => {}
        }
        let qos = exp.wills.get(*device).copied().unwrap_or(0).min(granted);
        if *copies > 1 && qos != 1 {
            acc.violations.push(violation(
                ViolationKind::Duplicated,
                name,
                &subject,
                *at,
                format!("{copies} copies at QoS {qos}"),
            ));
        }
    }
    for ((device, conn), (accepted, ended)) in &conns {
        let Some(will_qos) = exp.wills.get(*device) else {
            continue;
        };
        if !matches(filter, &format!("fleet/{device}/will")) || !accepted {
            continue;
        }
        // A broker that crashed while it held the will, or before it had published it,
        // owes nothing: the will went with its state.
        // Nor is a will owed to a subscriber whose subscription the crash took and that
        // had not subscribed again when the connection ended.
        let crashed = spans.get(&(*device, *conn)).is_some_and(|&(from, to)| {
            crashes
                .iter()
                .any(|&c| c > from && c <= to.saturating_add(exp.will_grace))
                || crashes
                    .iter()
                    .zip(gaps)
                    .any(|(&c, &(_, back))| to >= c && to < back)
        });
        if *ended == Some(false) {
            if wills.contains_key(&(*device, *conn)) {
                acc.wills.delivered += 1;
            } else if crashed {
                acc.wills.lost_to_restart += 1;
            } else if (*will_qos).min(granted) >= 1 {
                acc.wills.missing += 1;
                acc.violations.push(violation(
                    ViolationKind::WillMissing,
                    name,
                    format!("will of {device} conn {conn}"),
                    end,
                    "the connection ended without DISCONNECT but its will never arrived",
                ));
            }
        }
    }
}

fn check_retained(
    history: &History,
    pubs: &BTreeMap<MsgId, Pub<'_>>,
    auditor: &str,
    last_crash: Option<Duration>,
    end: Duration,
    acc: &mut Accounting,
) {
    // Per topic: retained publications in order.
    let mut per_topic: BTreeMap<&str, Vec<(&MsgId, bool, Duration)>> = BTreeMap::new();
    for (id, p) in pubs.iter().filter(|(_, p)| p.retain) {
        per_topic
            .entry(p.topic)
            .or_default()
            .push((id, p.acked, p.at));
    }
    let mut seen: BTreeMap<&str, (&MsgId, Duration)> = BTreeMap::new();
    for e in &history.events {
        if let What::Delivered {
            subscriber,
            payload: PayloadId::Message(id),
            topic,
            retain: true,
            ..
        } = &e.what
            && subscriber == auditor
        {
            seen.insert(topic.as_str(), (id, e.at));
        }
    }
    for (topic, list) in &per_topic {
        acc.retained_topics_checked += 1;
        // Sequence order is publication order for one device's topic.
        let last_acked = list.iter().rposition(|(_, acked, _)| *acked);
        let allowed: BTreeSet<&MsgId> = match last_acked {
            Some(i) => list[i..].iter().map(|(id, ..)| *id).collect(),
            None => list.iter().map(|(id, ..)| *id).collect(),
        };
        // A crash after the last acknowledged publication may have taken it: the broker
        // may then hold nothing, or any later one.
        let crashed_since = last_acked.is_some_and(|i| last_crash.is_some_and(|c| c > list[i].2));
        match seen.get(topic) {
            Some((id, _)) if allowed.contains(id) => {}
            Some((id, at)) => acc.violations.push(violation(
                ViolationKind::RetainedWrong,
                auditor,
                topic,
                *at,
                format!(
                    "retained message is {id}, expected one of {}",
                    join(&allowed)
                ),
            )),
            None if last_acked.is_some() && !crashed_since => acc.violations.push(violation(
                ViolationKind::RetainedWrong,
                auditor,
                topic,
                end,
                format!("no retained message, expected one of {}", join(&allowed)),
            )),
            None => {}
        }
    }
}

fn join(ids: &BTreeSet<&MsgId>) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
