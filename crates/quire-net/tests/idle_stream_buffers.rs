//! libp2p frames every connection (noise) and many streams (gossipsub, identify)
//! with `asynchronous-codec`. Quire builds against a patched copy
//! (`third_party/asynchronous-codec`) whose idle frames hold no buffer: a relay keeps
//! thousands of idle member connections, and upstream kept 16 KiB of buffers for
//! each framed connection and stream for as long as it lived.
// Helpers outside `#[test]` functions panic on failure too.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use asynchronous_codec::{FramedRead, FramedWrite, LinesCodec};
use futures::task::noop_waker_ref;
use futures::{AsyncRead, SinkExt, StreamExt, executor};

/// A reader that hands out scripted chunks; `None` is a moment with nothing to read.
struct Scripted(VecDeque<Option<&'static [u8]>>);

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.0.pop_front() {
            Some(Some(chunk)) => {
                let n = chunk.len().min(buf.len());
                buf[..n].copy_from_slice(&chunk[..n]);
                Poll::Ready(Ok(n))
            }
            Some(None) | None => Poll::Pending,
        }
    }
}

fn poll_line(framed: &mut FramedRead<Scripted, LinesCodec>) -> Poll<Option<String>> {
    let mut cx = Context::from_waker(noop_waker_ref());
    framed
        .poll_next_unpin(&mut cx)
        .map(|line| line.map(|l| l.expect("a line")))
}

#[test]
fn an_idle_reader_holds_no_buffer_but_keeps_a_partial_frame() {
    let script = [
        Some(&b"one\n"[..]),
        None,
        Some(&b"tw"[..]),
        None,
        Some(&b"o\n"[..]),
    ];
    let mut framed = FramedRead::new(Scripted(script.into_iter().collect()), LinesCodec);

    assert_eq!(
        poll_line(&mut framed),
        Poll::Ready(Some("one\n".to_owned()))
    );
    assert_eq!(poll_line(&mut framed), Poll::Pending);
    assert_eq!(
        framed.read_buffer().capacity(),
        0,
        "nothing buffered while waiting: the buffer is released"
    );

    assert_eq!(poll_line(&mut framed), Poll::Pending);
    assert_eq!(&framed.read_buffer()[..], b"tw", "half a frame is kept");
    assert_eq!(
        poll_line(&mut framed),
        Poll::Ready(Some("two\n".to_owned()))
    );
}

#[test]
fn a_flushed_writer_holds_no_buffer() {
    let mut framed = FramedWrite::new(Vec::new(), LinesCodec);
    executor::block_on(framed.send("hello\n".to_owned())).expect("sent");
    executor::block_on(framed.send("again\n".to_owned())).expect("sent");
    let parts = framed.into_parts();
    assert_eq!(parts.io, b"hello\nagain\n");
    assert_eq!(parts.buffer.capacity(), 0);
}
