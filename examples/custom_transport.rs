//! Your own transport: Netcore over two media it has never heard of.
//!
//! A [`Transport`] is one method, `split()`, giving a reading half and a
//! writing half. This example builds two complete custom media on it and runs
//! a pipe both ways over each:
//!
//! 1. **A child process's stdin and stdout.** The example starts itself again
//!    as a child (`--child`) that speaks Netcore on its standard streams. The
//!    parent's end is a hand-written `Transport` over the child's stdout
//!    (reading) and stdin (writing); the child's end is another over its own
//!    stdin and stdout. The parent sends requests, the child answers them and
//!    says hello on its own.
//! 2. **A device with a blocking driver API.** A simulated UART offers what a
//!    vendor driver or an FFI binding typically does: a `read` that blocks
//!    with a timeout and a `write` that blocks until its FIFO has taken the
//!    bytes. [`blocking`] turns those two functions into a transport, each
//!    run on its own thread so the async runtime never blocks. Serial-style
//!    settings ([`PipeConfig::lossy_link`]) suit such a line.
//!
//! Run it with `cargo run --example custom_transport --features pipe`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::VecDeque;
use std::io;
use std::process::Stdio;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use netcore::pipe::transport::{Transport, TransportWrite, blocking};
use netcore::pipe::{Message, Pipe, PipeConfig};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::oneshot;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// No step of this example needs more than a fraction of this.
const GUARD: Duration = Duration::from_secs(30);

fn main() -> Result<()> {
    let child = std::env::args().nth(1).as_deref() == Some("--child");
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(async {
        let work = async {
            if child {
                run_child().await
            } else {
                run_parent().await?;
                run_uarts().await
            }
        };
        match tokio::time::timeout(GUARD, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err("the example took far too long: something hangs".into()),
        }
    });
    // The child's stdin is read on a blocking thread that may still wait for
    // input: do not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

// ---------------------------------------------------------------------------
// Medium 1: a child process's stdin and stdout, as hand-written transports.
// ---------------------------------------------------------------------------

/// The parent's end of the link: what the child writes to its stdout is read
/// here, what is written here arrives on the child's stdin.
struct ChildLink {
    from_child: ChildStdout,
    to_child: ChildStdin,
}

impl Transport for ChildLink {
    // Any tokio reader is a `TransportRead`, any tokio writer a
    // `TransportWrite`: the halves need no code of their own.
    type Reader = ChildStdout;
    type Writer = ChildStdin;

    fn split(self) -> (ChildStdout, ChildStdin) {
        (self.from_child, self.to_child)
    }
}

/// The child's end of the link: its own stdin and stdout.
struct StdioLink {
    stdin: tokio::io::Stdin,
    stdout: StdoutWriter,
}

impl Transport for StdioLink {
    type Reader = tokio::io::Stdin;
    type Writer = StdoutWriter;

    fn split(self) -> (tokio::io::Stdin, StdoutWriter) {
        (self.stdin, self.stdout)
    }
}

/// The child's writing half, written by hand: its stdout, plus a signal
/// once the pipe has closed it, so the child exits only after its last bytes
/// (the pipe's goodbye) are out. (tokio's `Stdout` alone would not do: its
/// shutdown does not flush, and nothing else says when the writing is over.)
struct StdoutWriter {
    stdout: tokio::io::Stdout,
    closed: Option<oneshot::Sender<()>>,
}

impl TransportWrite for StdoutWriter {
    async fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(&mut self.stdout, buf).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        AsyncWriteExt::flush(&mut self.stdout).await
    }

    async fn close(&mut self) -> io::Result<()> {
        AsyncWriteExt::flush(&mut self.stdout).await?;
        if let Some(closed) = self.closed.take() {
            let _ = closed.send(());
        }
        Ok(())
    }
}

/// Starts this example again as a child speaking Netcore on its standard
/// streams (its stderr is ours, for its log lines).
fn spawn_child() -> Result<(Child, ChildLink)> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let link = ChildLink {
        from_child: child.stdout.take().ok_or("the child has no stdout")?,
        to_child: child.stdin.take().ok_or("the child has no stdin")?,
    };
    Ok((child, link))
}

async fn run_parent() -> Result<()> {
    println!("1. A child process's stdin/stdout as a transport");
    let (mut child, link) = spawn_child()?;
    println!(
        "   started child process {}",
        child.id().unwrap_or_default()
    );
    let pipe = Pipe::new(link, PipeConfig::default());

    let words = [
        "netcore",
        "over a child's stdin",
        "and back out of its stdout",
    ];
    let mut sends = Vec::new();
    for (n, text) in words.iter().enumerate() {
        let request = Message::new(*text)
            .header("route", "upper")?
            .header("n", n.to_string())?;
        sends.push(pipe.send(request)?);
        println!("   parent -> child  #{n} {text:?}");
    }
    // Three answers and one greeting the child sends on its own, in
    // whatever order they complete.
    let mut answers = vec![None; words.len()];
    for _ in 0..=words.len() {
        let message = pipe.recv().await?;
        let body = message.body.to_bytes().await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        match message
            .headers
            .get_str("n")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if n < words.len() => {
                println!("   child  -> parent #{n} {text:?}");
                answers[n] = Some(text);
            }
            _ => println!("   child  -> parent    {text:?} (unasked)"),
        }
    }
    for send in sends {
        send.await?;
    }
    for (n, (word, answer)) in words.iter().zip(&answers).enumerate() {
        if answer.as_deref() != Some(word.to_uppercase().as_str()) {
            return Err(
                format!("answer #{n} is {answer:?}, not the upper case of {word:?}").into(),
            );
        }
    }
    let stats = pipe.stats();
    pipe.close().await?;
    let status = child.wait().await?;
    println!(
        "   closed; {} bytes out, {} bytes in; the child exited with {status}",
        stats.bytes_written, stats.bytes_read
    );
    if !status.success() {
        return Err(format!("the child failed: {status}").into());
    }
    Ok(())
}

/// The child: answers "upper" requests, greets once, and leaves when the
/// parent closes the pipe. Its stdout carries the pipe, so it logs to stderr.
async fn run_child() -> Result<()> {
    let (closed, stdout_closed) = oneshot::channel();
    let link = StdioLink {
        stdin: tokio::io::stdin(),
        stdout: StdoutWriter {
            stdout: tokio::io::stdout(),
            closed: Some(closed),
        },
    };
    let pipe = Pipe::new(link, PipeConfig::default());
    let greeting = format!("hello from process {}", std::process::id());
    let greeted = pipe.send(Message::new(greeting))?;
    let mut answered = 0;
    while let Ok(request) = pipe.recv().await {
        let body = request.body.to_bytes().await?;
        let mut answer = Message::new(String::from_utf8_lossy(&body).to_uppercase());
        if let Some(n) = request.headers.get_str("n") {
            answer = answer.header("n", n.to_owned())?;
        }
        pipe.send(answer)?;
        answered += 1;
    }
    greeted.await?;
    // `recv` fails once the connection has ended; `closed` says how.
    pipe.closed().await?;
    // Exit only once the pipe has written its last bytes and closed stdout.
    let _ = stdout_closed.await;
    eprintln!("   [child] answered {answered} requests; the parent closed the pipe; exiting");
    Ok(())
}

// ---------------------------------------------------------------------------
// Medium 2: a device with a blocking driver API, through `blocking`.
// ---------------------------------------------------------------------------

/// Bytes a UART's transmit FIFO takes in one go.
const FIFO: usize = 64;

/// A simulated UART: the blocking API of a typical device driver. Two of them
/// are wired together by [`Uart::wired_pair`]; each burst written by one is
/// received by the other.
struct Uart {
    name: &'static str,
    transmit: SyncSender<Vec<u8>>,
    receive: Mutex<Receive>,
}

struct Receive {
    wire: Receiver<Vec<u8>>,
    /// Received bytes not read yet.
    fifo: VecDeque<u8>,
}

impl Uart {
    /// Two UARTs connected by a wire that holds a few FIFO bursts.
    fn wired_pair() -> (Uart, Uart) {
        let (a_to_b, b_from_a) = sync_channel(8);
        let (b_to_a, a_from_b) = sync_channel(8);
        let uart = |name, transmit, wire| Uart {
            name,
            transmit,
            receive: Mutex::new(Receive {
                wire,
                fifo: VecDeque::new(),
            }),
        };
        (
            uart("uart0", a_to_b, a_from_b),
            uart("uart1", b_to_a, b_from_a),
        )
    }

    /// Blocks until bytes arrive (`Ok(n)`), the timeout passes
    /// (`Err(TimedOut)`), or the other UART is gone (`Ok(0)`).
    fn read(&self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let mut receive = self.receive.lock().unwrap_or_else(PoisonError::into_inner);
        if receive.fifo.is_empty() {
            match receive.wire.recv_timeout(timeout) {
                Ok(burst) => receive.fifo.extend(burst),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "no data yet"));
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(receive.fifo.len());
        for (slot, byte) in buf.iter_mut().zip(receive.fifo.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    /// Blocks until every byte of `buf` has gone out, one FIFO burst at a time.
    fn write(&self, buf: &[u8]) -> io::Result<()> {
        for burst in buf.chunks(FIFO) {
            self.transmit.send(burst.to_vec()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    format!("{}: the line is disconnected", self.name),
                )
            })?;
        }
        Ok(())
    }
}

/// A pipe over a UART through the blocking adapter.
fn uart_pipe(uart: Uart) -> Pipe {
    let uart = Arc::new(uart);
    let reading = Arc::clone(&uart);
    let link = blocking(
        // `TimedOut` means "call again" to the adapter; the timeout keeps the
        // read thread responsive when the pipe is dropped.
        move |buf: &mut [u8]| reading.read(buf, Duration::from_millis(20)),
        move |buf: &[u8]| uart.write(buf),
    );
    Pipe::new(link, PipeConfig::lossy_link())
}

async fn run_uarts() -> Result<()> {
    println!("2. A device with a blocking driver API, through `blocking`");
    let (uart0, uart1) = Uart::wired_pair();
    let (host, device) = (uart_pipe(uart0), uart_pipe(uart1));

    // The device answers every reading with an acknowledgement.
    let answering = tokio::spawn(async move {
        let mut acknowledged = 0;
        while let Ok(reading) = device.recv().await {
            let body = reading.body.to_bytes().await?;
            let ack = format!(
                "ack {} bytes: {}",
                body.len(),
                String::from_utf8_lossy(&body)
            );
            device.send(Message::new(ack))?;
            acknowledged += 1;
        }
        device.closed().await?;
        Ok::<usize, Box<dyn std::error::Error + Send + Sync>>(acknowledged)
    });

    let readings = ["temperature 21.5", "pressure 1013", "humidity 40"];
    for reading in readings {
        host.send(Message::new(reading))?.await?;
        println!("   uart0 -> uart1  {reading:?}");
        let ack = host.recv().await?;
        let text = String::from_utf8_lossy(&ack.body.to_bytes().await?).into_owned();
        println!("   uart1 -> uart0  {text:?}");
        if !text.ends_with(reading) {
            return Err(format!("unexpected acknowledgement {text:?}").into());
        }
    }
    // A bigger message, cut into 512-byte chunks and 64-byte FIFO bursts.
    let log: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    host.send(Message::new(log.clone()))?.await?;
    let ack = host.recv().await?.body.to_bytes().await?;
    let ack = String::from_utf8_lossy(&ack).into_owned();
    let summary = ack.split(':').next().unwrap_or_default();
    println!(
        "   uart0 -> uart1  a {} byte log; uart1: {summary:?}",
        log.len()
    );
    if summary != format!("ack {} bytes", log.len()) {
        return Err(format!("unexpected acknowledgement {summary:?}").into());
    }

    let stats = host.stats();
    host.close().await?;
    let acknowledged = answering.await??;
    println!(
        "   closed; {} frames out, {} frames in; uart1 acknowledged {acknowledged} messages",
        stats.frames_sent, stats.frames_received
    );
    println!("done: both custom transports carried messages both ways");
    Ok(())
}
