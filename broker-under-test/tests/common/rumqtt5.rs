//! `rumqttc`'s MQTT 5.0 client as an independent 5.0 client, run like [`super::rumqtt`]:
//! its event loop forwards every incoming packet and stops at the first connection error.

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, Publish, PublishProperties};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, MqttOptions};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(5);

pub struct Client {
    pub client: AsyncClient,
    incoming: mpsc::UnboundedReceiver<Packet>,
    pending: VecDeque<Packet>,
    task: JoinHandle<ConnectionError>,
    pub session_present: bool,
}

/// 5.0 options: keep alive 30 s, Clean Start 1, session expiry 0 unless changed.
pub fn options(addr: SocketAddr, id: &str) -> MqttOptions {
    let mut opts = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    opts
}

impl Client {
    /// Connects and waits for an accepted CONNACK.
    pub async fn connect(opts: MqttOptions) -> Client {
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        let (tx, incoming) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(p)) => {
                        let _ = tx.send(p);
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => return e,
                }
            }
        });
        let mut c = Client {
            client,
            incoming,
            pending: VecDeque::new(),
            task,
            session_present: false,
        };
        match c
            .wait_for("CONNACK", |p| matches!(p, Packet::ConnAck(_)))
            .await
        {
            Packet::ConnAck(ack) => c.session_present = ack.session_present,
            _ => unreachable!("wait_for returns a matching packet"),
        }
        c
    }

    /// The first incoming packet `pred` accepts; others stay queued.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Packet) -> bool) -> Packet {
        if let Some(i) = self.pending.iter().position(&pred) {
            return self.pending.remove(i).expect("index from position");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(p)) if pred(&p) => return p,
                Ok(Some(p)) => self.pending.push_back(p),
                Ok(None) => panic!("connection ended while waiting for {what}"),
                Err(_) => panic!("no {what} within {WAIT:?}; received {:?}", self.pending),
            }
        }
    }

    pub async fn next_publish(&mut self) -> Publish {
        match self
            .wait_for("PUBLISH", |p| matches!(p, Packet::Publish(_)))
            .await
        {
            Packet::Publish(p) => p,
            _ => unreachable!("wait_for returns a matching packet"),
        }
    }

    /// A PUBLISH delivered within `within`, or `None`.
    pub async fn publish_within(&mut self, within: Duration) -> Option<Publish> {
        if let Some(i) = self
            .pending
            .iter()
            .position(|p| matches!(p, Packet::Publish(_)))
            && let Some(Packet::Publish(p)) = self.pending.remove(i)
        {
            return Some(p);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(Packet::Publish(p))) => return Some(p),
                Ok(Some(other)) => self.pending.push_back(other),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Subscribes with these options and waits for the SUBACK.
    pub async fn subscribe_filter(&mut self, filter: rumqttc::v5::mqttbytes::v5::Filter) {
        self.client
            .subscribe_many(vec![filter])
            .await
            .expect("queue SUBSCRIBE");
        self.wait_for("SUBACK", |p| matches!(p, Packet::SubAck(_)))
            .await;
    }

    pub async fn subscribe(&mut self, filter: &str, qos: QoS) {
        self.subscribe_filter(rumqttc::v5::mqttbytes::v5::Filter::new(filter, qos))
            .await;
    }

    /// Publishes with properties and, for QoS 1/2, waits until the broker completed the flow.
    pub async fn publish(
        &mut self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: &[u8],
        props: PublishProperties,
    ) {
        self.client
            .publish_with_properties(topic, qos, retain, payload.to_vec(), props)
            .await
            .expect("queue PUBLISH");
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                self.wait_for("PUBACK", |p| matches!(p, Packet::PubAck(_)))
                    .await;
            }
            QoS::ExactlyOnce => {
                self.wait_for("PUBCOMP", |p| matches!(p, Packet::PubComp(_)))
                    .await;
            }
        }
    }

    /// Sends DISCONNECT and waits until the connection is gone.
    pub async fn disconnect(mut self) {
        self.client.disconnect().await.expect("queue DISCONNECT");
        super::within(WAIT, "the connection to close after DISCONNECT", async {
            while self.incoming.recv().await.is_some() {}
        })
        .await;
        let _ = self.task.await;
    }

    /// Ends the connection without DISCONNECT.
    pub async fn drop_abruptly(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
