//! `mqttspec fuzz --flood`: hostile load. Four phases, each with a healthy client probed
//! (a QoS 1 round trip) every 250 ms and the broker's resident memory sampled from /proc:
//! slowloris (connections sending their CONNECT one byte a second), a PUBLISH announcing a
//! 256 MiB remaining length (before and after a CONNECT), a connection storm, and a
//! subscriber that stops reading while publishers push. The broker passes if it stays up
//! and keeps serving the healthy client.

use super::net::liveness;
use crate::cli::fuzz::FuzzFormat;
use mqttspec_codec::{Connect, Packet, ProtocolVersion, Publish, QoS, Subscribe, Subscription};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Bound of one healthy round trip.
const PROBE_BOUND: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Serialize, Default)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
    pub probes_ok: u32,
    pub probes_failed: u32,
    pub worst_probe_ms: f64,
    pub first_failure: Option<String>,
    /// Highest resident memory of the broker seen during the phase, KiB.
    pub peak_rss_kib: Option<u64>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FloodReport {
    pub target: String,
    /// Whose memory is sampled (the broker's process, or this one for the embedded broker).
    pub rss_of: String,
    pub phases: Vec<Phase>,
    pub passed: bool,
}

impl FloodReport {
    pub fn text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "mqttspec fuzz --flood against {} (memory of {})",
            self.target, self.rss_of
        );
        for p in &self.phases {
            let rss = p
                .peak_rss_kib
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "n/a".into());
            let _ = writeln!(
                t,
                "  {:<22} {:>5.1}s  healthy probes {}/{} ok, worst {:.0} ms, peak RSS {rss}",
                p.name,
                p.seconds,
                p.probes_ok,
                p.probes_ok + p.probes_failed,
                p.worst_probe_ms
            );
            if let Some(f) = &p.first_failure {
                let _ = writeln!(t, "      first failed probe: {f}");
            }
            for n in &p.notes {
                let _ = writeln!(t, "      {n}");
            }
        }
        let _ = writeln!(
            t,
            "{}",
            if self.passed {
                "the broker stayed up and served the healthy client"
            } else {
                "the broker failed the healthy client"
            }
        );
        t
    }
}

/// Resident memory of process `pid` (KiB), from /proc.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `load` while probing the healthy client and sampling memory; `load` gets a flag
/// that turns true when the phase's time is up.
async fn phase<F, Fut>(
    name: &str,
    addr: SocketAddr,
    pid: Option<u32>,
    length: Duration,
    load: F,
) -> Phase
where
    F: FnOnce(Arc<AtomicBool>) -> Fut,
    Fut: std::future::Future<Output = Vec<String>> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let work = tokio::spawn(load(stop.clone()));
    let mut out = Phase {
        name: name.to_owned(),
        ..Phase::default()
    };
    let mut n = 0u32;
    while start.elapsed() < length {
        n += 1;
        let t = Instant::now();
        let id = format!("flood-healthy-{name}-{n}");
        match liveness(addr, &id, "mqttspec-flood/healthy", PROBE_BOUND).await {
            Ok(()) => out.probes_ok += 1,
            Err(dead) => {
                out.probes_failed += 1;
                out.first_failure.get_or_insert(dead.0);
            }
        }
        out.worst_probe_ms = out.worst_probe_ms.max(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(k) = pid.and_then(rss_kib) {
            out.peak_rss_kib = Some(out.peak_rss_kib.unwrap_or(0).max(k));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::Relaxed);
    match timeout(Duration::from_secs(10), work).await {
        Ok(Ok(notes)) => out.notes = notes,
        Ok(Err(e)) => out.notes.push(format!("the load task failed: {e}")),
        Err(_) => out
            .notes
            .push("the load did not wind down within 10 s".into()),
    }
    out.seconds = start.elapsed().as_secs_f64();
    out
}

fn connect_bytes(id: &str) -> Vec<u8> {
    Packet::Connect(Connect {
        client_id: id.into(),
        ..Connect::default()
    })
    .to_bytes(ProtocolVersion::V311)
    .map(|b| b.to_vec())
    .unwrap_or_default()
}

/// Writes `bytes` within 2 s; `false` if the write failed or did not finish.
async fn write(s: &mut TcpStream, bytes: &[u8]) -> bool {
    matches!(
        timeout(Duration::from_secs(2), s.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

async fn open(addr: SocketAddr) -> Option<TcpStream> {
    timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .ok()?
        .ok()
}

/// Whether the broker closed `s` (reads until end of stream or `within`).
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

async fn slowloris(addr: SocketAddr, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut conns = Vec::new();
    for i in 0..50 {
        if let Some(s) = open(addr).await {
            conns.push((s, connect_bytes(&format!("flood-slow-{i}")), 0usize, false));
        }
    }
    let opened = conns.len();
    while !stop.load(Ordering::Relaxed) {
        for (s, bytes, at, dead) in conns.iter_mut() {
            if *dead || *at >= bytes.len() {
                continue;
            }
            if !write(s, &bytes[*at..*at + 1]).await {
                *dead = true;
            }
            *at += 1;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let dead = conns.iter().filter(|c| c.3).count();
    vec![format!(
        "{opened} connections sending one byte a second; {dead} closed by the broker"
    )]
}

async fn huge_length(addr: SocketAddr, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut notes = Vec::new();
    // 0x30, remaining length 268,435,455 (256 MiB − 1).
    let header = [0x30u8, 0xFF, 0xFF, 0xFF, 0x7F];
    for connected in [false, true] {
        let Some(mut s) = open(addr).await else {
            notes.push("cannot connect".into());
            continue;
        };
        if connected {
            let _ = write(&mut s, &connect_bytes("flood-huge")).await;
        }
        let _ = write(&mut s, &header).await;
        let chunk = vec![0x61u8; 64 * 1024];
        let mut sent = 0usize;
        let mut write_failed = false;
        while sent < 8 * 1024 * 1024 && !stop.load(Ordering::Relaxed) {
            match timeout(Duration::from_secs(1), s.write_all(&chunk)).await {
                Ok(Ok(())) => sent += chunk.len(),
                _ => {
                    write_failed = true;
                    break;
                }
            }
        }
        let closed = write_failed || closed_within(&mut s, Duration::from_secs(2)).await;
        notes.push(format!(
            "PUBLISH announcing 256 MiB {}: {} KiB of it written, {}",
            if connected {
                "after CONNECT"
            } else {
                "as the first packet"
            },
            sent / 1024,
            if closed {
                "the broker closed the connection"
            } else {
                "the connection is still open"
            }
        ));
    }
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    notes
}

async fn storm(addr: SocketAddr, stop: Arc<AtomicBool>) -> Vec<String> {
    use tokio::io::AsyncReadExt;
    let mut conns = Vec::new();
    let mut failed = 0;
    let start = Instant::now();
    for i in 0..5000 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        match open(addr).await {
            Some(mut s) => {
                if write(&mut s, &connect_bytes(&format!("flood-storm-{i}"))).await {
                    conns.push(s);
                }
            }
            None => {
                failed += 1;
                if failed > 50 {
                    break;
                }
            }
        }
    }
    let opened = conns.len();
    let rate = opened as f64 / start.elapsed().as_secs_f64().max(0.001);
    let mut acked = 0;
    for s in conns.iter_mut() {
        let mut buf = [0u8; 4];
        if let Ok(Ok(n)) = timeout(Duration::from_millis(20), s.read(&mut buf)).await
            && n >= 4
            && buf[0] == 0x20
            && buf[3] == 0
        {
            acked += 1;
        }
    }
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vec![format!(
        "{opened} connections opened ({rate:.0}/s), {failed} failed; {acked} CONNACK 0 seen (20 ms each)"
    )]
}

async fn non_reader(addr: SocketAddr, stop: Arc<AtomicBool>) -> Vec<String> {
    let topic = "mqttspec-flood/pushed";
    let mut notes = Vec::new();
    // The subscriber: CONNECT, SUBSCRIBE at QoS 1, then it never reads.
    let Some(mut sub) = open(addr).await else {
        return vec!["cannot connect the subscriber".into()];
    };
    let subscribe = Packet::Subscribe(Subscribe {
        packet_id: 1,
        subscriptions: vec![Subscription::new(topic, QoS::AtLeastOnce)],
        ..Subscribe::default()
    })
    .to_bytes(ProtocolVersion::V311)
    .map(|b| b.to_vec())
    .unwrap_or_default();
    let _ = write(&mut sub, &connect_bytes("flood-nonreader")).await;
    let _ = write(&mut sub, &subscribe).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut pubs = Vec::new();
    for p in 0..4 {
        let stop = stop.clone();
        pubs.push(tokio::spawn(async move {
            let Some(mut s) = open(addr).await else {
                return 0u64;
            };
            let _ = write(&mut s, &connect_bytes(&format!("flood-pub-{p}"))).await;
            let mut msg = Publish::new(topic, QoS::AtMostOnce, vec![0x62u8; 1024]);
            msg.retain = false;
            let Ok(frame) = Packet::Publish(msg).to_bytes(ProtocolVersion::V311) else {
                return 0;
            };
            let batch: Vec<u8> = frame
                .iter()
                .copied()
                .cycle()
                .take(frame.len() * 64)
                .collect();
            let mut sent = 0u64;
            // The publishers read nothing either (QoS 0: nothing comes back); a publisher the
            // broker stops reading from is a broker pushing back, which is fine.
            while !stop.load(Ordering::Relaxed) {
                match timeout(Duration::from_secs(1), s.write_all(&batch)).await {
                    Ok(Ok(())) => sent += 64,
                    Ok(Err(_)) => break,
                    Err(_) => {}
                }
            }
            sent
        }));
    }
    let mut total = 0;
    for p in pubs {
        total += p.await.unwrap_or(0);
    }
    let closed = closed_within(&mut sub, Duration::from_millis(500)).await;
    notes.push(format!(
        "4 publishers pushed {total} messages of 1 KiB at a subscriber that does not read; {}",
        if closed {
            "the broker closed the subscriber"
        } else {
            "the subscriber's connection is still open"
        }
    ));
    notes
}

/// Runs the four phases against `addr`; memory of `pid` (this process for the embedded
/// broker). Returns the report and the exit code.
pub async fn run(
    addr: SocketAddr,
    target: &str,
    pid: Option<u32>,
    rss_of: String,
    each: Duration,
) -> FloodReport {
    let mut phases = Vec::new();
    phases.push(
        phase("baseline", addr, pid, Duration::from_secs(1), |_| async {
            Vec::new()
        })
        .await,
    );
    phases.push(phase("slowloris", addr, pid, each, move |s| slowloris(addr, s)).await);
    phases.push(
        phase("256 MiB length", addr, pid, each, move |s| {
            huge_length(addr, s)
        })
        .await,
    );
    phases.push(phase("connection storm", addr, pid, each, move |s| storm(addr, s)).await);
    phases.push(
        phase("non-reading subscriber", addr, pid, each, move |s| {
            non_reader(addr, s)
        })
        .await,
    );
    phases.push(
        phase("after", addr, pid, Duration::from_secs(2), |_| async {
            Vec::new()
        })
        .await,
    );
    let passed = phases
        .iter()
        .all(|p| p.probes_failed == 0 && p.probes_ok > 0);
    FloodReport {
        target: target.to_owned(),
        rss_of,
        phases,
        passed,
    }
}

/// The `--flood` command.
pub async fn main(
    addr: SocketAddr,
    target: &str,
    pid: Option<u32>,
    each: Duration,
    format: FuzzFormat,
    out: Option<&Path>,
) -> i32 {
    let (pid, rss_of) = match pid {
        Some(p) => (Some(p), format!("process {p}")),
        None if target.contains("embedded") => (
            Some(std::process::id()),
            "this process (the embedded broker runs in it)".to_owned(),
        ),
        None => (None, "nobody (give --broker-pid)".to_owned()),
    };
    eprintln!("mqttspec: flooding {target}, {each:?} per phase");
    let report = run(addr, target, pid, rss_of, each).await;
    let shown = match format {
        FuzzFormat::Text => report.text(),
        FuzzFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default(),
    };
    print!("{shown}");
    if let Some(dir) = out {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        if std::fs::create_dir_all(dir).is_err()
            || std::fs::write(dir.join("flood.json"), json).is_err()
        {
            eprintln!(
                "mqttspec: cannot write {}",
                dir.join("flood.json").display()
            );
            return crate::report::exit::HARNESS;
        }
    }
    if report.passed {
        crate::report::exit::OK
    } else {
        crate::report::exit::TARGET_FAILED
    }
}
