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
//! Durable state: when the environment variable [`DATA_DIR_ENV`] names a directory (the
//! glomers harness always sets it; plain Maelstrom does not), the driver opens a
//! [`FileStore`] there before the node starts, hands what it recovered to the machine's
//! factory ([`Boot::recovered`], `durable: true`), and makes every write the machine queues
//! durable with one [`FileStore::sync`] before it releases any output line of the same batch
//! (group commit). [`FSYNC_ENV`]`=0` leaves the fsyncs out (what was written then survives
//! a killed process but not a crashed machine). Without a data directory the writes are
//! dropped and the node runs from memory. A store that fails (the disk is full, a write or
//! fsync errs) stops the node with an error line and a failing exit status: it releases
//! nothing it could not make durable.
//!
//! Time: [`Time`] counts from the driver's start ([`std::time::Instant`], monotonic); the
//! wall clock is read once, at start, to tell the machine's factory the Unix time of that
//! instant; randomness for the factory comes from the OS.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use glomers_node::{persist, Boot, LineMachine, Recovered, Time};
use glomers_retry_ring::handoff::Recv;

use crate::stdio::{self, Lines};
use crate::store::{FileStore, StoreError, StoreOptions};

/// The environment variable naming the node's data directory.
pub const DATA_DIR_ENV: &str = "GLOMERS_DATA_DIR";

/// The environment variable that, set to `0`, makes syncs skip the fsyncs.
pub const FSYNC_ENV: &str = "GLOMERS_FSYNC";

/// Output is written at least this often, in bytes, while a long buffer is being handled.
const WRITE_AT: usize = 64 * 1024;

/// Runs the node `build` makes on the process's stdin and stdout until end of input.
/// `build` gets the node life's [`Boot`]: the wall clock (Unix milliseconds) at the
/// driver's [`Time::ZERO`], a random seed, and the recovered state (see the module docs).
/// Fails only when the data directory cannot be opened or kept.
pub fn run<B>(build: B) -> ExitCode
where
    B: FnOnce(Boot) -> Box<dyn LineMachine>,
{
    let (mut disk, recovered) = match Disk::from_env() {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!(error = %e, "data directory unusable; node stops");
            return ExitCode::FAILURE;
        }
    };
    let input = stdio::stdin();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let clock = Clock::start();
    let boot = Boot {
        epoch_unix_ms: clock.epoch_unix_ms,
        seed: rand::random(),
        recovered,
    };
    let mut node = build(boot);
    match run_on(&input, &mut out, node.as_mut(), &clock, &mut disk) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Stdout(e)) => {
            tracing::error!(error = %e, "stdout write failed; node stops");
            ExitCode::SUCCESS
        }
        Err(Stop::Store(e)) => {
            tracing::error!(error = %e, "data directory failed; node stops");
            ExitCode::FAILURE
        }
    }
}

/// Why the driver loop ended before its input did.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("stdout: {0}")]
    Stdout(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The driver loop over any line source and writer (tests use in-memory ones).
fn run_on<W: Write>(
    input: &Lines,
    out: &mut W,
    rt: &mut dyn LineMachine,
    clock: &Clock,
    disk: &mut Disk,
) -> Result<(), Stop> {
    loop {
        let deadline = rt.poll_timeout().and_then(|t| clock.instant(t));
        match input.recv(deadline) {
            Recv::Item(buf) => {
                let now = clock.now();
                for line in buf.split_inclusive(|b| *b == b'\n') {
                    rt.handle_line(now, line.strip_suffix(b"\n").unwrap_or(line));
                    if rt.output().len() >= WRITE_AT {
                        release(out, rt, disk)?;
                    }
                }
                stdio::recycle(input, buf);
            }
            Recv::Timeout => {}
            Recv::Closed => {
                release(out, rt, disk)?;
                return Ok(out.flush()?);
            }
        }
        rt.handle_timeout(clock.now());
        release(out, rt, disk)?;
    }
}

/// Releases what the node produced: its writes first, made durable, then its output
/// lines, in one write.
fn release<W: Write>(out: &mut W, rt: &mut dyn LineMachine, disk: &mut Disk) -> Result<(), Stop> {
    disk.keep(rt.writes())?;
    let output = rt.output();
    if output.is_empty() {
        return Ok(());
    }
    out.write_all(output)?;
    out.flush()?;
    output.clear();
    Ok(())
}

/// Where the node's writes go: a [`FileStore`] in the data directory, or nowhere.
#[derive(Debug)]
pub(crate) struct Disk {
    store: Option<FileStore>,
}

impl Disk {
    /// The store in the directory [`DATA_DIR_ENV`] names, if it names one.
    fn from_env() -> Result<(Disk, Recovered), StoreError> {
        match std::env::var_os(DATA_DIR_ENV) {
            Some(dir) if !dir.is_empty() => {
                let fsync = std::env::var_os(FSYNC_ENV).is_none_or(|v| v != "0");
                Disk::open(Path::new(&dir), fsync)
            }
            _ => Ok((Disk { store: None }, Recovered::ephemeral())),
        }
    }

    /// The store in `dir`, and what it holds, as the node contract hands it on.
    pub(crate) fn open(dir: &Path, fsync: bool) -> Result<(Disk, Recovered), StoreError> {
        let opts = StoreOptions {
            fsync,
            ..StoreOptions::default()
        };
        let (store, found) = FileStore::open_with(dir, opts)?;
        let recovered = Recovered {
            durable: true,
            logs: found
                .logs
                .iter()
                .map(|(name, log)| (name.clone(), (log.start, log.to_vecs())))
                .collect(),
            values: found.values,
        };
        tracing::info!(dir = %dir.display(), logs = recovered.logs.len(),
            values = recovered.values.len(), repairs = found.repairs.len(), fsync, "data directory open");
        Ok((Disk { store: Some(store) }, recovered))
    }

    /// Makes `writes` durable (one sync for all of them) and drains them; without a
    /// store, drops them.
    pub(crate) fn keep(&mut self, writes: &mut Vec<persist::Write>) -> Result<(), StoreError> {
        let Some(store) = self.store.as_mut() else {
            writes.clear();
            return Ok(());
        };
        if writes.is_empty() {
            return Ok(());
        }
        for w in writes.drain(..) {
            match w {
                persist::Write::Append { log, record } => {
                    store.append(&log, &record)?;
                }
                persist::Write::Put { name, value } => store.put(&name, &value)?,
                persist::Write::Trim { log, before } => store.trim(&log, before)?,
            }
        }
        store.sync()
    }
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

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::PathBuf;

    use glomers_node::{Incoming, Machine, Outbox, Runtime, Start};
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum In {
        Add { value: u64 },
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Out {
        AddOk { kept: usize },
    }

    /// Keeps every value it is given in log `adds` before acknowledging it.
    struct Adder {
        kept: usize,
    }

    impl Machine for Adder {
        type In = In;
        type Out = Out;
        fn on_message(&mut self, _now: Time, msg: Incoming<In>, out: &mut Outbox<Out>) {
            let In::Add { value } = msg.body;
            self.kept += 1;
            out.append("adds", value.to_le_bytes().to_vec());
            out.reply(&msg.origin, Out::AddOk { kept: self.kept });
        }
    }

    /// An output that notes, at each write, how many bytes the log's segment holds.
    struct Watched {
        segment: PathBuf,
        bytes: Vec<u8>,
        segment_len_at_write: Vec<u64>,
    }

    impl Write for Watched {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let len = std::fs::metadata(&self.segment).map_or(0, |m| m.len());
            self.segment_len_at_write.push(len);
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const INIT: &str = r#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}"#;

    fn add(id: u64, value: u64) -> String {
        format!(
            r#"{{"src":"c1","dest":"n1","body":{{"type":"add","msg_id":{id},"value":{value}}}}}"#
        )
    }

    /// One node life on `dir`: `adds` after an init; what it printed and what it had
    /// recovered when it started.
    fn life(dir: &Path, adds: &[u64]) -> (String, Recovered, Vec<u64>) {
        let (mut disk, recovered) = Disk::open(dir, false).unwrap();
        let mut input = format!("{INIT}\n");
        for (i, v) in adds.iter().enumerate() {
            input += &add(i as u64 + 2, *v);
            input.push('\n');
        }
        let lines = stdio::spawn(Cursor::new(input.into_bytes()));
        let boot = Boot {
            epoch_unix_ms: 0,
            seed: 1,
            recovered: recovered.clone(),
        };
        let mut rt = Runtime::new(
            |s: Start<'_>| Adder {
                kept: s.recovered.log("adds").1.len(),
            },
            boot,
        );
        let mut out = Watched {
            segment: dir.join("logs/adds/00000000000000000000.seg"),
            bytes: Vec::new(),
            segment_len_at_write: Vec::new(),
        };
        run_on(&lines, &mut out, &mut rt, &Clock::start(), &mut disk).unwrap();
        let text = String::from_utf8(out.bytes).unwrap();
        (text, recovered, out.segment_len_at_write)
    }

    #[test]
    fn writes_are_on_disk_before_their_replies_and_come_back_in_the_next_life() {
        let dir = tempfile::tempdir().unwrap();
        let (text, first, seg_lens) = life(dir.path(), &[7, 8, 9]);
        assert!(first.durable && first.logs.is_empty(), "{first:?}");
        assert!(text.contains(r#""kept":3"#), "{text}");
        // Each output write came after the adds it acknowledges were written: the
        // segment (a 20-byte header, then frames of 8 + 8 bytes) already held at least one
        // record at the first write, and all three at the last.
        let first = seg_lens.first().copied().unwrap_or(0);
        let last = seg_lens.last().copied().unwrap_or(0);
        assert!(first >= 20 + 16 && last >= 20 + 3 * 16, "{seg_lens:?}");

        let (text, second, _) = life(dir.path(), &[10]);
        let (first_index, records) = second.log("adds");
        let values: Vec<u64> = records
            .iter()
            .map(|r| u64::from_le_bytes(r.as_slice().try_into().unwrap()))
            .collect();
        assert_eq!((first_index, values), (0, vec![7, 8, 9]));
        assert!(text.contains(r#""kept":4"#), "{text}");
    }

    #[test]
    fn without_a_data_directory_writes_are_dropped_and_nothing_is_recovered() {
        let mut disk = Disk { store: None };
        let mut writes = vec![persist::Write::Append {
            log: "adds".into(),
            record: vec![1],
        }];
        disk.keep(&mut writes).unwrap();
        assert!(writes.is_empty());
    }

    #[test]
    fn a_write_the_store_refuses_stops_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, _) = Disk::open(dir.path(), false).unwrap();
        let mut writes = vec![persist::Write::Put {
            name: "../escape".into(),
            value: vec![1],
        }];
        assert!(matches!(
            disk.keep(&mut writes),
            Err(StoreError::BadName { .. })
        ));
    }
}
