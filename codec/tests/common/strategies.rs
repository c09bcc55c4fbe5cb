//! proptest strategies for valid packets of both versions. Every generated packet is one a
//! strict decoder must accept, and the strategies lean towards edge values: empty and
//! 65,535-byte strings (rarely, to keep runs fast), every QoS, every property allowed in the
//! packet, repeated user properties, the short forms of the 5.0 acknowledgements.

use super::spec;
use mqttspec_codec::properties::PropertyContext;
use mqttspec_codec::{
    Auth, ByteString, Bytes, ConnAck, Connect, Disconnect, Packet, PacketType, Properties,
    Property, PropertyId, ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS,
    ReasonCode, SubAck, Subscribe, SubscribeOptions, Subscription, UnsubAck, Unsubscribe, Will,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

/// Longest string or binary field: its length is a two-byte integer.
pub const MAX_FIELD: usize = 65_535;

/// A string of exactly 65,535 bytes made of `c` (padded with ASCII when `c` is wider than
/// one byte and does not divide the length).
fn max_len_string_of(c: char) -> String {
    let mut s = c.to_string().repeat(MAX_FIELD / c.len_utf8());
    while s.len() < MAX_FIELD {
        s.push('a');
    }
    s
}

/// Any scalar value but U+0000 (surrogates cannot be a `char`).
fn non_nul_char() -> impl Strategy<Value = char> {
    any::<char>().prop_map(|c| if c == '\0' { '0' } else { c })
}

/// A short string, mostly printable ASCII, sometimes any Unicode.
fn short_string() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z0-9 _./$-]{0,12}",
        2 => vec(non_nul_char(), 0..8).prop_map(String::from_iter),
        1 => Just(String::new()),
    ]
}

/// A valid MQTT UTF-8 string: empty, short, around 256 bytes (the length's high byte
/// changes), or rarely the maximal 65,535 bytes.
pub fn mqtt_string() -> impl Strategy<Value = ByteString> {
    prop_oneof![
        60 => short_string(),
        2 => (250usize..=260).prop_map(|n| "x".repeat(n)),
        1 => select(vec!['a', 'é', '€', '😀']).prop_map(max_len_string_of),
    ]
    .prop_map(ByteString::from)
}

/// Binary data: empty, short, or rarely the maximal 65,535 bytes.
pub fn binary() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        40 => vec(any::<u8>(), 0..16),
        1 => any::<u8>().prop_map(|b| vec![b; MAX_FIELD]),
    ]
    .prop_map(Bytes::from)
}

/// One level of a topic, never a wildcard.
fn name_level() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z0-9 _.$-]{0,8}",
        1 => vec(non_nul_char(), 1..4)
            .prop_map(|cs| cs.into_iter().filter(|c| !matches!(c, '+' | '#' | '/')).collect()),
    ]
}

/// A topic name: at least one character, no wildcard; empty levels allowed ("a//b", "/").
pub fn topic_name() -> impl Strategy<Value = ByteString> {
    prop_oneof![
        60 => vec(name_level(), 1..5).prop_map(|levels| {
            let name = levels.join("/");
            if name.is_empty() { "/".to_owned() } else { name }
        }),
        1 => Just(max_len_string_of('t')),
    ]
    .prop_map(ByteString::from)
}

/// A plain filter: levels that are names or `+`, optionally ending in `#`; or `#`, `+` alone.
fn plain_filter() -> impl Strategy<Value = String> {
    let level = prop_oneof![3 => name_level(), 1 => Just("+".to_owned())];
    prop_oneof![
        1 => Just("#".to_owned()),
        1 => Just("+".to_owned()),
        8 => (vec(level, 1..5), any::<bool>()).prop_map(|(levels, multi)| {
            let mut f = levels.join("/");
            if multi {
                f.push_str("/#");
            } else if f.is_empty() {
                f.push('/');
            }
            f
        }),
    ]
}

/// A share name: at least one character, none of '/', '+', '#'.
fn share_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.$-]{1,8}"
}

/// A valid topic filter; in 5.0 sometimes a shared subscription `$share/name/filter`.
pub fn topic_filter(v: ProtocolVersion) -> BoxedStrategy<ByteString> {
    let filter = match v {
        ProtocolVersion::V311 => plain_filter().boxed(),
        ProtocolVersion::V5 => prop_oneof![
            4 => plain_filter(),
            1 => (share_name(), plain_filter()).prop_map(|(n, f)| format!("$share/{n}/{f}")),
        ]
        .boxed(),
    };
    filter.prop_map(ByteString::from).boxed()
}

pub fn qos() -> impl Strategy<Value = QoS> {
    select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

/// A non-zero packet identifier, with its bounds favoured.
pub fn packet_id() -> impl Strategy<Value = u16> {
    prop_oneof![1 => Just(1u16), 1 => Just(u16::MAX), 6 => 1..=u16::MAX]
}

fn flag() -> impl Strategy<Value = u8> {
    0u8..=1
}

/// A u32 with its bounds favoured.
fn any_u32() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0u32), 1 => Just(u32::MAX), 4 => any::<u32>()]
}

fn nonzero_u16() -> impl Strategy<Value = u16> {
    prop_oneof![1 => Just(1u16), 1 => Just(u16::MAX), 4 => 1..=u16::MAX]
}

/// Subscription identifiers 1 to 268,435,455, with every varint length boundary favoured.
fn subscription_identifier() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => select(vec![1u32, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455]),
        2 => 1u32..=268_435_455,
    ]
}

/// A valid value of property `id`.
pub fn property(id: PropertyId) -> BoxedStrategy<Property> {
    use Property as V;
    use PropertyId as P;
    match id {
        P::PayloadFormatIndicator => flag().prop_map(V::PayloadFormatIndicator).boxed(),
        P::MessageExpiryInterval => any_u32().prop_map(V::MessageExpiryInterval).boxed(),
        P::ContentType => mqtt_string().prop_map(V::ContentType).boxed(),
        P::ResponseTopic => topic_name().prop_map(V::ResponseTopic).boxed(),
        P::CorrelationData => binary().prop_map(V::CorrelationData).boxed(),
        P::SubscriptionIdentifier => subscription_identifier()
            .prop_map(V::SubscriptionIdentifier)
            .boxed(),
        P::SessionExpiryInterval => any_u32().prop_map(V::SessionExpiryInterval).boxed(),
        P::AssignedClientIdentifier => mqtt_string().prop_map(V::AssignedClientIdentifier).boxed(),
        P::ServerKeepAlive => any::<u16>().prop_map(V::ServerKeepAlive).boxed(),
        P::AuthenticationMethod => mqtt_string().prop_map(V::AuthenticationMethod).boxed(),
        P::AuthenticationData => binary().prop_map(V::AuthenticationData).boxed(),
        P::RequestProblemInformation => flag().prop_map(V::RequestProblemInformation).boxed(),
        P::WillDelayInterval => any_u32().prop_map(V::WillDelayInterval).boxed(),
        P::RequestResponseInformation => flag().prop_map(V::RequestResponseInformation).boxed(),
        P::ResponseInformation => mqtt_string().prop_map(V::ResponseInformation).boxed(),
        P::ServerReference => mqtt_string().prop_map(V::ServerReference).boxed(),
        P::ReasonString => mqtt_string().prop_map(V::ReasonString).boxed(),
        P::ReceiveMaximum => nonzero_u16().prop_map(V::ReceiveMaximum).boxed(),
        P::TopicAliasMaximum => any::<u16>().prop_map(V::TopicAliasMaximum).boxed(),
        P::TopicAlias => nonzero_u16().prop_map(V::TopicAlias).boxed(),
        P::MaximumQos => flag().prop_map(V::MaximumQos).boxed(),
        P::RetainAvailable => flag().prop_map(V::RetainAvailable).boxed(),
        P::UserProperty => (mqtt_string(), mqtt_string())
            .prop_map(|(k, v)| V::UserProperty(k, v))
            .boxed(),
        P::MaximumPacketSize => prop_oneof![Just(1u32), Just(u32::MAX), 1..=u32::MAX]
            .prop_map(V::MaximumPacketSize)
            .boxed(),
        P::WildcardSubscriptionAvailable => {
            flag().prop_map(V::WildcardSubscriptionAvailable).boxed()
        }
        P::SubscriptionIdentifierAvailable => {
            flag().prop_map(V::SubscriptionIdentifierAvailable).boxed()
        }
        P::SharedSubscriptionAvailable => flag().prop_map(V::SharedSubscriptionAvailable).boxed(),
    }
}

/// A valid property block for `ctx`, in any order: each allowed property at most once, the
/// repeatable ones (User Property; Subscription Identifier in PUBLISH) up to three times.
pub fn properties(ctx: PropertyContext) -> BoxedStrategy<Properties> {
    let parts: Vec<BoxedStrategy<Vec<Property>>> = PropertyId::ALL
        .into_iter()
        .filter(|id| spec::property_allowed(*id, ctx))
        .map(|id| {
            if spec::property_repeatable(id, ctx) {
                vec(property(id), 0..=3).boxed()
            } else {
                option::weighted(0.4, property(id))
                    .prop_map(|p| p.into_iter().collect())
                    .boxed()
            }
        })
        .collect();
    parts
        .prop_map(|groups| groups.into_iter().flatten().collect::<Vec<_>>())
        .prop_shuffle()
        .prop_map(Properties)
        .boxed()
}

/// Properties of a packet of this type in 5.0; always empty in 3.1.1.
fn packet_properties(v: ProtocolVersion, t: PacketType) -> BoxedStrategy<Properties> {
    match v {
        ProtocolVersion::V311 => Just(Properties::new()).boxed(),
        ProtocolVersion::V5 => properties(PropertyContext::Packet(t)),
    }
}

fn will(v: ProtocolVersion) -> impl Strategy<Value = Will> {
    let props = match v {
        ProtocolVersion::V311 => Just(Properties::new()).boxed(),
        ProtocolVersion::V5 => properties(PropertyContext::Will),
    };
    (topic_name(), binary(), qos(), any::<bool>(), props).prop_map(
        |(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        },
    )
}

pub fn connect(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        any::<bool>(),
        any::<u16>(),
        packet_properties(v, PacketType::Connect),
        mqtt_string(),
        option::of(will(v)),
        option::of(mqtt_string()),
        option::of(binary()),
    )
        .prop_map(
            move |(clean_start, keep_alive, properties, client_id, will, username, password)| {
                // 3.1.1 forbids a password without a user name (MQTT-3.1.2-22); 5.0 allows it.
                let password = match v {
                    ProtocolVersion::V311 if username.is_none() => None,
                    _ => password,
                };
                Packet::Connect(Connect {
                    version: v,
                    clean_start,
                    keep_alive,
                    properties,
                    client_id,
                    will,
                    username,
                    password,
                })
            },
        )
}

/// A code the version defines for this packet type.
fn code_for(v: ProtocolVersion, t: PacketType) -> impl Strategy<Value = ReasonCode> {
    let list = match v {
        ProtocolVersion::V311 => spec::return_codes_v311(t),
        ProtocolVersion::V5 => spec::reason_codes_v5(t),
    };
    select(spec::codes(list))
}

pub fn connack(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        any::<bool>(),
        code_for(v, PacketType::ConnAck),
        packet_properties(v, PacketType::ConnAck),
    )
        .prop_map(|(session_present, code, properties)| {
            Packet::ConnAck(ConnAck {
                // A refusal has Session Present 0 (3.1.1 MQTT-3.2.2-4, 5.0 MQTT-3.2.2-6).
                session_present: session_present && code == ReasonCode::SUCCESS,
                code,
                properties,
            })
        })
}

pub fn publish(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let topic = match v {
        ProtocolVersion::V311 => topic_name().boxed(),
        // An empty name stands for a Topic Alias (added below).
        ProtocolVersion::V5 => prop_oneof![8 => topic_name(), 1 => Just(ByteString::new())].boxed(),
    };
    let payload = prop_oneof![
        20 => vec(any::<u8>(), 0..32),
        1 => (100usize..=70_000).prop_map(|n| vec![0x5A; n]),
    ];
    (
        qos(),
        any::<bool>(),
        any::<bool>(),
        topic,
        packet_id(),
        packet_properties(v, PacketType::Publish),
        payload,
        nonzero_u16(),
    )
        .prop_map(
            |(qos, dup, retain, topic, id, mut properties, payload, alias)| {
                if topic.is_empty() && properties.get(PropertyId::TopicAlias).is_none() {
                    properties.push(Property::TopicAlias(alias));
                }
                let qos0 = qos == QoS::AtMostOnce;
                Packet::Publish(Publish {
                    // DUP is 0 for QoS 0 (MQTT-3.3.1-2), and QoS 0 carries no identifier.
                    dup: dup && !qos0,
                    qos,
                    retain,
                    topic,
                    packet_id: if qos0 { 0 } else { id },
                    properties,
                    payload: Bytes::from(payload),
                })
            },
        )
}

/// The 5.0 tail of an acknowledgement: omitted, a reason code alone, or both. Properties
/// without a reason code cannot be written, so that shape is not generated.
fn optional_tail(
    v: ProtocolVersion,
    t: PacketType,
) -> BoxedStrategy<(Option<ReasonCode>, Option<Properties>)> {
    match v {
        ProtocolVersion::V311 => Just((None, None)).boxed(),
        ProtocolVersion::V5 => prop_oneof![
            Just((None, None)),
            code_for(v, t).prop_map(|c| (Some(c), None)),
            (code_for(v, t), packet_properties(v, t)).prop_map(|(c, p)| (Some(c), Some(p))),
        ]
        .boxed(),
    }
}

macro_rules! ack_strategy {
    ($fn_name:ident, $ty:ident) => {
        pub fn $fn_name(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
            (packet_id(), optional_tail(v, PacketType::$ty)).prop_map(
                |(packet_id, (reason_code, properties))| {
                    Packet::$ty($ty {
                        packet_id,
                        reason_code,
                        properties,
                    })
                },
            )
        }
    };
}

ack_strategy!(puback, PubAck);
ack_strategy!(pubrec, PubRec);
ack_strategy!(pubrel, PubRel);
ack_strategy!(pubcomp, PubComp);

fn subscription(v: ProtocolVersion) -> impl Strategy<Value = Subscription> {
    (
        topic_filter(v),
        qos(),
        any::<bool>(),
        any::<bool>(),
        0u8..=2,
    )
        .prop_map(move |(filter, qos, no_local, rap, rh)| {
            let options = match v {
                ProtocolVersion::V311 => SubscribeOptions::qos(qos),
                ProtocolVersion::V5 => SubscribeOptions {
                    qos,
                    // No Local on a shared subscription is a Protocol Error (5.0 MQTT-3.8.3-4).
                    no_local: no_local && !filter.starts_with("$share/"),
                    retain_as_published: rap,
                    retain_handling: rh,
                },
            };
            Subscription { filter, options }
        })
}

pub fn subscribe(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        packet_id(),
        packet_properties(v, PacketType::Subscribe),
        vec(subscription(v), 1..5),
    )
        .prop_map(|(packet_id, properties, subscriptions)| {
            Packet::Subscribe(Subscribe {
                packet_id,
                properties,
                subscriptions,
            })
        })
}

pub fn suback(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        packet_id(),
        packet_properties(v, PacketType::SubAck),
        vec(code_for(v, PacketType::SubAck), 1..6),
    )
        .prop_map(|(packet_id, properties, return_codes)| {
            Packet::SubAck(SubAck {
                packet_id,
                properties,
                return_codes,
            })
        })
}

pub fn unsubscribe(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        packet_id(),
        packet_properties(v, PacketType::Unsubscribe),
        vec(topic_filter(v), 1..5),
    )
        .prop_map(|(packet_id, properties, filters)| {
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                properties,
                filters,
            })
        })
}

pub fn unsuback(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let codes = match v {
        ProtocolVersion::V311 => Just(Vec::new()).boxed(),
        ProtocolVersion::V5 => vec(code_for(v, PacketType::UnsubAck), 1..6).boxed(),
    };
    (
        packet_id(),
        packet_properties(v, PacketType::UnsubAck),
        codes,
    )
        .prop_map(|(packet_id, properties, reason_codes)| {
            Packet::UnsubAck(UnsubAck {
                packet_id,
                properties,
                reason_codes,
            })
        })
}

pub fn disconnect(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    optional_tail(v, PacketType::Disconnect).prop_map(|(reason_code, properties)| {
        Packet::Disconnect(Disconnect {
            reason_code,
            properties,
        })
    })
}

/// AUTH exists only in 5.0.
pub fn auth() -> impl Strategy<Value = Packet> {
    optional_tail(ProtocolVersion::V5, PacketType::Auth).prop_map(|(reason_code, properties)| {
        Packet::Auth(Auth {
            reason_code,
            properties,
        })
    })
}

/// Any valid packet of the version.
pub fn packet(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    let mut all = vec![
        connect(v).boxed(),
        connack(v).boxed(),
        publish(v).boxed(),
        puback(v).boxed(),
        pubrec(v).boxed(),
        pubrel(v).boxed(),
        pubcomp(v).boxed(),
        subscribe(v).boxed(),
        suback(v).boxed(),
        unsubscribe(v).boxed(),
        unsuback(v).boxed(),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        disconnect(v).boxed(),
    ];
    if v.is_v5() {
        all.push(auth().boxed());
    }
    proptest::strategy::Union::new(all).boxed()
}
