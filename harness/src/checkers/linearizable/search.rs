//! Wing–Gong–Lowe search for a linearization of one register history, with memoization of
//! (set of linearized operations, register state), as porcupine does it.
//!
//! The determinate operations' invocations and completions form one doubly linked list in
//! history order. The search scans it from the front: an invocation is a candidate (the
//! operation may be linearized next); the first completion it meets ends the candidates,
//! because that operation must be linearized before anything invoked later. A candidate
//! whose step the register allows, and whose resulting (set, state) is new, is linearized:
//! pushed on a stack and unlinked, and the scan starts again from the front. When no
//! candidate works the search backtracks: it pops the last operation, links it back and
//! tries the next candidate after it.
//!
//! Indeterminate operations (no completion) are kept in a second list, by invocation.
//! They are tried only after the determinate candidates, at the completion that ended the
//! scan: those invoked before it may be linearized there. They never end a scan and never
//! have to be linearized: once every determinate operation is linearized the history is
//! linearizable, the remaining indeterminate ones taking effect later or never. Trying
//! them last is only an order among the candidates; every candidate is still tried, so
//! the search is complete.
//!
//! The memo holds the (set, state) pairs the search backtracked from: everything after
//! them was explored without success, so reaching one again is pruned. A pair on the
//! current path cannot be reached again along it (the set only grows), so recording pairs
//! when leaving them prunes exactly what porcupine's recording on entry prunes, while a
//! search that never backtracks (the common case on a correct history) does no memo work
//! at all. Every pair entered counts as one explored state; when a search reaches
//! `state_limit` it stops with [`Verdict::Unknown`]: never a guess.

use super::memo::{LinSet, Memo};
use super::model::{RegF, RegOp, Val, NULL};

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchOpts {
    /// Stop with [`Verdict::Unknown`] after this many explored states.
    pub state_limit: u64,
    /// Which explored (set, state) pairs to remember.
    pub memo: MemoPolicy,
    /// On failure, keep the deepest partial linearization found (costs a copy of the stack
    /// at each new depth; for small histories).
    pub record_best: bool,
}

/// Which (set, state) pairs the search remembers, to prune reaching them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoPolicy {
    /// The pairs it backtracked from (the checker's policy): the same pruning as
    /// [`MemoPolicy::Entered`], and no memo work until the first backtrack.
    Failed,
    /// Every pair it enters, as porcupine does (a benchmark baseline).
    Entered,
    /// None: every pair is explored again each time it is reached (a baseline; exponential
    /// on histories that need much backtracking).
    Off,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A linearization exists: the determinate and linearized indeterminate operations in
    /// order (indices into the searched slice).
    Linearizable(Vec<usize>),
    /// None exists.
    NotLinearizable(Failure),
    /// The state limit was reached first.
    Unknown,
}

/// Where a failed search got stuck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The latest completion (history index) the search could not get past: every
    /// operation invoked after it is irrelevant to the failure, so the operations invoked
    /// before it are already not linearizable.
    pub frontier: usize,
    /// With `record_best`: the longest partial linearization found (indices into the
    /// searched slice, in order).
    pub best: Vec<usize>,
}

/// A search's verdict and effort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// States explored.
    pub states: u64,
}

const HEAD: u32 = 0;

/// The two lists. Entry `e` of the determinate list (0 is the head, `tail` the end)
/// belongs to determinate operation `tag[e] >> 1`, and is its invocation when the low
/// bit of `tag[e]` is 0. The indeterminate list holds invocations only: entry `i` is
/// indeterminate operation `i - 1`.
struct Lists {
    next: Vec<u32>,
    prev: Vec<u32>,
    tag: Vec<u32>,
    pos: Vec<usize>,
    ret_entry: Vec<u32>,
    tail: u32,
    inext: Vec<u32>,
    iprev: Vec<u32>,
    icall: Vec<usize>,
    itail: u32,
}

/// Links `0..=tail` in order: `next[e] = e + 1`, `prev[e] = e - 1` (the ends point at
/// themselves and are never followed).
fn chain(tail: u32) -> (Vec<u32>, Vec<u32>) {
    let next = (1..=tail).chain([tail]).collect();
    let prev = [0].into_iter().chain(0..tail).collect();
    (next, prev)
}

impl Lists {
    fn new(det: &[&RegOp], info: &[&RegOp]) -> Self {
        let mut events: Vec<(usize, u32)> = Vec::with_capacity(det.len() * 2);
        for (i, op) in det.iter().enumerate() {
            events.push((op.call, (i as u32) << 1));
            events.push((op.ret.unwrap_or(usize::MAX), (i as u32) << 1 | 1));
        }
        // History indices are distinct; at a tie (hand-made input) invocations go first,
        // which treats the two operations as concurrent.
        events.sort_unstable_by_key(|&(pos, tag)| (pos, tag & 1));
        let tail = events.len() as u32 + 1;
        let mut tag = vec![0; tail as usize + 1];
        let mut pos = vec![0; tail as usize + 1];
        let mut ret_entry = vec![0; det.len()];
        for (k, &(p, t)) in events.iter().enumerate() {
            tag[k + 1] = t;
            pos[k + 1] = p;
            if t & 1 == 1 {
                ret_entry[(t >> 1) as usize] = k as u32 + 1;
            }
        }
        let (next, prev) = chain(tail);
        let itail = info.len() as u32 + 1;
        let (inext, iprev) = chain(itail);
        let icall = [0]
            .into_iter()
            .chain(info.iter().map(|o| o.call))
            .chain([usize::MAX])
            .collect();
        Lists {
            next,
            prev,
            tag,
            pos,
            ret_entry,
            tail,
            inext,
            iprev,
            icall,
            itail,
        }
    }

    #[inline]
    fn unlink(next: &mut [u32], prev: &mut [u32], e: u32) {
        let (p, n) = (prev[e as usize], next[e as usize]);
        next[p as usize] = n;
        prev[n as usize] = p;
    }

    #[inline]
    fn relink(next: &mut [u32], prev: &mut [u32], e: u32) {
        let (p, n) = (prev[e as usize], next[e as usize]);
        next[p as usize] = e;
        prev[n as usize] = e;
    }

    /// Unlinks the operation whose invocation is entry `c`, and its completion.
    #[inline]
    fn lift(&mut self, c: u32) {
        let r = self.ret_entry[(self.tag[c as usize] >> 1) as usize];
        Self::unlink(&mut self.next, &mut self.prev, c);
        Self::unlink(&mut self.next, &mut self.prev, r);
    }

    /// Links back what [`Lists::lift`] unlinked (in the reverse order, so the neighbours
    /// it remembers are right).
    #[inline]
    fn unlift(&mut self, c: u32) {
        let r = self.ret_entry[(self.tag[c as usize] >> 1) as usize];
        Self::relink(&mut self.next, &mut self.prev, r);
        Self::relink(&mut self.next, &mut self.prev, c);
    }
}

/// Where the scan is: at an entry of the determinate list, or at an entry of the
/// indeterminate list, trying those invoked before the completion at history index
/// `bound`.
#[derive(Clone, Copy)]
enum Cursor {
    Det(u32),
    Info(u32, usize),
}

/// A linearized operation and the state before it.
#[derive(Clone, Copy)]
enum Frame {
    Det {
        entry: u32,
        before: Val,
    },
    Info {
        entry: u32,
        bound: usize,
        before: Val,
    },
}

/// The search's working state.
struct Search<'a> {
    det: Vec<(usize, &'a RegOp)>,
    info: Vec<(usize, &'a RegOp)>,
    lists: Lists,
    set: LinSet,
    memo: Memo,
    key: Vec<u64>,
    stack: Vec<Frame>,
    state: Val,
    states: u64,
    opts: SearchOpts,
}

impl<'a> Search<'a> {
    fn new(ops: &'a [RegOp], opts: SearchOpts) -> Self {
        let mut det: Vec<(usize, &RegOp)> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.ret.is_some())
            .collect();
        // An indeterminate read changes nothing and constrains nothing: left out.
        let mut info: Vec<(usize, &RegOp)> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.ret.is_none() && !matches!(o.f, RegF::Read(_)))
            .collect();
        det.sort_by_key(|(_, o)| o.call);
        info.sort_by_key(|(_, o)| o.call);
        let d: Vec<&RegOp> = det.iter().map(|(_, o)| *o).collect();
        let i: Vec<&RegOp> = info.iter().map(|(_, o)| *o).collect();
        Search {
            lists: Lists::new(&d, &i),
            set: LinSet::new(det.len(), info.len()),
            det,
            info,
            memo: Memo::new(),
            key: Vec::new(),
            stack: Vec::new(),
            state: NULL,
            states: 0,
            opts,
        }
    }

    /// Whether (the current set, `state`) is not known to fail; counts it as explored.
    /// Nothing to look up before the first backtrack: a search that never backtracks
    /// (most of a correct history) pays nothing for the memo.
    #[inline]
    fn fresh(&mut self, state: Val) -> bool {
        match self.opts.memo {
            MemoPolicy::Failed if !self.memo.is_empty() => {
                self.set.key(state, &mut self.key);
                if self.memo.contains(&self.key) {
                    return false;
                }
            }
            MemoPolicy::Entered => {
                self.set.key(state, &mut self.key);
                if !self.memo.insert(&self.key) {
                    return false;
                }
            }
            _ => {}
        }
        self.states += 1;
        true
    }

    /// Records the current (set, state) as failed: everything after it was explored.
    fn remember_failure(&mut self) {
        if self.opts.memo == MemoPolicy::Failed {
            self.set.key(self.state, &mut self.key);
            self.memo.insert(&self.key);
        }
    }

    /// The operations on the stack, in order (indices into the searched slice).
    fn order(&self) -> Vec<usize> {
        self.stack
            .iter()
            .map(|f| match *f {
                Frame::Det { entry, .. } => {
                    self.det[(self.lists.tag[entry as usize] >> 1) as usize].0
                }
                Frame::Info { entry, .. } => self.info[entry as usize - 1].0,
            })
            .collect()
    }

    /// Tries determinate invocation entry `e`; true if it was linearized.
    fn try_det(&mut self, e: u32) -> bool {
        let d = (self.lists.tag[e as usize] >> 1) as usize;
        let Some(next) = self.det[d].1.f.step(self.state) else {
            return false;
        };
        self.set.insert_det(d);
        if !self.fresh(next) {
            self.set.remove_det(d);
            return false;
        }
        self.stack.push(Frame::Det {
            entry: e,
            before: self.state,
        });
        self.state = next;
        self.lists.lift(e);
        true
    }

    /// Tries indeterminate entry `i`; true if it was linearized.
    fn try_info(&mut self, i: u32, bound: usize) -> bool {
        let j = i as usize - 1;
        let Some(next) = self.info[j].1.f.step(self.state) else {
            return false;
        };
        self.set.insert_info(j);
        if !self.fresh(next) {
            self.set.remove_info(j);
            return false;
        }
        self.stack.push(Frame::Info {
            entry: i,
            bound,
            before: self.state,
        });
        self.state = next;
        let l = &mut self.lists;
        Lists::unlink(&mut l.inext, &mut l.iprev, i);
        true
    }

    /// Undoes the last linearization; the cursor to continue from, `None` if there is
    /// nothing to undo.
    fn backtrack(&mut self) -> Option<Cursor> {
        if !self.stack.is_empty() {
            self.remember_failure();
        }
        Some(match self.stack.pop()? {
            Frame::Det { entry, before } => {
                self.lists.unlift(entry);
                self.set
                    .remove_det((self.lists.tag[entry as usize] >> 1) as usize);
                self.state = before;
                Cursor::Det(self.lists.next[entry as usize])
            }
            Frame::Info {
                entry,
                bound,
                before,
            } => {
                let l = &mut self.lists;
                Lists::relink(&mut l.inext, &mut l.iprev, entry);
                self.set.remove_info(entry as usize - 1);
                self.state = before;
                Cursor::Info(self.lists.inext[entry as usize], bound)
            }
        })
    }

    fn run(&mut self) -> Verdict {
        let mut frontier = 0;
        let mut best = Vec::new();
        let mut cursor = Cursor::Det(self.lists.next[HEAD as usize]);
        loop {
            if self.states > self.opts.state_limit {
                return Verdict::Unknown;
            }
            cursor = match cursor {
                Cursor::Det(e) if e == self.lists.tail => {
                    return Verdict::Linearizable(self.order());
                }
                Cursor::Det(e) if self.lists.tag[e as usize] & 1 == 1 => {
                    // A completion: no determinate candidate beyond it.
                    let bound = self.lists.pos[e as usize];
                    frontier = frontier.max(bound);
                    if self.opts.record_best && self.stack.len() > best.len() {
                        best = self.order();
                    }
                    Cursor::Info(self.lists.inext[HEAD as usize], bound)
                }
                Cursor::Det(e) => {
                    if self.try_det(e) {
                        Cursor::Det(self.lists.next[HEAD as usize])
                    } else {
                        Cursor::Det(self.lists.next[e as usize])
                    }
                }
                Cursor::Info(i, bound)
                    if i != self.lists.itail && self.lists.icall[i as usize] < bound =>
                {
                    if self.try_info(i, bound) {
                        Cursor::Det(self.lists.next[HEAD as usize])
                    } else {
                        Cursor::Info(self.lists.inext[i as usize], bound)
                    }
                }
                Cursor::Info(..) => match self.backtrack() {
                    Some(c) => c,
                    None => return Verdict::NotLinearizable(Failure { frontier, best }),
                },
            };
        }
    }
}

/// Searches `ops` (one key's operations) for a linearization.
pub fn search(ops: &[RegOp], opts: &SearchOpts) -> Outcome {
    let mut s = Search::new(ops, *opts);
    let verdict = s.run();
    Outcome {
        verdict,
        states: s.states,
    }
}
