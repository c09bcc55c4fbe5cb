//! Decode and encode throughput of our codec against rumqttc 0.25's, on the same bytes and
//! the same packets: `cargo bench -p mqttspec-codec --bench codec`.
//!
//! Each row is one packet, built on both sides and checked to encode to identical bytes
//! before anything is measured. Groups are `<version>/<decode|encode>/<row>`, each with an
//! `ours` and a `rumqttc` function, reporting packets/s and bytes/s
//! (`Throughput::ElementsAndBytes`).
//!
//! Fairness:
//! - decode: every iteration gets a fresh `BytesMut` holding `n` back-to-back copies of the
//!   packet (cloned in the untimed setup of `iter_batched_ref`) and takes the `n` packets
//!   off its front the way a connection does (ours: `Decoder::decode`; rumqttc:
//!   `Packet::read` with a maximum size), dropping each decoded packet inside the timed
//!   part. Both start from the same kind of buffer, so both pay the same first `split_to`.
//!   The decoder's whole `Result` goes to `black_box` by reference and is checked in place:
//!   unwrapping it (or passing it by value) would add copies of the whole enum (224 bytes
//!   ours, 144 rumqttc v4, 392 rumqttc v5) that are the benchmark's, not the decoder's.
//! - encode: one packet per iteration into a reused `BytesMut` that is cleared first (ours:
//!   `Packet::encode`; rumqttc: `Packet::write` with a maximum size).
//! - both decoders run with their default validation (ours strict).

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mqttspec_codec::{
    Connect, Decoder, Packet, Properties, ProtocolVersion, PubAck, Publish, QoS, Subscribe,
    Subscription, Will,
};
use rumqttc::mqttbytes::v4 as r4;
use rumqttc::v5::mqttbytes::v5 as r5;
use std::hint::black_box;
use std::time::Duration;

/// Largest remaining length either side is asked to accept.
const MAX: usize = 268_435_455;
/// Decode batches hold about this many bytes (at least 8 packets, at most 1,024).
const BATCH_BYTES: usize = 256 * 1024;

const TOPIC: &str = "sensors/room1/t0"; // 16 bytes
const FILTERS: [(&str, QoS); 5] = [
    ("sensors/+/temperature", QoS::AtMostOnce),
    ("sensors/+/humidity", QoS::AtLeastOnce),
    ("home/#", QoS::ExactlyOnce),
    ("alerts/critical", QoS::AtLeastOnce),
    ("$SYS/broker/uptime", QoS::AtMostOnce),
];

fn payload(n: usize) -> Bytes {
    (0..n).map(|i| i as u8).collect::<Vec<_>>().into()
}

fn rqos4(q: QoS) -> rumqttc::mqttbytes::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::mqttbytes::QoS::ExactlyOnce,
    }
}

fn rqos5(q: QoS) -> rumqttc::v5::mqttbytes::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::v5::mqttbytes::QoS::ExactlyOnce,
    }
}

/// The packet of one row, independent of the codec.
#[derive(Clone, Copy)]
enum Shape {
    Publish { qos: QoS, id: u16, len: usize },
    Subscribe,
    Connect,
    PubAck,
}

const ROWS: [(&str, Shape); 6] = [
    (
        "publish_qos0_64B",
        Shape::Publish {
            qos: QoS::AtMostOnce,
            id: 0,
            len: 64,
        },
    ),
    (
        "publish_qos1_1KiB",
        Shape::Publish {
            qos: QoS::AtLeastOnce,
            id: 1,
            len: 1024,
        },
    ),
    (
        "publish_qos1_64KiB",
        Shape::Publish {
            qos: QoS::AtLeastOnce,
            id: 2,
            len: 64 * 1024,
        },
    ),
    ("subscribe_5_filters", Shape::Subscribe),
    ("connect_will_credentials", Shape::Connect),
    ("puback", Shape::PubAck),
];

fn ours(shape: Shape, v: ProtocolVersion) -> Packet {
    match shape {
        Shape::Publish { qos, id, len } => {
            let mut p = Publish::new(TOPIC, qos, payload(len));
            p.packet_id = id;
            Packet::Publish(p)
        }
        Shape::Subscribe => Packet::Subscribe(Subscribe {
            packet_id: 3,
            properties: Properties::new(),
            subscriptions: FILTERS
                .iter()
                .map(|(f, q)| Subscription::new(*f, *q))
                .collect(),
        }),
        Shape::Connect => Packet::Connect(Connect {
            version: v,
            clean_start: false,
            keep_alive: 30,
            properties: Properties::new(),
            client_id: "bench-client-0001".into(),
            will: Some(Will {
                topic: "clients/bench-client-0001/status".into(),
                payload: Bytes::from_static(b"offline"),
                qos: QoS::AtLeastOnce,
                retain: true,
                properties: Properties::new(),
            }),
            username: Some("user".into()),
            password: Some(Bytes::from_static(b"secret-password")),
        }),
        Shape::PubAck => Packet::PubAck(PubAck::new(4)),
    }
}

fn theirs_v4(shape: Shape) -> r4::Packet {
    match shape {
        Shape::Publish { qos, id, len } => {
            let mut p = r4::Publish::from_bytes(TOPIC, rqos4(qos), payload(len));
            p.pkid = id;
            r4::Packet::Publish(p)
        }
        Shape::Subscribe => {
            let filters = FILTERS
                .iter()
                .map(|(f, q)| r4::SubscribeFilter::new(f.to_string(), rqos4(*q)));
            let mut s = r4::Subscribe::new_many(filters);
            s.pkid = 3;
            r4::Packet::Subscribe(s)
        }
        Shape::Connect => r4::Packet::Connect(r4::Connect {
            keep_alive: 30,
            clean_session: false,
            last_will: Some(r4::LastWill::new(
                "clients/bench-client-0001/status",
                "offline",
                rqos4(QoS::AtLeastOnce),
                true,
            )),
            login: Some(r4::Login::new("user", "secret-password")),
            ..r4::Connect::new("bench-client-0001")
        }),
        Shape::PubAck => r4::Packet::PubAck(r4::PubAck::new(4)),
    }
}

fn theirs_v5(shape: Shape) -> r5::Packet {
    match shape {
        Shape::Publish { qos, id, len } => {
            let mut p = r5::Publish::new(TOPIC, rqos5(qos), payload(len), None);
            p.pkid = id;
            r5::Packet::Publish(p)
        }
        Shape::Subscribe => {
            let filters = FILTERS.iter().map(|(f, q)| r5::Filter::new(*f, rqos5(*q)));
            let mut s = r5::Subscribe::new_many(filters, None);
            s.pkid = 3;
            r5::Packet::Subscribe(s)
        }
        Shape::Connect => r5::Packet::Connect(
            r5::Connect {
                keep_alive: 30,
                client_id: "bench-client-0001".into(),
                clean_start: false,
                properties: None,
            },
            Some(r5::LastWill::new(
                "clients/bench-client-0001/status",
                "offline",
                rqos5(QoS::AtLeastOnce),
                true,
                None,
            )),
            Some(r5::Login::new("user", "secret-password")),
        ),
        Shape::PubAck => r5::Packet::PubAck(r5::PubAck::new(4, None)),
    }
}

/// rumqttc's two protocol modules behind one interface.
trait Theirs: Sized {
    type Error: std::fmt::Debug;
    fn write(&self, buf: &mut BytesMut);
    fn read(buf: &mut BytesMut) -> Result<Self, Self::Error>;
}

impl Theirs for r4::Packet {
    type Error = rumqttc::mqttbytes::Error;
    fn write(&self, buf: &mut BytesMut) {
        r4::Packet::write(self, buf, MAX).expect("rumqttc encodes");
    }
    #[inline]
    fn read(buf: &mut BytesMut) -> Result<Self, Self::Error> {
        r4::Packet::read(buf, MAX)
    }
}

impl Theirs for r5::Packet {
    type Error = rumqttc::v5::mqttbytes::Error;
    fn write(&self, buf: &mut BytesMut) {
        r5::Packet::write(self, buf, Some(MAX as u32)).expect("rumqttc encodes");
    }
    #[inline]
    fn read(buf: &mut BytesMut) -> Result<Self, Self::Error> {
        r5::Packet::read(buf, Some(MAX as u32))
    }
}

fn bench_row<T: Theirs>(
    c: &mut Criterion,
    v: ProtocolVersion,
    row: &str,
    ours: &Packet,
    theirs: &T,
) {
    let bytes = ours.to_bytes(v).expect("our codec encodes");
    let mut check = BytesMut::new();
    theirs.write(&mut check);
    assert!(
        check[..] == bytes[..],
        "{v}/{row}: the two encodings differ"
    );

    let len = bytes.len();
    let n = (BATCH_BYTES / len).clamp(8, 1024);
    let mut stream = BytesMut::with_capacity(n * len);
    for _ in 0..n {
        stream.extend_from_slice(&bytes);
    }
    let decoder = Decoder::new(v);

    let label = match v {
        ProtocolVersion::V311 => "v311",
        ProtocolVersion::V5 => "v5",
    };
    let mut g = c.benchmark_group(format!("{label}/decode/{row}"));
    g.throughput(Throughput::ElementsAndBytes {
        elements: n as u64,
        bytes: (n * len) as u64,
    });
    g.bench_function("ours", |b| {
        b.iter_batched_ref(
            || stream.clone(),
            |buf| {
                for _ in 0..n {
                    let p = decoder.decode(buf);
                    black_box(&p);
                    assert!(matches!(p, Ok(Some(_))));
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("rumqttc", |b| {
        b.iter_batched_ref(
            || stream.clone(),
            |buf| {
                for _ in 0..n {
                    let p = T::read(buf);
                    black_box(&p);
                    assert!(p.is_ok());
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group(format!("{label}/encode/{row}"));
    g.throughput(Throughput::ElementsAndBytes {
        elements: 1,
        bytes: len as u64,
    });
    let mut buf = BytesMut::with_capacity(len);
    g.bench_function("ours", |b| {
        b.iter(|| {
            buf.clear();
            black_box(ours).encode(v, &mut buf).expect("encodes");
            black_box(&buf);
        })
    });
    g.bench_function("rumqttc", |b| {
        b.iter(|| {
            buf.clear();
            black_box(theirs).write(&mut buf);
            black_box(&buf);
        })
    });
    g.finish();
}

fn codec(c: &mut Criterion) {
    for (row, shape) in ROWS {
        let v = ProtocolVersion::V311;
        bench_row(c, v, row, &ours(shape, v), &theirs_v4(shape));
    }
    for (row, shape) in ROWS {
        let v = ProtocolVersion::V5;
        bench_row(c, v, row, &ours(shape, v), &theirs_v5(shape));
    }
}

criterion_group! {
    name = benches;
    // 24 groups of two: shorter than criterion's defaults so a full run stays near 5 minutes.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = codec
}
criterion_main!(benches);
