//! Thin tokio driver: sockets in, the sans-IO core in the middle, sockets out.
//!
//! The [`Broker`] sits in a hub behind a mutex. Each connection's reader task reads bytes,
//! takes the hub, hands the core the event, and writes what the core sends straight to the
//! sockets with non-blocking writes (gathered per connection); only what a socket cannot take
//! at once goes to that connection's writer task. A message thus crosses no task hand-off
//! between the publisher's socket and the subscriber's, as in a single event loop, while
//! connections are still read in parallel. A timer task runs the core's deadlines. Only
//! accepting is specific to the listener, so the same code serves tokio's TCP and turmoil's
//! simulated TCP (see [`Listener`]). Time is tokio's clock, which is virtual under turmoil
//! and `tokio::time::pause`.

use crate::config::Config;
use crate::core::{Action, Broker, ConnId, Event};
use bytes::BytesMut;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Bytes waiting for one connection's writer before the connection counts as stuck and is
/// closed: a peer that stops reading must not make the broker buffer without bound.
const WRITE_QUEUE_BYTES: usize = 8 * 1024 * 1024;
/// A single write that makes no progress for this long ends the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
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

/// The write side of one connection, shared by the hub and the connection's writer task.
struct Outlet<W> {
    state: Arc<Mutex<OutletState<W>>>,
    wake: Arc<Notify>,
}

struct OutletState<W> {
    /// The socket's write half; `None` while the writer task is writing with it.
    half: Option<W>,
    /// Bytes the socket has not taken yet, in order.
    pending: BytesMut,
    /// Close once `pending` is written.
    closing: bool,
    /// The writer gave up (write error or timeout).
    dead: bool,
}

/// The connection's writer is gone or too far behind.
struct Stuck;

/// Takes a mutex; a panic while it was held cannot leave these plain fields inconsistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<W: AsyncWrite + Unpin> Outlet<W> {
    fn new(half: W) -> Self {
        Self {
            state: Arc::new(Mutex::new(OutletState {
                half: Some(half),
                pending: BytesMut::new(),
                closing: false,
                dead: false,
            })),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Writes `bytes` now as far as the socket takes them without waiting; the rest goes to
    /// the writer task, after anything already waiting.
    fn send(&self, bytes: &[u8]) -> Result<(), Stuck> {
        let mut st = lock(&self.state);
        if st.dead {
            return Err(Stuck);
        }
        let mut written = 0;
        if st.pending.is_empty()
            && let Some(half) = st.half.as_mut()
        {
            let mut cx = Context::from_waker(Waker::noop());
            while written < bytes.len() {
                match Pin::new(&mut *half).poll_write(&mut cx, &bytes[written..]) {
                    Poll::Ready(Ok(n)) if n > 0 => written += n,
                    // Errors and would-block are the writer task's to handle.
                    _ => break,
                }
            }
        }
        if written == bytes.len() {
            return Ok(());
        }
        if st.pending.len() + bytes.len() - written > WRITE_QUEUE_BYTES {
            return Err(Stuck);
        }
        st.pending.extend_from_slice(&bytes[written..]);
        drop(st);
        self.wake.notify_one();
        Ok(())
    }

    /// The writer task writes what is left, then closes the socket.
    fn close(&self) {
        lock(&self.state).closing = true;
        self.wake.notify_one();
    }
}

/// The core and the connections' outlets, behind one mutex.
struct Hub<W> {
    broker: Broker,
    writers: BTreeMap<ConnId, (Outlet<W>, Option<JoinHandle<()>>)>,
    start: Instant,
    /// When the timer task is set to wake, to tell it when a deadline comes earlier.
    timer_at: Option<Instant>,
    stopped: bool,
}

struct Shared<W> {
    hub: Mutex<Hub<W>>,
    timer: Notify,
    /// Faults only: a panic in the core takes the whole broker down, as a crash would.
    #[cfg(feature = "faults")]
    crash: Notify,
}

impl<W: AsyncWrite + Unpin> Hub<W> {
    /// Feeds one event, writes what it produced, and wakes the timer task if the core's
    /// next deadline moved earlier.
    fn handle(&mut self, event: Event, timer: &Notify) {
        self.broker.handle(self.start.elapsed(), event);
        self.drain();
        let next = self.broker.poll_timeout().map(|t| self.start + t);
        if next.is_some_and(|n| self.timer_at.is_none_or(|at| n < at)) {
            timer.notify_one();
        }
    }

    /// Routes the core's actions to the connections: the bytes are gathered per connection
    /// and written in one go, connections in the order the core first wrote to them (a
    /// publisher's PUBACK is not held back behind the copies to its subscribers). A
    /// connection whose writer is stuck is closed and reported to the core as closed, which
    /// may produce more actions (its will).
    fn drain(&mut self) {
        let mut out: Vec<(ConnId, BytesMut)> = Vec::new();
        let mut slot: BTreeMap<ConnId, usize> = BTreeMap::new();
        loop {
            while let Some(action) = self.broker.poll_action() {
                match action {
                    Action::Send { conn, bytes } => {
                        if self.writers.contains_key(&conn) {
                            let i = *slot.entry(conn).or_insert_with(|| {
                                out.push((conn, BytesMut::new()));
                                out.len() - 1
                            });
                            out[i].1.extend_from_slice(&bytes);
                        }
                    }
                    Action::Close { conn } => {
                        if let Some((outlet, reader)) = self.writers.remove(&conn) {
                            if let Some(&i) = slot.get(&conn) {
                                let _ = outlet.send(&std::mem::take(&mut out[i].1));
                            }
                            outlet.close();
                            reader.inspect(JoinHandle::abort);
                        }
                    }
                }
            }
            slot.clear();
            let mut stuck = Vec::new();
            for (conn, bytes) in std::mem::take(&mut out) {
                if bytes.is_empty() {
                    continue;
                }
                if let Some((outlet, _)) = self.writers.get(&conn)
                    && outlet.send(&bytes).is_err()
                {
                    stuck.push(conn);
                }
            }
            if stuck.is_empty() {
                return;
            }
            for conn in stuck {
                if let Some((outlet, reader)) = self.writers.remove(&conn) {
                    tracing::warn!(?conn, "the peer does not read fast enough; closing");
                    outlet.close();
                    reader.inspect(JoinHandle::abort);
                    let now = self.start.elapsed();
                    self.broker.handle(now, Event::Closed { conn });
                }
            }
        }
    }
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
    let shared = Arc::new(Shared {
        hub: Mutex::new(Hub {
            broker: Broker::new(config),
            writers: BTreeMap::new(),
            start: Instant::now(),
            timer_at: None,
            stopped: false,
        }),
        timer: Notify::new(),
        #[cfg(feature = "faults")]
        crash: Notify::new(),
    });
    let acceptor = tokio::spawn(accept_loop(listener, shared.clone()));
    let timer = tokio::spawn(timer_loop(shared.clone()));
    #[cfg(feature = "faults")]
    let crashed = shared.crash.notified();
    #[cfg(not(feature = "faults"))]
    let crashed = std::future::pending::<()>();
    let stopped = async {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    };
    let crash = tokio::select! {
        () = stopped => false,
        () = crashed => true,
    };
    acceptor.abort();
    if crash {
        timer.abort();
        crash_down(&shared);
        return;
    }
    timer.abort();
    let mut hub = lock(&shared.hub);
    hub.stopped = true;
    // 5.0 clients are told DISCONNECT 0x8B (Server shutting down) before the close.
    let now = hub.start.elapsed();
    hub.broker.shutdown(now);
    hub.drain();
    // Each writer flushes what it has and closes.
    for (_, (outlet, reader)) in std::mem::take(&mut hub.writers) {
        outlet.close();
        reader.inspect(JoinHandle::abort);
    }
    tracing::info!("broker stopped");
}

/// Faults only: the broker crashed. Every connection ends at once, without DISCONNECT or
/// will, and the listener is gone (the acceptor was aborted).
fn crash_down<W: AsyncWrite + Unpin>(shared: &Shared<W>) {
    let mut hub = lock(&shared.hub);
    hub.stopped = true;
    for (_, (outlet, reader)) in std::mem::take(&mut hub.writers) {
        lock(&outlet.state).pending.clear();
        outlet.close();
        reader.inspect(JoinHandle::abort);
    }
    tracing::error!("broker crashed (fault)");
}

/// Feeds one event received on a connection. With the `faults` feature a panic in the core
/// crashes the whole broker (then the connection's task panics on), as in a process that
/// aborts on panic; without it this is `hub.handle`.
fn handle_received<W: AsyncWrite + Unpin>(hub: &mut Hub<W>, shared: &Shared<W>, event: Event) {
    #[cfg(feature = "faults")]
    {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hub.handle(event, &shared.timer)
        }));
        if let Err(panic) = result {
            hub.stopped = true;
            shared.crash.notify_one();
            std::panic::resume_unwind(panic);
        }
    }
    #[cfg(not(feature = "faults"))]
    hub.handle(event, &shared.timer);
}

async fn timer_loop<W: AsyncWrite + Unpin>(shared: Arc<Shared<W>>) {
    loop {
        let target = {
            let mut hub = lock(&shared.hub);
            let t = hub.broker.poll_timeout().map(|t| hub.start + t);
            hub.timer_at = t;
            t
        };
        tokio::select! {
            () = sleep_until(target) => {
                let mut hub = lock(&shared.hub);
                if hub.stopped {
                    return;
                }
                let now = hub.start.elapsed();
                hub.broker.handle_timeout(now);
                hub.drain();
            }
            () = shared.timer.notified() => {}
        }
    }
}

async fn accept_loop<L: Listener>(mut listener: L, shared: Arc<Shared<WriteHalf<L::Stream>>>) {
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
        #[cfg(feature = "faults")]
        if lock(&shared.hub).broker.fault_stop_accepting() {
            // The accept loop is stuck: this connection and every later one wait unserved
            // (in the listen backlog) while the listener stays open.
            let _held = stream;
            tracing::error!("no longer accepting connections (fault)");
            return std::future::pending().await;
        }
        next_id += 1;
        let conn = ConnId(next_id);
        tracing::debug!(?conn, ?peer, "connection opened");
        let (read, write) = tokio::io::split(stream);
        let outlet = Outlet::new(write);
        tokio::spawn(write_loop(conn, outlet.state.clone(), outlet.wake.clone()));
        // The reader waits for the hub, which is held until the connection is known.
        let mut hub = lock(&shared.hub);
        if hub.stopped {
            return;
        }
        let reader = tokio::spawn(read_loop(conn, read, shared.clone()));
        hub.writers.insert(conn, (outlet, Some(reader)));
        hub.handle(Event::Opened { conn, peer }, &shared.timer);
    }
}

async fn read_loop<S: AsyncRead + AsyncWrite + Unpin>(
    conn: ConnId,
    mut read: ReadHalf<S>,
    shared: Arc<Shared<WriteHalf<S>>>,
) {
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    loop {
        if buf.capacity() - buf.len() < READ_BUFFER / 4 {
            buf.reserve(READ_BUFFER);
        }
        match read.read_buf(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {
                let bytes = buf.split().freeze();
                let mut hub = lock(&shared.hub);
                if hub.stopped || !hub.writers.contains_key(&conn) {
                    return;
                }
                handle_received(&mut hub, &shared, Event::Received { conn, bytes });
            }
            Err(e) => {
                tracing::debug!(?conn, "read failed: {e}");
                break;
            }
        }
    }
    tracing::debug!(?conn, "connection closed by the peer");
    let mut hub = lock(&shared.hub);
    if hub.stopped {
        return;
    }
    if let Some((outlet, _)) = hub.writers.remove(&conn) {
        outlet.close();
        hub.handle(Event::Closed { conn }, &shared.timer);
    }
}

/// Writes what the hub could not write at once, in order, then (when asked) closes.
async fn write_loop<W: AsyncWrite + Unpin>(
    conn: ConnId,
    state: Arc<Mutex<OutletState<W>>>,
    wake: Arc<Notify>,
) {
    loop {
        wake.notified().await;
        loop {
            let (mut half, chunk, closing) = {
                let mut st = lock(&state);
                if st.pending.is_empty() && !st.closing {
                    break;
                }
                let Some(half) = st.half.take() else {
                    return;
                };
                (half, st.pending.split(), st.closing)
            };
            if !chunk.is_empty() {
                let failed = match tokio::time::timeout(WRITE_TIMEOUT, half.write_all(&chunk)).await
                {
                    Ok(Ok(())) => false,
                    Ok(Err(e)) => {
                        tracing::debug!(?conn, "write failed: {e}");
                        true
                    }
                    Err(_) => {
                        tracing::debug!(?conn, "write timed out");
                        true
                    }
                };
                if failed {
                    lock(&state).dead = true;
                    return;
                }
            }
            // Once closing, nothing more is added.
            let close_now = closing && lock(&state).pending.is_empty();
            if close_now {
                let _ = tokio::time::timeout(WRITE_TIMEOUT, half.shutdown()).await;
                return;
            }
            lock(&state).half = Some(half);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
