//! The network side: sending one case on its own connection and watching what comes back,
//! and the liveness probe. Every wait has a bound; nothing the broker sends can make this
//! code panic or wait for ever.

use super::mutate::Case;
use bytes::{Bytes, BytesMut};
use mqttspec_codec::{
    Connect, DecodeOptions, Decoder, Packet, PacketType, ProtocolVersion, PubAck, Publish, QoS,
    Subscribe, Subscription,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

/// How long the fuzzer waits, for each kind of wait.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Opening a TCP connection.
    pub connect: Duration,
    /// A connection that must be closed has this long to be closed.
    pub close: Duration,
    /// The acknowledgements of a valid flow, and the liveness round trip, come within this.
    pub reply: Duration,
    /// Quiet time after the other cases, to see what the broker answers.
    pub settle: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            close: Duration::from_secs(1),
            reply: Duration::from_secs(2),
            settle: Duration::from_millis(20),
        }
    }
}

/// What the case's connection saw.
#[derive(Debug, Default)]
pub struct Observation {
    /// The packets the broker sent, by type.
    pub replies: BTreeMap<PacketType, usize>,
    /// Return code of the CONNACK, if one came.
    pub connack_code: Option<u8>,
    /// The Topic Alias Maximum of a 5.0 CONNACK (absent: 0, no aliases allowed).
    pub connack_alias_max: Option<u16>,
    /// The reason code of a DISCONNECT from the broker (5.0), if one came.
    pub server_disconnect: Option<u8>,
    /// The first packet the broker sent after its DISCONNECT (5.0/MQTT-3.14.4-1).
    pub after_disconnect: Option<PacketType>,
    /// The broker closed the connection (end of stream or reset).
    pub closed: bool,
    /// Bytes from the broker that are no packet in either version.
    pub malformed_reply: Option<String>,
}

/// What the case waits for after its last write.
#[derive(Debug, Clone)]
pub enum Wait {
    /// The close, up to `Timing::close`.
    Close,
    /// These acknowledgements (or a close, or a refusing CONNACK), up to `Timing::reply`;
    /// if the flow used a Topic Alias above the CONNACK's maximum, the close instead.
    Acks {
        acks: BTreeMap<PacketType, usize>,
        topic_alias: u16,
    },
    /// `Timing::settle` of quiet.
    Settle,
}

/// Whether the wait after the writes is over.
type Done = Box<dyn Fn(&Observation) -> bool + Send>;

enum ReadEvent {
    Data(Bytes),
    Closed,
}

/// Decodes what the broker sent so far. The broker may answer a CONNECT of unknown level in
/// either version, so a frame that fails in `version` is tried in the other.
struct Replies {
    buf: BytesMut,
    version: ProtocolVersion,
}

impl Replies {
    fn feed(&mut self, bytes: &[u8], obs: &mut Observation) {
        if obs.malformed_reply.is_some() {
            return;
        }
        self.buf.extend_from_slice(bytes);
        let options = DecodeOptions {
            strict: true,
            max_packet_size: u32::MAX,
        };
        loop {
            let primary = Decoder::with_options(self.version, options);
            let mut copy = self.buf.clone();
            let result = match primary.decode(&mut copy) {
                Ok(r) => Ok(r),
                Err(first) => {
                    let other = match self.version {
                        ProtocolVersion::V311 => ProtocolVersion::V5,
                        ProtocolVersion::V5 => ProtocolVersion::V311,
                    };
                    copy = self.buf.clone();
                    Decoder::with_options(other, options)
                        .decode(&mut copy)
                        .map_err(|_| first)
                }
            };
            match result {
                Ok(Some(p)) => {
                    self.buf = copy;
                    if obs.server_disconnect.is_some() {
                        obs.after_disconnect.get_or_insert(p.packet_type());
                    }
                    match &p {
                        Packet::ConnAck(a) if obs.connack_code.is_none() => {
                            obs.connack_code = Some(a.code.0);
                            let max = a
                                .properties
                                .int(mqttspec_codec::PropertyId::TopicAliasMaximum);
                            obs.connack_alias_max =
                                Some(max.map_or(0, |m| u16::try_from(m).unwrap_or(u16::MAX)));
                        }
                        Packet::Disconnect(d) => {
                            obs.server_disconnect
                                .get_or_insert(d.reason_code.map_or(0, |c| c.0));
                        }
                        _ => {}
                    }
                    *obs.replies.entry(p.packet_type()).or_default() += 1;
                }
                Ok(None) => return,
                Err(e) => {
                    obs.malformed_reply = Some(format!("{e}"));
                    return;
                }
            }
        }
    }
}

/// Sends the case on a new connection and watches it as `wait` says. `Err` if the
/// connection could not be opened at all.
pub async fn run_case(
    addr: SocketAddr,
    case: &Case,
    wait: &Wait,
    timing: &Timing,
) -> Result<Observation, String> {
    let stream = match timeout(timing.connect, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("cannot connect: {e}")),
        Err(_) => return Err("connecting timed out".to_owned()),
    };
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = tx.send(ReadEvent::Closed);
                    return;
                }
                Ok(n) => {
                    if tx
                        .send(ReadEvent::Data(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    let mut obs = Observation::default();
    let mut replies = Replies {
        buf: BytesMut::new(),
        version: case.version,
    };
    let mut take = |ev: ReadEvent, obs: &mut Observation| match ev {
        ReadEvent::Data(b) => replies.feed(&b, obs),
        ReadEvent::Closed => obs.closed = true,
    };
    // Writes, with what arrives meanwhile taken in.
    for chunk in &case.chunks {
        if !chunk.delay.is_zero() {
            tokio::time::sleep(chunk.delay).await;
        }
        while let Ok(ev) = rx.try_recv() {
            take(ev, &mut obs);
        }
        if obs.closed {
            break;
        }
        match timeout(timing.reply, write.write_all(&chunk.bytes)).await {
            Ok(Ok(())) => {}
            // Reset or refused: the broker closed; a stuck write: the broker stopped
            // reading, which the waits below judge.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    if case.half_close {
        let _ = timeout(timing.reply, write.shutdown()).await;
    }
    let (deadline, done): (Instant, Done) = match wait {
        Wait::Close => (Instant::now() + timing.close, Box::new(|o| o.closed)),
        Wait::Acks { acks, topic_alias } => {
            let (acks, alias) = (acks.clone(), *topic_alias);
            (
                Instant::now() + timing.reply,
                Box::new(move |o: &Observation| {
                    o.closed
                        || o.connack_code.is_some_and(|c| c != 0)
                        || (o.connack_code.is_some()
                            && !alias_over_maximum(o, alias)
                            && acks
                                .iter()
                                .all(|(t, n)| o.replies.get(t).copied().unwrap_or(0) >= *n))
                }),
            )
        }
        Wait::Settle => (Instant::now() + timing.settle, Box::new(|o| o.closed)),
    };
    while !done(&obs) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => take(ev, &mut obs),
            Ok(None) => obs.closed = true,
            Err(_) => break,
        }
    }
    reader.abort();
    Ok(obs)
}

/// Whether the flow's highest Topic Alias is above the maximum of the CONNACK that
/// accepted it (a protocol error, 5.0 section 3.3.2.3.4).
pub fn alias_over_maximum(o: &Observation, topic_alias: u16) -> bool {
    topic_alias > 0
        && o.connack_code == Some(0)
        && o.connack_alias_max.is_some_and(|max| topic_alias > max)
}

/// Why the liveness probe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dead(pub String);

/// A small client for the probe: writes packets, reads them with a deadline.
struct Probe {
    stream: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
}

impl Probe {
    async fn send(&mut self, p: Packet) -> Result<(), Dead> {
        let bytes = p
            .to_bytes(ProtocolVersion::V311)
            .map_err(|e| Dead(format!("cannot encode the probe's packet: {e}")))?;
        self.stream
            .write_all(&bytes)
            .await
            .map_err(|e| Dead(format!("writing {} failed: {e}", p.packet_type().name())))
    }

    async fn next(&mut self, waiting_for: &str) -> Result<Packet, Dead> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(p)) => return Ok(p),
                Ok(None) => {}
                Err(e) => {
                    return Err(Dead(format!(
                        "malformed reply while waiting for {waiting_for}: {e}"
                    )));
                }
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) => {
                    return Err(Dead(format!(
                        "connection closed while waiting for {waiting_for}"
                    )));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => {
                    return Err(Dead(format!(
                        "read failed while waiting for {waiting_for}: {e}"
                    )));
                }
            }
        }
    }
}

/// A fresh client connects, subscribes, publishes a QoS 1 message to itself and gets both
/// the PUBACK and the message, all within `bound`.
pub async fn liveness(
    addr: SocketAddr,
    client_id: &str,
    topic: &str,
    bound: Duration,
) -> Result<(), Dead> {
    let stage = std::sync::Mutex::new("connecting");
    let set = |s: &'static str| {
        if let Ok(mut g) = stage.lock() {
            *g = s;
        }
    };
    let round_trip = async {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| Dead(format!("cannot connect: {e}")))?;
        let _ = stream.set_nodelay(true);
        let mut probe = Probe {
            stream,
            buf: BytesMut::new(),
            decoder: Decoder::new(ProtocolVersion::V311),
        };
        set("waiting for CONNACK");
        probe
            .send(Packet::Connect(Connect {
                client_id: client_id.into(),
                ..Connect::default()
            }))
            .await?;
        match probe.next("CONNACK").await? {
            Packet::ConnAck(a) if a.code.0 == 0 => {}
            other => return Err(Dead(format!("expected CONNACK 0, got {other:?}"))),
        }
        set("waiting for SUBACK");
        probe
            .send(Packet::Subscribe(Subscribe {
                packet_id: 1,
                subscriptions: vec![Subscription::new(topic, QoS::AtLeastOnce)],
                ..Subscribe::default()
            }))
            .await?;
        loop {
            if let Packet::SubAck(_) = probe.next("SUBACK").await? {
                break;
            }
        }
        set("waiting for PUBACK and the message");
        let mut publish = Publish::new(topic, QoS::AtLeastOnce, &b"alive"[..]);
        publish.packet_id = 2;
        probe.send(Packet::Publish(publish)).await?;
        let (mut acked, mut delivered) = (false, false);
        while !(acked && delivered) {
            match probe.next("PUBACK and the message").await? {
                Packet::PubAck(a) if a.packet_id == 2 => acked = true,
                Packet::Publish(p) if p.topic == topic => {
                    delivered = true;
                    if p.qos != QoS::AtMostOnce {
                        probe.send(Packet::PubAck(PubAck::new(p.packet_id))).await?;
                    }
                }
                _ => {}
            }
        }
        let _ = probe
            .send(Packet::Disconnect(mqttspec_codec::Disconnect::default()))
            .await;
        Ok(())
    };
    match timeout(bound, round_trip).await {
        Ok(r) => r,
        Err(_) => {
            let at = stage.lock().map(|g| *g).unwrap_or("?");
            Err(Dead(format!("no QoS 1 round trip within {bound:?} ({at})")))
        }
    }
}
