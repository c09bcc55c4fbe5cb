//! The `scram` step: a SCRAM-SHA-256 client (RFC 5802 with RFC 7677's hash) carried in MQTT
//! 5.0 Authentication Data (section 4.12), for the enhanced-authentication scenarios. A
//! scenario cannot compute a client proof; this step does, as the account the run knows
//! for the broker. The step only sends (or checks the broker's signature): what the broker
//! answers is judged by ordinary `expect` steps, so each AUTH and CONNACK is checked in the
//! open.

use super::client::Incoming;
use super::packets;
use super::runner::{At, Credentials, Run, StepResult, Stop};
use crate::scenario::model::{ScramSend, ScramStep};
use bytes::Bytes;
use mqttspec_broker::auth::scram::client::ScramClient;
use mqttspec_codec::raw::RawPacket;
use mqttspec_codec::{Auth, Packet, Properties, Property, PropertyId, ProtocolVersion, ReasonCode};
use std::collections::BTreeMap;

/// The Authentication Method the step speaks.
pub const METHOD: &str = "SCRAM-SHA-256";

/// Per client: the exchange under way and the last Authentication Data the broker sent.
#[derive(Default)]
pub(super) struct ScramClients {
    exchanges: BTreeMap<String, Exchange>,
    /// The last Authentication Data each client received (AUTH or CONNACK).
    received: BTreeMap<String, Bytes>,
    /// Exchanges started, for fresh nonces.
    started: u32,
}

struct Exchange {
    nonce: String,
    client: ScramClient,
}

impl ScramClients {
    /// Notes the Authentication Data of a packet a client received.
    pub(super) fn observe(&mut self, client: &str, item: &Incoming) {
        let props = match item {
            Incoming::Packet(Packet::Auth(a)) => a.properties.as_ref(),
            Incoming::Packet(Packet::ConnAck(c)) => Some(&c.properties),
            _ => None,
        };
        if let Some(Property::AuthenticationData(d)) =
            props.and_then(|p| p.get(PropertyId::AuthenticationData))
        {
            self.received.insert(client.to_owned(), d.clone());
        }
    }
}

/// The account for the exchange: the one stated for the broker, else the run's.
fn account(run: &Run<'_>) -> Option<(String, String)> {
    let from = |c: &Credentials| c.password.clone().map(|p| (c.username.clone(), p));
    run.opts
        .stated
        .as_ref()
        .and_then(|s| s.auth_user.as_ref())
        .and_then(from)
        .or_else(|| run.opts.credentials.as_ref().and_then(from))
}

/// Why a scenario with a `scram` step cannot run, if it cannot: checked before its first
/// step, so such a scenario is not applicable rather than half run.
pub(super) fn unavailable(run: &Run<'_>) -> Option<String> {
    account(run).is_none().then(|| {
        "needs an account the broker knows for SCRAM-SHA-256: pass --username, with the \
         password in MQTTSPEC_PASSWORD"
            .to_owned()
    })
}

impl Run<'_> {
    pub(super) async fn scram(&mut self, s: &ScramStep, at: &At<'_>) -> StepResult {
        let Some((user, password)) = account(self) else {
            return Err(Stop::NotApplicable(unavailable(self).unwrap_or_default()));
        };
        if s.verify {
            return self.scram_verify(s, at);
        }
        let Some(send) = s.send else {
            return Err(self.bad_script(at, "`scram` needs `send` or `verify`".into()));
        };
        let extra =
            packets::props(&s.properties, &self.vars).map_err(|e| self.bad_script(at, e))?;
        let (reason, data) = match send {
            ScramSend::Connect | ScramSend::Reauthenticate => {
                self.scram.started += 1;
                let prefix = self.vars.get("client").unwrap_or("ms").to_owned();
                let nonce: String = format!("{prefix}{}n{}", s.client, self.scram.started)
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect();
                let client = ScramClient::new(&user, password.as_bytes(), &nonce);
                let first = client.first();
                self.scram
                    .exchanges
                    .insert(s.client.clone(), Exchange { nonce, client });
                if send == ScramSend::Connect {
                    return self.scram_connect(s, first, at).await;
                }
                (ReasonCode::RE_AUTHENTICATE, first)
            }
            ScramSend::Final => {
                let Some(server_first) = self.scram.received.get(&s.client).cloned() else {
                    return Err(self.fail(
                        at,
                        "the broker sent no Authentication Data to answer",
                        Some("an AUTH 0x18 with the server-first message".into()),
                        Some("none received".into()),
                    ));
                };
                let Some(exchange) = self.scram.exchanges.get_mut(&s.client) else {
                    return Err(self.bad_script(
                        at,
                        "`scram: {send: final}` needs an earlier `connect` or `reauthenticate`"
                            .into(),
                    ));
                };
                let last = if s.wrong_password {
                    let wrong = format!("{password}-wrong");
                    ScramClient::new(&user, wrong.as_bytes(), &exchange.nonce).last(&server_first)
                } else {
                    exchange.client.last(&server_first)
                };
                let Some(last) = last else {
                    return Err(self.fail(
                        at,
                        "the broker's Authentication Data is not a SCRAM server-first message \
                         continuing this exchange",
                        Some("r=<our nonce>…,s=<salt>,i=<iterations>".into()),
                        Some(String::from_utf8_lossy(&server_first).into_owned()),
                    ));
                };
                (ReasonCode::CONTINUE_AUTHENTICATION, last)
            }
        };
        let mut props = Properties::new()
            .with(Property::AuthenticationMethod(METHOD.into()))
            .with(Property::AuthenticationData(Bytes::from(data)));
        props.0.extend(extra.0);
        let packet = Packet::Auth(Auth {
            reason_code: Some(reason),
            properties: Some(props),
        });
        self.scram_send(&s.client, &packet, s.flags, at)
    }

    async fn scram_connect(&mut self, s: &ScramStep, first: Vec<u8>, at: &At<'_>) -> StepResult {
        let version = ProtocolVersion::V5;
        self.open(&s.client, version).await?;
        let fields = s.connect.clone().unwrap_or_default();
        // The run's plain credentials are not added: the exchange is the authentication.
        let mut connect = packets::connect(&fields, &s.client, version, &self.vars, &None)
            .map_err(|e| self.bad_script(at, e))?;
        connect
            .properties
            .push(Property::AuthenticationMethod(METHOD.into()))
            .push(Property::AuthenticationData(Bytes::from(first)));
        if let Some(w) = connect.will.as_ref().filter(|w| w.retain) {
            self.retained_topics.insert(w.topic.to_string());
        }
        if !connect.clean_start {
            self.persistent_ids
                .insert((connect.client_id.to_string(), version));
        }
        self.scram_send(&s.client, &Packet::Connect(connect), s.flags, at)
    }

    fn scram_send(
        &mut self,
        name: &str,
        packet: &Packet,
        flags: Option<u8>,
        at: &At<'_>,
    ) -> StepResult {
        let client = self.client(name, at)?;
        let version = client.version;
        let mut decoded = super::describe::packet(packet);
        let bytes = match flags {
            Some(f) => {
                decoded.push_str(&format!(" [flags forced to {f:#06b}]"));
                RawPacket::from_packet(packet, version)
                    .map_err(|e| Stop::Error(e.to_string()))?
                    .flags(f)
                    .to_bytes()
            }
            None => packet
                .to_bytes(version)
                .map_err(|e| Stop::Error(e.to_string()))?,
        };
        client.note_sent(packet);
        client.send_secret(bytes, decoded, 0);
        Ok(())
    }

    fn scram_verify(&mut self, s: &ScramStep, at: &At<'_>) -> StepResult {
        let proved = match (
            self.scram.exchanges.get(&s.client),
            self.scram.received.get(&s.client),
        ) {
            (Some(e), Some(data)) => e.client.verify(data),
            _ => false,
        };
        if proved {
            return Ok(());
        }
        let got = self
            .scram
            .received
            .get(&s.client)
            .map_or("none".to_owned(), |d| {
                String::from_utf8_lossy(d).into_owned()
            });
        Err(self.fail(
            at,
            "the broker's last Authentication Data is not the server signature of this exchange",
            Some("v=<server signature>".into()),
            Some(got),
        ))
    }
}
