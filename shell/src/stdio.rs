//! The process's stdin, read by a thread of its own and handed to the machine thread in
//! buffers of whole lines ([`glomers_retry_ring::handoff`]).
//!
//! The thread blocks in `read`, cuts what it read at the last newline, and hands the
//! buffer over; the partial line after it starts the next buffer. The machine thread parses
//! the lines in place and hands the buffer back. So reading overlaps with handling, and
//! nothing is copied twice.
//!
//! Bounds: [`READ_BUFFERS`] buffers of [`READ_CHUNK_BYTES`] circulate. When all are with
//! the machine thread, the reader waits (backpressure: input not yet handled stays in the
//! pipe). A buffer grows only to hold one line longer than itself, up to
//! [`MAX_LINE_BYTES`]; a longer line is skipped whole with a warning, and a buffer that grew
//! is shrunk back when it returns. A last line without a newline at end of input is handed
//! over as a line.

use std::io::{self, Read};

use glomers_retry_ring::handoff::{self, Consumer, Producer};

/// Bytes one read asks for (the size of a buffer).
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Buffers in circulation: one being parsed, one ready, one being filled.
pub const READ_BUFFERS: usize = 3;

/// Ring capacity of the handoff (a power of two, at least [`READ_BUFFERS`]).
const RING: usize = 4;

/// Longest accepted input line, in bytes (without the newline).
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// The machine thread's end: buffers of whole lines, each ending in `\n`.
pub type Lines = Consumer<Vec<u8>, RING>;

/// Starts the reading thread over the process's stdin.
pub fn stdin() -> Lines {
    spawn(io::stdin())
}

/// Starts the reading thread over `source`. It ends at end of input, at the first read
/// error (logged), or when the [`Lines`] end is dropped.
pub fn spawn<R: Read + Send + 'static>(source: R) -> Lines {
    let pool = (0..READ_BUFFERS).map(|_| Vec::with_capacity(READ_CHUNK_BYTES));
    let (lines, _thread) = handoff::spawn(pool, move |tx| read_loop(source, &tx));
    lines
}

/// Gives a parsed buffer back to the reading thread (shrunk if a long line grew it).
pub fn recycle(lines: &Lines, mut buf: Vec<u8>) {
    buf.clear();
    if buf.capacity() > 4 * READ_CHUNK_BYTES {
        buf = Vec::with_capacity(READ_CHUNK_BYTES);
    }
    // Cannot fail: no more buffers circulate than the ring holds.
    let _ = lines.recycle(buf);
}

/// What the reader carries from one buffer to the next.
struct Carry {
    /// The start of a line that the last read cut off.
    partial: Vec<u8>,
    /// Inside a line longer than [`MAX_LINE_BYTES`]: drop bytes up to the next newline.
    skipping: bool,
}

fn read_loop<R: Read>(mut source: R, tx: &Producer<Vec<u8>, RING>) {
    let mut carry = Carry {
        partial: Vec::new(),
        skipping: false,
    };
    while let Some(mut buf) = tx.empty() {
        buf.clear();
        buf.append(&mut carry.partial);
        let more = fill(&mut source, &mut buf, &mut carry);
        if !buf.is_empty() && tx.send(buf).is_err() {
            tracing::error!("stdin handoff full; input stops");
            return;
        }
        if !more {
            return;
        }
    }
}

/// Reads into `buf` until it holds at least one whole line (the bytes after its last
/// newline move to `carry`) or input ends (a last partial line gets its newline). Returns
/// whether more input may follow.
fn fill<R: Read>(source: &mut R, buf: &mut Vec<u8>, carry: &mut Carry) -> bool {
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity().max(READ_CHUNK_BYTES));
        }
        let start = buf.len();
        let spare = buf.spare_capacity_mut().len();
        buf.resize(start + spare, 0);
        let got = loop {
            match source.read(&mut buf[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match got {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "stdin read failed; input stops");
                0
            }
        };
        buf.truncate(start + n);
        if n == 0 {
            if !buf.is_empty() && !carry.skipping {
                buf.push(b'\n');
            } else {
                buf.clear();
            }
            return false;
        }
        if carry.skipping {
            match memchr::memchr(b'\n', &buf[start..]) {
                Some(i) => {
                    buf.drain(..=start + i);
                    carry.skipping = false;
                }
                None => {
                    buf.clear();
                    continue;
                }
            }
        }
        if let Some(last) = memchr::memrchr(b'\n', buf) {
            carry.partial.extend_from_slice(&buf[last + 1..]);
            buf.truncate(last + 1);
            if buf.len() > MAX_LINE_BYTES {
                drop_long_lines(buf);
            }
            return true;
        }
        if buf.len() > MAX_LINE_BYTES {
            tracing::warn!(
                limit = MAX_LINE_BYTES,
                start = %String::from_utf8_lossy(&buf[..buf.len().min(256)]),
                "input line too long; skipped"
            );
            buf.clear();
            carry.skipping = true;
        }
    }
}

/// Removes every line longer than [`MAX_LINE_BYTES`] from `buf` (whole lines, each ending
/// in `\n`), with a warning each. Only a buffer that grew past the bound can hold one.
fn drop_long_lines(buf: &mut Vec<u8>) {
    let mut kept = Vec::with_capacity(READ_CHUNK_BYTES);
    for line in buf.split_inclusive(|b| *b == b'\n') {
        if line.len() > MAX_LINE_BYTES + 1 {
            tracing::warn!(
                limit = MAX_LINE_BYTES,
                start = %String::from_utf8_lossy(&line[..256]),
                "input line too long; skipped"
            );
        } else {
            kept.extend_from_slice(line);
        }
    }
    *buf = kept;
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_retry_ring::handoff::Recv;

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

    /// Every line the reader hands over, checking that each buffer holds whole lines.
    fn collect(lines: &Lines) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match lines.recv(None) {
                Recv::Item(buf) => {
                    assert_eq!(buf.last(), Some(&b'\n'), "a buffer ends at a line end");
                    out.extend(buf.split(|b| *b == b'\n').map(<[u8]>::to_vec));
                    out.pop();
                    recycle(lines, buf);
                }
                Recv::Closed => return out,
                Recv::Timeout => unreachable!("no deadline"),
            }
        }
    }

    #[test]
    fn lines_split_across_reads_come_out_whole_and_in_order() {
        let input: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        for step in [7, 1000, READ_CHUNK_BYTES] {
            let lines = spawn(trickle(input.clone().into_bytes(), step, None));
            let got = collect(&lines);
            assert_eq!(got.len(), 50_000, "step {step}");
            for (i, l) in got.iter().enumerate() {
                assert_eq!(l, format!("line {i}").as_bytes(), "step {step}");
            }
        }
    }

    #[test]
    fn a_last_line_without_newline_is_a_line_and_empty_input_is_closed() {
        let lines = spawn(trickle(b"a\nb".to_vec(), 1, None));
        assert_eq!(collect(&lines), [b"a".to_vec(), b"b".to_vec()]);
        let lines = spawn(io::empty());
        assert!(collect(&lines).is_empty());
    }

    #[test]
    fn long_lines_grow_a_buffer_and_too_long_lines_are_skipped_whole() {
        let long = vec![b'x'; READ_CHUNK_BYTES * 3];
        let too_long = vec![b'y'; MAX_LINE_BYTES + 10];
        let mut input = b"first\n".to_vec();
        input.extend_from_slice(&long);
        input.push(b'\n');
        input.extend_from_slice(&too_long);
        input.extend_from_slice(b"\nlast\n");
        let lines = spawn(trickle(input, 100_000, None));
        let got: Vec<(usize, Option<u8>)> = collect(&lines)
            .iter()
            .map(|l| (l.len(), l.first().copied()))
            .collect();
        assert_eq!(
            got,
            [(5, Some(b'f')), (long.len(), Some(b'x')), (4, Some(b'l'))]
        );
    }

    #[test]
    fn a_read_error_ends_input_after_the_lines_before_it() {
        let lines = spawn(trickle(b"one\ntwo\nthree".to_vec(), 4, Some(8)));
        assert_eq!(collect(&lines), [b"one".to_vec(), b"two".to_vec()]);
    }
}
