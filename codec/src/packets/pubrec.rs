//! PUBREC: First answer to a QoS 2 PUBLISH (section 3.5).

super::ack::ack_packet!(
    /// First answer to a QoS 2 PUBLISH (section 3.5).
    PubRec,
    crate::packet::PacketType::PubRec
);
