//! The reference checker for tests: tries every order of every admissible set of
//! operations, sharing nothing with the search but the register's step.
//!
//! A history is linearizable when some sequence `s` holds every determinate operation and
//! any subset of the indeterminate ones, such that (real time) no operation in `s` comes
//! after one that was invoked after it completed, and (register) stepping through `s` from
//! the empty register never fails. Exponential: for histories of a handful of operations.

use super::model::{RegOp, Val, NULL};

/// Whether `seq` (indices into `ops`) respects real time and the register.
pub fn valid_order(ops: &[RegOp], seq: &[usize]) -> bool {
    for (a, &i) in seq.iter().enumerate() {
        for &j in &seq[a + 1..] {
            // j is placed after i: j must not have completed before i was invoked.
            if ops[j].ret.is_some_and(|r| r < ops[i].call) {
                return false;
            }
        }
    }
    let mut state: Val = NULL;
    for &i in seq {
        match ops[i].f.step(state) {
            Some(s) => state = s,
            None => return false,
        }
    }
    true
}

/// Whether some order of all determinate operations of `ops` and a subset of the
/// indeterminate ones is valid.
pub fn linearizable(ops: &[RegOp]) -> bool {
    let det: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret.is_some()).collect();
    let info: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret.is_none()).collect();
    for mask in 0u64..(1 << info.len()) {
        let mut chosen = det.clone();
        chosen.extend(
            info.iter()
                .enumerate()
                .filter(|(b, _)| mask & (1 << b) != 0)
                .map(|(_, &i)| i),
        );
        if some_permutation(ops, &mut chosen, 0) {
            return true;
        }
    }
    false
}

/// Whether some permutation of `items[k..]` after `items[..k]` is a valid order.
fn some_permutation(ops: &[RegOp], items: &mut Vec<usize>, k: usize) -> bool {
    if k == items.len() {
        return valid_order(ops, items);
    }
    for i in k..items.len() {
        items.swap(k, i);
        if some_permutation(ops, items, k + 1) {
            items.swap(k, i);
            return true;
        }
        items.swap(k, i);
    }
    false
}
