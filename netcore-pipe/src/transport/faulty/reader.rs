//! The reading half of a [`Faulty`](super::Faulty) link.

use std::io;
use std::pin::pin;
use std::sync::Arc;

use super::Cut;
use crate::transport::TransportRead;

/// The reading half of a [`Faulty`](super::Faulty) link: passes bytes through
/// unchanged until the link is cut, then fails with
/// [`io::ErrorKind::ConnectionAborted`].
#[derive(Debug)]
pub struct FaultyReader<R> {
    inner: R,
    cut: Arc<Cut>,
}

impl<R> FaultyReader<R> {
    pub(super) fn new(inner: R, cut: Arc<Cut>) -> Self {
        Self { inner, cut }
    }

    /// Whether the link has been cut.
    pub fn is_cut(&self) -> bool {
        self.cut.is_done()
    }
}

impl<R: TransportRead> TransportRead for FaultyReader<R> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let cut = &*self.cut;
        let mut cut_now = pin!(cut.notify.notified());
        // Register for the wake-up before looking at the flag, so a cut in
        // between is not missed.
        cut_now.as_mut().enable();
        if cut.is_done() {
            return Err(cut.error());
        }
        tokio::select! {
            biased;
            () = cut_now => Err(cut.error()),
            read = self.inner.read(buf) => read,
        }
    }
}
