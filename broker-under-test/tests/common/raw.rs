//! A bare MQTT client on our codec, for what client libraries hide: exact packet timing
//! (keep alive) and bytes no library would send (malformed packets). It speaks the version
//! of the last CONNECT it sent (3.1.1 until then).

use bytes::BytesMut;
use mqttspec_codec::reason::v311;
use mqttspec_codec::{ConnAck, Connect, Decoder, Packet, ProtocolVersion};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const V311: ProtocolVersion = ProtocolVersion::V311;

pub struct RawClient {
    stream: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
}

/// What the next read produced.
// Short-lived and matched in place: boxing the packet would only complicate the patterns.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Received {
    Packet(Packet),
    /// The broker closed (EOF) or reset the connection.
    Closed,
    TimedOut,
}

impl RawClient {
    pub async fn open(addr: SocketAddr) -> RawClient {
        let stream = super::within(
            Duration::from_secs(5),
            "TCP connect",
            TcpStream::connect(addr),
        )
        .await
        .expect("TCP connect to the broker");
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        RawClient {
            stream,
            buf: BytesMut::with_capacity(4096),
            decoder: Decoder::new(V311),
        }
    }

    /// Opens a connection and completes CONNECT/CONNACK; panics unless accepted.
    pub async fn connect(addr: SocketAddr, connect: Connect) -> RawClient {
        let mut client = RawClient::open(addr).await;
        client.send(&Packet::Connect(connect)).await;
        match client.recv(Duration::from_secs(5)).await {
            Received::Packet(Packet::ConnAck(ConnAck { code, .. })) => {
                assert_eq!(code, v311::ACCEPTED, "CONNACK return code")
            }
            other => panic!("expected CONNACK, got {other:?}"),
        }
        client
    }

    pub async fn send(&mut self, packet: &Packet) {
        if let Packet::Connect(c) = packet {
            self.decoder.version = c.version;
        }
        let bytes = packet
            .to_bytes(self.decoder.version)
            .expect("encode packet");
        self.send_bytes(&bytes).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write to broker");
    }

    /// The next packet, or how the wait ended. A packet that does not decode panics: the
    /// broker sent garbage.
    pub async fn recv(&mut self, within: Duration) -> Received {
        match tokio::time::timeout(within, self.recv_inner()).await {
            Ok(Ok(Some(p))) => Received::Packet(p),
            Ok(Ok(None)) => Received::Closed,
            Ok(Err(e)) if is_reset(&e) => Received::Closed,
            Ok(Err(e)) => panic!("reading from broker: {e}"),
            Err(_) => Received::TimedOut,
        }
    }

    async fn recv_inner(&mut self) -> io::Result<Option<Packet>> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(p)) => return Ok(Some(p)),
                Ok(None) => {}
                Err(e) => panic!("broker sent an undecodable packet: {e}"),
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    )
}
