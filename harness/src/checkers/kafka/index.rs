//! Who sent and who polled each message: the look-ups every kafka detector shares.

use std::collections::{BTreeMap, HashMap, HashSet};

use glomers_node::Time;

use super::parse::{KOp, Pairs};
use crate::checkers::value::ValueKey;
use crate::history::{History, Op, OpType};

/// Messages per key.
pub(super) type Messages<'a> = HashMap<&'a str, HashSet<&'a ValueKey>>;

/// The parsed ops of a history and who sent and polled each (key, message).
pub(super) struct Index<'a> {
    history: &'a History,
    /// For every entry, its invocation's index (completions) or its completion's (invokes).
    pairs: Vec<Option<usize>>,
    /// The history's client ops, parsed, in history order.
    pub ops: &'a [KOp<'a>],
    /// Messages returned by ok polls.
    pub read_ok: Messages<'a>,
    /// Messages of failed sends.
    pub write_fail: Messages<'a>,
    /// (key, message) -> the position in `ops` of the (last) completed op that sent it.
    pub writer_of: HashMap<(&'a str, &'a ValueKey), usize>,
    /// (key, message) -> the positions in `ops` of the completed ops that polled it.
    pub readers_of: HashMap<(&'a str, &'a ValueKey), Vec<usize>>,
}

impl<'a> Index<'a> {
    /// Indexes `ops`, the parsed client ops of `history`.
    pub fn new(history: &'a History, ops: &'a [KOp<'a>]) -> Self {
        let mut writer_of = HashMap::new();
        let mut readers_of: HashMap<_, Vec<usize>> = HashMap::new();
        for (n, k) in ops.iter().enumerate() {
            if k.op.kind == OpType::Invoke {
                continue;
            }
            for (key, ps) in &k.writes {
                for p in ps {
                    writer_of.insert((key.as_str(), &p.1), n);
                }
            }
            for (key, ps) in &k.reads {
                for p in ps {
                    readers_of.entry((key.as_str(), &p.1)).or_default().push(n);
                }
            }
        }
        Index {
            history,
            pairs: history.pairs(),
            ops,
            read_ok: messages(ops, OpType::Ok, |k| &k.reads),
            write_fail: messages(ops, OpType::Fail, |k| &k.writes),
            writer_of,
            readers_of,
        }
    }

    /// The history index of `c`'s invocation (`c`'s own when it has none).
    pub fn invoke_index(&self, c: &Op) -> usize {
        self.pairs[c.index].unwrap_or(c.index)
    }

    /// When `c` was invoked.
    pub fn invoke_time(&self, c: &Op) -> Time {
        self.history.ops[self.invoke_index(c)].time
    }

    /// Whether `k`'s sends took effect: it is ok, or it is info and one of its messages
    /// was polled.
    pub fn committed(&self, k: &KOp) -> bool {
        k.op.kind == OpType::Ok
            || (k.op.kind == OpType::Info
                && k.writes.iter().any(|(key, ps)| {
                    self.read_ok
                        .get(key.as_str())
                        .is_some_and(|s| ps.iter().any(|p| s.contains(&p.1)))
                }))
    }

    /// The history index of the op that sent `v` to `key`, if any did.
    pub fn writer(&self, key: &str, v: &ValueKey) -> Option<usize> {
        self.writer_of.get(&(key, v)).map(|&n| self.ops[n].op.index)
    }

    /// The history indices of the ops that sent or polled these messages of `key`, sorted.
    pub fn touching(&self, key: &str, vs: &[&ValueKey]) -> Vec<usize> {
        let mut out = Vec::new();
        for &v in vs {
            out.extend(self.writer(key, v));
            let readers = self
                .readers_of
                .get(&(key, v))
                .map_or(&[][..], Vec::as_slice);
            out.extend(readers.iter().map(|&n| self.ops[n].op.index));
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The messages per key on one side (`reads` or `writes`) of the ops of one `kind`.
fn messages<'a>(
    ops: &'a [KOp<'a>],
    kind: OpType,
    side: fn(&'a KOp<'a>) -> &'a BTreeMap<String, Pairs>,
) -> Messages<'a> {
    let mut out: Messages<'a> = HashMap::new();
    for k in ops.iter().filter(|k| k.op.kind == kind) {
        for (key, ps) in side(k) {
            out.entry(key).or_default().extend(ps.iter().map(|p| &p.1));
        }
    }
    out
}
