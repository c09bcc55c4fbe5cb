//! Turning the typed packets of a scenario into codec packets, with variables expanded.

use super::client::Client;
use super::runner::Credentials;
use super::vars::Vars;
use crate::scenario::idref::IdRef;
use crate::scenario::load::parse_hex;
use crate::scenario::model::{ConnectFields, PacketSpec, PayloadSpec};
use crate::scenario::props::PropertiesSpec;
use bytes::Bytes;
use mqttspec_codec::{
    Auth, ConnAck, Connect, Disconnect, Packet, Properties, ProtocolVersion, PubAck, PubComp,
    PubRec, PubRel, Publish, QoS, ReasonCode, SubAck, Subscribe, SubscribeOptions, Subscription,
    UnsubAck, Unsubscribe, Will,
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
            properties: props(&w.properties, vars)?,
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
        properties: props(&fields.properties, vars)?,
        client_id: client_id.into(),
        will,
        username: username.map(Into::into),
        password: password.map(Bytes::from),
    })
}

/// The 5.0 properties a packet carries (none when the step gives none).
pub fn props(spec: &Option<Box<PropertiesSpec>>, vars: &Vars) -> Result<Properties, String> {
    spec.as_ref()
        .map_or_else(|| Ok(Properties::default()), |p| p.build(vars))
}

/// Properties of a packet whose block may be left out entirely (acks, DISCONNECT, AUTH).
fn opt_props(
    spec: &Option<Box<PropertiesSpec>>,
    vars: &Vars,
) -> Result<Option<Properties>, String> {
    spec.as_ref().map(|p| p.build(vars)).transpose()
}

/// A 5.0 acknowledgement's reason code and properties; `None`s leave them off the wire.
fn ack_fields(
    reason: Option<u8>,
    properties: &Option<Box<PropertiesSpec>>,
    vars: &Vars,
) -> Result<(Option<ReasonCode>, Option<Properties>), String> {
    let properties = opt_props(properties, vars)?;
    // A property block needs the reason code before it (3.4.2.1).
    let reason = match (reason, &properties) {
        (Some(r), _) => Some(ReasonCode(r)),
        (None, Some(_)) => Some(ReasonCode(0)),
        (None, None) => None,
    };
    Ok((reason, properties))
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

/// A DISCONNECT; in 5.0 with a reason code and properties when given.
pub fn disconnect(
    reason: Option<u8>,
    properties: &Option<Box<PropertiesSpec>>,
    vars: &Vars,
) -> Result<Disconnect, String> {
    let (reason_code, properties) = ack_fields(reason, properties, vars)?;
    Ok(Disconnect {
        reason_code,
        properties,
    })
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
            let mut ack = ConnAck::new(c.session_present, ReasonCode(c.code));
            ack.properties = props(&c.properties, vars)?;
            Packet::ConnAck(ack)
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
                properties: props(&p.properties, vars)?,
                payload: payload(p.payload_spec(), vars)?,
            })
        }
        PacketSpec::Puback(a) => {
            let mut ack = PubAck::new(resolve_id(&a.packet_id, vars)?);
            (ack.reason_code, ack.properties) = ack_fields(a.reason, &a.properties, vars)?;
            Packet::PubAck(ack)
        }
        PacketSpec::Pubrec(a) => {
            let mut ack = PubRec::new(resolve_id(&a.packet_id, vars)?);
            (ack.reason_code, ack.properties) = ack_fields(a.reason, &a.properties, vars)?;
            Packet::PubRec(ack)
        }
        PacketSpec::Pubrel(a) => {
            let mut ack = PubRel::new(resolve_id(&a.packet_id, vars)?);
            (ack.reason_code, ack.properties) = ack_fields(a.reason, &a.properties, vars)?;
            Packet::PubRel(ack)
        }
        PacketSpec::Pubcomp(a) => {
            let mut ack = PubComp::new(resolve_id(&a.packet_id, vars)?);
            (ack.reason_code, ack.properties) = ack_fields(a.reason, &a.properties, vars)?;
            Packet::PubComp(ack)
        }
        PacketSpec::Subscribe(s) => {
            let packet_id = id_or_next(&s.packet_id, vars, client)?;
            let subscriptions = s
                .filters
                .iter()
                .map(|f| {
                    if f.retain_handling > 2 {
                        return Err(format!(
                            "retain_handling {} is not 0, 1 or 2; send it with `hex`",
                            f.retain_handling
                        ));
                    }
                    Ok(Subscription {
                        filter: vars.expand(&f.filter)?.into(),
                        options: SubscribeOptions {
                            no_local: f.no_local,
                            retain_as_published: f.retain_as_published,
                            retain_handling: f.retain_handling,
                            ..SubscribeOptions::qos(qos(f.qos)?)
                        },
                    })
                })
                .collect::<Result<_, String>>()?;
            Packet::Subscribe(Subscribe {
                packet_id,
                properties: props(&s.properties, vars)?,
                subscriptions,
            })
        }
        PacketSpec::Suback(s) => Packet::SubAck(SubAck {
            packet_id: resolve_id(&s.packet_id, vars)?,
            properties: props(&s.properties, vars)?,
            return_codes: s.codes.iter().map(|c| ReasonCode(*c)).collect(),
        }),
        PacketSpec::Unsubscribe(u) => Packet::Unsubscribe(Unsubscribe {
            packet_id: id_or_next(&u.packet_id, vars, client)?,
            properties: props(&u.properties, vars)?,
            filters: u
                .filters
                .iter()
                .map(|f| vars.expand(f).map(Into::into))
                .collect::<Result<_, String>>()?,
        }),
        PacketSpec::Unsuback(a) => {
            let mut ack = UnsubAck::new(resolve_id(&a.packet_id, vars)?);
            ack.properties = props(&a.properties, vars)?;
            ack.reason_codes = a.codes.iter().map(|c| ReasonCode(*c)).collect();
            Packet::UnsubAck(ack)
        }
        PacketSpec::Pingreq => Packet::PingReq,
        PacketSpec::Pingresp => Packet::PingResp,
        PacketSpec::Disconnect(d) => Packet::Disconnect(disconnect(d.reason, &d.properties, vars)?),
        PacketSpec::Auth(a) => {
            let (reason_code, properties) = ack_fields(a.reason, &a.properties, vars)?;
            Packet::Auth(Auth {
                reason_code,
                properties,
            })
        }
    })
}
