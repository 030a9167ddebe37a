//! Line I/O: a bounded line reader for stdin and the single stdout writer task.
//!
//! Output discipline: every line is appended whole, with its `\n`, to one shared output buffer
//! under a lock, so lines never interleave. One writer task takes the whole buffer at once
//! (leaving an empty one in its place), writes it with one `write_all`, flushes, and comes
//! back for more; it is woken only when the buffer goes from empty to not empty, so a burst of
//! replies costs one wake-up and one write.
//!
//! The buffer is bounded by [`OUTPUT_BUFFER_BYTES`]: a line is admitted when it fits in the
//! bound, or when the buffer is empty (so it never holds more than the bound or one line,
//! whichever is larger). When a line does not fit, its sender waits until the writer has
//! taken the buffer (backpressure); nothing is dropped. While any sender waits, later lines
//! queue behind it instead of taking the room first. Lines from one sender keep their order.
//!
//! Input discipline: lines longer than [`MAX_LINE_BYTES`] are skipped whole with a warning, so
//! one runaway line cannot grow memory without bound. The runtimes read stdin through
//! [`crate::stdio::stdin`] (chunks read by a thread of its own).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

/// Bound, in bytes, of the output buffer in front of the stdout writer. A line that does not
/// fit makes its sender wait.
pub const OUTPUT_BUFFER_BYTES: usize = 256 * 1024;

/// Longest accepted input line, in bytes (without the newline).
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// A cloneable handle that queues whole lines for the stdout writer.
#[derive(Debug)]
pub struct Outlet {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the writer: the buffer got its first line, the last sender left, or finish.
    ready: Notify,
    /// Wakes waiting senders: the writer took the buffer, or stopped, or the last waiting
    /// sender got its line in.
    room: Notify,
    capacity: usize,
}

#[derive(Debug)]
struct State {
    buf: Vec<u8>,
    /// Senders waiting for room; while any waits, new lines queue behind them.
    waiting: usize,
    /// Live [`Outlet`] handles; the writer stops when none is left and the buffer is empty.
    senders: usize,
    /// [`WriterHandle::finish`] was called: stop once the buffer is written.
    finishing: bool,
    /// The writer has stopped; nothing more is written.
    closed: bool,
}

impl State {
    fn fits(&self, line: usize, capacity: usize) -> bool {
        self.buf.is_empty() || self.buf.len() + line < capacity
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code that can panic runs under this lock, and each critical section leaves the
        // state consistent, so a poisoned lock is safe to reuse.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `line` and its newline; wakes the writer when the buffer was empty.
    fn append(&self, mut st: MutexGuard<'_, State>, line: &[u8]) {
        let was_empty = st.buf.is_empty();
        st.buf.extend_from_slice(line);
        st.buf.push(b'\n');
        drop(st);
        if was_empty {
            self.ready.notify_one();
        }
    }
}

/// The writer has stopped (stdout closed or the runtime shut down); the line was not written.
#[derive(Debug, thiserror::Error)]
#[error("output closed")]
pub struct OutletClosed;

/// Why [`Outlet::push_with`] queued nothing.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The writer has stopped.
    #[error(transparent)]
    Closed(#[from] OutletClosed),
    /// The line did not serialize.
    #[error("line does not serialize: {0}")]
    Encode(#[source] serde_json::Error),
}

/// The future of [`Outlet::push_with`]: ready at once when the line was queued (or failed),
/// else waiting for room with the encoded line.
#[must_use = "a line that did not fit waits in this future"]
pub struct Push<'a> {
    state: PushState<'a>,
}

type WaitAppend<'a> = Pin<Box<dyn Future<Output = Result<(), OutletClosed>> + Send + 'a>>;

enum PushState<'a> {
    Done(Option<Result<(), PushError>>),
    Waiting(WaitAppend<'a>),
}

impl Future for Push<'_> {
    type Output = Result<(), PushError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            PushState::Done(outcome) => Poll::Ready(outcome.take().unwrap_or(Ok(()))),
            PushState::Waiting(wait) => wait.as_mut().poll(cx).map(|r| r.map_err(PushError::from)),
        }
    }
}

impl std::fmt::Debug for Push<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            PushState::Done(_) => "done",
            PushState::Waiting(_) => "waiting for room",
        };
        f.debug_struct("Push").field("state", &state).finish()
    }
}

enum Append {
    Done,
    Full,
}

thread_local! {
    /// Where [`Outlet::push_with`] encodes a line before copying it into the shared buffer,
    /// so that no encoder runs under the lock and a failed encode leaves nothing behind.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Outlet {
    /// Queues one line (without newline; it must not contain one). Waits while the buffer
    /// has no room.
    pub async fn send_line(&self, line: String) -> Result<(), OutletClosed> {
        debug_assert!(!line.contains('\n'));
        match self.try_append(line.as_bytes())? {
            Append::Done => Ok(()),
            Append::Full => self.wait_append(line.into_bytes()).await,
        }
    }

    /// Encodes one line with `encode` (which appends it, without newline, to the buffer it
    /// is given) and queues it.
    ///
    /// `encode` runs now, before the returned future is first polled, so it may borrow data
    /// the future does not keep. When the line fits it is queued at once and the future is
    /// ready immediately; otherwise the future holds the encoded line and waits for room
    /// (dropping it then drops the line).
    pub fn push_with<F>(&self, encode: F) -> Push<'_>
    where
        F: FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    {
        let queued = SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => {
                scratch.clear();
                let queued = self.encode_and_append(&mut scratch, encode);
                if scratch.capacity() > OUTPUT_BUFFER_BYTES {
                    *scratch = Vec::new();
                }
                queued
            }
            // Only when an encoder itself pushes a line: use a buffer of its own.
            Err(_) => self.encode_and_append(&mut Vec::new(), encode),
        });
        let state = match queued {
            Ok(None) => PushState::Done(Some(Ok(()))),
            Err(e) => PushState::Done(Some(Err(e))),
            Ok(Some(line)) => PushState::Waiting(Box::pin(self.wait_append(line))),
        };
        Push { state }
    }

    /// Encodes into `scratch` and appends if there is room; returns the line when there is
    /// none.
    fn encode_and_append<F>(
        &self,
        scratch: &mut Vec<u8>,
        encode: F,
    ) -> Result<Option<Vec<u8>>, PushError>
    where
        F: FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    {
        encode(scratch).map_err(PushError::Encode)?;
        debug_assert!(!scratch.contains(&b'\n'));
        match self.try_append(scratch)? {
            Append::Done => Ok(None),
            Append::Full => Ok(Some(scratch.clone())),
        }
    }

    /// Waits while other senders wait for room (the output is congested); returns at once
    /// otherwise, or when the writer has stopped. A reader calls this to stop taking input
    /// while its replies cannot be written: backpressure instead of a pile of waiting lines.
    pub async fn uncongested(&self) {
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let st = self.shared.lock();
                if st.closed || st.waiting == 0 {
                    return;
                }
            }
            room.await;
        }
    }

    fn try_append(&self, line: &[u8]) -> Result<Append, OutletClosed> {
        let st = self.shared.lock();
        if st.closed {
            return Err(OutletClosed);
        }
        if st.waiting > 0 || !st.fits(line.len(), self.shared.capacity) {
            return Ok(Append::Full);
        }
        self.shared.append(st, line);
        Ok(Append::Done)
    }

    async fn wait_append(&self, line: Vec<u8>) -> Result<(), OutletClosed> {
        let _waiting = Waiting::enter(&self.shared);
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let st = self.shared.lock();
                if st.closed {
                    return Err(OutletClosed);
                }
                if st.fits(line.len(), self.shared.capacity) {
                    self.shared.append(st, &line);
                    return Ok(());
                }
            }
            room.await;
        }
    }
}

impl Clone for Outlet {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Outlet {
    fn drop(&mut self) {
        let last = {
            let mut st = self.shared.lock();
            st.senders -= 1;
            st.senders == 0
        };
        if last {
            self.shared.ready.notify_one();
        }
    }
}

/// Counts a sender as waiting for as long as it lives (a cancelled wait uncounts itself).
struct Waiting<'a>(&'a Shared);

impl<'a> Waiting<'a> {
    fn enter(shared: &'a Shared) -> Self {
        shared.lock().waiting += 1;
        Self(shared)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let none_left = {
            let mut st = self.0.lock();
            st.waiting -= 1;
            st.waiting == 0
        };
        if none_left {
            // For `Outlet::uncongested`.
            self.0.room.notify_waiters();
        }
    }
}

/// Stops the writer after it has written everything queued so far.
#[derive(Debug)]
pub struct WriterHandle {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl WriterHandle {
    /// Asks the writer to write what is queued, flush and stop; waits until it has. Lines
    /// queued after that are refused with [`OutletClosed`].
    pub async fn finish(mut self) {
        self.shared.lock().finishing = true;
        self.shared.ready.notify_one();
        let _ = (&mut self.task).await;
    }
}

/// Spawns the writer task over `out` and returns the handle to feed it and the handle to stop
/// it. The writer also stops, after writing what is queued, when every [`Outlet`] is dropped.
pub fn spawn_writer<W>(out: W) -> (Outlet, WriterHandle)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            buf: Vec::with_capacity(OUTPUT_BUFFER_BYTES),
            waiting: 0,
            senders: 1,
            finishing: false,
            closed: false,
        }),
        ready: Notify::new(),
        room: Notify::new(),
        capacity: OUTPUT_BUFFER_BYTES,
    });
    let task = tokio::spawn(write_loop(Arc::clone(&shared), out));
    (
        Outlet {
            shared: Arc::clone(&shared),
        },
        WriterHandle { shared, task },
    )
}

/// Marks the output closed when the writer ends in any way (stop, write error, or the task
/// being dropped with the runtime), so no sender waits for it forever.
struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.room.notify_waiters();
    }
}

enum Step {
    Write,
    Wait,
    Stop,
}

async fn write_loop<W: AsyncWrite + Unpin>(shared: Arc<Shared>, mut out: W) {
    let closer = Closer(shared);
    let shared = &closer.0;
    let mut batch: Vec<u8> = Vec::with_capacity(OUTPUT_BUFFER_BYTES);
    loop {
        let step = {
            let mut st = shared.lock();
            if !st.buf.is_empty() {
                std::mem::swap(&mut st.buf, &mut batch);
                Step::Write
            } else if st.senders == 0 || st.finishing {
                st.closed = true;
                Step::Stop
            } else {
                Step::Wait
            }
        };
        match step {
            Step::Stop => break,
            // A line queued after the check above left a wake-up permit: no line is missed.
            Step::Wait => shared.ready.notified().await,
            Step::Write => {
                shared.room.notify_waiters();
                if let Err(e) = out.write_all(&batch).await {
                    tracing::error!(error = %e, "stdout write failed; output stops");
                    return;
                }
                if let Err(e) = out.flush().await {
                    tracing::error!(error = %e, "stdout flush failed; output stops");
                    return;
                }
                batch.clear();
                if batch.capacity() > 4 * OUTPUT_BUFFER_BYTES {
                    batch = Vec::with_capacity(OUTPUT_BUFFER_BYTES);
                }
            }
        }
    }
    let _ = out.flush().await;
}

/// One result of [`read_line_bounded`].
#[derive(Debug, PartialEq, Eq)]
pub enum LineRead {
    /// A complete line is in the buffer (newline removed).
    Line,
    /// A line longer than the limit was skipped; the buffer holds its first bytes only.
    TooLong,
    /// End of input and nothing buffered.
    Eof,
}

/// Reads one `\n`-terminated line into `buf` (cleared first), keeping at most `max` bytes.
///
/// A last line without newline at end of input counts as a line. A trailing `\r` is removed.
pub async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    buf.clear();
    let mut too_long = false;
    let mut seen_any = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            if !seen_any {
                return Ok(LineRead::Eof);
            }
            break;
        }
        seen_any = true;
        let (part, done) = match find_newline(chunk) {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                let room = max.saturating_sub(buf.len());
                buf.extend_from_slice(&part[..room.min(part.len())]);
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = done.unwrap_or(chunk.len());
        reader.consume(used);
        if done.is_some() {
            break;
        }
    }
    if too_long {
        return Ok(LineRead::TooLong);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(LineRead::Line)
}

/// The position of the first `\n` in `bytes`, looking at eight bytes at a time.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        // The lowest marked byte is the first zero byte of `x`, i.e. the first newline.
        let hits = x.wrapping_sub(ONES) & !x & HIGHS;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| b == b'\n').map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, BufReader};

    #[test]
    fn newline_search_finds_the_first_one_anywhere() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[at] = b'\n';
                if at + 1 < len {
                    bytes[len - 1] = b'\n';
                }
                assert_eq!(find_newline(&bytes), Some(at), "len {len}, at {at}");
            }
            assert_eq!(find_newline(&vec![0x8a; len]), None);
            assert_eq!(find_newline(&vec![b'x'; len]), None);
        }
        assert_eq!(find_newline("é\n".as_bytes()), Some(2));
    }

    #[tokio::test]
    async fn bounded_reader_splits_and_skips_long_lines() {
        let input = b"abc\n0123456789\nxy\r\nlast".to_vec();
        let mut r = BufReader::with_capacity(4, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 5).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"abc");
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 5).await.unwrap(),
            LineRead::TooLong
        );
        assert_eq!(buf.len(), 5);
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 5).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"xy");
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 5).await.unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"last");
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 5).await.unwrap(),
            LineRead::Eof
        );
    }

    #[tokio::test]
    async fn writer_emits_whole_newline_terminated_lines_in_order() {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let (outlet, handle) = spawn_writer(client);
        let mut tasks = Vec::new();
        for t in 0..8 {
            let o = outlet.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..200 {
                    o.send_line(format!("{{\"t\":{t},\"i\":{i}}}"))
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        drop(outlet);
        handle.finish().await;
        let mut s = String::new();
        server.read_to_string(&mut s).await.unwrap();
        assert!(s.ends_with('\n'));
        let mut last = [-1i64; 8];
        let mut n = 0;
        for line in s.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let t = v["t"].as_u64().unwrap() as usize;
            let i = v["i"].as_i64().unwrap();
            assert_eq!(i, last[t] + 1, "per-sender order kept");
            last[t] = i;
            n += 1;
        }
        assert_eq!(n, 1600);
    }
}
