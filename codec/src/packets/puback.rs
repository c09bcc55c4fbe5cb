//! PUBACK: Acknowledges a QoS 1 PUBLISH (section 3.4).

super::ack::ack_packet!(
    /// Acknowledges a QoS 1 PUBLISH (section 3.4).
    PubAck,
    crate::packet::PacketType::PubAck
);
