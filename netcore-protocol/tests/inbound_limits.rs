//! Limits that span frames, enforced by the `InboundTracker`: concurrent
//! messages, message size, and the bookkeeping that catches lost chunks.

use bytes::Bytes;
use netcore_protocol::{
    Cancel, Data, End, ErrorCode, Frame, FrameKind, Inbound, InboundError, InboundTracker, Limits,
    Open,
};

fn limits() -> Limits {
    Limits::default()
        .with_max_concurrent_messages(2)
        .with_max_message_size(10)
}

fn open(id: u64, total: Option<u64>) -> Frame {
    Frame::Open(Open::new(id, total))
}

fn data(id: u64, offset: u64, payload: &'static [u8]) -> Frame {
    Frame::Data(Data {
        message_id: id,
        offset,
        payload: Bytes::from_static(payload),
    })
}

#[test]
fn too_many_concurrent_messages() {
    let mut tracker = InboundTracker::new(limits());
    assert!(tracker.on_frame(&open(1, Some(5))).is_ok());
    assert!(tracker.on_frame(&open(2, None)).is_ok());
    let error = tracker.on_frame(&open(3, Some(1)));
    assert_eq!(
        error,
        Err(InboundError::TooManyMessages {
            message_id: 3,
            max: 2
        })
    );
    assert_eq!(tracker.open_messages(), 2);
    // Once one completes there is room again.
    assert!(tracker.on_frame(&data(1, 0, b"12345")).is_ok());
    assert!(tracker.on_frame(&open(3, Some(1))).is_ok());
}

#[test]
fn unknown_length_message_growing_past_the_limit() {
    let mut tracker = InboundTracker::new(limits());
    tracker.on_frame(&open(1, None)).expect("opens");
    tracker.on_frame(&data(1, 0, b"123456")).expect("fits");
    let error = tracker.on_frame(&data(1, 6, b"12345"));
    assert_eq!(
        error,
        Err(InboundError::MessageTooLarge {
            message_id: 1,
            reached: 11,
            max: 10
        })
    );
    assert_eq!(
        error.err().map(|e| e.code()),
        Some(ErrorCode::LIMIT_EXCEEDED)
    );
}

#[test]
fn more_bytes_than_announced() {
    let mut tracker = InboundTracker::new(limits());
    tracker.on_frame(&open(1, Some(3))).expect("opens");
    assert_eq!(
        tracker.on_frame(&data(1, 0, b"1234")),
        Err(InboundError::LengthExceeded {
            message_id: 1,
            total: 3,
            reached: 4
        })
    );
}

#[test]
fn a_lost_chunk_shows_as_an_offset_gap() {
    let mut tracker = InboundTracker::new(limits());
    tracker.on_frame(&open(1, Some(9))).expect("opens");
    tracker.on_frame(&data(1, 0, b"abc")).expect("first chunk");
    assert_eq!(
        tracker.on_frame(&data(1, 6, b"ghi")),
        Err(InboundError::OffsetMismatch {
            message_id: 1,
            expected: 3,
            offset: 6
        })
    );
}

#[test]
fn a_lost_last_chunk_shows_in_end() {
    let mut tracker = InboundTracker::new(limits());
    tracker.on_frame(&open(1, None)).expect("opens");
    tracker.on_frame(&data(1, 0, b"abc")).expect("chunk");
    let end = Frame::End(End {
        message_id: 1,
        total_len: 6,
    });
    assert_eq!(
        tracker.on_frame(&end),
        Err(InboundError::EndLengthMismatch {
            message_id: 1,
            announced: 6,
            received: 3
        })
    );
    let end = Frame::End(End {
        message_id: 1,
        total_len: 3,
    });
    assert_eq!(
        tracker.on_frame(&end),
        Ok(Inbound::Progress {
            message_id: 1,
            received: 3,
            complete: true
        })
    );
    assert!(!tracker.is_open(1));
}

#[test]
fn end_for_a_message_of_known_length() {
    let mut tracker = InboundTracker::new(limits());
    tracker.on_frame(&open(1, Some(4))).expect("opens");
    let end = Frame::End(End {
        message_id: 1,
        total_len: 0,
    });
    assert_eq!(
        tracker.on_frame(&end),
        Err(InboundError::UnexpectedEnd { message_id: 1 })
    );
}

#[test]
fn duplicate_and_unknown_messages() {
    let mut tracker = InboundTracker::new(limits());
    tracker.on_frame(&open(1, Some(4))).expect("opens");
    assert_eq!(
        tracker.on_frame(&open(1, Some(4))),
        Err(InboundError::DuplicateMessage { message_id: 1 })
    );
    assert_eq!(
        tracker.on_frame(&data(2, 0, b"x")),
        Err(InboundError::UnknownMessage {
            kind: FrameKind::Data,
            message_id: 2
        })
    );
}

#[test]
fn empty_messages_complete_on_open() {
    let mut tracker = InboundTracker::new(limits());
    assert_eq!(
        tracker.on_frame(&open(1, Some(0))),
        Ok(Inbound::Progress {
            message_id: 1,
            received: 0,
            complete: true
        })
    );
    assert_eq!(tracker.open_messages(), 0);
}

#[test]
fn cancels_from_each_side() {
    let mut tracker = InboundTracker::new(limits());
    tracker.on_frame(&open(1, Some(9))).expect("opens");
    tracker.on_frame(&open(2, Some(9))).expect("opens");
    let by_sender = Frame::Cancel(Cancel {
        message_id: 1,
        by_receiver: false,
        code: ErrorCode::CANCELLED,
        reason: String::new(),
    });
    assert_eq!(
        tracker.on_frame(&by_sender),
        Ok(Inbound::Cancelled { message_id: 1 })
    );
    // A receiver-side cancel names one of *our* messages: not the tracker's business.
    let by_receiver = Frame::Cancel(Cancel {
        message_id: 2,
        by_receiver: true,
        code: ErrorCode::CANCELLED,
        reason: String::new(),
    });
    assert_eq!(tracker.on_frame(&by_receiver), Ok(Inbound::Control));
    assert!(tracker.is_open(2));
    // We cancel message 2: its chunks still in flight are ignored, not errors.
    assert!(tracker.cancel(2));
    assert_eq!(
        tracker.on_frame(&data(2, 0, b"abc")),
        Ok(Inbound::Ignored { message_id: 2 })
    );
    assert_eq!(tracker.clear(), Vec::<u64>::new());
}
