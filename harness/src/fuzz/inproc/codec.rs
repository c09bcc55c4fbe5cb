//! The codec targets `decode` and `frames`, shared by the cargo-fuzz binaries and the stable
//! replay of their corpora (`fuzz/corpus/decode`, `fuzz/corpus/frames`, built by
//! [`super::seeds`]).

use bytes::BytesMut;
use mqttspec_codec::{DecodeOptions, Decoder, Packet, ProtocolVersion};
use thiserror::Error;

/// A broken property of the codec.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecViolation {
    #[error("{version}: asked for more input but consumed {consumed} bytes")]
    ConsumedWhileWaiting {
        version: ProtocolVersion,
        consumed: usize,
    },
    #[error("{version}: {packet} decoded strictly but does not encode: {error}")]
    DoesNotEncode {
        version: ProtocolVersion,
        packet: String,
        error: String,
    },
    #[error("{version}: {packet} decoded strictly from {frame:02X?} but encodes to {encoded:02X?}")]
    NotReencoded {
        version: ProtocolVersion,
        packet: String,
        frame: Vec<u8>,
        encoded: Vec<u8>,
    },
    #[error("{version}: the stream decodes to {whole} packets whole but {chunked} cut at {cuts:?}")]
    FramingDependsOnCuts {
        version: ProtocolVersion,
        whole: String,
        chunked: String,
        cuts: Vec<usize>,
    },
}

/// Target `decode`: any bytes, both versions, strict and lenient. Decoding never panics,
/// never consumes input when it asks for more, and whatever decodes strictly re-encodes to
/// the same frame.
pub fn decode(data: &[u8]) -> Result<(), CodecViolation> {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        for strict in [true, false] {
            let options = DecodeOptions {
                strict,
                ..DecodeOptions::default()
            };
            let decoder = Decoder::with_options(version, options);
            let mut buf = BytesMut::from(data);
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(None) if buf.len() != before => {
                    return Err(CodecViolation::ConsumedWhileWaiting {
                        version,
                        consumed: before - buf.len(),
                    });
                }
                Ok(Some(packet)) if strict => {
                    let frame = &data[..before - buf.len()];
                    // Encoded in the decoder's version (a CONNECT announces its own).
                    let encoded =
                        packet
                            .to_bytes(version)
                            .map_err(|e| CodecViolation::DoesNotEncode {
                                version,
                                packet: format!("{packet:?}"),
                                error: e.to_string(),
                            })?;
                    if encoded[..] != *frame {
                        return Err(CodecViolation::NotReencoded {
                            version,
                            packet: format!("{packet:?}"),
                            frame: frame.to_vec(),
                            encoded: encoded.to_vec(),
                        });
                    }
                }
                Ok(_) | Err(_) => {}
            }
        }
    }
    Ok(())
}

/// The input of target `frames`: byte 0 bit 0 chooses 5.0; byte 1 is a number of cuts
/// `n`; then `n` cut points (big-endian u16, each taken modulo what is left); the rest is
/// the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramesInput {
    pub v5: bool,
    pub cuts: Vec<u16>,
    pub stream: Vec<u8>,
}

impl FramesInput {
    pub fn parse(data: &[u8]) -> Self {
        let v5 = data.first().is_some_and(|b| b & 1 == 1);
        let n = data.get(1).copied().map_or(0, usize::from);
        let rest = data.get(2..).unwrap_or_default();
        let n = n.min(rest.len() / 2);
        let cuts = rest[..2 * n]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        Self {
            v5,
            cuts,
            stream: rest[2 * n..].to_vec(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let cuts = &self.cuts[..self.cuts.len().min(255)];
        let mut out = vec![u8::from(self.v5), cuts.len() as u8];
        for c in cuts {
            out.extend_from_slice(&c.to_be_bytes());
        }
        out.extend_from_slice(&self.stream);
        out
    }
}

/// Every packet a stream decodes to, and whether it ended on an error.
fn decode_chunks(decoder: &Decoder, chunks: &[&[u8]]) -> (Vec<Packet>, bool) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(p)) => out.push(p),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

/// Target `frames`: a stream cut into chunks decodes to the same packets (and the same
/// error) as the whole stream: framing must not depend on where reads split.
pub fn frames(data: &[u8]) -> Result<(), CodecViolation> {
    let input = FramesInput::parse(data);
    let version = if input.v5 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let decoder = Decoder::new(version);
    let whole = decode_chunks(&decoder, &[&input.stream]);
    let mut chunks = Vec::new();
    let mut at_list = Vec::new();
    let mut rest = &input.stream[..];
    for cut in &input.cuts {
        if rest.is_empty() {
            break;
        }
        let at = usize::from(*cut) % (rest.len() + 1);
        let (a, b) = rest.split_at(at);
        chunks.push(a);
        at_list.push(at);
        rest = b;
    }
    chunks.push(rest);
    let chunked = decode_chunks(&decoder, &chunks);
    if chunked != whole {
        return Err(CodecViolation::FramingDependsOnCuts {
            version,
            whole: format!("{whole:?}"),
            chunked: format!("{chunked:?}"),
            cuts: at_list,
        });
    }
    Ok(())
}
