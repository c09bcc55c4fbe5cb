//! Before a run: one plain CONNECT per protocol version the scenarios speak. When the
//! broker refuses every connection (credentials needed) or does not speak a version at
//! all, every scenario would fail the same way; the user gets one sentence with the likely
//! cause instead, and the run stops with "the harness could not do its work".

use crate::engine::client::{Client, Incoming};
use crate::engine::packets;
use crate::engine::runner::Credentials;
use crate::engine::trace::Trace;
use crate::engine::transport::Endpoint;
use crate::engine::vars::Vars;
use crate::scenario::model::ConnectFields;
use mqttspec_codec::{Packet, ProtocolVersion};
use std::time::Duration;

/// What one probing CONNECT met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// CONNACK with return code 0.
    Accepted,
    /// CONNACK with a non-zero return code.
    Refused(u8),
    /// No CONNACK in time, or the connection closed without one, or bytes that are not a
    /// CONNACK of this version.
    NoAnswer(String),
    /// The TCP connection could not be made.
    Unreachable(String),
}

/// What the run does about a version after probing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Run the scenarios of this version.
    Go,
    /// The broker does not speak this version: its scenarios are not applicable.
    VersionNotSpoken(String),
    /// Nothing can run: stop with this explanation.
    Stop(String),
}

/// Sends one CONNECT of `version` with the run's credentials and waits for the CONNACK.
pub async fn probe(
    endpoint: &Endpoint,
    version: ProtocolVersion,
    credentials: &Option<Credentials>,
    run_id: &str,
    timeout: Duration,
) -> Probe {
    let trace = Trace::new();
    let mut client = match Client::connect("probe", endpoint, version, trace, timeout).await {
        Ok(c) => c,
        Err(e) => return Probe::Unreachable(e),
    };
    let vars = Vars::new(&format!("mqttspec/{run_id}/probe"), &format!("ms{run_id}p"));
    let connect = match packets::connect(
        &ConnectFields::default(),
        "probe",
        version,
        &vars,
        credentials,
    ) {
        Ok(c) => c,
        Err(e) => return Probe::NoAnswer(e),
    };
    let packet = Packet::Connect(connect);
    let Ok(bytes) = packet.to_bytes(version) else {
        return Probe::NoAnswer("the probe's CONNECT could not be encoded".into());
    };
    client.send_packet(&packet, bytes);
    let outcome = match client.next(timeout).await {
        Some(Incoming::Packet(Packet::ConnAck(c))) if c.code.0 == 0 => Probe::Accepted,
        Some(Incoming::Packet(Packet::ConnAck(c))) => Probe::Refused(c.code.0),
        Some(Incoming::Packet(p)) => Probe::NoAnswer(format!(
            "the first packet was a {}, not a CONNACK",
            p.packet_type().name()
        )),
        Some(Incoming::Malformed(e)) => Probe::NoAnswer(format!("the answer was malformed: {e}")),
        Some(Incoming::Closed(why)) => {
            Probe::NoAnswer(format!("the connection ended without a CONNACK ({why})"))
        }
        None => Probe::NoAnswer(format!("no CONNACK within {timeout:?}")),
    };
    if outcome == Probe::Accepted {
        let packet = Packet::Disconnect(Default::default());
        if let Ok(bytes) = packet.to_bytes(version) {
            client.send_packet(&packet, bytes);
        }
        client.close_after_disconnect(Duration::from_secs(1)).await;
    } else {
        client.close().await;
    }
    outcome
}

/// What a probe's outcome means for the run. `other` is the outcome of the other version's
/// probe, when one was made, to tell "speaks only 5.0" from "speaks nothing".
pub fn judge(
    version: ProtocolVersion,
    outcome: &Probe,
    other: Option<&Probe>,
    credentials: &Option<Credentials>,
) -> Verdict {
    let v = version.to_string();
    match outcome {
        Probe::Accepted => Verdict::Go,
        Probe::Unreachable(e) => Verdict::Stop(format!("the broker is unreachable: {e}")),
        // 0x05 (3.1.1) and 0x87 (5.0): not authorized; 0x04 and 0x86: bad credentials.
        Probe::Refused(code @ (0x05 | 0x87)) => Verdict::Stop(match credentials {
            None => format!(
                "the broker refused a plain MQTT {v} CONNECT as not authorized (return code {code:#04x}): \
                 it needs credentials; pass --username, with the password in the environment \
                 variable MQTTSPEC_PASSWORD"
            ),
            Some(c) => format!(
                "the broker refused user {:?} as not authorized (return code {code:#04x}): \
                 check --username and MQTTSPEC_PASSWORD",
                c.username
            ),
        }),
        Probe::Refused(code @ (0x04 | 0x86)) => Verdict::Stop(format!(
            "the broker refused the user name or password (return code {code:#04x}): check \
             --username and MQTTSPEC_PASSWORD"
        )),
        Probe::Refused(code @ (0x01 | 0x84)) => Verdict::VersionNotSpoken(format!(
            "the broker does not accept MQTT {v}: it refused a plain CONNECT with return code \
             {code:#04x} (unacceptable protocol version)"
        )),
        Probe::Refused(code) => Verdict::Stop(format!(
            "the broker refused a plain MQTT {v} CONNECT with return code {code:#04x}; every \
             scenario needs an accepted connection"
        )),
        Probe::NoAnswer(why) => {
            let speaks_other = matches!(other, Some(Probe::Accepted | Probe::Refused(_)));
            let hint = match (speaks_other, version) {
                (true, ProtocolVersion::V311) => "; it does answer MQTT 5.0",
                (true, _) => "; it does answer MQTT 3.1.1",
                (false, _) => "",
            };
            Verdict::VersionNotSpoken(format!(
                "the broker does not answer MQTT {v}: {why} to a plain {v} CONNECT{hint}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_explain_themselves() {
        let v = ProtocolVersion::V311;
        match judge(v, &Probe::Refused(5), None, &None) {
            Verdict::Stop(m) => {
                assert!(m.contains("--username"), "{m}");
                assert!(m.contains("MQTTSPEC_PASSWORD"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        let creds = Some(Credentials {
            username: "bob".into(),
            password: Some("secret".into()),
        });
        match judge(v, &Probe::Refused(4), None, &creds) {
            Verdict::Stop(m) => assert!(!m.contains("secret"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(judge(v, &Probe::Accepted, None, &None), Verdict::Go);
    }

    #[test]
    fn a_five_only_broker_is_named() {
        let none = Probe::NoAnswer("no CONNACK within 2s".into());
        match judge(ProtocolVersion::V311, &none, Some(&Probe::Accepted), &None) {
            Verdict::VersionNotSpoken(m) => {
                assert!(m.contains("does not answer MQTT 3.1.1"), "{m}");
                assert!(m.contains("it does answer MQTT 5.0"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }
}
