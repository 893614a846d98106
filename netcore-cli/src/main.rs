//! The `netcore` command: talk to any Netcore peer — or a Python netcore
//! 0.1.3 one — by hand, the way grpcurl serves gRPC.
//!
//! | file | what it holds |
//! |---|---|
//! | `main.rs` | the command line ([`Cli`]) and the exit codes |
//! | `address.rs` | one address syntax for every medium: `tcp://`, `unix://`, `serial://`, `quic://` |
//! | `link.rs` | from an address and a wire format to a pipe, with each medium's settings |
//! | `call.rs` | `netcore call`: one call, its reply printed |
//! | `serve.rs` | `netcore serve`: `echo`, `size`, `sink` and static files |
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
mod call;
mod failure;
mod link;
mod serve;

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

Addresses: tcp://host:port, unix:///path, serial:///dev/ttyUSB0?baud=115200&parity=even."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Call a route and print its reply.
    Call(call::CallArgs),
    /// Answer echo, size, sink and static files.
    Serve(serve::ServeArgs),
}

/// The wire format a peer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Wire {
    /// Netcore's LSO v2 (the default).
    Lso2,
    /// Python netcore 0.1.3's format.
    Python013,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            Command::Call(args) => call::run(args).await,
            Command::Serve(args) => serve::run(args).await,
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
