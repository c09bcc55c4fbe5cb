//! Tables copied by hand from the MQTT 5.0 specification, kept apart from the codec's own
//! tables so that the generated packets do not simply mirror what the codec believes.
//! `roundtrip.rs` checks that both agree.

use mqttspec_codec::PacketType as T;
use mqttspec_codec::properties::PropertyContext;
use mqttspec_codec::{PropertyId as P, ReasonCode};

const fn pk(t: T) -> PropertyContext {
    PropertyContext::Packet(t)
}
const WILL: PropertyContext = PropertyContext::Will;

/// Every place a property block exists (the packets that have one, plus the Will).
pub const PROPERTY_CONTEXTS: [PropertyContext; 14] = [
    pk(T::Connect),
    WILL,
    pk(T::ConnAck),
    pk(T::Publish),
    pk(T::PubAck),
    pk(T::PubRec),
    pk(T::PubRel),
    pk(T::PubComp),
    pk(T::Subscribe),
    pk(T::SubAck),
    pk(T::Unsubscribe),
    pk(T::UnsubAck),
    pk(T::Disconnect),
    pk(T::Auth),
];

/// Table 2-4 of MQTT 5.0 section 2.2.2.2: where each property may appear.
const PROPERTY_TABLE: &[(P, &[PropertyContext])] = &[
    (P::PayloadFormatIndicator, &[pk(T::Publish), WILL]),
    (P::MessageExpiryInterval, &[pk(T::Publish), WILL]),
    (P::ContentType, &[pk(T::Publish), WILL]),
    (P::ResponseTopic, &[pk(T::Publish), WILL]),
    (P::CorrelationData, &[pk(T::Publish), WILL]),
    (
        P::SubscriptionIdentifier,
        &[pk(T::Publish), pk(T::Subscribe)],
    ),
    (
        P::SessionExpiryInterval,
        &[pk(T::Connect), pk(T::ConnAck), pk(T::Disconnect)],
    ),
    (P::AssignedClientIdentifier, &[pk(T::ConnAck)]),
    (P::ServerKeepAlive, &[pk(T::ConnAck)]),
    (
        P::AuthenticationMethod,
        &[pk(T::Connect), pk(T::ConnAck), pk(T::Auth)],
    ),
    (
        P::AuthenticationData,
        &[pk(T::Connect), pk(T::ConnAck), pk(T::Auth)],
    ),
    (P::RequestProblemInformation, &[pk(T::Connect)]),
    (P::WillDelayInterval, &[WILL]),
    (P::RequestResponseInformation, &[pk(T::Connect)]),
    (P::ResponseInformation, &[pk(T::ConnAck)]),
    (P::ServerReference, &[pk(T::ConnAck), pk(T::Disconnect)]),
    (
        P::ReasonString,
        &[
            pk(T::ConnAck),
            pk(T::PubAck),
            pk(T::PubRec),
            pk(T::PubRel),
            pk(T::PubComp),
            pk(T::SubAck),
            pk(T::UnsubAck),
            pk(T::Disconnect),
            pk(T::Auth),
        ],
    ),
    (P::ReceiveMaximum, &[pk(T::Connect), pk(T::ConnAck)]),
    (P::TopicAliasMaximum, &[pk(T::Connect), pk(T::ConnAck)]),
    (P::TopicAlias, &[pk(T::Publish)]),
    (P::MaximumQos, &[pk(T::ConnAck)]),
    (P::RetainAvailable, &[pk(T::ConnAck)]),
    (P::UserProperty, &PROPERTY_CONTEXTS),
    (P::MaximumPacketSize, &[pk(T::Connect), pk(T::ConnAck)]),
    (P::WildcardSubscriptionAvailable, &[pk(T::ConnAck)]),
    (P::SubscriptionIdentifierAvailable, &[pk(T::ConnAck)]),
    (P::SharedSubscriptionAvailable, &[pk(T::ConnAck)]),
];

/// Whether the specification allows `id` in `ctx`.
pub fn property_allowed(id: P, ctx: PropertyContext) -> bool {
    PROPERTY_TABLE
        .iter()
        .any(|(p, places)| *p == id && places.contains(&ctx))
}

/// Whether `id` may appear more than once in `ctx`: User Property anywhere, Subscription
/// Identifier in PUBLISH (one per matching subscription, 5.0 section 3.3.2.3.8). Every other
/// property given twice is a Protocol Error.
pub fn property_repeatable(id: P, ctx: PropertyContext) -> bool {
    match id {
        P::UserProperty => true,
        P::SubscriptionIdentifier => ctx == pk(T::Publish),
        _ => false,
    }
}

/// MQTT 5.0 reason codes per packet (sections 3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1,
/// 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1).
pub fn reason_codes_v5(packet: T) -> &'static [u8] {
    match packet {
        T::ConnAck => &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
            0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
        ],
        T::PubAck | T::PubRec => &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
        T::PubRel | T::PubComp => &[0x00, 0x92],
        T::SubAck => &[
            0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
        ],
        T::UnsubAck => &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
        T::Disconnect => &[
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
            0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1,
            0xA2,
        ],
        T::Auth => &[0x00, 0x18, 0x19],
        _ => &[],
    }
}

/// MQTT 3.1.1 return codes: CONNACK 0 to 5 (section 3.2.2.3), SUBACK 0, 1, 2, 0x80 (3.9.3).
pub fn return_codes_v311(packet: T) -> &'static [u8] {
    match packet {
        T::ConnAck => &[0, 1, 2, 3, 4, 5],
        T::SubAck => &[0, 1, 2, 0x80],
        _ => &[],
    }
}

pub fn codes(list: &[u8]) -> Vec<ReasonCode> {
    list.iter().copied().map(ReasonCode).collect()
}
