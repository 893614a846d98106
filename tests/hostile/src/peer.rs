//! [`RawPeer`]: a TCP connection that speaks raw LSO v2 bytes.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use crate::reader::{FrameReader, GoAway, RawFrame, ReadError};
use crate::wire::{self, HelloFields};

/// What a read from the server gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// A whole frame.
    Frame(RawFrame),
    /// The server closed the connection (end of stream or reset).
    Closed,
    /// Nothing complete arrived in time.
    TimedOut,
}

/// A peer that writes whatever bytes it is given and reads frames back.
#[derive(Debug)]
pub struct RawPeer {
    stream: TcpStream,
    reader: FrameReader,
    closed: bool,
}

/// Largest single read.
const READ_CHUNK: usize = 64 << 10;

impl RawPeer {
    /// Connects to `addr`; nothing is sent yet.
    pub async fn connect(addr: SocketAddr) -> io::Result<RawPeer> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(RawPeer::from_stream(stream))
    }

    /// A peer over a stream connected elsewhere.
    pub fn from_stream(stream: TcpStream) -> RawPeer {
        RawPeer {
            stream,
            reader: FrameReader::new(),
            closed: false,
        }
    }

    /// Connects, sends a HELLO with `hello` and waits for the server's
    /// HELLO (up to `wait`); returns the peer after the handshake.
    pub async fn handshake(
        addr: SocketAddr,
        hello: &HelloFields,
        wait: Duration,
    ) -> io::Result<RawPeer> {
        let mut peer = RawPeer::connect(addr).await?;
        peer.send(&wire::hello(hello)).await?;
        match peer.next_frame(wait).await? {
            Arrival::Frame(frame) if frame.kind == wire::kind::HELLO => Ok(peer),
            other => Err(io::Error::other(format!(
                "expected the server's HELLO, got {other:?}"
            ))),
        }
    }

    /// The socket, for tuning.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Writes all of `bytes` (waits while the server does not read).
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Writes all of `bytes` unless the server stops reading for `wait`:
    /// `Ok(false)` then (the bytes may be partly written).
    pub async fn send_within(&mut self, bytes: &[u8], wait: Duration) -> io::Result<bool> {
        match timeout(wait, self.stream.write_all(bytes)).await {
            Ok(result) => result.map(|()| true),
            Err(_) => Ok(false),
        }
    }

    /// The next frame from the server, or [`Arrival::Closed`] /
    /// [`Arrival::TimedOut`] (after `wait`).
    pub async fn next_frame(&mut self, wait: Duration) -> io::Result<Arrival> {
        let deadline = Instant::now() + wait;
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            if let Some(frame) = self.reader.next_frame().map_err(invalid)? {
                return Ok(Arrival::Frame(frame));
            }
            if self.closed {
                return Ok(Arrival::Closed);
            }
            match timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Ok(Arrival::TimedOut),
                Ok(Ok(0)) => self.closed = true,
                Ok(Ok(n)) => self.reader.push(&chunk[..n]),
                Ok(Err(error)) if is_reset(&error) => self.closed = true,
                Ok(Err(error)) => return Err(error),
            }
        }
    }

    /// Reads frames until one satisfies `wanted` (returned), the server
    /// closes or `wait` passes (`None` then).
    pub async fn wait_for(
        &mut self,
        wait: Duration,
        mut wanted: impl FnMut(&RawFrame) -> bool,
    ) -> io::Result<Option<RawFrame>> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left).await? {
                Arrival::Frame(frame) if wanted(&frame) => return Ok(Some(frame)),
                Arrival::Frame(_) => {}
                Arrival::Closed | Arrival::TimedOut => return Ok(None),
            }
        }
    }

    /// The server's GOAWAY, if one comes within `wait` (frames before it
    /// are skipped).
    pub async fn wait_goaway(&mut self, wait: Duration) -> io::Result<Option<GoAway>> {
        Ok(self
            .wait_for(wait, |frame| frame.kind == wire::kind::GOAWAY)
            .await?
            .and_then(|frame| frame.goaway()))
    }

    /// Reads and discards until the server closes the connection; whether
    /// it did within `wait`.
    pub async fn wait_closed(&mut self, wait: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + wait;
        let mut chunk = vec![0u8; READ_CHUNK];
        while !self.closed {
            match timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Ok(false),
                Ok(Ok(0)) => self.closed = true,
                Ok(Ok(_)) => {}
                Ok(Err(error)) if is_reset(&error) => self.closed = true,
                Ok(Err(error)) => return Err(error),
            }
        }
        Ok(true)
    }

    /// Whether the server has closed the connection, seen without reading
    /// its data: a write fails once the server's socket is gone. Writes
    /// `probe` (harmless bytes, e.g. a PING) up to `attempts` times, 50 ms
    /// apart.
    pub async fn closed_by_server(&mut self, probe: &[u8], attempts: u32) -> bool {
        for _ in 0..attempts {
            match timeout(Duration::from_millis(50), self.stream.write_all(probe)).await {
                Ok(Err(_)) => return true,
                Ok(Ok(())) | Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        false
    }
}

fn invalid(error: ReadError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}
