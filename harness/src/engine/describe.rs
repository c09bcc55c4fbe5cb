//! One-line descriptions of packets for traces and failure messages.

use mqttspec_codec::{Packet, Properties, ReasonCode};

const PAYLOAD_PREVIEW: usize = 48;

pub fn payload(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(PAYLOAD_PREVIEW)];
    let more = if bytes.len() > PAYLOAD_PREVIEW {
        "…"
    } else {
        ""
    };
    match std::str::from_utf8(shown) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => {
            format!("{s:?}{more} ({} bytes)", bytes.len())
        }
        _ => format!(
            "0x{}{more} ({} bytes)",
            super::trace::hex(shown).replace(' ', ""),
            bytes.len()
        ),
    }
}

fn props(p: &Properties) -> String {
    if p.is_empty() {
        String::new()
    } else {
        format!(" properties={:?}", p.0)
    }
}

fn opt_reason(code: Option<ReasonCode>) -> String {
    code.map(|c| format!(" reason={c}")).unwrap_or_default()
}

pub fn packet(p: &Packet) -> String {
    match p {
        Packet::Connect(c) => format!(
            "CONNECT v{} client_id={:?} clean={} keep_alive={}{}{}{}{}",
            c.version,
            &*c.client_id,
            c.clean_start,
            c.keep_alive,
            c.will
                .as_ref()
                .map(|w| format!(
                    " will={{topic={:?} qos={} retain={} payload={}}}",
                    &*w.topic,
                    w.qos.as_u8(),
                    w.retain,
                    payload(&w.payload)
                ))
                .unwrap_or_default(),
            c.username
                .as_ref()
                .map(|u| format!(" username={:?}", &**u))
                .unwrap_or_default(),
            if c.password.is_some() {
                " password=…"
            } else {
                ""
            },
            props(&c.properties),
        ),
        Packet::ConnAck(c) => format!(
            "CONNACK session_present={} code={}{}",
            c.session_present,
            c.code,
            props(&c.properties)
        ),
        Packet::Publish(p) => format!(
            "PUBLISH topic={:?} qos={} retain={} dup={}{} payload={}{}",
            &*p.topic,
            p.qos.as_u8(),
            p.retain,
            p.dup,
            if p.qos.as_u8() > 0 {
                format!(" id={}", p.packet_id)
            } else {
                String::new()
            },
            payload(&p.payload),
            props(&p.properties)
        ),
        Packet::PubAck(a) => format!("PUBACK id={}{}", a.packet_id, opt_reason(a.reason_code)),
        Packet::PubRec(a) => format!("PUBREC id={}{}", a.packet_id, opt_reason(a.reason_code)),
        Packet::PubRel(a) => format!("PUBREL id={}{}", a.packet_id, opt_reason(a.reason_code)),
        Packet::PubComp(a) => format!("PUBCOMP id={}{}", a.packet_id, opt_reason(a.reason_code)),
        Packet::Subscribe(s) => format!(
            "SUBSCRIBE id={} [{}]{}",
            s.packet_id,
            s.subscriptions
                .iter()
                .map(|s| format!("{:?} qos={}", &*s.filter, s.options.qos.as_u8()))
                .collect::<Vec<_>>()
                .join(", "),
            props(&s.properties)
        ),
        Packet::SubAck(s) => format!(
            "SUBACK id={} codes=[{}]{}",
            s.packet_id,
            s.return_codes
                .iter()
                .map(|c| format!("{:#04x}", c.0))
                .collect::<Vec<_>>()
                .join(", "),
            props(&s.properties)
        ),
        Packet::Unsubscribe(u) => format!(
            "UNSUBSCRIBE id={} [{}]",
            u.packet_id,
            u.filters
                .iter()
                .map(|f| format!("{:?}", &**f))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Packet::UnsubAck(u) => format!("UNSUBACK id={}", u.packet_id),
        Packet::PingReq => "PINGREQ".into(),
        Packet::PingResp => "PINGRESP".into(),
        Packet::Disconnect(d) => format!(
            "DISCONNECT{}{}",
            opt_reason(d.reason_code),
            d.properties.as_ref().map(props).unwrap_or_default()
        ),
        Packet::Auth(a) => format!(
            "AUTH{}{}",
            opt_reason(a.reason_code),
            a.properties.as_ref().map(props).unwrap_or_default()
        ),
    }
}
