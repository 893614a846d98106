//! Development automation for the Netcore workspace, run as `cargo xtask …`
//! (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask test`: every check CI runs, in order, stopping at the first
//!   failure: formatting, clippy, tests (nextest when installed, plus doctests),
//!   rustdoc with warnings denied, a `cargo check` of the fuzz targets,
//!   every example run to its end (`cargo xtask examples` alone), and every
//!   fuzz target run for a short while ([`FUZZ_SMOKE_SECONDS`] each, without
//!   a sanitizer; `NETCORE_FUZZ_SECONDS` changes it, `NETCORE_SKIP_FUZZ=1`
//!   skips the runs where cargo-fuzz cannot be installed, offline).
//! - `cargo xtask pyenv`: makes `target/py013-venv`, a Python venv with the
//!   Python framework `netcore==0.1.3` (from `tests/python/requirements.txt`)
//!   for the interop tests; `cargo xtask test` does it first and points the
//!   tests at it with `NETCORE_PY013_PYTHON`.
//! - `cargo xtask fuzz <target> [--seconds N] [--sanitizer none]`: runs a
//!   cargo-fuzz target (one of [`FUZZ_TARGETS`]) for N seconds on stable
//!   Rust (via `RUSTC_BOOTSTRAP=1`), installing cargo-fuzz first if it is
//!   missing.
//! - `cargo xtask bench [--bench NAME] [-- ARGS…]`: runs every bench (or the
//!   one named): `codec` (criterion, with `--noplot`), `pipe` (the Pipe
//!   against raw TCP over loopback; figures also in `target/bench/pipe.json`)
//!   and `python` (Python 0.1.3 mode against Python peers; it makes the venv
//!   and builds `examples/python_peer` first; `target/bench/python.json`)
//!   and `resources` (a server's heap and RSS per idle connection, 10 000
//!   idle connections, churn, the worst hostile connection, each measured in
//!   child processes; `target/bench/resources.json`, see
//!   `docs/resources.md`) and `wan` (Netcore against raw TCP and yamux
//!   through a delay proxy at 5, 56 and 200 ms RTT; `target/bench/wan.json`,
//!   see `docs/wan.md`) and `streams` (a 4 GiB upload and download through
//!   an endpoint, each side's peak RSS measured in a child process;
//!   `target/bench/streams.json`) and `peers` (Netcore against tarpc on small calls,
//!   and against raw TCP and yamux on bulk, in the same run;
//!   `target/bench/peers.json`), passing extra arguments
//!   on, for instance `cargo xtask bench -- --quick`.
//!
//! Every command runs from the workspace root. The only dependency is clap, so
//! that the tool itself builds in seconds.

// xtask is a command-line tool: printing progress and errors is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

/// Netcore development tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about, long_about = None)]
struct Cli {
    /// The task to run.
    #[command(subcommand)]
    task: Task,
}

/// The tasks `cargo xtask` knows.
#[derive(Debug, Subcommand)]
enum Task {
    /// Run everything CI checks: fmt, clippy, tests, doctests, docs, fuzz
    /// build check, examples, a short run of every fuzz target.
    Test,
    /// Make the Python venv with netcore 0.1.3 the interop tests use
    /// (`target/py013-venv`); a no-op when it is already there.
    Pyenv,
    /// Build every example and run each to its end (the last step of `test`).
    Examples,
    /// Run a cargo-fuzz target for a while (installs cargo-fuzz if missing).
    Fuzz {
        /// Fuzz target name (a file in fuzz/fuzz_targets/, without `.rs`):
        /// decode, pipe, py013, py013_core, pipe_async, endpoint_headers,
        /// send_scheduler.
        target: String,
        /// How long to fuzz, in seconds (libFuzzer's `-max_total_time`).
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Sanitizer passed to `cargo fuzz run --sanitizer` (e.g. `none` for
        /// speed); cargo-fuzz's default (address) when omitted.
        #[arg(long)]
        sanitizer: Option<String>,
        /// Extra arguments for libFuzzer, after `--` (e.g. `-- -jobs=2`).
        #[arg(last = true)]
        libfuzzer_args: Vec<String>,
    },
    /// Run the benchmarks: every one (`codec`, criterion; `pipe`, the Pipe
    /// against raw TCP; `python`, Python 0.1.3 mode against Python peers;
    /// `resources`, memory per connection and under attack; `wan`, through a
    /// delay proxy at 5, 56 and 200 ms RTT; `peers`, small calls against
    /// tarpc, bulk against raw TCP and yamux) unless `--bench` names one.
    Bench {
        /// Bench target to run; all of them when omitted.
        #[arg(long)]
        bench: Option<String>,
        /// Extra arguments for the benches, after `--` (e.g. `-- --quick`).
        #[arg(last = true)]
        criterion_args: Vec<String>,
    },
}

/// Why a task failed.
#[derive(Debug)]
enum Failure {
    /// A command could not be started at all.
    Spawn {
        /// The step that ran it.
        step: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// A command ran and exited unsuccessfully.
    Status {
        /// The step that ran it.
        step: String,
        /// Its exit code (`None` if killed by a signal).
        code: Option<i32>,
    },
    /// The workspace root could not be located.
    NoRoot,
}

impl Failure {
    /// The exit code the xtask should end with.
    fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Status {
                code: Some(code), ..
            } => u8::try_from(*code)
                .ok()
                .filter(|code| *code != 0)
                .map_or(ExitCode::FAILURE, ExitCode::from),
            _ => ExitCode::FAILURE,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Spawn { step, error } => write!(f, "step `{step}` could not start: {error}"),
            Failure::Status {
                step,
                code: Some(code),
            } => write!(f, "step `{step}` failed (exit code {code})"),
            Failure::Status { step, code: None } => {
                write!(f, "step `{step}` was killed by a signal")
            }
            Failure::NoRoot => f.write_str("cannot locate the workspace root"),
        }
    }
}

/// One command to run from the workspace root, with a name for messages.
struct Step {
    /// Human-readable name, printed as a header and in failure messages.
    name: String,
    /// The command.
    command: Command,
}

impl Step {
    /// A `cargo` invocation with `args`, run from `root`.
    fn cargo<I, S>(root: &Path, name: impl Into<String>, args: I) -> Step
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(cargo());
        command.args(args).current_dir(root);
        Step {
            name: name.into(),
            command,
        }
    }

    /// Any program with `args`, run from `root`.
    fn program<I, S>(
        root: &Path,
        name: impl Into<String>,
        program: impl AsRef<OsStr>,
        args: I,
    ) -> Step
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command.args(args).current_dir(root);
        Step {
            name: name.into(),
            command,
        }
    }

    /// Sets an environment variable for the command.
    fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Step {
        self.command.env(key, value);
        self
    }

    /// Prints a header line, runs the command and checks its exit status.
    fn run(mut self) -> Result<(), Failure> {
        println!("==> {}", self.name);
        let status = self.command.status().map_err(|error| Failure::Spawn {
            step: self.name.clone(),
            error,
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(Failure::Status {
                step: self.name,
                code: status.code(),
            })
        }
    }
}

/// The cargo binary that launched us (or `cargo` from `PATH`).
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> Result<PathBuf, Failure> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or(Failure::NoRoot)
}

/// Whether `cargo <subcommand> --version` runs successfully (the tool is installed).
fn cargo_tool_available(root: &Path, subcommand: &str) -> bool {
    Command::new(cargo())
        .args([subcommand, "--version"])
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Where `cargo xtask pyenv` puts the venv.
const PY_VENV: &str = "target/py013-venv";

/// The environment variable the interop tests read the venv's Python from.
const PY_ENV_VAR: &str = "NETCORE_PY013_PYTHON";

/// `cargo xtask pyenv`: a venv with the Python framework netcore 0.1.3 for
/// the interop tests. Returns its Python.
fn pyenv(root: &Path) -> Result<PathBuf, Failure> {
    let venv = root.join(PY_VENV);
    let python = venv.join("bin").join("python");
    let ready = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m, netcore; assert m.version('netcore') == '0.1.3'",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if ready {
        println!("==> {PY_VENV}: netcore 0.1.3 already installed");
        return Ok(python);
    }
    let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    Step::program(
        root,
        format!("{system_python} -m venv {PY_VENV}"),
        &system_python,
        ["-m", "venv", PY_VENV],
    )
    .run()?;
    Step::program(
        root,
        format!("{PY_VENV}/bin/python -m pip install -r tests/python/requirements.txt"),
        &python,
        [
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            "tests/python/requirements.txt",
        ],
    )
    .run()?;
    Ok(python)
}

/// `cargo xtask test`: the CI checks, in order, stopping at the first failure.
fn test(root: &Path) -> Result<(), Failure> {
    let nextest = cargo_tool_available(root, "nextest");
    let python = pyenv(root)?;
    let mut steps = vec![
        Step::cargo(root, "cargo fmt --all --check", ["fmt", "--all", "--check"]),
        Step::cargo(
            root,
            "cargo fmt --manifest-path fuzz/Cargo.toml --check",
            ["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"],
        ),
        Step::cargo(
            root,
            "cargo clippy --workspace --all-targets --all-features -- -D warnings",
            [
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    if nextest {
        steps.push(
            Step::cargo(
                root,
                "cargo nextest run --workspace --all-features",
                ["nextest", "run", "--workspace", "--all-features"],
            )
            .env(PY_ENV_VAR, &python),
        );
        steps.push(Step::cargo(
            root,
            "cargo test --workspace --all-features --doc",
            ["test", "--workspace", "--all-features", "--doc"],
        ));
    } else {
        println!("(cargo-nextest not installed: using cargo test)");
        steps.push(
            Step::cargo(
                root,
                "cargo test --workspace --all-features",
                ["test", "--workspace", "--all-features"],
            )
            .env(PY_ENV_VAR, &python),
        );
    }
    steps.push(
        Step::cargo(
            root,
            "RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --all-features --no-deps",
            ["doc", "--workspace", "--all-features", "--no-deps"],
        )
        .env("RUSTDOCFLAGS", "-D warnings"),
    );
    steps.push(Step::cargo(
        root,
        "cargo check --manifest-path fuzz/Cargo.toml --bins",
        ["check", "--manifest-path", "fuzz/Cargo.toml", "--bins"],
    ));
    let count = steps.len() + 2;
    for step in steps {
        step.run()?;
    }
    examples(root)?;
    fuzz_smoke(root)?;
    println!("==> all {count} steps passed");
    Ok(())
}

/// Every fuzz target (a `[[bin]]` of `fuzz/Cargo.toml`, a file in
/// `fuzz/fuzz_targets/`), in the order CI runs them.
const FUZZ_TARGETS: [&str; 7] = [
    "decode",
    "pipe",
    "py013",
    "py013_core",
    "pipe_async",
    "endpoint_headers",
    "send_scheduler",
];

/// How long `cargo xtask test` runs each fuzz target, in seconds.
const FUZZ_SMOKE_SECONDS: u64 = 15;

/// Longest one fuzz input may run before libFuzzer reports it as a hang, in
/// seconds (the targets run in milliseconds; the pipe one on a paused clock).
const FUZZ_INPUT_TIMEOUT: u64 = 10;

/// The last step of `cargo xtask test`: every fuzz target for a short
/// while, without a sanitizer (several times faster; the workspace forbids
/// unsafe code, so what is looked for is panics, hangs and broken
/// invariants). All targets are built in one go first.
/// `NETCORE_FUZZ_SECONDS` sets the time per target (0 skips);
/// `NETCORE_SKIP_FUZZ=1` skips the runs (for machines where cargo-fuzz
/// cannot be installed, offline).
fn fuzz_smoke(root: &Path) -> Result<(), Failure> {
    let skip = std::env::var("NETCORE_SKIP_FUZZ").is_ok_and(|v| !v.is_empty() && v != "0");
    let seconds = match std::env::var("NETCORE_FUZZ_SECONDS") {
        Ok(value) => value.trim().parse().unwrap_or(FUZZ_SMOKE_SECONDS),
        Err(_) => FUZZ_SMOKE_SECONDS,
    };
    if skip || seconds == 0 {
        println!("==> fuzz runs skipped (NETCORE_SKIP_FUZZ / NETCORE_FUZZ_SECONDS=0)");
        return Ok(());
    }
    install_cargo_fuzz(root)?;
    let started = Instant::now();
    Step::cargo(
        root,
        "RUSTC_BOOTSTRAP=1 cargo fuzz build --sanitizer none",
        ["fuzz", "build", "--sanitizer", "none"],
    )
    .env("RUSTC_BOOTSTRAP", "1")
    .run()?;
    for target in FUZZ_TARGETS {
        fuzz(
            root,
            target,
            seconds,
            Some("none"),
            &[format!("-timeout={FUZZ_INPUT_TIMEOUT}")],
        )?;
    }
    println!(
        "    fuzz runs: {} targets in {:.0} s",
        FUZZ_TARGETS.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Installs cargo-fuzz (`--locked`) if `cargo fuzz` is not there.
fn install_cargo_fuzz(root: &Path) -> Result<(), Failure> {
    if cargo_tool_available(root, "fuzz") {
        return Ok(());
    }
    Step::cargo(
        root,
        "cargo install cargo-fuzz --locked (cargo fuzz not found; NETCORE_SKIP_FUZZ=1 skips the fuzz runs offline)",
        ["install", "cargo-fuzz", "--locked"],
    )
    .run()
}

/// Examples that run on their own and exit by themselves.
const SELF_CONTAINED_EXAMPLES: [&str; 8] = [
    "demo",
    "wire_format",
    "custom_transport",
    "serial_quickstart",
    "blueprint_cache_scheduler",
    "stream_download",
    "stream_upload",
    "stream_duplex",
];

/// How long one example may run before it counts as hung.
const EXAMPLE_LIMIT: Duration = Duration::from_secs(120);

/// Builds every example and runs each: the self-contained ones alone, and
/// `python_peer` as a server with a second `python_peer` calling it.
fn examples(root: &Path) -> Result<(), Failure> {
    let step = "run every example";
    println!("==> {step}");
    Step::cargo(
        root,
        "cargo build --examples --all-features",
        ["build", "--examples", "--all-features"],
    )
    .run()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    let dir = target.join("debug").join("examples");
    for name in SELF_CONTAINED_EXAMPLES {
        let mut command = Command::new(dir.join(name));
        command.current_dir(root).stdout(Stdio::null());
        run_bounded(&format!("example {name}"), command)?;
    }
    python_peer_round_trip(&dir, root)
}

/// Runs `command` to its end within [`EXAMPLE_LIMIT`]; a failure names it.
fn run_bounded(name: &str, mut command: Command) -> Result<(), Failure> {
    let started = Instant::now();
    let mut child = command.spawn().map_err(|error| Failure::Spawn {
        step: name.to_owned(),
        error,
    })?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > EXAMPLE_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("{name} ran over {EXAMPLE_LIMIT:?}: killed");
                return Err(Failure::Status {
                    step: name.to_owned(),
                    code: None,
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => {
                return Err(Failure::Spawn {
                    step: name.to_owned(),
                    error,
                });
            }
        }
    };
    println!(
        "    {name}: {status} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Status {
            step: name.to_owned(),
            code: status.code(),
        })
    }
}

/// `python_peer --listen` on a free port for a few seconds, and
/// `python_peer --connect` calling its `echo` route once.
fn python_peer_round_trip(dir: &Path, root: &Path) -> Result<(), Failure> {
    let name = "example python_peer (--listen, then --connect to it)";
    let failed = |error: std::io::Error| Failure::Spawn {
        step: name.to_owned(),
        error,
    };
    let mut server = Command::new(dir.join("python_peer"))
        .args(["--listen", "127.0.0.1:0", "--seconds", "20"])
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(failed)?;
    let mut line = String::new();
    if let Some(stdout) = server.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(failed)?;
    }
    let Some(address) = line.trim().strip_prefix("listening on ") else {
        let _ = server.kill();
        let _ = server.wait();
        eprintln!("python_peer --listen printed {line:?}, not `listening on ADDR`");
        return Err(Failure::Status {
            step: name.to_owned(),
            code: None,
        });
    };
    let output = Command::new(dir.join("python_peer"))
        .args([
            "--connect",
            address,
            "--route",
            "echo",
            "--data",
            "{\"x\": 1}",
        ])
        .args(["--timeout", "20"])
        .current_dir(root)
        .output();
    let _ = server.kill();
    let _ = server.wait();
    let output = output.map_err(failed)?;
    let reply = String::from_utf8_lossy(&output.stdout);
    println!("    {name}: replied {}", reply.trim());
    if output.status.success() && reply.trim() == "{\"x\": 1}" {
        Ok(())
    } else {
        eprintln!(
            "python_peer --connect: {}, stdout {reply:?}, stderr {:?}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Err(Failure::Status {
            step: name.to_owned(),
            code: output.status.code(),
        })
    }
}

/// `cargo xtask fuzz`: installs cargo-fuzz if needed, then fuzzes `target`.
fn fuzz(
    root: &Path,
    target: &str,
    seconds: u64,
    sanitizer: Option<&str>,
    libfuzzer_args: &[String],
) -> Result<(), Failure> {
    if !FUZZ_TARGETS.contains(&target) {
        eprintln!(
            "unknown fuzz target {target:?}; the targets are: {}",
            FUZZ_TARGETS.join(", ")
        );
        return Err(Failure::Status {
            step: format!("cargo xtask fuzz {target}"),
            code: Some(2),
        });
    }
    install_cargo_fuzz(root)?;
    let mut args: Vec<String> = vec!["fuzz".into(), "run".into()];
    if let Some(sanitizer) = sanitizer {
        args.extend(["--sanitizer".into(), sanitizer.into()]);
    }
    args.extend([
        target.into(),
        "--".into(),
        format!("-max_total_time={seconds}"),
    ]);
    args.extend(libfuzzer_args.iter().cloned());
    let name = format!("RUSTC_BOOTSTRAP=1 cargo {}", args.join(" "));
    Step::cargo(root, name, args)
        .env("RUSTC_BOOTSTRAP", "1")
        .run()
}

/// Every bench target, in the order `cargo xtask bench` runs them.
const BENCHES: [&str; 7] = [
    "codec",
    "pipe",
    "python",
    "resources",
    "streams",
    "wan",
    "peers",
];

/// `cargo xtask bench`: runs one bench, or all of them, passing extra args
/// through (criterion benches also get `--noplot`: no gnuplot here).
fn bench(root: &Path, only: Option<&str>, extra_args: &[String]) -> Result<(), Failure> {
    let names: Vec<&str> = match only {
        Some(name) => vec![name],
        None => BENCHES.to_vec(),
    };
    for name in names {
        let mut env = Vec::new();
        if name == "python" {
            // Python 0.1.3 against the Rust server example, both as processes.
            env.push(("NETCORE_PY013_PYTHON", pyenv(root)?.into_os_string()));
            Step::cargo(
                root,
                "cargo build --release --example python_peer",
                ["build", "--release", "--example", "python_peer"],
            )
            .run()?;
        }
        let mut args: Vec<String> = ["bench", "--all-features", "--bench", name, "--"]
            .map(String::from)
            .to_vec();
        if name == "codec" {
            args.push("--noplot".to_owned());
        }
        args.extend(extra_args.iter().cloned());
        let step = format!("cargo {}", args.join(" "));
        let mut step = Step::cargo(root, step, args);
        for (key, value) in env {
            step = step.env(key, value);
        }
        step.run()?;
        if name == "resources" && extra_args.is_empty() {
            // The churn again, every process on an allocator that returns
            // freed pages (docs/resources.md, "Churn").
            let args: Vec<String> = [
                "bench",
                "--all-features",
                "--features",
                "netcore-hostile/mimalloc",
                "--bench",
                "resources",
                "--",
                "--only",
                "churn",
            ]
            .map(String::from)
            .to_vec();
            Step::cargo(root, format!("cargo {}", args.join(" ")), args).run()?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = workspace_root().and_then(|root| match &cli.task {
        Task::Test => test(&root),
        Task::Pyenv => pyenv(&root).map(|_| ()),
        Task::Examples => examples(&root),
        Task::Fuzz {
            target,
            seconds,
            sanitizer,
            libfuzzer_args,
        } => fuzz(
            &root,
            target,
            *seconds,
            sanitizer.as_deref(),
            libfuzzer_args,
        ),
        Task::Bench {
            bench: name,
            criterion_args,
        } => bench(&root, name.as_deref(), criterion_args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("xtask: {failure}");
            failure.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fuzz_target_file_is_listed_and_every_listed_target_has_a_file() {
        let root = workspace_root().expect("the workspace root");
        let mut files: Vec<String> = std::fs::read_dir(root.join("fuzz").join("fuzz_targets"))
            .expect("fuzz/fuzz_targets")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".rs").map(str::to_owned)
            })
            .collect();
        files.sort();
        let mut listed: Vec<String> = FUZZ_TARGETS.iter().map(|t| (*t).to_owned()).collect();
        listed.sort();
        assert_eq!(files, listed);
        let manifest =
            std::fs::read_to_string(root.join("fuzz").join("Cargo.toml")).expect("fuzz/Cargo.toml");
        for target in FUZZ_TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "fuzz/Cargo.toml has no [[bin]] {target}"
            );
        }
    }
}
