//! Thin tokio driver: sockets in, the sans-IO core in the middle, sockets out.
//!
//! One task owns the [`Broker`]; each connection has a reader task feeding it events and a
//! writer task draining the bytes it sends. Only accepting is specific to the listener, so
//! the same code serves tokio's TCP and turmoil's simulated TCP (see [`Listener`]). Time is
//! tokio's clock, which is virtual under turmoil and `tokio::time::pause`.

use crate::config::Config;
use crate::core::{Action, Broker, ConnId, Event};
use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Bytes waiting for one connection's writer before the connection counts as stuck and is
/// closed: a peer that stops reading must not make the broker buffer without bound.
const WRITE_QUEUE: usize = 4096;
/// A single write that makes no progress for this long ends the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Events from all connections waiting for the broker task; readers wait when it is full,
/// which pushes back on fast publishers through TCP.
const EVENT_QUEUE: usize = 1024;
const READ_BUFFER: usize = 16 * 1024;

/// Where connections come from.
pub trait Listener: Send + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The next connection and its peer address, if known.
    fn accept(
        &mut self,
    ) -> impl Future<Output = io::Result<(Self::Stream, Option<SocketAddr>)>> + Send;
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn accept(&mut self) -> io::Result<(Self::Stream, Option<SocketAddr>)> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        // MQTT packets are small and latency matters more than batching.
        let _ = stream.set_nodelay(true);
        Ok((stream, Some(peer)))
    }
}

enum Input {
    Opened {
        conn: ConnId,
        peer: Option<SocketAddr>,
        writer: mpsc::Sender<Bytes>,
        reader: JoinHandle<()>,
    },
    Received(ConnId, Bytes),
    Closed(ConnId),
}

/// A broker serving on a listener until shut down.
pub struct RunningBroker {
    pub local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Binds `addr` (port 0 for an ephemeral port) and serves the broker on it in the background
/// of the current tokio runtime.
pub async fn start(addr: SocketAddr, config: Config) -> io::Result<RunningBroker> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, config, stopped));
    tracing::info!(%local_addr, "broker listening");
    Ok(RunningBroker {
        local_addr,
        stop,
        task,
    })
}

impl RunningBroker {
    /// Stops accepting, tells 5.0 clients DISCONNECT 0x8B, closes every connection and waits
    /// for the broker task to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Serves the broker on `listener` until `stop` turns true (or its sender is dropped).
pub async fn serve<L: Listener>(listener: L, config: Config, mut stop: watch::Receiver<bool>) {
    let (events_tx, mut events) = mpsc::channel::<Input>(EVENT_QUEUE);
    let acceptor = tokio::spawn(accept_loop(listener, events_tx));
    let start = Instant::now();
    let mut broker = Broker::new(config);
    let mut writers: BTreeMap<ConnId, (mpsc::Sender<Bytes>, JoinHandle<()>)> = BTreeMap::new();
    loop {
        let deadline = broker.poll_timeout().map(|t| start + t);
        tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            input = events.recv() => {
                let Some(input) = input else { break };
                let now = start.elapsed();
                match input {
                    Input::Opened { conn, peer, writer, reader } => {
                        writers.insert(conn, (writer, reader));
                        broker.handle(now, Event::Opened { conn, peer });
                    }
                    Input::Received(conn, bytes) => broker.handle(now, Event::Received { conn, bytes }),
                    Input::Closed(conn) => {
                        if let Some((_, reader)) = writers.remove(&conn) {
                            reader.abort();
                        }
                        broker.handle(now, Event::Closed { conn });
                    }
                }
            }
            () = sleep_until(deadline) => broker.handle_timeout(start.elapsed()),
        }
        drain(&mut broker, &mut writers, start);
    }
    acceptor.abort();
    // 5.0 clients are told DISCONNECT 0x8B (Server shutting down) before the close.
    broker.shutdown(start.elapsed());
    drain(&mut broker, &mut writers, start);
    // Dropping the writers' senders makes each writer flush what it has and close.
    for (_, (writer, reader)) in std::mem::take(&mut writers) {
        drop(writer);
        reader.abort();
    }
    tracing::info!("broker stopped");
}

async fn accept_loop<L: Listener>(mut listener: L, events: mpsc::Sender<Input>) {
    let mut next_id = 0u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        next_id += 1;
        let conn = ConnId(next_id);
        tracing::debug!(?conn, ?peer, "connection opened");
        let (read, write) = tokio::io::split(stream);
        let (writer, writes) = mpsc::channel::<Bytes>(WRITE_QUEUE);
        tokio::spawn(write_loop(conn, write, writes));
        let reader = tokio::spawn(read_loop(conn, read, events.clone()));
        if events
            .send(Input::Opened {
                conn,
                peer,
                writer,
                reader,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(conn: ConnId, mut read: R, events: mpsc::Sender<Input>) {
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    loop {
        if buf.capacity() - buf.len() < READ_BUFFER / 4 {
            buf.reserve(READ_BUFFER);
        }
        match read.read_buf(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {
                if events
                    .send(Input::Received(conn, buf.split().freeze()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(?conn, "read failed: {e}");
                break;
            }
        }
    }
    tracing::debug!(?conn, "connection closed by the peer");
    let _ = events.send(Input::Closed(conn)).await;
}

async fn write_loop<W: AsyncWrite + Unpin>(
    conn: ConnId,
    mut write: W,
    mut writes: mpsc::Receiver<Bytes>,
) {
    while let Some(first) = writes.recv().await {
        // Gather what is already queued into one write.
        let mut chunk = BytesMut::from(&first[..]);
        while chunk.len() < 64 * 1024 {
            match writes.try_recv() {
                Ok(more) => chunk.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&chunk)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(?conn, "write failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(?conn, "write timed out");
                return;
            }
        }
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write.shutdown()).await;
}

/// Routes the core's actions to the connections. A connection whose write queue is full
/// is closed and reported to the core as closed, which may produce more actions (its will).
fn drain(
    broker: &mut Broker,
    writers: &mut BTreeMap<ConnId, (mpsc::Sender<Bytes>, JoinHandle<()>)>,
    start: Instant,
) {
    loop {
        let mut stuck = Vec::new();
        while let Some(action) = broker.poll_action() {
            match action {
                Action::Send { conn, bytes } => {
                    if let Some((writer, _)) = writers.get(&conn)
                        && writer.try_send(bytes).is_err()
                    {
                        stuck.push(conn);
                    }
                }
                Action::Close { conn } => {
                    // Dropping the sender lets the writer flush, then close the socket.
                    if let Some((_, reader)) = writers.remove(&conn) {
                        reader.abort();
                    }
                }
            }
        }
        if stuck.is_empty() {
            return;
        }
        for conn in stuck {
            if let Some((_, reader)) = writers.remove(&conn) {
                tracing::warn!(?conn, "the peer does not read fast enough; closing");
                reader.abort();
                broker.handle(start.elapsed(), Event::Closed { conn });
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
