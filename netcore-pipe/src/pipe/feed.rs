//! Body feeders: a task per streamed or file body reads it a bounded few
//! chunks ahead and hands the chunks to the driver, which moves them into
//! the core up to the core's read-ahead.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{Notify, mpsc};

use super::driver::Driver;
use super::outgoing::Body;
use crate::core::Core;
use crate::error::SendError;

/// What a body feeder task sends.
pub(crate) enum Feed {
    Chunk(Bytes),
    End,
    Failed(std::io::Error),
}

impl<C: Core> Driver<C> {
    /// Supplies the body: at once for bytes, through a feeder task otherwise.
    pub(super) fn start_body(&mut self, id: u64, body: Body) {
        let stream = match body {
            Body::Bytes(bytes) => {
                // Straight into the core: no feeder, no channel. A length
                // mismatch cannot happen: the length came from the bytes.
                let _ = self.core.push_body(id, bytes, true);
                return;
            }
            Body::File { file, len } => file_chunks(file, len, self.config.core.chunk_size.max(1)),
            Body::Stream(stream) => stream,
        };
        let (tx, rx) = mpsc::channel(2);
        tokio::spawn(feed_stream(stream, tx, self.feed_notify.clone()));
        self.feeders.insert(id, rx);
    }

    /// Moves body chunks from feeder tasks into the core, keeping about two
    /// chunks buffered per message.
    pub(super) fn pump_feeders(&mut self) {
        let low_water = self.core.read_ahead();
        let mut finished = Vec::new();
        for (id, rx) in &mut self.feeders {
            loop {
                match self.core.buffered(*id) {
                    None => {
                        finished.push(*id);
                        break;
                    }
                    Some(buffered) if buffered >= low_water => break,
                    Some(_) => {}
                }
                match rx.try_recv() {
                    Ok(Feed::Chunk(chunk)) => {
                        if self.core.push_body(*id, chunk, false).is_err() {
                            finished.push(*id);
                            break;
                        }
                    }
                    Ok(Feed::End) => {
                        let _ = self.core.push_body(*id, Bytes::new(), true);
                        finished.push(*id);
                        break;
                    }
                    Ok(Feed::Failed(error)) => {
                        self.core.cancel_outgoing(*id);
                        if let Some(entry) = self.outgoing.remove(id) {
                            let _ = entry.done.send(Err(SendError::Body(Arc::new(error))));
                        }
                        finished.push(*id);
                        break;
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        // The feeder died without saying End (its stream
                        // panicked): the body is cut short, never complete.
                        self.core.cancel_outgoing(*id);
                        if let Some(entry) = self.outgoing.remove(id) {
                            let error =
                                std::io::Error::other("the body source ended without finishing");
                            let _ = entry.done.send(Err(SendError::Body(Arc::new(error))));
                        }
                        finished.push(*id);
                        break;
                    }
                }
            }
        }
        for id in finished {
            self.feeders.remove(&id);
        }
    }
}

/// A file body as a stream of chunks of at most `chunk` bytes, read as the
/// message is sent (never loaded whole).
fn file_chunks(file: tokio::fs::File, len: u64, chunk: usize) -> super::outgoing::ChunkStream {
    use tokio::io::AsyncReadExt;
    Box::pin(futures::stream::unfold(
        (file, len),
        move |(mut file, left)| async move {
            if left == 0 {
                return None;
            }
            let want = (chunk as u64).min(left) as usize;
            let mut buf = bytes::BytesMut::zeroed(want);
            Some(match file.read_exact(&mut buf).await {
                Ok(_) => (Ok(buf.freeze()), (file, left - want as u64)),
                // After an error the stream ends.
                Err(error) => (Err(error), (file, 0)),
            })
        },
    ))
}

/// Moves a body's chunks to the driver, a bounded few at a time.
/// A feeder's sending end: when the feeder ends, however it ends (a
/// panicking stream included), the channel closes *and then* the driver is
/// woken, so it sees the feeder is gone.
struct FeedSender {
    tx: Option<mpsc::Sender<Feed>>,
    notify: Arc<Notify>,
}

impl FeedSender {
    /// Sends one item and wakes the driver; false if the driver is gone.
    async fn send(&self, feed: Feed) -> bool {
        let sent = match &self.tx {
            Some(tx) => tx.send(feed).await.is_ok(),
            None => false,
        };
        self.notify.notify_one();
        sent
    }
}

impl Drop for FeedSender {
    fn drop(&mut self) {
        drop(self.tx.take());
        self.notify.notify_one();
    }
}

async fn feed_stream(
    mut stream: super::outgoing::ChunkStream,
    tx: mpsc::Sender<Feed>,
    notify: Arc<Notify>,
) {
    let feeder = FeedSender {
        tx: Some(tx),
        notify,
    };
    while let Some(item) = stream.next().await {
        let feed = match item {
            Ok(chunk) if chunk.is_empty() => continue,
            Ok(chunk) => Feed::Chunk(chunk),
            Err(error) => Feed::Failed(error),
        };
        let failed = matches!(feed, Feed::Failed(_));
        if !feeder.send(feed).await || failed {
            return;
        }
    }
    feeder.send(Feed::End).await;
}
