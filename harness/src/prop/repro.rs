//! The reproducer: a shrunk case written as an ordinary scenario file (docs/scenarios.md)
//! that `mqttspec run --target <same broker> FILE` fails on the faulty broker and passes on
//! a correct one. After each operation it expects, with `all_of`, the copies the model
//! requires (passing over what the model allows); before a client goes away and at the end
//! it expects nothing but what the model allows.

use super::exec::Done;
use crate::model::judge::ViolationKind;
use crate::model::{ConnNo, Hold, Model, MsgId, Obligation, Slot, Violation};
use std::collections::BTreeMap;
use std::fmt::Write as _;

mod acks;
#[path = "repro_v5.rs"]
mod v5;

/// A JSON string is a YAML flow scalar: quoting without surprises.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn topic(rel: &str) -> String {
    q(&format!("${{topic}}/{rel}"))
}

fn payload_text(p: &[u8]) -> String {
    q(&String::from_utf8_lossy(p))
}

struct Writer<'a> {
    model: &'a Model,
    violation: &'a Violation,
    out: String,
    /// Scenario client name of each connection.
    names: BTreeMap<ConnNo, String>,
    /// The live connection of each client.
    live: BTreeMap<Slot, ConnNo>,
    /// Next packet identifier per scenario client name.
    pids: BTreeMap<String, u16>,
    /// What each connection leaves unacknowledged (`auto_ack: false` unless `No`).
    modes: BTreeMap<ConnNo, Hold>,
    /// Saved packet identifiers (variable names) of the copies each client's session
    /// received of a message: a resend must carry it (3.1.1/MQTT-4.4.0-1).
    saved: BTreeMap<(Slot, MsgId), Vec<String>>,
    /// Identifiers a holding connection leaves unacknowledged, last one last: a new
    /// message must not take the last (3.1.1/MQTT-2.3.1-4).
    held: BTreeMap<ConnNo, Vec<String>>,
    /// Identifiers whose PUBREL a client left unanswered, per client: resent on resume.
    released: BTreeMap<Slot, Vec<String>>,
    /// Saved variables so far.
    vars: usize,
    /// Held clients, with the index of the step that held them.
    held_from: BTreeMap<Slot, usize>,
    /// Scenario clients silenced (not to be used again).
    silenced: std::collections::BTreeSet<String>,
    /// How long the step's required copies may take.
    within: String,
}

impl Writer<'_> {
    fn line(&mut self, s: &str) {
        self.out.push_str("  - ");
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn pid(&mut self, name: &str) -> u16 {
        let n = self.pids.entry(name.to_owned()).or_insert(0);
        *n = n.wrapping_add(1).max(1);
        *n
    }

    fn pattern(&self, o: &Obligation, qos: Option<u8>, with_dup: bool) -> Option<String> {
        let m = self.model.message(o.msg)?;
        let mut p = format!(
            "{{publish: {{topic: {}, payload: {}",
            topic(&m.topic),
            payload_text(&m.payload)
        );
        if let Some(q) = qos {
            let _ = write!(p, ", qos: {q}");
        }
        let _ = write!(p, ", retain: {}", o.retain);
        if with_dup {
            let _ = write!(p, ", dup: {}", o.dup);
            // What a 5.0 copy must carry (User Properties, a reduced expiry).
            p.push_str(&self.properties_pattern(o));
        }
        p.push_str("}}");
        Some(p)
    }

    /// Whether first copies of this obligation's message are left out of the ignore lists:
    /// the message of an unexpected extra copy, when the model allows exactly one copy
    /// (every copy is then read by the step that expects it, and another fails).
    fn counted(&self, o: &Obligation) -> bool {
        self.violation.kind == ViolationKind::Unexpected
            && self.violation.slot == Some(o.slot)
            && self
                .violation
                .msg
                .and_then(|m| self.model.message(m))
                .is_some_and(|m| m.key == o.key)
            && self
                .model
                .obligations()
                .iter()
                .filter(|x| x.slot == o.slot && x.key == o.key)
                .all(|x| x.must && x.copies == 1 && !x.dup)
    }

    /// What a client may receive at any time in this case.
    fn ignore(&self, slot: Slot) -> String {
        let mut list: Vec<String> = vec!["{pubrel: {}}".to_owned()];
        for o in self.model.obligations().iter().filter(|o| o.slot == slot) {
            if self.counted(o) {
                if let Some(m) = self.model.message(o.msg) {
                    let p = format!(
                        "{{publish: {{topic: {}, payload: {}, dup: true}}}}",
                        topic(&m.topic),
                        payload_text(&m.payload)
                    );
                    if !list.contains(&p) {
                        list.push(p);
                    }
                }
                continue;
            }
            for q in &o.qos_alt {
                if let Some(p) = self.pattern(o, Some(*q), false)
                    && !list.contains(&p)
                {
                    list.push(p);
                }
            }
            // Resends of a QoS 1/2 copy (DUP 1, RETAIN as first sent).
            if let Some(m) = self.model.message(o.msg)
                && o.qos_alt.iter().any(|q| *q > 0)
            {
                let p = format!(
                    "{{publish: {{topic: {}, payload: {}, dup: true}}}}",
                    topic(&m.topic),
                    payload_text(&m.payload)
                );
                if !list.contains(&p) {
                    list.push(p);
                }
            }
        }
        format!("[{}]", list.join(", "))
    }

    fn quiet(&mut self, slot: Slot, name: &str) {
        let long =
            self.violation.slot == Some(slot) && self.violation.kind == ViolationKind::Unexpected;
        let ignore = self.ignore(slot);
        let line = format!(
            "expect_nothing: {{client: {name}, for: {}, ignore: {ignore}}}",
            if long { "700ms" } else { "150ms" }
        );
        self.line(&line);
    }

    fn ack(&mut self, name: &str, what: &str, pid: u16) {
        let line = format!(
            "expect: {{client: {name}, packet: {{{what}: {{packet_id: {pid}}}}}, ignore: [{{pubrel: {{}}}}]}}"
        );
        self.line(&line);
    }

    fn var(&mut self) -> String {
        self.vars += 1;
        format!("p{}", self.vars)
    }

    fn musts(&mut self, op: usize) {
        let held = self.held_from.clone();
        // A held client's copies are expected at its release.
        self.musts_where(&|o| o.op == op && !held.contains_key(&o.slot));
    }

    fn musts_where(&mut self, which: &dyn Fn(&Obligation) -> bool) {
        let mut by_conn: BTreeMap<(Slot, ConnNo), Vec<&Obligation>> = BTreeMap::new();
        for o in self
            .model
            .obligations()
            .iter()
            .filter(|o| (o.must || self.sole_shared_member(o)) && which(o))
        {
            by_conn.entry((o.slot, o.from_conn)).or_default().push(o);
        }
        for ((slot, conn), list) in by_conn {
            let Some(name) = self.names.get(&conn).cloned() else {
                continue;
            };
            let ignore = self.ignore(slot);
            let patterns: Vec<String> = list
                .iter()
                .filter_map(|o| {
                    // A single allowed QoS (a retained copy for one filter) is required too.
                    let qos = o.must_qos.or(match o.qos_alt.as_slice() {
                        [q] => Some(*q),
                        _ => None,
                    });
                    self.pattern(o, qos, true)
                })
                .collect();
            let within = self.within.clone();
            let scripted = self.modes.get(&conn).is_some_and(|m| *m != Hold::No);
            if patterns.len() == 1
                && list.len() == 1
                && list[0].must_qos.unwrap_or(0) > 0
                && (scripted || list[0].dup)
            {
                let o = list[0].clone();
                self.must_one(&name, conn, &o, patterns[0].clone(), &ignore);
            } else if self.violation.kind == ViolationKind::Order
                && self.violation.slot == Some(slot)
            {
                for p in patterns {
                    let line = format!(
                        "expect: {{client: {name}, packet: {p}, ignore: {ignore}, within: {within}}}"
                    );
                    self.line(&line);
                }
            } else if !patterns.is_empty() {
                let line = format!(
                    "expect: {{client: {name}, all_of: [{}], ignore: {ignore}, within: {within}}}",
                    patterns.join(", ")
                );
                self.line(&line);
            }
        }
    }

    fn step(&mut self, index: usize, done: &Done) {
        self.within = "3s".to_owned();
        match done {
            Done::Connect {
                slot,
                conn,
                clean,
                will,
                hold,
                keep_alive,
                session_present,
                took_over,
            } => {
                // A takeover needs a second scenario client with the same client id.
                // A silenced scenario client cannot be used again: a new name.
                let name = if took_over.is_some() {
                    format!("c{slot}t{conn}")
                } else if self.silenced.contains(&format!("c{slot}")) {
                    format!("c{slot}s{conn}")
                } else {
                    format!("c{slot}")
                };
                if let Some(old) = took_over
                    && let Some(old_name) = self.names.get(old).cloned()
                {
                    self.quiet(*slot, &old_name);
                }
                let mut line = format!(
                    "connect: {{client: {name}, client_id: {}, clean_session: {clean}, auto_ack: {}",
                    q(&format!("${{client}}c{slot}")),
                    *hold == Hold::No
                );
                if *keep_alive != 60 {
                    let _ = write!(line, ", keep_alive: {keep_alive}");
                }
                let props = self.model.conn_props(*conn);
                line.push_str(&self.connect_fields(props));
                if let Some(w) = will {
                    let _ = write!(
                        line,
                        ", will: {{topic: {}, payload: {}, qos: {}, retain: {}{}}}",
                        topic(&w.topic),
                        payload_text(&w.payload),
                        w.qos,
                        w.retain,
                        v5::will_properties(props)
                    );
                }
                let _ = write!(
                    line,
                    ", connack: {{code: 0, session_present: {session_present}}}}}"
                );
                self.line(&line);
                if let Some(old) = took_over
                    && let Some(old_name) = self.names.get(old).cloned()
                {
                    let line = format!(
                        "expect_close: {{client: {old_name}, within: 3s, allow: [any], statements: [{}]}}",
                        if self.model.any_v5() {
                            "5.0/MQTT-3.1.4-3"
                        } else {
                            "3.1.1/MQTT-3.1.4-2"
                        }
                    );
                    self.line(&line);
                }
                self.modes.insert(*conn, *hold);
                if *session_present {
                    // The PUBRELs the session left unanswered come again with their
                    // identifiers (3.1.1/MQTT-4.4.0-1).
                    let released = self.released.remove(slot).unwrap_or_default();
                    let ignore = self.ignore(*slot);
                    for var in &released {
                        self.line(&format!(
                            "expect: {{client: {name}, packet: {{pubrel: {{packet_id: \"${{{var}}}\"}}}}, ignore: {ignore}, within: 3s, statements: [3.1.1/MQTT-4.4.0-1]}}"
                        ));
                        if *hold == Hold::All {
                            self.line(&format!(
                                "send: {{client: {name}, packet: {{pubcomp: {{packet_id: \"${{{var}}}\"}}}}}}"
                            ));
                        }
                    }
                    if *hold == Hold::Comp {
                        self.released.insert(*slot, released);
                    }
                } else {
                    self.released.remove(slot);
                    self.saved.retain(|(s, _), _| s != slot);
                }
                self.names.insert(*conn, name);
                self.live.insert(*slot, *conn);
            }
            Done::Idle { ms } => self.line(&format!("sleep: {ms}ms")),
            Done::Hold { slot, conn } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                self.line(&format!("hold: {name}"));
                self.held_from.insert(*slot, index);
            }
            Done::Release { slot, conn } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                self.line(&format!("release: {name}"));
                if let Some(from) = self.held_from.remove(slot) {
                    let slot = *slot;
                    self.musts_where(&|o| o.slot == slot && o.op >= from && o.op < index);
                }
            }
            Done::Restart { ms } => {
                // Every connection is lost: judged up to here, then never used again.
                let live: Vec<(Slot, ConnNo)> = self.live.iter().map(|(s, c)| (*s, *c)).collect();
                for (slot, conn) in live {
                    if let Some(name) = self.names.get(&conn).cloned() {
                        self.quiet(slot, &name);
                        self.silenced.insert(name);
                    }
                }
                self.live.clear();
                self.line(&format!("restart_broker: {{down: {ms}ms}}"));
            }
            Done::Silence {
                slot,
                conn,
                keep_alive,
            } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                self.quiet(*slot, &name);
                self.line(&format!("silence: {{client: {name}}}"));
                self.live.remove(slot);
                self.silenced.insert(name);
                // The broker closes the connection within 1.5 times the keep alive of the
                // last packet (the scenario client does not ping), then publishes the will.
                self.line(&format!("sleep: {}ms", u64::from(*keep_alive) * 1500 + 500));
            }
            Done::Disconnect { slot, conn } | Done::Drop { slot, conn } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                self.quiet(*slot, &name);
                let kind = if matches!(done, Done::Drop { .. }) {
                    "drop"
                } else {
                    "disconnect"
                };
                self.line(&format!("{kind}: {{client: {name}}}"));
                self.live.remove(slot);
            }
            Done::Partition { conn, ms, .. } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                self.line(&format!("partition: {{client: {name}, for: {ms}ms}}"));
            }
            Done::Subscribe {
                conn,
                filters,
                slot: _,
                suback_checked,
            } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                let pid = self.pid(&name);
                let list: Vec<String> = filters
                    .iter()
                    .map(|(f, qos)| format!("{{filter: {}, qos: {qos}}}", topic(f)))
                    .collect();
                self.line(&format!(
                    "send: {{client: {name}, packet: {{subscribe: {{packet_id: {pid}, filters: [{}]}}}}}}",
                    list.join(", ")
                ));
                if *suback_checked {
                    self.suback_codes(&name, pid, filters);
                } else {
                    self.ack(&name, "suback", pid);
                }
            }
            Done::Unsubscribe { conn, filters, .. } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                let pid = self.pid(&name);
                let list: Vec<String> = filters.iter().map(|f| topic(f)).collect();
                self.line(&format!(
                    "send: {{client: {name}, packet: {{unsubscribe: {{packet_id: {pid}, filters: [{}]}}}}}}",
                    list.join(", ")
                ));
                self.ack(&name, "unsuback", pid);
            }
            Done::Publish {
                conn, msg, twice, ..
            } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                let pid = if msg.qos > 0 { self.pid(&name) } else { 0 };
                let id = if msg.qos > 0 {
                    format!(", packet_id: {pid}")
                } else {
                    String::new()
                };
                self.line(&format!(
                    "send: {{client: {name}, packet: {{publish: {{topic: {}, payload: {}, qos: {}, retain: {}{id}{}}}}}}}",
                    topic(&msg.topic),
                    payload_text(&msg.payload),
                    msg.qos,
                    msg.retain,
                    self.publish_properties(msg.id)
                ));
                if *twice {
                    // Again before PUBREL, DUP 1: PUBREC again, no second delivery
                    // (3.1.1/MQTT-4.3.3-2).
                    self.line(&format!(
                        "send: {{client: {name}, packet: {{publish: {{topic: {}, payload: {}, qos: 2, retain: {}, dup: true{id}}}}}}}",
                        topic(&msg.topic),
                        payload_text(&msg.payload),
                        msg.retain
                    ));
                    self.ack(&name, "pubrec", pid);
                }
                match msg.qos {
                    0 => {
                        self.line(&format!("send: {{client: {name}, packet: pingreq}}"));
                        self.line(&format!(
                            "expect: {{client: {name}, packet: pingresp, ignore: [{{pubrel: {{}}}}]}}"
                        ));
                    }
                    1 => self.ack(&name, "puback", pid),
                    _ => {
                        self.ack(&name, "pubrec", pid);
                        self.line(&format!(
                            "send: {{client: {name}, packet: {{pubrel: {{packet_id: {pid}}}}}}}"
                        ));
                        self.ack(&name, "pubcomp", pid);
                    }
                }
            }
            Done::V5(d) => self.step_v5(d),
        }
        self.musts(index);
    }
}

/// The scenario file for a finding.
pub fn scenario(
    done: &[(super::ops::Op, Done)],
    model: &Model,
    violation: &Violation,
    header: &str,
) -> String {
    let mut w = Writer {
        model,
        violation,
        out: String::new(),
        names: BTreeMap::new(),
        live: BTreeMap::new(),
        pids: BTreeMap::new(),
        modes: BTreeMap::new(),
        saved: BTreeMap::new(),
        held: BTreeMap::new(),
        released: BTreeMap::new(),
        vars: 0,
        held_from: BTreeMap::new(),
        silenced: Default::default(),
        within: "3s".to_owned(),
    };
    for (i, (_, d)) in done.iter().enumerate() {
        w.step(i, d);
    }
    let live: Vec<(Slot, ConnNo)> = w.live.iter().map(|(s, c)| (*s, *c)).collect();
    for (slot, conn) in live {
        if let Some(name) = w.names.get(&conn).cloned() {
            w.quiet(slot, &name);
        }
    }
    let steps = w.out;
    let v5 = model.any_v5();
    let statements: Vec<String> = if v5 {
        v5::statements(violation)
    } else if violation.rule.is_empty() {
        vec!["3.1.1/MQTT-4.5.0-1".to_owned()]
    } else {
        violation.rule.clone()
    };
    let mut text = String::new();
    let _ = writeln!(text, "# Written by mqttspec prop. {header}");
    let _ = writeln!(
        text,
        "name: {}",
        q(&format!("prop finding: {}", violation.summary))
    );
    let _ = writeln!(
        text,
        "description: {}",
        q(&format!(
            "A shrunk property-test case. Expected: {}. Came: {}. The expectations are the \
             model's (docs/prop.md): after each operation the copies that must arrive; the \
             ignore lists are what may arrive as well (extra copies per overlapping \
             subscription, 3.3.5; QoS 0 kept or not, 3.1.2.4, 3.3.1.3; resends with DUP 1, 4.4).",
            violation.expected, violation.got
        ))
    );
    let _ = writeln!(text, "statements: [{}]", statements.join(", "));
    let _ = writeln!(text, "version: \"{}\"", if v5 { "5.0" } else { "3.1.1" });
    let _ = writeln!(text, "tags: [prop]");
    let _ = writeln!(text, "steps:");
    text.push_str(&steps);
    text
}
