//! The same core and driver inside turmoil's simulated network and virtual clock: a device
//! that goes silent is disconnected at 1.5 times its keep alive and its will is published,
//! with no real waiting; the same seed gives the same event trace.

use bytes::BytesMut;
use mqttspec_broker::Config;
use mqttspec_broker::config::Anonymous;
use mqttspec_broker::driver::{Listener, serve};
use mqttspec_codec::{
    Connect, Decoder, Packet, ProtocolVersion, QoS, Subscribe, Subscription, Will,
};
use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

const V311: ProtocolVersion = ProtocolVersion::V311;
const KEEP_ALIVE: u16 = 10;

/// turmoil's listener as a source of connections for the driver.
struct SimListener(TcpListener);

impl Listener for SimListener {
    type Stream = TcpStream;
    async fn accept(&mut self) -> io::Result<(TcpStream, Option<SocketAddr>)> {
        let (stream, peer) = self.0.accept().await?;
        Ok((stream, Some(peer)))
    }
}

type Trace = Rc<RefCell<Vec<String>>>;

fn note(trace: &Trace, who: &str, what: impl std::fmt::Display) {
    let at = turmoil::sim_elapsed().unwrap_or_default();
    trace
        .borrow_mut()
        .push(format!("{:>12?} {who}: {what}", at));
}

struct Client {
    stream: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
}

impl Client {
    async fn connect(connect: Connect) -> Client {
        let stream = TcpStream::connect(("broker", 1883)).await.expect("connect");
        let mut c = Client {
            stream,
            buf: BytesMut::new(),
            decoder: Decoder::new(V311),
        };
        c.send(Packet::Connect(connect)).await;
        match c.recv().await {
            Some(Packet::ConnAck(a)) if a.code == mqttspec_codec::reason::v311::ACCEPTED => c,
            other => panic!("expected CONNACK 0, got {other:?}"),
        }
    }

    async fn send(&mut self, p: Packet) {
        let bytes = p.to_bytes(V311).expect("encode");
        self.stream.write_all(&bytes).await.expect("write");
    }

    /// The next packet, or `None` when the broker closed the connection.
    async fn recv(&mut self) -> Option<Packet> {
        loop {
            if let Some(p) = self
                .decoder
                .decode(&mut self.buf)
                .expect("broker bytes decode")
            {
                return Some(p);
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

/// Runs one simulation and returns its trace.
fn simulate(seed: u64) -> Vec<String> {
    let trace: Trace = Rc::default();
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(60))
        .rng_seed(seed)
        .build();
    sim.host("broker", || async {
        let listener = TcpListener::bind(("0.0.0.0", 1883)).await?;
        let (_keep_running, stop) = tokio::sync::watch::channel(false);
        // Simulated hosts have non-loopback addresses.
        let config = Config {
            allow_anonymous: Anonymous::Always,
            ..Config::default()
        };
        serve(SimListener(listener), config, stop).await;
        Ok(())
    });

    let t = trace.clone();
    sim.client("watcher", async move {
        let mut c = Client::connect(Connect {
            client_id: "watcher".into(),
            ..Connect::default()
        })
        .await;
        c.send(Packet::Subscribe(Subscribe {
            packet_id: 1,
            subscriptions: vec![Subscription::new("will/#", QoS::AtLeastOnce)],
            ..Subscribe::default()
        }))
        .await;
        note(&t, "watcher", format!("{:?}", c.recv().await));
        match c.recv().await {
            Some(Packet::Publish(p)) => note(
                &t,
                "watcher",
                format!("will {} qos {:?} {:?}", p.topic, p.qos, p.payload),
            ),
            other => panic!("expected the will, got {other:?}"),
        }
        Ok(())
    });

    let t = trace.clone();
    sim.client("device", async move {
        // Give the watcher time to subscribe.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut c = Client::connect(Connect {
            client_id: "device".into(),
            keep_alive: KEEP_ALIVE,
            will: Some(Will {
                topic: "will/device".into(),
                payload: "gone".into(),
                qos: QoS::AtLeastOnce,
                retain: false,
                properties: Default::default(),
            }),
            ..Connect::default()
        })
        .await;
        note(&t, "device", "connected, now silent");
        // Silent: sends nothing, and only learns of the close by reading.
        let end = c.recv().await;
        note(&t, "device", format!("connection ended: {end:?}"));
        Ok(())
    });

    sim.run().expect("the simulation runs to completion");
    trace.take()
}

fn at(line: &str) -> Duration {
    let text = line.split_whitespace().next().unwrap_or_default();
    let (value, factor) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(us) = text.strip_suffix("µs") {
        (us, 1e-6)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        panic!("no time in {line:?}")
    };
    Duration::from_secs_f64(value.parse::<f64>().expect("a number") * factor)
}

#[test]
fn silent_device_is_closed_at_one_and_a_half_keep_alive_and_its_will_published() {
    let trace = simulate(7);
    let find = |s: &str| {
        trace
            .iter()
            .find(|l| l.contains(s))
            .unwrap_or_else(|| panic!("no {s:?} in {trace:#?}"))
    };
    let connected = at(find("connected, now silent"));
    let closed = at(find("connection ended: None"));
    let will = find("will will/device qos AtLeastOnce");
    let limit = Duration::from_millis(u64::from(KEEP_ALIVE) * 1500);
    // The broker saw the CONNECT up to one network latency (100 ms at most, turmoil's
    // default) before the device saw the CONNACK, and the close needs one more to arrive.
    let slack = Duration::from_millis(250);
    let silent_for = closed - connected;
    assert!(
        silent_for + slack >= limit && silent_for <= limit + slack,
        "closed after {silent_for:?} of silence; keep alive {KEEP_ALIVE} s: {trace:#?}"
    );
    assert!(at(will) >= connected + limit - slack, "{trace:#?}");
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let a = simulate(42);
    assert_eq!(a, simulate(42));
    assert_ne!(a, simulate(43), "the seed drives the network latencies");
}
