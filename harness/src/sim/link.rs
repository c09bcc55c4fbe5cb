//! A device's side of the network: delay, bandwidth, loss felt as retransmission delay, and
//! outages, on top of turmoil's TCP (which has no bandwidth model and no retransmission).
//!
//! The device talks to a [`Conn`]: two pump tasks sit between it and the turmoil socket,
//! one per direction. Each chunk waits its serialisation time at the profile's rate, then
//! the one-way delay with jitter, plus a retransmission timeout when the profile's loss
//! strikes; TCP keeps order, so no chunk overtakes the one before. During a silent outage
//! nothing passes either way (a close included) until it ends; a reset outage closes the
//! connection at once and refuses new ones until it ends.

use super::client::{BROKER_HOST, BROKER_PORT, Net};
use super::profile::Profile;
use super::rng::Rng;
use bytes::{Bytes, BytesMut};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

/// The outage state of one device's link, shared by its connections.
#[derive(Debug)]
pub struct LinkState {
    /// No bytes pass before this instant.
    pub held_until: Option<Instant>,
    /// No bytes pass until a release (a `hold` fault step).
    pub held: bool,
    /// The device's software is frozen until this instant (a `stall` fault step).
    pub stalled_until: Option<Instant>,
    /// Bumped by every reset: connections opened under an older value close.
    pub resets: watch::Sender<u64>,
    /// Woken on every change of the above, so waiters see a release at once.
    pub changed: Rc<Notify>,
}

impl LinkState {
    fn passable(&self, now: Instant) -> bool {
        !self.held && self.held_until.is_none_or(|t| t <= now)
    }
}

pub type Link = Rc<RefCell<LinkState>>;

pub fn new_link() -> Link {
    Rc::new(RefCell::new(LinkState {
        held_until: None,
        held: false,
        stalled_until: None,
        resets: watch::channel(0).0,
        changed: Rc::new(Notify::new()),
    }))
}

/// Waits while the link is in a silent outage, a partition or a hold.
pub async fn wait_passable(link: &Link) {
    loop {
        let (changed, until) = {
            let s = link.borrow();
            if s.passable(Instant::now()) {
                return;
            }
            (s.changed.clone(), s.held_until.filter(|_| !s.held))
        };
        // Created before waiting: a change made meanwhile still wakes it.
        let notified = changed.notified();
        match until {
            Some(t) => {
                tokio::select! {
                    () = tokio::time::sleep_until(t) => {}
                    () = notified => {}
                }
            }
            None => notified.await,
        }
    }
}

/// Resolves when the device's software is frozen by a stall, with the instant it thaws.
pub async fn stall_begins(link: &Link) -> Instant {
    loop {
        let changed = {
            let s = link.borrow();
            if let Some(t) = s.stalled_until
                && t > Instant::now()
            {
                return t;
            }
            s.changed.clone()
        };
        changed.notified().await;
    }
}

/// Resolves when the link is reset; never, once the link itself is gone.
async fn reset(rx: &mut watch::Receiver<u64>) {
    if rx.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The per-direction timing of chunks.
struct Pacer {
    kbps: Option<u32>,
    delay: Duration,
    jitter: Duration,
    loss: f64,
    rto: Duration,
    /// When the previous chunk has left the sender, and when it arrives.
    free_at: Instant,
    last_arrival: Instant,
}

impl Pacer {
    fn new(p: &Profile, kbps: Option<u32>) -> Self {
        let now = Instant::now();
        Self {
            kbps,
            delay: p.delay,
            jitter: p.jitter,
            loss: p.loss,
            rto: p.rto(),
            free_at: now,
            last_arrival: now,
        }
    }

    fn arrival(&mut self, len: usize, rng: &mut Rng) -> Instant {
        let now = Instant::now();
        let start = self.free_at.max(now);
        self.free_at = start + Profile::serialisation(len, self.kbps);
        let mut d = self.delay;
        if !self.jitter.is_zero() {
            d = rng.between(
                self.delay.saturating_sub(self.jitter),
                self.delay + self.jitter,
            );
        }
        if self.loss > 0.0 && rng.chance(self.loss) {
            d += self.rto;
        }
        let at = (self.free_at + d).max(self.last_arrival);
        self.last_arrival = at;
        at
    }
}

type Halves = (Box<dyn AsyncRead + Unpin>, Box<dyn AsyncWrite + Unpin>);

/// A TCP connection to the broker, split.
async fn connect(net: &Net) -> Option<Halves> {
    match net {
        Net::Sim => {
            let s = turmoil::net::TcpStream::connect((BROKER_HOST, BROKER_PORT))
                .await
                .ok()?;
            let (r, w) = s.into_split();
            Some((Box::new(r), Box::new(w)))
        }
        Net::Tcp(addr) => {
            let s = tokio::net::TcpStream::connect(addr).await.ok()?;
            // Small packets, sent as they come, as an MQTT client does.
            let _ = s.set_nodelay(true);
            let (r, w) = s.into_split();
            Some((Box::new(r), Box::new(w)))
        }
    }
}

/// A device's connection through its link.
pub struct Conn {
    up: mpsc::UnboundedSender<(Instant, Bytes)>,
    up_pacer: Pacer,
    rng: Rng,
    down: mpsc::UnboundedReceiver<Bytes>,
    pub buf: BytesMut,
}

impl Conn {
    /// Opens a connection to `host:port` through `link`; `None` when the link refuses it or
    /// the connect does not complete within `timeout`.
    pub async fn open(
        net: &Net,
        link: &Link,
        profile: &Profile,
        rng: &mut Rng,
        timeout: Duration,
    ) -> Option<Conn> {
        let deadline = Instant::now() + timeout;
        let connect = async {
            wait_passable(link).await;
            // The SYN and SYN-ACK cross the link once each.
            let mut pacer = Pacer::new(profile, profile.up_kbps);
            tokio::time::sleep_until(pacer.arrival(60, rng) + profile.delay).await;
            wait_passable(link).await;
            connect(net).await
        };
        let (mut rd, mut wr) = tokio::time::timeout_at(deadline, connect).await.ok()??;
        let resets = link.borrow().resets.subscribe();
        // Each direction: chunks are stamped with their arrival time when they are sent,
        // and a second task hands them over at that time, so a slow link still pipelines.
        let (up_tx, mut up_rx) = mpsc::unbounded_channel::<(Instant, Bytes)>();
        let (down_tx, down_rx) = mpsc::unbounded_channel::<Bytes>();

        let (l, mut reset_rx, delay) = (link.clone(), resets.clone(), profile.delay);
        tokio::task::spawn_local(async move {
            let mut last = Instant::now();
            loop {
                tokio::select! {
                    biased;
                    () = reset(&mut reset_rx) => break,
                    chunk = up_rx.recv() => {
                        let Some((at, chunk)) = chunk else {
                            // The device closed: the FIN crosses the link like data.
                            tokio::time::sleep_until(last.max(Instant::now() + delay)).await;
                            wait_passable(&l).await;
                            let _ = wr.shutdown().await;
                            break;
                        };
                        last = at;
                        tokio::time::sleep_until(at).await;
                        wait_passable(&l).await;
                        if wr.write_all(&chunk).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });

        let (stamped_tx, mut stamped_rx) = mpsc::unbounded_channel::<(Instant, Option<Bytes>)>();
        let (mut down_pacer, mut r, mut reset_rx) = (
            Pacer::new(profile, profile.down_kbps),
            Rng::new(rng.next_u64()),
            resets.clone(),
        );
        tokio::task::spawn_local(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = tokio::select! {
                    biased;
                    () = reset(&mut reset_rx) => break,
                    n = rd.read(&mut buf) => n.unwrap_or(0),
                };
                let at = down_pacer.arrival(n, &mut r);
                let chunk = (n > 0).then(|| Bytes::copy_from_slice(&buf[..n]));
                if stamped_tx.send((at, chunk)).is_err() || n == 0 {
                    break;
                }
            }
        });
        let (l, mut reset_rx) = (link.clone(), resets);
        tokio::task::spawn_local(async move {
            loop {
                let item = tokio::select! {
                    biased;
                    () = reset(&mut reset_rx) => break,
                    item = stamped_rx.recv() => item,
                };
                let Some((at, chunk)) = item else { break };
                tokio::time::sleep_until(at).await;
                wait_passable(&l).await;
                // The broker's FIN crosses the link like data: a silent outage holds it.
                let Some(chunk) = chunk else { break };
                if down_tx.send(chunk).is_err() {
                    break;
                }
            }
            // Dropping the sender tells the device the connection ended.
        });
        Some(Conn {
            up: up_tx,
            up_pacer: Pacer::new(profile, profile.up_kbps),
            rng: Rng::new(rng.next_u64()),
            down: down_rx,
            buf: BytesMut::new(),
        })
    }

    /// Queues bytes towards the broker; false when the connection is gone.
    pub fn send(&mut self, bytes: Bytes) -> bool {
        let at = self.up_pacer.arrival(bytes.len(), &mut self.rng);
        self.up.send((at, bytes)).is_ok()
    }

    /// Waits for bytes from the broker into `buf`; false when the connection ended.
    pub async fn fill(&mut self) -> bool {
        match self.down.recv().await {
            Some(b) => {
                self.buf.extend_from_slice(&b);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::client::{BROKER_PORT, Net};

    /// The broker's close crosses the link like data: a silent outage holds it, so the
    /// device learns of it only when the outage ends (or from its own keep alive).
    #[test]
    fn a_broker_close_waits_out_a_silent_outage() -> turmoil::Result {
        let mut sim = turmoil::Builder::new()
            .simulation_duration(Duration::from_secs(60))
            .build();
        sim.host("broker", || async {
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", BROKER_PORT)).await?;
            let (stream, _) = listener.accept().await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(stream);
            Ok(())
        });
        sim.client("device", async {
            let link = new_link();
            let profile = Profile::named("lan").ok_or("no lan profile")?;
            let mut rng = Rng::new(1);
            let mut conn = Conn::open(&Net::Sim, &link, &profile, &mut rng, Duration::from_secs(5))
                .await
                .ok_or("no connection")?;
            let start = Instant::now();
            link.borrow_mut().held_until = Some(start + Duration::from_secs(10));
            assert!(!conn.fill().await, "the broker's close arrives");
            let seen = start.elapsed();
            assert!(
                seen >= Duration::from_secs(10),
                "the close was seen after {seen:?}, inside the outage"
            );
            Ok(())
        });
        sim.run()
    }
}
