//! Typed errors of the codec. A peer's malformed bytes are a [`DecodeError`]; a caller asking
//! to encode what cannot be written is an [`EncodeError`].

use crate::packet::PacketType;
use crate::properties::PropertyId;
use crate::version::ProtocolVersion;
use thiserror::Error;

/// Where a QoS value was found, because each place is covered by a different statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QosContext {
    Publish,
    Will,
    Subscription,
}

/// Why a topic filter is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FilterError {
    #[error("the filter is empty")]
    Empty,
    #[error("'#' is not alone in the last level")]
    MultiLevelWildcard,
    #[error("'+' does not fill a whole level")]
    SingleLevelWildcard,
    #[error(
        "a shared subscription needs '$share/<name>/<filter>' with a non-empty name free of '/', '+' and '#'"
    )]
    SharedSubscription,
}

/// One way a packet can be malformed or break a protocol rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    #[error("packet type {0} is reserved")]
    ReservedPacketType(u8),
    #[error("{packet:?} has fixed-header flags {flags:#06b}, which the specification reserves")]
    ReservedFlags { packet: PacketType, flags: u8 },
    #[error("the remaining length runs past four bytes")]
    RemainingLengthTooLong,
    #[error("a variable byte integer uses more bytes than its value needs")]
    NonMinimalVarint,
    #[error("a variable byte integer runs past four bytes")]
    VarintTooLong,
    #[error("the packet is {size} bytes, over the maximum of {max}")]
    PacketTooLarge { size: u64, max: u32 },
    #[error("{packet:?} ends before its {field} is complete")]
    Truncated {
        packet: PacketType,
        field: &'static str,
    },
    #[error("{packet:?} has {extra} bytes after its last field")]
    TrailingBytes { packet: PacketType, extra: usize },
    #[error("a string is not well-formed UTF-8")]
    InvalidUtf8,
    #[error("a string contains U+0000")]
    NullCharacter,
    #[error("protocol name {0:?} is not MQTT")]
    InvalidProtocolName(String),
    #[error("protocol level {0} is not supported")]
    UnsupportedProtocolLevel(u8),
    #[error("the CONNECT reserved flag is set")]
    ConnectReservedFlag,
    #[error("Will QoS or Will Retain is set while the Will Flag is 0")]
    WillFieldsWithoutWillFlag,
    #[error("QoS 3 in a {0:?}")]
    InvalidQos(QosContext),
    #[error("the Password Flag is set without the User Name Flag")]
    PasswordWithoutUsername,
    #[error("CONNACK acknowledge flags {0:#010b} set reserved bits")]
    ConnAckReservedFlags(u8),
    #[error("{0:?} carries packet identifier 0")]
    ZeroPacketId(PacketType),
    #[error("a QoS 0 PUBLISH has DUP set")]
    DupWithQos0,
    #[error("topic name {0:?} contains a wildcard")]
    WildcardInTopicName(String),
    #[error("response topic {0:?} contains a wildcard")]
    WildcardInResponseTopic(String),
    #[error("a CONNACK refusing the connection has Session Present set")]
    SessionPresentWithRefusal,
    #[error("the topic name is empty")]
    EmptyTopicName,
    #[error("topic filter {filter:?} is invalid: {reason}")]
    InvalidTopicFilter { filter: String, reason: FilterError },
    #[error("SUBSCRIBE has no topic filter")]
    EmptySubscribe,
    #[error("UNSUBSCRIBE has no topic filter")]
    EmptyUnsubscribe,
    #[error("subscription options {0:#010b} set reserved bits")]
    SubscriptionOptionsReserved(u8),
    #[error("Retain Handling 3 is not defined")]
    InvalidRetainHandling,
    #[error("No Local is set on shared subscription {0:?}")]
    NoLocalOnSharedSubscription(String),
    #[error("property identifier {0:#04x} is not defined")]
    UnknownProperty(u8),
    #[error("property {property:?} is not allowed in {context}")]
    PropertyNotAllowed {
        property: PropertyId,
        context: &'static str,
    },
    #[error("property {0:?} appears more than once")]
    DuplicateProperty(PropertyId),
    #[error("property {property:?} has the invalid value {value}")]
    InvalidPropertyValue { property: PropertyId, value: u32 },
    #[error("reason code {code:#04x} is not defined for {packet:?}")]
    InvalidReasonCode { packet: PacketType, code: u8 },
    #[error("{0:?} does not exist in MQTT 3.1.1")]
    NotInVersion(PacketType),
}

/// A [`DecodeErrorKind`] on its way up the decoding path, behind a pointer.
///
/// The kind is 32 bytes with byte-sized fields at odd offsets. Inline in the `Result` of a
/// field read, it makes the compiler copy every successfully read value (a string, a
/// packet) in 2- and 4-byte pieces that are then reloaded whole, which defeats
/// store-to-load forwarding: measured, that stall was a third of the time of decoding a
/// small PUBLISH. Boxed, each `Result` is a value or one pointer. Errors are rare, so their
/// allocation costs nothing that matters.
pub type BoxedKind = Box<DecodeErrorKind>;

/// A decoding failure, with the protocol version it was judged against.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} (breaks {})", .kind.statements(*.version).join(", "))]
pub struct DecodeError {
    pub version: ProtocolVersion,
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub fn new(version: ProtocolVersion, kind: DecodeErrorKind) -> Self {
        Self { version, kind }
    }

    /// The namespaced statement IDs this error breaks, e.g. `3.1.1/MQTT-2.2.2-1`.
    pub fn statements(&self) -> Vec<String> {
        self.kind.statements(self.version)
    }
}

impl DecodeErrorKind {
    /// Namespaced IDs of the statements broken, most specific first. Where the specification
    /// has no numbered statement for the rule, the version's catch-all for malformed packets
    /// and protocol errors is named instead.
    pub fn statements(&self, version: ProtocolVersion) -> Vec<String> {
        let ids = self.raw_statements(version);
        ids.iter()
            .map(|id| format!("{}/MQTT-{id}", version.namespace()))
            .collect()
    }

    fn raw_statements(&self, version: ProtocolVersion) -> Vec<&'static str> {
        use DecodeErrorKind as K;
        use ProtocolVersion::{V5, V311};
        let catch_all = match version {
            V311 => "4.8.0-1",
            V5 => "4.13.1-1",
        };
        let mut ids: Vec<&'static str> = match (self, version) {
            (K::ReservedFlags { packet, .. }, _) => {
                let mut ids = vec![match version {
                    V311 => "2.2.2-1",
                    V5 => "2.1.3-1",
                }];
                if version == V311 {
                    ids.push("2.2.2-2");
                }
                match packet {
                    PacketType::PubRel => ids.insert(0, "3.6.1-1"),
                    PacketType::Subscribe => ids.insert(0, "3.8.1-1"),
                    PacketType::Unsubscribe => ids.insert(0, "3.10.1-1"),
                    PacketType::Disconnect => ids.insert(0, "3.14.1-1"),
                    PacketType::Auth => ids.insert(0, "3.15.1-1"),
                    _ => {}
                }
                ids
            }
            (K::NonMinimalVarint, V5) => vec!["1.5.5-1"],
            (K::PacketTooLarge { .. }, V5) => vec!["3.2.2-15"],
            (K::PacketTooLarge { .. }, V311) => vec![],
            (K::InvalidUtf8, V311) => vec!["1.5.3-1"],
            (K::InvalidUtf8, V5) => vec!["1.5.4-1"],
            (K::NullCharacter, V311) => vec!["1.5.3-2", "4.7.3-2"],
            (K::NullCharacter, V5) => vec!["1.5.4-2", "4.7.3-2"],
            (K::InvalidProtocolName(_), _) => vec!["3.1.2-1"],
            (K::UnsupportedProtocolLevel(_), _) => vec!["3.1.2-2"],
            (K::ConnectReservedFlag, _) => vec!["3.1.2-3"],
            (K::WillFieldsWithoutWillFlag, V311) => vec!["3.1.2-11", "3.1.2-13", "3.1.2-15"],
            (K::WillFieldsWithoutWillFlag, V5) => vec!["3.1.2-11", "3.1.2-13"],
            (K::InvalidQos(QosContext::Publish), _) => vec!["3.3.1-4"],
            (K::InvalidQos(QosContext::Will), V311) => vec!["3.1.2-14"],
            (K::InvalidQos(QosContext::Will), V5) => vec!["3.1.2-12"],
            (K::InvalidQos(QosContext::Subscription), V311) => vec!["3.8.3-4"],
            (K::PasswordWithoutUsername, V311) => vec!["3.1.2-22"],
            (K::ConnAckReservedFlags(_), V5) => vec!["3.2.2-1"],
            (K::ZeroPacketId(_), V311) => vec!["2.3.1-1"],
            (K::ZeroPacketId(_), V5) => vec!["2.2.1-3", "2.2.1-4"],
            (K::DupWithQos0, _) => vec!["3.3.1-2"],
            (K::WildcardInTopicName(_), V311) => vec!["3.3.2-2", "4.7.1-1"],
            (K::WildcardInTopicName(_), V5) => vec!["3.3.2-2", "4.7.0-1"],
            (K::EmptyTopicName, _) => vec!["4.7.3-1"],
            (K::WildcardInResponseTopic(_), _) => vec!["3.3.2-14"],
            (K::SessionPresentWithRefusal, V311) => vec!["3.2.2-4"],
            (K::SessionPresentWithRefusal, V5) => vec!["3.2.2-6"],
            (K::InvalidTopicFilter { reason, .. }, _) => match (reason, version) {
                (FilterError::Empty, _) => vec!["4.7.3-1"],
                (FilterError::MultiLevelWildcard, V311) => vec!["4.7.1-2"],
                (FilterError::MultiLevelWildcard, V5) => vec!["4.7.1-1"],
                (FilterError::SingleLevelWildcard, V311) => vec!["4.7.1-3"],
                (FilterError::SingleLevelWildcard, V5) => vec!["4.7.1-2"],
                (FilterError::SharedSubscription, V5) => vec!["4.8.2-1", "4.8.2-2"],
                (FilterError::SharedSubscription, V311) => vec![],
            },
            (K::EmptySubscribe, V311) => vec!["3.8.3-3"],
            (K::EmptySubscribe, V5) => vec!["3.8.3-2"],
            (K::EmptyUnsubscribe, _) => vec!["3.10.3-2"],
            (K::SubscriptionOptionsReserved(_), V311) => vec!["3.8.3-4"],
            (K::SubscriptionOptionsReserved(_), V5) => vec!["3.8.3-5"],
            (K::NoLocalOnSharedSubscription(_), V5) => vec!["3.8.3-4"],
            (
                K::InvalidPropertyValue {
                    property: PropertyId::TopicAlias,
                    value: 0,
                },
                V5,
            ) => vec!["3.3.2-8"],
            // The sender must use a code of the packet's table.
            (K::InvalidReasonCode { packet, .. }, V5) => match packet {
                PacketType::ConnAck => vec!["3.2.2-8"],
                PacketType::Disconnect => vec!["3.14.2-1"],
                PacketType::Auth => vec!["3.15.2-1"],
                _ => vec![],
            },
            _ => vec![],
        };
        // The catch-all stands beside every rule: it is the statement that obliges the
        // receiver to close the connection.
        if !ids.contains(&catch_all) {
            ids.push(catch_all);
        }
        ids
    }
}

/// A packet that cannot be written as asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("a string or binary field of {0} bytes exceeds 65,535")]
    FieldTooLong(usize),
    #[error("the remaining length {0} exceeds 268,435,455")]
    PacketTooLong(usize),
    #[error("a variable byte integer value {0} exceeds 268,435,455")]
    VarintTooLarge(u32),
    #[error("{0:?} carries properties or reason codes, which MQTT 3.1.1 cannot encode")]
    V5FieldsInV311(PacketType),
    #[error("{0:?} does not exist in MQTT 3.1.1")]
    NotInVersion(PacketType),
}
