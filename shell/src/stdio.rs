//! The process's stdin for the runtimes, read by a thread of its own.
//!
//! `tokio::io::stdin` hands every read to tokio's blocking pool (a task per read) and copies
//! the bytes once more from the pool's buffer into the caller's. Here one thread blocks in
//! `read` and hands whole chunks over, which the runtime reads lines from in place: no copy
//! and no task per read on the runtime's side, and reading overlaps with handling.
//! (Stdout stays `tokio::io::stdout`: the writer hands it one batch of many lines at a time,
//! so its per-write cost is already spread thin.)
//!
//! Memory is bounded: [`READ_CHUNKS`] chunks of [`READ_CHUNK_BYTES`] circulate between the
//! thread and the reader; the thread waits for a consumed chunk to come back before it reads
//! again, so input that is not being handled stays in the pipe (backpressure).
//!
//! [`ThreadReader`] works over any `Read + Send` (tests use in-memory ones); [`stdin`] is the
//! process's own.

use std::io::{self, Read};
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};
use tokio::sync::mpsc;

/// Bytes one read of the reading thread asks for.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Chunks in circulation between the reading thread and the runtime: one being parsed, one
/// ready, one being filled.
pub const READ_CHUNKS: usize = 3;

/// A filled chunk and how many of its bytes are input.
type Filled = io::Result<(Vec<u8>, usize)>;

/// An [`AsyncBufRead`] over a `Read` that a thread of its own reads.
#[derive(Debug)]
pub struct ThreadReader {
    filled: mpsc::Receiver<Filled>,
    empty: std_mpsc::SyncSender<Vec<u8>>,
    /// The chunk being consumed: `(bytes, end)`, read up to `pos`.
    current: Option<(Vec<u8>, usize)>,
    pos: usize,
}

/// The process's stdin, read by a thread of its own.
pub fn stdin() -> ThreadReader {
    ThreadReader::spawn(io::stdin())
}

impl ThreadReader {
    /// Starts the reading thread over `source`. It ends at end of input, at the first read
    /// error (handed on to the reader), or when the reader is dropped.
    pub fn spawn<R: Read + Send + 'static>(source: R) -> Self {
        let (filled_tx, filled) = mpsc::channel(READ_CHUNKS);
        let (empty, empty_rx) = std_mpsc::sync_channel(READ_CHUNKS);
        for _ in 0..READ_CHUNKS {
            // The channel holds READ_CHUNKS; these sends cannot block.
            let _ = empty.send(vec![0; READ_CHUNK_BYTES]);
        }
        let spawned = std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || read_loop(source, &filled_tx, &empty_rx));
        if let Err(e) = spawned {
            // Without the thread the reader sees end of input at once.
            tracing::error!(error = %e, "cannot start the stdin thread");
        }
        Self {
            filled,
            empty,
            current: None,
            pos: 0,
        }
    }
}

fn read_loop<R: Read>(
    mut source: R,
    filled: &mpsc::Sender<Filled>,
    empty: &std_mpsc::Receiver<Vec<u8>>,
) {
    // `recv` fails once the reader is gone: nobody wants more input.
    while let Ok(mut chunk) = empty.recv() {
        let got = loop {
            match source.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match got {
            // End of input is the channel closing, not an empty chunk.
            Ok(0) => return,
            Ok(n) => {
                if filled.blocking_send(Ok((chunk, n))).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = filled.blocking_send(Err(e));
                return;
            }
        }
    }
}

impl AsyncRead for ThreadReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for ThreadReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        let consumed = this
            .current
            .as_ref()
            .map_or(true, |(_, end)| this.pos >= *end);
        if consumed {
            if let Some((chunk, _)) = this.current.take() {
                // The thread may be gone (end of input); the chunk is then just dropped.
                let _ = this.empty.try_send(chunk);
            }
            match ready!(this.filled.poll_recv(cx)) {
                Some(Ok(chunk)) => {
                    this.current = Some(chunk);
                    this.pos = 0;
                }
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => return Poll::Ready(Ok(&[])),
            }
        }
        let rest = match &this.current {
            Some((chunk, end)) => chunk.get(this.pos..*end).unwrap_or_default(),
            None => &[],
        };
        Poll::Ready(Ok(rest))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        let end = this.current.as_ref().map_or(0, |(_, end)| *end);
        this.pos = (this.pos + amt).min(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};

    /// A source that returns its bytes a few at a time, with interruptions and an error
    /// after a given point.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
        fail_at: Option<usize>,
        calls: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls % 3 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.fail_at.is_some_and(|f| self.at >= f) {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.step.min(buf.len()).min(self.bytes.len() - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn trickle(bytes: Vec<u8>, step: usize, fail_at: Option<usize>) -> Trickle {
        Trickle {
            bytes,
            at: 0,
            step,
            fail_at,
            calls: 0,
        }
    }

    #[tokio::test]
    async fn delivers_every_byte_in_order_across_many_chunks() {
        // More input than all chunks together hold, so chunks must come back to be reused.
        let bytes: Vec<u8> = (0..READ_CHUNKS * READ_CHUNK_BYTES * 3 + 17)
            .map(|i| (i % 251) as u8)
            .collect();
        for step in [1000, READ_CHUNK_BYTES] {
            let mut r = ThreadReader::spawn(trickle(bytes.clone(), step, None));
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            assert_eq!(got.len(), bytes.len(), "step {step}");
            assert!(got == bytes, "step {step}: bytes differ");
        }
    }

    #[tokio::test]
    async fn lines_split_across_reads_come_out_whole() {
        let input: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        let r = ThreadReader::spawn(trickle(input.clone().into_bytes(), 7, None));
        let mut lines = r.lines();
        let mut n = 0;
        while let Some(line) = lines.next_line().await.unwrap() {
            assert_eq!(line, format!("line {n}"));
            n += 1;
        }
        assert_eq!(n, 5000);
    }

    #[tokio::test]
    async fn a_read_error_reaches_the_reader_after_the_bytes_before_it() {
        let mut r = ThreadReader::spawn(trickle(vec![b'x'; 100], 10, Some(40)));
        let mut got = Vec::new();
        let err = r.read_to_end(&mut got).await.unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
        assert_eq!(got, vec![b'x'; 40]);
        // After the error: end of input, not a hang.
        let mut more = Vec::new();
        assert_eq!(r.read_to_end(&mut more).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn empty_input_is_end_of_input() {
        let mut r = ThreadReader::spawn(io::empty());
        assert!(r.fill_buf().await.unwrap().is_empty());
    }
}
