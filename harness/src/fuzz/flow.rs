//! Valid flows built with the codec: one client's packets from its CONNECT on, which a
//! correct broker answers with a known set of acknowledgements. 5.0 flows carry what 5.0
//! adds: CONNECT and will properties, subscription options and identifiers, PUBLISH
//! properties and topic aliases, reason codes and properties on PUBREL and DISCONNECT, and
//! now and then an enhanced-authentication start (CONNECT with a method, then AUTH).

use crate::sim::rng::Rng;
use mqttspec_codec::{
    Auth, Connect, Disconnect, Packet, Properties, Property, ProtocolVersion, PubRel, Publish, QoS,
    ReasonCode, Subscribe, Subscription, Unsubscribe, Will,
};

/// Names one case may use without meeting another case's (its client identifier and the
/// prefix of its topics), and the protocol version the run asks for.
#[derive(Debug, Clone)]
pub struct CaseIds {
    pub client_id: String,
    pub topic: String,
    /// `None`: 3.1.1 or 5.0, half each.
    pub version: Option<ProtocolVersion>,
}

/// A valid flow of one client, in the order it is sent.
#[derive(Debug, Clone)]
pub struct Flow {
    pub version: ProtocolVersion,
    pub packets: Vec<Packet>,
}

/// A number in `0..n` (0 when `n` is 0).
pub fn below(rng: &mut Rng, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (rng.next_u64() % n as u64) as usize
}

/// One of `items` (which must not be empty).
pub fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[below(rng, items.len())]
}

fn qos(rng: &mut Rng) -> QoS {
    *pick(rng, &[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

fn user(rng: &mut Rng) -> Property {
    let key = *pick(rng, &["region", "trace-id", "k"]);
    Property::UserProperty(key.into(), format!("v{}", below(rng, 100)).into())
}

/// The CONNECT's 5.0 properties: session expiry (0 or a few seconds, so that nothing
/// outlives the run for long), flow control, topic aliases, problem and response
/// information, user properties.
fn connect_properties(rng: &mut Rng) -> Properties {
    let mut p = Properties::new();
    if rng.chance(0.4) {
        p.push(Property::SessionExpiryInterval(*pick(rng, &[0, 5, 30])));
    }
    if rng.chance(0.4) {
        p.push(Property::ReceiveMaximum(*pick(rng, &[1, 20, u16::MAX])));
    }
    if rng.chance(0.3) {
        p.push(Property::MaximumPacketSize(*pick(rng, &[4096, 1 << 20])));
    }
    if rng.chance(0.3) {
        p.push(Property::TopicAliasMaximum(*pick(rng, &[0, 5])));
    }
    if rng.chance(0.3) {
        p.push(Property::RequestResponseInformation(1));
    }
    if rng.chance(0.3) {
        p.push(Property::RequestProblemInformation(below(rng, 2) as u8));
    }
    if rng.chance(0.3) {
        p.push(user(rng));
    }
    p
}

/// A PUBLISH's 5.0 properties, as a publisher may set them.
fn publish_properties(rng: &mut Rng, topic: &str) -> Properties {
    let mut p = Properties::new();
    if rng.chance(0.3) {
        // The payloads are ASCII: a UTF-8 payload is honest.
        p.push(Property::PayloadFormatIndicator(1));
    }
    if rng.chance(0.3) {
        p.push(Property::MessageExpiryInterval(*pick(rng, &[1, 30, 3600])));
    }
    if rng.chance(0.3) {
        p.push(Property::ContentType("text/plain; fuzz".into()));
    }
    if rng.chance(0.3) {
        p.push(Property::ResponseTopic(format!("{topic}/reply").into()));
        p.push(Property::CorrelationData(vec![0xC0, 0xFF, 0xEE].into()));
    }
    for _ in 0..below(rng, 3) {
        p.push(user(rng));
    }
    p
}

/// A valid flow: CONNECT, then a few SUBSCRIBE, PUBLISH (with PUBREL after a QoS 2 one),
/// UNSUBSCRIBE and PINGREQ packets, sometimes ending with DISCONNECT; in 5.0 sometimes an
/// enhanced-authentication start instead.
pub fn flow(rng: &mut Rng, ids: &CaseIds) -> Flow {
    let drawn = if rng.chance(0.5) {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let version = ids.version.unwrap_or(drawn);
    let v5 = version == ProtocolVersion::V5;
    let mut connect = Connect {
        version,
        client_id: ids.client_id.clone().into(),
        keep_alive: 60,
        ..Connect::default()
    };
    if v5 && rng.chance(0.6) {
        connect.properties = connect_properties(rng);
    }
    if rng.chance(0.15) {
        connect.will = Some(Will {
            topic: format!("{}/will", ids.topic).into(),
            payload: b"gone".to_vec().into(),
            qos: qos(rng),
            retain: false,
            properties: if v5 && rng.chance(0.7) {
                Properties::new()
                    .with(Property::WillDelayInterval(*pick(rng, &[0, 1])))
                    .with(Property::MessageExpiryInterval(60))
                    .with(Property::ContentType("text/plain".into()))
                    .with(user(rng))
            } else {
                Properties::new()
            },
        });
    }
    if v5 && rng.chance(0.08) {
        return auth_flow(rng, connect);
    }
    let expiry = connect
        .properties
        .iter()
        .find_map(|p| match p {
            Property::SessionExpiryInterval(e) => Some(*e),
            _ => None,
        })
        .unwrap_or(0);
    let mut packets = vec![Packet::Connect(connect)];
    let mut next_id: u16 = 1;
    let mut take_id = || {
        let id = next_id;
        next_id = next_id.wrapping_add(1).max(1);
        id
    };
    // Topic alias 1, once set by a PUBLISH with its topic (5.0 section 3.3.2.3.4).
    let mut alias_set = false;
    let steps = 1 + below(rng, 6);
    for _ in 0..steps {
        match below(rng, 5) {
            0 => {
                let mut sub = Subscription::new(format!("{}/#", ids.topic), qos(rng));
                let mut properties = Properties::default();
                if v5 {
                    sub.options.no_local = rng.chance(0.3);
                    sub.options.retain_as_published = rng.chance(0.3);
                    sub.options.retain_handling = below(rng, 3) as u8;
                    if rng.chance(0.3) {
                        properties.push(Property::SubscriptionIdentifier(
                            1 + below(rng, 1000) as u32,
                        ));
                    }
                    if rng.chance(0.2) {
                        properties.push(user(rng));
                    }
                }
                packets.push(Packet::Subscribe(Subscribe {
                    packet_id: take_id(),
                    properties,
                    subscriptions: vec![sub],
                }));
            }
            1 | 2 => {
                let q = qos(rng);
                let topic = format!("{}/{}", ids.topic, below(rng, 4));
                let mut p = Publish::new(topic.clone(), q, vec![b'x'; below(rng, 40)]);
                if q != QoS::AtMostOnce {
                    p.packet_id = take_id();
                }
                if v5 && rng.chance(0.5) {
                    p.properties = publish_properties(rng, &ids.topic);
                }
                if v5 && rng.chance(0.25) {
                    // Set the alias with the topic, or use it with an empty topic once set.
                    p.properties.push(Property::TopicAlias(1));
                    if alias_set && rng.chance(0.6) {
                        p.topic = "".into();
                    }
                    alias_set = true;
                }
                let id = p.packet_id;
                packets.push(Packet::Publish(p));
                if q == QoS::ExactlyOnce {
                    let mut rel = PubRel::new(id);
                    if v5 && rng.chance(0.3) {
                        rel.reason_code = Some(ReasonCode(0));
                        rel.properties = Some(Properties::new().with(user(rng)));
                    }
                    packets.push(Packet::PubRel(rel));
                }
            }
            3 => packets.push(Packet::Unsubscribe(Unsubscribe {
                packet_id: take_id(),
                properties: if v5 && rng.chance(0.3) {
                    Properties::new().with(user(rng))
                } else {
                    Properties::default()
                },
                filters: vec![format!("{}/#", ids.topic).into()],
            })),
            _ => packets.push(Packet::PingReq),
        }
    }
    if rng.chance(0.15) {
        let mut d = Disconnect::default();
        if v5 && rng.chance(0.6) {
            // 0x00 normal, 0x04 with will; a session expiry only where the CONNECT had a
            // non-zero one (raising it from 0 is a protocol error, 5.0 section 3.14.2.2.2).
            d.reason_code = Some(ReasonCode(*pick(rng, &[0x00, 0x04])));
            let mut props = Properties::new().with(Property::ReasonString("done".into()));
            if expiry > 0 {
                props.push(Property::SessionExpiryInterval(*pick(rng, &[0, expiry])));
            }
            d.properties = Some(props);
        }
        packets.push(Packet::Disconnect(d));
    }
    Flow { version, packets }
}

/// A 5.0 CONNECT naming an Authentication Method, then AUTH continuing it: the broker
/// answers with AUTH, or a CONNACK (accepting, or refusing an unknown method with 0x8C).
fn auth_flow(rng: &mut Rng, mut connect: Connect) -> Flow {
    let method = *pick(rng, &["SCRAM-SHA-256", "mqttspec-unknown"]);
    connect
        .properties
        .push(Property::AuthenticationMethod(method.into()));
    connect.properties.push(Property::AuthenticationData(
        b"n,,n=fuzz,r=0123456789".to_vec().into(),
    ));
    let mut packets = vec![Packet::Connect(connect)];
    if rng.chance(0.6) {
        packets.push(Packet::Auth(Auth {
            reason_code: Some(ReasonCode(0x18)),
            properties: Some(
                Properties::new()
                    .with(Property::AuthenticationMethod(method.into()))
                    .with(Property::AuthenticationData(
                        b"c=biws,r=x,p=AAAA".to_vec().into(),
                    )),
            ),
        }));
    }
    Flow {
        version: ProtocolVersion::V5,
        packets,
    }
}
