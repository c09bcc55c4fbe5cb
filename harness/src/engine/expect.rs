//! The steps that check what the broker sends: `expect`, `expect_nothing`, `expect_close`.

use super::attribution::{self, Miss};
use super::client::Incoming;
use super::matcher::{self, Mismatch};
use super::runner::{At, Run, StepResult, Stop};
use crate::scenario::model::{
    ExpectCloseStep, ExpectNothingStep, ExpectStep, PacketPattern, SaveField,
};
use mqttspec_codec::Packet;
use std::collections::BTreeMap;
use tokio::time::Instant;

impl Run<'_> {
    pub(super) async fn expect_nothing(
        &mut self,
        e: &ExpectNothingStep,
        at: &At<'_>,
    ) -> StepResult {
        let deadline = Instant::now() + e.duration.0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Ok(());
            }
            let vars = self.vars.clone();
            match self.next_incoming(&e.client, remaining, at).await? {
                None => return Ok(()),
                Some(Incoming::Packet(p))
                    if e.ignore
                        .iter()
                        .any(|i| matcher::matches(i, &p, &vars).is_ok()) =>
                {
                    self.trace
                        .event(&e.client, "passed over: the step allows this packet");
                }
                Some(Incoming::Packet(p)) => {
                    return Err(self.fail(
                        at,
                        format!("expected nothing for {}, but a packet arrived", e.duration),
                        Some("no packet".into()),
                        Some(super::describe::packet(&p)),
                    ));
                }
                Some(Incoming::Malformed(err)) => return Err(self.malformed(at, err)),
                Some(Incoming::Closed(why)) => {
                    return Err(self.fail(
                        at,
                        format!(
                            "expected nothing for {}, but the connection ended",
                            e.duration
                        ),
                        Some("an open, quiet connection".into()),
                        Some(why),
                    ));
                }
            }
        }
    }

    /// A malformed packet from the broker breaks the rule of that malformation, whatever the
    /// step was checking: the failure is charged to the malformation's statements (the
    /// step's own, if it names some, too), and the scenario's are not judged unless among
    /// them.
    /// A malformed packet from the broker breaks the rule of that malformation, whatever the
    /// step was checking: the failure is charged to the malformation's statements (the
    /// step's own, if it names some, too), and the scenario's are not judged unless among
    /// them.
    pub(super) fn malformed(&self, at: &At<'_>, err: mqttspec_codec::DecodeError) -> Stop {
        // The codec names the rules of a packet the broker received; read by the harness,
        // a packet over the client's Maximum Packet Size is the broker's breach of it.
        let (message, broken) = match err.kind {
            mqttspec_codec::DecodeErrorKind::PacketTooLarge { size, max }
                if err.version.is_v5() =>
            {
                (
                    format!(
                        "the broker sent a packet of {size} bytes, over the Maximum Packet Size of \
                     {max} the client announced (breaks 5.0/MQTT-3.1.2-24)"
                    ),
                    vec!["5.0/MQTT-3.1.2-24".to_owned()],
                )
            }
            _ => (
                format!("the broker sent a malformed packet: {err}"),
                err.statements(),
            ),
        };
        let mut stop = self.fail(at, message, None, None);
        if let Stop::Fail(f) = &mut stop
            && !broken.is_empty()
        {
            let mut charged: Vec<String> = at.statements.iter().map(|s| s.value.clone()).collect();
            for id in broken {
                if !charged.contains(&id) {
                    charged.push(id);
                }
            }
            let cited = &self.scenario.scenario.statements;
            f.precondition = !charged.iter().any(|c| cited.iter().any(|s| s.value == *c));
            f.statements = charged;
        }
        stop
    }

    pub(super) async fn expect(&mut self, e: &ExpectStep, at: &At<'_>) -> StepResult {
        let within = e.within.map_or(self.opts.expect_timeout, |d| d.0);
        let deadline = Instant::now() + within;
        let (patterns, mode): (Vec<&PacketPattern>, Mode) = if let Some(p) = &e.packet {
            (vec![p], Mode::One)
        } else if let Some(list) = &e.any_of {
            (list.iter().collect(), Mode::AnyOf)
        } else if let Some(list) = &e.all_of {
            (list.iter().collect(), Mode::AllOf)
        } else {
            return Err(self.bad_script(at, "`expect` has no pattern".into()));
        };
        let need = if mode == Mode::AllOf {
            patterns.len()
        } else {
            1
        };
        let mut unmatched: Vec<usize> = (0..patterns.len()).collect();
        // What has arrived so far, for an `all_of` that ends short.
        let mut arrived: Vec<String> = Vec::new();
        let mut matched = 0;
        // Packets this step put off, to give back to the client's next step.
        let mut put_off: Vec<(Incoming, serde_saphyr::Location)> = Vec::new();
        while matched < need {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let vars = self.vars.clone();
            let still: Vec<&PacketPattern> = unmatched.iter().map(|i| patterns[*i]).collect();
            let ack = attribution::common_ack(&still);
            let waits_for_ack = ack.is_some_and(|a| !matches!(a, attribution::Ack::Connack { .. }));
            // While waiting for an acknowledgement, earlier put-off messages stay put off.
            let item = if waits_for_ack {
                self.next_live(&e.client, remaining, at).await?
            } else {
                self.next_incoming(&e.client, remaining, at).await?
            };
            let version = self
                .clients
                .get(&e.client)
                .map_or(self.version, |c| c.version);
            let intrinsic = |miss| ack.and_then(|a| attribution::intrinsic(version, a, miss));
            let packet = match item {
                None if e.not_applicable_if_nothing.is_some() => {
                    return Err(Stop::NotApplicable(format!(
                        "{} (nothing arrived within {within:?})",
                        e.not_applicable_if_nothing.clone().unwrap_or_default()
                    )));
                }
                None => {
                    return Err(self.fail_ack(
                        at,
                        intrinsic(Miss::Nothing),
                        format!("nothing arrived within {within:?}"),
                        Some(expected_text(mode, &patterns, &unmatched, &arrived)),
                        Some(arrived_text("nothing", &arrived)),
                    ));
                }
                Some(Incoming::Closed(_)) if e.or_close => {
                    self.trace
                        .event(&e.client, "closed by the broker, which this step allows");
                    self.clients.remove(&e.client);
                    self.closed_by_broker.insert(e.client.clone());
                    return Ok(());
                }
                Some(Incoming::Closed(why)) if e.not_applicable_if_closed.is_some() => {
                    return Err(Stop::NotApplicable(format!(
                        "{} (the broker closed the connection: {why})",
                        e.not_applicable_if_closed.clone().unwrap_or_default()
                    )));
                }
                Some(Incoming::Closed(why)) => {
                    return Err(self.fail_ack(
                        at,
                        intrinsic(Miss::Closed),
                        "the connection ended while a packet was expected",
                        Some(expected_text(mode, &patterns, &unmatched, &arrived)),
                        Some(arrived_text(&why, &arrived)),
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
            let Some(pos) = hit else {
                if e.ignore
                    .iter()
                    .any(|p| matcher::matches(p, &packet, &vars).is_ok())
                {
                    self.trace
                        .event(&e.client, "passed over: the step allows this packet");
                    continue;
                }
                // A PUBLISH may come before an acknowledgement the client waits for (the
                // server may send matching PUBLISH packets before the SUBACK, 3.8.4; it
                // interleaves its own flows with replies to the client's, 4.6): it is put
                // off for the client's next step instead of failing this one.
                if waits_for_ack && matches!(packet, Packet::Publish(_)) {
                    self.trace.event(
                        &e.client,
                        "put off: a PUBLISH before the acknowledgement this step waits for",
                    );
                    put_off.push((Incoming::Packet(packet), at.loc));
                    continue;
                }
                if e.not_applicable_if
                    .iter()
                    .any(|p| matcher::matches(p, &packet, &vars).is_ok())
                {
                    return Err(Stop::NotApplicable(format!(
                        "{} (broker answered {})",
                        e.reason.clone().unwrap_or_default(),
                        super::describe::packet(&packet)
                    )));
                }
                // The miss is judged against the pattern of the packet's own type, if any.
                let miss = still
                    .iter()
                    .map(|p| attribution::classify(p, &packet))
                    .find(|m| *m != Miss::OtherPacket)
                    .unwrap_or(Miss::OtherPacket);
                return Err(self.fail_ack(
                    at,
                    intrinsic(miss),
                    reasons.join("; "),
                    Some(expected_text(mode, &patterns, &unmatched, &arrived)),
                    Some(arrived_text(&super::describe::packet(&packet), &arrived)),
                ));
            };
            matched += 1;
            arrived.push(super::describe::packet(&packet));
            if !put_off.is_empty() {
                self.deferred
                    .entry(e.client.clone())
                    .or_default()
                    .extend(std::mem::take(&mut put_off));
            }
            if mode == Mode::AllOf {
                unmatched.remove(pos);
            } else {
                unmatched.clear();
            }
            self.save(&e.save, &packet, at)?;
        }
        Ok(())
    }

    /// Keeps the fields a step's `save` names, from the packet it matched.
    pub(super) fn save(
        &mut self,
        save: &BTreeMap<String, SaveField>,
        packet: &Packet,
        at: &At<'_>,
    ) -> StepResult {
        for (name, field) in save {
            match super::save::value(*field, packet) {
                Some(v) => self.vars.set(name, v),
                None => {
                    return Err(self.bad_script(
                        at,
                        format!(
                            "cannot save {}: {} has none",
                            super::save::name(*field),
                            packet.packet_type().name()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    pub(super) async fn expect_close(&mut self, e: &ExpectCloseStep, at: &At<'_>) -> StepResult {
        // An earlier `or_close` step already saw the broker close this connection: what
        // this step asks for has happened (its timing aside, which it then cannot judge).
        if !self.clients.contains_key(&e.client) && self.closed_by_broker.remove(&e.client) {
            if e.not_before.is_some() {
                return Err(self.bad_script(
                    at,
                    "`not_before` cannot be judged: an earlier step already saw the close".into(),
                ));
            }
            self.trace.event(
                &e.client,
                "already closed by the broker (seen by the step before)",
            );
            return Ok(());
        }
        let within = e.within.map_or(self.opts.expect_timeout, |d| d.0);
        let started = Instant::now();
        let deadline = started + within;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let vars = self.vars.clone();
            let item = self.next_incoming(&e.client, remaining, at).await?;
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    One,
    AnyOf,
    AllOf,
}

/// What the step still waits for; for `all_of`, only the patterns not yet matched.
fn expected_text(
    mode: Mode,
    patterns: &[&PacketPattern],
    unmatched: &[usize],
    arrived: &[String],
) -> String {
    let show = |idx: &mut dyn Iterator<Item = &PacketPattern>, sep: &str| {
        idx.map(matcher::show).collect::<Vec<_>>().join(sep)
    };
    match mode {
        Mode::One => matcher::show(patterns[0]),
        Mode::AnyOf => format!("one of {}", show(&mut patterns.iter().copied(), " | ")),
        Mode::AllOf if arrived.is_empty() => {
            format!("all of {}", show(&mut patterns.iter().copied(), ", "))
        }
        Mode::AllOf => format!(
            "all of {} patterns; still missing: {}",
            patterns.len(),
            show(&mut unmatched.iter().map(|i| patterns[*i]), ", ")
        ),
    }
}

/// What came instead, after what had already matched (for `all_of`).
fn arrived_text(last: &str, arrived: &[String]) -> String {
    if arrived.is_empty() {
        last.to_owned()
    } else {
        format!(
            "{last} (after {} that matched: {})",
            arrived.len(),
            arrived.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::{AckPattern, SubackPattern};

    #[test]
    fn an_all_of_that_ends_short_says_what_came_and_what_is_missing() {
        let suback = PacketPattern::Suback(SubackPattern::default());
        let puback = PacketPattern::Puback(AckPattern::default());
        let patterns = [&suback, &puback];
        let arrived = vec!["SUBACK id=1 codes=[1]".to_owned()];
        let expected = expected_text(Mode::AllOf, &patterns, &[1], &arrived);
        assert!(
            expected.contains("still missing: {\"puback\":{}}"),
            "{expected}"
        );
        assert!(!expected.contains("suback"), "{expected}");
        let actual = arrived_text("nothing", &arrived);
        assert_eq!(
            actual,
            "nothing (after 1 that matched: SUBACK id=1 codes=[1])"
        );
        // Before anything matched, the whole list.
        let expected = expected_text(Mode::AllOf, &patterns, &[0, 1], &[]);
        assert!(expected.starts_with("all of {\"suback\""), "{expected}");
    }
}
