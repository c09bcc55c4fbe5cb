//! Cases: a generated flow, one mutation at the packet, stream or byte level, and the plan of
//! writes that sends it. Everything is drawn from the case's own random stream, derived from
//! the run's seed and the case's number, so a seed always gives the same cases.

use super::fields::{bad_string, field_edge, packet_id, packet_id_of, property_edge};
use super::flow::{CaseIds, Flow, below, flow, pick};
use super::frame::{Frame, reframe, split, varint, with_length};
use super::kinds::{Level, MutationKind};
use crate::sim::rng::Rng;
use mqttspec_codec::{
    ConnAck, Packet, PacketType, Properties, ProtocolVersion, PubAck, PubComp, PubRec, PubRel,
    SubAck, UnsubAck, reason::ReasonCode,
};
use std::time::Duration;

/// One write of a case: the bytes, after a pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub delay: Duration,
    pub bytes: Vec<u8>,
}

/// One fuzz case.
#[derive(Debug, Clone)]
pub struct Case {
    pub index: u64,
    pub version: ProtocolVersion,
    pub mutation: MutationKind,
    /// The packet type the mutation acted on (`None`: the stream as a whole, or a reserved
    /// packet type).
    pub target: Option<PacketType>,
    /// The frames sent, after the mutation.
    pub frames: Vec<Frame>,
    pub chunks: Vec<Chunk>,
    /// Shut the write side down after the last chunk.
    pub half_close: bool,
}

impl Case {
    /// Every byte the case sends, in order.
    pub fn stream(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|c| c.bytes.clone()).collect()
    }

    /// The packet type shown for the case: the target, or "STREAM"/"RESERVED".
    pub fn target_name(&self) -> &'static str {
        match (self.target, self.mutation.level()) {
            (Some(t), _) => t.name(),
            (None, Level::Stream | Level::None) => "STREAM",
            (None, _) => "RESERVED",
        }
    }
}

/// Builds case `index` of the run seeded `seed`.
pub fn build(seed: u64, index: u64, ids: &CaseIds) -> Case {
    let mut rng = Rng::derive(seed, &format!("case-{index}"));
    let flow = flow(&mut rng, ids);
    for _ in 0..8 {
        let kind = choose(&mut rng);
        if let Some(case) = apply(&mut rng, index, &flow, kind) {
            return case;
        }
    }
    apply(&mut rng, index, &flow, MutationKind::None).unwrap_or_else(|| Case {
        index,
        version: flow.version,
        mutation: MutationKind::None,
        target: None,
        frames: Vec::new(),
        chunks: Vec::new(),
        half_close: false,
    })
}

fn choose(rng: &mut Rng) -> MutationKind {
    let all = MutationKind::ALL;
    // A valid flow now and then; every other kind equally often.
    if rng.chance(0.04) {
        return MutationKind::None;
    }
    all[1 + below(rng, all.len() - 1)]
}

fn encode(packets: &[Packet], version: ProtocolVersion) -> Option<Vec<Frame>> {
    packets
        .iter()
        .map(|p| p.to_bytes(version).ok().map(|b| Frame::new(b.to_vec())))
        .collect()
}

/// One write per frame.
fn per_frame(frames: &[Frame]) -> Vec<Chunk> {
    frames
        .iter()
        .map(|f| Chunk {
            delay: Duration::ZERO,
            bytes: f.bytes.clone(),
        })
        .collect()
}

fn concat(frames: &[Frame]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.bytes.clone()).collect()
}

/// The case, or `None` if `kind` does not apply to this flow.
fn apply(rng: &mut Rng, index: u64, flow: &Flow, kind: MutationKind) -> Option<Case> {
    let version = flow.version;
    let mut target = None;
    let mut half_close = false;
    let mut packets = flow.packets.clone();
    // Mutations of the packets' fields, before encoding.
    match kind {
        MutationKind::FieldEdge => target = Some(field_edge(rng, &mut packets, version)?),
        MutationKind::PropertyEdge => target = Some(property_edge(rng, &mut packets, version)?),
        MutationKind::PacketIdZero => target = Some(packet_id(rng, &mut packets, None)?),
        MutationKind::PacketIdReused => {
            let first = packets.iter().find_map(packet_id_of)?;
            target = Some(packet_id(rng, &mut packets, Some(first))?);
        }
        _ => {}
    }
    let mut frames = encode(&packets, version)?;
    let n = frames.len();
    let mut chunks = None;
    match kind {
        MutationKind::None
        | MutationKind::FieldEdge
        | MutationKind::PropertyEdge
        | MutationKind::PacketIdZero
        | MutationKind::PacketIdReused => {}
        MutationKind::LyingLength | MutationKind::NonMinimalLength => {
            let i = below(rng, n);
            let (first, len, body) = split(&frames[i].bytes)?;
            let new = if kind == MutationKind::LyingLength {
                let lie = match below(rng, 6) {
                    0 => len.saturating_sub(1),
                    1 => len.saturating_sub(2),
                    2 => len + 1,
                    3 => len + 2,
                    4 => len + 100,
                    _ => 268_435_455,
                };
                if lie == len {
                    return None;
                }
                with_length(first, &varint(lie), body)
            } else {
                let mut enc = varint(len);
                if enc.len() == 4 {
                    return None;
                }
                let last = enc.len() - 1;
                enc[last] |= 0x80;
                enc.push(0x00);
                with_length(first, &enc, body)
            };
            target = frames[i].packet;
            frames[i].bytes = new;
        }
        MutationKind::ReservedFlags => {
            let i = pick_frame(rng, &frames, |t| t != PacketType::Publish)?;
            let t = frames[i].packet?;
            let required = t.required_flags()?;
            let flags = (required + 1 + below(rng, 15) as u8) % 16;
            frames[i].bytes[0] = (t as u8) << 4 | flags;
            target = Some(t);
        }
        MutationKind::InvalidQos => {
            let i = pick_frame(rng, &frames, |t| t == PacketType::Publish)?;
            frames[i].bytes[0] |= 0b0110;
            target = Some(PacketType::Publish);
        }
        MutationKind::ReservedType => {
            let types: &[u8] = if version == ProtocolVersion::V311 {
                &[0, 15]
            } else {
                &[0]
            };
            let first = pick(rng, types) << 4 | below(rng, 16) as u8;
            let body = vec![0u8; below(rng, 3)];
            let at = 1 + below(rng, n);
            frames.insert(at, Frame::new(reframe(first, &body)));
        }
        MutationKind::InvalidUtf8
        | MutationKind::OverlongUtf8
        | MutationKind::NullChar
        | MutationKind::ForbiddenWildcard => {
            let (i, new) = bad_string(rng, &packets, &frames, kind)?;
            target = frames[i].packet;
            frames[i].bytes = new;
        }
        MutationKind::OutOfOrder => match below(rng, 3) {
            0 if n > 1 => {
                // The CONNECT is not first.
                let j = 1 + below(rng, n - 1);
                frames.swap(0, j);
                target = frames[0].packet;
            }
            1 => {
                // An acknowledgement nobody asked for.
                let id = 1000 + below(rng, 100) as u16;
                let p = match below(rng, 4) {
                    0 => Packet::PubAck(PubAck::new(id)),
                    1 => Packet::PubRec(PubRec::new(id)),
                    2 => Packet::PubRel(PubRel::new(id)),
                    _ => Packet::PubComp(PubComp::new(id)),
                };
                target = Some(p.packet_type());
                let f = Frame::new(p.to_bytes(version).ok()?.to_vec());
                frames.insert(1 + below(rng, n), f);
            }
            _ if n > 2 => {
                frames[1..].reverse();
                target = frames[1].packet;
            }
            _ => return None,
        },
        MutationKind::WrongDirection => {
            let v5 = version == ProtocolVersion::V5;
            let p = match below(rng, 4) {
                0 => Packet::ConnAck(ConnAck::new(false, ReasonCode(0))),
                1 => Packet::SubAck(SubAck {
                    packet_id: 1,
                    properties: Properties::new(),
                    return_codes: vec![ReasonCode(0)],
                }),
                2 => Packet::UnsubAck(UnsubAck {
                    packet_id: 1,
                    properties: Properties::new(),
                    reason_codes: if v5 { vec![ReasonCode(0)] } else { Vec::new() },
                }),
                _ => Packet::PingResp,
            };
            target = Some(p.packet_type());
            let f = Frame::new(p.to_bytes(version).ok()?.to_vec());
            frames.insert(1 + below(rng, n), f);
        }
        MutationKind::DuplicateConnect => {
            let copy = frames[0].clone();
            frames.insert(1 + below(rng, n), copy);
            target = Some(PacketType::Connect);
        }
        MutationKind::ByteAtATime => {
            chunks = Some(
                concat(&frames)
                    .into_iter()
                    .map(|b| Chunk {
                        delay: Duration::ZERO,
                        bytes: vec![b],
                    })
                    .collect(),
            );
        }
        MutationKind::Coalesced => {
            chunks = Some(vec![Chunk {
                delay: Duration::ZERO,
                bytes: concat(&frames),
            }]);
        }
        MutationKind::SplitFrames => {
            let all = concat(&frames);
            let mut cuts: Vec<usize> = (0..1 + below(rng, 6))
                .map(|_| below(rng, all.len()))
                .collect();
            cuts.push(all.len());
            cuts.sort_unstable();
            let mut from = 0;
            let mut out = Vec::new();
            for cut in cuts {
                if cut > from {
                    out.push(Chunk {
                        delay: Duration::from_millis(below(rng, 3) as u64),
                        bytes: all[from..cut].to_vec(),
                    });
                    from = cut;
                }
            }
            chunks = Some(out);
        }
        MutationKind::SlowWrites => {
            let all = concat(&frames);
            let size = 1 + below(rng, 8);
            chunks = Some(
                all.chunks(size)
                    .map(|c| Chunk {
                        delay: Duration::from_millis(1 + below(rng, 4) as u64),
                        bytes: c.to_vec(),
                    })
                    .collect(),
            );
        }
        MutationKind::HalfClose => half_close = true,
        MutationKind::BitFlip | MutationKind::Truncate | MutationKind::Insert => {
            let mut all = concat(&frames);
            let total = all.len();
            if total == 0 {
                return None;
            }
            let at = match kind {
                MutationKind::BitFlip => {
                    let mut first = total;
                    for _ in 0..1 + below(rng, 3) {
                        let at = below(rng, total);
                        all[at] ^= 1 << below(rng, 8);
                        first = first.min(at);
                    }
                    first
                }
                MutationKind::Truncate => {
                    let at = 1 + below(rng, total - 1).min(total - 1);
                    all.truncate(at);
                    at.saturating_sub(1)
                }
                _ => {
                    let at = below(rng, total + 1);
                    let extra: Vec<u8> = (0..1 + below(rng, 4))
                        .map(|_| rng.next_u64() as u8)
                        .collect();
                    all.splice(at..at, extra);
                    at
                }
            };
            target = frame_at(&frames, at);
            chunks = Some(vec![Chunk {
                delay: Duration::ZERO,
                bytes: all,
            }]);
            frames = vec![Frame::new(chunks.as_ref()?[0].bytes.clone())];
        }
    }
    let chunks = chunks.unwrap_or_else(|| per_frame(&frames));
    Some(Case {
        index,
        version,
        mutation: kind,
        target,
        frames,
        chunks,
        half_close,
    })
}

/// The type of the frame holding byte `at` of the frames laid end to end.
fn frame_at(frames: &[Frame], at: usize) -> Option<PacketType> {
    let mut end = 0;
    for f in frames {
        end += f.bytes.len();
        if at < end {
            return f.packet;
        }
    }
    frames.last().and_then(|f| f.packet)
}

/// A frame whose packet type satisfies `want`.
fn pick_frame(rng: &mut Rng, frames: &[Frame], want: impl Fn(PacketType) -> bool) -> Option<usize> {
    let eligible: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].packet.is_some_and(&want))
        .collect();
    if eligible.is_empty() {
        return None;
    }
    Some(*pick(rng, &eligible))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> CaseIds {
        CaseIds {
            client_id: "fz1c1".into(),
            topic: "mqttspec-fuzz/1/1".into(),
            version: None,
        }
    }

    #[test]
    fn same_seed_same_cases() {
        for i in 0..300 {
            let a = build(7, i, &ids());
            let b = build(7, i, &ids());
            assert_eq!(a.stream(), b.stream());
            assert_eq!(a.mutation, b.mutation);
            assert_eq!(a.chunks, b.chunks);
        }
        let differs = (0..50).any(|i| build(7, i, &ids()).stream() != build(8, i, &ids()).stream());
        assert!(differs);
    }

    #[test]
    fn every_kind_is_drawn() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..3000 {
            seen.insert(build(3, i, &ids()).mutation);
        }
        for k in MutationKind::ALL {
            assert!(seen.contains(k), "{k:?} never drawn");
        }
    }
}
