//! Reason codes (5.0 section 2.4) and 3.1.1 return codes, as a newtype over the byte so an
//! unknown code survives a round trip and can be reported as what it is.

use crate::packet::PacketType;
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ReasonCode(pub u8);

macro_rules! codes {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        impl ReasonCode {
            $(pub const $name: ReasonCode = ReasonCode($value);)*
        }
        const NAMES: &[(u8, &str)] = &[$(($value, $text),)*];
    };
}

codes! {
    SUCCESS = 0x00, "Success";
    GRANTED_QOS_1 = 0x01, "Granted QoS 1";
    GRANTED_QOS_2 = 0x02, "Granted QoS 2";
    DISCONNECT_WITH_WILL = 0x04, "Disconnect with Will Message";
    NO_MATCHING_SUBSCRIBERS = 0x10, "No matching subscribers";
    NO_SUBSCRIPTION_EXISTED = 0x11, "No subscription existed";
    CONTINUE_AUTHENTICATION = 0x18, "Continue authentication";
    RE_AUTHENTICATE = 0x19, "Re-authenticate";
    UNSPECIFIED_ERROR = 0x80, "Unspecified error";
    MALFORMED_PACKET = 0x81, "Malformed Packet";
    PROTOCOL_ERROR = 0x82, "Protocol Error";
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83, "Implementation specific error";
    UNSUPPORTED_PROTOCOL_VERSION = 0x84, "Unsupported Protocol Version";
    CLIENT_IDENTIFIER_NOT_VALID = 0x85, "Client Identifier not valid";
    BAD_USER_NAME_OR_PASSWORD = 0x86, "Bad User Name or Password";
    NOT_AUTHORIZED = 0x87, "Not authorized";
    SERVER_UNAVAILABLE = 0x88, "Server unavailable";
    SERVER_BUSY = 0x89, "Server busy";
    BANNED = 0x8A, "Banned";
    SERVER_SHUTTING_DOWN = 0x8B, "Server shutting down";
    BAD_AUTHENTICATION_METHOD = 0x8C, "Bad authentication method";
    KEEP_ALIVE_TIMEOUT = 0x8D, "Keep Alive timeout";
    SESSION_TAKEN_OVER = 0x8E, "Session taken over";
    TOPIC_FILTER_INVALID = 0x8F, "Topic Filter invalid";
    TOPIC_NAME_INVALID = 0x90, "Topic Name invalid";
    PACKET_IDENTIFIER_IN_USE = 0x91, "Packet Identifier in use";
    PACKET_IDENTIFIER_NOT_FOUND = 0x92, "Packet Identifier not found";
    RECEIVE_MAXIMUM_EXCEEDED = 0x93, "Receive Maximum exceeded";
    TOPIC_ALIAS_INVALID = 0x94, "Topic Alias invalid";
    PACKET_TOO_LARGE = 0x95, "Packet too large";
    MESSAGE_RATE_TOO_HIGH = 0x96, "Message rate too high";
    QUOTA_EXCEEDED = 0x97, "Quota exceeded";
    ADMINISTRATIVE_ACTION = 0x98, "Administrative action";
    PAYLOAD_FORMAT_INVALID = 0x99, "Payload format invalid";
    RETAIN_NOT_SUPPORTED = 0x9A, "Retain not supported";
    QOS_NOT_SUPPORTED = 0x9B, "QoS not supported";
    USE_ANOTHER_SERVER = 0x9C, "Use another server";
    SERVER_MOVED = 0x9D, "Server moved";
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E, "Shared Subscriptions not supported";
    CONNECTION_RATE_EXCEEDED = 0x9F, "Connection rate exceeded";
    MAXIMUM_CONNECT_TIME = 0xA0, "Maximum connect time";
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1, "Subscription Identifiers not supported";
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2, "Wildcard Subscriptions not supported";
}

/// MQTT 3.1.1 CONNACK return codes (section 3.2.2.3).
pub mod v311 {
    use super::ReasonCode;
    pub const ACCEPTED: ReasonCode = ReasonCode(0x00);
    pub const UNACCEPTABLE_PROTOCOL_VERSION: ReasonCode = ReasonCode(0x01);
    pub const IDENTIFIER_REJECTED: ReasonCode = ReasonCode(0x02);
    pub const SERVER_UNAVAILABLE: ReasonCode = ReasonCode(0x03);
    pub const BAD_USER_NAME_OR_PASSWORD: ReasonCode = ReasonCode(0x04);
    pub const NOT_AUTHORIZED: ReasonCode = ReasonCode(0x05);
    /// SUBACK return code for a refused subscription.
    pub const SUBSCRIPTION_FAILURE: ReasonCode = ReasonCode(0x80);
}

const CONNACK: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
const PUBACK_PUBREC: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_PUBCOMP: &[u8] = &[0x00, 0x92];
const SUBACK: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
const UNSUBACK: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH: &[u8] = &[0x00, 0x18, 0x19];

impl ReasonCode {
    pub const fn is_error(self) -> bool {
        self.0 >= 0x80
    }

    /// Whether MQTT 5.0 defines this code for this packet type.
    pub fn valid_for(self, packet: PacketType) -> bool {
        let set = match packet {
            PacketType::ConnAck => CONNACK,
            PacketType::PubAck | PacketType::PubRec => PUBACK_PUBREC,
            PacketType::PubRel | PacketType::PubComp => PUBREL_PUBCOMP,
            PacketType::SubAck => SUBACK,
            PacketType::UnsubAck => UNSUBACK,
            PacketType::Disconnect => DISCONNECT,
            PacketType::Auth => AUTH,
            _ => return false,
        };
        set.contains(&self.0)
    }

    /// Whether MQTT 3.1.1 defines this return code for this packet type.
    pub fn valid_for_v311(self, packet: PacketType) -> bool {
        match packet {
            PacketType::ConnAck => self.0 <= 5,
            PacketType::SubAck => matches!(self.0, 0 | 1 | 2 | 0x80),
            _ => false,
        }
    }

    /// The specification's name for the code, where it has one.
    pub fn name(self) -> Option<&'static str> {
        NAMES.iter().find(|(c, _)| *c == self.0).map(|(_, n)| *n)
    }
}

impl fmt::Debug for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{:#04x} ({name})", self.0),
            None => write!(f, "{:#04x}", self.0),
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_code_survives_and_prints_as_hex() {
        let code = ReasonCode(0x42);
        assert_eq!(code.name(), None);
        assert_eq!(format!("{code}"), "0x42");
        assert_eq!(
            format!("{}", ReasonCode::PACKET_TOO_LARGE),
            "0x95 (Packet too large)"
        );
    }

    #[test]
    fn per_packet_sets() {
        assert!(ReasonCode::NO_MATCHING_SUBSCRIBERS.valid_for(PacketType::PubAck));
        assert!(!ReasonCode::NO_MATCHING_SUBSCRIBERS.valid_for(PacketType::PubRel));
        assert!(ReasonCode::PACKET_IDENTIFIER_NOT_FOUND.valid_for(PacketType::PubComp));
        assert!(!ReasonCode(0x03).valid_for_v311(PacketType::SubAck));
        assert!(ReasonCode(0x05).valid_for_v311(PacketType::ConnAck));
    }
}
