//! Broadcast topologies, built as Maelstrom's broadcast workload builds them (reference 6.5).
//!
//! Every constructor takes the node list *in order* and returns, for each node, its neighbour
//! list in the order Maelstrom sends it. The whole map is sent to every node in the
//! `topology` message.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A topology shape, as named by `--topology`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topology {
    /// A roughly square grid: side `ceil(sqrt(n))`, row-major; neighbours in the order
    /// below, above, right, left; at most four.
    Grid,
    /// A line: node `k` lists `[k-1, k+1]`; fewer than two nodes give the empty map.
    Line,
    /// Every node lists every other node, in node-list order.
    Total,
    /// A tree with the given branching factor (Maelstrom offers 2, 3 and 4): tiers of size
    /// 1, b, b², … cut from the node list; neighbours are `[parent, children…]`. A factor of
    /// 0 is treated as 1 (a chain), so that every value builds a finite tree.
    Tree(u8),
}

/// The `--topology` value was not one Maelstrom knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topology {0:?}: expected one of grid, line, total, tree, tree2, tree3, tree4")]
pub struct UnknownTopology(pub String);

impl FromStr for Topology {
    type Err = UnknownTopology;

    /// Parses `grid`, `line`, `total`, `tree` (= `tree2`), `tree2`, `tree3`, `tree4`
    /// (exactly, case-sensitive, as Maelstrom's keyword lookup does).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "grid" => Ok(Topology::Grid),
            "line" => Ok(Topology::Line),
            "total" => Ok(Topology::Total),
            "tree" | "tree2" => Ok(Topology::Tree(2)),
            "tree3" => Ok(Topology::Tree(3)),
            "tree4" => Ok(Topology::Tree(4)),
            other => Err(UnknownTopology(other.to_owned())),
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topology::Grid => f.write_str("grid"),
            Topology::Line => f.write_str("line"),
            Topology::Total => f.write_str("total"),
            Topology::Tree(b) => write!(f, "tree{b}"),
        }
    }
}

/// Builds the neighbour map of `t` over `nodes` (in node-list order).
///
/// Invariants: every key is a node of `nodes`; every neighbour is a node of `nodes` other
/// than the key; for `Grid`, `Line` and `Tree` the relation is symmetric. An empty node
/// list gives the empty map.
pub fn build(t: Topology, nodes: &[String]) -> BTreeMap<String, Vec<String>> {
    match t {
        Topology::Grid => grid(nodes),
        Topology::Line => line(nodes),
        Topology::Total => total(nodes),
        Topology::Tree(b) => tree(b.max(1) as usize, nodes),
    }
}

/// Smallest `s` with `s * s >= n` (exact integer form of Maelstrom's `ceil(sqrt(n))`).
fn ceil_sqrt(n: usize) -> usize {
    let mut s = (n as f64).sqrt() as usize;
    while s * s < n {
        s += 1;
    }
    while s > 0 && (s - 1) * (s - 1) >= n {
        s -= 1;
    }
    s
}

fn grid(nodes: &[String]) -> BTreeMap<String, Vec<String>> {
    let n = nodes.len();
    let side = ceil_sqrt(n);
    let at = |i: isize, j: isize| -> Option<&String> {
        if i < 0 || j < 0 || j as usize >= side {
            return None;
        }
        nodes.get(i as usize * side + j as usize)
    };
    let mut out = BTreeMap::new();
    for (idx, node) in nodes.iter().enumerate() {
        let (i, j) = ((idx / side) as isize, (idx % side) as isize);
        let neighbours = [at(i + 1, j), at(i - 1, j), at(i, j + 1), at(i, j - 1)]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        out.insert(node.clone(), neighbours);
    }
    out
}

fn line(nodes: &[String]) -> BTreeMap<String, Vec<String>> {
    let n = nodes.len();
    let mut out = BTreeMap::new();
    if n < 2 {
        return out;
    }
    for (k, node) in nodes.iter().enumerate() {
        let mut neighbours = Vec::with_capacity(2);
        if k > 0 {
            neighbours.push(nodes[k - 1].clone());
        }
        if k + 1 < n {
            neighbours.push(nodes[k + 1].clone());
        }
        out.insert(node.clone(), neighbours);
    }
    out
}

fn total(nodes: &[String]) -> BTreeMap<String, Vec<String>> {
    nodes
        .iter()
        .map(|me| {
            let others = nodes.iter().filter(|x| *x != me).cloned().collect();
            (me.clone(), others)
        })
        .collect()
}

fn tree(b: usize, nodes: &[String]) -> BTreeMap<String, Vec<String>> {
    // Tier k starts at list index 1 + b + … + b^(k-1) and holds up to b^k nodes. The j-th
    // node of tier k+1 (0-based) belongs to parent j / b of tier k: children are dealt out
    // in order, b per parent, so a partial last tier fills the first parents.
    let mut out: BTreeMap<String, Vec<String>> =
        nodes.iter().map(|x| (x.clone(), Vec::new())).collect();
    let mut tier_start = 0usize;
    let mut tier_len = 1usize;
    while tier_start < nodes.len() {
        let next_start = tier_start.saturating_add(tier_len);
        let next_len = tier_len.saturating_mul(b);
        let next_end = next_start.saturating_add(next_len).min(nodes.len());
        for child_idx in next_start..next_end {
            let parent = &nodes[tier_start + (child_idx - next_start) / b];
            let child = &nodes[child_idx];
            // The child's own children come from the next tier, so its parent goes first.
            if let Some(list) = out.get_mut(child) {
                list.push(parent.clone());
            }
            if let Some(list) = out.get_mut(parent) {
                list.push(child.clone());
            }
        }
        tier_start = next_start;
        tier_len = next_len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    fn render(map: &BTreeMap<String, Vec<String>>, nodes: &[String]) -> String {
        nodes
            .iter()
            .filter_map(|x| map.get(x).map(|v| format!("{x}:[{}]", v.join(","))))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn five_node_examples_verbatim() {
        let nodes = names(5);
        let cases = [
            (
                "grid",
                "n0:[n3,n1] n1:[n4,n2,n0] n2:[n1] n3:[n0,n4] n4:[n1,n3]",
            ),
            ("line", "n0:[n1] n1:[n0,n2] n2:[n1,n3] n3:[n2,n4] n4:[n3]"),
            ("tree2", "n0:[n1,n2] n1:[n0,n3,n4] n2:[n0] n3:[n1] n4:[n1]"),
            ("tree", "n0:[n1,n2] n1:[n0,n3,n4] n2:[n0] n3:[n1] n4:[n1]"),
            ("tree3", "n0:[n1,n2,n3] n1:[n0,n4] n2:[n0] n3:[n0] n4:[n1]"),
            ("tree4", "n0:[n1,n2,n3,n4] n1:[n0] n2:[n0] n3:[n0] n4:[n0]"),
            (
                "total",
                "n0:[n1,n2,n3,n4] n1:[n0,n2,n3,n4] n2:[n0,n1,n3,n4] n3:[n0,n1,n2,n4] \
                 n4:[n0,n1,n2,n3]",
            ),
        ];
        for (name, want) in cases {
            let t: Topology = name.parse().expect("known name");
            assert_eq!(render(&build(t, &nodes), &nodes), want, "{name}");
        }
    }

    #[test]
    fn twenty_five_node_grid_facts() {
        let nodes = names(25);
        let g = build(Topology::Grid, &nodes);
        assert_eq!(g.len(), 25);
        assert_eq!(g["n0"], ["n5", "n1"]);
        assert_eq!(g["n6"], ["n11", "n1", "n7", "n5"]);
        assert_eq!(g["n24"], ["n19", "n23"]);
        assert!(g.values().all(|v| v.len() <= 4));
    }

    #[test]
    fn twenty_five_node_tree4_facts() {
        let nodes = names(25);
        let t = build(Topology::Tree(4), &nodes);
        let children = |x: &str, parent: Option<&str>| -> Vec<String> {
            let v = &t[x];
            match parent {
                Some(p) => {
                    assert_eq!(v[0], p, "{x}'s parent");
                    v[1..].to_vec()
                }
                None => v.clone(),
            }
        };
        let range = |a: usize, b: usize| names(b + 1)[a..].to_vec();
        assert_eq!(children("n0", None), range(1, 4));
        assert_eq!(children("n1", Some("n0")), range(5, 8));
        assert_eq!(children("n2", Some("n0")), range(9, 12));
        assert_eq!(children("n3", Some("n0")), range(13, 16));
        assert_eq!(children("n4", Some("n0")), range(17, 20));
        assert_eq!(children("n5", Some("n1")), range(21, 24));
        for leaf in 6..25 {
            assert_eq!(t[&format!("n{leaf}")].len(), 1, "n{leaf} is a leaf");
        }
    }

    #[test]
    fn single_and_empty() {
        let one = names(1);
        let empty: Vec<String> = Vec::new();
        for t in ["grid", "tree", "tree3", "tree4", "total"] {
            let t: Topology = t.parse().expect("known");
            assert_eq!(render(&build(t, &one), &one), "n0:[]");
            assert!(build(t, &empty).is_empty());
        }
        assert!(build(Topology::Line, &one).is_empty());
        assert!(build(Topology::Line, &empty).is_empty());
    }

    #[test]
    fn parse_rejects_unknown_and_round_trips() {
        assert_eq!(
            "ring".parse::<Topology>(),
            Err(UnknownTopology("ring".into()))
        );
        assert!("Grid".parse::<Topology>().is_err());
        assert!("tree5".parse::<Topology>().is_err());
        for t in [
            Topology::Grid,
            Topology::Line,
            Topology::Total,
            Topology::Tree(2),
            Topology::Tree(3),
            Topology::Tree(4),
        ] {
            assert_eq!(t.to_string().parse::<Topology>(), Ok(t));
        }
    }

    #[test]
    fn degenerate_tree_factor_is_a_chain() {
        let nodes = names(4);
        let t = build(Topology::Tree(0), &nodes);
        assert_eq!(render(&t, &nodes), "n0:[n1] n1:[n0,n2] n2:[n1,n3] n3:[n2]");
    }

    proptest! {
        #[test]
        fn shapes_are_well_formed(n in 0usize..70, which in 0usize..6) {
            let t = [
                Topology::Grid,
                Topology::Line,
                Topology::Total,
                Topology::Tree(2),
                Topology::Tree(3),
                Topology::Tree(4),
            ][which];
            let nodes = names(n);
            let map = build(t, &nodes);
            for (k, vs) in &map {
                prop_assert!(nodes.contains(k));
                for v in vs {
                    prop_assert!(v != k);
                    prop_assert!(nodes.contains(v));
                    if t != Topology::Total {
                        prop_assert!(map[v].contains(k), "{t}: {v} lacks {k}");
                    }
                }
            }
            if n >= 2 || t != Topology::Line {
                prop_assert_eq!(map.len(), n);
            }
            // Trees and lines are connected with exactly n - 1 edges.
            if matches!(t, Topology::Tree(_) | Topology::Line) && n >= 1 {
                let edges: usize = map.values().map(Vec::len).sum();
                prop_assert_eq!(edges, 2 * (n - 1));
            }
            if let Topology::Tree(b) = t {
                for (k, vs) in &map {
                    let children = if k == "n0" { vs.len() } else { vs.len() - 1 };
                    prop_assert!(children <= b as usize);
                }
            }
            if t == Topology::Grid {
                prop_assert!(map.values().all(|v| v.len() <= 4));
            }
        }
    }
}
