//! Runs one scenario's steps in order against a broker.

use super::client::{Client, Incoming};
use super::matcher::{self, Mismatch};
use super::packets;
use super::result::{Failure, ScenarioResult, Verdict};
use super::trace::Trace;
use super::vars::Vars;
use crate::scenario::LoadedScenario;
use crate::scenario::model::{
    ConnackPattern, ConnectStep, ExpectCloseStep, ExpectStep, PacketPattern, PacketSpec, SaveField,
    SendStep, Step, VersionSpec,
};
use mqttspec_codec::raw::{RawPacket, RemainingLength};
use mqttspec_codec::{Packet, ProtocolVersion, Publish, QoS};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// Settings of a run that every scenario shares.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: SocketAddr,
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
    pub fn new(target: SocketAddr, seed: u64) -> Self {
        Self {
            target,
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

enum Stop {
    Fail(Box<Failure>),
    NotApplicable(String),
    Error(String),
}

type StepResult = Result<(), Stop>;

struct Run<'a> {
    scenario: &'a LoadedScenario,
    opts: &'a RunOptions,
    version: ProtocolVersion,
    clients: BTreeMap<String, Client>,
    vars: Vars,
    trace: Trace,
    retained_topics: BTreeSet<String>,
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
    let outcome = match tokio::time::timeout(opts.scenario_timeout, run.steps(&s.steps)).await {
        Ok(r) => r,
        Err(_) => Err(Stop::Error(format!(
            "the scenario did not finish within {:?}",
            opts.scenario_timeout
        ))),
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
    }
}

/// The position and statements a failure of the current step is reported with.
struct At<'s> {
    loc: Location,
    kind: &'static str,
    statements: &'s [Spanned<String>],
}

impl Run<'_> {
    fn fail(
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
    fn bad_script(&self, at: &At<'_>, msg: String) -> Stop {
        Stop::Error(format!(
            "{}:{}:{}: {msg}",
            self.scenario.path,
            at.loc.line(),
            at.loc.column()
        ))
    }

    fn client(&mut self, name: &str, at: &At<'_>) -> Result<&mut Client, Stop> {
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

    async fn open(&mut self, name: &str) -> StepResult {
        if self.clients.contains_key(name) {
            return Ok(());
        }
        let client = Client::connect(
            name,
            self.opts.target,
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
                let client = self.client(&e.client, &at)?;
                match client.next(e.duration.0).await {
                    None => Ok(()),
                    Some(Incoming::Packet(p)) => Err(self.fail(
                        &at,
                        format!("expected nothing for {}, but a packet arrived", e.duration),
                        Some("no packet".into()),
                        Some(super::describe::packet(&p)),
                    )),
                    Some(Incoming::Malformed(err)) => Err(self.malformed(&at, err)),
                    Some(Incoming::Closed(why)) => Err(self.fail(
                        &at,
                        format!(
                            "expected nothing for {}, but the connection ended",
                            e.duration
                        ),
                        Some("an open, quiet connection".into()),
                        Some(why),
                    )),
                }
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
                client.close().await;
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
        }
    }

    async fn connect(&mut self, c: &ConnectStep, at: &At<'_>) -> StepResult {
        self.open(&c.client).await?;
        let connect = packets::connect(
            &c.fields(),
            &c.client,
            self.version,
            &self.vars,
            &self.opts.credentials,
        )
        .map_err(|e| self.bad_script(at, e))?;
        if let Some(w) = connect.will.as_ref().filter(|w| w.retain) {
            self.retained_topics.insert(w.topic.to_string());
        }
        let packet = Packet::Connect(connect);
        let bytes = packet
            .to_bytes(self.version)
            .map_err(|e| Stop::Error(e.to_string()))?;
        let within = c.within.map_or(self.opts.expect_timeout, |d| d.0);
        let client = self.client(&c.client, at)?;
        client.set_auto_ack(c.auto_ack.unwrap_or(true));
        client.send_packet(&packet, bytes);
        let default = ConnackPattern {
            session_present: None,
            code: Some(0),
        };
        let want = c.connack.as_ref().unwrap_or(&default);
        match client.next(within).await {
            None => Err(self.fail(
                at,
                format!("no CONNACK within {within:?}"),
                Some(matcher::show(&PacketPattern::Connack(want.clone()))),
                Some("nothing".into()),
            )),
            Some(Incoming::Closed(why)) => Err(self.fail(
                at,
                "the connection ended before a CONNACK",
                Some(matcher::show(&PacketPattern::Connack(want.clone()))),
                Some(why),
            )),
            Some(Incoming::Malformed(e)) => Err(self.malformed(at, e)),
            Some(Incoming::Packet(p)) => {
                if let Some(na) = &c.not_applicable_if
                    && matcher::connack(na, &p).is_ok()
                {
                    return Err(Stop::NotApplicable(format!(
                        "{} (broker answered {})",
                        c.reason.clone().unwrap_or_default(),
                        super::describe::packet(&p)
                    )));
                }
                matcher::connack(want, &p).map_err(|m| {
                    self.fail(
                        at,
                        m,
                        Some(matcher::show(&PacketPattern::Connack(want.clone()))),
                        Some(super::describe::packet(&p)),
                    )
                })
            }
        }
    }

    fn send(&mut self, s: &SendStep, at: &At<'_>) -> StepResult {
        let version = self.version;
        if let Some(hex) = &s.hex {
            let bytes =
                crate::scenario::load::parse_hex(hex).map_err(|e| self.bad_script(at, e))?;
            let client = self.client(&s.client, at)?;
            client.send_bytes(bytes.into(), "raw bytes".into());
            return Ok(());
        }
        let Some(spec) = &s.packet else {
            return Err(self.bad_script(at, "`send` has neither `packet` nor `hex`".into()));
        };
        let vars = self.vars.clone();
        let credentials = self.opts.credentials.clone();
        let built = {
            let client = self.client(&s.client, at)?;
            packets::build(spec, &s.client, client, &vars, &credentials)
        };
        let packet = built.map_err(|e| self.bad_script(at, e))?;
        match &packet {
            Packet::Publish(p) if p.retain => {
                self.retained_topics.insert(p.topic.to_string());
            }
            Packet::Connect(c) if c.will.as_ref().is_some_and(|w| w.retain) => {
                if let Some(w) = &c.will {
                    self.retained_topics.insert(w.topic.to_string());
                }
            }
            _ => {}
        }
        if let PacketSpec::Connect(_) = spec {
            // A hand-sent CONNECT keeps auto-ack as the client has it.
        }
        let bytes = if s.flags.is_some() || s.remaining_length.is_some() {
            let mut raw =
                RawPacket::from_packet(&packet, version).map_err(|e| Stop::Error(e.to_string()))?;
            if let Some(f) = s.flags {
                raw = raw.flags(f);
            }
            if let Some(len) = s.remaining_length {
                raw = raw.remaining_length(RemainingLength::Value(len));
            }
            raw.to_bytes()
        } else {
            packet
                .to_bytes(version)
                .map_err(|e| self.bad_script(at, e.to_string()))?
        };
        let client = self.client(&s.client, at)?;
        let mut decoded = super::describe::packet(&packet);
        if let Some(f) = s.flags {
            decoded.push_str(&format!(" [flags forced to {f:#06b}]"));
        }
        if let Some(len) = s.remaining_length {
            decoded.push_str(&format!(" [remaining length forced to {len}]"));
        }
        client.send_bytes(bytes, decoded);
        Ok(())
    }

    fn malformed(&self, at: &At<'_>, err: mqttspec_codec::DecodeError) -> Stop {
        let mut stop = self.fail(
            at,
            format!("the broker sent a malformed packet: {err}"),
            None,
            None,
        );
        if let Stop::Fail(f) = &mut stop {
            for id in err.statements() {
                if !f.statements.contains(&id) {
                    f.statements.push(id);
                }
            }
        }
        stop
    }

    async fn expect(&mut self, e: &ExpectStep, at: &At<'_>) -> StepResult {
        let within = e.within.map_or(self.opts.expect_timeout, |d| d.0);
        let deadline = Instant::now() + within;
        let (patterns, need, mode): (Vec<&PacketPattern>, usize, &str) = if let Some(p) = &e.packet
        {
            (vec![p], 1, "packet")
        } else if let Some(list) = &e.any_of {
            (list.iter().collect(), 1, "any_of")
        } else if let Some(list) = &e.all_of {
            (list.iter().collect(), list.len(), "all_of")
        } else {
            return Err(self.bad_script(at, "`expect` has no pattern".into()));
        };
        let show_expected = || match mode {
            "any_of" => format!(
                "one of {}",
                patterns
                    .iter()
                    .map(|p| matcher::show(p))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            "all_of" => format!(
                "all of {}",
                patterns
                    .iter()
                    .map(|p| matcher::show(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => matcher::show(patterns[0]),
        };
        let mut unmatched: Vec<usize> = (0..patterns.len()).collect();
        let mut matched = 0;
        while matched < need {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let vars = self.vars.clone();
            let item = self.client(&e.client, at)?.next(remaining).await;
            let packet = match item {
                None if e.not_applicable_if_nothing.is_some() => {
                    return Err(Stop::NotApplicable(format!(
                        "{} (nothing arrived within {within:?})",
                        e.not_applicable_if_nothing.clone().unwrap_or_default()
                    )));
                }
                None => {
                    return Err(self.fail(
                        at,
                        format!("nothing arrived within {within:?}"),
                        Some(show_expected()),
                        Some("nothing".into()),
                    ));
                }
                Some(Incoming::Closed(_)) if e.or_close => {
                    self.trace
                        .event(&e.client, "closed by the broker, which this step allows");
                    self.clients.remove(&e.client);
                    return Ok(());
                }
                Some(Incoming::Closed(why)) => {
                    return Err(self.fail(
                        at,
                        "the connection ended while a packet was expected",
                        Some(show_expected()),
                        Some(why),
                    ));
                }
                Some(Incoming::Malformed(err)) => return Err(self.malformed(at, err)),
                Some(Incoming::Packet(p)) => p,
            };
            let mut reasons: Vec<Mismatch> = Vec::new();
            let hit = unmatched.iter().position(|i| {
                match matcher::matches(patterns[*i], &packet, &vars) {
                    Ok(()) => true,
                    Err(m) => {
                        reasons.push(m);
                        false
                    }
                }
            });
            if hit.is_none()
                && e.ignore
                    .iter()
                    .any(|p| matcher::matches(p, &packet, &vars).is_ok())
            {
                self.trace
                    .event(&e.client, "passed over: the step allows this packet");
                continue;
            }
            match hit {
                Some(pos) => {
                    matched += 1;
                    if mode != "all_of" {
                        unmatched.clear();
                    } else {
                        unmatched.remove(pos);
                    }
                    for (name, field) in &e.save {
                        match field {
                            SaveField::PacketId => match matcher::packet_id(&packet) {
                                Some(id) => self.vars.set(name, id),
                                None => {
                                    return Err(self.bad_script(
                                        at,
                                        format!(
                                            "cannot save packet_id: {} has none",
                                            packet.packet_type().name()
                                        ),
                                    ));
                                }
                            },
                        }
                    }
                }
                None => {
                    return Err(self.fail(
                        at,
                        reasons.join("; "),
                        Some(show_expected()),
                        Some(super::describe::packet(&packet)),
                    ));
                }
            }
        }
        Ok(())
    }

    async fn expect_close(&mut self, e: &ExpectCloseStep, at: &At<'_>) -> StepResult {
        let within = e.within.map_or(self.opts.expect_timeout, |d| d.0);
        let started = Instant::now();
        let deadline = started + within;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let vars = self.vars.clone();
            let item = self.client(&e.client, at)?.next(remaining).await;
            match item {
                None => {
                    return Err(self.fail(
                        at,
                        format!("the connection was still open after {within:?}"),
                        Some("the broker closes the connection".into()),
                        Some("still open".into()),
                    ));
                }
                Some(Incoming::Closed(_)) => {
                    let after = started.elapsed();
                    if let Some(min) = e.not_before
                        && after < min.0
                    {
                        return Err(self.fail(
                            at,
                            format!("the broker closed the connection after {after:?}, sooner than {min}"),
                            Some(format!("a close no sooner than {min}")),
                            Some(format!("closed after {after:?}")),
                        ));
                    }
                    self.clients.remove(&e.client);
                    return Ok(());
                }
                Some(Incoming::Malformed(err)) => return Err(self.malformed(at, err)),
                Some(Incoming::Packet(p)) => {
                    if !e
                        .allow
                        .iter()
                        .any(|a| matcher::matches(a, &p, &vars).is_ok())
                    {
                        return Err(self.fail(
                            at,
                            "a packet arrived where the connection should have been closed",
                            Some("the broker closes the connection".into()),
                            Some(super::describe::packet(&p)),
                        ));
                    }
                }
            }
        }
    }

    /// Closes the clients cleanly (DISCONNECT, so no will fires after the scenario) and
    /// clears every retained message the scenario may have left.
    async fn cleanup(&mut self) {
        for (name, mut client) in std::mem::take(&mut self.clients) {
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
            self.opts.target,
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
