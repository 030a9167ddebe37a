//! A small set of operations that cannot be linearized, found greedily from a failed key.
//!
//! 1. **Cut at the frontier.** The failed search never got past the completion at
//!    `Failure::frontier`; the operations invoked before it are already not linearizable
//!    (`search` explains why), so the rest is dropped at once (checked; on any doubt the
//!    whole key is kept).
//! 2. **Drop chunks, then single operations** (delta-debugging style): try removing a
//!    chunk of half the operations, then quarters, ..., then one at a time; a removal is
//!    kept when what remains is still not linearizable.
//! 3. **Repeat single removals until none succeeds.**
//!
//! Every candidate must be **self-contained**: each value it reads or compares (other than
//! `null`) is written by one of its own operations, whenever the key's history wrote that
//! value at all. Without this rule a stale read shrinks to the read alone ("read 1 from an
//! empty register"), which is true but hides the writes that make it stale.
//!
//! The result is **locally minimal** (1-minimal among self-contained sets): removing any
//! one of its operations leaves a set that is linearizable, not self-contained, or that
//! the search could not decide within the shrink's state limit. It is not necessarily the
//! smallest non-linearizable subset: removing an operation can make a history
//! non-linearizable again (a write that explained a read), so greedy removal can end in a
//! local minimum. When the work limit stops step 2 or 3 early, the result is only
//! non-linearizable, and says so.

use std::collections::HashSet;

use super::model::{RegF, RegOp, Val, NULL};
use super::search::{search, Failure, MemoPolicy, SearchOpts, Verdict};

/// How much work shrinking may do: it stops, not fully shrunk, when either budget is
/// spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShrinkOpts {
    /// State limit of each trial search (an undecided trial keeps the operation).
    pub trial_state_limit: u64,
    /// Trial searches at most.
    pub max_trials: u32,
    /// States explored by all trial searches together at most.
    pub max_states: u64,
}

impl Default for ShrinkOpts {
    fn default() -> Self {
        ShrinkOpts {
            trial_state_limit: 100_000,
            max_trials: 20_000,
            max_states: 20_000_000,
        }
    }
}

/// A non-linearizable set of operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The operations (indices into the key's operations), in invocation order.
    pub ops: Vec<usize>,
    /// A longest partial linearization of them (indices into the key's operations).
    pub linearized: Vec<usize>,
    /// The operations of `ops` not in `linearized`: the search could not order them.
    pub unorderable: Vec<usize>,
    /// Whether shrinking ran to the end, so that `ops` is locally minimal.
    pub locally_minimal: bool,
    /// Trial searches run.
    pub trials: u32,
}

struct Shrinker<'a> {
    ops: &'a [RegOp],
    /// Values some operation of the key writes (a write's value, a cas's `to`).
    written: HashSet<Val>,
    opts: SearchOpts,
    trials: u32,
    max_trials: u32,
    states: u64,
    max_states: u64,
}

/// The values `ops` write.
fn writes<'a>(ops: impl Iterator<Item = &'a RegOp>) -> HashSet<Val> {
    ops.filter_map(|o| match o.f {
        RegF::Write(v) | RegF::Cas(_, v) => Some(v),
        RegF::Read(_) => None,
    })
    .collect()
}

impl Shrinker<'_> {
    /// Whether every value `subset` reads or compares, and the key writes somewhere, is
    /// written inside `subset`.
    fn self_contained(&self, subset: &[usize]) -> bool {
        let own = writes(subset.iter().map(|&i| &self.ops[i]));
        subset.iter().all(|&i| match self.ops[i].f {
            RegF::Read(v) | RegF::Cas(v, _) => {
                v == NULL || own.contains(&v) || !self.written.contains(&v)
            }
            RegF::Write(_) => true,
        })
    }

    /// Whether the operations `subset` are self-contained and certainly not linearizable;
    /// `None` once the trial budget is spent.
    fn failing(&mut self, subset: &[usize]) -> Option<bool> {
        if !self.self_contained(subset) {
            return Some(false);
        }
        if self.trials >= self.max_trials || self.states >= self.max_states {
            return None;
        }
        self.trials += 1;
        let sub: Vec<RegOp> = subset.iter().map(|&i| self.ops[i]).collect();
        let out = search(&sub, &self.opts);
        self.states += out.states;
        Some(matches!(out.verdict, Verdict::NotLinearizable(_)))
    }

    /// Removes chunks of `size` from `keep` wherever what remains still fails. `None` when
    /// the budget ran out.
    fn pass(&mut self, keep: &mut Vec<usize>, size: usize) -> Option<bool> {
        let mut changed = false;
        let mut i = 0;
        while i < keep.len() {
            let end = (i + size).min(keep.len());
            let rest: Vec<usize> = keep[..i].iter().chain(&keep[end..]).copied().collect();
            if !rest.is_empty() && self.failing(&rest)? {
                *keep = rest;
                changed = true;
            } else {
                i = end;
            }
        }
        Some(changed)
    }

    /// Steps 2 and 3; whether they ran to the end.
    fn minimise(&mut self, keep: &mut Vec<usize>) -> bool {
        let mut size = keep.len() / 2;
        while size > 1 {
            if self.pass(keep, size).is_none() {
                return false;
            }
            size /= 2;
        }
        loop {
            match self.pass(keep, 1) {
                None => return false,
                Some(false) => return true,
                Some(true) => {}
            }
        }
    }
}

/// Shrinks the failed key `ops` (whose search failed with `failure`) to a locally minimal
/// non-linearizable set.
pub fn shrink(ops: &[RegOp], failure: &Failure, opts: &ShrinkOpts) -> Witness {
    let mut sh = Shrinker {
        ops,
        written: writes(ops.iter()),
        opts: SearchOpts {
            state_limit: opts.trial_state_limit,
            memo: MemoPolicy::Failed,
            record_best: false,
        },
        trials: 0,
        max_trials: opts.max_trials,
        states: 0,
        max_states: opts.max_states,
    };
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| ops[i].call);
    let cut: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| ops[i].call < failure.frontier)
        .collect();
    let mut keep = if sh.failing(&cut) == Some(true) {
        cut
    } else {
        order
    };
    let locally_minimal = sh.minimise(&mut keep);
    let (linearized, unorderable) = explain(ops, &keep, opts.trial_state_limit);
    Witness {
        ops: keep,
        linearized,
        unorderable,
        locally_minimal,
        trials: sh.trials,
    }
}

/// A longest partial linearization of `subset` and the operations left out of it.
fn explain(ops: &[RegOp], subset: &[usize], state_limit: u64) -> (Vec<usize>, Vec<usize>) {
    let sub: Vec<RegOp> = subset.iter().map(|&i| ops[i]).collect();
    let opts = SearchOpts {
        state_limit,
        memo: MemoPolicy::Failed,
        record_best: true,
    };
    let best = match search(&sub, &opts).verdict {
        Verdict::NotLinearizable(f) => f.best,
        Verdict::Linearizable(order) => order,
        Verdict::Unknown => Vec::new(),
    };
    let linearized: Vec<usize> = best.iter().map(|&k| subset[k]).collect();
    let unorderable = subset
        .iter()
        .copied()
        .filter(|i| !linearized.contains(i))
        .collect();
    (linearized, unorderable)
}
