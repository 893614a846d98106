//! The sender every byte-stream baseline shares (raw TCP, yamux): `total`
//! bytes in writes of one size, then a shutdown. Included by path by the
//! bench targets that use it.

use std::io;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes `total` bytes in `write`-byte writes, then shuts the stream
/// down.
pub(crate) async fn send_pattern(
    mut out: impl AsyncWrite + Unpin,
    total: u64,
    write: usize,
) -> io::Result<()> {
    let buf = vec![7u8; write];
    let mut left = total;
    while left > 0 {
        let n = left.min(write as u64) as usize;
        out.write_all(&buf[..n]).await?;
        left -= n as u64;
    }
    out.shutdown().await
}
