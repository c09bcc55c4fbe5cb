//! The steps that check what the broker sends: `expect`, `expect_nothing`, `expect_close`.

use super::client::Incoming;
use super::matcher::{self, Mismatch};
use super::runner::{At, Run, StepResult, Stop};
use crate::scenario::model::{
    ExpectCloseStep, ExpectNothingStep, ExpectStep, PacketPattern, SaveField,
};
use tokio::time::Instant;

impl Run<'_> {
    pub(super) async fn expect_nothing(
        &mut self,
        e: &ExpectNothingStep,
        at: &At<'_>,
    ) -> StepResult {
        let client = self.client(&e.client, at)?;
        match client.next(e.duration.0).await {
            None => Ok(()),
            Some(Incoming::Packet(p)) => Err(self.fail(
                at,
                format!("expected nothing for {}, but a packet arrived", e.duration),
                Some("no packet".into()),
                Some(super::describe::packet(&p)),
            )),
            Some(Incoming::Malformed(err)) => Err(self.malformed(at, err)),
            Some(Incoming::Closed(why)) => Err(self.fail(
                at,
                format!(
                    "expected nothing for {}, but the connection ended",
                    e.duration
                ),
                Some("an open, quiet connection".into()),
                Some(why),
            )),
        }
    }

    pub(super) fn malformed(&self, at: &At<'_>, err: mqttspec_codec::DecodeError) -> Stop {
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

    pub(super) async fn expect(&mut self, e: &ExpectStep, at: &At<'_>) -> StepResult {
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

    pub(super) async fn expect_close(&mut self, e: &ExpectCloseStep, at: &At<'_>) -> StepResult {
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
}
