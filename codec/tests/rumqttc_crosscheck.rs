//! Cross-check against an independent implementation, rumqttc 0.25 (`mqttbytes::v4` for
//! 3.1.1, `v5::mqttbytes::v5` for 5.0), for every packet type it has, in both directions:
//! - ours → rumqttc: what our encoder writes, rumqttc reads to the same fields;
//! - rumqttc → ours: what rumqttc writes, our strict decoder reads to the same fields, and
//!   our encoder writes those fields back to rumqttc's exact bytes.
//!
//! Packets are generated on our side (the shared strategies of `common::strategies`) and
//! mapped field by field onto rumqttc's structs (`v4.rs`, `v5.rs`, `v5_props.rs`). Where
//! rumqttc deviates from the specification the strategy leaves out only the affected shape,
//! and `deviations.rs` pins the deviation itself, so a rumqttc fix shows up as a failure.

mod common;

#[path = "rumqttc_crosscheck/deviations.rs"]
mod deviations;
#[path = "rumqttc_crosscheck/v4.rs"]
mod v4;
#[path = "rumqttc_crosscheck/v5.rs"]
mod v5;
#[path = "rumqttc_crosscheck/v5_props.rs"]
mod v5_props;

use bytes::BytesMut;
use common::strategies as s;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::properties::PropertyContext;
use mqttspec_codec::{
    Auth, ByteString, Bytes, Connect, Decoder, Disconnect, Packet, PacketType, Properties,
    Property, PropertyId, ProtocolVersion, Publish, QoS, Will,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use std::fmt::Debug;

/// One rumqttc protocol module, seen through the mapping.
trait Rumqttc {
    type P: PartialEq + Debug;
    const V: ProtocolVersion;
    fn to_theirs(p: &Packet) -> Self::P;
    fn to_ours(p: &Self::P) -> Packet;
    fn write(p: &Self::P) -> Bytes;
    fn read(bytes: &[u8]) -> Result<Self::P, String>;
}

struct R4;
struct R5;

impl Rumqttc for R4 {
    type P = rumqttc::mqttbytes::v4::Packet;
    const V: ProtocolVersion = V311;
    fn to_theirs(p: &Packet) -> Self::P {
        v4::to_theirs(p)
    }
    fn to_ours(p: &Self::P) -> Packet {
        v4::to_ours(p)
    }
    fn write(p: &Self::P) -> Bytes {
        v4::write(p)
    }
    fn read(bytes: &[u8]) -> Result<Self::P, String> {
        v4::read(bytes).map_err(|e| e.to_string())
    }
}

impl Rumqttc for R5 {
    type P = rumqttc::v5::mqttbytes::v5::Packet;
    const V: ProtocolVersion = V5;
    fn to_theirs(p: &Packet) -> Self::P {
        v5::to_theirs(p)
    }
    fn to_ours(p: &Self::P) -> Packet {
        v5::to_ours(p)
    }
    fn write(p: &Self::P) -> Bytes {
        v5::write(p)
    }
    fn read(bytes: &[u8]) -> Result<Self::P, String> {
        v5::read(bytes).map_err(|e| e.to_string())
    }
}

/// Decodes one packet with our strict decoder; the buffer must hold exactly that packet.
fn decode_ours(v: ProtocolVersion, bytes: &[u8]) -> Result<Packet, TestCaseError> {
    let mut buf = BytesMut::from(bytes);
    let out = Decoder::new(v).decode(&mut buf);
    prop_assert!(buf.is_empty(), "{} bytes left after {:?}", buf.len(), out);
    match out {
        Ok(Some(p)) => Ok(p),
        other => Err(TestCaseError::fail(format!("our decoder: {other:?}"))),
    }
}

/// Ours → rumqttc: rumqttc reads our bytes to the mapped fields.
fn ours_to_theirs<R: Rumqttc>(p: &Packet) -> Result<(), TestCaseError> {
    let bytes = p
        .to_bytes(R::V)
        .map_err(|e| TestCaseError::fail(format!("our encoder: {e}")))?;
    let theirs = R::read(&bytes).map_err(|e| TestCaseError::fail(format!("rumqttc: {e}")))?;
    prop_assert_eq!(theirs, R::to_theirs(p));
    Ok(())
}

/// rumqttc → ours: we read rumqttc's bytes to the mapped fields, and writing those fields
/// gives rumqttc's bytes again.
fn theirs_to_ours<R: Rumqttc>(theirs: &R::P) -> Result<(), TestCaseError> {
    let bytes = R::write(theirs);
    let expected = R::to_ours(theirs);
    prop_assert_eq!(&decode_ours(R::V, &bytes)?, &expected);
    let ours = expected
        .to_bytes(R::V)
        .map_err(|e| TestCaseError::fail(format!("our encoder: {e}")))?;
    prop_assert!(
        ours == bytes,
        "\nours    {:02X?}\nrumqttc {:02X?}",
        &ours[..],
        &bytes[..]
    );
    Ok(())
}

fn both<R: Rumqttc>(p: &Packet) -> Result<(), TestCaseError> {
    ours_to_theirs::<R>(p)?;
    theirs_to_ours::<R>(&R::to_theirs(p))
}

// ---------------------------------------------------------------------------------------
// Strategies: the shared ones, narrowed only where rumqttc cannot represent a shape.

/// rumqttc's `Login` holds `String`s and writes a user name or password only when it is
/// non-empty (rumqttc `Login::write`), so an empty one (allowed: 3.1.1 section 3.1.3.4,
/// 5.0 section 3.1.3.5) and a non-UTF-8 password (Binary Data: 3.1.1 section 3.1.3.5, 5.0
/// section 3.1.3.6) cannot be carried. Credentials here are non-empty UTF-8;
/// `deviations.rs` covers the rest.
fn credential() -> impl Strategy<Value = ByteString> {
    s::mqtt_string().prop_filter("rumqttc drops empty credentials", |c| !c.is_empty())
}

fn props(ctx: PropertyContext, v: ProtocolVersion) -> BoxedStrategy<Properties> {
    match v {
        V311 => Just(Properties::new()).boxed(),
        V5 => s::properties(ctx),
    }
}

fn connect(v: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let will = (
        s::topic_name(),
        s::binary(),
        s::qos(),
        any::<bool>(),
        props(PropertyContext::Will, v),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        });
    let head = (
        any::<bool>(),
        any::<u16>(),
        props(PropertyContext::Packet(PacketType::Connect), v),
        s::mqtt_string(),
    );
    let tail = (
        option::of(will),
        option::of(credential()),
        option::of(credential()),
    );
    (head, tail).prop_map(
        move |((clean_start, keep_alive, properties, client_id), (will, username, password))| {
            // 3.1.1 forbids a password without a user name (3.1.1/MQTT-3.1.2-22).
            let password = match v {
                V311 if username.is_none() => None,
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
                password: password.map(|p| Bytes::copy_from_slice(p.as_bytes())),
            })
        },
    )
}

fn subscription_ids(p: &Publish) -> usize {
    p.properties
        .iter()
        .filter(|p| p.id() == PropertyId::SubscriptionIdentifier)
        .count()
}

/// A 5.0 PUBLISH with at most one Subscription Identifier. rumqttc's
/// `PublishProperties::read` adds the identifier byte to its cursor twice (`cursor += 1`
/// for the id byte, then `cursor += 1 + id_len`), so with two or more identifiers it stops
/// reading early and takes the last properties for payload (5.0 section 3.3.2.3.8 allows
/// several). One identifier is safe: the one-byte overshoot is shorter than any property.
/// Several are still cross-checked rumqttc → ours (`v5_publish_many_ids_to_ours`).
fn publish_v5_one_id() -> impl Strategy<Value = Packet> {
    s::publish(V5).prop_map(|p| match p {
        Packet::Publish(mut p) => {
            let mut seen = false;
            p.properties.0.retain(|prop| {
                let id = prop.id() == PropertyId::SubscriptionIdentifier;
                let keep = !(id && seen);
                seen |= id;
                keep
            });
            Packet::Publish(p)
        }
        other => other,
    })
}

fn publish_v5_many_ids() -> impl Strategy<Value = Packet> {
    (s::publish(V5), vec(1u32..=268_435_455, 2..=3)).prop_map(|(p, ids)| match p {
        Packet::Publish(mut p) => {
            p.properties
                .0
                .retain(|x| x.id() != PropertyId::SubscriptionIdentifier);
            p.properties
                .0
                .extend(ids.into_iter().map(Property::SubscriptionIdentifier));
            assert!(subscription_ids(&p) >= 2);
            Packet::Publish(p)
        }
        other => other,
    })
}

fn code(values: &[u8]) -> impl Strategy<Value = mqttspec_codec::ReasonCode> {
    select(
        values
            .iter()
            .map(|c| mqttspec_codec::ReasonCode(*c))
            .collect::<Vec<_>>(),
    )
}

const DISCONNECT_CODES: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH_CODES: &[u8] = &[0x00, 0x18, 0x19];

/// A 5.0 DISCONNECT with its reason code and Property Length. rumqttc mishandles both short
/// forms: see `deviations.rs` (remaining length 0 refused by `Packet::read`; remaining
/// length 1 unreadable, and written with a wrong remaining length).
fn disconnect_v5_full() -> impl Strategy<Value = Packet> {
    (
        code(DISCONNECT_CODES),
        s::properties(PropertyContext::Packet(PacketType::Disconnect)),
    )
        .prop_map(|(c, p)| {
            Packet::Disconnect(Disconnect {
                reason_code: Some(c),
                properties: Some(p),
            })
        })
}

/// A 5.0 AUTH rumqttc can read: reason code and properties present, properties limited to
/// Authentication Data and User Properties, in any order. rumqttc's `AuthProperties::read`
/// counts a UTF-8 string property without its two length bytes (`cursor += method.len()`),
/// so it cannot read an Authentication Method or Reason String (5.0 section 1.5.4: a UTF-8
/// string has a 2-byte length prefix), and it reads neither AUTH short form (5.0 section
/// 3.15.2.1).
fn auth_readable_by_rumqttc() -> impl Strategy<Value = Packet> {
    let user = s::property(PropertyId::UserProperty);
    let data = s::property(PropertyId::AuthenticationData);
    (code(AUTH_CODES), option::of(data), vec(user, 0..=2))
        .prop_flat_map(|(c, data, mut list)| {
            list.extend(data);
            (Just(c), Just(list).prop_shuffle())
        })
        .prop_map(|(c, list)| {
            Packet::Auth(Auth {
                reason_code: Some(c),
                properties: Some(Properties(list)),
            })
        })
}

// ---------------------------------------------------------------------------------------
// Generated cases. 3.1.1 has no AUTH; every other packet type is checked in both versions.

macro_rules! cross_tests {
    ($cases:expr; $($name:ident: $check:expr, $strategy:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig {
                cases: $cases,
                failure_persistence: None,
                ..ProptestConfig::default()
            })]
            $(
                #[test]
                fn $name(p in $strategy) {
                    ($check)(&p)?;
                }
            )*
        }
    };
}

/// Our AUTH with its properties in the order rumqttc keeps them: method, data, reason
/// string, user properties (these in their own order).
fn in_rumqttc_order(p: &Packet) -> Packet {
    let mut p = p.clone();
    if let Packet::Auth(Auth {
        properties: Some(props),
        ..
    }) = &mut p
    {
        props.0.sort_by_key(|x| match x.id() {
            PropertyId::AuthenticationMethod => 0,
            PropertyId::AuthenticationData => 1,
            PropertyId::ReasonString => 2,
            _ => 3,
        });
    }
    p
}

/// Ours → rumqttc for AUTH. rumqttc does not export its AUTH field types, so the packet it
/// reads is compared on our side of the mapping.
fn auth_ours_to_theirs(p: &Packet) -> Result<(), TestCaseError> {
    let bytes = p
        .to_bytes(V5)
        .map_err(|e| TestCaseError::fail(format!("our encoder: {e}")))?;
    let theirs = v5::read(&bytes).map_err(|e| TestCaseError::fail(format!("rumqttc: {e}")))?;
    prop_assert_eq!(v5::to_ours(&theirs), in_rumqttc_order(p));
    Ok(())
}

/// rumqttc → ours for AUTH: an AUTH can only be had from rumqttc's reader, so rumqttc reads
/// our bytes (checked as above), writes the packet again, and we read its bytes.
fn auth_theirs_to_ours(p: &Packet) -> Result<(), TestCaseError> {
    auth_ours_to_theirs(p)?;
    let bytes = p
        .to_bytes(V5)
        .map_err(|e| TestCaseError::fail(format!("our encoder: {e}")))?;
    let theirs = v5::read(&bytes).map_err(|e| TestCaseError::fail(format!("rumqttc: {e}")))?;
    theirs_to_ours::<R5>(&theirs)
}

/// DISCONNECT both ways, except rumqttc → ours for a non-zero reason code without
/// properties: rumqttc writes that one with a wrong Remaining Length
/// (`deviations::v5_disconnect_written_with_wrong_remaining_length`).
fn disconnect_v5_both(p: &Packet) -> Result<(), TestCaseError> {
    use rumqttc::v5::mqttbytes::v5 as r;
    ours_to_theirs::<R5>(p)?;
    let theirs = R5::to_theirs(p);
    if let r::Packet::Disconnect(d) = &theirs
        && d.properties.is_none()
        && d.reason_code != r::DisconnectReasonCode::NormalDisconnection
    {
        return Ok(());
    }
    theirs_to_ours::<R5>(&theirs)
}

/// rumqttc → ours only, for shapes rumqttc writes correctly but cannot read back.
fn to_ours_only<R: Rumqttc>(p: &Packet) -> Result<(), TestCaseError> {
    theirs_to_ours::<R>(&R::to_theirs(p))
}

cross_tests! { 256;
    v4_connect: both::<R4>, connect(V311);
    v4_connack: both::<R4>, s::connack(V311);
    v4_publish: both::<R4>, s::publish(V311);
    v4_puback: both::<R4>, s::puback(V311);
    v4_pubrec: both::<R4>, s::pubrec(V311);
    v4_pubrel: both::<R4>, s::pubrel(V311);
    v4_pubcomp: both::<R4>, s::pubcomp(V311);
    v4_subscribe: both::<R4>, s::subscribe(V311);
    v4_suback: both::<R4>, s::suback(V311);
    v4_unsubscribe: both::<R4>, s::unsubscribe(V311);
    v4_unsuback: both::<R4>, s::unsuback(V311);
    v4_disconnect: both::<R4>, s::disconnect(V311);
    v5_connect: both::<R5>, connect(V5);
    v5_connack: both::<R5>, s::connack(V5);
    v5_publish: both::<R5>, publish_v5_one_id();
    v5_publish_many_ids_to_ours: to_ours_only::<R5>, publish_v5_many_ids();
    v5_puback: both::<R5>, s::puback(V5);
    v5_pubrec: both::<R5>, s::pubrec(V5);
    v5_pubrel: both::<R5>, s::pubrel(V5);
    v5_pubcomp: both::<R5>, s::pubcomp(V5);
    v5_subscribe: both::<R5>, s::subscribe(V5);
    v5_suback: both::<R5>, s::suback(V5);
    v5_unsubscribe: both::<R5>, s::unsubscribe(V5);
    v5_unsuback: both::<R5>, s::unsuback(V5);
    v5_disconnect: disconnect_v5_both, disconnect_v5_full();
    v5_auth_to_theirs: auth_ours_to_theirs, auth_readable_by_rumqttc();
}

// ---------------------------------------------------------------------------------------
// Hand-written cases.

fn run(result: Result<(), TestCaseError>) {
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn ping_both_versions() {
    for p in [Packet::PingReq, Packet::PingResp] {
        run(both::<R4>(&p));
        run(both::<R5>(&p));
    }
}

/// The CONNECT of the benchmark: Will and credentials, in both versions.
#[test]
fn connect_with_will_and_credentials() {
    for v in [V311, V5] {
        let mut will_props = Properties::new();
        let mut props = Properties::new();
        if v == V5 {
            will_props.push(Property::WillDelayInterval(30));
            will_props.push(Property::ContentType("text/plain".into()));
            props.push(Property::SessionExpiryInterval(3600));
            props.push(Property::UserProperty("k".into(), "v".into()));
        }
        let p = Packet::Connect(Connect {
            version: v,
            clean_start: false,
            keep_alive: 30,
            properties: props,
            client_id: "bench-client-0001".into(),
            will: Some(Will {
                topic: "clients/bench-client-0001/status".into(),
                payload: Bytes::from_static(b"offline"),
                qos: QoS::AtLeastOnce,
                retain: true,
                properties: will_props,
            }),
            username: Some("user".into()),
            password: Some(Bytes::from_static(b"secret-password")),
        });
        match v {
            V311 => run(both::<R4>(&p)),
            V5 => run(both::<R5>(&p)),
        }
    }
}

/// Remaining lengths on each side of every varint size step (1 to 4 bytes), and a
/// 65,535-byte topic: both codecs must frame them alike.
#[test]
fn publish_remaining_length_boundaries() {
    let topic_len = 2 + 3;
    for body in [127usize, 128, 16_383, 16_384, 2_097_151, 2_097_152] {
        for v in [V311, V5] {
            let props = usize::from(v == V5);
            let mut p = Publish::new(
                "a/b",
                QoS::AtLeastOnce,
                vec![0x42; body - topic_len - 2 - props],
            );
            p.packet_id = 7;
            let p = Packet::Publish(p);
            assert_eq!(
                p.encoded_len(v) - body,
                2 + (body > 127) as usize + (body > 16_383) as usize + (body > 2_097_151) as usize
            );
            match v {
                V311 => run(both::<R4>(&p)),
                V5 => run(both::<R5>(&p)),
            }
        }
    }
    let long = Packet::Publish(Publish::new(
        "t".repeat(65_535),
        QoS::AtMostOnce,
        vec![1, 2],
    ));
    run(both::<R4>(&long));
    run(both::<R5>(&long));
}

/// Every combination of the 5.0 subscription options byte.
#[test]
fn subscribe_options_every_combination() {
    use mqttspec_codec::{Subscribe, SubscribeOptions, Subscription};
    let mut subscriptions = Vec::new();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        for bits in 0..4u8 {
            for retain_handling in 0..=2 {
                subscriptions.push(Subscription {
                    filter: format!("f/{}/{bits}/{retain_handling}", qos.as_u8()).into(),
                    options: SubscribeOptions {
                        qos,
                        no_local: bits & 1 != 0,
                        retain_as_published: bits & 2 != 0,
                        retain_handling,
                    },
                });
            }
        }
    }
    let p = Packet::Subscribe(Subscribe {
        packet_id: 0xBEEF,
        properties: Properties::new().with(Property::SubscriptionIdentifier(268_435_455)),
        subscriptions,
    });
    run(both::<R5>(&p));
}

/// rumqttc → ours for AUTH: rumqttc writes an AUTH correctly only without properties
/// (`deviations::v5_auth_*`), so the three reason codes are the whole space.
#[test]
fn auth_without_properties_to_ours() {
    for code in AUTH_CODES {
        let p = Packet::Auth(Auth {
            reason_code: Some(mqttspec_codec::ReasonCode(*code)),
            properties: Some(Properties::new()),
        });
        run(auth_theirs_to_ours(&p));
    }
}

/// rumqttc → ours for the short DISCONNECT (remaining length 0), which rumqttc writes
/// correctly; ours → rumqttc of the same bytes is a deviation (`deviations.rs`).
#[test]
fn disconnect_v5_normal_short_form_to_ours() {
    run(to_ours_only::<R5>(&Packet::Disconnect(
        Disconnect::default(),
    )));
}
