//! The partition nemesis: which links a `start-partition` cuts, and when nemesis ops happen
//! (reference 5, Jepsen's `nemesis.combined` partition package).
//!
//! A partition is a [`Grudge`]: for every node, the set of sources whose messages it
//! drops. As in Jepsen, a grudge lists every node of the node list, with an empty set for a
//! node that drops nothing; only node-list ids ever appear.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use serde_json::Value;

/// Receiver → the sources whose messages it drops.
pub type Grudge = BTreeMap<String, BTreeSet<String>>;

/// The partition shapes Maelstrom's nemesis picks from (uniformly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionSpec {
    /// One random node is cut off from all others, both ways.
    One,
    /// Shuffled nodes split at `floor(n/2)`: the smaller side first; full cut between sides.
    Majority,
    /// Shuffled nodes split at `floor((n-1)/3)`; full cut between the two sides.
    MinorityThird,
    /// Every node keeps links to a majority (itself included), the majorities overlapping:
    /// an exact random ring for n ≤ 5, Jepsen's randomized least-degree-first linking for
    /// n > 5.
    MajoritiesRing,
}

impl PartitionSpec {
    /// The four specs, in the order Jepsen lists them.
    pub const ALL: [PartitionSpec; 4] = [
        PartitionSpec::One,
        PartitionSpec::MinorityThird,
        PartitionSpec::Majority,
        PartitionSpec::MajoritiesRing,
    ];

    /// Jepsen's name for the spec (`one`, `majority`, `minority-third`, `majorities-ring`).
    pub fn name(self) -> &'static str {
        match self {
            PartitionSpec::One => "one",
            PartitionSpec::Majority => "majority",
            PartitionSpec::MinorityThird => "minority-third",
            PartitionSpec::MajoritiesRing => "majorities-ring",
        }
    }
}

impl fmt::Display for PartitionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `floor(n/2) + 1`: the smallest strict majority of `n`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// `floor((n-1)/3)`: the largest group strictly smaller than a third of `n` (0 for n ≤ 3).
pub fn minority_third(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// Picks one of the four specs uniformly at random and builds its grudge over `nodes`.
pub fn random_partition(nodes: &[String], rng: &mut StdRng) -> (PartitionSpec, Grudge) {
    let spec = PartitionSpec::ALL[rng.random_range(0..PartitionSpec::ALL.len())];
    (spec, grudge_for(spec, nodes, rng))
}

/// Builds the grudge of `spec` over `nodes` (duplicates in `nodes` are ignored).
///
/// Invariants: the keys are exactly the distinct nodes; no node drops itself; every value
/// is a subset of the nodes; for `one`, `majority` and `minority-third` the cut is
/// symmetric between two sides; for `majorities-ring` every node keeps at least
/// `majority(n)` nodes (itself included).
pub fn grudge_for(spec: PartitionSpec, nodes: &[String], rng: &mut StdRng) -> Grudge {
    let nodes = distinct(nodes);
    if nodes.is_empty() {
        return Grudge::new();
    }
    match spec {
        PartitionSpec::One => {
            let loner = rng.random_range(0..nodes.len());
            let (a, b): (Vec<_>, Vec<_>) = nodes.iter().enumerate().partition(|(i, _)| *i == loner);
            complete_grudge(&[
                a.into_iter().map(|(_, x)| x.clone()).collect(),
                b.into_iter().map(|(_, x)| x.clone()).collect(),
            ])
        }
        PartitionSpec::Majority => {
            let mut shuffled = nodes;
            shuffled.shuffle(rng);
            let rest = shuffled.split_off(shuffled.len() / 2);
            complete_grudge(&[shuffled, rest])
        }
        PartitionSpec::MinorityThird => {
            let mut shuffled = nodes;
            shuffled.shuffle(rng);
            let rest = shuffled.split_off(minority_third(shuffled.len()));
            complete_grudge(&[shuffled, rest])
        }
        PartitionSpec::MajoritiesRing if nodes.len() <= 5 => ring_perfect(nodes, rng),
        PartitionSpec::MajoritiesRing => ring_stochastic(nodes, rng),
    }
}

/// The node list without repeats, first occurrence kept.
fn distinct(nodes: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    nodes
        .iter()
        .filter(|x| seen.insert(x.as_str()))
        .cloned()
        .collect()
}

/// Each node drops every node outside its own component.
fn complete_grudge(components: &[Vec<String>]) -> Grudge {
    let universe: BTreeSet<String> = components.iter().flatten().cloned().collect();
    let mut g = Grudge::new();
    for component in components {
        let inside: BTreeSet<&String> = component.iter().collect();
        let outside: BTreeSet<String> = universe
            .iter()
            .filter(|x| !inside.contains(x))
            .cloned()
            .collect();
        for node in component {
            g.insert(node.clone(), outside.clone());
        }
    }
    g
}

/// n ≤ 5: a random ring; node at ring position p keeps the window of `majority(n)`
/// consecutive positions starting at `p - floor(m/2)` and drops everything else.
fn ring_perfect(mut nodes: Vec<String>, rng: &mut StdRng) -> Grudge {
    nodes.shuffle(rng);
    let n = nodes.len();
    let m = majority(n);
    let half = m / 2;
    let mut g = Grudge::new();
    for p in 0..n {
        let start = (p + n - half % n) % n;
        let window: BTreeSet<&String> = (0..m).map(|k| &nodes[(start + k) % n]).collect();
        let dropped = nodes
            .iter()
            .filter(|x| !window.contains(x))
            .cloned()
            .collect();
        g.insert(nodes[p].clone(), dropped);
    }
    g
}

/// n > 5: starting from "everyone is linked to itself", repeatedly link a random node of
/// least degree to a random node of least degree it is not yet linked to, until every node
/// has at least `majority(n)` links (itself included); then drop everything unlinked. Links
/// are symmetric, so the grudge is too.
fn ring_stochastic(nodes: Vec<String>, rng: &mut StdRng) -> Grudge {
    let n = nodes.len();
    let m = majority(n);
    // links[i] holds the indexes linked to i (i itself included).
    let mut links: Vec<BTreeSet<usize>> = (0..n).map(|i| BTreeSet::from([i])).collect();
    // degree → nodes with that degree.
    let mut by_degree: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    by_degree.insert(1, (0..n).collect());
    while let Some((&a_degree, lowest)) = by_degree.iter().find(|(_, s)| !s.is_empty()) {
        if a_degree >= m {
            break;
        }
        let lowest: Vec<usize> = lowest.iter().copied().collect();
        let Some(&a) = lowest.choose(rng) else { break };
        // The least degree holding a node not linked to `a`, then a random such node.
        let b = by_degree.iter().find_map(|(&d, s)| {
            let candidates: Vec<usize> = s
                .iter()
                .copied()
                .filter(|x| !links[a].contains(x))
                .collect();
            candidates.choose(rng).map(|&b| (d, b))
        });
        // a_degree < m <= n, so some node is not linked to a yet.
        let Some((b_degree, b)) = b else { break };
        links[a].insert(b);
        links[b].insert(a);
        for (node, degree) in [(a, a_degree), (b, b_degree)] {
            if let Some(s) = by_degree.get_mut(&degree) {
                s.remove(&node);
            }
            by_degree.entry(degree + 1).or_default().insert(node);
        }
    }
    nodes
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let dropped = (0..n)
                .filter(|j| !links[i].contains(j))
                .map(|j| nodes[j].clone())
                .collect();
            (x.clone(), dropped)
        })
        .collect()
}

/// The gap before the next nemesis op, as Jepsen's `stagger` draws it: uniform on
/// `[0, 2 × interval)` seconds, in whole nanoseconds. A non-positive or non-finite interval
/// gives zero; the result saturates at `u64::MAX` nanoseconds.
pub fn stagger_gap(interval_s: f64, rng: &mut StdRng) -> Duration {
    if !(interval_s.is_finite() && interval_s > 0.0) {
        return Duration::ZERO;
    }
    let u: f64 = rng.random();
    // The product is truncated to whole nanoseconds (`Duration::from_secs_f64` would round
    // it instead, and a seed's schedule would move by a nanosecond). `as` saturates; u < 1
    // keeps the result below 2 × interval.
    Duration::from_nanos((u * 2.0 * interval_s * 1e9) as u64)
}

/// The history value of a `start-partition`: `["isolated", {node: [dropped sources…]}]`,
/// nodes and sources sorted, every grudge entry kept (Jepsen's `[:isolated grudge]`).
pub fn describe(g: &Grudge) -> Value {
    let map: serde_json::Map<String, Value> = g
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Value::Array(v.iter().cloned().map(Value::String).collect()),
            )
        })
        .collect();
    Value::Array(vec![Value::String("isolated".into()), Value::Object(map)])
}

/// The history value of a `stop-partition`: `"network-healed"`.
pub fn describe_heal() -> Value {
    Value::String("network-healed".into())
}

/// Whether `g` blocks any link at all.
pub fn blocks_anything(g: &Grudge) -> bool {
    g.values().any(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    /// The two sides of a complete two-way cut, smaller first; panics unless `g` is one.
    fn sides(g: &Grudge) -> (usize, usize) {
        let mut groups: Vec<BTreeSet<String>> = Vec::new();
        for (node, dropped) in g {
            let side: BTreeSet<String> = g
                .keys()
                .filter(|x| !dropped.contains(*x))
                .cloned()
                .collect();
            assert!(side.contains(node), "{node} drops itself");
            if !groups.contains(&side) {
                groups.push(side);
            }
        }
        // Symmetry: a drops b iff b drops a.
        for (a, ds) in g {
            for b in ds {
                assert!(g[b].contains(a), "{a} drops {b} but not back");
            }
        }
        match groups.len() {
            1 => (0, groups[0].len()),
            2 => {
                let (x, y) = (groups[0].len(), groups[1].len());
                assert_eq!(x + y, g.len(), "sides overlap");
                (x.min(y), x.max(y))
            }
            k => panic!("{k} sides"),
        }
    }

    fn kept(g: &Grudge, node: &str) -> usize {
        g.len() - g[node].len()
    }

    #[test]
    fn helper_sizes() {
        assert_eq!(majority(1), 1);
        assert_eq!(majority(2), 2);
        assert_eq!(majority(5), 3);
        assert_eq!(majority(25), 13);
        assert_eq!(minority_third(1), 0);
        assert_eq!(minority_third(3), 0);
        assert_eq!(minority_third(4), 1);
        assert_eq!(minority_third(5), 1);
        assert_eq!(minority_third(25), 8);
    }

    #[test]
    fn shapes_for_the_worked_examples() {
        let mut rng = StdRng::seed_from_u64(3);
        // n -> (one, majority, minority-third) as (smaller side, larger side).
        let table = [
            (1, (0, 1), (0, 1), (0, 1)),
            (2, (1, 1), (1, 1), (0, 2)),
            (3, (1, 2), (1, 2), (0, 3)),
            (5, (1, 4), (2, 3), (1, 4)),
            (25, (1, 24), (12, 13), (8, 17)),
        ];
        for (n, one, maj, third) in table {
            let nodes = names(n);
            for _ in 0..20 {
                let g = grudge_for(PartitionSpec::One, &nodes, &mut rng);
                assert_eq!(g.len(), n);
                assert_eq!(sides(&g), one, "one, n={n}");
                let g = grudge_for(PartitionSpec::Majority, &nodes, &mut rng);
                assert_eq!(sides(&g), maj, "majority, n={n}");
                let g = grudge_for(PartitionSpec::MinorityThird, &nodes, &mut rng);
                assert_eq!(sides(&g), third, "minority-third, n={n}");
            }
        }
    }

    #[test]
    fn ring_for_one_and_two_nodes_is_a_no_op() {
        let mut rng = StdRng::seed_from_u64(5);
        for n in [1, 2] {
            for spec in PartitionSpec::ALL {
                let g = grudge_for(spec, &names(n), &mut rng);
                assert_eq!(g.len(), n);
                let expect_cut =
                    n == 2 && matches!(spec, PartitionSpec::One | PartitionSpec::Majority);
                assert_eq!(blocks_anything(&g), expect_cut, "{spec}, n={n}");
            }
        }
    }

    #[test]
    fn ring_for_three_nodes_is_a_one_way_cycle() {
        let mut rng = StdRng::seed_from_u64(9);
        let nodes = names(3);
        for _ in 0..20 {
            let g = grudge_for(PartitionSpec::MajoritiesRing, &nodes, &mut rng);
            // Each node drops exactly one other, nobody is dropped twice, and no drop is
            // mutual: a directed 3-cycle.
            assert!(g.values().all(|d| d.len() == 1));
            let dropped: BTreeSet<&String> = g.values().flatten().collect();
            assert_eq!(dropped.len(), 3);
            for (a, ds) in &g {
                for b in ds {
                    assert!(!g[b].contains(a), "{a} and {b} drop each other");
                    assert_ne!(a, b);
                }
            }
        }
    }

    #[test]
    fn ring_for_five_nodes_keeps_exactly_the_ring_neighbours() {
        let mut rng = StdRng::seed_from_u64(13);
        let nodes = names(5);
        for _ in 0..20 {
            let g = grudge_for(PartitionSpec::MajoritiesRing, &nodes, &mut rng);
            // Kept-links graph: every node keeps itself and two others, symmetric, and the
            // graph is one 5-cycle (connected, all degrees 2).
            let keeps = |a: &String| -> BTreeSet<String> {
                nodes
                    .iter()
                    .filter(|x| !g[a].contains(*x))
                    .cloned()
                    .collect()
            };
            for a in &nodes {
                let k = keeps(a);
                assert_eq!(k.len(), 3);
                assert!(k.contains(a));
                for b in &k {
                    assert!(keeps(b).contains(a), "ring link {a}-{b} not mutual");
                }
            }
            // Walk the cycle from n0: five steps visit every node.
            let mut seen = BTreeSet::from([nodes[0].clone()]);
            let mut prev = nodes[0].clone();
            let mut cur = keeps(&nodes[0])
                .into_iter()
                .find(|x| *x != nodes[0])
                .expect("neighbour");
            while seen.insert(cur.clone()) {
                let next = keeps(&cur)
                    .into_iter()
                    .find(|x| *x != cur && *x != prev)
                    .expect("two neighbours");
                prev = std::mem::replace(&mut cur, next);
            }
            assert_eq!(seen.len(), 5);
            // No two nodes keep the same majority.
            let windows: BTreeSet<BTreeSet<String>> = nodes.iter().map(keeps).collect();
            assert_eq!(windows.len(), 5);
        }
    }

    #[test]
    fn ring_for_four_nodes_cuts_opposite_pairs() {
        let mut rng = StdRng::seed_from_u64(17);
        let g = grudge_for(PartitionSpec::MajoritiesRing, &names(4), &mut rng);
        for (a, ds) in &g {
            assert_eq!(ds.len(), 1);
            let b = ds.iter().next().expect("one");
            assert!(g[b].contains(a));
        }
    }

    #[test]
    fn describe_shape() {
        let mut g = Grudge::new();
        g.insert("n1".into(), BTreeSet::from(["n2".into()]));
        g.insert("n2".into(), BTreeSet::from(["n1".into()]));
        g.insert("n3".into(), BTreeSet::new());
        assert_eq!(
            describe(&g),
            serde_json::json!(["isolated", {"n1": ["n2"], "n2": ["n1"], "n3": []}])
        );
        assert_eq!(describe_heal(), serde_json::json!("network-healed"));
    }

    #[test]
    fn random_partition_picks_every_spec() {
        let mut rng = StdRng::seed_from_u64(21);
        let nodes = names(5);
        let mut counts = BTreeMap::new();
        for _ in 0..4000 {
            let (spec, g) = random_partition(&nodes, &mut rng);
            assert_eq!(g.len(), 5);
            *counts.entry(spec.name()).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 4);
        assert!(
            counts.values().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn stagger_gap_bounds() {
        let mut rng = StdRng::seed_from_u64(2);
        let xs: Vec<Duration> = (0..10_000).map(|_| stagger_gap(10.0, &mut rng)).collect();
        let s = Duration::from_secs;
        assert!(xs.iter().all(|&x| x < s(20)));
        let mean = xs.iter().sum::<Duration>() / 10_000;
        assert!(
            (s(9) + s(6) / 10..s(10) + s(4) / 10).contains(&mean),
            "mean {mean:?}"
        );
        assert!(xs.iter().any(|&x| x > s(19)));
        assert!(xs.iter().any(|&x| x < s(1)));
        assert_eq!(stagger_gap(0.0, &mut rng), Duration::ZERO);
        assert_eq!(stagger_gap(-1.0, &mut rng), Duration::ZERO);
        assert_eq!(stagger_gap(f64::NAN, &mut rng), Duration::ZERO);
    }

    proptest! {
        #[test]
        fn every_grudge_is_well_formed(n in 1usize..40, which in 0usize..4, seed: u64) {
            let spec = PartitionSpec::ALL[which];
            let nodes = names(n);
            let mut rng = StdRng::seed_from_u64(seed);
            let g = grudge_for(spec, &nodes, &mut rng);
            prop_assert_eq!(g.keys().cloned().collect::<Vec<_>>(), {
                let mut v = nodes.clone();
                v.sort();
                v
            });
            for (a, ds) in &g {
                prop_assert!(!ds.contains(a));
                prop_assert!(ds.iter().all(|x| g.contains_key(x)));
            }
            match spec {
                PartitionSpec::MajoritiesRing => {
                    for a in g.keys() {
                        prop_assert!(kept(&g, a) >= majority(n), "{} keeps {}", a, kept(&g, a));
                    }
                    if n <= 5 {
                        // Exact windows: each node keeps exactly a majority.
                        prop_assert!(g.keys().all(|a| kept(&g, a) == majority(n)));
                    }
                }
                _ => {
                    let (small, large) = sides(&g);
                    let want = match spec {
                        PartitionSpec::One => if n == 1 { (0, 1) } else { (1, n - 1) },
                        PartitionSpec::Majority => if n == 1 { (0, 1) } else { (n / 2, n - n / 2) },
                        _ => if minority_third(n) == 0 { (0, n) } else { (minority_third(n), n - minority_third(n)) },
                    };
                    prop_assert_eq!((small, large), want);
                }
            }
            // Same seed, same grudge.
            let mut again = StdRng::seed_from_u64(seed);
            prop_assert_eq!(grudge_for(spec, &nodes, &mut again), g);
        }
    }
}
