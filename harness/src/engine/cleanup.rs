//! Leaving the broker as the scenario found it, and finding it clean: persistent sessions
//! are discarded before the scenario (left there by an interrupted run, or a run with the
//! same seed) and after it, and retained messages it may have set are cleared.

use super::client::{Client, Incoming};
use super::packets;
use super::runner::Run;
use super::trace::Trace;
use crate::scenario::model::{ConnectFields, PacketSpec, Step};
use mqttspec_codec::{Packet, ProtocolVersion, Publish, QoS};
use serde_saphyr::Spanned;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a cleanup connection waits for the broker to close after its DISCONNECT.
const SETTLE: Duration = Duration::from_secs(1);

impl Run<'_> {
    /// Discards the sessions of every client id the scenario will connect with
    /// CleanSession 0, so it starts from "no stored session" whatever ran before.
    pub(super) async fn discard_sessions_before(&mut self) {
        let mut ids = BTreeSet::new();
        self.persistent_ids_of(&self.scenario.scenario.steps, &mut ids);
        if ids.is_empty() {
            return;
        }
        // Their own trace: the scenario's begins with its first step.
        let trace = Trace::new();
        for (id, version) in ids {
            if let Err(e) = self.discard_session(&id, version, &trace).await {
                self.trace.event(
                    "cleanup",
                    format!("could not discard a stored session: {e}"),
                );
            }
        }
    }

    /// The client ids of `connect` steps (and sent CONNECT packets) with CleanSession 0
    /// whose ids are known before the run (not built from saved values).
    fn persistent_ids_of(
        &self,
        steps: &[Spanned<Step>],
        ids: &mut BTreeSet<(String, ProtocolVersion)>,
    ) {
        // The version each client was opened with, for hand-sent CONNECTs.
        let mut opened: std::collections::BTreeMap<&str, ProtocolVersion> = Default::default();
        for step in steps {
            let fields = match &step.value {
                Step::Open(o) => {
                    opened.insert(&o.client, o.version.map_or(self.version, |v| v.protocol()));
                    None
                }
                Step::Connect(c) => Some((
                    c.fields(),
                    c.client.as_str(),
                    c.version.map_or(self.version, |v| v.protocol()),
                )),
                Step::Send(s) => match &s.packet {
                    Some(PacketSpec::Connect(f)) => Some((
                        f.clone(),
                        s.client.as_str(),
                        opened
                            .get(s.client.as_str())
                            .copied()
                            .unwrap_or(self.version),
                    )),
                    _ => None,
                },
                Step::Repeat(r) => {
                    self.persistent_ids_of(&r.steps, ids);
                    None
                }
                _ => None,
            };
            if let Some((fields, name, version)) = fields
                && fields.clean_session == Some(false)
                && let Ok(c) = packets::connect(&fields, name, version, &self.vars, &None)
            {
                ids.insert((c.client_id.to_string(), version));
            }
        }
    }

    /// Closes the clients cleanly (DISCONNECT, so no will fires after the scenario),
    /// discards the persistent sessions the scenario made and clears every retained
    /// message it may have left.
    pub(super) async fn cleanup(&mut self) {
        for (_, mut client) in std::mem::take(&mut self.clients) {
            // The network heals first, so the DISCONNECT reaches the broker.
            client.gate().release();
            if client.is_silenced() {
                client.close().await;
                continue;
            }
            disconnect(&mut client).await;
        }
        let trace = self.trace.clone();
        let ids = std::mem::take(&mut self.persistent_ids);
        for (id, version) in ids.into_iter().filter(|_| self.opts.discard_sessions) {
            if let Err(e) = self.discard_session(&id, version, &trace).await {
                trace.event("cleanup", format!("could not discard the session: {e}"));
            }
        }
        if !self.retained_topics.is_empty() {
            self.clear_retained(&trace).await;
        }
    }

    /// Connects a client with CleanSession 1 under `client_id`, then disconnects: the
    /// broker discards any session stored for that id (3.1.2.4).
    async fn discard_session(
        &self,
        client_id: &str,
        version: ProtocolVersion,
        trace: &Trace,
    ) -> Result<(), String> {
        // Clean Start 1 with no Session Expiry Interval: in 5.0 too the session then ends
        // with the connection (3.1.2.11.2).
        let fields = ConnectFields {
            client_id: Some(client_id.to_owned()),
            clean_session: Some(true),
            ..Default::default()
        };
        let mut client = self
            .cleanup_client("cleanup", &fields, version, trace)
            .await?;
        disconnect(&mut client).await;
        Ok(())
    }

    async fn clear_retained(&mut self, trace: &Trace) {
        let mut client = match self
            .cleanup_client("cleanup", &ConnectFields::default(), self.version, trace)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                trace.event("cleanup", format!("could not clear retained messages: {e}"));
                return;
            }
        };
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
        disconnect(&mut client).await;
    }

    /// A connected client for cleanup work, with the run's credentials.
    async fn cleanup_client(
        &self,
        name: &str,
        fields: &ConnectFields,
        version: ProtocolVersion,
        trace: &Trace,
    ) -> Result<Client, String> {
        let mut client = Client::connect(
            name,
            &self.opts.target,
            version,
            trace.clone(),
            self.opts.connect_timeout,
        )
        .await?;
        let connect = packets::connect(fields, name, version, &self.vars, &self.opts.credentials)?;
        let packet = Packet::Connect(connect);
        let bytes = packet.to_bytes(version).map_err(|e| e.to_string())?;
        client.send_packet(&packet, bytes);
        match client.next(self.opts.expect_timeout).await {
            Some(Incoming::Packet(Packet::ConnAck(c))) if c.code.0 == 0 => Ok(client),
            other => {
                client.close().await;
                Err(format!(
                    "the broker refused the cleanup connection ({other:?})"
                ))
            }
        }
    }
}

async fn disconnect(client: &mut Client) {
    let packet = Packet::Disconnect(Default::default());
    if let Ok(bytes) = packet.to_bytes(client.version) {
        client.send_packet(&packet, bytes);
    }
    client.close_after_disconnect(SETTLE).await;
}
