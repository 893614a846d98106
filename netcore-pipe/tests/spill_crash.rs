//! Spill files leave nothing behind: not when a pipe is dropped or its
//! runtime shut down mid-collection, and not when the process is killed
//! mid-spill (the next process to spill in the same directory removes what
//! the dead one left). Timeouts are failure guards only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{Body, Message, Pipe, PipeConfig, ReceivedBody};

const GUARD: Duration = Duration::from_secs(60);
const MIB: u64 = 1 << 20;
/// Set in the child process: the spill directory it spills into.
const CHILD_DIR: &str = "NETCORE_SPILL_CHILD_DIR";
/// Set in the child process: the file it creates once it is mid-spill.
const CHILD_MARKER: &str = "NETCORE_SPILL_CHILD_MARKER";

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Bytes in the files under `dir`, at any depth.
fn bytes_on_disk(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => bytes_on_disk(&entry.path()),
            _ => entry.metadata().map_or(0, |meta| meta.len()),
        })
        .sum()
}

/// The entries of `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .flatten()
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    entries
}

/// Spills into `dir` at the first byte over 64 KiB; closes fast.
fn spilling(dir: &Path) -> PipeConfig {
    PipeConfig::default()
        .with_spill_threshold(64 << 10)
        .with_spill_dir(Some(dir.to_owned()))
        .with_close_grace(Duration::from_millis(100))
}

/// A body of unknown length: `mib` MiB, then it never ends.
fn endless_body(mib: usize) -> Body {
    let first: Vec<std::io::Result<Bytes>> = (0..mib * 16)
        .map(|n| Ok(pattern(64 << 10, n as u8)))
        .collect();
    Body::stream(futures::stream::iter(first).chain(futures::stream::pending()))
}

/// Waits (up to the guard) until at least `bytes` are spilled under `dir`.
fn wait_for_spill(dir: &Path, bytes: u64) {
    let start = std::time::Instant::now();
    while bytes_on_disk(dir) < bytes {
        assert!(start.elapsed() < GUARD, "nothing spilled under {dir:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to the guard) until `dir` is empty.
fn wait_until_empty(dir: &Path) {
    let start = std::time::Instant::now();
    while !entries(dir).is_empty() {
        assert!(
            start.elapsed() < GUARD,
            "left behind: {:?} ({} bytes)",
            entries(dir),
            bytes_on_disk(dir)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The child process's work (run by `a_process_killed_mid_spill_...`, not
/// on its own): spill a body that never ends, say so, and wait to be killed.
#[test]
#[ignore = "run as a child process by a_process_killed_mid_spill_leaves_nothing_once_another_spills"]
fn child_spills_until_killed() {
    let (Some(dir), Some(marker)) = (std::env::var_os(CHILD_DIR), std::env::var_os(CHILD_MARKER))
    else {
        return;
    };
    let dir = PathBuf::from(dir);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (a, b) = memory_pair(256 << 10);
        let sender = Pipe::new(a, PipeConfig::default());
        let _receiver = Pipe::new(b, spilling(&dir));
        let _sending = sender.send(Message::new(endless_body(8))).expect("send");
        tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || wait_for_spill(&dir, 4 * MIB)
        })
        .await
        .expect("waited");
        std::fs::write(&marker, b"mid-spill").expect("marker");
        // Killed long before this.
        tokio::time::sleep(GUARD).await;
    });
}

#[test]
fn a_process_killed_mid_spill_leaves_nothing_once_another_spills() {
    let dir = tempfile::tempdir().expect("spill dir");
    let signals = tempfile::tempdir().expect("marker dir");
    let marker = signals.path().join("mid-spill");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "child_spills_until_killed",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_MARKER, &marker)
        .stdout(Stdio::null())
        .spawn()
        .expect("child process");
    let start = std::time::Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().expect("child status") {
            panic!("the child ended before spilling: {status}");
        }
        if start.elapsed() > GUARD {
            let _ = child.kill();
            panic!("the child never spilled");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // SIGKILL on Unix: nothing of the child runs after this.
    child.kill().expect("kill");
    child.wait().expect("reaped");
    let left_by_child = bytes_on_disk(dir.path());
    assert!(
        left_by_child >= 4 * MIB,
        "the killed child left only {left_by_child} bytes: the test proves nothing"
    );
    let child_dirs = entries(dir.path());
    assert_eq!(child_dirs.len(), 1, "the child's directory: {child_dirs:?}");

    // This process spills in the same directory: the dead child's files go.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (a, b) = memory_pair(256 << 10);
        let sender = Pipe::new(a, PipeConfig::default());
        let receiver = Pipe::new(b, spilling(dir.path()));
        let body = pattern(MIB as usize, 7);
        sender
            .send(Message::new(body.clone()))
            .expect("send")
            .await
            .expect("sent");
        let received = tokio::time::timeout(GUARD, receiver.recv())
            .await
            .expect("in time")
            .expect("a message");
        let ReceivedBody::File(file) = &received.body else {
            panic!("not spilled ({} bytes in memory)", received.body.len());
        };
        let now = entries(dir.path());
        assert_eq!(now.len(), 1, "{now:?}");
        assert!(
            !child_dirs.contains(&now[0]),
            "the child's directory is still there"
        );
        assert!(file.path().starts_with(&now[0]));
        assert_eq!(
            bytes_on_disk(dir.path()),
            MIB,
            "bytes beside this process's own spill"
        );
        assert!(received.body.to_bytes().await.expect("body") == body);
    });
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_pipes_mid_collection_leaves_nothing() {
    let dir = tempfile::tempdir().expect("spill dir");
    let (a, b) = memory_pair(256 << 10);
    let sender = Pipe::new(a, PipeConfig::default());
    let receiver = Pipe::new(b, spilling(dir.path()));
    let _sending = sender.send(Message::new(endless_body(4))).expect("send");
    let path = dir.path().to_owned();
    tokio::task::spawn_blocking(move || wait_for_spill(&path, 2 * MIB))
        .await
        .expect("spilled");
    drop(receiver);
    drop(sender);
    let path = dir.path().to_owned();
    tokio::task::spawn_blocking(move || wait_until_empty(&path))
        .await
        .expect("emptied");
}

#[test]
fn shutting_the_runtime_down_mid_collection_leaves_nothing() {
    let dir = tempfile::tempdir().expect("spill dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // The pipes live on: only their tasks stop, as in an aborted program
    // that unwinds.
    let pipes = runtime.block_on(async {
        let (a, b) = memory_pair(256 << 10);
        let sender = Pipe::new(a, PipeConfig::default());
        let receiver = Pipe::new(b, spilling(dir.path()));
        let sending = sender.send(Message::new(endless_body(4))).expect("send");
        (sender, receiver, sending)
    });
    wait_for_spill(dir.path(), 2 * MIB);
    drop(runtime);
    wait_until_empty(dir.path());
    drop(pipes);
}
