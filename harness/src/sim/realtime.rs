//! `mqttspec sim --target`: the simulator's plan, tasks and checker against a real broker
//! over TCP, in real time, on one current-thread tokio runtime (the tasks share `Rc`
//! state and are spawned with `spawn_local`).
//!
//! What carries over: the workload, the fault schedule drawn from the seed, the profiles'
//! delay, bandwidth and loss, outages and fault steps, all applied to the harness's own
//! connections by the link layer ([`super::link`]); and the checker. What does not: the
//! timing. The kernel, the broker and the scheduler decide when bytes move, so the same
//! seed gives another trace on every run; the report says so. A broker restart cannot be
//! done to a broker the harness does not own, so a workload with one is refused.
//!
//! Every topic, filter and client id on the wire carries a prefix of the run
//! ([`Ctx::real`]); the history keeps the bare names, so the checker reads the same names
//! as in the simulator.

use super::checker::{self, Accounting};
use super::client::{Ctx, V311};
use super::faults::{self, Action};
use super::fleet::{Plan, Timing, quiet_period_with, run_backend, run_devices};
use super::history::{History, What};
use super::profile::Profile;
use super::workload::Workload;
use bytes::BytesMut;
use mqttspec_codec::reason::v311;
use mqttspec_codec::{Connect, Decoder, Disconnect, Packet, Publish, QoS};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// How long the target may take to accept a connection and answer CONNECT at the start.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Beyond the plan's end, how long the run may take before it is cut off. Every wait of the
/// tasks is bounded (connect and CONNACK 30 s, keep alive), so this is a safety net.
const OVERRUN: Duration = Duration::from_secs(45);
/// The whole clean-up of sessions and retained messages after the run.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct RealOptions {
    pub addr: SocketAddr,
    /// Draws the fault schedule, outages and link timing; does not make the run repeatable.
    pub seed: u64,
    /// How long the devices run (wall-clock).
    pub duration: Duration,
    /// Profile of device groups that name none.
    pub profile: Profile,
    /// Tells this run's names from other runs' on the same broker (letters, digits, `-`).
    pub tag: String,
}

#[derive(Debug, Error)]
pub enum RealError {
    /// The workload cannot run against a real broker (a usage mistake).
    #[error("{0}")]
    Refused(String),
    /// The target did not accept a connection or an MQTT CONNECT at the start.
    #[error("the target {addr} is not usable: {why}")]
    Unreachable { addr: SocketAddr, why: String },
    #[error("cannot start the runtime: {0}")]
    Runtime(String),
}

pub struct RealOutcome {
    pub history: History,
    pub accounting: Accounting,
    /// Printed for reference; another run of the same seed gives another one.
    pub trace_hash: u64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// The prefix of every topic on the wire.
    pub prefix: String,
    /// Ways the broker kept the run from completing (a subscriber never subscribed, a
    /// device never got back to a clean DISCONNECT); each fails the run.
    pub problems: Vec<String>,
    /// The profile each device group ran on.
    pub profiles: BTreeMap<String, Profile>,
}

/// The quiet period of a real-time run (see [`super::fleet::quiet_period`]).
pub fn quiet_period(w: &Workload) -> Duration {
    quiet_period_with(w, Timing::REAL.margin)
}

/// Checks that a workload can run against a real broker, and its faults' timing.
pub fn check_workload(w: &Workload, duration: Duration) -> Result<(), String> {
    if let Some(f) = faults::resolve(w)
        .iter()
        .find(|f| matches!(f.action, Action::RestartBroker { .. }))
    {
        return Err(format!(
            "restart_broker (at {:.0}s) cannot be done to a broker the harness does not run; \
             remove the step to run this workload with --target",
            f.at.as_secs_f64()
        ));
    }
    faults::check_run(w, duration, quiet_period(w))
}

/// Runs the workload against the broker at `opts.addr` and checks its history. Builds its
/// own runtime: call it from outside any tokio runtime.
pub fn run(w: &Workload, opts: &RealOptions) -> Result<RealOutcome, RealError> {
    check_workload(w, opts.duration).map_err(RealError::Refused)?;
    if tokio::runtime::Handle::try_current().is_ok() {
        // Blocking on a runtime inside another one would panic.
        return Err(RealError::Runtime(
            "realtime::run was called from inside a tokio runtime".into(),
        ));
    }
    let plan = Plan::with_timing(w, opts.seed, opts.duration, &opts.profile, Timing::REAL)
        .map_err(RealError::Refused)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RealError::Runtime(e.to_string()))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, drive(plan, opts))
}

async fn drive(plan: Plan, opts: &RealOptions) -> Result<RealOutcome, RealError> {
    let ctx = Ctx::real(opts.addr, &opts.tag);
    probe(opts.addr, &ctx.client_id("probe"))
        .await
        .map_err(|why| RealError::Unreachable {
            addr: opts.addr,
            why,
        })?;
    // The history's clock starts with the tasks.
    let ctx = Ctx::real(opts.addr, &opts.tag);
    let started = Instant::now();
    let backend = tokio::task::spawn_local(run_backend(plan.clone(), ctx.clone()));
    let devices =
        tokio::task::spawn_local(run_devices(plan.clone(), plan.devices.clone(), ctx.clone()));
    let limit = plan.total + OVERRUN;
    let finished = timeout(limit, async {
        let _ = backend.await;
        let _ = devices.await;
    })
    .await
    .is_ok();
    let elapsed = started.elapsed();
    let history = ctx.history.take();
    let mut problems = health(&history, &plan);
    if !finished {
        problems.push(format!(
            "the run did not finish within {:.0}s; its tasks were cut off",
            limit.as_secs_f64()
        ));
    }
    let _ = timeout(CLEANUP_TIMEOUT, cleanup(&plan, &ctx)).await;
    let accounting = checker::check(&history, &plan.expectations);
    Ok(RealOutcome {
        profiles: plan.group_profiles(),
        trace_hash: history.trace_hash(),
        history,
        accounting,
        elapsed,
        prefix: ctx.prefix.to_string(),
        problems,
    })
}

/// One CONNECT with CleanSession 1, its CONNACK, then DISCONNECT: whether the broker is
/// there and lets the harness in.
async fn probe(addr: SocketAddr, client_id: &str) -> Result<(), String> {
    let connect = Connect {
        client_id: client_id.into(),
        clean_start: true,
        keep_alive: 30,
        ..Connect::default()
    };
    exchange(addr, connect, Vec::new(), PROBE_TIMEOUT).await
}

/// Connects, sends CONNECT and waits for an accepting CONNACK, then sends `then` and
/// DISCONNECT and closes. Every step within `limit` in all.
async fn exchange(
    addr: SocketAddr,
    connect: Connect,
    then: Vec<Packet>,
    limit: Duration,
) -> Result<(), String> {
    let work = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = s.set_nodelay(true);
        write(&mut s, Packet::Connect(connect)).await?;
        let decoder = Decoder::new(V311);
        let mut buf = BytesMut::new();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Packet::ConnAck(a))) if a.code == v311::ACCEPTED => break,
                Ok(Some(Packet::ConnAck(a))) => {
                    return Err(format!("CONNECT refused with return code {:?}", a.code));
                }
                Ok(Some(other)) => return Err(format!("expected CONNACK, got {other:?}")),
                Ok(None) => {}
                Err(e) => return Err(format!("undecodable answer to CONNECT: {e}")),
            }
            let n = s
                .read_buf(&mut buf)
                .await
                .map_err(|e| format!("reading CONNACK: {e}"))?;
            if n == 0 {
                return Err("the connection was closed before CONNACK".into());
            }
        }
        for p in then {
            write(&mut s, p).await?;
        }
        write(&mut s, Packet::Disconnect(Disconnect::default())).await?;
        let _ = s.shutdown().await;
        Ok(())
    };
    timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(format!("no CONNACK within {:.0}s", limit.as_secs_f64())))
}

async fn write(s: &mut TcpStream, p: Packet) -> Result<(), String> {
    let bytes = p.to_bytes(V311).map_err(|e| format!("encoding: {e}"))?;
    s.write_all(&bytes)
        .await
        .map_err(|e| format!("writing: {e}"))
}

/// What kept the run from its normal course, from the history: a subscriber that never
/// got its SUBACK, a device that never ended with a clean DISCONNECT. With faults over
/// before the quiet period, a working broker leaves none.
fn health(history: &History, plan: &Plan) -> Vec<String> {
    /// Per device: connections accepted, and how its last connection ended (clean, why).
    #[derive(Default)]
    struct Seen<'a> {
        accepted: u32,
        last: Option<(bool, &'a str)>,
    }
    let mut subscribed = BTreeSet::new();
    let mut devices: BTreeMap<&str, Seen<'_>> = BTreeMap::new();
    for e in &history.events {
        match &e.what {
            What::Subscribed { subscriber, .. } => {
                subscribed.insert(subscriber.as_str());
            }
            What::Connected { device, .. } => devices.entry(device).or_default().accepted += 1,
            What::ConnectionEnded {
                device, clean, why, ..
            } => devices.entry(device).or_default().last = Some((*clean, why.as_str())),
            _ => {}
        }
    }
    let mut problems = Vec::new();
    let mut names: Vec<&str> = plan.subscribers.iter().map(|s| s.name.as_str()).collect();
    if plan.has_retained {
        names.push("audit");
    }
    for name in names {
        if !subscribed.contains(name) {
            problems.push(format!("subscriber {name} never got its SUBACK"));
        }
    }
    let mut stuck = Vec::new();
    for d in &plan.devices {
        match devices.get(d.name.as_str()) {
            None | Some(Seen { accepted: 0, .. }) => {
                stuck.push(format!("{} never got a CONNACK", d.name));
            }
            Some(Seen {
                last: Some((true, _)),
                ..
            }) => {}
            Some(Seen {
                last: Some((false, why)),
                ..
            }) => stuck.push(format!(
                "{}'s last connection ended without its DISCONNECT ({why})",
                d.name
            )),
            Some(Seen { last: None, .. }) => {
                stuck.push(format!("{}'s last connection never ended", d.name));
            }
        }
    }
    if !stuck.is_empty() {
        let shown = stuck.len().min(5);
        let more = if stuck.len() > shown {
            format!(" and {} more", stuck.len() - shown)
        } else {
            String::new()
        };
        problems.push(format!(
            "{} of {} devices did not finish the run connected: {}{more}",
            stuck.len(),
            plan.devices.len(),
            stuck[..shown].join("; ")
        ));
    }
    problems
}

/// Leaves the broker as it was, as far as the run can: ends the persistent sessions it
/// made (CONNECT with CleanSession 1) and clears the retained messages it left. Best
/// effort: the report does not depend on it.
async fn cleanup(plan: &Plan, ctx: &Ctx) {
    let addr = match ctx.net {
        super::client::Net::Tcp(a) => a,
        super::client::Net::Sim => return,
    };
    let mut ids: Vec<String> = plan
        .subscribers
        .iter()
        .map(|s| ctx.client_id(&format!("sub-{}", s.name)))
        .collect();
    ids.extend(
        plan.devices
            .iter()
            .filter(|d| !d.group.clean_session)
            .map(|d| ctx.client_id(&d.name)),
    );
    let mut retained = Vec::new();
    for d in &plan.devices {
        if d.group.publish.retain {
            retained.push(ctx.wire(&format!("fleet/{}/state", d.name)));
        }
        if d.group.will.as_ref().is_some_and(|w| w.retain) {
            retained.push(ctx.wire(&format!("fleet/{}/will", d.name)));
        }
    }
    let mut tasks = Vec::new();
    for id in ids {
        let connect = Connect {
            client_id: id.into(),
            clean_start: true,
            ..Connect::default()
        };
        tasks.push(tokio::task::spawn_local(exchange(
            addr,
            connect,
            Vec::new(),
            CLEANUP_TIMEOUT,
        )));
    }
    let clears = retained
        .into_iter()
        .map(|t| {
            let mut p = Publish::new(t, QoS::AtMostOnce, Vec::new());
            p.retain = true;
            Packet::Publish(p)
        })
        .collect();
    let connect = Connect {
        client_id: ctx.client_id("cleanup").into(),
        clean_start: true,
        ..Connect::default()
    };
    tasks.push(tokio::task::spawn_local(exchange(
        addr,
        connect,
        clears,
        CLEANUP_TIMEOUT,
    )));
    for t in tasks {
        let _ = t.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let w = Workload::load_str(
            "w.yaml",
            "name: w\ndevices:\n  - group: d\n    count: 2\n    publish: {every: 1s, qos: 1}\nsubscribers:\n  - {name: s, filter: \"fleet/#\", qos: 1}\n",
        )
        .expect("loads");
        let lan = Profile::named("lan").expect("lan");
        Plan::with_timing(&w, 1, Duration::from_secs(60), &lan, Timing::REAL).expect("plan")
    }

    fn conn(h: &mut History, device: &str, conn: u32, clean: Option<bool>) {
        let device = device.to_owned();
        h.push(
            Duration::ZERO,
            What::Connected {
                device: device.clone(),
                conn,
                session_present: false,
            },
        );
        if let Some(clean) = clean {
            h.push(
                Duration::ZERO,
                What::ConnectionEnded {
                    device,
                    conn,
                    clean,
                    why: "x".into(),
                },
            );
        }
    }

    #[test]
    fn a_normal_run_has_no_problems_and_a_stuck_one_has_them() {
        let plan = plan();
        let mut h = History::default();
        h.push(
            Duration::ZERO,
            What::Subscribed {
                subscriber: "s".into(),
                filter: "fleet/#".into(),
            },
        );
        conn(&mut h, "d-1", 1, Some(false));
        conn(&mut h, "d-1", 2, Some(true));
        conn(&mut h, "d-2", 1, Some(true));
        assert_eq!(health(&h, &plan), Vec::<String>::new());

        // d-2's last connection broke and it never came back; no SUBACK for s.
        let mut h = History::default();
        conn(&mut h, "d-1", 1, Some(true));
        conn(&mut h, "d-2", 1, Some(true));
        conn(&mut h, "d-2", 2, Some(false));
        let p = health(&h, &plan);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("subscriber s"), "{p:?}");
        assert!(
            p[1].contains("1 of 2 devices") && p[1].contains("d-2"),
            "{p:?}"
        );

        // A device that never connected.
        let mut h = History::default();
        conn(&mut h, "d-1", 1, Some(true));
        let p = health(&h, &plan);
        assert!(
            p.iter().any(|p| p.contains("d-2 never got a CONNACK")),
            "{p:?}"
        );
    }

    #[test]
    fn a_broker_restart_is_refused() {
        let w = Workload::load_str(
            "w.yaml",
            "name: w\ndevices:\n  - group: d\n    count: 1\n    publish: {every: 1s, qos: 1}\nfaults:\n  - restart_broker: {at: 1s}\n",
        )
        .expect("loads");
        let e = check_workload(&w, Duration::from_secs(600)).expect_err("refused");
        assert!(e.contains("restart_broker"), "{e}");
    }
}
