//! Shared model machinery (built only under `--cfg loom`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
///
/// loom explores every interleaving in which at most this many times a thread is switched
/// out while it could have run on (plus every weak-memory outcome of each interleaving).
/// Two keeps the whole suite within about a minute in a release build on two cores; the
/// mutants in `tests/` are caught even with a bound of 0 or 1. Setting
/// `LOOM_MAX_PREEMPTIONS=3` explores deeper at roughly ten times the cost.
pub const DEFAULT_PREEMPTION_BOUND: usize = 2;

/// Runs `model` under loom in every interleaving allowed by the preemption bound
/// (`LOOM_MAX_PREEMPTIONS` if set, else [`DEFAULT_PREEMPTION_BOUND`]; every other loom
/// setting from its environment variables), and returns the number of executions run.
///
/// A failing assertion in any execution panics out of `explore` with its own message.
/// Invariant: the returned count is the number of times `model` ran to completion, so a
/// caller can assert that loom really explored more than one interleaving.
pub fn explore<F>(model: F) -> usize
where
    F: Fn() + Sync + Send + 'static,
{
    // A std atomic on purpose: it counts executions from outside the model, so loom must
    // not treat it as part of the state it explores.
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTION_BOUND);
    }
    builder.check(move || {
        model();
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let runs = runs.load(Ordering::Relaxed);
    eprintln!("loom explored {runs} executions");
    runs
}

/// A record of which [`Tracked`] values (ids `0..64`) were dropped.
///
/// Invariant: dropping a value whose id is already recorded panics ("dropped twice"), so
/// at the end of a model [`Ledger::dropped`] is exactly the set of ids dropped once.
///
/// It uses std atomics, not loom's: the ledger observes the model rather than being part
/// of it, and loom runs all model threads on one OS thread, so std atomics here add no
/// interleavings and are never stale.
#[derive(Debug, Default)]
pub struct Ledger {
    dropped: AtomicU64,
}

impl Ledger {
    /// A ledger with nothing dropped, shared by the values it tracks.
    pub fn new() -> Arc<Ledger> {
        Arc::new(Ledger::default())
    }

    /// Bit `i` is set iff the value with id `i` has been dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A value moved through a structure under test: an id, a check word derived from it (so a
/// torn or mixed-up entry is visible), and the ledger its drop is recorded in.
///
/// Invariant: `check == Tracked::check_for(id)` for every value built by [`Tracked::new`];
/// a read that finds otherwise saw a torn entry.
#[derive(Debug)]
pub struct Tracked {
    /// The value's identity, below 64.
    pub id: u32,
    /// `Tracked::check_for(id)` unless the entry was torn.
    pub check: u32,
    ledger: Arc<Ledger>,
}

impl Tracked {
    /// The value `id` (below 64), recording its drop in `ledger`.
    pub fn new(id: u32, ledger: &Arc<Ledger>) -> Tracked {
        assert!(id < 64, "a ledger tracks ids 0..64");
        Tracked {
            id,
            check: Tracked::check_for(id),
            ledger: Arc::clone(ledger),
        }
    }

    /// The check word of `id`: differs from `id` in every byte.
    pub const fn check_for(id: u32) -> u32 {
        !id ^ 0x5a5a_5a5a
    }

    /// Whether the value is intact (its check word matches its id).
    pub fn is_intact(&self) -> bool {
        self.check == Tracked::check_for(self.id)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let bit = 1u64 << self.id;
        let before = self.ledger.dropped.fetch_or(bit, Ordering::Relaxed);
        assert_eq!(before & bit, 0, "value {} dropped twice", self.id);
    }
}
