//! The kafka binary killed and restarted over a damaged segment of its data directory: a
//! torn last record, garbage after the last record, a corrupt record in the middle. Every
//! complete record before the damage must come back through `poll` with the offsets the
//! first life acknowledged, the node must say on stderr what it dropped, never panic, go
//! on taking sends above every offset that came back, and keep the repair for good.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use common::NodeProc;
use glomers_segment::{scan_each, FRAME_HEADER_LEN};
use glomers_shell::driver::DATA_DIR_ENV;
use glomers_shell::kafka::saved::LOG;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};

/// Messages sent in the first life.
const N: u64 = 200;
const KEY: &str = "k";

/// One `[offset, msg]` pair as polled.
type Entry = (u64, u64);

/// Starts the kafka binary on `dir` and checks its `init_ok`.
fn start(dir: &Path) -> NodeProc {
    let dir = dir.to_str().expect("temp dir path is UTF-8");
    let env = [(DATA_DIR_ENV, dir), ("GLOMERS_LOG", "warn")];
    let mut n = NodeProc::spawn(env!("CARGO_BIN_EXE_kafka"), &[], &env);
    n.init("n0", &["n0"]);
    n
}

/// Sends messages `msgs` to [`KEY`] (msg ids from 10), all before reading any reply, and
/// returns `(offset, msg)` for each from its `send_ok`, in message order.
fn send_all(n: &mut NodeProc, msgs: std::ops::Range<u64>) -> Vec<Entry> {
    for m in msgs.clone() {
        let body = json!({"type": "send", "msg_id": 10 + m, "key": KEY, "msg": m});
        n.send("c1", "n0", body);
    }
    let mut offsets = BTreeMap::new();
    while offsets.len() < msgs.clone().count() {
        let v = n.recv();
        assert_eq!(v["dest"], "c1", "{v}");
        assert_eq!(v["body"]["type"], "send_ok", "{v}");
        let m = v["body"]["in_reply_to"].as_u64().expect("in_reply_to") - 10;
        let offset = v["body"]["offset"].as_u64().expect("offset");
        assert!(offsets.insert(m, offset).is_none(), "two replies to {m}");
    }
    offsets.into_iter().map(|(m, o)| (o, m)).collect()
}

/// Polls [`KEY`] from offset 0 until a poll brings nothing new; every pair in order.
fn poll_all(n: &mut NodeProc) -> Vec<Entry> {
    let (mut all, mut from, mut msg_id) = (Vec::new(), 0, 1_000_000);
    loop {
        msg_id += 1;
        let body = json!({"type": "poll", "msg_id": msg_id, "offsets": {KEY: from}});
        n.send("c2", "n0", body);
        let (reply, _) = n.recv_reply("c2", msg_id);
        assert_eq!(reply["body"]["type"], "poll_ok", "{reply}");
        let got = reply["body"]["msgs"].get(KEY).cloned().unwrap_or(json!([]));
        let got: Vec<Entry> = serde_json::from_value(got).expect("[offset, msg] pairs");
        let Some(&(last, _)) = got.last() else {
            return all;
        };
        assert!(got.iter().all(|&(o, _)| o >= from), "{got:?} from {from}");
        all.extend(got);
        from = last + 1;
    }
}

/// The last segment file of the kafka log in `dir`.
fn last_segment(dir: &Path) -> PathBuf {
    let log_dir = dir.join("logs").join(LOG);
    let mut segs: Vec<PathBuf> = fs::read_dir(&log_dir)
        .expect("kafka log directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segs.sort();
    segs.pop().expect("a segment file")
}

/// Each record of segment `path`: where its frame starts, its payload's length, and the
/// payload as JSON.
fn frames(path: &Path) -> Vec<(u64, usize, Value)> {
    let bytes = fs::read(path).expect("read segment");
    let mut out = Vec::new();
    let walk = scan_each(&bytes, |r| {
        let payload = serde_json::from_slice(r.payload).expect("a JSON record");
        out.push((r.pos, r.payload.len(), payload));
    })
    .expect("segment header");
    assert!(
        walk.damage.is_none(),
        "the first life left damage: {walk:?}"
    );
    out
}

/// A first life in a fresh `dir`: `N` acknowledged sends, then SIGKILL. Returns the
/// acknowledged pairs and the frames of the (only) segment, one `own` record per message.
fn first_life(dir: &Path) -> (Vec<Entry>, PathBuf, Vec<(u64, usize, Value)>) {
    let mut n = start(dir);
    let acked = send_all(&mut n, 0..N);
    let stderr = n.kill();
    // A fresh directory needs no repair: the stderr checks below do discriminate.
    assert!(!stderr.contains("store recovery"), "{stderr}");
    let seg = last_segment(dir);
    let frames = frames(&seg);
    let owns: Vec<Entry> = frames
        .iter()
        .map(|(_, _, r)| {
            assert_eq!((&r["t"], &r["key"]), (&json!("own"), &json!(KEY)), "{r}");
            (
                r["offset"].as_u64().expect("offset"),
                r["msg"].as_u64().expect("msg"),
            )
        })
        .collect();
    assert_eq!(owns, acked, "one record per acknowledged send, in order");
    (acked, seg, frames)
}

/// The stderr line of the store's repair of `seg`.
fn repair_line<'a>(stderr: &'a str, seg: &Path) -> &'a str {
    let seg = seg.display().to_string();
    stderr
        .lines()
        .find(|l| l.contains("WARN") && l.contains("store recovery") && l.contains(&seg))
        .unwrap_or_else(|| panic!("no repair of {seg} reported; stderr:\n{stderr}"))
}

/// Sends one more message after the recovered `back`: its offset is above all of theirs,
/// and a poll returns it after them. Then the node must exit cleanly at end of input,
/// without a panic. Returns its stderr and everything the key now holds.
fn goes_on(mut n: NodeProc, back: &[Entry]) -> (String, Vec<Entry>) {
    let new = send_all(&mut n, N..N + 1)[0];
    let max = back.iter().map(|&(o, _)| o).max().expect("some recovered");
    assert!(new.0 > max, "new offset {} not above {max}", new.0);
    let mut now = back.to_vec();
    now.push(new);
    assert_eq!(poll_all(&mut n), now);
    let (rest, stderr, status) = n.finish_with_status();
    assert!(rest.is_empty(), "{rest:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "exit {status}; stderr:\n{stderr}");
    (stderr, now)
}

/// A third life finds nothing to repair (the second made its repair durable) and
/// everything the second held, the send after the repair included.
fn repaired_for_good(dir: &Path, now: &[Entry]) {
    let mut n = start(dir);
    assert_eq!(poll_all(&mut n), now);
    let (_, stderr) = n.finish();
    assert!(
        !stderr.contains("store recovery"),
        "repaired twice: {stderr}"
    );
}

#[test]
fn torn_tail_is_dropped_and_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (acked, seg, frames) = first_life(dir.path());
    let &(pos, len, _) = frames.last().expect("records");
    let cut = pos + (FRAME_HEADER_LEN + len / 2) as u64;
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .and_then(|f| f.set_len(cut))
        .expect("truncate segment");

    let mut n = start(dir.path());
    let back = poll_all(&mut n);
    assert_eq!(
        back,
        acked[..acked.len() - 1],
        "all but the torn last message"
    );
    // The next send goes above every offset that came back; the torn record's offset may
    // be given again: in a real torn write its send was never acknowledged (replies leave
    // after the sync).
    let (stderr, now) = goes_on(n, &back);
    let line = repair_line(&stderr, &seg);
    assert!(line.contains("torn record"), "{line}");
    let said = format!("truncated to {pos} bytes, {} bytes", cut - pos);
    assert!(line.contains(&said), "{line}");
    repaired_for_good(dir.path(), &now);
}

#[test]
fn garbage_after_records_is_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (acked, seg, _) = first_life(dir.path());
    let len = fs::metadata(&seg).expect("segment").len();
    let mut garbage = [0u8; 100];
    StdRng::seed_from_u64(7).fill_bytes(&mut garbage);
    OpenOptions::new()
        .append(true)
        .open(&seg)
        .and_then(|mut f| f.write_all(&garbage))
        .expect("append garbage");

    let mut n = start(dir.path());
    let back = poll_all(&mut n);
    assert_eq!(back, acked, "every message");
    let (stderr, now) = goes_on(n, &back);
    let line = repair_line(&stderr, &seg);
    // What the garbage looks like (a frame too long, torn, or failing its checksum)
    // depends on its bytes; that all 100 of them went does not.
    let said = format!("truncated to {len} bytes, 100 bytes");
    assert!(line.contains(&said), "{line}");
    repaired_for_good(dir.path(), &now);
}

#[test]
fn corrupt_record_in_the_middle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (acked, seg, frames) = first_life(dir.path());
    let mid = frames.len() / 2;
    let (pos, len, _) = frames[mid];
    let mut bytes = fs::read(&seg).expect("read segment");
    let total = bytes.len() as u64;
    bytes[pos as usize + FRAME_HEADER_LEN + len / 2] ^= 0x20;
    fs::write(&seg, bytes).expect("write segment");

    let mut n = start(dir.path());
    let back = poll_all(&mut n);
    assert_eq!(back, acked[..mid], "every message before the corrupt one");
    let (stderr, now) = goes_on(n, &back);
    let line = repair_line(&stderr, &seg);
    assert!(line.contains("bad checksum"), "{line}");
    let said = format!("truncated to {pos} bytes, {} bytes", total - pos);
    assert!(line.contains(&said), "{line}");
    let lost = frames.len() - mid - 1;
    let said = format!("and {lost} valid records dropped");
    assert!(
        line.contains(&said),
        "the valid records after it are counted: {line}"
    );
    repaired_for_good(dir.path(), &now);
}
