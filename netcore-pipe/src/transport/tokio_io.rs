//! Blanket implementations for tokio's `AsyncRead` / `AsyncWrite` types.

use std::future::Future;
use std::io::{self, IoSlice};

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

use super::{Transport, TransportRead, TransportWrite};

/// Every tokio byte stream is a transport, split with [`tokio::io::split`].
///
/// Types with a cheaper split of their own (such as
/// `tokio::net::TcpStream::into_split`) can be split by the caller first: each
/// half is a [`TransportRead`] / [`TransportWrite`] by itself.
impl<T> Transport for T
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    type Reader = ReadHalf<T>;
    type Writer = WriteHalf<T>;

    fn split(self) -> (Self::Reader, Self::Writer) {
        tokio::io::split(self)
    }
}

/// Every tokio reader is a transport reader.
impl<R> TransportRead for R
where
    R: AsyncRead + Unpin + Send + 'static,
{
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        AsyncReadExt::read(self, buf).await
    }

    /// Reads straight into `buf`'s spare capacity, without zeroing it first.
    async fn read_buf(&mut self, buf: &mut bytes::BytesMut, max: usize) -> io::Result<usize> {
        buf.reserve(max);
        let mut limited = (&mut *buf).limit(max);
        AsyncReadExt::read_buf(self, &mut limited).await
    }
}

/// Every tokio writer is a transport writer.
///
/// `write` is [`AsyncWriteExt::write_all`], `write_vectored` a gathered write
/// loop over [`AsyncWriteExt::write_vectored`] that resumes a partial write in
/// the middle of a slice without copying any data, `flush` is
/// [`AsyncWriteExt::flush`] and `close` is [`AsyncWriteExt::shutdown`].
impl<W> TransportWrite for W
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    async fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(self, buf).await
    }

    fn write_vectored(
        &mut self,
        bufs: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<()>> + Send {
        write_all_vectored(self, bufs)
    }

    fn flush(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        AsyncWriteExt::flush(self)
    }

    fn close(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        AsyncWriteExt::shutdown(self)
    }
}

/// Writes every byte of `bufs`, in order, with as few gathered writes as the
/// writer allows.
///
/// The common case (the writer takes everything at once) allocates nothing;
/// after a partial write the slice descriptors (not the data) are copied once
/// so they can be advanced past what was written.
async fn write_all_vectored<W>(writer: &mut W, bufs: &[IoSlice<'_>]) -> io::Result<()>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    let total: usize = bufs.iter().map(|buf| buf.len()).sum();
    if total == 0 {
        return Ok(());
    }
    let written = write_some_vectored(writer, bufs).await?;
    if written == total {
        return Ok(());
    }
    let mut owned: Vec<IoSlice<'_>> = bufs.to_vec();
    let mut rest: &mut [IoSlice<'_>] = &mut owned;
    IoSlice::advance_slices(&mut rest, written);
    while !rest.is_empty() {
        let written = write_some_vectored(writer, rest).await?;
        IoSlice::advance_slices(&mut rest, written);
    }
    Ok(())
}

/// One gathered write of at least one byte, retried on `Interrupted`.
///
/// `bufs` must hold at least one byte; a writer that accepts none fails with
/// [`io::ErrorKind::WriteZero`].
async fn write_some_vectored<W>(writer: &mut W, bufs: &[IoSlice<'_>]) -> io::Result<usize>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    loop {
        match AsyncWriteExt::write_vectored(writer, bufs).await {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "gathered write accepted no bytes",
                ));
            }
            Ok(written) => return Ok(written),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
}
