//! The steps that talk to the broker: `connect` and `send`.

use super::attribution::{self, Ack, Miss};
use super::client::Incoming;
use super::matcher;
use super::packets;
use super::runner::{At, Run, StepResult, Stop};
use crate::scenario::model::{ConnackPattern, ConnectStep, PacketPattern, SendStep};
use mqttspec_codec::Packet;
use mqttspec_codec::raw::{RawPacket, RemainingLength};

/// How often a CONNECT refused as "server unavailable" is tried before the scenario is
/// given up as not applicable, and the pause before the second try (doubled each time).
const CONNECT_TRIES: u32 = 3;
const UNAVAILABLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// How a broker turned away a CONNECT that may be asked again.
enum Refusal {
    /// CONNACK with one of the `unavailable` codes.
    Unavailable(u8),
    /// The connection closed before any CONNACK.
    Closed,
}

/// The CONNACK codes that say the broker cannot serve the connection now (3.1.1 0x03,
/// 5.0 0x88 Server unavailable and 0x89 Server busy): 3.2.2.3 lets a server refuse a
/// connection for that reason, so it is neither a failure nor a pass.
fn unavailable(p: &Packet) -> Option<u8> {
    match p {
        Packet::ConnAck(ack) if matches!(ack.code.0, 0x03 | 0x88 | 0x89) => Some(ack.code.0),
        _ => None,
    }
}

impl Run<'_> {
    /// Sends CONNECT and checks the CONNACK. A broker that answers "server unavailable"
    /// (rmqtt does while it still tears down the client id's previous connection) is asked
    /// again after a pause, on a new connection; if it keeps refusing, the scenario is not
    /// applicable. A close without CONNACK, where the step expects acceptance, is asked
    /// again too, and fails if it persists.
    pub(super) async fn connect(&mut self, c: &ConnectStep, at: &At<'_>) -> StepResult {
        let mut pause = UNAVAILABLE_PAUSE;
        for attempt in 1..=CONNECT_TRIES {
            match self.connect_once(c, at, attempt == CONNECT_TRIES).await? {
                None => return Ok(()),
                Some(Refusal::Unavailable(code)) if attempt == CONNECT_TRIES => {
                    return Err(Stop::NotApplicable(format!(
                        "the broker refused the connection {CONNECT_TRIES} times as unavailable \
                         (CONNACK 0x{code:02x}), which 3.2.2.3 allows; the scenario could not run"
                    )));
                }
                Some(_) => {
                    self.clients.remove(&c.client);
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
        Ok(())
    }

    /// One CONNECT: `Some` when the broker turned away a CONNECT the step expects it to
    /// accept in a way that may pass (unavailable; a close without CONNACK, unless `last`).
    async fn connect_once(
        &mut self,
        c: &ConnectStep,
        at: &At<'_>,
        last: bool,
    ) -> Result<Option<Refusal>, Stop> {
        let version = match self.clients.get(&c.client) {
            Some(open) => open.version,
            None => c.version.map_or(self.version, |v| v.protocol()),
        };
        self.open(&c.client, version).await?;
        let connect = packets::connect(
            &c.fields(),
            &c.client,
            version,
            &self.vars,
            &self.opts.credentials,
        )
        .map_err(|e| self.bad_script(at, e))?;
        if let Some(w) = connect.will.as_ref().filter(|w| w.retain) {
            self.retained_topics.insert(w.topic.to_string());
        }
        if !connect.clean_start {
            self.persistent_ids
                .insert((connect.client_id.to_string(), version));
        }
        let clean_session = connect.clean_start;
        let packet = Packet::Connect(connect);
        let bytes = packet
            .to_bytes(version)
            .map_err(|e| Stop::Error(e.to_string()))?;
        let within = c.within.map_or(self.opts.expect_timeout, |d| d.0);
        {
            let client = self.client(&c.client, at)?;
            client.set_auto_ack(c.auto_ack.unwrap_or(true));
            client.send_packet(&packet, bytes);
        }
        let default = ConnackPattern {
            code: Some(0),
            ..Default::default()
        };
        let want = c.connack.as_ref().unwrap_or(&default);
        let pattern = PacketPattern::Connack(want.clone());
        let ack = Ack::Connack {
            expects_refusal: want.code.is_some_and(|code| code != 0),
            clean_session,
        };
        let intrinsic = |miss| attribution::intrinsic(version, ack, miss);
        let refused_na = |what: String| {
            c.not_applicable_if_refused
                .as_ref()
                .map(|r| Stop::NotApplicable(format!("{r} (the broker {what})")))
        };
        let item = self.next_incoming(&c.client, within, at).await?;
        match item {
            None => Err(self.fail_ack(
                at,
                intrinsic(Miss::Nothing),
                format!("no CONNACK within {within:?}"),
                Some(matcher::show(&pattern)),
                Some("nothing".into()),
            )),
            Some(Incoming::Closed(why)) => {
                if let Some(na) = refused_na("closed the connection without a CONNACK".into()) {
                    return Err(na);
                }
                // A broker still closing the client id's previous connection may turn the
                // next one away (RabbitMQ does): asked again before it is failed.
                if !last && want.code == Some(0) {
                    return Ok(Some(Refusal::Closed));
                }
                Err(self.fail_ack(
                    at,
                    intrinsic(Miss::Closed),
                    "the connection ended before a CONNACK",
                    Some(matcher::show(&pattern)),
                    Some(why),
                ))
            }
            Some(Incoming::Malformed(e)) => Err(self.malformed(at, e)),
            Some(Incoming::Packet(p)) => {
                if let Some(code) = unavailable(&p)
                    && want.code != Some(code)
                {
                    return Ok(Some(Refusal::Unavailable(code)));
                }
                if let Some(na) = &c.not_applicable_if
                    && matcher::connack(na, &p).is_ok()
                {
                    return Err(Stop::NotApplicable(format!(
                        "{} (broker answered {})",
                        c.reason.clone().unwrap_or_default(),
                        super::describe::packet(&p)
                    )));
                }
                if let Packet::ConnAck(ack) = &p
                    && ack.code.0 != 0
                    && want.code != Some(ack.code.0)
                    && let Some(na) =
                        refused_na(format!("answered {}", super::describe::packet(&p)))
                {
                    return Err(na);
                }
                let vars = self.vars.clone();
                matcher::connack_with(want, &p, &vars).map_err(|m| {
                    self.fail_ack(
                        at,
                        intrinsic(attribution::classify(&pattern, &p)),
                        m,
                        Some(matcher::show(&pattern)),
                        Some(super::describe::packet(&p)),
                    )
                })?;
                self.save(&c.save, &p, at)?;
                // The first accepted 5.0 CONNACK tells which optional features the broker
                // has; a scenario that needs one it declined is not applicable.
                if !self.connack_checked
                    && let Packet::ConnAck(ack) = &p
                    && ack.code.0 == 0
                {
                    self.connack_checked = true;
                    super::capabilities::check_connack(
                        &self.scenario.scenario.requires,
                        &ack.properties,
                    )
                    .map_err(Stop::NotApplicable)?;
                }
                Ok(None)
            }
        }
    }

    pub(super) fn send(&mut self, s: &SendStep, at: &At<'_>) -> StepResult {
        let version = self.client(&s.client, at)?.version;
        if let Some(hex) = &s.hex {
            let bytes =
                crate::scenario::load::parse_hex(hex).map_err(|e| self.bad_script(at, e))?;
            self.note_raw_subscriptions(&s.client, &bytes);
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
            Packet::Connect(c) => {
                if let Some(w) = c.will.as_ref().filter(|w| w.retain) {
                    self.retained_topics.insert(w.topic.to_string());
                }
                if !c.clean_start {
                    self.persistent_ids
                        .insert((c.client_id.to_string(), version));
                }
            }
            Packet::Subscribe(sub) => {
                for f in &sub.subscriptions {
                    self.subscribed.insert(f.filter.to_string());
                }
            }
            _ => {}
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
        client.note_sent(&packet);
        let mut decoded = super::describe::packet(&packet);
        if let Some(f) = s.flags {
            decoded.push_str(&format!(" [flags forced to {f:#06b}]"));
        }
        if let Some(len) = s.remaining_length {
            decoded.push_str(&format!(" [remaining length forced to {len}]"));
        }
        client.send_secret(bytes, decoded, super::client::secret_tail(&packet));
        Ok(())
    }

    /// The filters of the SUBSCRIBE packets a client sent as raw bytes count as the
    /// scenario's subscriptions (for telling its own messages from foreign ones): the bytes
    /// the client sent so far are decoded leniently, up to the first that do not decode.
    fn note_raw_subscriptions(&mut self, client: &str, bytes: &[u8]) {
        let sent = self.raw_sent.entry(client.to_owned()).or_default();
        sent.extend_from_slice(bytes);
        let options = mqttspec_codec::DecodeOptions {
            strict: false,
            max_packet_size: u32::MAX,
        };
        let mut buf = bytes::BytesMut::from(&sent[..]);
        let mut decoder =
            mqttspec_codec::Decoder::with_options(mqttspec_codec::ProtocolVersion::V311, options);
        while let Ok(Some(packet)) = decoder.decode(&mut buf) {
            match packet {
                Packet::Connect(c) => {
                    decoder = mqttspec_codec::Decoder::with_options(c.version, options);
                }
                Packet::Subscribe(sub) => {
                    for f in sub.subscriptions {
                        self.subscribed.insert(f.filter.to_string());
                    }
                }
                _ => {}
            }
        }
    }
}
