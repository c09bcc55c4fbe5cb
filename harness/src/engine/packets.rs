//! Turning the typed packets of a scenario into codec packets, with variables expanded.

use super::client::Client;
use super::runner::Credentials;
use super::vars::Vars;
use crate::scenario::idref::IdRef;
use crate::scenario::load::parse_hex;
use crate::scenario::model::{ConnectFields, PacketSpec, PayloadSpec};
use bytes::Bytes;
use mqttspec_codec::{
    ConnAck, Connect, Disconnect, Packet, ProtocolVersion, PubAck, PubComp, PubRec, PubRel,
    Publish, QoS, ReasonCode, SubAck, Subscribe, SubscribeOptions, Subscription, UnsubAck,
    Unsubscribe, Will,
};

/// The bytes a payload spec stands for. Generated payloads are a fixed pattern, so runs
/// repeat exactly.
pub fn payload(spec: PayloadSpec<'_>, vars: &Vars) -> Result<Bytes, String> {
    if let Some(text) = spec.text {
        return Ok(Bytes::from(vars.expand(text)?));
    }
    if let Some(hex) = spec.hex {
        return parse_hex(hex).map(Bytes::from);
    }
    if let Some(size) = spec.size {
        return Ok((0..size)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into());
    }
    Ok(Bytes::new())
}

pub fn qos(value: u8) -> Result<QoS, String> {
    QoS::from_u8(value).ok_or_else(|| format!("QoS {value} is not 0, 1 or 2"))
}

pub fn resolve_id(id: &IdRef, vars: &Vars) -> Result<u16, String> {
    match id {
        IdRef::Lit(v) => Ok(*v),
        IdRef::Var(name) => {
            let v = vars
                .get(name)
                .ok_or_else(|| format!("`${{{name}}}` was not saved by an earlier step"))?;
            v.parse()
                .map_err(|_| format!("`${{{name}}}` holds {v:?}, not a packet identifier"))
        }
    }
}

fn id_or_next(id: &Option<IdRef>, vars: &Vars, client: &mut Client) -> Result<u16, String> {
    match id {
        Some(id) => resolve_id(id, vars),
        None => Ok(client.next_packet_id()),
    }
}

/// The CONNECT a client sends. Without `client_id`, a unique id from the run's prefix.
pub fn connect(
    fields: &ConnectFields,
    client_name: &str,
    version: ProtocolVersion,
    vars: &Vars,
    credentials: &Option<Credentials>,
) -> Result<Connect, String> {
    let client_id = match &fields.client_id {
        Some(id) => vars.expand(id)?,
        None => default_client_id(vars.get("client").unwrap_or("ms"), client_name),
    };
    let will = match &fields.will {
        None => None,
        Some(w) => Some(Will {
            topic: vars.expand(&w.topic)?.into(),
            payload: payload(w.payload_spec(), vars)?,
            qos: qos(w.qos)?,
            retain: w.retain,
            properties: Default::default(),
        }),
    };
    // Credentials given on the command line apply unless the scenario sets its own.
    let (username, password) = match (&fields.username, &fields.password, credentials) {
        (None, None, Some(c)) => (Some(c.username.clone()), c.password.clone()),
        (u, p, _) => (
            u.as_deref().map(|u| vars.expand(u)).transpose()?,
            p.as_deref().map(|p| vars.expand(p)).transpose()?,
        ),
    };
    Ok(Connect {
        version,
        clean_start: fields.clean_session.unwrap_or(true),
        keep_alive: fields.keep_alive.unwrap_or(60),
        properties: Default::default(),
        client_id: client_id.into(),
        will,
        username: username.map(Into::into),
        password: password.map(Bytes::from),
    })
}

/// A client id of at most 23 letters and digits, which every broker must accept
/// (3.1.1/MQTT-3.1.3-5).
pub fn default_client_id(prefix: &str, name: &str) -> String {
    let mut id: String = prefix
        .chars()
        .chain(name.chars())
        .filter(char::is_ascii_alphanumeric)
        .collect();
    id.truncate(23);
    id
}

pub fn build(
    spec: &PacketSpec,
    client_name: &str,
    client: &mut Client,
    vars: &Vars,
    credentials: &Option<Credentials>,
) -> Result<Packet, String> {
    let version = client.version;
    Ok(match spec {
        PacketSpec::Connect(f) => {
            Packet::Connect(connect(f, client_name, version, vars, credentials)?)
        }
        PacketSpec::Connack(c) => {
            Packet::ConnAck(ConnAck::new(c.session_present, ReasonCode(c.code)))
        }
        PacketSpec::Publish(p) => {
            let qos = qos(p.qos)?;
            let packet_id = match qos {
                QoS::AtMostOnce => match &p.packet_id {
                    Some(_) => return Err("a QoS 0 PUBLISH has no packet identifier".into()),
                    None => 0,
                },
                _ => id_or_next(&p.packet_id, vars, client)?,
            };
            Packet::Publish(Publish {
                dup: p.dup,
                qos,
                retain: p.retain,
                topic: vars.expand(&p.topic)?.into(),
                packet_id,
                properties: Default::default(),
                payload: payload(p.payload_spec(), vars)?,
            })
        }
        PacketSpec::Puback(a) => Packet::PubAck(PubAck::new(resolve_id(&a.packet_id, vars)?)),
        PacketSpec::Pubrec(a) => Packet::PubRec(PubRec::new(resolve_id(&a.packet_id, vars)?)),
        PacketSpec::Pubrel(a) => Packet::PubRel(PubRel::new(resolve_id(&a.packet_id, vars)?)),
        PacketSpec::Pubcomp(a) => Packet::PubComp(PubComp::new(resolve_id(&a.packet_id, vars)?)),
        PacketSpec::Subscribe(s) => {
            let packet_id = id_or_next(&s.packet_id, vars, client)?;
            let subscriptions = s
                .filters
                .iter()
                .map(|f| {
                    Ok(Subscription {
                        filter: vars.expand(&f.filter)?.into(),
                        options: SubscribeOptions::qos(qos(f.qos)?),
                    })
                })
                .collect::<Result<_, String>>()?;
            Packet::Subscribe(Subscribe {
                packet_id,
                properties: Default::default(),
                subscriptions,
            })
        }
        PacketSpec::Suback(s) => Packet::SubAck(SubAck {
            packet_id: resolve_id(&s.packet_id, vars)?,
            properties: Default::default(),
            return_codes: s.codes.iter().map(|c| ReasonCode(*c)).collect(),
        }),
        PacketSpec::Unsubscribe(u) => Packet::Unsubscribe(Unsubscribe {
            packet_id: id_or_next(&u.packet_id, vars, client)?,
            properties: Default::default(),
            filters: u
                .filters
                .iter()
                .map(|f| vars.expand(f).map(Into::into))
                .collect::<Result<_, String>>()?,
        }),
        PacketSpec::Unsuback(a) => Packet::UnsubAck(UnsubAck::new(resolve_id(&a.packet_id, vars)?)),
        PacketSpec::Pingreq => Packet::PingReq,
        PacketSpec::Pingresp => Packet::PingResp,
        PacketSpec::Disconnect => Packet::Disconnect(Disconnect::default()),
    })
}
