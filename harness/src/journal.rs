//! The message log of a run: `messages.jsonl` in the run folder, written as the run goes.
//!
//! The network calls [`MessageLog::prepare`] and [`MessageLog::sent`] when it accepts a
//! message, and [`MessageLog::delivered`] or [`MessageLog::dropped`] when the receiver takes
//! it; [`MessageLog::finish`] writes what is left and a summary line. A message's line is
//! written once its fate is known, so lines come in fate order, not send order. Every line
//! but the last is one message:
//!
//! ```json
//! {"id":7,"src":"n1","dest":"n2","type":"broadcast","sent":1200000,"fate":"delivered","at":101300000,"body":{...}}
//! ```
//!
//! - `id`: the network-wide message id (the envelope `id` the node sees);
//! - `src`, `dest`: node, client (`c…`) or service ids; `type`: the body's `type` or null;
//! - `sent`, `at`: nanoseconds since the start of the run (the clock of `history.jsonl`);
//! - `fate`: `delivered` (handed to the receiver at `at`), `dropped` (lost to a partition
//!   when the receiver took it, at `at`), or `undelivered` (`at` null: still queued at
//!   teardown, discarded with a closed client, or refused by a full queue);
//! - `body`: the body as sent; when its JSON text is longer than
//!   [`Limits::max_body_bytes`], `body` is null and `body_head` holds the first bytes of the
//!   text (cut at a character boundary) and `body_bytes` its whole length.
//!
//! The last line is `{"summary": {"messages": .., "omitted": .., "cut_bodies": ..,
//! "max_lines": .., "max_body_bytes": ..}}`. Bounds: at most [`Limits::max_lines`] messages
//! are logged (the first ones sent); later ones are counted in `omitted` and never held.
//! Messages waiting for their fate are held (bodies already cut) in a table of at most
//! [`Limits::max_pending`] entries; a message sent while it is full is written at once with
//! fate `undelivered`, `at` null, and counted in `untracked`. Writes go through a buffered
//! file (the page cache; they never wait for the disk); the first write error stops the log
//! and is returned by [`MessageLog::finish`].

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use glomers_node::Time;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file name of the message log inside a run folder.
pub const FILE: &str = "messages.jsonl";

/// The bounds of one message log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest body text kept whole, in bytes (default 4 KiB).
    pub max_body_bytes: usize,
    /// Most messages logged (default 250,000).
    pub max_lines: u64,
    /// Most messages held while waiting for their fate (default 65,536).
    pub max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4096,
            max_lines: 250_000,
            max_pending: 1 << 16,
        }
    }
}

/// The last line of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Messages logged (lines before the summary).
    pub messages: u64,
    /// Messages sent after the log was full, not logged.
    pub omitted: u64,
    /// Messages whose body was cut.
    pub cut_bodies: u64,
    /// Messages written at send because the pending table was full.
    pub untracked: u64,
    /// The line bound in force.
    pub max_lines: u64,
    /// The body bound in force.
    pub max_body_bytes: usize,
}

/// A message accepted by the network, prepared for the log (its body already serialised
/// and cut) before the network lock is taken.
#[derive(Debug, Clone)]
pub struct Prepared {
    src: String,
    dest: String,
    ty: Option<String>,
    body: String,
    body_bytes: usize,
    cut: bool,
}

struct Pending {
    prepared: Prepared,
    sent: Time,
}

struct Inner {
    out: BufWriter<File>,
    pending: HashMap<u64, Pending>,
    summary: Summary,
    error: Option<std::io::Error>,
}

/// A message log being written. Shared by the network's tasks; every method takes `&self`.
pub struct MessageLog {
    limits: Limits,
    full: AtomicBool,
    inner: Mutex<Inner>,
}

impl MessageLog {
    /// Creates (truncates) the log at `path` with the default limits.
    pub fn create(path: &Path) -> std::io::Result<MessageLog> {
        Self::with_limits(path, Limits::default())
    }

    /// Creates (truncates) the log at `path` with `limits`.
    pub fn with_limits(path: &Path, limits: Limits) -> std::io::Result<MessageLog> {
        let out = BufWriter::with_capacity(64 * 1024, File::create(path)?);
        Ok(MessageLog {
            limits,
            full: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                out,
                pending: HashMap::new(),
                summary: Summary {
                    max_lines: limits.max_lines,
                    max_body_bytes: limits.max_body_bytes,
                    ..Summary::default()
                },
                error: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent maps; keep logging.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serialises and cuts `body` for the log; `None` once the log is full (the message
    /// is then only counted, by [`MessageLog::sent`]).
    pub fn prepare(&self, src: &str, dest: &str, body: &Value) -> Option<Prepared> {
        if self.full.load(Ordering::Relaxed) {
            return None;
        }
        let text = body.to_string();
        let body_bytes = text.len();
        let cut = body_bytes > self.limits.max_body_bytes;
        let text = if cut {
            let mut end = self.limits.max_body_bytes;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_owned()
        } else {
            text
        };
        Some(Prepared {
            src: src.to_owned(),
            dest: dest.to_owned(),
            ty: body.get("type").and_then(Value::as_str).map(str::to_owned),
            body: text,
            body_bytes,
            cut,
        })
    }

    /// Records that the network accepted message `id` at `sent`. Call it while the network
    /// still holds the message, so that its fate cannot be recorded first.
    pub fn sent(&self, id: u64, sent: Time, prepared: Option<Prepared>) {
        let mut g = self.lock();
        let Some(prepared) = prepared.filter(|_| g.summary.messages < self.limits.max_lines) else {
            g.summary.omitted += 1;
            self.full.store(true, Ordering::Relaxed);
            return;
        };
        g.summary.messages += 1;
        if g.summary.messages >= self.limits.max_lines {
            self.full.store(true, Ordering::Relaxed);
        }
        g.summary.cut_bodies += u64::from(prepared.cut);
        if g.pending.len() >= self.limits.max_pending {
            g.summary.untracked += 1;
            write_line(&mut g, id, &Pending { prepared, sent }, "undelivered", None);
            return;
        }
        g.pending.insert(id, Pending { prepared, sent });
    }

    /// Message `id` was handed to its receiver at `at`.
    pub fn delivered(&self, id: u64, at: Time) {
        self.resolve(id, "delivered", at);
    }

    /// Message `id` was dropped by a partition when its receiver took it, at `at`.
    pub fn dropped(&self, id: u64, at: Time) {
        self.resolve(id, "dropped", at);
    }

    fn resolve(&self, id: u64, fate: &str, at: Time) {
        let mut g = self.lock();
        if let Some(p) = g.pending.remove(&id) {
            write_line(&mut g, id, &p, fate, Some(at));
        }
    }

    /// Writes every message still waiting (fate `undelivered`, by id) and the summary line,
    /// and flushes. Returns the summary, or the first write error of the whole log.
    pub fn finish(&self) -> std::io::Result<Summary> {
        let mut g = self.lock();
        let mut left: Vec<(u64, Pending)> = g.pending.drain().collect();
        left.sort_unstable_by_key(|(id, _)| *id);
        for (id, p) in &left {
            write_line(&mut g, *id, p, "undelivered", None);
        }
        let summary = g.summary;
        let Inner { out, error, .. } = &mut *g;
        if let Some(e) = error.take() {
            return Err(e);
        }
        serde_json::to_writer(&mut *out, &serde_json::json!({ "summary": summary }))?;
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(summary)
    }
}

fn write_line(g: &mut Inner, id: u64, p: &Pending, fate: &str, at: Option<Time>) {
    if g.error.is_some() {
        return;
    }
    if let Err(e) = line(&mut g.out, id, p, fate, at) {
        g.error = Some(e);
    }
}

/// Writes one message's line. `sent` and `at` leave as integers of nanoseconds since the
/// start of the run: the file format (the clock of `history.jsonl`).
fn line(
    out: &mut impl Write,
    id: u64,
    p: &Pending,
    fate: &str,
    at: Option<Time>,
) -> std::io::Result<()> {
    let q = &p.prepared;
    write!(out, "{{\"id\":{id},\"src\":")?;
    serde_json::to_writer(&mut *out, &q.src)?;
    out.write_all(b",\"dest\":")?;
    serde_json::to_writer(&mut *out, &q.dest)?;
    out.write_all(b",\"type\":")?;
    serde_json::to_writer(&mut *out, &q.ty)?;
    write!(
        out,
        ",\"sent\":{},\"fate\":\"{fate}\",\"at\":",
        p.sent.as_nanos()
    )?;
    match at {
        Some(t) => write!(out, "{}", t.as_nanos())?,
        None => out.write_all(b"null")?,
    }
    if q.cut {
        out.write_all(b",\"body\":null,\"body_head\":")?;
        serde_json::to_writer(&mut *out, &q.body)?;
        write!(out, ",\"body_bytes\":{}}}", q.body_bytes)?;
    } else {
        write!(out, ",\"body\":{}}}", q.body)?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .expect("log written")
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is JSON"))
            .collect()
    }

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("glomers-journal-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d.join(FILE)
    }

    #[test]
    fn one_line_per_message_with_its_fate_and_body() {
        let path = tmp("fates");
        let log = MessageLog::create(&path).expect("create");
        let body = json!({"type": "broadcast", "message": 3, "msg_id": 1});
        for (id, (src, dest)) in [("c1", "n0"), ("n0", "n1"), ("n1", "n0")]
            .iter()
            .enumerate()
        {
            let sent = Time::from_nanos(10 * id as u64);
            log.sent(id as u64, sent, log.prepare(src, dest, &body));
        }
        log.dropped(1, Time::from_nanos(50));
        log.delivered(0, Time::from_nanos(20));
        log.delivered(99, Time::from_nanos(60)); // never sent: ignored
        let s = log.finish().expect("finish");
        assert_eq!((s.messages, s.omitted, s.cut_bodies), (3, 0, 0));
        let l = lines(&path);
        assert_eq!(l.len(), 4);
        assert_eq!(l[0]["id"], 1);
        assert_eq!(
            (l[0]["fate"].as_str(), &l[0]["at"]),
            (Some("dropped"), &json!(50))
        );
        assert_eq!(
            (l[1]["src"].as_str(), l[1]["dest"].as_str()),
            (Some("c1"), Some("n0"))
        );
        assert_eq!(l[1]["body"], body);
        assert_eq!(l[1]["type"], "broadcast");
        assert_eq!(
            (l[2]["id"].as_u64(), l[2]["fate"].as_str()),
            (Some(2), Some("undelivered"))
        );
        assert_eq!(l[2]["at"], Value::Null);
        assert_eq!(l[3]["summary"]["messages"], 3);
        // Times leave as integers of nanoseconds, the format of the file.
        let raw = std::fs::read_to_string(&path).expect("log written");
        let want = format!(
            r#"{{"id":0,"src":"c1","dest":"n0","type":"broadcast","sent":0,"fate":"delivered","at":20,"body":{body}}}"#
        );
        assert_eq!(raw.lines().nth(1), Some(want.as_str()));
    }

    #[test]
    fn long_bodies_are_cut_and_lines_are_capped() {
        let path = tmp("bounds");
        let limits = Limits {
            max_body_bytes: 24,
            max_lines: 2,
            max_pending: 1,
        };
        let log = MessageLog::with_limits(&path, limits).expect("create");
        let long = json!({"type": "echo", "echo": "é".repeat(40)});
        let at = Time::from_nanos;
        log.sent(0, at(0), log.prepare("c0", "n0", &long));
        // The pending table (1) is full: written at once, untracked.
        log.sent(
            1,
            at(1),
            log.prepare("n0", "c0", &json!({"type": "echo_ok"})),
        );
        // The log (2 lines) is full: omitted, and not even prepared.
        assert!(log.prepare("n0", "c0", &json!({})).is_none());
        log.sent(2, at(2), None);
        log.delivered(0, at(5));
        let s = log.finish().expect("finish");
        assert_eq!(
            (s.messages, s.omitted, s.cut_bodies, s.untracked),
            (2, 1, 1, 1)
        );
        let l = lines(&path);
        assert_eq!(l.len(), 3);
        assert_eq!(l[0]["id"], 1);
        assert_eq!(l[1]["body"], Value::Null);
        let head = l[1]["body_head"].as_str().expect("head");
        assert!(
            head.len() <= 24 && long.to_string().starts_with(head),
            "{head}"
        );
        assert_eq!(
            l[1]["body_bytes"].as_u64(),
            Some(long.to_string().len() as u64)
        );
        assert_eq!(l[1]["type"], "echo");
        assert_eq!(l[2]["summary"]["omitted"], 1);
    }
}
