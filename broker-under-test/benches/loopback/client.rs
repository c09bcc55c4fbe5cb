//! The load client: publishers and subscribers on our codec over raw tokio TCP, and the
//! bookkeeping of what each subscriber received.

use crate::Row;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use mqttspec_codec::ByteString;
use mqttspec_codec::{
    Connect, Decoder, Packet, Properties, Property, ProtocolVersion, PubAck, Publish, QoS,
    Subscribe, Subscription,
};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Semaphore;

/// No progress for this long ends a run (lost messages never come back).
const STALL: Duration = Duration::from_secs(3);
/// Publishes coalesced into one write when the window allows.
const WRITE_BATCH: usize = 64;
/// QoS 1 publishes a publisher may have unacknowledged (packet ids are never reused while
/// in flight: 65,535 ids).
const ACK_WINDOW: usize = 1_000;
/// Bytes read per socket read at most.
const READ_CHUNK: usize = 64 * 1024;
/// Publisher index, sequence number, send time (ns since the run's epoch).
const HEADER: usize = 4 + 8 + 8;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Deliveries of a ping-pong row at most: each costs a full round trip.
const PING_PONG_MAX: u64 = 10_000;

/// What one run of one row measured.
#[derive(Debug, Default)]
pub struct Outcome {
    pub expected: u64,
    pub unique: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub elapsed: Duration,
    pub latencies_ns: Vec<u64>,
    pub broker_cpu: Duration,
    /// CPU time of the load client's threads, to tell whether the client was the limit.
    pub client_cpu: Duration,
    pub errors: Vec<String>,
    /// Loss diagnostics (which messages never came), printed but not errors.
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.unique)
    }

    pub fn rate(&self) -> f64 {
        self.unique as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies_ns.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies_ns.len() - 1) as f64 * p).round() as usize;
        Duration::from_nanos(self.latencies_ns[i])
    }

    /// Loss fails a QoS 1 row only; a duplicate or an error fails any row.
    pub fn failed(&self, qos: QoS) -> bool {
        self.duplicates > 0
            || !self.errors.is_empty()
            || (qos != QoS::AtMostOnce && self.lost() > 0)
    }
}

/// The properties of a `-props` row's PUBLISH packets.
fn bench_properties() -> Properties {
    Properties(vec![
        Property::ContentType("application/octet-stream".into()),
        Property::ResponseTopic("bench/reply".into()),
        Property::CorrelationData(Bytes::from_static(b"corr-123")),
        Property::UserProperty("bench".into(), "loopback".into()),
    ])
}

/// A connected, accepted client connection of `version`.
async fn mqtt_connect(
    addr: SocketAddr,
    id: String,
    version: ProtocolVersion,
) -> Result<(TcpStream, BytesMut), BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let connect = Connect {
        version,
        client_id: id.into(),
        keep_alive: 0,
        ..Connect::default()
    };
    stream
        .write_all(&Packet::Connect(connect).to_bytes(version)?)
        .await?;
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    match read_packet(&mut stream, &mut buf, version).await? {
        Packet::ConnAck(ack) if ack.code.0 == 0 => Ok((stream, buf)),
        other => Err(format!("expected an accepted CONNACK, got {other:?}").into()),
    }
}

async fn read_packet(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    version: ProtocolVersion,
) -> Result<Packet, BoxError> {
    let decoder = Decoder::new(version);
    loop {
        if let Some(p) = decoder.decode(buf)? {
            return Ok(p);
        }
        buf.reserve(READ_CHUNK);
        let n = tokio::time::timeout(STALL, stream.read_buf(buf)).await??;
        if n == 0 {
            return Err("connection closed".into());
        }
    }
}

/// Per-subscriber bookkeeping of what arrived.
struct Tally {
    seen: Vec<Vec<u64>>,
    last_seq: Vec<Option<u64>>,
    unique: u64,
    duplicates: u64,
    reordered: u64,
    latencies_ns: Vec<u64>,
    last_delivery: Option<Instant>,
    per_publisher: u64,
    /// Why the subscriber stopped short of the expected count (loss, not an error).
    stalled: Option<String>,
}

impl Tally {
    fn new(publishers: usize, per_publisher: u64) -> Tally {
        let words = per_publisher.div_ceil(64) as usize;
        Tally {
            seen: vec![vec![0; words]; publishers],
            last_seq: vec![None; publishers],
            unique: 0,
            duplicates: 0,
            reordered: 0,
            latencies_ns: Vec::with_capacity(publishers * per_publisher as usize),
            last_delivery: None,
            per_publisher,
            stalled: None,
        }
    }

    /// Up to `limit` missing sequence ranges, as "p<publisher>:<first>..=<last>".
    fn missing(&self, per_publisher: u64, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (p, bits) in self.seen.iter().enumerate() {
            let mut run: Option<(u64, u64)> = None;
            for seq in 0..per_publisher {
                let have = bits[(seq / 64) as usize] & (1 << (seq % 64)) != 0;
                match (have, run) {
                    (false, None) => run = Some((seq, seq)),
                    (false, Some((a, _))) => run = Some((a, seq)),
                    (true, Some((a, b))) => {
                        out.push(format!("p{p}:{a}..={b}"));
                        run = None;
                    }
                    (true, None) => {}
                }
                if out.len() >= limit {
                    return out;
                }
            }
            if let Some((a, b)) = run {
                out.push(format!("p{p}:{a}..={b}"));
            }
        }
        out.truncate(limit);
        out
    }

    fn record(&mut self, mut payload: Bytes, now_ns: u64) -> Result<(), String> {
        if payload.len() < HEADER {
            return Err(format!("payload of {} bytes", payload.len()));
        }
        let publisher = payload.get_u32() as usize;
        let seq = payload.get_u64();
        let sent_ns = payload.get_u64();
        let bits = self
            .seen
            .get_mut(publisher)
            .ok_or(format!("unknown publisher {publisher}"))?;
        let word = bits
            .get_mut((seq / 64) as usize)
            .ok_or(format!("sequence {seq} out of range"))?;
        let bit = 1u64 << (seq % 64);
        if *word & bit != 0 {
            self.duplicates += 1;
            return Ok(());
        }
        *word |= bit;
        self.unique += 1;
        if self.last_seq[publisher].is_some_and(|last| seq < last) {
            self.reordered += 1;
        }
        self.last_seq[publisher] = Some(seq);
        self.latencies_ns.push(now_ns.saturating_sub(sent_ns));
        Ok(())
    }
}

async fn subscriber(
    mut stream: TcpStream,
    mut buf: BytesMut,
    mut tally: Tally,
    expected: u64,
    window: Arc<Semaphore>,
    epoch: Instant,
    version: ProtocolVersion,
) -> (Tally, Vec<String>) {
    let decoder = Decoder::new(version);
    let mut acks = BytesMut::new();
    let mut errors = Vec::new();
    while tally.unique < expected {
        // Without spare capacity, read_buf would grow the buffer by 64 bytes per read.
        buf.reserve(READ_CHUNK);
        match tokio::time::timeout(STALL, stream.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(Ok(_)) => {
                errors.push("subscriber: connection closed".into());
                break;
            }
            Ok(Err(e)) => {
                errors.push(format!("subscriber: {e}"));
                break;
            }
            Err(_) => {
                // Stalled: the caller counts the loss; say which messages are missing.
                let missing = tally.missing(tally.per_publisher, 8);
                tally.stalled = Some(format!("stalled; missing {}", missing.join(" ")));
                break;
            }
        }
        let now = Instant::now();
        let now_ns = now.duration_since(epoch).as_nanos() as u64;
        let mut delivered = 0;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Packet::Publish(p))) => {
                    delivered += 1;
                    if p.qos == QoS::AtLeastOnce {
                        let ack = Packet::PubAck(PubAck::new(p.packet_id));
                        if let Err(e) = ack.encode(version, &mut acks) {
                            errors.push(format!("encode PUBACK: {e}"));
                        }
                    }
                    if let Err(e) = tally.record(p.payload, now_ns) {
                        errors.push(e);
                    }
                }
                Ok(Some(other)) => errors.push(format!("subscriber got {other:?}")),
                Ok(None) => break,
                Err(e) => {
                    errors.push(format!("subscriber decode: {e}"));
                    return (tally, errors);
                }
            }
        }
        if delivered > 0 {
            tally.last_delivery = Some(now);
            window.add_permits(delivered);
        }
        if !acks.is_empty() {
            if let Err(e) = stream.write_all(&acks).await {
                errors.push(format!("subscriber PUBACK write: {e}"));
                break;
            }
            acks.clear();
        }
    }
    let _ = stream.write_all(&[0xE0, 0x00]).await; // DISCONNECT
    (tally, errors)
}

/// Reads PUBACKs of one QoS 1 publisher, checking each acknowledges an id in flight.
async fn ack_reader(
    mut read: OwnedReadHalf,
    mut buf: BytesMut,
    in_flight: Arc<Mutex<Vec<bool>>>,
    acks: Arc<Semaphore>,
    expected: u64,
    version: ProtocolVersion,
) -> Vec<String> {
    let decoder = Decoder::new(version);
    let mut received = 0u64;
    let mut errors = Vec::new();
    while received < expected {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Packet::PubAck(a))) => {
                    received += 1;
                    let known = in_flight
                        .lock()
                        .map(|mut f| std::mem::replace(&mut f[usize::from(a.packet_id)], false))
                        .unwrap_or(false);
                    if !known {
                        errors.push(format!("PUBACK for id {} not in flight", a.packet_id));
                    }
                    acks.add_permits(1);
                }
                Ok(Some(other)) => errors.push(format!("publisher got {other:?}")),
                Ok(None) => break,
                Err(e) => {
                    errors.push(format!("publisher decode: {e}"));
                    return errors;
                }
            }
        }
        if received >= expected {
            break;
        }
        buf.reserve(READ_CHUNK);
        match tokio::time::timeout(STALL, read.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(Ok(_)) => {
                errors.push(format!(
                    "publisher closed after {received}/{expected} PUBACKs"
                ));
                break;
            }
            Ok(Err(e)) => {
                errors.push(format!("publisher read: {e}"));
                break;
            }
            Err(_) => {
                errors.push(format!("stalled after {received}/{expected} PUBACKs"));
                break;
            }
        }
    }
    errors
}

struct PublisherPlan {
    index: u32,
    count: u64,
    row: Row,
    topic: ByteString,
    epoch: Instant,
}

async fn publisher(
    mut write: OwnedWriteHalf,
    plan: PublisherPlan,
    window: Arc<Semaphore>,
    acks: Arc<Semaphore>,
    in_flight: Arc<Mutex<Vec<bool>>>,
) -> Vec<String> {
    let per_message = plan.row.subscribers as u32;
    let mut out = BytesMut::with_capacity(WRITE_BATCH * (plan.row.payload + 64));
    let mut payload_buf = BytesMut::with_capacity(WRITE_BATCH * plan.row.payload);
    let mut seq = 0u64;
    let mut packet_id = 0u16;
    let qos1 = plan.row.qos == QoS::AtLeastOnce;
    let version = plan.row.version;
    let properties = if plan.row.props {
        bench_properties()
    } else {
        Properties::new()
    };
    while seq < plan.count {
        // One message must fit the window; more are taken only if free right now.
        match tokio::time::timeout(STALL, window.acquire_many(per_message)).await {
            Ok(Ok(p)) => p.forget(),
            _ => return vec![format!("publisher {}: window stalled at {seq}", plan.index)],
        }
        let mut batch = 1;
        let room = (plan.count - seq).min(WRITE_BATCH as u64) as usize;
        while batch < room {
            match window.try_acquire_many(per_message) {
                Ok(p) => p.forget(),
                Err(_) => break,
            }
            batch += 1;
        }
        for _ in 0..batch {
            let mut publish = Publish::new(plan.topic.clone(), plan.row.qos, Bytes::new());
            publish.properties = properties.clone();
            if qos1 {
                match tokio::time::timeout(STALL, acks.acquire()).await {
                    Ok(Ok(p)) => p.forget(),
                    _ => return vec![format!("publisher {}: PUBACKs stalled", plan.index)],
                }
                packet_id = packet_id.checked_add(1).unwrap_or(1);
                publish.packet_id = packet_id;
                if let Ok(mut f) = in_flight.lock() {
                    f[usize::from(packet_id)] = true;
                }
            }
            // Payloads are carved out of one buffer: one allocation per many messages.
            if payload_buf.capacity() < plan.row.payload {
                payload_buf.reserve(WRITE_BATCH * plan.row.payload);
            }
            payload_buf.put_u32(plan.index);
            payload_buf.put_u64(seq);
            payload_buf.put_u64(plan.epoch.elapsed().as_nanos() as u64);
            payload_buf.resize(plan.row.payload, 0xA5);
            publish.payload = payload_buf.split().freeze();
            if let Err(e) = Packet::Publish(publish).encode(version, &mut out) {
                return vec![format!("encode PUBLISH: {e}")];
            }
            seq += 1;
        }
        if let Err(e) = write.write_all(&out).await {
            return vec![format!("publisher {} write: {e}", plan.index)];
        }
        out.clear();
    }
    if qos1 {
        // Every PUBACK back before DISCONNECT; the ack reader reports what is missing.
        let _ = tokio::time::timeout(STALL, acks.acquire_many(ACK_WINDOW as u32)).await;
    }
    let _ = write.write_all(&[0xE0, 0x00]).await; // DISCONNECT
    Vec::new()
}

/// One run of `row` against the broker at `addr`; `deliveries` copies in total.
pub async fn run_row(
    addr: SocketAddr,
    row: Row,
    deliveries: u64,
    window: usize,
    tag: &str,
) -> Outcome {
    let (deliveries, window) = match row.ping_pong {
        true => (deliveries.min(PING_PONG_MAX), 1),
        false => (deliveries, window),
    };
    let per_publisher = deliveries
        .div_ceil(row.subscribers as u64)
        .div_ceil(row.publishers as u64);
    let expected_each = per_publisher * row.publishers as u64;
    let mut outcome = Outcome {
        expected: expected_each * row.subscribers as u64,
        ..Outcome::default()
    };
    let topic = format!("bench/{tag}");
    // The window must admit one message to every subscriber.
    let window = Arc::new(Semaphore::new(window.max(row.subscribers)));
    let epoch = Instant::now();

    let mut subscribers = Vec::new();
    for i in 0..row.subscribers {
        match subscribe(addr, format!("{tag}-s{i}"), &topic, row.qos, row.version).await {
            Ok((stream, buf)) => subscribers.push((stream, buf)),
            Err(e) => {
                outcome.errors.push(format!("subscriber {i}: {e}"));
                return outcome;
            }
        }
    }
    let mut publishers = Vec::new();
    for i in 0..row.publishers {
        match mqtt_connect(addr, format!("{tag}-p{i}"), row.version).await {
            Ok(conn) => publishers.push(conn),
            Err(e) => {
                outcome.errors.push(format!("publisher {i}: {e}"));
                return outcome;
            }
        }
    }

    let start = Instant::now();
    let sub_tasks: Vec<_> = subscribers
        .into_iter()
        .map(|(stream, buf)| {
            let tally = Tally::new(row.publishers, per_publisher);
            tokio::spawn(subscriber(
                stream,
                buf,
                tally,
                expected_each,
                window.clone(),
                epoch,
                row.version,
            ))
        })
        .collect();
    let mut pub_tasks = Vec::new();
    for (i, (stream, buf)) in publishers.into_iter().enumerate() {
        let (read, write) = stream.into_split();
        let acks = Arc::new(Semaphore::new(ACK_WINDOW));
        let in_flight = Arc::new(Mutex::new(vec![false; 65_536]));
        let plan = PublisherPlan {
            index: i as u32,
            count: per_publisher,
            row,
            topic: ByteString::from(topic.as_str()),
            epoch,
        };
        if row.qos == QoS::AtLeastOnce {
            let reader = ack_reader(
                read,
                buf,
                in_flight.clone(),
                acks.clone(),
                per_publisher,
                row.version,
            );
            pub_tasks.push(tokio::spawn(reader));
        }
        pub_tasks.push(tokio::spawn(publisher(
            write,
            plan,
            window.clone(),
            acks,
            in_flight,
        )));
    }

    let mut last = start;
    for task in sub_tasks {
        match task.await {
            Ok((tally, errors)) => {
                outcome.unique += tally.unique;
                outcome.duplicates += tally.duplicates;
                outcome.reordered += tally.reordered;
                outcome.latencies_ns.extend(tally.latencies_ns);
                last = last.max(tally.last_delivery.unwrap_or(start));
                outcome.notes.extend(tally.stalled);
                outcome.errors.extend(errors);
            }
            Err(e) => outcome.errors.push(format!("subscriber task: {e}")),
        }
    }
    for task in pub_tasks {
        match task.await {
            Ok(errors) => outcome.errors.extend(errors),
            Err(e) => outcome.errors.push(format!("publisher task: {e}")),
        }
    }
    outcome.elapsed = last.duration_since(start);
    outcome.latencies_ns.sort_unstable();
    outcome
}

async fn subscribe(
    addr: SocketAddr,
    id: String,
    topic: &str,
    qos: QoS,
    version: ProtocolVersion,
) -> Result<(TcpStream, BytesMut), BoxError> {
    let (mut stream, mut buf) = mqtt_connect(addr, id, version).await?;
    let subscribe = Subscribe {
        packet_id: 1,
        subscriptions: vec![Subscription::new(topic, qos)],
        ..Subscribe::default()
    };
    stream
        .write_all(&Packet::Subscribe(subscribe).to_bytes(version)?)
        .await?;
    match read_packet(&mut stream, &mut buf, version).await? {
        Packet::SubAck(ack) if ack.return_codes.first().map(|c| c.0) == Some(qos.as_u8()) => {
            Ok((stream, buf))
        }
        other => Err(format!(
            "expected SUBACK granting QoS {}, got {other:?}",
            qos.as_u8()
        )
        .into()),
    }
}
