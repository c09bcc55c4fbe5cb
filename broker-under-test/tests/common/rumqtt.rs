//! `rumqttc` as an independent MQTT 3.1.1 client: its event loop runs in a task that
//! forwards every incoming packet and stops at the first connection error (no silent
//! reconnect), so a test sees exactly one network connection per [`Client`].

use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Packet, Publish, QoS};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(5);

pub struct Client {
    pub client: AsyncClient,
    incoming: mpsc::UnboundedReceiver<Packet>,
    /// Packets read by a wait that was looking for something else.
    pending: VecDeque<Packet>,
    task: JoinHandle<ConnectionError>,
    pub session_present: bool,
}

/// Options for a client of the broker at `addr`: keep alive 30 s (no ping traffic in a
/// test), clean session unless the caller changes it.
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

    /// The first incoming packet `pred` accepts; others stay queued for later waits.
    /// Panics after [`WAIT`] or if the connection ends first.
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

    /// The next PUBLISH delivered to this client.
    pub async fn next_publish(&mut self) -> Publish {
        match self
            .wait_for("PUBLISH", |p| matches!(p, Packet::Publish(_)))
            .await
        {
            Packet::Publish(p) => p,
            _ => unreachable!("wait_for returns a matching packet"),
        }
    }

    /// A PUBLISH delivered within `within`, or `None`; for checks that something is NOT sent.
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

    pub async fn subscribe(&mut self, filter: &str, qos: QoS) {
        self.client
            .subscribe(filter, qos)
            .await
            .expect("queue SUBSCRIBE");
        self.wait_for("SUBACK", |p| matches!(p, Packet::SubAck(_)))
            .await;
    }

    /// Publishes and, for QoS 1/2, waits until the broker completed the flow (PUBACK or
    /// PUBCOMP), so the broker holds the message when this returns.
    pub async fn publish(&mut self, topic: &str, qos: QoS, retain: bool, payload: &[u8]) {
        self.client
            .publish(topic, qos, retain, payload.to_vec())
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

    /// Ends the connection without DISCONNECT: the event loop, and with it the socket, is
    /// dropped, as when a client process dies.
    pub async fn drop_abruptly(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
