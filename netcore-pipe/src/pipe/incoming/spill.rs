//! Spill files, laid out so that no crash leaves bytes behind.
//!
//! Each process spills into its own directory under the spill directory,
//! `netcore-spill-<pid>-<random>`, holding a `lock` file that the process
//! keeps locked while the directory exists. Whenever a process creates its
//! directory it sweeps its siblings: one whose lock can be taken belongs to a
//! process that is gone (killed, aborted, crashed: the operating system
//! released its lock), and is removed with everything in it. The directory
//! is created under a staging name and renamed once locked, so a sweeper
//! never sees a live process's directory unlocked.
//!
//! A spill file is removed when its [`SpilledFile`] drops (or the collection
//! writing it is dropped), and the directory with the last of them.
//!
//! Unlinking each file at creation would be simpler still, but a body would
//! then have no path: [`SpilledFile::path`] and [`SpilledFile::open`] are
//! public, so the files stay named and the sweep covers crashes instead.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use std::io::Write;

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::budget::Reservation;

/// Names of per-process spill directories start with this.
pub(crate) const DIR_PREFIX: &str = "netcore-spill-";
/// A per-process directory being set up (not yet locked and renamed).
const STAGING_PREFIX: &str = ".netcore-spill-staging-";
/// The file a process keeps locked in its directory.
const LOCK_FILE: &str = "lock";
/// Names of spill files inside a process's directory start with this.
const BODY_PREFIX: &str = "body-";
/// Bytes gathered for one write to a spill file: each write is one trip to
/// the blocking pool, so they are large (a 1 GiB body is a thousand of
/// them, not sixteen thousand). A batch gathers (chunks as they came, not
/// copied) only while the body keeps arriving faster than the disk takes
/// it: once no chunk is ready, what was gathered goes to disk
/// ([`SpillWriter::idle`]), so a body whose sender pauses or stalls holds
/// no memory beyond the one write in flight.
const WRITE_BATCH: usize = 1 << 20;

/// This process's spill directory under one parent; removed (with its
/// lock) when the last spill file in it is gone.
#[derive(Debug)]
pub(crate) struct ProcessDir {
    path: PathBuf,
    /// Locked for as long as this lives; closing it releases the lock.
    _lock: File,
}

impl Drop for ProcessDir {
    fn drop(&mut self) {
        // The lock file goes first, so a sweeper never finds this directory
        // with a lock it could take; the lock itself is released only after
        // the directory is gone (the field drops after this body).
        let _ = fs::remove_file(self.path.join(LOCK_FILE));
        if let Err(error) = fs::remove_dir(&self.path) {
            tracing::debug!(dir = %self.path.display(), %error, "could not remove the spill directory");
        }
    }
}

/// This process's directories, by parent.
fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<ProcessDir>>> {
    static DIRS: OnceLock<Mutex<HashMap<PathBuf, Weak<ProcessDir>>>> = OnceLock::new();
    DIRS.get_or_init(Default::default)
}

/// This process's directory under `parent`, created (sweeping the
/// directories dead processes left) if there is none. Blocking.
fn process_dir(parent: &Path) -> io::Result<Arc<ProcessDir>> {
    let mut dirs = registry().lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(dir) = dirs.get(parent).and_then(Weak::upgrade) {
        return Ok(dir);
    }
    let dir = Arc::new(create_process_dir(parent)?);
    sweep(parent, &dir.path);
    dirs.retain(|_, dir| dir.strong_count() > 0);
    dirs.insert(parent.to_owned(), Arc::downgrade(&dir));
    Ok(dir)
}

fn create_process_dir(parent: &Path) -> io::Result<ProcessDir> {
    let mut last_error = None;
    // A sweeper of another process may take the staging directory's lock in
    // the instant between its creation and locking, and remove it: then the
    // rename fails and a fresh name is tried.
    for _ in 0..4 {
        let tag = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        let staging = parent.join(format!("{STAGING_PREFIX}{tag}"));
        let path = parent.join(format!("{DIR_PREFIX}{tag}"));
        match stage(&staging, &path) {
            Ok(lock) => return Ok(ProcessDir { path, _lock: lock }),
            Err(error) => {
                let _ = fs::remove_file(staging.join(LOCK_FILE));
                let _ = fs::remove_dir(&staging);
                last_error = Some(error);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no spill directory")))
}

/// Creates `staging` with its lock file, locks it and renames it `path`.
fn stage(staging: &Path, path: &Path) -> io::Result<File> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(staging)?;
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(staging.join(LOCK_FILE))?;
    lock.lock()?;
    fs::rename(staging, path)?;
    Ok(lock)
}

/// Removes the directories under `parent` whose owner is gone: those whose
/// lock can be taken.
fn sweep(parent: &Path, own: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !(name.starts_with(DIR_PREFIX) || name.starts_with(STAGING_PREFIX)) {
            continue;
        }
        let path = entry.path();
        if path == own || !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            continue;
        }
        // No lock file: being removed by its owner, or not ours to judge.
        let Ok(lock) = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path.join(LOCK_FILE))
        else {
            continue;
        };
        if lock.try_lock().is_ok() {
            remove_dead(&path, lock);
        }
    }
}

/// Removes a dead process's directory, whose `lock` this process now holds.
fn remove_dead(path: &Path, lock: File) {
    let mut bytes = 0u64;
    if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            if entry.file_name() == LOCK_FILE {
                continue;
            }
            bytes += entry.metadata().map_or(0, |meta| meta.len());
            // Not following links: only what is in the directory goes.
            let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
            let entry = entry.path();
            let _ = if is_dir {
                fs::remove_dir_all(&entry)
            } else {
                fs::remove_file(&entry)
            };
        }
    }
    let _ = fs::remove_file(path.join(LOCK_FILE));
    drop(lock);
    // Where an open file cannot be removed (Windows), now that it is closed.
    let _ = fs::remove_file(path.join(LOCK_FILE));
    match fs::remove_dir(path) {
        Ok(()) => tracing::info!(
            dir = %path.display(),
            bytes,
            "removed the spill files of a process that ended without removing them"
        ),
        Err(error) => tracing::warn!(
            dir = %path.display(),
            %error,
            "could not remove the spill directory of a process that is gone"
        ),
    }
}

/// A spill file being written: chunks are gathered into batches of
/// [`WRITE_BATCH`] bytes, each written on the blocking pool while the next
/// one gathers.
#[derive(Debug)]
pub(crate) struct SpillWriter {
    // Dropped in this order: the open file (or the write holding it), its
    // name, then (if it was the last file) this process's spill directory.
    /// The file, when no write holds it.
    file: Option<File>,
    /// The write in flight: it gives the file back.
    writing: Option<JoinHandle<(File, io::Result<()>)>>,
    /// Chunks not written yet, and their length.
    batch: Vec<Bytes>,
    batched: usize,
    path: tempfile::TempPath,
    written: u64,
    dir: Arc<ProcessDir>,
}

impl SpillWriter {
    /// Creates a spill file in this process's directory under `parent`
    /// (default: the system temporary directory).
    pub(crate) async fn create(parent: Option<PathBuf>) -> io::Result<SpillWriter> {
        let parent = parent.unwrap_or_else(std::env::temp_dir);
        let (dir, named) = tokio::task::spawn_blocking(move || {
            let dir = process_dir(&parent)?;
            let named = tempfile::Builder::new()
                .prefix(BODY_PREFIX)
                .tempfile_in(&dir.path)?;
            Ok::<_, io::Error>((dir, named))
        })
        .await
        .map_err(io::Error::other)??;
        let (file, path) = named.into_parts();
        Ok(SpillWriter {
            file: Some(file),
            writing: None,
            batch: Vec::new(),
            batched: 0,
            path,
            written: 0,
            dir,
        })
    }

    /// Appends `bytes` (written once a batch is full, or on
    /// [`finish`](Self::finish)).
    pub(crate) async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.written += bytes.len() as u64;
        self.batched += bytes.len();
        self.batch.push(bytes);
        if self.batched >= WRITE_BATCH {
            self.start_write().await?;
        }
        Ok(())
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// No more body is ready for now: what was gathered goes to disk
    /// (without waiting for the write).
    pub(crate) async fn idle(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.start_write().await
    }

    /// Everything gathered so far is on disk when this returns.
    pub(crate) async fn settle(&mut self) -> io::Result<()> {
        if !self.batch.is_empty() {
            self.start_write().await?;
        }
        let file = self.take_file().await?;
        self.file = Some(file);
        Ok(())
    }

    /// Waits for the write in flight, if any, and takes the file back.
    async fn take_file(&mut self) -> io::Result<File> {
        if let Some(writing) = self.writing.take() {
            let (file, result) = writing.await.map_err(io::Error::other)?;
            result?;
            return Ok(file);
        }
        self.file
            .take()
            .ok_or_else(|| io::Error::other("an earlier write to this spill file failed"))
    }

    /// Hands the batch to the blocking pool, once the write before it is
    /// done.
    async fn start_write(&mut self) -> io::Result<()> {
        let mut file = self.take_file().await?;
        let batch = std::mem::take(&mut self.batch);
        self.batched = 0;
        self.writing = Some(tokio::task::spawn_blocking(move || {
            let result = batch.iter().try_for_each(|part| file.write_all(part));
            (file, result)
        }));
        Ok(())
    }

    /// The finished file, holding `disk`, its share of the spill budget.
    pub(crate) async fn finish(mut self, disk: Reservation) -> io::Result<SpilledFile> {
        self.settle().await?;
        Ok(SpilledFile {
            file: self.path,
            len: self.written,
            _disk: disk,
            _dir: self.dir,
        })
    }
}

/// A body that spilled to disk. The file is removed when this is dropped;
/// until then it holds its share of
/// [`PipeConfig::spill_budget`](crate::PipeConfig::spill_budget).
#[derive(Debug)]
pub struct SpilledFile {
    // Dropped in this order: the file, its budget, then (if it was the last
    // file) this process's spill directory.
    file: tempfile::TempPath,
    len: u64,
    _disk: Reservation,
    _dir: Arc<ProcessDir>,
}

impl SpilledFile {
    /// Where the body is.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Opens it for reading.
    pub async fn open(&self) -> io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.path()).await
    }
}
