//! The process driver: a node's [`Runtime`] on stdin, stdout and the process's clock. The
//! one runtime of every glomers binary.
//!
//! Two threads: the stdin thread ([`crate::stdio`]) reads buffers of whole lines; this
//! thread runs the machine. It takes a buffer (or sleeps until one comes or the machine's
//! deadline passes), hands each line to the runtime with one clock reading per buffer,
//! runs the machine's timeout when it is due, and writes the output of the whole buffer to
//! stdout in one `write`. A slow stdout therefore stops the machine, which stops the stdin
//! thread once every buffer is waiting: backpressure all the way back to the writer of the
//! input, and nothing queued without bound.
//!
//! At end of input every line read is handled, the output is written, and [`run`] returns.
//! A failed stdout write (the reader is gone) ends the node too, with a log line.
//!
//! Time: [`Time`] counts from the driver's start ([`std::time::Instant`], monotonic); the
//! wall clock is read once, at start, to tell the machine's factory the Unix time of that
//! instant; randomness for the factory comes from the OS.

use std::io::{self, Write};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use glomers_node::{Boot, LineMachine, Recovered, Time};
use glomers_retry_ring::handoff::Recv;

use crate::stdio::{self, Lines};

/// Output is written at least this often, in bytes, while a long buffer is being handled.
const WRITE_AT: usize = 64 * 1024;

/// Runs the node `build` makes on the process's stdin and stdout until end of input.
/// `build` gets the node life's [`Boot`]: the wall clock (Unix milliseconds) at the
/// driver's [`Time::ZERO`], a random seed, and the recovered state.
pub fn run<B>(build: B)
where
    B: FnOnce(Boot) -> Box<dyn LineMachine>,
{
    let input = stdio::stdin();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let clock = Clock::start();
    let boot = Boot {
        epoch_unix_ms: clock.epoch_unix_ms,
        seed: rand::random(),
        recovered: Recovered::ephemeral(),
    };
    let mut node = build(boot);
    if let Err(e) = run_on(&input, &mut out, node.as_mut(), &clock) {
        tracing::error!(error = %e, "stdout write failed; node stops");
    }
}

/// The driver loop over any line source and writer (tests use in-memory ones).
fn run_on<W: Write>(
    input: &Lines,
    out: &mut W,
    rt: &mut dyn LineMachine,
    clock: &Clock,
) -> io::Result<()> {
    loop {
        let deadline = rt.poll_timeout().and_then(|t| clock.instant(t));
        match input.recv(deadline) {
            Recv::Item(buf) => {
                let now = clock.now();
                for line in buf.split_inclusive(|b| *b == b'\n') {
                    rt.handle_line(now, line.strip_suffix(b"\n").unwrap_or(line));
                    if rt.output().len() >= WRITE_AT {
                        release(out, rt)?;
                    }
                }
                stdio::recycle(input, buf);
            }
            Recv::Timeout => {}
            Recv::Closed => {
                release(out, rt)?;
                return out.flush();
            }
        }
        rt.handle_timeout(clock.now());
        release(out, rt)?;
    }
}

/// Releases what the node produced: its writes first (dropped for now: this driver keeps
/// no data directory yet), then its output lines, in one write.
fn release<W: Write>(out: &mut W, rt: &mut dyn LineMachine) -> io::Result<()> {
    rt.writes().clear();
    let output = rt.output();
    if output.is_empty() {
        return Ok(());
    }
    out.write_all(output)?;
    out.flush()?;
    output.clear();
    Ok(())
}

/// The process's clock: [`Time`] since the driver started.
struct Clock {
    start: Instant,
    epoch_unix_ms: u64,
}

impl Clock {
    fn start() -> Self {
        let epoch_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            start: Instant::now(),
            epoch_unix_ms,
        }
    }

    fn now(&self) -> Time {
        Time::from_duration(self.start.elapsed())
    }

    /// The instant of `t`; `None` when it is too far ahead to represent (never, then).
    fn instant(&self, t: Time) -> Option<Instant> {
        self.start.checked_add(t.since_epoch())
    }
}
