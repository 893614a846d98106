//! A cursor over a checked payload that turns every short read into a typed
//! [`Malformation`] instead of a panic.

use bytes::Bytes;

use crate::error::{DecodeError, Malformation};
use crate::header::FrameKind;

pub(crate) struct Reader<'a> {
    payload: &'a Bytes,
    at: usize,
    kind: FrameKind,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(payload: &'a Bytes, kind: FrameKind) -> Reader<'a> {
        Reader {
            payload,
            at: 0,
            kind,
        }
    }

    pub(crate) fn malformed(&self, what: Malformation) -> DecodeError {
        DecodeError::Malformed {
            kind: self.kind,
            what,
        }
    }

    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let slice = self
            .payload
            .get(self.at..self.at + N)
            .ok_or_else(|| self.malformed(Malformation::Short { field }))?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        self.at += N;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.take(field).map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.take(field).map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.take(field).map(u64::from_be_bytes)
    }

    /// The next `len` bytes, as a slice of the payload (no copy).
    pub(crate) fn bytes(&mut self, len: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        if self.remaining() < len {
            return Err(self.malformed(Malformation::Short { field }));
        }
        let out = self.payload.slice(self.at..self.at + len);
        self.at += len;
        Ok(out)
    }

    /// Everything left, as a slice of the payload (no copy).
    pub(crate) fn rest(&mut self) -> Bytes {
        let out = self.payload.slice(self.at..);
        self.at = self.payload.len();
        out
    }

    /// Everything left, as UTF-8 text.
    pub(crate) fn utf8_rest(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let rest = self.rest();
        String::from_utf8(rest.to_vec())
            .map_err(|_| self.malformed(Malformation::NotUtf8 { field }))
    }

    pub(crate) fn kind(&self) -> FrameKind {
        self.kind
    }

    pub(crate) fn remaining(&self) -> usize {
        self.payload.len() - self.at
    }

    /// Fails if any byte is left unread.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.malformed(Malformation::TrailingBytes { count })),
        }
    }
}
