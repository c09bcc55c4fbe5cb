//! Builds and runs one simulation: the reference broker, the backend subscribers and the
//! device fleet inside turmoil, on one seed, in virtual time.

use super::checker::{self, Accounting};
use super::client::{BROKER_HOST, BROKER_PORT, Ctx};
use super::faults;
use super::fleet::{DevicePlan, Plan, WARMUP, run_backend, run_devices};
use super::history::{History, What};
use super::profile::Profile;
use super::workload::Workload;
use mqttspec_broker::Config;
use mqttspec_broker::config::Anonymous;
use mqttspec_broker::driver::{Listener, serve};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Devices per simulated host: turmoil polls every host on every tick, so fewer, fuller
/// hosts run faster (the 1,000-device hour: 35 s at 50 a host, 15 s at 200, 11 s at 1,000);
/// faults are per device anyway (see [`super::link`]). The bound keeps each host well
/// inside its 16,384 ephemeral ports, even with every device reconnecting at once.
const DEVICES_PER_HOST: usize = 1000;

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
    /// Draw each device group's profile within its ranges, from the seed (`--swarm`).
    pub draw_profiles: bool,
}

pub struct SimOutcome {
    pub history: History,
    pub accounting: Accounting,
    pub trace_hash: u64,
    /// Simulated time the whole run covered.
    pub simulated: Duration,
    /// The profile each device group ran on (drawn ones with `draw_profiles`).
    pub profiles: BTreeMap<String, Profile>,
}

struct SimListener(turmoil::net::TcpListener);

impl Listener for SimListener {
    type Stream = turmoil::net::TcpStream;
    async fn accept(&mut self) -> std::io::Result<(Self::Stream, Option<SocketAddr>)> {
        let (s, peer) = self.0.accept().await?;
        Ok((s, Some(peer)))
    }
}

/// Steps the simulation to its end, crashing and restarting the broker host as the
/// schedule says (only the simulation loop can do that to a host).
fn run_with_restarts(
    sim: &mut turmoil::Sim<'_>,
    schedule: &[faults::Fault],
    clients: &[String],
    ctx: &Ctx,
    progress: &mut dyn FnMut(Duration),
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
    let mut steps: u64 = 0;
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
        steps += 1;
        if steps.is_multiple_of(PROGRESS_EVERY) {
            progress(sim.elapsed());
        }
    }
}

/// Simulation steps between two calls of the progress callback.
const PROGRESS_EVERY: u64 = 4096;

/// Runs the workload and checks its history.
pub fn simulate(workload: &Workload, opts: &SimOptions) -> Result<SimOutcome, String> {
    simulate_with_progress(workload, opts, &mut |_, _| {})
}

/// [`simulate`], telling `progress` now and then how far the run is: (simulated time so
/// far, the whole run's).
pub fn simulate_with_progress(
    workload: &Workload,
    opts: &SimOptions,
    progress: &mut dyn FnMut(Duration, Duration),
) -> Result<SimOutcome, String> {
    let mut plan = Plan::new(workload, opts.seed, opts.duration, &opts.profile)?;
    if opts.draw_profiles {
        plan.draw_profiles();
    }
    let profiles = plan.group_profiles();
    let total = plan.total;
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
    sim.client("backend", {
        let (plan, ctx) = (plan.clone(), ctx.clone());
        async move {
            run_backend(plan, ctx).await;
            Ok(())
        }
    });
    let chunks: Vec<Vec<DevicePlan>> = plan
        .devices
        .chunks(DEVICES_PER_HOST)
        .map(<[DevicePlan]>::to_vec)
        .collect();
    for (h, chunk) in chunks.iter().enumerate() {
        let (plan, ctx, chunk) = (plan.clone(), ctx.clone(), chunk.clone());
        sim.client(format!("devices-{h}"), async move {
            run_devices(plan, chunk, ctx).await;
            Ok(())
        });
    }

    let mut clients = vec!["backend".to_owned()];
    clients.extend((0..chunks.len()).map(|h| format!("devices-{h}")));
    run_with_restarts(&mut sim, &plan.schedule, &clients, &ctx, &mut |at| {
        progress(at, total)
    })?;
    let history = ctx.history.take();
    let accounting = checker::check(&history, &plan.expectations);
    Ok(SimOutcome {
        trace_hash: history.trace_hash(),
        history,
        accounting,
        simulated: total,
        profiles,
    })
}
