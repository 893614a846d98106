//! The writing half of a [`Faulty`](super::Faulty) link, where the damage is
//! done.

use std::io::{self, IoSlice};
use std::sync::Arc;

use super::{Cut, Damager, FaultConfig, FaultStats};
use crate::transport::TransportWrite;

/// The writing half of a [`Faulty`](super::Faulty) link: damages the bytes,
/// then writes them to the wrapped writer, and cuts the link when configured.
#[derive(Debug)]
pub struct FaultyWriter<W> {
    inner: W,
    damager: Damager,
    /// Whether any rate is above zero.
    damages: bool,
    cut_after: Option<u64>,
    /// Bytes delivered to `inner` so far.
    delivered: u64,
    stats: FaultStats,
    cut: Arc<Cut>,
    /// Reused buffer for damaged bytes.
    scratch: Vec<u8>,
}

impl<W: TransportWrite> FaultyWriter<W> {
    pub(super) fn new(
        inner: W,
        config: &FaultConfig,
        damager: Damager,
        stats: FaultStats,
        cut: Arc<Cut>,
    ) -> Self {
        Self {
            inner,
            damager,
            damages: config.damages(),
            cut_after: config.cut_after,
            delivered: 0,
            stats,
            cut,
            scratch: Vec::new(),
        }
    }

    /// A live handle on the fault counters.
    pub fn stats(&self) -> FaultStats {
        self.stats.clone()
    }

    /// Whether the link has been cut.
    pub fn is_cut(&self) -> bool {
        self.cut.is_done()
    }

    /// Fails if the link has been cut.
    fn check(&self) -> io::Result<()> {
        if self.cut.is_done() {
            Err(self.cut.error())
        } else {
            Ok(())
        }
    }

    /// Cuts the link: later operations on both halves fail, and the peer sees
    /// end of stream.
    async fn cut_link(&mut self) -> io::Error {
        tracing::debug!(delivered = self.delivered, "Faulty: cutting the link");
        self.cut.cut();
        if let Err(error) = self.inner.close().await {
            tracing::debug!(%error, "Faulty: closing the wrapped writer at the cut failed");
        }
        self.cut.error()
    }
}

impl<W: TransportWrite> TransportWrite for FaultyWriter<W> {
    async fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.check()?;
        let limit = match self.cut_after {
            Some(after) => usize::try_from(after - self.delivered).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let out: &[u8] = if self.damages {
            self.scratch.clear();
            self.damager.damage(buf, &mut self.scratch, limit);
            &self.scratch
        } else {
            &buf[..buf.len().min(limit)]
        };
        if !out.is_empty() {
            self.inner.write(out).await?;
        }
        let delivered = out.len() as u64;
        self.delivered += delivered;
        self.stats.add_delivered(delivered);
        if self.cut_after == Some(self.delivered) {
            return Err(self.cut_link().await);
        }
        Ok(())
    }

    /// Passed through as a gathered write when the link neither damages nor
    /// cuts; otherwise written slice by slice.
    async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        self.check()?;
        if !self.damages && self.cut_after.is_none() {
            let total: usize = bufs.iter().map(|buf| buf.len()).sum();
            self.inner.write_vectored(bufs).await?;
            self.stats.add_delivered(total as u64);
            self.delivered += total as u64;
            return Ok(());
        }
        for buf in bufs.iter().filter(|buf| !buf.is_empty()) {
            self.write(buf).await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.inner.flush().await
    }

    async fn close(&mut self) -> io::Result<()> {
        self.check()?;
        self.inner.close().await
    }
}
