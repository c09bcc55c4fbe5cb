//! The scenario file format: what a YAML scenario holds, as Rust types. Steps and packets
//! are externally tagged enums (`- send: {client: a, packet: {publish: {...}}}`) so the JSON
//! Schema generated from these types gives editors fixed keys to complete.

use super::duration::Dur;
use super::idref::IdRef;
use super::props::PropertiesSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// One scenario file: one behaviour of a broker.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario checks, in one line.
    pub name: String,
    /// Longer explanation, shown in reports.
    #[serde(default)]
    pub description: Option<String>,
    /// Namespaced statement IDs this scenario checks, e.g. `3.1.1/MQTT-3.3.1-8`.
    #[schemars(with = "Vec<String>")]
    pub statements: Vec<Spanned<String>>,
    /// Protocol version every client of the scenario speaks.
    pub version: VersionSpec,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Faults of the reference broker (test builds) under which this scenario must fail:
    /// the proof that the scenario can fail.
    #[serde(default)]
    pub broken_by: Vec<String>,
    /// Optional broker features the scenario needs (5.0): checked against the broker's
    /// CONNACK (and `--capabilities`); a broker that declines one makes the scenario not
    /// applicable, with the CONNACK property as the reason.
    #[serde(default)]
    pub requires: Features,
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
}

/// Optional features of a 5.0 broker: what a scenario `requires` (booleans must match,
/// numbers are minimums) or what a capabilities file (`--capabilities`) says a broker has,
/// for the features a CONNACK cannot announce (authentication methods, response
/// information). The rest a broker declares in its CONNACK (3.2.2.3), which wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// The broker's Maximum QoS is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_qos: Option<u8>,
    /// The broker's Maximum QoS is below 2 (to check how it refuses higher QoS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_qos_below: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_available: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wildcard_subscriptions: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_identifiers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_subscriptions: Option<bool>,
    /// The broker accepts at least this many topic aliases from a client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_alias_maximum: Option<u16>,
    /// The broker accepts at least this many unacknowledged QoS 1/2 PUBLISH packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_maximum: Option<u16>,
    /// The broker accepts packets of at least this size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_packet_size: Option<u32>,
    /// Enhanced authentication methods the broker supports (a CONNACK cannot say: from
    /// `--capabilities`, or known for the reference broker).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_methods: Vec<String>,
    /// The broker sends Response Information when asked (from `--capabilities`, or known
    /// for the reference broker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_information: Option<bool>,
}

impl Features {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Scenario {
    /// Whether a step needs the network simulator: over TCP such a scenario is not
    /// applicable.
    pub fn needs_sim(&self) -> bool {
        self.steps.iter().any(|s| s.value.needs_sim())
    }

    /// Whether a step runs a SCRAM-SHA-256 exchange, which needs an account the broker
    /// knows.
    pub fn uses_scram(&self) -> bool {
        fn any(steps: &[Spanned<Step>]) -> bool {
            steps.iter().any(|s| match &s.value {
                Step::Scram(_) => true,
                Step::Repeat(r) => any(&r.steps),
                _ => false,
            })
        }
        any(&self.steps)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum VersionSpec {
    #[serde(rename = "3.1.1")]
    V311,
    #[serde(rename = "5.0")]
    V5,
}

impl VersionSpec {
    pub fn protocol(self) -> mqttspec_codec::ProtocolVersion {
        match self {
            Self::V311 => mqttspec_codec::ProtocolVersion::V311,
            Self::V5 => mqttspec_codec::ProtocolVersion::V5,
        }
    }
}

/// One step. Clients are named; a client exists from its `open` or `connect` step on.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Open a TCP connection without sending anything.
    Open(OpenStep),
    /// Open a connection (unless open), send CONNECT and wait for a CONNACK matching `connack`
    /// (by default: return code 0).
    Connect(ConnectStep),
    /// Send one packet, typed or as raw bytes.
    Send(SendStep),
    /// Wait for the next packet(s) and compare them with a pattern.
    Expect(ExpectStep),
    /// Check that nothing arrives and the connection stays open for a while.
    ExpectNothing(ExpectNothingStep),
    /// Check that the broker closes the connection.
    ExpectClose(ExpectCloseStep),
    /// Send DISCONNECT (with a reason code and properties in 5.0) and close the connection.
    Disconnect(DisconnectStep),
    /// Close the TCP connection abruptly, without DISCONNECT.
    Drop(ClientRef),
    /// Stop reading and writing without closing: a half-open, silent peer.
    Silence(ClientRef),
    /// Wait. Prefer `expect` with `within`, which ends as soon as the packet arrives.
    Sleep(Dur),
    /// Run steps several times; `${i}` is the iteration number, from 0.
    Repeat(RepeatStep),
    /// Simulator only (`--sim`): nothing passes either way on the client's connection for a
    /// while; bytes (a close included) are delayed, not lost, as TCP would retransmit them.
    /// The step returns at once; the partition heals by itself.
    Partition(PartitionStep),
    /// Simulator only: like `partition`, until a `release` of the same client.
    Hold(String),
    /// Simulator only: ends a `hold` (or a `partition` early); held bytes then arrive in order.
    Release(String),
    /// Simulator only: the broker's host crashes (it sends nothing, not even a FIN: its
    /// connections stay half-open at the clients) and restarts after `down`, with no state
    /// kept in memory. The step returns once the broker is back.
    RestartBroker(RestartBrokerStep),
    /// 5.0 enhanced authentication with SCRAM-SHA-256, as a client: sends the message the
    /// exchange is at (which a scenario cannot compute), or checks the broker's last one.
    Scram(ScramStep),
}

impl Step {
    /// Whether the step needs the network simulator (`--sim`) to run.
    pub fn needs_sim(&self) -> bool {
        match self {
            Self::Partition(_) | Self::Hold(_) | Self::Release(_) | Self::RestartBroker(_) => true,
            Self::Repeat(r) => r.steps.iter().any(|s| s.value.needs_sim()),
            _ => false,
        }
    }
}

/// One move of a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677) in Authentication Data
/// properties (5.0 section 4.12), as the account the run knows for the broker (the
/// reference broker's test user, or `--username` with `MQTTSPEC_PASSWORD`); without one
/// the scenario is not applicable. Exactly one of `send` and `verify`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScramStep {
    pub client: String,
    /// What to send: `connect` (CONNECT with Authentication Method SCRAM-SHA-256 and the
    /// client-first message; opens the connection if needed), `reauthenticate` (AUTH 0x19
    /// with a new client-first message) or `final` (AUTH 0x18 with the client-final
    /// message, computed from the server-first message in the last Authentication Data the
    /// broker sent this client).
    #[serde(default)]
    pub send: Option<ScramSend>,
    /// `send: connect`: the CONNECT's other fields (client id, Clean Start, keep alive,
    /// will, properties); the step adds the Authentication Method and Data.
    #[serde(default)]
    pub connect: Option<ConnectFields>,
    /// `send: final`: the proof is computed from a wrong password (a refused exchange).
    #[serde(default)]
    pub wrong_password: bool,
    /// Further properties of the AUTH packet (user properties, a reason string).
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
    /// Replace the AUTH packet's fixed-header flag bits (0 to 15).
    #[serde(default)]
    pub flags: Option<u8>,
    /// Check that the last Authentication Data the broker sent this client is the
    /// server-final message of the exchange, proving it knows the password.
    #[serde(default)]
    pub verify: bool,
    /// Statements a failed `verify` is charged to.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub statements: Vec<Spanned<String>>,
}

/// The message a `scram` step sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScramSend {
    Connect,
    Reauthenticate,
    Final,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionStep {
    pub client: String,
    /// How long nothing passes.
    #[serde(rename = "for")]
    pub duration: Dur,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartBrokerStep {
    /// How long the broker stays down.
    pub down: Dur,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRef {
    pub client: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenStep {
    pub client: String,
    /// The protocol version this client speaks, when not the scenario's (mixed-version
    /// scenarios: a 3.1.1 and a 5.0 client on one broker).
    #[serde(default)]
    pub version: Option<VersionSpec>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisconnectStep {
    pub client: String,
    /// 5.0 reason code (default 0x00, normal disconnection; 0x04 asks for the will).
    #[serde(default)]
    pub reason: Option<u8>,
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectFields {
    /// Defaults to a unique id made from the run's prefix and the client's name; `""` sends
    /// an empty client identifier.
    #[serde(default)]
    pub client_id: Option<String>,
    /// CleanSession (3.1.1) / Clean Start (5.0). Default true.
    #[serde(default)]
    pub clean_session: Option<bool>,
    /// Seconds. Default 60.
    #[serde(default)]
    pub keep_alive: Option<u16>,
    #[serde(default)]
    pub will: Option<WillSpec>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// 5.0 CONNECT properties.
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WillSpec {
    pub topic: String,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub payload_hex: Option<String>,
    #[serde(default)]
    pub payload_size: Option<usize>,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    /// 5.0 will properties (Will Delay Interval, Message Expiry Interval, …).
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectStep {
    pub client: String,
    /// The protocol version this client speaks, when not the scenario's (mixed-version
    /// scenarios).
    #[serde(default)]
    pub version: Option<VersionSpec>,
    /// Defaults to a unique id made from the run's prefix and the client's name; `""` sends
    /// an empty client identifier.
    #[serde(default)]
    pub client_id: Option<String>,
    /// CleanSession (3.1.1) / Clean Start (5.0). Default true.
    #[serde(default)]
    pub clean_session: Option<bool>,
    /// Seconds. Default 60.
    #[serde(default)]
    pub keep_alive: Option<u16>,
    #[serde(default)]
    pub will: Option<WillSpec>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// 5.0 CONNECT properties.
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
    /// The CONNACK to expect. Default: `{code: 0}`.
    #[serde(default)]
    pub connack: Option<ConnackPattern>,
    /// If the CONNACK matches this instead, the scenario ends as not applicable: the broker
    /// declined an optional feature.
    #[serde(default)]
    pub not_applicable_if: Option<ConnackPattern>,
    /// Why a `not_applicable_if` match makes the scenario not applicable.
    #[serde(default)]
    pub reason: Option<String>,
    /// A refusal (a CONNACK with a non-zero return code, or a close without CONNACK) ends the
    /// scenario as not applicable for this reason: for a CONNECT a broker may legitimately
    /// decline (e.g. keep alive 0, an empty client identifier).
    #[serde(default)]
    pub not_applicable_if_refused: Option<String>,
    /// Statements this step checks, when the CONNACK is the point of the scenario. Without
    /// them a wrong CONNACK is charged to the statements every CONNACK rests on
    /// (return code 0 for an accepted CONNECT, Session Present), and the scenario's own
    /// statements are not judged.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub statements: Vec<Spanned<String>>,
    /// Answer PUBLISH packets this client receives (PUBACK, PUBREC, PUBREL…) automatically.
    /// Default true; turn it off to check redelivery of unacknowledged messages.
    #[serde(default)]
    pub auto_ack: Option<bool>,
    #[serde(default)]
    pub within: Option<Dur>,
    /// Save fields of the CONNACK for later steps: `{id: assigned_client_identifier}`.
    #[serde(default)]
    pub save: BTreeMap<String, SaveField>,
}

/// Payload of a PUBLISH or Will: text, hex, or a number of generated bytes. At most one.
#[derive(Debug, Clone, Copy, Default)]
pub struct PayloadSpec<'a> {
    pub text: Option<&'a str>,
    pub hex: Option<&'a str>,
    pub size: Option<usize>,
}

macro_rules! payload_of {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn payload_spec(&self) -> PayloadSpec<'_> {
                PayloadSpec {
                    text: self.payload.as_deref(),
                    hex: self.payload_hex.as_deref(),
                    size: self.payload_size,
                }
            }
        }
    )*};
}
payload_of!(WillSpec, PublishSpec, PublishPattern);

impl ConnectStep {
    /// The CONNECT fields of this step.
    pub fn fields(&self) -> ConnectFields {
        ConnectFields {
            client_id: self.client_id.clone(),
            clean_session: self.clean_session,
            keep_alive: self.keep_alive,
            will: self.will.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            properties: self.properties.clone(),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendStep {
    pub client: String,
    /// A typed packet.
    #[serde(default)]
    pub packet: Option<PacketSpec>,
    /// Raw bytes in hex (spaces allowed), sent as they are.
    #[serde(default)]
    pub hex: Option<String>,
    /// Replace the fixed-header flag bits of the typed packet (0 to 15).
    #[serde(default)]
    pub flags: Option<u8>,
    /// Write this remaining length instead of the true one.
    #[serde(default)]
    pub remaining_length: Option<u32>,
}

/// A packet to send.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PacketSpec {
    Connect(ConnectFields),
    Connack(ConnackSpec),
    Publish(PublishSpec),
    Puback(AckSpec),
    Pubrec(AckSpec),
    Pubrel(AckSpec),
    Pubcomp(AckSpec),
    Subscribe(SubscribeSpec),
    Suback(SubackSpec),
    Unsubscribe(UnsubscribeSpec),
    Unsuback(UnsubackSpec),
    Pingreq,
    Pingresp,
    Disconnect(DisconnectSpec),
    Auth(AuthSpec),
}

/// DISCONNECT; in 5.0 with a reason code (default 0x00) and properties.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisconnectSpec {
    #[serde(default)]
    pub reason: Option<u8>,
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

/// AUTH (5.0): reason 0x00 success, 0x18 continue authentication, 0x19 re-authenticate.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    #[serde(default)]
    pub reason: Option<u8>,
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsubackSpec {
    pub packet_id: IdRef,
    /// 5.0 reason codes, one per filter.
    #[serde(default)]
    pub codes: Vec<u8>,
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnackSpec {
    #[serde(default)]
    pub session_present: bool,
    #[serde(default)]
    pub code: u8,
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    pub topic: String,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub payload_hex: Option<String>,
    #[serde(default)]
    pub payload_size: Option<usize>,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    #[serde(default)]
    pub dup: bool,
    /// Default: the client's next free identifier (QoS 1 and 2).
    #[serde(default)]
    pub packet_id: Option<IdRef>,
    /// 5.0 PUBLISH properties.
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AckSpec {
    pub packet_id: IdRef,
    /// 5.0 reason code (omitted on the wire when 0x00 and there are no properties).
    #[serde(default)]
    pub reason: Option<u8>,
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeSpec {
    #[serde(default)]
    pub packet_id: Option<IdRef>,
    pub filters: Vec<FilterSpec>,
    /// 5.0: Subscription Identifier and user properties.
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    pub filter: String,
    #[serde(default)]
    pub qos: u8,
    /// 5.0 subscription option: never receive one's own messages.
    #[serde(default)]
    pub no_local: bool,
    /// 5.0 subscription option: forwarded messages keep the publisher's RETAIN flag.
    #[serde(default)]
    pub retain_as_published: bool,
    /// 5.0 subscription option: 0 send retained messages, 1 only for a new subscription,
    /// 2 never.
    #[serde(default)]
    pub retain_handling: u8,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubackSpec {
    pub packet_id: IdRef,
    pub codes: Vec<u8>,
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeSpec {
    #[serde(default)]
    pub packet_id: Option<IdRef>,
    pub filters: Vec<String>,
    #[serde(default)]
    pub properties: Option<Box<PropertiesSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectStep {
    pub client: String,
    /// The next packet must match this pattern.
    #[serde(default)]
    pub packet: Option<PacketPattern>,
    /// The next packet must match one of these (where the specification allows several
    /// correct answers).
    #[serde(default)]
    pub any_of: Option<Vec<PacketPattern>>,
    /// The next packets must match these, one each, in any order.
    #[serde(default)]
    pub all_of: Option<Vec<PacketPattern>>,
    /// How long to wait. Default: the run's expect timeout (2s unless set).
    #[serde(default)]
    pub within: Option<Dur>,
    /// When nothing arrives, end the scenario as not applicable for this reason instead of
    /// failing: for optional behaviour a broker may decline silently (e.g. refusing client
    /// publishes to `$` topics).
    #[serde(default)]
    pub not_applicable_if_nothing: Option<String>,
    /// When the broker closes the connection instead, end the scenario as not applicable for
    /// this reason (e.g. a message larger than the broker accepts).
    #[serde(default)]
    pub not_applicable_if_closed: Option<String>,
    /// When the next packet matches one of these instead of the expectation, the scenario
    /// ends as not applicable for `reason`: the broker legitimately declined something the
    /// scenario needs (e.g. `{suback: {below: [2]}}`, a lower grant than QoS 2).
    #[serde(default)]
    pub not_applicable_if: Vec<PacketPattern>,
    /// Why a `not_applicable_if` match makes the scenario not applicable.
    #[serde(default)]
    pub reason: Option<String>,
    /// Packets matching one of these may arrive before or between the expected ones and are
    /// passed over (extra copies the specification allows, e.g. overlapping subscriptions).
    #[serde(default)]
    pub ignore: Vec<PacketPattern>,
    /// The broker may close the connection instead, where the specification allows either
    /// answer (e.g. an invalid topic filter: SUBACK 0x80 or a close).
    #[serde(default)]
    pub or_close: bool,
    /// Save fields of the matched packet for later steps: `{pid: packet_id}`.
    #[serde(default)]
    pub save: BTreeMap<String, SaveField>,
    /// Statements this step checks, when narrower than the scenario's.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub statements: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaveField {
    PacketId,
    /// The Assigned Client Identifier of a 5.0 CONNACK.
    AssignedClientIdentifier,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectNothingStep {
    pub client: String,
    #[serde(rename = "for")]
    pub duration: Dur,
    /// Packets matching one of these may arrive and are passed over (traffic the scenario
    /// does not judge, e.g. other clients' messages seen by a `#` subscriber).
    #[serde(default)]
    pub ignore: Vec<PacketPattern>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub statements: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectCloseStep {
    pub client: String,
    /// Default: the run's expect timeout.
    #[serde(default)]
    pub within: Option<Dur>,
    /// The close must not come before this much time has passed (keep-alive checks).
    #[serde(default)]
    pub not_before: Option<Dur>,
    /// Packets that may arrive before the close (e.g. a 5.0 DISCONNECT); any other packet
    /// fails the step.
    #[serde(default)]
    pub allow: Vec<PacketPattern>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub statements: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepeatStep {
    pub times: u32,
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
}

pub use super::patterns::*;
