//! Line I/O: a bounded line reader for stdin and the single stdout writer task.
//!
//! Output discipline: every line is produced whole by one [`Outlet::send_line`] call, goes
//! through one bounded channel of [`OUTLET_CAPACITY`] lines, and is written by one task that
//! appends `\n` and flushes before it waits for more. Lines therefore never interleave. When the
//! channel is full a sender waits (backpressure); nothing is dropped.
//!
//! Input discipline: lines longer than [`MAX_LINE_BYTES`] are skipped whole with a warning, so
//! one runaway line cannot grow memory without bound.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// Capacity, in lines, of the channel in front of the stdout writer. A full channel makes
/// senders wait.
pub const OUTLET_CAPACITY: usize = 4096;

/// Longest accepted input line, in bytes (without the newline).
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// Most bytes the writer gathers from the channel before one write and flush.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// A cloneable handle that queues whole lines for the stdout writer.
#[derive(Clone, Debug)]
pub struct Outlet {
    tx: mpsc::Sender<String>,
}

/// The writer has stopped (stdout closed or the runtime shut down); the line was not written.
#[derive(Debug, thiserror::Error)]
#[error("output closed")]
pub struct OutletClosed;

impl Outlet {
    /// Queues one line (without newline; it must not contain one). Waits while the channel is
    /// full.
    pub async fn send_line(&self, line: String) -> Result<(), OutletClosed> {
        debug_assert!(!line.contains('\n'));
        self.tx.send(line).await.map_err(|_| OutletClosed)
    }
}

/// Stops the writer after it has written everything queued so far.
#[derive(Debug)]
pub struct WriterHandle {
    finish: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl WriterHandle {
    /// Asks the writer to drain what is queued, flush and stop; waits until it has.
    pub async fn finish(mut self) {
        if let Some(f) = self.finish.take() {
            let _ = f.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Spawns the writer task over `out` and returns the handle to feed it and the handle to stop
/// it.
pub fn spawn_writer<W>(out: W) -> (Outlet, WriterHandle)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(OUTLET_CAPACITY);
    let (finish_tx, finish_rx) = oneshot::channel();
    let task = tokio::spawn(write_loop(rx, finish_rx, out));
    (
        Outlet { tx },
        WriterHandle {
            finish: Some(finish_tx),
            task,
        },
    )
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut rx: mpsc::Receiver<String>,
    mut finish: oneshot::Receiver<()>,
    mut out: W,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_BATCH_BYTES);
    let mut finishing = false;
    let mut armed = true;
    loop {
        let first = if finishing {
            match rx.try_recv() {
                Ok(line) => line,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                biased;
                line = rx.recv() => match line {
                    Some(line) => line,
                    None => break,
                },
                signal = &mut finish, if armed => {
                    // A dropped handle (Err) is not a request to stop: keep writing until
                    // every sender is gone.
                    armed = false;
                    finishing = signal.is_ok();
                    continue;
                }
            }
        };
        buf.clear();
        buf.extend_from_slice(first.as_bytes());
        buf.push(b'\n');
        while buf.len() < WRITE_BATCH_BYTES {
            match rx.try_recv() {
                Ok(line) => {
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                }
                Err(_) => break,
            }
        }
        if let Err(e) = out.write_all(&buf).await {
            tracing::error!(error = %e, "stdout write failed; output stops");
            return;
        }
        if let Err(e) = out.flush().await {
            tracing::error!(error = %e, "stdout flush failed; output stops");
            return;
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
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, BufReader};

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
