//! Packet codec for MQTT 3.1.1 and MQTT 5.0.
//!
//! - [`framing`] splits a byte stream into frames without ever failing on short input and
//!   enforces a maximum packet size before the body is buffered.
//! - [`Packet::decode`] parses one frame with strict validation; every [`DecodeErrorKind`]
//!   names the normative statements it breaks.
//! - [`Packet::encode`] writes exactly what the struct holds, so tests can build packets a
//!   compliant peer never would; [`raw::RawPacket`] goes further for byte-level malformations.
//!
//! One set of types serves both versions: fields that exist only in 5.0 (properties, reason
//! codes) stay empty for 3.1.1, and encoding a 3.1.1 packet that carries them is an error.

pub mod error;
pub mod framing;
pub mod packet;
pub mod packets;
pub mod properties;
pub mod qos;
pub mod raw;
pub mod reason;
pub mod topic;
pub mod version;
pub mod wire;

pub use bytes::Bytes;
pub use bytestring::ByteString;
pub use error::{DecodeError, DecodeErrorKind, EncodeError, FilterError, QosContext};
pub use framing::{DecodeOptions, Decoder, FrameHeader};
pub use packet::{Packet, PacketType};
pub use packets::{
    Auth, ConnAck, Connect, Disconnect, PubAck, PubComp, PubRec, PubRel, Publish, SubAck,
    Subscribe, SubscribeOptions, Subscription, UnsubAck, Unsubscribe, Will,
};
pub use properties::{Properties, Property, PropertyId};
pub use qos::QoS;
pub use reason::ReasonCode;
pub use version::ProtocolVersion;
