//! What the broker knows about how to write to one client: its protocol version, the
//! largest packet it accepts, and whether it wants reason strings (5.0 CONNECT properties).
//! Every packet the core sends goes through [`super::outbox::Outbox::send`] with one.

use mqttspec_codec::ProtocolVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub version: ProtocolVersion,
    /// The client's Maximum Packet Size (5.0); unlimited otherwise.
    pub max_packet_size: u32,
    /// Request Problem Information (5.0): reason strings and user properties allowed on
    /// packets other than PUBLISH, CONNACK and DISCONNECT.
    pub problem_info: bool,
}

impl Link {
    pub const V311: Link = Link {
        version: ProtocolVersion::V311,
        max_packet_size: u32::MAX,
        problem_info: true,
    };

    pub fn v5(&self) -> bool {
        self.version.is_v5()
    }
}

impl Default for Link {
    fn default() -> Self {
        Self::V311
    }
}
