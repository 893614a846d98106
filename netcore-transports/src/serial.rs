//! Serial ports: open a port by path and get a ready [`Pipe`], configured for
//! a slow link that loses and flips bytes.
//!
//! ```no_run
//! use netcore_transports::serial::{self, Parity, SerialOptions};
//! use netcore_transports::pipe::Message;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = SerialOptions::new("/dev/ttyUSB0")
//!     .baud_rate(921_600)
//!     .parity(Parity::Even);
//! let pipe = serial::open(&options)?;
//! pipe.send(Message::new("hello over the wire"))?.await?;
//! # Ok(())
//! # }
//! ```
//!
//! # The defaults, and why
//!
//! - 115 200 baud, 8 data bits, no parity, 1 stop bit, no flow control
//!   ("115200 8N1"), the most common setting of devices and USB adapters.
//! - [`PipeConfig::lossy_link`]: **resync decoding** (a byte lost or flipped
//!   on the line fails only the frame it hit; the decoder finds the next
//!   frame by its sync marker and CRC instead of giving up on the link),
//!   512-byte chunks (a damaged frame costs little to resend, and a small
//!   message waits behind at most about 45 ms of bulk data at 115 200 baud),
//!   small windows and a 2 s keepalive.
//!
//! Both ends of a line must agree on baud rate, data bits, parity and stop
//! bits; nothing on a serial line negotiates them.
//!
//! # Flushing
//!
//! The pipe's serial writer hands bytes to the operating system's serial
//! driver and returns; it does not wait for them to leave the wire.
//! (tokio-serial's own `flush` calls `tcdrain`, which blocks the calling
//! thread until every byte has been transmitted, up to seconds at low baud
//! rates: that would stall a runtime worker thread, so
//! [`SerialTransport`] does not call it.)
//!
//! # Testing without hardware
//!
//! [`pair`] gives two connected pseudo-terminals (Unix only): a serial line
//! in the kernel, no device needed. Baud rate and parity mean nothing on a
//! pseudo-terminal and it neither loses nor damages bytes; wrap an end in
//! netcore-pipe's `Faulty` (feature `test-util`, see
//! [`transport`](netcore_pipe::transport#test-utilities)) to test damage.

use std::io::{self, IoSlice};
use std::sync::Arc;

use netcore_pipe::transport::{Transport, TransportRead, TransportWrite};
use netcore_pipe::{Pipe, PipeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

pub use tokio_serial::{
    DataBits, FlowControl, Parity, SerialPort, SerialPortBuilder, SerialStream, StopBits,
};

use crate::error::Error;

/// Default [`SerialOptions::baud_rate`].
pub const DEFAULT_BAUD_RATE: u32 = 115_200;

/// How to open a serial port and run a [`Pipe`] over it.
///
/// Start from [`SerialOptions::new`] with the port's path; every other field
/// has a default and a chainable setter of the same name:
///
/// ```
/// use netcore_transports::serial::{DataBits, FlowControl, SerialOptions, StopBits};
///
/// let options = SerialOptions::new("/dev/ttyACM0")
///     .baud_rate(57_600)
///     .stop_bits(StopBits::Two)
///     .flow_control(FlowControl::Hardware);
/// assert_eq!(options.data_bits, DataBits::Eight);
/// assert!(options.pipe.core.chunk_size <= 1024); // small chunks on serial
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SerialOptions {
    /// The port: `/dev/ttyUSB0`, `/dev/ttyACM0`, `COM3`, ….
    pub path: String,
    /// Bits per second. Default [`DEFAULT_BAUD_RATE`] (115 200).
    pub baud_rate: u32,
    /// Bits per character. Default [`DataBits::Eight`].
    pub data_bits: DataBits,
    /// Parity checking. Default [`Parity::None`].
    pub parity: Parity,
    /// Stop bits. Default [`StopBits::One`].
    pub stop_bits: StopBits,
    /// Flow control. Default [`FlowControl::None`].
    pub flow_control: FlowControl,
    /// The settings of the pipe run over the port. Default
    /// [`PipeConfig::lossy_link`] (resync decoding, 512-byte chunks).
    pub pipe: PipeConfig,
}

impl SerialOptions {
    /// Options for the port at `path`, everything else at its default
    /// (115 200 baud, 8N1, no flow control, [`PipeConfig::lossy_link`]).
    pub fn new(path: impl Into<String>) -> Self {
        SerialOptions {
            path: path.into(),
            baud_rate: DEFAULT_BAUD_RATE,
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
            flow_control: FlowControl::None,
            pipe: PipeConfig::lossy_link(),
        }
    }

    /// Sets [`baud_rate`](SerialOptions#structfield.baud_rate).
    pub fn baud_rate(mut self, baud_rate: u32) -> Self {
        self.baud_rate = baud_rate;
        self
    }

    /// Sets [`data_bits`](SerialOptions#structfield.data_bits).
    pub fn data_bits(mut self, data_bits: DataBits) -> Self {
        self.data_bits = data_bits;
        self
    }

    /// Sets [`parity`](SerialOptions#structfield.parity).
    pub fn parity(mut self, parity: Parity) -> Self {
        self.parity = parity;
        self
    }

    /// Sets [`stop_bits`](SerialOptions#structfield.stop_bits).
    pub fn stop_bits(mut self, stop_bits: StopBits) -> Self {
        self.stop_bits = stop_bits;
        self
    }

    /// Sets [`flow_control`](SerialOptions#structfield.flow_control).
    pub fn flow_control(mut self, flow_control: FlowControl) -> Self {
        self.flow_control = flow_control;
        self
    }

    /// Sets [`pipe`](SerialOptions#structfield.pipe).
    pub fn pipe(mut self, config: PipeConfig) -> Self {
        self.pipe = config;
        self
    }

    /// A tokio-serial builder with these line settings, for settings this
    /// type does not cover (DTR on open, exclusivity, …): adjust it, open it
    /// with [`SerialStream::open`], and start a pipe with [`from_stream`].
    pub fn port_builder(&self) -> SerialPortBuilder {
        tokio_serial::new(self.path.as_str(), self.baud_rate)
            .data_bits(self.data_bits)
            .parity(self.parity)
            .stop_bits(self.stop_bits)
            .flow_control(self.flow_control)
    }
}

/// Opens the port and starts a [`Pipe`] over it. Must be called inside a
/// tokio runtime.
///
/// # Errors
///
/// [`Error::SerialOpen`] naming the path and baud rate (no such device,
/// busy, permission denied, a setting the device refuses).
pub fn open(options: &SerialOptions) -> Result<Pipe, Error> {
    let transport = open_transport(options)?;
    Ok(from_stream(transport, &options.pipe))
}

/// Opens the port and returns it as a [`SerialTransport`], without a pipe
/// (for an endpoint with its own settings, say). Must be called inside a
/// tokio runtime.
///
/// Use this, not tokio-serial's `SerialStream` as a transport: a
/// `SerialStream` is a tokio `AsyncRead + AsyncWrite`, so it *is* a
/// transport, but one whose flush blocks a runtime thread in `tcdrain`
/// (see [Flushing](self#flushing)).
///
/// # Errors
///
/// As [`open`].
pub fn open_transport(options: &SerialOptions) -> Result<SerialTransport, Error> {
    let stream =
        SerialStream::open(&options.port_builder()).map_err(|cause| Error::SerialOpen {
            path: options.path.clone(),
            baud_rate: options.baud_rate,
            cause,
        })?;
    tracing::debug!(
        path = %options.path,
        baud_rate = options.baud_rate,
        "serial port open"
    );
    Ok(SerialTransport::new(stream))
}

/// Starts a [`Pipe`] with `config` over a serial port opened elsewhere: a
/// [`SerialTransport`] (an end of [`pair`], say) or a `SerialStream`
/// (through [`SerialOptions::port_builder`]), which is wrapped in a
/// `SerialTransport` so its writes never block in `tcdrain`.
pub fn from_stream(port: impl Into<SerialTransport>, config: &PipeConfig) -> Pipe {
    Pipe::new(port.into(), config.clone())
}

/// Two connected pseudo-terminals: a serial line inside the kernel, **for
/// tests**. Unix only; must be called inside a tokio runtime.
///
/// What one end writes, the other reads. Baud rate, parity and the other
/// line settings mean nothing here, and no byte is ever lost or damaged
/// (wrap an end in netcore-pipe's `Faulty`, feature `test-util`, for that).
/// Dropping one end makes the other's reads fail (`EIO` on Linux), as
/// unplugging a cable would.
///
/// Creating pairs is serialised inside this function (a process-wide lock),
/// as creating them from several threads at once is not safe with every
/// pseudo-terminal implementation.
///
/// # Errors
///
/// [`Error::SerialPair`] if the system has no pseudo-terminal left or
/// refuses one.
///
/// ```
/// # #[cfg(unix)] {
/// use netcore_transports::{pipe::{Message, PipeConfig}, serial};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let (a, b) = serial::pair()?;
/// let a = serial::from_stream(a, &PipeConfig::lossy_link());
/// let b = serial::from_stream(b, &PipeConfig::lossy_link());
/// // Or, for endpoints: `Endpoint::builder().config(EndpointConfig::lossy_link()).start(a)`.
/// a.send(Message::new("over the line"))?.await?;
/// assert_eq!(b.recv().await?.body.to_bytes().await?, "over the line");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(unix)]
pub fn pair() -> Result<(SerialTransport, SerialTransport), Error> {
    static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _creating = CREATING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (a, b) = SerialStream::pair().map_err(|cause| Error::SerialPair { cause })?;
    Ok((SerialTransport::new(a), SerialTransport::new(b)))
}

/// A serial stream as a [`Transport`]: written without the blocking drain
/// (see the [module documentation](self#flushing)), and with I/O errors that
/// name the port.
#[derive(Debug)]
pub struct SerialTransport {
    stream: SerialStream,
}

impl SerialTransport {
    /// Wraps `stream`.
    pub fn new(stream: SerialStream) -> Self {
        SerialTransport { stream }
    }

    /// The port's name (its device path), if the system gives one; for a
    /// pseudo-terminal from [`pair`], the path of the other end to open.
    pub fn name(&self) -> Option<String> {
        self.stream.name()
    }

    /// The stream, to query it (through tokio-serial's [`SerialPort`] trait).
    pub fn get_ref(&self) -> &SerialStream {
        &self.stream
    }

    /// The stream back.
    pub fn into_inner(self) -> SerialStream {
        self.stream
    }
}

impl From<SerialStream> for SerialTransport {
    fn from(stream: SerialStream) -> Self {
        SerialTransport::new(stream)
    }
}

impl Transport for SerialTransport {
    type Reader = SerialReader;
    type Writer = SerialWriter;

    fn split(self) -> (SerialReader, SerialWriter) {
        let port: Arc<str> = match self.stream.name() {
            Some(name) => name.into(),
            None => "(unnamed)".into(),
        };
        let (reader, writer) = tokio::io::split(self.stream);
        (
            SerialReader {
                inner: reader,
                port: Arc::clone(&port),
            },
            SerialWriter {
                inner: writer,
                port,
                gathered: Vec::new(),
            },
        )
    }
}

/// The reading half of a [`SerialTransport`].
#[derive(Debug)]
pub struct SerialReader {
    inner: ReadHalf<SerialStream>,
    /// The port's name, for error messages.
    port: Arc<str>,
}

impl TransportRead for SerialReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        AsyncReadExt::read(&mut self.inner, buf)
            .await
            .map_err(|error| annotate(error, "reading from", &self.port))
    }
}

/// The writing half of a [`SerialTransport`].
///
/// Gathered writes are joined into one buffer first (a serial driver has no
/// gathered write, and frames on a serial link are small), `flush` returns
/// at once instead of draining the line, and `close` does nothing: the port
/// closes when both halves are dropped.
#[derive(Debug)]
pub struct SerialWriter {
    inner: WriteHalf<SerialStream>,
    /// The port's name, for error messages.
    port: Arc<str>,
    /// Reused buffer of `write_vectored`.
    gathered: Vec<u8>,
}

impl TransportWrite for SerialWriter {
    async fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner
            .write_all(buf)
            .await
            .map_err(|error| annotate(error, "writing to", &self.port))
    }

    async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        self.gathered.clear();
        for buf in bufs {
            self.gathered.extend_from_slice(buf);
        }
        let result = self
            .inner
            .write_all(&self.gathered)
            .await
            .map_err(|error| annotate(error, "writing to", &self.port));
        if self.gathered.capacity() > 64 << 10 {
            self.gathered = Vec::new();
        }
        result
    }
}

/// `error`, its message saying which port failed doing what; an `EIO` on
/// Unix (how a serial driver reports a hang-up) gets an explanation.
fn annotate(error: io::Error, doing: &str, port: &str) -> io::Error {
    const EIO: i32 = 5;
    let hint = if cfg!(unix) && error.raw_os_error() == Some(EIO) {
        " (hang-up: the device was removed, or the other end of the line closed)"
    } else {
        ""
    };
    io::Error::new(
        error.kind(),
        format!("{doing} serial port {port}: {error}{hint}"),
    )
}
