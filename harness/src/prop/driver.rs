//! Generates cases with proptest, runs them (over TCP or inside the network simulator),
//! lets proptest shrink the first failing one and returns the finding.

use super::exec::{CaseConfig, CaseOutcome, run_case};
use super::ops::{Case, case};
use crate::engine::runner::run_id;
use crate::engine::transport::Endpoint;
use crate::sim::client::{BROKER_HOST, BROKER_PORT};
use crate::sim::scenarios::SimBroker;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where cases run.
#[derive(Debug, Clone)]
pub enum PropTarget {
    /// A broker over TCP (the embedded one or `--target`).
    Tcp(SocketAddr),
    /// The reference broker (with this configuration) inside turmoil, one simulation per
    /// case, in virtual time.
    Sim(Box<mqttspec_broker::Config>),
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cases: u32,
    pub seed: u64,
    pub max_ops: usize,
    pub clients: u8,
    /// The run stops generating and shrinking after this.
    pub budget: Duration,
    pub ack_wait: Duration,
    pub must_wait: Duration,
    pub quiet: Duration,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Generate wills (off: to look past a known will finding).
    pub wills: bool,
    /// In the simulator, generate network faults (partitions) too.
    pub network_faults: bool,
    /// Generate short keep alives and connections that fall silent.
    pub silence: bool,
    /// Which protocol versions the clients speak (ops_v5.rs).
    pub version: super::ops_v5::Version,
}

impl Settings {
    pub fn new(seed: u64) -> Self {
        Self {
            cases: 100,
            seed,
            max_ops: 12,
            clients: 4,
            budget: Duration::from_secs(300),
            ack_wait: Duration::from_secs(2),
            must_wait: Duration::from_secs(2),
            quiet: Duration::from_millis(100),
            username: None,
            password: None,
            wills: true,
            network_faults: true,
            silence: true,
            version: super::ops_v5::Version::V311,
        }
    }
}

/// A failing case, shrunk.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Which generated case (1-based) failed first.
    pub case_number: u32,
    /// Operations of the first failing case, before shrinking.
    pub original_ops: usize,
    pub shrunk: Case,
    /// The run of the shrunk case.
    pub outcome: CaseOutcome,
    /// Case runs spent shrinking.
    pub shrink_runs: u32,
}

/// What a run came to.
#[derive(Debug, Clone)]
pub struct Summary {
    pub seed: u64,
    pub cases_run: u32,
    pub ops_run: u64,
    pub elapsed: Duration,
    pub finding: Option<Finding>,
    pub out_of_budget: bool,
    /// The run's id (in every topic and client id).
    pub run_id: String,
    /// The clients' protocol versions.
    pub version: super::ops_v5::Version,
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    for chunk in out.chunks_mut(8) {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    out
}

fn base36(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.iter().rev().collect()
}

/// Runs the property test. `progress` is called after each generated case with the number
/// of cases run. Must not be called inside a tokio runtime (it runs its own, or turmoil's).
pub fn run(
    target: &PropTarget,
    settings: &Settings,
    runtime: Option<&tokio::runtime::Runtime>,
    progress: &(dyn Fn(u32) + Sync),
) -> Summary {
    let started = Instant::now();
    let id = run_id(settings.seed);
    let executions = AtomicU64::new(0);
    let generated = AtomicU32::new(0);
    let ops_run = AtomicU64::new(0);
    let first_failure: Mutex<Option<(u32, usize)>> = Mutex::new(None);
    let last_failure: Mutex<Option<(Case, CaseOutcome)>> = Mutex::new(None);
    let shrink_runs = AtomicU32::new(0);
    let config = Config {
        cases: settings.cases,
        failure_persistence: None,
        max_shrink_iters: 1024,
        max_global_rejects: 1_000_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(settings.seed)),
    );
    let sim = matches!(target, PropTarget::Sim(_));
    // 3.1.1 only: the generator of the 3.1.1 runs, unchanged (their seeds keep meaning
    // the same cases).
    let strategy = match settings.version {
        super::ops_v5::Version::V311 => case(
            settings.clients,
            settings.max_ops,
            settings.wills,
            sim && settings.network_faults,
            sim,
            settings.silence,
        )
        .boxed(),
        v => super::ops_v5::case_v5(
            settings.clients,
            settings.max_ops,
            settings.wills,
            sim && settings.network_faults,
            v,
            sim,
        )
        .boxed(),
    };
    let result = runner.run(&strategy, |c| {
        if started.elapsed() > settings.budget {
            // Out of budget: every further case (and shrink step) passes at once.
            return Ok(());
        }
        let n = executions.fetch_add(1, Ordering::Relaxed);
        let failing_already = first_failure.lock().map(|f| f.is_some()).unwrap_or(false);
        if failing_already {
            shrink_runs.fetch_add(1, Ordering::Relaxed);
        } else {
            let k = generated.fetch_add(1, Ordering::Relaxed) + 1;
            progress(k);
        }
        let cfg = CaseConfig {
            endpoint: Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
            topic_prefix: format!("mqttspec/prop/{id}/{}", base36(n)),
            client_prefix: format!("mp{id}{}", base36(n)),
            ack_wait: settings.ack_wait,
            must_wait: settings.must_wait,
            quiet: settings.quiet,
            username: settings.username.clone(),
            password: settings.password.clone(),
            cleanup: true,
            broker_control: None,
        };
        let outcome = execute(target, &c, cfg, runtime);
        ops_run.fetch_add(outcome.ops_run as u64, Ordering::Relaxed);
        match &outcome.violation {
            None => Ok(()),
            Some(v) => {
                let why = v.to_string();
                if let Ok(mut f) = first_failure.lock()
                    && f.is_none()
                {
                    *f = Some((generated.load(Ordering::Relaxed), c.ops.len()));
                }
                if let Ok(mut l) = last_failure.lock() {
                    *l = Some((c.clone(), outcome));
                }
                Err(TestCaseError::fail(why))
            }
        }
    });
    let finding = match result {
        Err(TestError::Fail(_, shrunk)) => {
            let first = first_failure.lock().ok().and_then(|f| *f);
            let last = last_failure.lock().ok().and_then(|mut l| l.take());
            match (first, last) {
                (Some((case_number, original_ops)), Some((c, outcome))) => Some(Finding {
                    case_number,
                    original_ops,
                    shrunk: if c == shrunk { c } else { shrunk },
                    outcome,
                    shrink_runs: shrink_runs.load(Ordering::Relaxed),
                }),
                _ => None,
            }
        }
        _ => None,
    };
    Summary {
        seed: settings.seed,
        cases_run: generated.load(Ordering::Relaxed),
        ops_run: ops_run.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        finding,
        out_of_budget: started.elapsed() > settings.budget,
        run_id: id,
        version: settings.version,
    }
}

/// Runs one case on the target.
pub fn execute(
    target: &PropTarget,
    c: &Case,
    mut cfg: CaseConfig,
    runtime: Option<&tokio::runtime::Runtime>,
) -> CaseOutcome {
    match target {
        PropTarget::Tcp(addr) => {
            cfg.endpoint = Endpoint::Tcp(*addr);
            match runtime {
                Some(rt) => rt.block_on(run_case(c, &cfg)),
                None => match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(run_case(c, &cfg)),
                    Err(e) => harness_failure(format!("cannot start a runtime: {e}")),
                },
            }
        }
        PropTarget::Sim(config) => simulate(c, cfg, config),
    }
}

fn harness_failure(why: String) -> CaseOutcome {
    CaseOutcome {
        done: Vec::new(),
        model: crate::model::Model::new(),
        violation: Some(crate::model::Violation {
            kind: crate::model::judge::ViolationKind::Protocol,
            slot: None,
            msg: None,
            rule: Vec::new(),
            summary: why.clone(),
            expected: String::new(),
            got: why,
        }),
        observed: Vec::new(),
        trace: Vec::new(),
        ops_run: 0,
    }
}

/// The runner's host: the name the restart loop cuts off from the broker's.
use crate::sim::scenarios::RUNNER_HOST;

/// One case in a simulation of its own: a fresh reference broker, virtual time.
fn simulate(c: &Case, mut cfg: CaseConfig, config: &mqttspec_broker::Config) -> CaseOutcome {
    cfg.endpoint = Endpoint::Sim {
        host: BROKER_HOST.to_owned(),
        port: BROKER_PORT,
    };
    // The broker is thrown away with the simulation: nothing to clean.
    cfg.cleanup = false;
    let control = crate::engine::BrokerControl::default();
    cfg.broker_control = Some(control.clone());
    let seed = cfg.client_prefix.bytes().fold(0u64, |h, b| {
        h.wrapping_mul(0x100_0000_01B3).wrapping_add(u64::from(b))
    });
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(600))
        .tick_duration(Duration::from_millis(1))
        .rng_seed(seed)
        .min_message_latency(Duration::ZERO)
        .max_message_latency(Duration::ZERO)
        .build();
    let broker = SimBroker::Reference(Box::new(config.clone()));
    sim.host(BROKER_HOST, move || {
        let broker = broker.clone();
        async move {
            broker.serve().await?;
            Ok(())
        }
    });
    let slot: std::sync::Arc<Mutex<Option<CaseOutcome>>> = Default::default();
    {
        let (slot, c) = (slot.clone(), c.clone());
        sim.client(RUNNER_HOST, async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let outcome = run_case(&c, &cfg).await;
            if let Ok(mut s) = slot.lock() {
                *s = Some(outcome);
            }
            Ok(())
        });
    }
    // Stepped by the loop that can crash and restart the broker's host.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::sim::scenarios::step_to_end(&mut sim, &control)
    }));
    let outcome = slot.lock().ok().and_then(|mut s| s.take());
    match (ran, outcome) {
        (Ok(Ok(())), Some(o)) => o,
        (Ok(Err(e)), _) => harness_failure(e),
        (Err(_), _) => harness_failure("the simulation panicked".into()),
        (Ok(Ok(())), None) => harness_failure("the case ended without an outcome".into()),
    }
}
