//! Judging 5.0 copies: the shared subscription's copy counts, User Properties and the
//! reduced Message Expiry Interval; 5.0 statements for a 5.0 client's finding.

use super::v5::MsgV5;
use super::*;

/// An unexpected copy of a message that expired in the session's queue breaks
/// 5.0/MQTT-3.3.2-5: says so.
pub fn explain_expired(model: &Model, mut v: Violation) -> Violation {
    if let (Some(slot), Some(msg)) = (v.slot, v.msg)
        && v.kind == super::judge::ViolationKind::Unexpected
        && model.v5.expired.contains(&(slot, msg))
    {
        v.rule = vec!["5.0/MQTT-3.3.2-5".into()];
        v.summary = format!(
            "client c{slot} received m{msg}, whose Message Expiry Interval ran out while it waited in the session"
        );
    } else if let (Some(slot), Some(msg)) = (v.slot, v.msg)
        && v.kind == super::judge::ViolationKind::Unexpected
        && let Some(m) = model.messages.get(&msg)
        && m.publisher == slot
        && !m.will
        && model.sessions.get(&slot).is_some_and(|s| {
            s.v5.opts
                .iter()
                .any(|(f, o)| o.no_local && topic::matches(f, &m.topic))
        })
    {
        v.rule = vec!["5.0/MQTT-3.8.3-3".into()];
        v.summary = format!(
            "client c{slot} received its own message m{msg} through a No Local subscription"
        );
    } else if let (Some(slot), Some(msg)) = (v.slot, v.msg)
        && v.kind == super::judge::ViolationKind::Unexpected
        && model.v5.delayed.contains(&msg)
    {
        v.rule = vec!["5.0/MQTT-3.1.2-8".into(), "5.0/MQTT-3.1.3-9".into()];
        v.summary = format!(
            "client c{slot} received the will m{msg} before its Will Delay Interval passed, or after its client came back"
        );
    }
    v
}

/// Whether an obligation is a shared subscription's (made by route_shared/member_lost).
pub(super) fn is_shared(o: &Obligation) -> bool {
    o.rule.first() == Some(&SHARED_RULE)
}

const SHARED_RULE: &str = "5.0/MQTT-4.8.2-3";

/// A shared-space message no member got although every member was connected.
pub fn missing_shared(model: &Model, obs: &[Observed]) -> Option<Violation> {
    for r in model.shared_rules().iter().filter(|r| r.must) {
        let got = obs
            .iter()
            .any(|x| r.members.contains(&x.slot) && x.key.as_ref() == Some(&r.key) && x.intact);
        if !got {
            return Some(Violation {
                kind: super::judge::ViolationKind::Missing,
                slot: r.members.first().copied(),
                msg: Some(r.msg),
                rule: vec!["5.0/MQTT-4.5.0-1".into(), "5.0/MQTT-4.8.2-3".into()],
                summary: format!(
                    "no member of the shared subscription received m{} (members {:?}, all connected)",
                    r.msg, r.members
                ),
                expected: "one copy to one member".into(),
                got: "no copy".into(),
            });
        }
    }
    None
}

/// 5.0 checks of what came: copies per shared message, User Properties and Message Expiry
/// Interval of each 5.0 copy.
pub fn check(model: &Model, obs: &[Observed]) -> Option<Violation> {
    for r in model.shared_rules() {
        let firsts: Vec<&Observed> = obs
            .iter()
            .filter(|x| r.members.contains(&x.slot) && x.key.as_ref() == Some(&r.key) && !x.dup)
            .collect();
        // A member's ordinary subscriptions may bring their own copies (as many as they
        // allow); only what comes beyond them counts for the shared subscription.
        let beyond: usize = r
            .members
            .iter()
            .map(|m| {
                let got = firsts.iter().filter(|x| x.slot == *m).count();
                let ordinary: usize = model
                    .obligations()
                    .iter()
                    .filter(|o| o.slot == *m && o.key == r.key && !is_shared(o) && !o.dup)
                    .map(|o| o.copies)
                    .sum();
                got.saturating_sub(ordinary)
            })
            .sum();
        if beyond > r.max_copies {
            let last = firsts[firsts.len() - 1];
            return Some(Violation {
                kind: super::judge::ViolationKind::Unexpected,
                slot: Some(last.slot),
                msg: Some(r.msg),
                rule: vec!["5.0/MQTT-4.5.0-1".into(), "5.0/MQTT-4.8.2-3".into()],
                summary: format!(
                    "m{} on the shared subscription reached {} members' sessions, not one",
                    r.msg,
                    firsts.len()
                ),
                expected: format!(
                    "at most {} first cop{} among members {:?} (4.8.2: each message to one session of the group)",
                    r.max_copies,
                    if r.max_copies == 1 { "y" } else { "ies" },
                    r.members
                ),
                got: firsts
                    .iter()
                    .map(|x| format!("c{}: {x}", x.slot))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
    }
    for x in obs {
        let (Some(seen), Some(Key::Id(id))) = (&x.v5, &x.key) else {
            continue;
        };
        let Some(info) = model.msg_v5(*id) else {
            continue;
        };
        let fail = |summary: String, rule: &[&str], expected: String, got: String| Violation {
            kind: super::judge::ViolationKind::Unexpected,
            slot: Some(x.slot),
            msg: Some(*id),
            rule: rule.iter().map(|s| (*s).to_owned()).collect(),
            summary,
            expected,
            got,
        };
        if seen.user != info.user {
            return Some(fail(
                format!(
                    "client c{} received m{id} with other User Properties than published",
                    x.slot
                ),
                &["5.0/MQTT-3.3.2-17", "5.0/MQTT-3.3.2-18"],
                format!("{:?}, in that order", info.user),
                format!("{:?}", seen.user),
            ));
        }
        if let Some(e) = info.expiry {
            let opened = model.v5.conn_opened.get(&x.conn).copied().unwrap_or(0);
            let (lo, hi) = expiry_range(e, info, opened, seen.at_ms);
            match seen.expiry {
                Some(v) if v >= lo && v <= hi => {}
                other => {
                    return Some(fail(
                        format!(
                            "client c{} received m{id} with a Message Expiry Interval not reduced by its wait",
                            x.slot
                        ),
                        &["5.0/MQTT-3.3.2-6"],
                        format!(
                            "between {lo} and {hi} (published with {e} s; it waited {:.1} s at most)",
                            seen.at_ms.saturating_sub(info.sent_ms) as f64 / 1000.0
                        ),
                        match other {
                            Some(v) => format!("{v}"),
                            None => "no Message Expiry Interval".into(),
                        },
                    ));
                }
            }
        }
    }
    None
}

/// The Message Expiry Interval a copy may carry (5.0/MQTT-3.3.2-6: "the received value
/// minus the time that the message has been waiting in the Server"). The wait is at most
/// arrival − sending, and at least the time from the acknowledgement to the opening of
/// the connection that got it (a queued copy cannot leave before the CONNECT). One second
/// either way for clocks counted in whole seconds.
pub fn expiry_range(e: u32, info: &MsgV5, opened: u64, at: u64) -> (u32, u32) {
    let w_max = at.saturating_sub(info.sent_ms);
    let w_min = opened.saturating_sub(info.acked_ms);
    let lo = u64::from(e).saturating_sub(w_max.div_ceil(1000) + 1);
    let hi = (u64::from(e) + 1)
        .saturating_sub(w_min / 1000)
        .min(u64::from(e));
    (lo as u32, hi as u32)
}

/// The 5.0 statements of a rule the model states with 3.1.1 numbers, when the client it
/// concerns speaks 5.0 (the numbering differs between the versions). Rules without a
/// counterpart in the table are dropped; the kind's general rule stands in if none is left.
pub fn rules_for_v5(mut v: Violation) -> Violation {
    const MAP: &[(&str, &[&str])] = &[
        ("3.1.1/MQTT-4.5.0-1", &["5.0/MQTT-4.5.0-1"]),
        ("3.1.1/MQTT-3.3.5-1", &["5.0/MQTT-3.3.4-2"]),
        ("3.1.1/MQTT-3.1.2-8", &["5.0/MQTT-3.1.2-8"]),
        ("3.1.1/MQTT-3.14.4-3", &["5.0/MQTT-3.1.2-8"]),
        ("3.1.1/MQTT-3.2.2-1", &["5.0/MQTT-3.2.2-2"]),
        (
            "3.1.1/MQTT-3.2.2-2",
            &["5.0/MQTT-3.2.2-3", "5.0/MQTT-3.1.2-23", "5.0/MQTT-4.1.0-2"],
        ),
        (
            "3.1.1/MQTT-3.2.2-3",
            &["5.0/MQTT-3.2.2-3", "5.0/MQTT-3.1.2-23", "5.0/MQTT-4.1.0-2"],
        ),
        ("3.1.1/MQTT-3.1.2-4", &["5.0/MQTT-3.1.2-5"]),
        ("3.1.1/MQTT-3.1.2-6", &["5.0/MQTT-3.1.2-4"]),
        ("3.1.1/MQTT-4.4.0-1", &["5.0/MQTT-4.4.0-1"]),
        ("3.1.1/MQTT-3.3.1-1", &["5.0/MQTT-3.3.1-1"]),
        ("3.1.1/MQTT-3.3.1-2", &["5.0/MQTT-3.3.1-2"]),
        ("3.1.1/MQTT-4.6.0-5", &["5.0/MQTT-4.6.0-5"]),
        ("3.1.1/MQTT-4.6.0-6", &["5.0/MQTT-4.6.0-6"]),
        ("3.1.1/MQTT-3.3.1-9", &["5.0/MQTT-3.3.1-12"]),
        ("3.1.1/MQTT-3.10.4-1", &["5.0/MQTT-3.10.4-1"]),
        ("3.1.1/MQTT-3.10.4-2", &["5.0/MQTT-3.10.4-2"]),
        ("3.1.1/MQTT-3.10.4-3", &["5.0/MQTT-3.10.4-3"]),
        ("3.1.1/MQTT-3.1.4-2", &["5.0/MQTT-3.1.4-3"]),
    ];
    let mut out: Vec<String> = Vec::new();
    for r in &v.rule {
        let mapped: Vec<&str> = if r.starts_with("5.0/") {
            vec![r.as_str()]
        } else {
            MAP.iter()
                .find(|(k, _)| *k == r)
                .map(|(_, m)| m.to_vec())
                .unwrap_or_default()
        };
        for m in mapped {
            if !out.iter().any(|x| x == m) {
                out.push(m.to_owned());
            }
        }
    }
    if out.is_empty() {
        out.push("5.0/MQTT-4.5.0-1".to_owned());
    }
    v.rule = out;
    v
}
