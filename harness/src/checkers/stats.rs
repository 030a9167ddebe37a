//! The `:stats` checker (Jepsen `checker/stats`, wrapped as Jepsen's kafka
//! `stats-checker`, which Maelstrom uses).
//!
//! Counts client completions (invocations are not counted) overall and per `f`. Each `f`
//! is valid iff it has at least one `ok`; the whole is invalid iff some `f` other than
//! [`EXEMPT`] has none.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::checker::{CheckResult, Validity};
use crate::history::{History, OpType};

/// Functions that may never succeed without failing the run (kafka's `crash` always
/// completes `info`).
pub const EXEMPT: [&str; 2] = ["crash", "debug-topic-partitions"];

#[derive(Default, Clone, Copy)]
struct Counts {
    ok: usize,
    fail: usize,
    info: usize,
}

impl Counts {
    fn to_json(self) -> Value {
        json!({
            "valid": self.ok > 0,
            "count": self.ok + self.fail + self.info,
            "ok_count": self.ok,
            "fail_count": self.fail,
            "info_count": self.info,
        })
    }
}

/// Checks the completion counts. Output: `count`, `ok_count`, `fail_count`, `info_count`,
/// `by_f` (per `f` the same plus `valid`), `valid`.
pub fn check(h: &History) -> CheckResult {
    let mut all = Counts::default();
    let mut by_f: BTreeMap<&str, Counts> = BTreeMap::new();
    for op in h.ops.iter().filter(|o| o.is_client()) {
        let c = by_f.entry(op.f.as_str()).or_default();
        match op.kind {
            OpType::Invoke => continue,
            OpType::Ok => {
                c.ok += 1;
                all.ok += 1;
            }
            OpType::Fail => {
                c.fail += 1;
                all.fail += 1;
            }
            OpType::Info => {
                c.info += 1;
                all.info += 1;
            }
        }
    }
    let problems: Vec<String> = by_f
        .iter()
        .filter(|(f, c)| c.ok == 0 && !EXEMPT.contains(f))
        .map(|(f, c)| {
            format!(
                "stats: no `{f}` operation succeeded ({} fail, {} info)",
                c.fail, c.info
            )
        })
        .collect();
    let valid = Validity::from_bool(problems.is_empty());
    let mut d = all.to_json();
    d["valid"] = valid.to_json();
    d["by_f"] = by_f
        .iter()
        .map(|(f, c)| (f.to_string(), c.to_json()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    CheckResult::new(valid, problems, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::Hb;

    #[test]
    fn counts_completions_by_f() {
        let mut b = Hb::new();
        b.op(0, "send", json!(1), OpType::Ok, json!(1));
        b.op(0, "send", json!(1), OpType::Fail, json!(1));
        b.op(1, "poll", json!(1), OpType::Ok, json!(1));
        b.op(1, "crash", json!(null), OpType::Info, json!(null));
        b.nemesis("start-partition");
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid);
        assert_eq!(r.details["count"], json!(4));
        assert_eq!(r.details["ok_count"], json!(2));
        assert_eq!(r.details["by_f"]["send"]["fail_count"], json!(1));
        assert_eq!(r.details["by_f"]["crash"]["valid"], json!(false));
    }

    #[test]
    fn an_f_that_never_succeeds_fails() {
        let mut b = Hb::new();
        b.op(0, "add", json!(1), OpType::Ok, json!(1));
        b.op(0, "read", json!(null), OpType::Info, json!(null));
        b.op(1, "read", json!(null), OpType::Fail, json!(null));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Invalid);
        assert!(r.problems[0].contains("`read`"));
    }

    #[test]
    fn invoke_without_completion_still_needs_an_ok() {
        let mut b = Hb::new();
        b.op(0, "add", json!(1), OpType::Ok, json!(1));
        b.invoke(1, "read", json!(null));
        assert_eq!(check(&b.build()).valid, Validity::Invalid);
    }
}
