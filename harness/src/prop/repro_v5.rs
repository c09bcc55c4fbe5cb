//! The 5.0 parts of a reproducer: CONNECT and will properties, subscription options, the
//! shared subscription, DISCONNECT with a reason or a new Session Expiry Interval, time
//! passing, and the properties a 5.0 copy must carry.

use super::{Writer, q, topic};
use crate::model::judge::ViolationKind;
use crate::model::v5::{NEVER, expiry_range};
use crate::model::{Obligation, Violation};
use crate::prop::exec::v5::DoneV5;
use crate::prop::ops_v5::SHARED_FILTER;
use std::fmt::Write as _;

fn user_list(user: &[(String, String)]) -> String {
    let l: Vec<String> = user
        .iter()
        .map(|(k, v)| format!("[{}, {}]", q(k), q(v)))
        .collect();
    format!("[{}]", l.join(", "))
}

/// `, properties: {will_delay_interval: N}` for a will with a delay.
pub(super) fn will_properties(props: Option<(u32, u32)>) -> String {
    match props {
        Some((_, d)) if d > 0 => format!(", properties: {{will_delay_interval: {d}}}"),
        _ => String::new(),
    }
}

/// 5.0 statements for a 5.0 scenario: the violation's own, or the general rule of its
/// kind (a 3.1.1 statement cannot be listed in a 5.0 scenario).
pub(super) fn statements(v: &Violation) -> Vec<String> {
    let own: Vec<String> = v
        .rule
        .iter()
        .filter(|r| r.starts_with("5.0/"))
        .cloned()
        .collect();
    if !own.is_empty() {
        return own;
    }
    let general: &[&str] = match v.kind {
        ViolationKind::SessionPresent => &["5.0/MQTT-3.2.2-2", "5.0/MQTT-3.2.2-3"],
        ViolationKind::Order => &["5.0/MQTT-4.6.0-5"],
        _ if v.rule.iter().any(|r| r.contains("MQTT-3.1.2-8")) => &["5.0/MQTT-3.1.2-8"],
        _ => &["5.0/MQTT-4.5.0-1"],
    };
    general.iter().map(|s| (*s).to_owned()).collect()
}

impl Writer<'_> {
    /// The version and properties of a CONNECT in a 5.0 scenario.
    pub(super) fn connect_fields(&self, props: Option<(u32, u32)>) -> String {
        if !self.model.any_v5() {
            return String::new();
        }
        match props {
            None => ", version: \"3.1.1\"".to_owned(),
            Some((e, _)) if e > 0 => {
                format!(", properties: {{session_expiry_interval: {e}}}")
            }
            Some(_) => String::new(),
        }
    }

    /// `, properties: {…}` of a 5.0 PUBLISH the case sent.
    pub(super) fn publish_properties(&self, id: crate::model::MsgId) -> String {
        let Some(m) = self.model.msg_v5(id) else {
            return String::new();
        };
        let mut parts = Vec::new();
        if let Some(e) = m.expiry {
            parts.push(format!("message_expiry_interval: {e}"));
        }
        if !m.user.is_empty() {
            parts.push(format!("user_properties: {}", user_list(&m.user)));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(", properties: {{{}}}", parts.join(", "))
        }
    }

    /// What a required 5.0 copy must carry: the User Properties in order
    /// (5.0/MQTT-3.3.2-17, -18) and a Message Expiry Interval no higher than the wait
    /// allows (5.0/MQTT-3.3.2-6; the lower bound depends on the replay's pace and is left
    /// out).
    pub(super) fn properties_pattern(&self, o: &Obligation) -> String {
        if !self.model.any_v5() || self.model.conn_props(o.from_conn).is_none() {
            return String::new();
        }
        let Some(m) = self.model.msg_v5(o.msg) else {
            return String::new();
        };
        let mut parts = Vec::new();
        if !m.user.is_empty() {
            parts.push(format!("user_properties: {}", user_list(&m.user)));
        }
        if let Some(e) = m.expiry {
            let opened = self.model.opened_at(o.from_conn);
            let (_, hi) = expiry_range(e, m, opened, m.acked_ms);
            parts.push(format!(
                "present: [message_expiry_interval], at_most: {{message_expiry_interval: {hi}}}"
            ));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(", properties: {{{}}}", parts.join(", "))
        }
    }

    /// A copy on the shared subscription whose group had one member, connected: that
    /// member must get it (a group of several: which one is the broker's choice, and a
    /// scenario cannot say "one of these clients", so it is not written as required).
    pub(super) fn sole_shared_member(&self, o: &Obligation) -> bool {
        self.model.shared_rules().iter().any(|r| {
            r.must && r.msg == o.msg && r.op == o.op && r.members == [o.slot] && r.max_copies == 1
        })
    }

    pub(super) fn step_v5(&mut self, d: &DoneV5) {
        match d {
            DoneV5::Subscribe { conn, filters, .. } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                let pid = self.pid(&name);
                let list: Vec<String> = filters
                    .iter()
                    .map(|(f, qos, o)| {
                        format!(
                            "{{filter: {}, qos: {qos}, no_local: {}, retain_as_published: {}, retain_handling: {}}}",
                            topic(f),
                            o.no_local,
                            o.retain_as_published,
                            o.retain_handling
                        )
                    })
                    .collect();
                self.line(&format!(
                    "send: {{client: {name}, packet: {{subscribe: {{packet_id: {pid}, filters: [{}]}}}}}}",
                    list.join(", ")
                ));
                self.ack(&name, "suback", pid);
            }
            DoneV5::Share { conn, qos, .. } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                let pid = self.pid(&name);
                self.line(&format!(
                    "send: {{client: {name}, packet: {{subscribe: {{packet_id: {pid}, filters: [{{filter: {}, qos: {qos}}}]}}}}}}",
                    q(&format!("$share/g/${{topic}}/{SHARED_FILTER}"))
                ));
                self.ack(&name, "suback", pid);
            }
            DoneV5::Unshare { conn, .. } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                let pid = self.pid(&name);
                self.line(&format!(
                    "send: {{client: {name}, packet: {{unsubscribe: {{packet_id: {pid}, filters: [{}]}}}}}}",
                    q(&format!("$share/g/${{topic}}/{SHARED_FILTER}"))
                ));
                self.ack(&name, "unsuback", pid);
            }
            DoneV5::Disconnect {
                slot,
                conn,
                expiry,
                with_will,
            } => {
                let Some(name) = self.names.get(conn).cloned() else {
                    return;
                };
                self.quiet(*slot, &name);
                let mut line = format!("disconnect: {{client: {name}");
                if *with_will {
                    line.push_str(", reason: 0x04");
                }
                if let Some(e) = expiry {
                    let _ = write!(
                        line,
                        ", properties: {{session_expiry_interval: {}}}",
                        if *e == NEVER { NEVER } else { *e }
                    );
                }
                line.push('}');
                self.line(&line);
                self.live.remove(slot);
            }
            DoneV5::Wait { ms } => {
                if *ms > 0 {
                    self.line(&format!("sleep: {ms}ms"));
                }
            }
        }
    }
}
