//! The queue of actions the driver takes with `poll_action`, and the one place that encodes
//! outgoing packets.

use super::{Action, ConnId};
use mqttspec_codec::{Packet, ProtocolVersion};
use std::collections::VecDeque;

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    actions: VecDeque<Action>,
}

impl Outbox {
    /// Encodes `packet` for `conn`. The broker only writes packets it built from decoded
    /// input, so encoding cannot fail in practice; if it ever does, the packet is dropped
    /// and logged rather than taking the broker down.
    pub fn send(&mut self, conn: ConnId, packet: impl Into<Packet>) {
        let packet = packet.into();
        match packet.to_bytes(ProtocolVersion::V311) {
            Ok(bytes) => self.actions.push_back(Action::Send { conn, bytes }),
            Err(e) => tracing::error!(?conn, kind = ?packet.packet_type(), %e, "cannot encode"),
        }
    }

    pub fn close(&mut self, conn: ConnId) {
        self.actions.push_back(Action::Close { conn });
    }

    pub fn pop(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
}
