//! The steps that talk to the broker: `connect` and `send`.

use super::client::Incoming;
use super::matcher;
use super::packets;
use super::runner::{At, Run, StepResult, Stop};
use crate::scenario::model::{ConnackPattern, ConnectStep, PacketPattern, PacketSpec, SendStep};
use mqttspec_codec::Packet;
use mqttspec_codec::raw::{RawPacket, RemainingLength};

impl Run<'_> {
    pub(super) async fn connect(&mut self, c: &ConnectStep, at: &At<'_>) -> StepResult {
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

    pub(super) fn send(&mut self, s: &SendStep, at: &At<'_>) -> StepResult {
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
}
