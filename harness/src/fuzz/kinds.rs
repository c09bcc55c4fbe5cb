//! The mutation kinds, by level, and the oracles: the vocabulary of cases, coverage and
//! findings.

use serde::Serialize;

/// How a case's valid flow was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MutationKind {
    /// The valid flow as generated.
    None,
    // Packet level.
    FieldEdge,
    LyingLength,
    NonMinimalLength,
    ReservedFlags,
    ReservedType,
    InvalidQos,
    InvalidUtf8,
    OverlongUtf8,
    NullChar,
    ForbiddenWildcard,
    PacketIdZero,
    PacketIdReused,
    OutOfOrder,
    WrongDirection,
    DuplicateConnect,
    /// 5.0 only: a property at or past its range, misplaced, repeated, or one only the
    /// server may send.
    PropertyEdge,
    // Stream level: the same bytes, written differently.
    ByteAtATime,
    Coalesced,
    SplitFrames,
    SlowWrites,
    HalfClose,
    // Byte level.
    BitFlip,
    Truncate,
    Insert,
}

/// Where a mutation acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    None,
    Packet,
    Stream,
    Byte,
}

impl MutationKind {
    pub const ALL: &'static [MutationKind] = &[
        Self::None,
        Self::FieldEdge,
        Self::LyingLength,
        Self::NonMinimalLength,
        Self::ReservedFlags,
        Self::ReservedType,
        Self::InvalidQos,
        Self::InvalidUtf8,
        Self::OverlongUtf8,
        Self::NullChar,
        Self::ForbiddenWildcard,
        Self::PacketIdZero,
        Self::PacketIdReused,
        Self::OutOfOrder,
        Self::WrongDirection,
        Self::DuplicateConnect,
        Self::PropertyEdge,
        Self::ByteAtATime,
        Self::Coalesced,
        Self::SplitFrames,
        Self::SlowWrites,
        Self::HalfClose,
        Self::BitFlip,
        Self::Truncate,
        Self::Insert,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::FieldEdge => "field-edge",
            Self::LyingLength => "lying-length",
            Self::NonMinimalLength => "non-minimal-length",
            Self::ReservedFlags => "reserved-flags",
            Self::ReservedType => "reserved-type",
            Self::InvalidQos => "invalid-qos",
            Self::InvalidUtf8 => "invalid-utf8",
            Self::OverlongUtf8 => "overlong-utf8",
            Self::NullChar => "null-char",
            Self::ForbiddenWildcard => "forbidden-wildcard",
            Self::PacketIdZero => "packet-id-zero",
            Self::PacketIdReused => "packet-id-reused",
            Self::OutOfOrder => "out-of-order",
            Self::WrongDirection => "wrong-direction",
            Self::DuplicateConnect => "duplicate-connect",
            Self::PropertyEdge => "property-edge",
            Self::ByteAtATime => "byte-at-a-time",
            Self::Coalesced => "coalesced",
            Self::SplitFrames => "split-frames",
            Self::SlowWrites => "slow-writes",
            Self::HalfClose => "half-close",
            Self::BitFlip => "bit-flip",
            Self::Truncate => "truncate",
            Self::Insert => "insert",
        }
    }

    pub fn level(self) -> Level {
        match self {
            Self::None => Level::None,
            Self::ByteAtATime
            | Self::Coalesced
            | Self::SplitFrames
            | Self::SlowWrites
            | Self::HalfClose => Level::Stream,
            Self::BitFlip | Self::Truncate | Self::Insert => Level::Byte,
            _ => Level::Packet,
        }
    }
}

/// Which oracle a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Oracle {
    /// After the case a fresh client could not connect and complete a QoS 1 round trip.
    Liveness,
    /// Malformed input (or a protocol error) the specification requires to be answered by
    /// closing the connection was not.
    MustClose,
    /// A valid flow, written differently at the stream level, was not answered as it must.
    ValidFlow,
    /// The broker sent bytes that are not a well-formed packet.
    MalformedReply,
    /// The broker sent a packet after its own DISCONNECT (5.0/MQTT-3.14.4-1).
    AfterDisconnect,
    /// The harness itself panicked or hung on a case (a bug of mqttspec, not the broker).
    Harness,
}

impl Oracle {
    pub fn name(self) -> &'static str {
        match self {
            Self::Liveness => "liveness",
            Self::MustClose => "must-close",
            Self::ValidFlow => "valid-flow",
            Self::MalformedReply => "malformed-reply",
            Self::AfterDisconnect => "after-disconnect",
            Self::Harness => "harness",
        }
    }
}
