//! Runs one scenario's steps in order against a broker.

use super::attribution::{self, Intrinsic};
use super::client::{Client, Incoming};
use super::netfault::BrokerControl;
use super::result::{Failure, ForeignDelivery, ScenarioResult, Verdict};
use super::trace::Trace;
use super::transport::Endpoint;
use super::vars::Vars;
use crate::scenario::LoadedScenario;
use crate::scenario::model::{Step, VersionSpec};
use mqttspec_codec::{Packet, ProtocolVersion};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
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
    pub credentials: Option<Credentials>,
    /// Derived from the seed; makes topic and client-id prefixes unique to the run.
    pub run_id: String,
    /// Discard the stored sessions of the scenario's persistent client ids before and
    /// after it. Always on in the tool; off only to reproduce, in tests, a run that left
    /// sessions behind.
    pub discard_sessions: bool,
    /// Capabilities stated for the broker beyond its CONNACK (`--capabilities`, or the
    /// reference broker's own configuration).
    pub stated: Option<super::capabilities::Stated>,
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
            discard_sessions: true,
            stated: None,
        }
    }
}

/// A user name, with or without a password (3.1.1 allows a user name alone).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // The password never reaches a log or a report.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
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
    /// Client ids that connected with CleanSession 0 (and the version they spoke): their
    /// sessions are discarded at the end, whatever the steps did, so nothing is left on a
    /// shared broker.
    pub(super) persistent_ids: BTreeSet<(String, ProtocolVersion)>,
    /// Every filter the scenario subscribed to, to tell its own traffic from messages the
    /// broker had no subscription to send.
    pub(super) subscribed: BTreeSet<String>,
    /// Raw bytes each client sent (`send: {hex}`), to find the SUBSCRIBE packets among them.
    pub(super) raw_sent: BTreeMap<String, Vec<u8>>,
    /// Messages set aside by [`Run::next_incoming`].
    pub(super) foreign: Vec<ForeignDelivery>,
    /// PUBLISH packets that arrived while a client waited for an acknowledgement, per
    /// client, in arrival order: the next step that reads the client gets them first.
    pub(super) deferred: BTreeMap<String, VecDeque<(Incoming, Location)>>,
    /// Whether the scenario's `requires` was checked against a CONNACK yet.
    pub(super) connack_checked: bool,
    /// Clients whose connection an `or_close` step saw the broker close: a following
    /// `expect_close` of them holds at once.
    pub(super) closed_by_broker: BTreeSet<String>,
    /// SCRAM-SHA-256 exchanges of `scram` steps.
    pub(super) scram: super::scram::ScramClients,
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
        persistent_ids: BTreeSet::new(),
        subscribed: BTreeSet::new(),
        raw_sent: BTreeMap::new(),
        foreign: Vec::new(),
        deferred: BTreeMap::new(),
        connack_checked: s.requires.is_empty(),
        closed_by_broker: BTreeSet::new(),
        scram: Default::default(),
    };
    let started = Instant::now();
    let stated = super::capabilities::check_stated(&s.requires, opts.stated.as_ref());
    let rests_on = stated.clone().unwrap_or_default();
    // Decided before any step runs, so such a scenario neither passes nor fails on TCP.
    let outcome = if s.needs_sim() && !opts.target.is_simulated() {
        Err(Stop::NotApplicable(
            "needs --sim: the scenario injects network faults that only the simulator can make"
                .into(),
        ))
    } else if let Err(why) = stated {
        Err(Stop::NotApplicable(why))
    } else if let Some(why) = s
        .uses_scram()
        .then(|| super::scram::unavailable(&run))
        .flatten()
    {
        Err(Stop::NotApplicable(why))
    } else {
        if opts.discard_sessions {
            run.discard_sessions_before().await;
        }
        match tokio::time::timeout(opts.scenario_timeout, run.steps(&s.steps)).await {
            Ok(Ok(())) => run.unread_deferred_all(),
            Ok(r) => r,
            Err(_) => Err(Stop::Error(format!(
                "the scenario did not finish within {:?}",
                opts.scenario_timeout
            ))),
        }
    };
    run.cleanup().await;
    let cited: Vec<String> = s.statements.iter().map(|i| i.value.clone()).collect();
    let (verdict, failure, reason) = match outcome {
        Ok(()) => (Verdict::Pass, None, None),
        Err(Stop::Fail(f)) => (Verdict::Fail, Some(*f), None),
        Err(Stop::NotApplicable(r)) => (Verdict::NotApplicable, None, Some(r)),
        Err(Stop::Error(r)) => (Verdict::Error, None, Some(r)),
    };
    let not_judged = match &failure {
        Some(f) => cited
            .iter()
            .filter(|id| !f.statements.contains(id))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    ScenarioResult {
        path: scenario.path.clone(),
        reference: scenario.reference.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
        version: version.namespace().to_owned(),
        statements: cited,
        not_judged,
        tags: s.tags.clone(),
        verdict,
        failure,
        reason,
        duration: started.elapsed(),
        trace: run.trace.snapshot(),
        foreign: run.foreign,
        rests_on,
    }
}

/// The result of a scenario that was not run because the broker declined what it needs
/// before its first step (a protocol version it does not speak).
pub fn not_applicable(scenario: &LoadedScenario, reason: &str) -> ScenarioResult {
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
        verdict: Verdict::NotApplicable,
        failure: None,
        reason: Some(reason.to_owned()),
        duration: Duration::ZERO,
        trace: Vec::new(),
        foreign: Vec::new(),
        rests_on: Vec::new(),
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
        Step::Scram(_) => "scram",
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
        self.fail_ack(at, None, message, expected, actual)
    }

    /// A failure of an acknowledgement the engine knows (see `attribution`): charged to the
    /// statements the acknowledgement rests on unless the step names its own.
    pub(super) fn fail_ack(
        &self,
        at: &At<'_>,
        intrinsic: Option<Intrinsic>,
        message: impl Into<String>,
        expected: Option<String>,
        actual: Option<String>,
    ) -> Stop {
        let cited: Vec<String> = self
            .scenario
            .scenario
            .statements
            .iter()
            .map(|s| s.value.clone())
            .collect();
        let own: Vec<String> = at.statements.iter().map(|s| s.value.clone()).collect();
        let statements = attribution::charge(&own, intrinsic.as_ref(), &cited);
        let precondition = !statements.iter().any(|s| cited.contains(s));
        Stop::Fail(Box::new(Failure {
            line: at.loc.line(),
            column: at.loc.column(),
            step: at.kind.to_owned(),
            message: message.into(),
            expected,
            actual,
            statements,
            precondition,
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

    /// The next thing a client saw, within `within`. A PUBLISH on a topic that is not the
    /// scenario's and that no filter of the scenario matches is set aside: the broker had
    /// no subscription to send it on (another scenario's traffic, or a leak), and it is
    /// reported once for the whole run rather than failing whatever step was waiting.
    pub(super) async fn next_incoming(
        &mut self,
        name: &str,
        within: Duration,
        at: &At<'_>,
    ) -> Result<Option<Incoming>, Stop> {
        if let Some((item, _)) = self.deferred.get_mut(name).and_then(VecDeque::pop_front) {
            return Ok(Some(item));
        }
        self.next_live(name, within, at).await
    }

    /// Like [`Run::next_incoming`], but only what arrives from now on, leaving deferred
    /// packets for a later step.
    pub(super) async fn next_live(
        &mut self,
        name: &str,
        within: Duration,
        at: &At<'_>,
    ) -> Result<Option<Incoming>, Stop> {
        let deadline = Instant::now() + within;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let item = self.client(name, at)?.next(remaining).await;
            if let Some(item) = &item {
                self.scram.observe(name, item);
            }
            if let Some(Incoming::Packet(Packet::Publish(p))) = &item
                && self.is_foreign(&p.topic)
            {
                self.trace.event(
                    name,
                    format!(
                        "set aside: PUBLISH on {:?}, a topic this scenario never subscribed to",
                        &*p.topic
                    ),
                );
                self.foreign.push(ForeignDelivery {
                    client: name.to_owned(),
                    topic: p.topic.to_string(),
                    at_ms: self.trace.elapsed().as_millis() as u64,
                });
                continue;
            }
            return Ok(item);
        }
    }

    /// Whether a topic is neither the scenario's own (it holds the scenario's topic prefix
    /// as whole levels) nor matched by a filter the scenario subscribed to (matched without
    /// the `$` rule, so a broker that breaks that rule is judged by the scenario itself).
    fn is_foreign(&self, topic: &str) -> bool {
        let own = self.vars.get("topic").unwrap_or_default();
        let levels: Vec<&str> = topic.split('/').collect();
        let prefix: Vec<&str> = own.split('/').collect();
        let contains_prefix =
            !own.is_empty() && levels.windows(prefix.len()).any(|w| w == prefix.as_slice());
        !contains_prefix
            && !self
                .subscribed
                .iter()
                .any(|f| super::topic::filter_matches(f, topic, false))
    }

    pub(super) async fn open(&mut self, name: &str, version: ProtocolVersion) -> StepResult {
        if self.clients.contains_key(name) {
            return Ok(());
        }
        self.closed_by_broker.remove(name);
        let client = Client::connect(
            name,
            &self.opts.target,
            version,
            self.trace.clone(),
            self.opts.connect_timeout,
        )
        .await
        .map_err(Stop::Error)?;
        self.clients.insert(name.to_owned(), client);
        Ok(())
    }

    /// A PUBLISH put off while the client waited for an acknowledgement must still be
    /// expected by a later step of that client; one nobody read when the client goes away
    /// (or the scenario ends) arrived where the scenario expects nothing.
    pub(super) fn unread_deferred(&mut self, name: &str) -> StepResult {
        let Some((Incoming::Packet(p), loc)) =
            self.deferred.remove(name).and_then(|mut q| q.pop_front())
        else {
            return Ok(());
        };
        let at = At {
            loc,
            kind: "expect",
            statements: &[],
        };
        Err(self.fail(
            &at,
            format!(
                "client `{name}` got a PUBLISH (before the acknowledgement this step waited for) \
                 that no later step of the scenario expects"
            ),
            Some("no other packet".into()),
            Some(super::describe::packet(&p)),
        ))
    }

    /// [`Run::unread_deferred`] for every client, at the end of the scenario.
    fn unread_deferred_all(&mut self) -> StepResult {
        let names: Vec<String> = self.deferred.keys().cloned().collect();
        for name in names {
            self.unread_deferred(&name)?;
        }
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
            Step::Open(c) => {
                let version = c.version.map_or(self.version, VersionSpec::protocol);
                self.open(&c.client, version).await
            }
            Step::Connect(c) => {
                at.statements = &c.statements;
                self.connect(c, &at).await
            }
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
                let disconnect = super::packets::disconnect(c.reason, &c.properties, &self.vars)
                    .map_err(|e| self.bad_script(&at, e))?;
                let client = self.client(&c.client, &at)?;
                let packet = Packet::Disconnect(disconnect);
                let bytes = packet
                    .to_bytes(client.version)
                    .map_err(|e| Stop::Error(e.to_string()))?;
                client.send_packet(&packet, bytes);
                client.close_after_disconnect(DISCONNECT_SETTLE).await;
                self.clients.remove(&c.client);
                self.unread_deferred(&c.client)
            }
            Step::Drop(c) => {
                let client = self.client(&c.client, &at)?;
                client.close().await;
                self.clients.remove(&c.client);
                self.unread_deferred(&c.client)
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
            Step::Scram(s) => {
                at.statements = &s.statements;
                self.scram(s, &at).await
            }
        }
    }
}
