//! Packet patterns of `expect` steps: only the fields given are compared, and properties
//! as `PropertiesPattern` says (part of the scenario format, beside `model.rs`).

use super::idref::IdRef;
use super::props::PropertiesPattern;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A packet pattern: only the fields given are compared.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PacketPattern {
    Connack(ConnackPattern),
    Publish(PublishPattern),
    Puback(AckPattern),
    Pubrec(AckPattern),
    Pubrel(AckPattern),
    Pubcomp(AckPattern),
    Suback(SubackPattern),
    Unsuback(UnsubackPattern),
    Pingresp,
    Disconnect(DisconnectPattern),
    Auth(DisconnectPattern),
    /// Matches any packet.
    Any,
}

/// DISCONNECT or AUTH: the 5.0 reason code (an absent one is 0x00) and properties.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisconnectPattern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Box<PropertiesPattern>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsubackPattern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<IdRef>,
    /// 5.0 reason codes, one per filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Box<PropertiesPattern>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnackPattern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_present: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Box<PropertiesPattern>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishPattern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The topic matches this topic filter by the rules of 4.7 (wildcards, and leading
    /// wildcards never matching a topic that starts with `$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_matches: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<IdRef>,
    /// The packet identifier differs from this one: e.g. `"${first}"`, the identifier of a
    /// message still unacknowledged, which a new one must not reuse (2.3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_id_not: Option<IdRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Box<PropertiesPattern>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AckPattern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<IdRef>,
    /// 5.0 reason code; an absent one is 0x00 (success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Box<PropertiesPattern>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubackPattern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<IdRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<Vec<u8>>,
    /// Matches a SUBACK in which some return code is lower than the QoS at the same place
    /// in this list, or is 0x80 (failure): a grant the broker may lower (3.8.4), for
    /// `not_applicable_if`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Box<PropertiesPattern>>,
}
