//! `mqttspec run --sim`: the ordinary conformance scenarios inside turmoil, in virtual time.
//!
//! Each scenario gets a simulation of its own: a fresh reference broker on the `broker`
//! host and the scenario's runner on a client host. Its waits (expectations, keep alive,
//! sleeps, the scenario timeout) pass in simulated time, so a 10-second keep-alive check
//! costs a few thousand cheap ticks; its result depends only on the run's seed and the
//! scenario (not on which scenarios ran beside it), and a `restart_broker` step can crash
//! the broker without touching any other scenario. Scenarios run on `jobs` threads, one
//! simulation per thread at a time (a turmoil simulation is single-threaded).

use super::client::{BROKER_HOST, BROKER_PORT};
use super::rng::Rng;
use crate::engine::result::{ScenarioResult, Verdict};
use crate::engine::{BrokerControl, Endpoint, RunOptions, run_scenario};
use crate::run::RunSettings;
use crate::scenario::LoadedScenario;
use crate::scenario::model::VersionSpec;
use mqttspec_broker::Config;
use mqttspec_broker::driver::{Listener, serve};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const RUNNER_HOST: &str = "runner";
/// The resolution of simulated time.
const TICK: Duration = Duration::from_millis(1);
/// The simulation's own limit comes after the scenario timeout, which reports better.
const SIM_MARGIN: Duration = Duration::from_secs(30);
/// Time the broker's host is given to start listening, before the scenario starts and
/// after a restart, before the step that asked for it goes on.
const STARTUP: Duration = Duration::from_millis(10);

/// The broker's listener on its simulated host. Peers are reported without an address:
/// the simulated network lives inside the harness process, so the broker treats its
/// clients as the in-process ones they are (anonymous access as on loopback, the embedded
/// broker's default).
struct SimListener(turmoil::net::TcpListener);

impl Listener for SimListener {
    type Stream = turmoil::net::TcpStream;
    async fn accept(&mut self) -> std::io::Result<(Self::Stream, Option<SocketAddr>)> {
        let (s, _peer) = self.0.accept().await?;
        Ok((s, None))
    }
}

/// What listens on the simulated broker host.
#[derive(Debug, Clone)]
pub enum SimBroker {
    /// The reference broker with these settings (faults included, in tests).
    Reference(Box<Config>),
    /// Accepts connections and never reads or writes: every scenario must fail, and none
    /// may hang.
    Silent,
}

impl SimBroker {
    pub(crate) async fn serve(&self) -> std::io::Result<()> {
        let mut listener =
            SimListener(turmoil::net::TcpListener::bind(("0.0.0.0", BROKER_PORT)).await?);
        match self {
            Self::Reference(config) => {
                // Never stopped: the simulation ends when the scenario does.
                let (_running, stop) = tokio::sync::watch::channel(false);
                serve(listener, Config::clone(config), stop).await;
            }
            Self::Silent => {
                let mut held = Vec::new();
                while let Ok((socket, _)) = listener.accept().await {
                    held.push(socket);
                }
            }
        }
        Ok(())
    }
}

/// Runs the scenarios, each in its own simulation; `progress` is called after each one.
/// Results are in the scenarios' order.
pub fn run_scenarios(
    scenarios: Vec<LoadedScenario>,
    settings: &RunSettings,
    broker: &SimBroker,
    progress: &(dyn Fn(&ScenarioResult) + Sync),
) -> Vec<ScenarioResult> {
    let scenarios: Vec<Arc<LoadedScenario>> = scenarios.into_iter().map(Arc::new).collect();
    let results: Mutex<Vec<Option<ScenarioResult>>> = Mutex::new(vec![None; scenarios.len()]);
    let next = AtomicUsize::new(0);
    let workers = settings.jobs.clamp(1, scenarios.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(scenario) = scenarios.get(index) else {
                        return;
                    };
                    // A panic inside one simulation (turmoil's own checks) costs that
                    // scenario, reported as a harness error, not the run.
                    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        // Index 0 for all: with a broker of its own, a scenario needs no
                        // names apart from the others, and so it runs exactly as when it
                        // is rerun alone.
                        simulate_scenario(scenario.clone(), 0, settings, broker)
                    }))
                    .unwrap_or_else(|_| {
                        harness_error(scenario, "the simulation panicked".to_owned())
                    });
                    progress(&result);
                    let mut all = results.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(slot) = all.get_mut(index) {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// The seed of one scenario's simulation: from the run's seed and the scenario's path, so
/// that rerunning one scenario alone (the report's reproducer) simulates it the same way.
pub fn scenario_seed(seed: u64, path: &str) -> u64 {
    Rng::derive(seed, path).next_u64()
}

/// Runs one scenario in a simulation of its own.
pub fn simulate_scenario(
    scenario: Arc<LoadedScenario>,
    index: usize,
    settings: &RunSettings,
    broker: &SimBroker,
) -> ScenarioResult {
    let control = BrokerControl::default();
    let mut opts = RunOptions::with_endpoint(
        Endpoint::Sim {
            host: BROKER_HOST.to_owned(),
            port: BROKER_PORT,
        },
        settings.seed,
    );
    opts.expect_timeout = settings.expect_timeout;
    opts.credentials = settings.credentials.clone();
    opts.stated = settings.stated.clone();
    opts.broker_control = Some(control.clone());
    let mut sim = turmoil::Builder::new()
        .simulation_duration(STARTUP + opts.scenario_timeout + SIM_MARGIN)
        .tick_duration(TICK)
        .rng_seed(scenario_seed(settings.seed, &scenario.path))
        .min_message_latency(Duration::ZERO)
        .max_message_latency(Duration::ZERO)
        .build();
    let host = broker.clone();
    sim.host(BROKER_HOST, move || {
        let host = host.clone();
        async move {
            host.serve().await?;
            Ok(())
        }
    });
    let slot: Arc<Mutex<Option<ScenarioResult>>> = Arc::default();
    {
        let (scenario, slot) = (scenario.clone(), slot.clone());
        sim.client(RUNNER_HOST, async move {
            tokio::time::sleep(STARTUP).await;
            let result = run_scenario(&scenario, index, &opts).await;
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            Ok(())
        });
    }
    let outcome = step_to_end(&mut sim, &control);
    let result = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (outcome, result) {
        (Ok(()), Some(r)) => r,
        (Err(e), _) => harness_error(&scenario, e),
        (Ok(()), None) => harness_error(&scenario, "the scenario ended without a result".into()),
    }
}

/// Steps the simulation until the scenario ends, crashing and restarting the broker's
/// host when a `restart_broker` step asks (only this loop can do that to a host).
pub(crate) fn step_to_end(
    sim: &mut turmoil::Sim<'_>,
    control: &BrokerControl,
) -> Result<(), String> {
    // When the crashed broker restarts, and when the step that asked may go on.
    let mut restart_at: Option<Duration> = None;
    let mut ready_at: Option<Duration> = None;
    loop {
        let now = sim.elapsed();
        if let Some(down) = control.take_request()
            && restart_at.is_none()
        {
            // A crashed machine sends nothing: cut it off while its sockets go, or their
            // closes (FIN, reset) would reach the runner. The runner's connections stay
            // half-open, as they would.
            sim.partition(BROKER_HOST, RUNNER_HOST);
            sim.crash(BROKER_HOST);
            sim.repair(BROKER_HOST, RUNNER_HOST);
            restart_at = Some(now + down);
        }
        if let Some(at) = restart_at
            && now >= at
        {
            sim.bounce(BROKER_HOST);
            restart_at = None;
            ready_at = Some(now + STARTUP);
        }
        if let Some(at) = ready_at
            && now >= at
        {
            control.restarted();
            ready_at = None;
        }
        if sim
            .step()
            .map_err(|e| format!("the simulation failed: {e}"))?
        {
            return Ok(());
        }
    }
}

fn harness_error(scenario: &LoadedScenario, reason: String) -> ScenarioResult {
    let s = &scenario.scenario;
    ScenarioResult {
        path: scenario.path.clone(),
        reference: scenario.reference.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
        version: match s.version {
            VersionSpec::V311 => "3.1.1",
            VersionSpec::V5 => "5.0",
        }
        .to_owned(),
        statements: s.statements.iter().map(|i| i.value.clone()).collect(),
        not_judged: Vec::new(),
        tags: s.tags.clone(),
        verdict: Verdict::Error,
        failure: None,
        reason: Some(reason),
        duration: Duration::ZERO,
        trace: Vec::new(),
        foreign: Vec::new(),
        rests_on: Vec::new(),
    }
}
