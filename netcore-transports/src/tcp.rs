//! TCP: connect, listen and accept, each giving a ready [`Pipe`] over a
//! socket tuned for it.
//!
//! ```no_run
//! use netcore_transports::tcp::{self, TcpOptions};
//! use netcore_transports::pipe::Message;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Server side.
//! let listener = tcp::Listener::bind("127.0.0.1:4000", TcpOptions::default()).await?;
//! tokio::spawn(async move {
//!     while let Ok((pipe, peer)) = listener.accept().await {
//!         tokio::spawn(async move {
//!             while let Ok(message) = pipe.recv().await {
//!                 tracing::info!("{peer} sent {} bytes", message.body.len());
//!             }
//!         });
//!     }
//! });
//!
//! // Client side.
//! let pipe = tcp::connect("127.0.0.1:4000", &TcpOptions::default()).await?;
//! pipe.send(Message::new("hello"))?.await?;
//! pipe.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # The socket options, and why
//!
//! | option | default | why |
//! |---|---|---|
//! | [`nodelay`](TcpOptions::nodelay) (`TCP_NODELAY`) | on | the pipe already writes in large batches; Nagle's algorithm would only hold back small frames (a PONG, a CREDIT, a short call) for up to a round trip |
//! | [`keepalive`](TcpOptions::keepalive) (`SO_KEEPALIVE`) | 30 s | lets the kernel notice a dead peer on an idle connection even where the pipe's own PING is disabled, and keeps NAT mappings alive |
//! | [`notsent_lowat`](TcpOptions::notsent_lowat) (`TCP_NOTSENT_LOWAT`) | 128 KiB | bounds the bytes waiting *unsent* in the kernel: the pipe keeps the queue in user space, where its scheduler can put a small urgent message ahead of bulk data. Without it, megabytes of bulk sit in the kernel send buffer and a small message waits behind them for milliseconds |
//! | [`connect_timeout`](TcpOptions::connect_timeout) | none | the system's own connect timeout applies (minutes on Linux) |
//!
//! `TCP_NOTSENT_LOWAT` exists on Linux and Android only; elsewhere the option
//! is accepted and ignored (a no-op), and a small message may then wait
//! behind whatever the kernel send buffer holds.
//!
//! # Bringing your own socket
//!
//! A [`tokio::net::TcpStream`] from elsewhere (a proxy, a socket activation)
//! gets the same tuning with [`configure`], or becomes a pipe at once with
//! [`from_stream`]. [`connect_stream`] and [`Listener::accept_stream`] give the
//! tuned stream itself, for those who want the transport without a pipe (wrap
//! it in [`TcpTransport`] for [`Pipe::new`]).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use netcore_pipe::transport::Transport;
use netcore_pipe::{Pipe, PipeConfig};
use socket2::{SockRef, TcpKeepalive};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::error::{Address, Error};

/// Default [`TcpOptions::keepalive`]: probe a connection idle for 30 s.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(30);

/// Default [`TcpOptions::notsent_lowat`]: 128 KiB, the pipe's default write
/// batch, so the kernel holds about one batch beyond what is in flight.
pub const DEFAULT_NOTSENT_LOWAT: u32 = 128 << 10;

/// How to set up a TCP connection and the [`Pipe`] over it.
///
/// Fields are public; the defaults suit a pipe ([`TcpOptions::default`]), and
/// each has a chainable setter of the same name:
///
/// ```
/// use std::time::Duration;
/// use netcore_transports::tcp::TcpOptions;
///
/// let options = TcpOptions::default()
///     .keepalive(Some(Duration::from_secs(60)))
///     .connect_timeout(Some(Duration::from_secs(5)));
/// assert!(options.nodelay);
/// assert_eq!(options.notsent_lowat, Some(128 * 1024));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TcpOptions {
    /// `TCP_NODELAY`: send small segments at once instead of waiting to
    /// coalesce them (Nagle's algorithm off). Default `true`.
    pub nodelay: bool,
    /// `SO_KEEPALIVE` with this idle time before the first probe (`None`:
    /// keepalive off). Default [`DEFAULT_KEEPALIVE`]. Values are whole
    /// seconds on most systems.
    pub keepalive: Option<Duration>,
    /// `TCP_NOTSENT_LOWAT`: most unsent bytes the kernel accepts before a
    /// write waits (`None`: the system default, normally unbounded). Default
    /// [`DEFAULT_NOTSENT_LOWAT`]. Linux and Android only; ignored elsewhere.
    pub notsent_lowat: Option<u32>,
    /// How long [`connect`] waits for the peer to answer (`None`: the
    /// system's own timeout). Default `None`.
    pub connect_timeout: Option<Duration>,
    /// The settings of the pipe built over the connection. Default
    /// [`PipeConfig::default`] (64 KiB chunks, strict decoding).
    pub pipe: PipeConfig,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            nodelay: true,
            keepalive: Some(DEFAULT_KEEPALIVE),
            notsent_lowat: Some(DEFAULT_NOTSENT_LOWAT),
            connect_timeout: None,
            pipe: PipeConfig::default(),
        }
    }
}

impl TcpOptions {
    /// The defaults: the same as [`TcpOptions::default`].
    pub fn new() -> Self {
        TcpOptions::default()
    }

    /// Sets [`nodelay`](TcpOptions#structfield.nodelay).
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Sets [`keepalive`](TcpOptions#structfield.keepalive).
    pub fn keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive = idle;
        self
    }

    /// Sets [`notsent_lowat`](TcpOptions#structfield.notsent_lowat).
    pub fn notsent_lowat(mut self, bytes: Option<u32>) -> Self {
        self.notsent_lowat = bytes;
        self
    }

    /// Sets [`connect_timeout`](TcpOptions#structfield.connect_timeout).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`pipe`](TcpOptions#structfield.pipe).
    pub fn pipe(mut self, config: PipeConfig) -> Self {
        self.pipe = config;
        self
    }
}

/// Connects to `addr` and starts a [`Pipe`] over the tuned connection.
///
/// `addr` is anything tokio can resolve that also prints, so errors can name
/// it: a [`SocketAddr`] or a `"host:port"` string. Every address the name
/// resolves to is tried in turn, as [`TcpStream::connect`] does.
///
/// # Errors
///
/// [`Error::Connect`] naming `addr` if no address answered (within
/// [`TcpOptions::connect_timeout`], if set); [`Error::Configure`] if a socket
/// option could not be applied.
///
/// ```no_run
/// use netcore_transports::tcp::{self, TcpOptions};
/// # async fn run() -> Result<(), netcore_transports::Error> {
/// let pipe = tcp::connect("127.0.0.1:4000", &TcpOptions::default()).await?;
/// # Ok(())
/// # }
/// ```
pub async fn connect<A>(addr: A, options: &TcpOptions) -> Result<Pipe, Error>
where
    A: ToSocketAddrs + fmt::Display,
{
    let stream = connect_stream(addr, options).await?;
    Ok(Pipe::new(TcpTransport::new(stream), options.pipe.clone()))
}

/// Connects to `addr` and returns the tuned stream itself, without a pipe:
/// [`connect`] minus [`Pipe::new`].
///
/// # Errors
///
/// As [`connect`].
pub async fn connect_stream<A>(addr: A, options: &TcpOptions) -> Result<TcpStream, Error>
where
    A: ToSocketAddrs + fmt::Display,
{
    let peer = addr.to_string();
    let connecting = TcpStream::connect(addr);
    let connected = match options.connect_timeout {
        None => connecting.await,
        Some(limit) => match tokio::time::timeout(limit, connecting).await {
            Ok(connected) => connected,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {limit:?}"),
            )),
        },
    };
    let stream = connected.map_err(|cause| Error::Connect {
        peer: Address::Tcp(peer.clone()),
        cause,
    })?;
    configure(&stream, options)?;
    tracing::debug!(peer = %peer, local = ?stream.local_addr().ok(), "TCP connected");
    Ok(stream)
}

/// Applies the socket options of `options` (all but the pipe settings) to a
/// stream made elsewhere.
///
/// # Errors
///
/// [`Error::Configure`] naming the option and the peer if one could not be
/// applied.
///
/// ```no_run
/// use netcore_transports::tcp::{self, TcpOptions};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let stream = tokio::net::TcpStream::connect("127.0.0.1:4000").await?;
/// tcp::configure(&stream, &TcpOptions::default())?;
/// assert!(stream.nodelay()?);
/// # Ok(())
/// # }
/// ```
pub fn configure(stream: &TcpStream, options: &TcpOptions) -> Result<(), Error> {
    let failed = |option: &'static str| {
        move |cause: io::Error| Error::Configure {
            option,
            peer: peer_address(stream),
            cause,
        }
    };
    stream
        .set_nodelay(options.nodelay)
        .map_err(failed("TCP_NODELAY"))?;
    let socket = SockRef::from(stream);
    match options.keepalive {
        Some(idle) => socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle)),
        None => socket.set_keepalive(false),
    }
    .map_err(failed("SO_KEEPALIVE"))?;
    if let Some(bytes) = options.notsent_lowat {
        set_notsent_lowat(&socket, bytes).map_err(failed("TCP_NOTSENT_LOWAT"))?;
    }
    Ok(())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_notsent_lowat(socket: &SockRef<'_>, bytes: u32) -> io::Result<()> {
    socket.set_tcp_notsent_lowat(bytes)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_notsent_lowat(_socket: &SockRef<'_>, _bytes: u32) -> io::Result<()> {
    // No TCP_NOTSENT_LOWAT here: documented as a no-op.
    Ok(())
}

/// The peer of `stream`, for error messages.
fn peer_address(stream: &TcpStream) -> Address {
    Address::Tcp(match stream.peer_addr() {
        Ok(peer) => peer.to_string(),
        Err(_) => "an unconnected socket".to_owned(),
    })
}

/// Tunes `stream` with `options` and starts a [`Pipe`] over it.
///
/// # Errors
///
/// As [`configure`].
pub fn from_stream(stream: TcpStream, options: &TcpOptions) -> Result<Pipe, Error> {
    configure(&stream, options)?;
    Ok(Pipe::new(TcpTransport::new(stream), options.pipe.clone()))
}

/// A TCP stream as a [`Transport`], split into tokio's owned halves.
///
/// A [`TcpStream`] is a transport by itself (every tokio `AsyncRead +
/// AsyncWrite` is), but the generic split puts a lock around the stream that
/// the reading and writing tasks then share; [`TcpStream::into_split`] needs
/// none. Every pipe this module builds uses it.
///
/// Closing the pipe's write side shuts down the write direction of the
/// socket (the peer reads end of stream); the socket is closed when both
/// halves are dropped.
#[derive(Debug)]
pub struct TcpTransport {
    stream: TcpStream,
}

impl TcpTransport {
    /// Wraps `stream` as it is (no options applied: see [`configure`]).
    pub fn new(stream: TcpStream) -> Self {
        TcpTransport { stream }
    }

    /// The stream, to query it.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// The stream back.
    pub fn into_inner(self) -> TcpStream {
        self.stream
    }
}

impl From<TcpStream> for TcpTransport {
    fn from(stream: TcpStream) -> Self {
        TcpTransport::new(stream)
    }
}

impl Transport for TcpTransport {
    type Reader = OwnedReadHalf;
    type Writer = OwnedWriteHalf;

    fn split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.stream.into_split()
    }
}

/// A TCP listener whose connections come out tuned, as ready [`Pipe`]s.
///
/// ```no_run
/// use netcore_transports::tcp::{self, TcpOptions};
/// # async fn run() -> Result<(), netcore_transports::Error> {
/// let listener = tcp::Listener::bind("[::1]:0", TcpOptions::default()).await?;
/// tracing::info!("listening on {}", listener.local_addr());
/// loop {
///     match listener.accept().await {
///         Ok((pipe, peer)) => {
///             tokio::spawn(async move {
///                 // serve `pipe`
///                 # drop((pipe, peer));
///             });
///         }
///         // One connection failed (e.g. reset before it was accepted): go on.
///         Err(error) => tracing::warn!("{error}"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Listener {
    inner: tokio::net::TcpListener,
    local: SocketAddr,
    options: TcpOptions,
}

impl Listener {
    /// Listens on `addr` (port 0 picks a free port: see
    /// [`local_addr`](Listener::local_addr)); accepted connections get
    /// `options`.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] naming `addr`.
    pub async fn bind<A>(addr: A, options: TcpOptions) -> Result<Listener, Error>
    where
        A: ToSocketAddrs + fmt::Display,
    {
        let local = addr.to_string();
        let failed = |cause| Error::Bind {
            local: Address::Tcp(local.clone()),
            cause,
        };
        let inner = tokio::net::TcpListener::bind(addr).await.map_err(failed)?;
        let listener = Listener::from_tokio(inner, options).map_err(|error| match error {
            Error::Bind { cause, .. } => failed(cause),
            other => other,
        })?;
        tracing::debug!(local = %listener.local, "TCP listening");
        Ok(listener)
    }

    /// Wraps a listener bound elsewhere; accepted connections get `options`.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] if the listener cannot report its address.
    pub fn from_tokio(
        listener: tokio::net::TcpListener,
        options: TcpOptions,
    ) -> Result<Listener, Error> {
        let local = listener.local_addr().map_err(|cause| Error::Bind {
            local: Address::Tcp("a listener of unknown address".to_owned()),
            cause,
        })?;
        Ok(Listener {
            inner: listener,
            local,
            options,
        })
    }

    /// Waits for the next connection and starts a [`Pipe`] over it.
    ///
    /// # Errors
    ///
    /// [`Error::Accept`] or [`Error::Configure`]: both concern one
    /// connection, so an accept loop should carry on after them.
    pub async fn accept(&self) -> Result<(Pipe, SocketAddr), Error> {
        let (stream, peer) = self.accept_stream().await?;
        let pipe = Pipe::new(TcpTransport::new(stream), self.options.pipe.clone());
        Ok((pipe, peer))
    }

    /// Waits for the next connection and returns the tuned stream itself,
    /// without a pipe.
    ///
    /// # Errors
    ///
    /// As [`accept`](Listener::accept).
    pub async fn accept_stream(&self) -> Result<(TcpStream, SocketAddr), Error> {
        let (stream, peer) = self.inner.accept().await.map_err(|cause| Error::Accept {
            local: Address::Tcp(self.local.to_string()),
            cause,
        })?;
        configure(&stream, &self.options)?;
        tracing::debug!(local = %self.local, peer = %peer, "TCP accepted");
        Ok((stream, peer))
    }

    /// The address listened on (with the actual port if bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The options accepted connections get.
    pub fn options(&self) -> &TcpOptions {
        &self.options
    }

    /// The tokio listener back.
    pub fn into_inner(self) -> tokio::net::TcpListener {
        self.inner
    }
}

/// A server's listener: each connection comes out tuned by this listener's
/// [`TcpOptions`] (nodelay, keepalive, `TCP_NOTSENT_LOWAT`), exactly as
/// [`connect`] tunes its own; the server starts the pipe over it with its
/// own pipe settings ([`TcpOptions::pipe`] is not used here).
///
/// A connection that cannot be tuned is dropped and reported as
/// `ConnectionAborted`, so the server carries on accepting.
impl netcore_pipe::Listener for Listener {
    type Io = TcpTransport;

    async fn accept(&mut self) -> io::Result<(TcpTransport, String)> {
        match self.accept_stream().await {
            Ok((stream, peer)) => Ok((TcpTransport::new(stream), peer.to_string())),
            Err(error) => Err(error.into_accept_io()),
        }
    }
}
