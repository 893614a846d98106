//! The `netcore` command: talk to any Netcore peer — or a Python netcore
//! 0.1.3 one — by hand, the way grpcurl serves gRPC.
//!
//! | file | what it holds |
//! |---|---|
//! | `main.rs` | the command line ([`Cli`]) and the exit codes |
//! | `address.rs` | one address syntax for every medium: `tcp://`, `unix://`, `serial://`, `quic://` |
//! | `link.rs` | from an address and a wire format to a pipe, with each medium's settings |
//! | `call.rs` | `netcore call`: one call, its reply printed |
//! | `serve.rs` | `netcore serve`: `echo`, `size`, `sink`, static files and shell commands |
//! | `listen.rs` | `netcore listen`: every incoming message printed |
//! | `send.rs` | `netcore send`: an upload with a progress bar |
//! | `stats.rs` | `netcore stats` and `--stats`: live pipe figures |
//! | `bench.rs` | `netcore bench`: throughput, round trip under bulk, calls/s |
//! | `failure.rs` | why a command failed, one exit code per kind |
//!
//! Data flows: arguments → [`address::Address`] → `link::connect` (a
//! [`netcore_pipe::Pipe`] tuned for the medium and wire format) → an
//! endpoint → the call, or a `Server` over the medium's listener.

// A command line tool talks to its user on standard error: the workspace's
// ban on printing is for the libraries.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod address;
mod bench;
mod call;
mod failure;
mod link;
mod listen;
mod send;
mod serve;
mod stats;

/// Talk to Netcore and Python netcore 0.1.3 peers from a shell.
#[derive(Debug, Parser)]
#[command(
    name = "netcore",
    version,
    about,
    after_help = "\
Examples:
  netcore serve tcp://127.0.0.1:7000 &
  netcore call tcp://127.0.0.1:7000 /echo --data hello
  netcore call tcp://127.0.0.1:7000 /size --data @big.bin
  netcore send tcp://127.0.0.1:7000 --file big.bin
  netcore listen tcp://127.0.0.1:7001 --show 64
  netcore bench tcp://127.0.0.1:7000
  netcore serve quic://127.0.0.1:7443 &     # prints `certificate PATH`
  netcore call quic://127.0.0.1:7443 /echo --data hi --ca PATH
  netcore completions bash > /etc/bash_completion.d/netcore

Addresses: tcp://host:port, unix:///path, serial:///dev/ttyUSB0?baud=115200&parity=even,
quic://host:port (with --ca, and --cert/--key for client certificates).
Wire formats: --wire lso2 (Netcore, the default) or --wire python013.
Logs: -v the connection's life, -vv each call and message, -vvv frames
(or RUST_LOG=netcore_pipe=debug and the like).
Each command's --help has its own examples."
)]
struct Cli {
    /// Print the connection's live figures on standard error once a second.
    #[arg(long, global = true)]
    stats: bool,
    /// More log lines on standard error: -v the connection's life, -vv each
    /// call and message, -vvv each batch of frames (RUST_LOG, if set, wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Call a route and print its reply.
    Call(call::CallArgs),
    /// Answer echo, size, sink, static files and shell commands.
    Serve(serve::ServeArgs),
    /// Accept connections and print every incoming message.
    Listen(listen::ListenArgs),
    /// Upload a file, with a progress bar on a terminal.
    Send(send::SendArgs),
    /// Print a connection's live figures once a second.
    Stats(stats::StatsArgs),
    /// Measure throughput, round trip under bulk and calls/s against a `netcore serve`.
    Bench(bench::BenchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "\
Examples:
  netcore completions bash > ~/.local/share/bash-completion/completions/netcore
  netcore completions zsh > ~/.zfunc/_netcore
  netcore completions fish > ~/.config/fish/completions/netcore.fish")]
    Completions {
        /// The shell to write the script for.
        shell: clap_complete::Shell,
    },
}

/// The wire format a peer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Wire {
    /// Netcore's LSO v2 (the default).
    Lso2,
    /// Python netcore 0.1.3's format.
    Python013,
}

/// Sends the libraries' `tracing` events to standard error: warnings by
/// default, more with each `-v`, or what `RUST_LOG` says.
fn logs(verbose: u8) {
    use std::io::IsTerminal;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "warn,netcore_pipe={level},netcore_endpoint={level},netcore_transports={level}"
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut command, "netcore", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    logs(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("netcore: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Call(args) => call::run(args, cli.stats).await,
            Command::Serve(args) => serve::run(args, cli.stats).await,
            Command::Listen(args) => listen::run(args, cli.stats).await,
            Command::Send(args) => send::run(args, cli.stats).await,
            Command::Stats(args) => stats::run(args).await,
            Command::Bench(args) => bench::run(args, cli.stats).await,
            Command::Completions { .. } => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("netcore: {failure}");
            failure.exit_code()
        }
    }
}
