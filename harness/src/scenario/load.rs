//! Parsing and checking a scenario file. Every error says where (file:line:column) and why,
//! and no scenario runs half-checked.

use super::model::{
    PacketPattern, PacketSpec, PayloadSpec, Scenario, ScramSend, ScramStep, SendStep, Step,
    VersionSpec,
};
use crate::catalogue::Catalogue;
use serde_saphyr::{Location, Spanned};
use std::collections::BTreeSet;
use std::fmt;

/// A scenario that parsed and passed every static check.
#[derive(Debug)]
pub struct LoadedScenario {
    /// Path as given (or as embedded), used in reports.
    pub path: String,
    /// What `mqttspec run` takes to run this scenario again from any directory: the name of
    /// a built-in scenario (`retain/retained-sent-on-subscribe`) or an absolute file path.
    pub reference: String,
    pub scenario: Scenario,
}

/// A mistake in a scenario file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub path: String,
    /// 1-based; 0 when unknown.
    pub line: u64,
    pub column: u64,
    pub message: String,
    /// The offending source line, for the caret display.
    pub source_line: Option<String>,
}

impl std::error::Error for LoadError {}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}:{}:{}", self.path, self.line, self.column)?;
        if let Some(src) = &self.source_line {
            let n = self.line.to_string();
            let pad = " ".repeat(n.len());
            let caret_at = (self.column.max(1) - 1) as usize;
            // Columns count characters; keep tabs so the caret lines up.
            let lead: String = src
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n {pad} |\n {n} | {src}\n {pad} | {lead}^")?;
        }
        Ok(())
    }
}

impl LoadError {
    pub(crate) fn at(path: &str, text: &str, loc: Location, message: impl Into<String>) -> Self {
        let (line, column) = (loc.line(), loc.column());
        let source_line = (line > 0)
            .then(|| text.lines().nth((line - 1) as usize).map(str::to_owned))
            .flatten();
        Self {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
            source_line,
        }
    }
}

/// Parses and checks one scenario file's text.
pub fn load_str(
    path: &str,
    text: &str,
    catalogue: &Catalogue,
) -> Result<LoadedScenario, LoadError> {
    let scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| {
        let loc = e.location().unwrap_or(Location::UNKNOWN);
        LoadError::at(path, text, loc, first_line(&e.to_string()))
    })?;
    let mut checker = Checker {
        path,
        text,
        catalogue,
        version: scenario.version,
        clients: BTreeSet::new(),
    };
    checker.statements(&scenario.statements)?;
    if scenario.statements.is_empty() {
        return Err(LoadError::at(
            path,
            text,
            Location::UNKNOWN,
            "a scenario must name at least one statement in `statements`",
        ));
    }
    if scenario.steps.is_empty() {
        return Err(LoadError::at(
            path,
            text,
            Location::UNKNOWN,
            "a scenario needs at least one step",
        ));
    }
    checker.steps(&scenario.steps)?;
    if !scenario.requires.is_empty() {
        checker.v5_only(Location::UNKNOWN, "`requires`")?;
    }
    Ok(LoadedScenario {
        path: path.to_owned(),
        reference: path.to_owned(),
        scenario,
    })
}

/// serde-saphyr prefixes its message with the location, which we print our own way.
pub(crate) fn first_line(msg: &str) -> String {
    let line = msg.lines().next().unwrap_or(msg);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    let text = match line.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest,
        _ => line,
    };
    if text == "expected mapping start" {
        // The usual cause: a packet written as a bare name where it needs its fields.
        return "expected a mapping here (write a packet with no fields to compare as `{puback: {}}`)"
            .to_owned();
    }
    text.to_owned()
}

struct Checker<'a> {
    path: &'a str,
    text: &'a str,
    catalogue: &'a Catalogue,
    version: VersionSpec,
    clients: BTreeSet<String>,
}

impl Checker<'_> {
    fn err(&self, loc: Location, msg: impl Into<String>) -> LoadError {
        LoadError::at(self.path, self.text, loc, msg)
    }

    fn statements(&self, ids: &[Spanned<String>]) -> Result<(), LoadError> {
        let prefix = match self.version {
            VersionSpec::V311 => "3.1.1/",
            VersionSpec::V5 => "5.0/",
        };
        for id in ids {
            if !id.value.starts_with(prefix) {
                return Err(self.err(
                    id.referenced,
                    format!(
                        "statement {:?} must be namespaced by the scenario's version, e.g. {prefix}MQTT-3.1.0-1",
                        id.value
                    ),
                ));
            }
            if self.catalogue.get(&id.value).is_none() {
                return Err(self.err(
                    id.referenced,
                    format!("statement {:?} is not in the catalogue", id.value),
                ));
            }
        }
        Ok(())
    }

    /// A field only MQTT 5.0 has, in a scenario of another version, is a mistake.
    fn v5_only(&self, loc: Location, what: &str) -> Result<(), LoadError> {
        if self.version == VersionSpec::V5 {
            return Ok(());
        }
        Err(self.err(
            loc,
            format!("{what} exists only in MQTT 5.0; this scenario is `version: \"3.1.1\"`"),
        ))
    }

    fn known(&self, loc: Location, client: &str) -> Result<(), LoadError> {
        if self.clients.contains(client) {
            Ok(())
        } else {
            Err(self.err(
                loc,
                format!("client `{client}` is used before an `open` or `connect` step creates it"),
            ))
        }
    }

    fn steps(&mut self, steps: &[Spanned<Step>]) -> Result<(), LoadError> {
        for step in steps {
            let loc = step.referenced;
            match &step.value {
                Step::Open(c) => {
                    self.clients.insert(c.client.clone());
                }
                Step::Connect(c) => {
                    self.clients.insert(c.client.clone());
                    if let Some(w) = &c.will {
                        self.payload(loc, w.payload_spec())?;
                        self.qos(loc, w.qos)?;
                        if w.properties.is_some() {
                            self.v5_only(loc, "will `properties`")?;
                        }
                    }
                    if c.properties.is_some() {
                        self.v5_only(loc, "CONNECT `properties`")?;
                    }
                    if let Some(p) = c.connack.iter().chain(&c.not_applicable_if).next()
                        && p.properties.is_some()
                    {
                        self.v5_only(loc, "CONNACK `properties`")?;
                    }
                    if c.not_applicable_if.is_some() && c.reason.is_none() {
                        return Err(self.err(loc, "`not_applicable_if` needs a `reason`"));
                    }
                    self.statements(&c.statements)?;
                }
                Step::Send(s) => {
                    self.known(loc, &s.client)?;
                    self.send(loc, s)?;
                }
                Step::Expect(e) => {
                    self.known(loc, &e.client)?;
                    self.statements(&e.statements)?;
                    let forms = [e.packet.is_some(), e.any_of.is_some(), e.all_of.is_some()];
                    if forms.iter().filter(|f| **f).count() != 1 {
                        return Err(self.err(
                            loc,
                            "`expect` needs exactly one of `packet`, `any_of`, `all_of`",
                        ));
                    }
                    if !e.not_applicable_if.is_empty() && e.reason.is_none() {
                        return Err(self.err(loc, "`not_applicable_if` needs a `reason`"));
                    }
                    if e.reason.is_some() && e.not_applicable_if.is_empty() {
                        return Err(self.err(
                            loc,
                            "`reason` explains a `not_applicable_if`, which this step lacks",
                        ));
                    }
                    if e.or_close && e.not_applicable_if_closed.is_some() {
                        return Err(self.err(
                            loc,
                            "`or_close` and `not_applicable_if_closed` contradict each other",
                        ));
                    }
                    let patterns = e
                        .packet
                        .iter()
                        .chain(e.any_of.iter().flatten())
                        .chain(e.all_of.iter().flatten())
                        .chain(e.ignore.iter())
                        .chain(e.not_applicable_if.iter());
                    for p in patterns {
                        self.pattern(loc, p)?;
                    }
                }
                Step::ExpectNothing(e) => {
                    self.known(loc, &e.client)?;
                    self.statements(&e.statements)?;
                    for p in &e.ignore {
                        self.pattern(loc, p)?;
                    }
                }
                Step::ExpectClose(e) => {
                    self.known(loc, &e.client)?;
                    self.statements(&e.statements)?;
                }
                Step::Disconnect(d) => {
                    self.known(loc, &d.client)?;
                    if d.reason.is_some() || d.properties.is_some() {
                        self.v5_only(loc, "a DISCONNECT reason code or properties")?;
                    }
                }
                Step::Drop(c) | Step::Silence(c) => self.known(loc, &c.client)?,
                Step::Sleep(_) => {}
                Step::Partition(p) => {
                    self.known(loc, &p.client)?;
                    if p.duration.0.is_zero() {
                        return Err(self.err(loc, "`partition.for` must be longer than 0"));
                    }
                }
                Step::Hold(c) | Step::Release(c) => self.known(loc, c)?,
                Step::RestartBroker(r) => {
                    if r.down.0.is_zero() {
                        return Err(self.err(loc, "`restart_broker.down` must be longer than 0"));
                    }
                }
                Step::Scram(sc) => self.scram(loc, sc)?,
                Step::Repeat(r) => {
                    if r.times == 0 {
                        return Err(self.err(loc, "`repeat.times` must be at least 1"));
                    }
                    self.steps(&r.steps)?;
                }
            }
        }
        Ok(())
    }

    fn scram(&mut self, loc: Location, s: &ScramStep) -> Result<(), LoadError> {
        self.v5_only(loc, "`scram` (enhanced authentication)")?;
        self.statements(&s.statements)?;
        let connect = s.send == Some(ScramSend::Connect);
        if s.send.is_some() == s.verify {
            return Err(self.err(loc, "`scram` needs exactly one of `send` and `verify`"));
        }
        if connect {
            self.clients.insert(s.client.clone());
        } else {
            self.known(loc, &s.client)?;
        }
        if s.connect.is_some() && !connect {
            return Err(self.err(loc, "`connect` goes with `send: connect`"));
        }
        if s.wrong_password && s.send != Some(ScramSend::Final) {
            return Err(self.err(loc, "`wrong_password` goes with `send: final`"));
        }
        if connect && (s.flags.is_some() || s.properties.is_some()) {
            return Err(self.err(
                loc,
                "`flags` and `properties` are the AUTH packet's; a CONNECT's go in `connect`",
            ));
        }
        if s.flags.is_some_and(|f| f > 15) {
            return Err(self.err(loc, "`flags` is four bits: 0 to 15"));
        }
        if let Some(c) = &s.connect {
            if let Some(w) = &c.will {
                self.payload(loc, w.payload_spec())?;
                self.qos(loc, w.qos)?;
            }
            let p = c.properties.as_deref();
            if p.is_some_and(|p| {
                p.authentication_method.is_some()
                    || p.authentication_data.is_some()
                    || p.authentication_data_hex.is_some()
            }) {
                return Err(self.err(
                    loc,
                    "the `scram` step sets the Authentication Method and Data itself",
                ));
            }
        }
        Ok(())
    }

    fn send(&self, loc: Location, s: &SendStep) -> Result<(), LoadError> {
        match (&s.packet, &s.hex) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(self.err(loc, "`send` needs exactly one of `packet` or `hex`"));
            }
            (None, Some(h)) => {
                if s.flags.is_some() || s.remaining_length.is_some() {
                    return Err(self.err(
                        loc,
                        "`flags` and `remaining_length` apply to a typed `packet`, not to `hex`",
                    ));
                }
                parse_hex(h).map_err(|e| self.err(loc, e))?;
            }
            (Some(p), None) => {
                if s.flags.is_some_and(|f| f > 15) {
                    return Err(self.err(loc, "`flags` is four bits: 0 to 15"));
                }
                match p {
                    PacketSpec::Publish(p) => {
                        self.payload(loc, p.payload_spec())?;
                        self.qos(loc, p.qos)?;
                    }
                    PacketSpec::Subscribe(sub) => {
                        for f in &sub.filters {
                            self.qos(loc, f.qos)?;
                            if f.no_local || f.retain_as_published || f.retain_handling != 0 {
                                self.v5_only(loc, "subscription options")?;
                            }
                        }
                    }
                    PacketSpec::Connect(c) => {
                        if let Some(w) = &c.will {
                            self.payload(loc, w.payload_spec())?;
                            self.qos(loc, w.qos)?;
                        }
                    }
                    _ => {}
                }
                if spec_uses_v5(p) {
                    self.v5_only(
                        loc,
                        "this packet's 5.0 fields (properties, reason codes, AUTH)",
                    )?;
                }
            }
        }
        Ok(())
    }

    fn pattern(&self, loc: Location, p: &PacketPattern) -> Result<(), LoadError> {
        if let PacketPattern::Publish(p) = p {
            let spec = p.payload_spec();
            self.payload(loc, spec)?;
        }
        if pattern_uses_v5(p) {
            self.v5_only(
                loc,
                "this pattern's 5.0 fields (properties, reason codes, AUTH)",
            )?;
        }
        Ok(())
    }

    fn payload(&self, loc: Location, p: PayloadSpec<'_>) -> Result<(), LoadError> {
        let given = [p.text.is_some(), p.hex.is_some(), p.size.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(self.err(
                loc,
                "give at most one of `payload`, `payload_hex`, `payload_size`",
            ));
        }
        if let Some(h) = p.hex {
            parse_hex(h).map_err(|e| self.err(loc, e))?;
        }
        Ok(())
    }

    fn qos(&self, loc: Location, qos: u8) -> Result<(), LoadError> {
        if qos > 2 {
            return Err(self.err(
                loc,
                format!(
                    "QoS {qos} cannot be encoded as a typed field; send QoS 3 with `flags` or `hex`"
                ),
            ));
        }
        Ok(())
    }
}

/// Whether a packet to send uses fields only MQTT 5.0 has.
fn spec_uses_v5(p: &PacketSpec) -> bool {
    match p {
        PacketSpec::Connect(c) => {
            c.properties.is_some() || c.will.as_ref().is_some_and(|w| w.properties.is_some())
        }
        PacketSpec::Connack(c) => c.properties.is_some(),
        PacketSpec::Publish(p) => p.properties.is_some(),
        PacketSpec::Puback(a)
        | PacketSpec::Pubrec(a)
        | PacketSpec::Pubrel(a)
        | PacketSpec::Pubcomp(a) => a.reason.is_some() || a.properties.is_some(),
        PacketSpec::Subscribe(s) => s.properties.is_some(),
        PacketSpec::Suback(s) => s.properties.is_some(),
        PacketSpec::Unsubscribe(u) => u.properties.is_some(),
        PacketSpec::Unsuback(u) => !u.codes.is_empty() || u.properties.is_some(),
        PacketSpec::Disconnect(d) => d.reason.is_some() || d.properties.is_some(),
        PacketSpec::Auth(_) => true,
        PacketSpec::Pingreq | PacketSpec::Pingresp => false,
    }
}

/// Whether a pattern checks fields only MQTT 5.0 has.
fn pattern_uses_v5(p: &PacketPattern) -> bool {
    match p {
        PacketPattern::Connack(c) => c.properties.is_some(),
        PacketPattern::Publish(p) => p.properties.is_some(),
        PacketPattern::Puback(a)
        | PacketPattern::Pubrec(a)
        | PacketPattern::Pubrel(a)
        | PacketPattern::Pubcomp(a) => a.reason.is_some() || a.properties.is_some(),
        PacketPattern::Suback(s) => s.properties.is_some(),
        PacketPattern::Unsuback(u) => u.codes.is_some() || u.properties.is_some(),
        PacketPattern::Disconnect(d) => d.reason.is_some() || d.properties.is_some(),
        PacketPattern::Auth(_) => true,
        PacketPattern::Pingresp | PacketPattern::Any => false,
    }
}

/// Parses hex digits, allowing spaces between bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex {text:?} has an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s: String = pair.iter().collect();
            u8::from_str_radix(&s, 16).map_err(|_| format!("{s:?} in {text:?} is not a hex byte"))
        })
        .collect()
}
