//! Reproducer steps that acknowledge by the script: required copies whose identifiers are
//! saved and stated, and the SUBACK codes a correct broker may send.

use super::Writer;
use crate::model::{ConnNo, Hold, Obligation};
use std::fmt::Write as _;

impl Writer<'_> {
    /// A required copy on a connection that acknowledges by the script (`auto_ack:
    /// false`), or a resend whose identifier is known: one `expect` that saves the
    /// identifier (and states it, or the one it must not be), then the acknowledgements
    /// the connection's mode sends.
    pub(super) fn must_one(
        &mut self,
        name: &str,
        conn: ConnNo,
        o: &Obligation,
        p: String,
        ignore: &str,
    ) {
        let mode = self.modes.get(&conn).copied().unwrap_or_default();
        let qos = o.must_qos.unwrap_or(0);
        let mut p = p;
        let earlier = self.saved.get(&(o.slot, o.msg)).filter(|v| v.len() == 1);
        let constraint = match (o.dup, earlier, self.held.get(&conn).and_then(|h| h.last())) {
            (true, Some(v), _) => Some(format!("packet_id: \"${{{}}}\"", v[0])),
            (false, _, Some(last)) if mode == Hold::All => {
                Some(format!("packet_id_not: \"${{{last}}}\""))
            }
            _ => None,
        };
        if let Some(c) = constraint
            && p.ends_with("}}")
        {
            p.truncate(p.len() - 2);
            let _ = write!(p, ", {c}}}}}");
        }
        let var = self.var();
        let within = self.within.clone();
        self.line(&format!(
            "expect: {{client: {name}, packet: {p}, ignore: {ignore}, within: {within}, save: {{{var}: packet_id}}}}"
        ));
        self.saved
            .entry((o.slot, o.msg))
            .or_default()
            .push(var.clone());
        match (mode, qos) {
            (Hold::All, _) => self.held.entry(conn).or_default().push(var),
            (Hold::Comp, 1) => self.line(&format!(
                "send: {{client: {name}, packet: {{puback: {{packet_id: \"${{{var}}}\"}}}}}}"
            )),
            (Hold::Comp, 2) => {
                self.line(&format!(
                    "send: {{client: {name}, packet: {{pubrec: {{packet_id: \"${{{var}}}\"}}}}}}"
                ));
                self.line(&format!(
                    "expect: {{client: {name}, packet: {{pubrel: {{packet_id: \"${{{var}}}\"}}}}, ignore: {ignore}}}"
                ));
                self.released.entry(o.slot).or_default().push(var);
            }
            _ => {}
        }
    }

    /// The SUBACK of a SUBSCRIBE whose SUBACK was wrong: one code per filter, each the QoS
    /// asked or lower, or 0x80 (3.1.1/MQTT-3.8.4-5, 3.9.3): every such list is allowed.
    pub(super) fn suback_codes(&mut self, name: &str, pid: u16, filters: &[(String, u8)]) {
        let mut lists: Vec<Vec<u8>> = vec![Vec::new()];
        for (_, asked) in filters {
            let mut next = Vec::new();
            for l in &lists {
                for code in (0..=*asked).chain([0x80]) {
                    let mut l = l.clone();
                    l.push(code);
                    next.push(l);
                }
            }
            lists = next;
        }
        let alts: Vec<String> = lists
            .iter()
            .map(|l| {
                let codes: Vec<String> = l.iter().map(ToString::to_string).collect();
                format!(
                    "{{suback: {{packet_id: {pid}, codes: [{}]}}}}",
                    codes.join(", ")
                )
            })
            .collect();
        self.line(&format!(
            "expect: {{client: {name}, any_of: [{}], ignore: [{{pubrel: {{}}}}], statements: [3.1.1/MQTT-3.8.4-5]}}",
            alts.join(", ")
        ));
    }
}
