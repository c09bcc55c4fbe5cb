//! What happened in a simulated run, in the order it happened: the input of the checker and
//! of the trace hash. Every message carries a unique id in its payload (`m|device|seq|`),
//! every will the connection it belongs to (`w|device|conn|`).

use std::fmt;
use std::time::Duration;

/// A message's id: publishing device and sequence number (from 1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgId {
    pub device: String,
    pub seq: u64,
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.device, self.seq)
    }
}

/// What a payload says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadId {
    Message(MsgId),
    Will { device: String, conn: u32 },
}

/// Builds the payload of message `id`, padded with `.` to `len` bytes.
pub fn message_payload(id: &MsgId, len: usize) -> Vec<u8> {
    pad(format!("m|{}|{}|", id.device, id.seq), len)
}

pub fn will_payload(device: &str, conn: u32) -> Vec<u8> {
    format!("w|{device}|{conn}|").into_bytes()
}

fn pad(head: String, len: usize) -> Vec<u8> {
    let mut v = head.into_bytes();
    if v.len() < len {
        v.resize(len, b'.');
    }
    v
}

/// Reads a payload written by [`message_payload`] or [`will_payload`].
pub fn parse_payload(bytes: &[u8]) -> Option<PayloadId> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut parts = text.split('|');
    let kind = parts.next()?;
    let device = parts.next()?.to_owned();
    let n = parts.next()?;
    parts.next()?; // the closing bar
    match kind {
        "m" => Some(PayloadId::Message(MsgId {
            device,
            seq: n.parse().ok()?,
        })),
        "w" => Some(PayloadId::Will {
            device,
            conn: n.parse().ok()?,
        }),
        _ => None,
    }
}

/// One event, stamped with simulated time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: Duration,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A device sent CONNECT on its connection number `conn` (from 1).
    ConnectSent { device: String, conn: u32 },
    /// The broker accepted it: from here the broker holds the connection's will.
    Connected {
        device: String,
        conn: u32,
        session_present: bool,
    },
    /// The connection ended; `clean` when the device sent DISCONNECT on a healthy link.
    ConnectionEnded {
        device: String,
        conn: u32,
        clean: bool,
        why: String,
    },
    /// A device published a message for the first time.
    Published {
        id: MsgId,
        topic: String,
        qos: u8,
        retain: bool,
    },
    /// The publisher got PUBACK (QoS 1) or PUBCOMP (QoS 2): the broker owns the message.
    Acked { id: MsgId },
    /// A subscriber received a PUBLISH (a new one: QoS 2 retransmissions it already holds
    /// are not deliveries).
    Delivered {
        subscriber: String,
        payload: PayloadId,
        topic: String,
        qos: u8,
        dup: bool,
        retain: bool,
    },
    /// A subscriber received bytes it could not read as one of ours.
    Garbage { subscriber: String, detail: String },
    /// A network fault began.
    Fault { target: String, fault: String },
    /// A subscriber's subscription is in place.
    Subscribed { subscriber: String, filter: String },
    /// The broker crashed: its sessions, wills and retained messages are gone.
    BrokerDown,
    /// The broker is running again.
    BrokerUp,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>14.6} ", self.at.as_secs_f64())?;
        match &self.what {
            What::ConnectSent { device, conn } => write!(f, "{device} CONNECT conn={conn}"),
            What::Connected {
                device,
                conn,
                session_present,
            } => write!(f, "{device} CONNACK conn={conn} sp={session_present}"),
            What::ConnectionEnded {
                device,
                conn,
                clean,
                why,
            } => write!(f, "{device} closed conn={conn} clean={clean} ({why})"),
            What::Published {
                id,
                topic,
                qos,
                retain,
            } => write!(f, "publish {id} {topic} q{qos} r{}", u8::from(*retain)),
            What::Acked { id } => write!(f, "acked {id}"),
            What::Delivered {
                subscriber,
                payload,
                topic,
                qos,
                dup,
                retain,
            } => {
                let p = match payload {
                    PayloadId::Message(id) => id.to_string(),
                    PayloadId::Will { device, conn } => format!("will {device}/{conn}"),
                };
                write!(
                    f,
                    "{subscriber} got {p} {topic} q{qos} d{} r{}",
                    u8::from(*dup),
                    u8::from(*retain)
                )
            }
            What::Garbage { subscriber, detail } => write!(f, "{subscriber} garbage: {detail}"),
            What::Fault { target, fault } => write!(f, "fault {fault} on {target}"),
            What::Subscribed { subscriber, filter } => {
                write!(f, "{subscriber} subscribed {filter}")
            }
            What::BrokerDown => f.write_str("broker crashed"),
            What::BrokerUp => f.write_str("broker started"),
        }
    }
}

/// The whole history of a run.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub events: Vec<Event>,
}

impl History {
    pub fn push(&mut self, at: Duration, what: What) {
        self.events.push(Event { at, what });
    }

    /// FNV-1a over the printed events: equal for equal runs, printed by `mqttspec sim`.
    pub fn trace_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for e in &self.events {
            for b in e.to_string().bytes().chain(std::iter::once(b'\n')) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let id = MsgId {
            device: "meter-3".into(),
            seq: 17,
        };
        let p = message_payload(&id, 64);
        assert_eq!(p.len(), 64);
        assert_eq!(parse_payload(&p), Some(PayloadId::Message(id)));
        assert_eq!(
            parse_payload(&will_payload("meter-3", 2)),
            Some(PayloadId::Will {
                device: "meter-3".into(),
                conn: 2
            })
        );
        assert_eq!(parse_payload(b"m|x|notanumber|"), None);
        assert_eq!(parse_payload(&[0xff, 0xfe]), None);
    }
}
