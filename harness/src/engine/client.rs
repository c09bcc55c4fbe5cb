//! One scripted client: a connection to the broker (TCP, or simulated TCP inside turmoil), a
//! reader task that decodes what the broker sends (and answers its PUBLISH flows when
//! `auto_ack` is on), and a writer task, so that sends keep their order and the trace
//! records both directions. Both tasks pass bytes only when the client's [`Gate`] lets
//! them (network fault steps in the simulator).

use super::describe;
use super::trace::{Direction, Trace};
use super::transport::{self, Endpoint, Gate, ReadHalf, WriteHalf};
use bytes::{Bytes, BytesMut};
use mqttspec_codec::framing::{FrameStatus, check_frame};
use mqttspec_codec::{
    DecodeError, DecodeOptions, Decoder, Packet, ProtocolVersion, PubAck, PubComp, PubRec, QoS,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// What the reader saw, in order.
#[derive(Debug, Clone)]
pub enum Incoming {
    Packet(Packet),
    /// The broker sent bytes our strict decoder refuses: itself a finding.
    Malformed(DecodeError),
    /// The connection ended (the broker closed it, or an IO error).
    Closed(String),
}

enum Outgoing {
    /// Bytes to write, their decoded form, and how many bytes at their end are secret (a
    /// CONNECT's password), masked in the trace's hex.
    Bytes(Bytes, String, usize),
    Close,
}

pub struct Client {
    pub name: String,
    pub version: ProtocolVersion,
    inbox: mpsc::UnboundedReceiver<Incoming>,
    outbox: mpsc::UnboundedSender<Outgoing>,
    auto_ack: Arc<AtomicBool>,
    silenced: Arc<AtomicBool>,
    limits: Limits,
    next_packet_id: u16,
    gate: Gate,
    /// Tells the reader to stop once the gate lets the close through.
    stop_reader: Option<oneshot::Sender<()>>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
    closed: bool,
    /// Closed during a network fault: the tasks finish the close when the fault ends, so
    /// dropping the client must not abort them.
    detached: bool,
}

/// Largest packet the harness accepts from a broker: generous, but bounded so a broken
/// broker cannot make the harness buffer without limit.
const MAX_INCOMING: u32 = 16 * 1024 * 1024;

/// What the client's last CONNECT told the broker, which the reader holds the broker to.
#[derive(Clone, Default)]
struct Limits {
    /// The 5.0 Maximum Packet Size the client announced (0: none, so [`MAX_INCOMING`]):
    /// a bigger packet from the broker breaks 5.0/MQTT-3.1.2-24 and is reported as such.
    max_packet_size: Arc<AtomicU32>,
    /// The client sent its CONNECT as raw bytes of another protocol level than its own:
    /// the harness cannot know which version the broker answers in, so a CONNACK is read
    /// in the shape it has (two bytes long: 3.1.1; longer: 5.0).
    foreign_connect: Arc<AtomicBool>,
}

impl Limits {
    fn max_packet_size(&self) -> u32 {
        match self.max_packet_size.load(Ordering::Relaxed) {
            0 => MAX_INCOMING,
            n => n.min(MAX_INCOMING),
        }
    }
}

/// The protocol name and level of a CONNECT given as raw bytes, if they hold them.
fn raw_connect_header(bytes: &[u8]) -> Option<(&[u8], u8)> {
    if bytes.first()? >> 4 != 1 {
        return None;
    }
    // Fixed header: the remaining length takes one to four bytes.
    let len_bytes = bytes[1..].iter().take(4).position(|b| b & 0x80 == 0)? + 1;
    let body = bytes.get(1 + len_bytes..)?;
    let name_len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    Some((body.get(2..2 + name_len)?, *body.get(2 + name_len)?))
}

impl Client {
    pub async fn connect(
        name: &str,
        endpoint: &Endpoint,
        version: ProtocolVersion,
        trace: Trace,
        timeout: Duration,
    ) -> Result<Self, String> {
        let (read, write) = match tokio::time::timeout(timeout, transport::connect(endpoint)).await
        {
            Ok(Ok(halves)) => halves,
            Ok(Err(e)) => return Err(format!("cannot connect to {endpoint}: {e}")),
            Err(_) => {
                return Err(format!(
                    "connecting to {endpoint} timed out after {timeout:?}"
                ));
            }
        };
        trace.event(name, format!("TCP connection opened to {endpoint}"));
        let (in_tx, inbox) = mpsc::unbounded_channel();
        let (outbox, out_rx) = mpsc::unbounded_channel();
        let (stop_reader, stop_rx) = oneshot::channel();
        let auto_ack = Arc::new(AtomicBool::new(true));
        let silenced = Arc::new(AtomicBool::new(false));
        let limits = Limits::default();
        let gate = Gate::default();
        let reader = tokio::spawn(read_loop(
            ReaderCtx {
                name: name.to_owned(),
                version,
                trace: trace.clone(),
                inbox: in_tx,
                outbox: outbox.clone(),
                auto_ack: auto_ack.clone(),
                silenced: silenced.clone(),
                gate: gate.clone(),
                limits: limits.clone(),
            },
            read,
            stop_rx,
        ));
        let writer = tokio::spawn(write_loop(
            name.to_owned(),
            write,
            trace,
            out_rx,
            silenced.clone(),
            gate.clone(),
        ));
        Ok(Self {
            name: name.to_owned(),
            version,
            inbox,
            outbox,
            auto_ack,
            silenced,
            limits,
            next_packet_id: 0,
            gate,
            stop_reader: Some(stop_reader),
            reader,
            writer,
            closed: false,
            detached: false,
        })
    }

    /// The gate of this client's connection, for network fault steps.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    pub fn set_auto_ack(&self, on: bool) {
        self.auto_ack.store(on, Ordering::Relaxed);
    }

    /// The next packet identifier this client uses when a step does not choose one.
    pub fn next_packet_id(&mut self) -> u16 {
        self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
        self.next_packet_id
    }

    pub fn send_packet(&self, packet: &Packet, bytes: Bytes) {
        self.note_sent(packet);
        self.send_secret(bytes, describe::packet(packet), secret_tail(packet));
    }

    pub fn send_bytes(&self, bytes: Bytes, decoded: String) {
        if let Some((name, level)) = raw_connect_header(&bytes) {
            let own = match self.version {
                ProtocolVersion::V311 => 4,
                _ => 5,
            };
            self.limits
                .foreign_connect
                .store(name != b"MQTT" || level != own, Ordering::Relaxed);
        }
        self.send_secret(bytes, decoded, 0);
    }

    /// Takes note of a typed packet about to be sent: a CONNECT sets the Maximum Packet
    /// Size the broker's packets are held to.
    pub fn note_sent(&self, packet: &Packet) {
        if let Packet::Connect(c) = packet {
            let max = c
                .properties
                .int(mqttspec_codec::PropertyId::MaximumPacketSize)
                .filter(|_| c.version.is_v5())
                .unwrap_or(0);
            self.limits.max_packet_size.store(max, Ordering::Relaxed);
            self.limits.foreign_connect.store(false, Ordering::Relaxed);
        }
    }

    /// Sends bytes whose last `secret` bytes the trace shows masked.
    pub fn send_secret(&self, bytes: Bytes, decoded: String, secret: usize) {
        // A closed writer means the connection is gone; the next expectation reports it.
        let _ = self.outbox.send(Outgoing::Bytes(bytes, decoded, secret));
    }

    /// Waits for the next thing the reader saw.
    pub async fn next(&mut self, within: Duration) -> Option<Incoming> {
        if self.closed {
            return Some(Incoming::Closed("the connection was already closed".into()));
        }
        match tokio::time::timeout(within, self.inbox.recv()).await {
            Ok(Some(item)) => {
                if matches!(item, Incoming::Closed(_)) {
                    self.closed = true;
                }
                Some(item)
            }
            // The reader ended without saying why: treat as closed.
            Ok(None) => {
                self.closed = true;
                Some(Incoming::Closed("the reader stopped".into()))
            }
            Err(_) => None,
        }
    }

    /// Closes after every queued write (a clean close, or the abrupt one of `drop`). During
    /// a network fault the close, like any byte, waits for the fault to end: the tasks
    /// finish it on their own then.
    pub async fn close(&mut self) {
        self.close_within(Duration::ZERO).await;
    }

    /// Closes after a DISCONNECT, then waits up to `within` for the broker to close its
    /// side, which it does once it has handled the DISCONNECT. The broker reads each
    /// connection on its own, so without this wait a next step on another connection (a
    /// reconnect with the same client id, say) could be handled first, and the broker
    /// judged on an order the client never asked for. A broker that keeps its side open
    /// costs only the wait.
    pub async fn close_after_disconnect(&mut self, within: Duration) {
        self.close_within(within).await;
    }

    async fn close_within(&mut self, within: Duration) {
        let _ = self.outbox.send(Outgoing::Close);
        self.closed = true;
        if self.gate.is_closed() {
            if let Some(stop) = self.stop_reader.take() {
                let _ = stop.send(());
            }
            self.detached = true;
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.writer).await;
        if !within.is_zero() {
            let inbox = &mut self.inbox;
            let _ = tokio::time::timeout(within, async {
                while let Some(m) = inbox.recv().await {
                    if matches!(m, Incoming::Closed(_)) {
                        break;
                    }
                }
            })
            .await;
        }
        self.reader.abort();
    }

    /// Stops reading and writing but keeps the socket open.
    pub fn silence(&self) {
        self.silenced.store(true, Ordering::Relaxed);
    }

    pub fn is_silenced(&self) -> bool {
        self.silenced.load(Ordering::Relaxed)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if !self.detached {
            self.reader.abort();
            self.writer.abort();
        }
    }
}

/// What the reader task shares with its client.
struct ReaderCtx {
    name: String,
    version: ProtocolVersion,
    trace: Trace,
    inbox: mpsc::UnboundedSender<Incoming>,
    outbox: mpsc::UnboundedSender<Outgoing>,
    auto_ack: Arc<AtomicBool>,
    silenced: Arc<AtomicBool>,
    gate: Gate,
    limits: Limits,
}

async fn read_loop(ctx: ReaderCtx, mut read: ReadHalf, mut stop: oneshot::Receiver<()>) {
    let ReaderCtx {
        name,
        version,
        trace,
        inbox,
        outbox,
        auto_ack,
        silenced,
        gate,
        limits,
    } = ctx;
    let mut decoder = Decoder::with_options(
        version,
        DecodeOptions {
            max_packet_size: MAX_INCOMING,
            strict: true,
        },
    );
    let mut buf = BytesMut::with_capacity(8 * 1024);
    // 5.0 topic aliases the broker set on this connection (3.3.2.3.4).
    let mut aliases: std::collections::BTreeMap<u16, bytestring::ByteString> =
        std::collections::BTreeMap::new();
    loop {
        if silenced.load(Ordering::Relaxed) {
            // A silent peer keeps the socket but reads nothing: park until dropped.
            std::future::pending::<()>().await;
        }
        // Drain every whole frame before reading more.
        loop {
            // The frame's bytes, kept for the trace before the decoder consumes them.
            let raw = match check_frame(&buf, MAX_INCOMING) {
                Ok(FrameStatus::Ready(h)) => buf[..h.total_len()].to_vec(),
                Ok(FrameStatus::NeedMore(_)) => break,
                Err(_) => buf.to_vec(),
            };
            decoder.options.max_packet_size = limits.max_packet_size();
            decoder.version = match raw.first() {
                Some(0x20) if limits.foreign_connect.load(Ordering::Relaxed) => {
                    if raw.len() == 4 {
                        ProtocolVersion::V311
                    } else {
                        ProtocolVersion::V5
                    }
                }
                _ => version,
            };
            match decoder.decode(&mut buf) {
                Ok(Some(mut packet)) => {
                    trace.record(&name, Direction::Received, describe::packet(&packet), &raw);
                    if let Some(note) = resolve_alias(&mut packet, &mut aliases) {
                        trace.event(&name, note);
                    }
                    if auto_ack.load(Ordering::Relaxed) {
                        answer(&packet, version, &outbox);
                    }
                    if inbox.send(Incoming::Packet(packet)).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    trace.record(&name, Direction::Received, format!("MALFORMED: {e}"), &raw);
                    let _ = inbox.send(Incoming::Malformed(e));
                    return;
                }
            }
        }
        let got = tokio::select! {
            // Fixed polling order: same seed, same run.
            biased;
            // The harness closed: the socket goes (a reset if bytes are unread) once a
            // network fault lets that through.
            _ = &mut stop => {
                gate.passable().await;
                return;
            }
            got = read.read_buf(&mut buf) => got,
        };
        // What arrived during a network fault reaches the client only when it ends.
        gate.passable().await;
        match got {
            Ok(0) => {
                trace.event(&name, "connection closed by the broker");
                let _ = inbox.send(Incoming::Closed("closed by the broker".into()));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                trace.event(&name, format!("connection error: {e}"));
                let _ = inbox.send(Incoming::Closed(format!("connection error: {e}")));
                return;
            }
        }
    }
}

/// Applies the broker's topic aliases to a received 5.0 PUBLISH: a topic with an alias sets
/// it, an empty topic with an alias takes the topic it stands for (the alias property stays,
/// for patterns that check it). Says what it did, for the trace.
fn resolve_alias(
    packet: &mut Packet,
    aliases: &mut std::collections::BTreeMap<u16, bytestring::ByteString>,
) -> Option<String> {
    let Packet::Publish(p) = packet else {
        return None;
    };
    let alias = match p.properties.get(mqttspec_codec::PropertyId::TopicAlias) {
        Some(mqttspec_codec::Property::TopicAlias(a)) => *a,
        _ => return None,
    };
    if !p.topic.is_empty() {
        aliases.insert(alias, p.topic.clone());
        return None;
    }
    match aliases.get(&alias) {
        Some(topic) => {
            p.topic = topic.clone();
            Some(format!("topic alias {alias} stands for {:?}", &**topic))
        }
        None => Some(format!(
            "topic alias {alias} was never set on this connection (the topic stays empty)"
        )),
    }
}

/// How many bytes at the end of a packet's encoding are secret: a CONNECT's password is the
/// last field of its payload (3.1.3, 5.0 3.1.3), so its bytes end the frame.
pub fn secret_tail(packet: &Packet) -> usize {
    match packet {
        Packet::Connect(c) => c.password.as_ref().map_or(0, |p| p.len()),
        _ => 0,
    }
}

/// The bytes as the trace shows them: the last `secret` bytes replaced by `**` in hex.
fn masked_hex(bytes: &[u8], secret: usize) -> String {
    let keep = bytes.len().saturating_sub(secret);
    let mut out = super::trace::hex(&bytes[..keep]);
    for _ in keep..bytes.len() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("**");
    }
    out
}

/// The answers a correct client gives to the broker's side of a QoS flow.
fn answer(packet: &Packet, version: ProtocolVersion, outbox: &mpsc::UnboundedSender<Outgoing>) {
    let reply = match packet {
        Packet::Publish(p) if p.qos == QoS::AtLeastOnce => Packet::PubAck(PubAck::new(p.packet_id)),
        Packet::Publish(p) if p.qos == QoS::ExactlyOnce => Packet::PubRec(PubRec::new(p.packet_id)),
        Packet::PubRel(r) => Packet::PubComp(PubComp::new(r.packet_id)),
        _ => return,
    };
    if let Ok(bytes) = reply.to_bytes(version) {
        let _ = outbox.send(Outgoing::Bytes(
            bytes,
            format!("{} (auto)", describe::packet(&reply)),
            0,
        ));
    }
}

async fn write_loop(
    name: String,
    mut write: WriteHalf,
    trace: Trace,
    mut outbox: mpsc::UnboundedReceiver<Outgoing>,
    silenced: Arc<AtomicBool>,
    gate: Gate,
) {
    while let Some(item) = outbox.recv().await {
        gate.passable().await;
        match item {
            Outgoing::Bytes(bytes, decoded, secret) => {
                if silenced.load(Ordering::Relaxed) {
                    continue;
                }
                // Recorded before the write, so the broker's answer, which the reader may
                // record as soon as the bytes are out, comes after it in the trace.
                trace.record_hex(
                    &name,
                    Direction::Sent,
                    decoded.clone(),
                    masked_hex(&bytes, secret),
                );
                // A write that cannot complete (the broker stopped reading) must not hang
                // the run.
                match tokio::time::timeout(Duration::from_secs(5), write.write_all(&bytes)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        trace.event(
                            &name,
                            format!("write failed: {e} (while sending {decoded})"),
                        );
                        return;
                    }
                    Err(_) => {
                        trace.event(&name, format!("write timed out (while sending {decoded})"));
                        return;
                    }
                }
            }
            Outgoing::Close => {
                let _ = write.shutdown().await;
                trace.event(&name, "connection closed by the harness");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{masked_hex, raw_connect_header};

    #[test]
    fn the_name_and_level_of_a_raw_connect() {
        // CONNECT, remaining length 13, "MQTT", level 6, ...
        let connect = [
            0x10, 0x0d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01,
            b'a',
        ];
        assert_eq!(raw_connect_header(&connect), Some((&b"MQTT"[..], 6)));
        assert_eq!(raw_connect_header(&connect[..8]), None);
        assert_eq!(raw_connect_header(&[0xc0, 0x00]), None);
        assert_eq!(raw_connect_header(&[]), None);
    }

    #[test]
    fn the_secret_tail_is_masked() {
        assert_eq!(masked_hex(&[0x10, 0x02, 0x61, 0x62], 2), "10 02 ** **");
        assert_eq!(masked_hex(&[0x10, 0x02], 0), "10 02");
        assert_eq!(masked_hex(&[0x61], 5), "**");
    }
}
