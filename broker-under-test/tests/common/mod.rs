//! Shared helpers of the end-to-end tests: one broker per test (a private Mosquitto or ours
//! in-process), a raw client on our codec, helpers around `rumqttc` and the Mosquitto
//! command-line clients.
//!
//! Each check is written once as `async fn check(t: Target)` and run against both brokers
//! by [`both!`], so a check that passes on Mosquitto shows it tests real behaviour.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod cli;
pub mod mosquitto;
pub mod raw;
pub mod rumqtt;
pub mod rumqtt5;

use mqttspec_broker::driver::{self, RunningBroker};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Which broker a check runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mosquitto,
    Ours,
}

/// What a check gets: where the broker listens and which one it is (for the few
/// tolerances that differ, documented where used).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub addr: SocketAddr,
    pub kind: Kind,
}

impl Target {
    /// A client identifier unique within the process, readable in broker logs.
    pub fn client_id(&self, role: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        format!(
            "e2e-{role}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// A started broker; stopped when the check ends (Mosquitto also on drop, by PID).
pub enum Broker {
    Mosquitto(mosquitto::Mosquitto),
    Ours(RunningBroker),
}

impl Broker {
    pub async fn start(kind: Kind) -> Broker {
        match kind {
            Kind::Mosquitto => Broker::Mosquitto(mosquitto::Mosquitto::start("").await),
            Kind::Ours => {
                let addr = SocketAddr::from(([127, 0, 0, 1], 0));
                let running = tokio::time::timeout(
                    Duration::from_secs(5),
                    driver::start(addr, mqttspec_broker::Config::default()),
                )
                .await
                .expect("driver::start did not return within 5 s")
                .expect("driver::start failed");
                Broker::Ours(running)
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        match self {
            Broker::Mosquitto(m) => m.addr(),
            Broker::Ours(r) => r.local_addr,
        }
    }

    pub async fn stop(self) {
        match self {
            Broker::Mosquitto(m) => drop(m),
            Broker::Ours(r) => {
                tokio::time::timeout(Duration::from_secs(5), r.shutdown())
                    .await
                    .expect("RunningBroker::shutdown did not finish within 5 s");
            }
        }
    }
}

/// Upper bound on one check, broker start and stop excluded; the suite stays well under it.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts a broker of `kind`, runs `check` against it under [`CHECK_TIMEOUT`], stops it.
pub async fn run<F, Fut>(kind: Kind, check: F)
where
    F: FnOnce(Target) -> Fut,
    Fut: Future<Output = ()>,
{
    let broker = Broker::start(kind).await;
    let target = Target {
        addr: broker.addr(),
        kind,
    };
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check(target)).await;
    let log = match &broker {
        Broker::Mosquitto(m) => m.log(),
        Broker::Ours(_) => String::new(),
    };
    broker.stop().await;
    assert!(
        outcome.is_ok(),
        "{kind:?}: check did not finish within {CHECK_TIMEOUT:?}\n{log}"
    );
}

/// Generates `mod $check { mosquitto, ours }`: the check as two tokio tests, one per broker.
macro_rules! both {
    ($($check:ident),* $(,)?) => {
        $(mod $check {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mosquitto() {
                $crate::common::run($crate::common::Kind::Mosquitto, super::$check).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ours() {
                $crate::common::run($crate::common::Kind::Ours, super::$check).await;
            }
        })*
    };
}

/// Awaits `fut` for at most `within`, panicking with `what` on timeout.
pub async fn within<T>(within: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(within, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {within:?} waiting for {what}"),
    }
}
