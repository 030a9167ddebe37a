//! The faults of `--nemesis` and the random choices behind each fault operation: which
//! faults exist and their names, which nodes an operation targets (Jepsen's node specs),
//! the shape of a one-way partition, a clock skew, and the history names of every fault
//! and recovery with the fault windows they open and close.
//!
//! Pure: every draw comes from a caller-owned [`StdRng`]. The schedule that calls these
//! lives in `crate::world::nemesis`.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::nemesis::{majority, minority_third, Grudge};

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Maelstrom's partitions: both directions of every cut link (the four grudge shapes).
    Partition,
    /// One side of a split hears the other, but not back.
    PartitionOneway,
    /// SIGKILL a node, later start it again with a fresh `init`.
    Kill,
    /// SIGSTOP a node, later SIGCONT.
    Pause,
    /// Server-to-server messages of the targeted nodes are sometimes delivered twice.
    Duplicate,
    /// A node's clock jumps and runs fast or slow (simulator only).
    Clock,
}

impl Fault {
    /// Every fault, in the order `--help` lists them.
    pub const ALL: [Fault; 6] = [
        Fault::Partition,
        Fault::PartitionOneway,
        Fault::Kill,
        Fault::Pause,
        Fault::Duplicate,
        Fault::Clock,
    ];

    /// The `--nemesis` word.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Partition => "partition",
            Fault::PartitionOneway => "partition-oneway",
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Duplicate => "duplicate",
            Fault::Clock => "clock",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A word of `--nemesis` that names no fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?}; the faults are partition, partition-oneway, kill, pause, duplicate, clock")]
pub struct UnknownFault(pub String);

impl std::str::FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Fault, UnknownFault> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// A set of faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults(u8);

impl Faults {
    /// No fault.
    pub const NONE: Faults = Faults(0);

    /// Parses `--nemesis`: fault names separated by commas (blanks around a name and empty
    /// names are ignored, as Maelstrom's parser ignores them).
    pub fn parse(s: &str) -> Result<Faults, UnknownFault> {
        let mut set = Faults::NONE;
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            set = set.with(word.parse()?);
        }
        Ok(set)
    }

    /// This set and `f`.
    pub fn with(self, f: Fault) -> Faults {
        Faults(self.0 | f.bit())
    }

    /// Whether `f` is in the set.
    pub fn contains(self, f: Fault) -> bool {
        self.0 & f.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The faults of the set, in [`Fault::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Fault> {
        Fault::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

/// Which nodes a kill, pause, duplicate or clock operation targets: Jepsen's node specs
/// (`jepsen.nemesis.combined/db-nodes`), one drawn uniformly per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeSpec {
    /// A random non-empty subset (Jepsen's `nil`).
    Some,
    /// One random node.
    One,
    /// `floor((n-1)/3)` random nodes (none for n ≤ 3).
    MinorityThird,
    /// `majority(n) - 1` random nodes.
    Minority,
    /// `majority(n)` random nodes.
    Majority,
    /// Every node.
    All,
}

impl NodeSpec {
    /// The specs Jepsen draws from, in its order.
    pub const ALL: [NodeSpec; 6] = [
        NodeSpec::Some,
        NodeSpec::One,
        NodeSpec::MinorityThird,
        NodeSpec::Minority,
        NodeSpec::Majority,
        NodeSpec::All,
    ];
}

/// Draws a spec and the node indexes it picks from `n` nodes, in ascending order.
pub fn random_targets(n: usize, rng: &mut StdRng) -> Vec<usize> {
    let spec = NodeSpec::ALL[rng.random_range(0..NodeSpec::ALL.len())];
    targets(spec, n, rng)
}

/// The node indexes `spec` picks from `n` nodes, ascending.
pub fn targets(spec: NodeSpec, n: usize, rng: &mut StdRng) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut all: Vec<usize> = (0..n).collect();
    let count = match spec {
        NodeSpec::All => return all,
        NodeSpec::Some => rng.random_range(1..=n),
        NodeSpec::One => 1,
        NodeSpec::MinorityThird => minority_third(n),
        NodeSpec::Minority => majority(n) - 1,
        NodeSpec::Majority => majority(n),
    };
    all.shuffle(rng);
    all.truncate(count);
    all.sort_unstable();
    all
}

/// A one-way partition over `nodes`: the nodes are shuffled and split as one of Jepsen's
/// two-sided shapes (`one`, `minority-third`, `majority`, drawn uniformly); one side, drawn
/// by a coin, drops every message from the other side, which still hears it. The grudge
/// lists every node (an empty set for a node that drops nothing).
pub fn oneway_partition(nodes: &[String], rng: &mut StdRng) -> Grudge {
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    let n = shuffled.len();
    let cut = match rng.random_range(0..3) {
        0 => 1.min(n),
        1 => minority_third(n),
        _ => n / 2,
    };
    let rest = shuffled.split_off(cut);
    let (deaf, heard) = if rng.random_bool(0.5) {
        (shuffled, rest)
    } else {
        (rest, shuffled)
    };
    let heard_set: BTreeSet<String> = heard.iter().cloned().collect();
    let mut g: Grudge = heard.into_iter().map(|x| (x, BTreeSet::new())).collect();
    for d in deaf {
        g.insert(d, heard_set.clone());
    }
    g
}

/// A node clock's fault: a jump, then a rate relative to true time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Skew {
    /// How far the clock jumps.
    pub jump: Duration,
    /// Whether it jumps back (else ahead).
    pub back: bool,
    /// Node-clock nanoseconds per true nanosecond from the jump on.
    pub rate: f64,
}

/// Draws a skew: a jump of `±1.5^(6 + 25u)` milliseconds (11 ms to 288 s, the
/// distribution of Jepsen's `bump-clock`), either way, and a rate of `2^v` for `v` uniform
/// on `[-1, 1)` (from half to twice true speed). The jump is truncated to whole
/// nanoseconds; it is never zero.
pub fn random_skew(rng: &mut StdRng) -> Skew {
    let back = rng.random_bool(0.5);
    let ms = 1.5f64.powf(6.0 + 25.0 * rng.random::<f64>());
    let rate = 2f64.powf(rng.random_range(-1.0..1.0));
    Skew {
        // `as` truncates (and saturates; 288 s is far inside u64 nanoseconds).
        jump: Duration::from_nanos((ms * 1e6) as u64),
        back,
        rate,
    }
}

/// The fraction of eligible messages a duplicate fault delivers twice.
pub const DUPLICATE_FRACTION: f64 = 0.25;

/// The copy of a duplicated message takes its own latency draw plus a uniform extra delay
/// below this, so the two copies arrive at different times.
pub const DUPLICATE_EXTRA: Duration = Duration::from_millis(100);

/// The history `f` of each fault operation and recovery.
pub mod ops {
    /// Partition (Maelstrom's).
    pub const START_PARTITION: &str = "start-partition";
    /// Heal of `start-partition`.
    pub const STOP_PARTITION: &str = "stop-partition";
    /// One-way partition.
    pub const START_ONEWAY: &str = "start-partition-oneway";
    /// Heal of `start-partition-oneway`.
    pub const STOP_ONEWAY: &str = "stop-partition-oneway";
    /// Kill (Jepsen's `:kill`).
    pub const KILL: &str = "kill";
    /// Restart of every killed node (Jepsen's `:start`, on every node).
    pub const START: &str = "start";
    /// Pause (Jepsen's `:pause`).
    pub const PAUSE: &str = "pause";
    /// Resume of every paused node (Jepsen's `:resume`, on every node).
    pub const RESUME: &str = "resume";
    /// Duplication on.
    pub const START_DUPLICATE: &str = "start-duplicate";
    /// Duplication off.
    pub const STOP_DUPLICATE: &str = "stop-duplicate";
    /// Clock jump and rate.
    pub const SKEW_CLOCK: &str = "skew-clock";
    /// Every clock back to true time.
    pub const RESET_CLOCK: &str = "reset-clock";
}

/// A kind of fault window on the plots: from a `start` operation to the next `stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The fault.
    pub fault: Fault,
    /// The `f` that opens it.
    pub start: &'static str,
    /// The `f` that closes it.
    pub stop: &'static str,
    /// Its shading colour (Maelstrom's perf-graph colours where it has one).
    pub rgb: (u8, u8, u8),
}

/// Every kind of fault window.
pub const WINDOWS: [Window; 6] = [
    Window {
        fault: Fault::Partition,
        start: ops::START_PARTITION,
        stop: ops::STOP_PARTITION,
        rgb: (0xE9, 0xDC, 0xA0),
    },
    Window {
        fault: Fault::PartitionOneway,
        start: ops::START_ONEWAY,
        stop: ops::STOP_ONEWAY,
        rgb: (0xE9, 0xC0, 0x80),
    },
    Window {
        fault: Fault::Kill,
        start: ops::KILL,
        stop: ops::START,
        rgb: (0xE9, 0xA4, 0xA0),
    },
    Window {
        fault: Fault::Pause,
        start: ops::PAUSE,
        stop: ops::RESUME,
        rgb: (0xA0, 0xB1, 0xE9),
    },
    Window {
        fault: Fault::Duplicate,
        start: ops::START_DUPLICATE,
        stop: ops::STOP_DUPLICATE,
        rgb: (0xD1, 0xE8, 0xA0),
    },
    Window {
        fault: Fault::Clock,
        start: ops::SKEW_CLOCK,
        stop: ops::RESET_CLOCK,
        rgb: (0xA0, 0xE9, 0xE3),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn faults_parse_by_name_and_name_the_bad_word() {
        let f = Faults::parse(" kill, pause ,,partition-oneway").expect("valid");
        let got: Vec<Fault> = f.iter().collect();
        assert_eq!(got, [Fault::PartitionOneway, Fault::Kill, Fault::Pause]);
        assert!(Faults::parse("").expect("empty").is_empty());
        let e = Faults::parse("partition,crash").expect_err("crash is no fault");
        assert_eq!(e, UnknownFault("crash".into()));
        assert!(e.to_string().contains("\"crash\""), "{e}");
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>(), Ok(f));
        }
    }

    #[test]
    fn node_specs_pick_their_sizes() {
        let mut rng = StdRng::seed_from_u64(1);
        // n -> (one, minority-third, minority, majority)
        for (n, sizes) in [(1, [1, 0, 0, 1]), (3, [1, 0, 1, 2]), (5, [1, 1, 2, 3])] {
            let specs = [
                NodeSpec::One,
                NodeSpec::MinorityThird,
                NodeSpec::Minority,
                NodeSpec::Majority,
            ];
            for (spec, size) in specs.into_iter().zip(sizes) {
                assert_eq!(targets(spec, n, &mut rng).len(), size, "{spec:?} of {n}");
            }
            assert_eq!(
                targets(NodeSpec::All, n, &mut rng),
                (0..n).collect::<Vec<_>>()
            );
        }
        assert!(targets(NodeSpec::One, 0, &mut rng).is_empty());
    }

    #[test]
    fn a_oneway_partition_cuts_one_direction_only() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut deaf_sizes = BTreeSet::new();
        for _ in 0..200 {
            let g = oneway_partition(&names(5), &mut rng);
            assert_eq!(g.len(), 5);
            for (a, dropped) in &g {
                for b in dropped {
                    assert!(!g[b].contains(a), "{a} and {b} drop each other");
                }
            }
            deaf_sizes.insert(g.values().filter(|d| !d.is_empty()).count());
        }
        // One node deaf, or four; a minority or a majority deaf.
        assert_eq!(deaf_sizes, BTreeSet::from([1, 2, 3, 4]));
        let alone = oneway_partition(&names(1), &mut rng);
        assert!(alone.values().all(BTreeSet::is_empty));
    }

    #[test]
    fn skews_jump_both_ways_within_jepsens_range() {
        let mut rng = StdRng::seed_from_u64(3);
        let skews: Vec<Skew> = (0..2000).map(|_| random_skew(&mut rng)).collect();
        assert!(skews.iter().any(|s| s.back) && skews.iter().any(|s| !s.back));
        for s in &skews {
            let ms = Duration::from_millis;
            assert!((ms(11)..ms(289_000)).contains(&s.jump), "{:?}", s.jump);
            assert!((0.5..2.0).contains(&s.rate), "{}", s.rate);
        }
        assert!(skews.iter().any(|s| s.rate < 0.7) && skews.iter().any(|s| s.rate > 1.4));
    }

    #[test]
    fn every_fault_has_one_window_kind() {
        for f in Fault::ALL {
            assert_eq!(WINDOWS.iter().filter(|w| w.fault == f).count(), 1, "{f}");
        }
    }

    proptest! {
        #[test]
        fn targets_are_distinct_node_indexes(n in 0usize..30, which in 0usize..6, seed: u64) {
            let mut rng = StdRng::seed_from_u64(seed);
            let t = targets(NodeSpec::ALL[which], n, &mut rng);
            prop_assert!(t.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(t.iter().all(|&i| i < n));
            if n > 0 && matches!(NodeSpec::ALL[which], NodeSpec::Some | NodeSpec::One) {
                prop_assert!(!t.is_empty());
            }
        }
    }
}
