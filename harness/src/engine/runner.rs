//! Runs one scenario's steps in order against a broker.

use super::client::{Client, Incoming};
use super::netfault::BrokerControl;
use super::packets;
use super::result::{Failure, ScenarioResult, Verdict};
use super::trace::Trace;
use super::transport::Endpoint;
use super::vars::Vars;
use crate::scenario::LoadedScenario;
use crate::scenario::model::{Step, VersionSpec};
use mqttspec_codec::{Packet, ProtocolVersion, Publish, QoS};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// Settings of a run that every scenario shares.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: Endpoint,
    /// Restarts the simulated broker; `None` outside the simulator.
    pub broker_control: Option<BrokerControl>,
    /// Default wait of `expect` and `expect_close`.
    pub expect_timeout: Duration,
    pub connect_timeout: Duration,
    /// A scenario still running after this is stopped and reported as a harness error.
    pub scenario_timeout: Duration,
    /// User name and password for every CONNECT that does not set its own.
    pub credentials: Option<(String, String)>,
    /// Derived from the seed; makes topic and client-id prefixes unique to the run.
    pub run_id: String,
}

impl RunOptions {
    /// Options for a broker over real TCP.
    pub fn new(target: SocketAddr, seed: u64) -> Self {
        Self::with_endpoint(Endpoint::Tcp(target), seed)
    }

    pub fn with_endpoint(target: Endpoint, seed: u64) -> Self {
        Self {
            target,
            broker_control: None,
            expect_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            scenario_timeout: Duration::from_secs(120),
            credentials: None,
            run_id: run_id(seed),
        }
    }
}

/// Six base-36 characters from the seed.
pub fn run_id(seed: u64) -> String {
    let mut n = seed;
    let mut out = String::new();
    for _ in 0..6 {
        let d = (n % 36) as u32;
        out.push(char::from_digit(d, 36).unwrap_or('0'));
        n /= 36;
    }
    out
}

/// How long a `disconnect` step waits for the broker to close its side (see
/// [`Client::close_after_disconnect`]).
const DISCONNECT_SETTLE: Duration = Duration::from_secs(1);

/// Why a scenario ended before its last step.
pub(super) enum Stop {
    Fail(Box<Failure>),
    NotApplicable(String),
    Error(String),
}

pub(super) type StepResult = Result<(), Stop>;

/// The state of one scenario's run; its steps live in `steps.rs`, `expect.rs` and
/// `netfault.rs`.
pub(super) struct Run<'a> {
    pub(super) scenario: &'a LoadedScenario,
    pub(super) opts: &'a RunOptions,
    pub(super) version: ProtocolVersion,
    pub(super) clients: BTreeMap<String, Client>,
    pub(super) vars: Vars,
    pub(super) trace: Trace,
    pub(super) retained_topics: BTreeSet<String>,
}

/// Runs a scenario. `index` keeps its topics and client ids apart from the others of the run.
pub async fn run_scenario(
    scenario: &LoadedScenario,
    index: usize,
    opts: &RunOptions,
) -> ScenarioResult {
    let s = &scenario.scenario;
    let version = match s.version {
        VersionSpec::V311 => ProtocolVersion::V311,
        VersionSpec::V5 => ProtocolVersion::V5,
    };
    let tag = base36(index as u64);
    let mut run = Run {
        scenario,
        opts,
        version,
        clients: BTreeMap::new(),
        vars: Vars::new(
            &format!("mqttspec/{}/{tag}", opts.run_id),
            &format!("ms{}{tag}x", opts.run_id),
        ),
        trace: Trace::new(),
        retained_topics: BTreeSet::new(),
    };
    let started = Instant::now();
    // Decided before any step runs, so such a scenario neither passes nor fails on TCP.
    let outcome = if s.needs_sim() && !opts.target.is_simulated() {
        Err(Stop::NotApplicable(
            "needs --sim: the scenario injects network faults that only the simulator can make"
                .into(),
        ))
    } else {
        match tokio::time::timeout(opts.scenario_timeout, run.steps(&s.steps)).await {
            Ok(r) => r,
            Err(_) => Err(Stop::Error(format!(
                "the scenario did not finish within {:?}",
                opts.scenario_timeout
            ))),
        }
    };
    run.cleanup().await;
    let (verdict, failure, reason) = match outcome {
        Ok(()) => (Verdict::Pass, None, None),
        Err(Stop::Fail(f)) => (Verdict::Fail, Some(*f), None),
        Err(Stop::NotApplicable(r)) => (Verdict::NotApplicable, None, Some(r)),
        Err(Stop::Error(r)) => (Verdict::Error, None, Some(r)),
    };
    ScenarioResult {
        path: scenario.path.clone(),
        name: s.name.clone(),
        version: version.namespace().to_owned(),
        statements: s.statements.iter().map(|i| i.value.clone()).collect(),
        tags: s.tags.clone(),
        verdict,
        failure,
        reason,
        duration: started.elapsed(),
        trace: run.trace.snapshot(),
    }
}

fn base36(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

fn step_kind(step: &Step) -> &'static str {
    match step {
        Step::Open(_) => "open",
        Step::Connect(_) => "connect",
        Step::Send(_) => "send",
        Step::Expect(_) => "expect",
        Step::ExpectNothing(_) => "expect_nothing",
        Step::ExpectClose(_) => "expect_close",
        Step::Disconnect(_) => "disconnect",
        Step::Drop(_) => "drop",
        Step::Silence(_) => "silence",
        Step::Sleep(_) => "sleep",
        Step::Repeat(_) => "repeat",
        Step::Partition(_) => "partition",
        Step::Hold(_) => "hold",
        Step::Release(_) => "release",
        Step::RestartBroker(_) => "restart_broker",
    }
}

/// The position and statements a failure of the current step is reported with.
pub(super) struct At<'s> {
    pub(super) loc: Location,
    pub(super) kind: &'static str,
    pub(super) statements: &'s [Spanned<String>],
}

impl Run<'_> {
    pub(super) fn fail(
        &self,
        at: &At<'_>,
        message: impl Into<String>,
        expected: Option<String>,
        actual: Option<String>,
    ) -> Stop {
        let statements = if at.statements.is_empty() {
            self.scenario
                .scenario
                .statements
                .iter()
                .map(|s| s.value.clone())
                .collect()
        } else {
            at.statements.iter().map(|s| s.value.clone()).collect()
        };
        Stop::Fail(Box::new(Failure {
            line: at.loc.line(),
            column: at.loc.column(),
            step: at.kind.to_owned(),
            message: message.into(),
            expected,
            actual,
            statements,
        }))
    }

    /// A scenario mistake found only at run time (an undefined variable): the harness
    /// cannot judge the broker.
    pub(super) fn bad_script(&self, at: &At<'_>, msg: String) -> Stop {
        Stop::Error(format!(
            "{}:{}:{}: {msg}",
            self.scenario.path,
            at.loc.line(),
            at.loc.column()
        ))
    }

    pub(super) fn client(&mut self, name: &str, at: &At<'_>) -> Result<&mut Client, Stop> {
        let path = &self.scenario.path;
        match self.clients.get_mut(name) {
            Some(c) if c.is_silenced() => Err(Stop::Error(format!(
                "{path}:{}: client `{name}` was silenced and can no longer be used",
                at.loc.line()
            ))),
            Some(c) => Ok(c),
            None => Err(Stop::Error(format!(
                "{path}:{}: client `{name}` is not open",
                at.loc.line()
            ))),
        }
    }

    pub(super) async fn open(&mut self, name: &str) -> StepResult {
        if self.clients.contains_key(name) {
            return Ok(());
        }
        let client = Client::connect(
            name,
            &self.opts.target,
            self.version,
            self.trace.clone(),
            self.opts.connect_timeout,
        )
        .await
        .map_err(Stop::Error)?;
        self.clients.insert(name.to_owned(), client);
        Ok(())
    }

    fn steps<'s>(
        &'s mut self,
        steps: &'s [Spanned<Step>],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = StepResult> + Send + 's>> {
        Box::pin(async move {
            for step in steps {
                self.step(step).await?;
            }
            Ok(())
        })
    }

    async fn step(&mut self, step: &Spanned<Step>) -> StepResult {
        let no_statements: &[Spanned<String>] = &[];
        let mut at = At {
            loc: step.referenced,
            kind: step_kind(&step.value),
            statements: no_statements,
        };
        match &step.value {
            Step::Open(c) => self.open(&c.client).await,
            Step::Connect(c) => self.connect(c, &at).await,
            Step::Send(s) => self.send(s, &at),
            Step::Expect(e) => {
                at.statements = &e.statements;
                self.expect(e, &at).await
            }
            Step::ExpectNothing(e) => {
                at.statements = &e.statements;
                self.expect_nothing(e, &at).await
            }
            Step::ExpectClose(e) => {
                at.statements = &e.statements;
                self.expect_close(e, &at).await
            }
            Step::Disconnect(c) => {
                let client = self.client(&c.client, &at)?;
                let packet = Packet::Disconnect(Default::default());
                let bytes = packet
                    .to_bytes(client.version)
                    .map_err(|e| Stop::Error(e.to_string()))?;
                client.send_packet(&packet, bytes);
                client.close_after_disconnect(DISCONNECT_SETTLE).await;
                self.clients.remove(&c.client);
                Ok(())
            }
            Step::Drop(c) => {
                let client = self.client(&c.client, &at)?;
                client.close().await;
                self.clients.remove(&c.client);
                Ok(())
            }
            Step::Silence(c) => {
                self.client(&c.client, &at)?.silence();
                self.trace
                    .event(&c.client, "silenced: no more reads or writes");
                Ok(())
            }
            Step::Sleep(d) => {
                tokio::time::sleep(d.0).await;
                Ok(())
            }
            Step::Repeat(r) => {
                for i in 0..r.times {
                    self.vars.set("i", i);
                    self.steps(&r.steps).await?;
                }
                Ok(())
            }
            Step::Partition(p) => self.partition(p, &at),
            Step::Hold(client) => self.hold(client, &at),
            Step::Release(client) => self.release(client, &at),
            Step::RestartBroker(r) => self.restart_broker(r, &at).await,
        }
    }

    /// Closes the clients cleanly (DISCONNECT, so no will fires after the scenario) and
    /// clears every retained message the scenario may have left.
    async fn cleanup(&mut self) {
        for (name, mut client) in std::mem::take(&mut self.clients) {
            // The network heals first, so the DISCONNECT reaches the broker.
            client.gate().release();
            if !client.is_silenced() {
                let packet = Packet::Disconnect(Default::default());
                if let Ok(bytes) = packet.to_bytes(client.version) {
                    client.send_packet(&packet, bytes);
                }
            }
            client.close().await;
            drop(name);
        }
        if self.retained_topics.is_empty() {
            return;
        }
        let name = "cleanup";
        let Ok(mut client) = Client::connect(
            name,
            &self.opts.target,
            self.version,
            self.trace.clone(),
            self.opts.connect_timeout,
        )
        .await
        else {
            self.trace
                .event(name, "could not connect to clear retained messages");
            return;
        };
        let fields = Default::default();
        let Ok(connect) = packets::connect(
            &fields,
            name,
            self.version,
            &self.vars,
            &self.opts.credentials,
        ) else {
            return;
        };
        let packet = Packet::Connect(connect);
        if let Ok(bytes) = packet.to_bytes(self.version) {
            client.send_packet(&packet, bytes);
        }
        if !matches!(client.next(self.opts.expect_timeout).await, Some(Incoming::Packet(Packet::ConnAck(c))) if c.code.0 == 0)
        {
            self.trace
                .event(name, "the broker refused the cleanup connection");
            client.close().await;
            return;
        }
        for topic in std::mem::take(&mut self.retained_topics) {
            let mut publish = Publish::new(topic, QoS::AtLeastOnce, bytes::Bytes::new());
            publish.retain = true;
            publish.packet_id = client.next_packet_id();
            let packet = Packet::Publish(publish);
            if let Ok(bytes) = packet.to_bytes(self.version) {
                client.send_packet(&packet, bytes);
            }
            // Wait for the PUBACK so the clear is done before the next scenario looks.
            let _ = client.next(self.opts.expect_timeout).await;
        }
        let packet = Packet::Disconnect(Default::default());
        if let Ok(bytes) = packet.to_bytes(self.version) {
            client.send_packet(&packet, bytes);
        }
        client.close().await;
    }
}
