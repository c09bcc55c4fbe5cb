//! Builds and runs one simulation: the reference broker, the backend subscribers and the
//! device fleet inside turmoil, on one seed, in virtual time.

use super::backend::Subscriber;
use super::checker::{self, Accounting, Expectations};
use super::client::{BROKER_HOST, BROKER_PORT, Ctx};
use super::device::Device;
use super::faults;
use super::history::{History, What};
use super::link::{Link, new_link};
use super::profile::Profile;
use super::rng::Rng;
use super::workload::Workload;
use mqttspec_broker::Config;
use mqttspec_broker::config::Anonymous;
use mqttspec_broker::driver::{Listener, serve};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// Devices per simulated host: turmoil polls every host on every tick, so fewer, fuller
/// hosts run faster; faults are per device anyway (see [`super::link`]).
const DEVICES_PER_HOST: usize = 50;
/// Subscribers connect before this, devices start after it.
const WARMUP: Duration = Duration::from_secs(2);
/// After the devices stop: time for the last deliveries, then for the retained audit.
const SETTLE: Duration = Duration::from_secs(20);
const AUDIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    /// How long the devices run (simulated).
    pub duration: Duration,
    /// Profile of device groups that name none.
    pub profile: Profile,
    /// turmoil's tick: the resolution of simulated time.
    pub tick: Duration,
    /// The broker's settings (faults included, in tests).
    pub broker: Config,
}

pub struct SimOutcome {
    pub history: History,
    pub accounting: Accounting,
    pub trace_hash: u64,
    /// Simulated time the whole run covered.
    pub simulated: Duration,
}

struct SimListener(turmoil::net::TcpListener);

impl Listener for SimListener {
    type Stream = turmoil::net::TcpStream;
    async fn accept(&mut self) -> std::io::Result<(Self::Stream, Option<SocketAddr>)> {
        let (s, peer) = self.0.accept().await?;
        Ok((s, Some(peer)))
    }
}

/// When devices stop causing outages: late enough that every device is back and every
/// will of the last outages has been published before the devices stop.
pub fn quiet_period(w: &Workload) -> Duration {
    w.devices
        .iter()
        .map(|g| g.keep_alive.0 * 3 / 2 + g.reconnect.max.0 + Duration::from_secs(30))
        .max()
        .unwrap_or_default()
}

/// Draws outages for one device's link until `until`, per its profile.
async fn outages(
    link: Link,
    device: String,
    profile: Profile,
    mut rng: Rng,
    ctx: Ctx,
    until: Instant,
) {
    let Some(o) = profile.outages.clone() else {
        return;
    };
    loop {
        let start = Instant::now() + rng.between(o.every.0, o.every.1);
        let len = rng.between(o.length.0, o.length.1);
        if start + len >= until {
            return;
        }
        sleep_until(start).await;
        let silent = rng.chance(o.silent_share);
        let kind = if silent { "silent" } else { "reset" };
        ctx.record(What::Fault {
            target: device.clone(),
            fault: format!("{kind} outage for {:.1}s", len.as_secs_f64()),
        });
        {
            let mut s = link.borrow_mut();
            let end = start + len;
            s.held_until = Some(s.held_until.map_or(end, |t| t.max(end)));
            if !silent {
                s.resets.send_modify(|n| *n += 1);
            }
            s.changed.notify_waiters();
        }
        sleep_until(start + len).await;
    }
}

/// Steps the simulation to its end, crashing and restarting the broker host as the
/// schedule says (only the simulation loop can do that to a host).
fn run_with_restarts(
    sim: &mut turmoil::Sim<'_>,
    schedule: &[faults::Fault],
    clients: &[String],
    ctx: &Ctx,
) -> Result<(), String> {
    // (when, crash or start), in time order.
    let mut plan: Vec<(Duration, bool)> = Vec::new();
    for f in schedule {
        if let faults::Action::RestartBroker { down } = f.action {
            plan.push((WARMUP + f.at, true));
            plan.push((WARMUP + f.at + down, false));
        }
    }
    plan.sort();
    let mut plan = plan.into_iter().peekable();
    let mut down = false;
    loop {
        while let Some(&(at, crash)) = plan.peek()
            && sim.elapsed() >= at
        {
            plan.next();
            let now = sim.elapsed();
            if crash && !down {
                // A crashed machine sends nothing: cut it off while its sockets go, or
                // their closes would reach the peers, in an order that hangs on tokio's
                // task ids (not on the seed). Peers learn of the crash the way they
                // would: a keep alive unanswered, or a reset from the restarted broker.
                for c in clients {
                    sim.partition(BROKER_HOST, c.as_str());
                }
                sim.crash(BROKER_HOST);
                for c in clients {
                    sim.repair(BROKER_HOST, c.as_str());
                }
                ctx.history.borrow_mut().push(now, What::BrokerDown);
                down = true;
            } else if !crash && down {
                sim.bounce(BROKER_HOST);
                ctx.history.borrow_mut().push(now, What::BrokerUp);
                down = false;
            }
        }
        if sim
            .step()
            .map_err(|e| format!("the simulation failed: {e}"))?
        {
            return Ok(());
        }
    }
}

/// Runs the workload and checks its history.
pub fn simulate(workload: &Workload, opts: &SimOptions) -> Result<SimOutcome, String> {
    faults::check_run(workload, opts.duration, quiet_period(workload))?;
    let schedule = faults::resolve(workload);
    let stop = WARMUP + opts.duration;
    let total = stop + SETTLE + AUDIT + Duration::from_secs(5);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(total)
        .tick_duration(opts.tick)
        .rng_seed(opts.seed)
        // Delay is ours (see link.rs): turmoil's own latency would come on top.
        .min_message_latency(Duration::ZERO)
        .max_message_latency(Duration::ZERO)
        .tcp_capacity(1 << 16)
        .build();

    let broker_config = Config {
        allow_anonymous: Anonymous::Always,
        ..opts.broker.clone()
    };
    sim.host("broker", move || {
        let config = broker_config.clone();
        async move {
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", BROKER_PORT)).await?;
            let (_running, stop) = tokio::sync::watch::channel(false);
            serve(SimListener(listener), config, stop).await;
            Ok(())
        }
    });

    let ctx = Ctx::new();
    let mut exp = Expectations {
        will_grace: workload
            .devices
            .iter()
            .map(|g| g.keep_alive.0 * 3 / 2)
            .max()
            .unwrap_or_default()
            + Duration::from_secs(10),
        ..Expectations::default()
    };
    let lan = Profile::named("lan").ok_or("no lan profile")?;
    let mut subs = Vec::new();
    for s in &workload.subscribers {
        let profile = match &s.profile {
            Some(p) => Profile::named(p).ok_or_else(|| format!("unknown profile {p}"))?,
            None => lan.clone(),
        };
        subs.push((s.name.clone(), s.filter.clone(), s.qos, profile));
        exp.subscribers
            .push((s.name.clone(), s.filter.clone(), s.qos));
    }
    let has_retained = workload.devices.iter().any(|g| g.publish.retain);
    if has_retained {
        exp.auditor = Some("audit".into());
    }
    {
        let ctx = ctx.clone();
        let seed = opts.seed;
        sim.client("backend", async move {
            let start = Instant::now();
            let mut tasks = Vec::new();
            for (name, filter, qos, profile) in subs {
                let rng = Rng::derive(seed, &format!("sub/{name}"));
                tasks.push(tokio::task::spawn_local(
                    Subscriber {
                        name,
                        filter,
                        qos,
                        ctx: ctx.clone(),
                        rng,
                        stop_at: start + stop + SETTLE,
                        auditor: false,
                        profile,
                    }
                    .run(),
                ));
            }
            if has_retained {
                sleep_until(start + stop + SETTLE).await;
                tasks.push(tokio::task::spawn_local(
                    Subscriber {
                        name: "audit".into(),
                        filter: "fleet/+/state".into(),
                        qos: 1,
                        ctx: ctx.clone(),
                        rng: Rng::derive(seed, "audit"),
                        stop_at: start + stop + SETTLE + AUDIT,
                        auditor: true,
                        profile: lan,
                    }
                    .run(),
                ));
            }
            for t in tasks {
                let _ = t.await;
            }
            // A finished client host is torn down with its link tasks: stay until the end,
            // so the last DISCONNECTs and closes cross the link.
            sleep_until(start + stop + SETTLE + AUDIT).await;
            Ok(())
        });
    }

    let quiet = quiet_period(workload);
    let mut devices = Vec::new();
    for g in &workload.devices {
        let profile = match &g.profile {
            Some(p) => Profile::named(p).ok_or_else(|| format!("unknown profile {p}"))?,
            None => opts.profile.clone(),
        };
        if let Some(w) = &g.will {
            for n in 1..=g.count {
                exp.wills.insert(format!("{}-{n}", g.group), w.qos);
            }
        }
        for n in 1..=g.count {
            devices.push((format!("{}-{n}", g.group), g.clone(), profile.clone()));
        }
    }
    for (h, chunk) in devices.chunks(DEVICES_PER_HOST).enumerate() {
        let chunk = chunk.to_vec();
        let ctx = ctx.clone();
        let seed = opts.seed;
        let schedule = schedule.clone();
        sim.client(format!("devices-{h}"), async move {
            let start = Instant::now();
            let mut tasks = Vec::new();
            let mut links = Vec::new();
            for (name, group, profile) in chunk {
                let link = new_link();
                links.push((name.clone(), group.group.clone(), link.clone()));
                let mut rng = Rng::derive(seed, &name);
                let offset = rng.between(Duration::ZERO, group.publish.every.0);
                let fault_until = start + (stop.saturating_sub(quiet));
                tokio::task::spawn_local(outages(
                    link.clone(),
                    name.clone(),
                    profile.clone(),
                    Rng::new(rng.next_u64()),
                    ctx.clone(),
                    fault_until,
                ));
                tasks.push(tokio::task::spawn_local(
                    Device {
                        name,
                        group,
                        profile,
                        link,
                        rng,
                        ctx: ctx.clone(),
                        start_at: start + WARMUP + offset,
                        stop_at: start + stop,
                    }
                    .run(),
                ));
            }
            tokio::task::spawn_local(faults::apply(schedule, links, ctx.clone(), start + WARMUP));
            for t in tasks {
                let _ = t.await;
            }
            // A finished client host is torn down with its link tasks: stay until the end,
            // so the last DISCONNECTs and closes cross the link.
            sleep_until(start + stop + SETTLE + AUDIT).await;
            Ok(())
        });
    }

    let mut clients = vec!["backend".to_owned()];
    clients.extend((0..devices.len().div_ceil(DEVICES_PER_HOST)).map(|h| format!("devices-{h}")));
    run_with_restarts(&mut sim, &schedule, &clients, &ctx)?;
    let history = ctx.history.take();
    let accounting = checker::check(&history, &exp);
    Ok(SimOutcome {
        trace_hash: history.trace_hash(),
        history,
        accounting,
        simulated: total,
    })
}
