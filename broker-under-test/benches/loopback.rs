//! Loopback throughput/latency of our broker against Mosquitto, same machine, same run.
//!
//! `cargo bench -p mqttspec-broker --bench loopback -- [--messages N] [--rows a,b]
//! [--broker ours|mosquitto|both] [--window W]`
//!
//! The load client is our codec over raw tokio TCP. Each row has N publishers and M
//! subscribers on one topic; every payload carries (publisher, sequence, send time), so
//! each subscriber counts losses, duplicates and reorderings and measures latency.
//! Publishers are held to a window of W deliveries in flight end to end (acquired per
//! publish, released per delivery): the rate is what the broker sustains, and latency is
//! not just the depth of a queue a flood would build.

// Tests and benches run outside the sans-IO core, where wall-clock time is what they measure.
#![allow(clippy::disallowed_methods)]

#[allow(dead_code)]
#[path = "../tests/common/mosquitto.rs"]
mod mosquitto;

#[path = "loopback/client.rs"]
mod client;
#[path = "loopback/report.rs"]
mod report;

use client::{Outcome, run_row};
use mqttspec_codec::{ProtocolVersion, QoS};
use report::{fmt_cell, process_cpu, threads_cpu};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Hard limit on one run.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// Rounds of a latency (`-w1`) row, alternating the brokers.
const PING_PONG_ROUNDS: usize = 5;

/// The round with the median rate; a failed round (loss, duplicate, error) is kept in
/// view by being reported if any round failed.
fn median_round(mut rounds: Vec<Outcome>) -> Option<Outcome> {
    if let Some(i) = rounds
        .iter()
        .position(|o| !o.errors.is_empty() || o.duplicates > 0)
    {
        return Some(rounds.swap_remove(i));
    }
    rounds.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    let mid = rounds.len() / 2;
    (!rounds.is_empty()).then(|| rounds.swap_remove(mid))
}

#[derive(Debug, Clone, Copy)]
struct Row {
    qos: QoS,
    payload: usize,
    publishers: usize,
    subscribers: usize,
    /// Latency rows: one message in flight at a time, fewer messages.
    ping_pong: bool,
    /// The clients' protocol version.
    version: ProtocolVersion,
    /// 5.0 rows: every PUBLISH carries properties (a user property, content type, response
    /// topic, correlation data), forwarded to each subscriber.
    props: bool,
}

impl Row {
    fn name(&self) -> String {
        format!(
            "{}qos{}-{}B-{}to{}{}{}",
            if self.version.is_v5() { "v5-" } else { "" },
            self.qos.as_u8(),
            self.payload,
            self.publishers,
            self.subscribers,
            if self.props { "-props" } else { "" },
            if self.ping_pong { "-w1" } else { "" }
        )
    }
}

fn all_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        for payload in [64, 1024] {
            for (publishers, subscribers) in [(16, 1), (1, 16)] {
                rows.push(Row {
                    qos,
                    payload,
                    publishers,
                    subscribers,
                    ping_pong: false,
                    version: ProtocolVersion::V311,
                    props: false,
                });
            }
        }
    }
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            rows.push(Row {
                qos,
                payload: 64,
                publishers: 1,
                subscribers: 1,
                ping_pong: true,
                version,
                props: false,
            });
        }
    }
    // MQTT 5.0: the same shapes at 64 B, without and with properties.
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        for props in [false, true] {
            for (publishers, subscribers) in [(16, 1), (1, 16)] {
                rows.push(Row {
                    qos,
                    payload: 64,
                    publishers,
                    subscribers,
                    ping_pong: false,
                    version: ProtocolVersion::V5,
                    props,
                });
            }
        }
    }
    rows
}

struct Args {
    deliveries: u64,
    rows: Vec<String>,
    ours: bool,
    mosquitto: bool,
    window: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        deliveries: 200_000,
        rows: Vec::new(),
        ours: true,
        mosquitto: true,
        window: 1_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            // cargo bench passes --bench to harness-less targets.
            "--bench" => {}
            "--messages" => {
                args.deliveries = value("--messages")?
                    .parse()
                    .map_err(|e| format!("--messages: {e}"))?
            }
            "--window" => {
                args.window = value("--window")?
                    .parse()
                    .map_err(|e| format!("--window: {e}"))?
            }
            "--rows" => {
                args.rows = value("--rows")?.split(',').map(str::to_owned).collect();
            }
            "--broker" => match value("--broker")?.as_str() {
                "ours" => args.mosquitto = false,
                "mosquitto" => args.ours = false,
                "both" => {}
                other => return Err(format!("--broker: unknown broker {other}")),
            },
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}
const BROKER_THREADS: &str = "mqb-broker";
const CLIENT_THREADS: &str = "mqb-client";

/// Mosquitto settings: the in-flight window of our broker's default (32 per client),
/// TCP_NODELAY (as a low-latency deployment would set), and no queue limit. Mosquitto
/// 2.0.11 with a finite `max_queued_messages` (its default 1000, or 100000) was seen to
/// drop about 1000 QoS 1 messages ("Outgoing messages are being dropped") once a fan-in
/// subscriber had received about 100k, even though this client never lets more than the
/// window (1000 deliveries) be outstanding; unlimited, it loses nothing.
const MOSQUITTO_BENCH_CONF: &str =
    "max_inflight_messages 32\nmax_queued_messages 0\nset_tcp_nodelay true\n";

struct Brokers {
    ours: Option<mqttspec_broker::driver::RunningBroker>,
    mosquitto: Option<mosquitto::Mosquitto>,
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "loopback: {e}\nusage: loopback [--messages N] [--rows a,b] [--broker ours|mosquitto|both] [--window W]"
            );
            std::process::exit(2);
        }
    };
    let rows: Vec<Row> = all_rows()
        .into_iter()
        .filter(|r| args.rows.is_empty() || args.rows.iter().any(|f| r.name().contains(f.as_str())))
        .collect();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Our broker runs as `mqttspec broker` runs it: one worker thread (its core is one
    // state machine behind one lock, and one thread saves the wake-ups across threads).
    // MQB_BROKER_WORKERS changes it, for experiments.
    let broker_workers = std::env::var("MQB_BROKER_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let runtime = |name: &str| {
        let workers = if name == BROKER_THREADS {
            broker_workers
        } else {
            cores
        };
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .build()
    };
    let (broker_rt, client_rt) = match (runtime(BROKER_THREADS), runtime(CLIENT_THREADS)) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("loopback: cannot build runtimes: {e}");
            std::process::exit(1);
        }
    };

    let mut brokers = Brokers {
        ours: None,
        mosquitto: None,
    };
    if args.ours {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            broker_rt.block_on(mqttspec_broker::driver::start(
                any,
                mqttspec_broker::Config::default(),
            ))
        }));
        match started {
            Ok(Ok(b)) => brokers.ours = Some(b),
            Ok(Err(e)) => eprintln!("loopback: our broker failed to start: {e}"),
            Err(_) => eprintln!("loopback: our broker panicked on start (driver not implemented?)"),
        }
    }
    if args.mosquitto {
        // MQB_MOSQUITTO_CONF replaces the extra lines, for experiments.
        let conf = std::env::var("MQB_MOSQUITTO_CONF")
            .map(|c| c.replace("\\n", "\n"))
            .unwrap_or_else(|_| MOSQUITTO_BENCH_CONF.to_owned());
        brokers.mosquitto = Some(client_rt.block_on(mosquitto::Mosquitto::start(&conf)));
    }

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| row | ours msg/s | Mosquitto msg/s | ours ÷ Mosquitto | ours p50 / p99 | Mosquitto p50 / p99 | ours CPU µs/msg | Mosquitto CPU µs/msg | ours check | Mosquitto check |"
    );
    let _ = writeln!(table, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let mut failed = false;
    let bench_start = Instant::now();
    for (n, row) in rows.iter().enumerate() {
        let measure = |addr: SocketAddr, tag: String, broker_cpu: &dyn Fn() -> Duration| {
            let (broker_before, client_before) = (broker_cpu(), threads_cpu(CLIENT_THREADS));
            let mut o = client_rt.block_on(run_limited(addr, *row, &args, &tag));
            o.broker_cpu = broker_cpu().saturating_sub(broker_before);
            o.client_cpu = threads_cpu(CLIENT_THREADS).saturating_sub(client_before);
            o
        };
        // A latency row is short and one scheduling hiccup of this shared machine changes
        // its rate a lot: it is run in rounds that alternate the brokers, and each broker's
        // median round (by rate) is reported. A throughput row runs once per broker.
        let rounds = if row.ping_pong { PING_PONG_ROUNDS } else { 1 };
        let (mut our_rounds, mut their_rounds) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            if let Some(b) = &brokers.ours {
                let tag = format!("{}-ours-{n}-{round}", row.name());
                our_rounds.push(measure(b.local_addr, tag, &|| threads_cpu(BROKER_THREADS)));
            }
            if let Some(m) = &brokers.mosquitto {
                let tag = format!("{}-mosq-{n}-{round}", row.name());
                their_rounds.push(measure(m.addr(), tag, &|| process_cpu(m.pid())));
            }
        }
        let ours = median_round(our_rounds);
        let theirs = median_round(their_rounds);
        for (who, o) in [("ours", &ours), ("mosquitto", &theirs)] {
            if let Some(o) = o {
                failed |= o.failed(row.qos);
                for e in o.errors.iter().chain(&o.notes).take(5) {
                    eprintln!("{} {who}: {e}", row.name());
                }
                eprintln!(
                    "{} {who}: {} of {} in {:?}, lost {}, dup {}, reordered {}, CPU broker {:?} client {:?}",
                    row.name(),
                    o.unique,
                    o.expected,
                    o.elapsed,
                    o.lost(),
                    o.duplicates,
                    o.reordered,
                    o.broker_cpu,
                    o.client_cpu
                );
            }
        }
        let ratio = match (&ours, &theirs) {
            (Some(a), Some(b)) if b.rate() > 0.0 => format!("{:.2}", a.rate() / b.rate()),
            _ => "—".into(),
        };
        let (a, b) = (fmt_cell(ours.as_ref()), fmt_cell(theirs.as_ref()));
        let _ = writeln!(
            table,
            "| {} | {} | {} | {ratio} | {} | {} | {} | {} | {} | {} |",
            row.name(),
            a.0,
            b.0,
            a.1,
            b.1,
            a.2,
            b.2,
            a.3,
            b.3
        );
    }
    if let Some(b) = brokers.ours.take() {
        // The timer must be created inside the runtime.
        let _ = broker_rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), b.shutdown()).await });
    }
    if let Some(m) = brokers.mosquitto.take() {
        let log = m.log();
        if !log.trim().is_empty() {
            eprintln!("mosquitto log:\n{log}");
        }
    }
    println!(
        "\n{} deliveries per row, window {} deliveries, {} rows in {:.1} s\n",
        args.deliveries,
        args.window,
        rows.len(),
        bench_start.elapsed().as_secs_f64()
    );
    println!("{table}");
    if failed {
        eprintln!(
            "loopback: FAILED: lost or duplicated QoS 1 messages, duplicated QoS 0 messages, or errors (see above)"
        );
        std::process::exit(1);
    }
}

async fn run_limited(addr: SocketAddr, row: Row, args: &Args, tag: &str) -> Outcome {
    match tokio::time::timeout(
        RUN_LIMIT,
        run_row(addr, row, args.deliveries, args.window, tag),
    )
    .await
    {
        Ok(o) => o,
        Err(_) => Outcome {
            errors: vec![format!("run exceeded {RUN_LIMIT:?}")],
            ..Outcome::default()
        },
    }
}
