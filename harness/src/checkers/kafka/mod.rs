//! The kafka checker (Jepsen `tests/kafka.clj` analysis, as Maelstrom's kafka workload runs
//! it: no transactions, `assign` only, no write-write inference).
//!
//! From every send and poll it rebuilds each key's log (offset → messages, from `ok` sends
//! and from polls; from `info` sends only when one of their messages was polled) and looks
//! for every error type Jepsen reports:
//!
//! | type | meaning |
//! |---|---|
//! | `inconsistent-offsets` | one key+offset seen with two or more messages |
//! | `duplicate` | one message at more than one offset of a key |
//! | `lost-write` | a committed message at or below the highest read position of its key that no `ok` poll returned |
//! | `unseen` | `ok`-acknowledged messages no `ok` poll ever returned |
//! | `G1a` | an `ok` poll returned a message whose send failed definitely |
//! | `G1c-realtime` | a poll returned a message whose send was invoked after the poll completed (the only Elle cycle possible here: a write-read edge closed by real-time order) |
//! | `poll-skip` / `nonmonotonic-poll` | per process, a poll's first message of a key is more than one position after / not after the previous poll's last |
//! | `int-poll-skip` / `int-nonmonotonic-poll` | the same between consecutive messages of a key inside one poll |
//! | `nonmonotonic-send` | per process, a later send to a key lands at or before an earlier one |
//! | `int-send-skip` / `int-nonmonotonic-send` | the same inside one op's sends (multi-send ops only) |
//! | `precommitted-read` | an op read a message it sent itself |
//!
//! Positions are dense ranks in the key's offset order. Valid iff every present error type
//! is in [`ALLOWED_ERROR_TYPES`]. A poll returning a message nobody sent makes Jepsen throw
//! (`unknown`); here that is reported as `unknown` too, unless some error already makes the
//! history invalid.

mod index;
mod internal;
mod lag;
mod offsets;
mod parse;
mod polled;
mod process_order;
mod report;
mod unpolled;
mod versions;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::checker::CheckResult;
use crate::history::{History, Process};
use index::Index;
use unpolled::Unseen;
use versions::Versions;

/// Error types that never make a history invalid (Jepsen's `allowed-error-types` with
/// `sub-via #{:assign}` and no `ww-deps`).
pub const ALLOWED_ERROR_TYPES: [&str; 6] = [
    "int-send-skip",
    "G0",
    "G0-process",
    "G0-realtime",
    "PL-1-cycle-exists",
    "strong-PL-1-cycle-exists",
];

/// The errors found, per error type in the order found: a problem line and the record
/// sampled into the details. Each type has one detector, so the order the detectors run
/// in changes nothing in the result.
#[derive(Default)]
struct Found {
    by_type: BTreeMap<&'static str, Vec<(String, Value)>>,
}

impl Found {
    fn add(&mut self, t: &'static str, line: String, v: Value) {
        self.by_type.entry(t).or_default().push((line, v));
    }
}

/// A process as Jepsen prints it: its number, or `"nemesis"`.
fn proc_num(p: Process) -> Value {
    match p {
        Process::Client(n) => json!(n),
        Process::Nemesis => json!("nemesis"),
    }
}

/// Checks a kafka history. Output: `valid`, `bad_error_types`, `error_types` (Jepsen's
/// names, e.g. `"lost-write"`), `info_txn_causes`, `worst_realtime_lag`
/// (`{time, lag}` in seconds, with `process` and `key` when any), and per present error type
/// a field named in snake_case (`lost_write`, `G1a`, ...) with `count` and up to 32 `errs`
/// (for `unseen`: `{time, unseen: {key: count}, messages: {key: [msg...]}}`).
pub fn check(h: &History) -> CheckResult {
    let ops = match parse::client_ops(h) {
        Ok(ops) => ops,
        Err(e) => return CheckResult::unknown(e),
    };
    let ix = Index::new(h, &ops);
    let logs = versions::logs(&ix);
    let versions = Versions::of(&logs);
    let mut found = Found::default();
    offsets::inconsistent_offsets(&ix, &logs, &mut found);
    offsets::duplicates(&ix, &logs, &mut found);
    let phantoms = polled::check(&ix, &mut found);
    internal::poll_order(&ix, &versions, &mut found);
    internal::precommitted_reads(&ix, &mut found);
    internal::send_order(&ix, &versions, &mut found);
    unpolled::lost_writes(&ix, &versions, &mut found);
    process_order::check(&ix, &versions, &mut found);
    let unseen = Unseen::of(&ix);
    report::result(&ix, &found, &unseen, &phantoms, lag::realtime_lag(&ix))
}

#[cfg(test)]
mod tests;
