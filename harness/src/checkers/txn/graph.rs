//! A small directed graph with labelled edges, strongly connected components and
//! shortest-cycle search.
//!
//! Vertices are dense `u32` ids `0..n`. Every edge carries a bit mask of relationship
//! kinds ([`WW`], [`WR`], [`RW`], [`RT`], [`PR`]); parallel edges are merged into one edge
//! whose mask is the union. Self-edges are never stored. [`Why`] records, per edge and
//! kind, the key and versions that justify a data edge, for cycle explanations.

use hashbrown::HashMap;

/// Write-write dependency bit.
pub const WW: u8 = 1;
/// Write-read dependency bit.
pub const WR: u8 = 2;
/// Read-write anti-dependency bit.
pub const RW: u8 = 4;
/// Real-time order bit.
pub const RT: u8 = 8;
/// Process order bit.
pub const PR: u8 = 16;

/// Why a data dependency edge exists: the key and the two versions involved. Versions are
/// register values (rw-register) or appended elements (list-append); `None` is the
/// initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Why {
    /// The key.
    pub key: i64,
    /// ww: the source's version; wr: the value read; rw: the value read.
    pub from: Option<i64>,
    /// ww/rw: the target's later version; wr: same as `from`.
    pub to: Option<i64>,
}

/// A dependency graph with the first justification found per (from, to, kind) of its
/// data edges (order edges carry none).
#[derive(Debug, Clone, Default)]
pub struct Edges {
    /// The graph.
    pub graph: Graph,
    /// Justifications of ww, wr and rw edges.
    pub why: HashMap<(u32, u32, u8), Why>,
}

impl Edges {
    /// An edge set over `n` vertices with no edges.
    pub fn new(n: usize) -> Self {
        Edges {
            graph: Graph::new(n),
            why: HashMap::new(),
        }
    }

    /// Adds a `kind` edge `a -> b`; `why` is kept if it is the first for that edge and
    /// kind. Self-edges are ignored.
    pub fn add(&mut self, a: u32, b: u32, kind: u8, why: Option<Why>) {
        if a != b && self.graph.link(a, b, kind) {
            if let Some(w) = why {
                self.why.insert((a, b, kind), w);
            }
        }
    }
}

/// Out-degree from which a vertex's successors are also indexed in a hash map (below it,
/// a linear scan of the few successors is faster than hashing).
const INDEXED_DEGREE: usize = 16;

/// A directed graph whose edges carry relationship masks.
///
/// Invariant: `adj[u]` holds each successor `v` at most once, with the union of all masks
/// added for `u -> v`; `u != v`; `slot[(u, v)]` is `v`'s position in `adj[u]` for every
/// `u` with at least [`INDEXED_DEGREE`] successors, and absent for the others.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    adj: Vec<Vec<(u32, u8)>>,
    slot: HashMap<(u32, u32), usize>,
}

impl Graph {
    /// A graph with `n` vertices and no edges.
    pub fn new(n: usize) -> Self {
        Graph {
            adj: vec![Vec::new(); n],
            slot: HashMap::new(),
        }
    }

    /// Adds `kind` to the edge `from -> to`; returns whether that bit was new. Self-edges
    /// are ignored (returns false).
    pub fn link(&mut self, from: u32, to: u32, kind: u8) -> bool {
        if from == to {
            return false;
        }
        let list = &mut self.adj[from as usize];
        let at = if list.len() < INDEXED_DEGREE {
            list.iter().position(|&(v, _)| v == to)
        } else {
            self.slot.get(&(from, to)).copied()
        };
        match at {
            Some(i) => {
                let m = &mut list[i].1;
                let new = *m & kind != kind;
                *m |= kind;
                new
            }
            None => {
                list.push((to, kind));
                match list.len() {
                    n if n == INDEXED_DEGREE => {
                        for (i, &(v, _)) in list.iter().enumerate() {
                            self.slot.insert((from, v), i);
                        }
                    }
                    n if n > INDEXED_DEGREE => {
                        self.slot.insert((from, to), n - 1);
                    }
                    _ => {}
                }
                true
            }
        }
    }

    /// Successors of `u` with their masks.
    pub fn out(&self, u: u32) -> &[(u32, u8)] {
        &self.adj[u as usize]
    }

    /// Number of vertices.
    pub fn len(&self) -> usize {
        self.adj.len()
    }

    /// The union of the masks of all edges.
    pub fn kinds(&self) -> u8 {
        self.adj.iter().flatten().fold(0, |acc, &(_, m)| acc | m)
    }

    /// Number of edges carrying `kind`.
    pub fn count(&self, kind: u8) -> usize {
        self.adj
            .iter()
            .flat_map(|l| l.iter())
            .filter(|(_, m)| m & kind != 0)
            .count()
    }

    /// Strongly connected components of the subgraph of edges whose mask intersects
    /// `rels`, keeping only components of two or more vertices. Iterative Tarjan, so deep
    /// graphs cannot overflow the stack. Each component is sorted ascending.
    pub fn sccs(&self, rels: u8) -> Vec<Vec<u32>> {
        sccs(self.adj.len(), |u| {
            self.adj[u as usize]
                .iter()
                .filter(move |(_, m)| m & rels != 0)
                .map(|&(v, _)| v)
        })
    }
}

/// Tarjan's algorithm over a successor function, iteratively. Returns the components of
/// at least two vertices, each sorted ascending, in discovery order.
pub fn sccs<F, I>(n: usize, succ: F) -> Vec<Vec<u32>>
where
    F: Fn(u32) -> I,
    I: Iterator<Item = u32>,
{
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut next = 0u32;
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN {
            continue;
        }
        // Each frame: vertex and its remaining successors.
        let mut frames: Vec<(u32, I)> = Vec::new();
        index[root as usize] = next;
        low[root as usize] = next;
        next += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        frames.push((root, succ(root)));
        while let Some((u, it)) = frames.last_mut() {
            let u = *u;
            if let Some(v) = it.next() {
                let vi = v as usize;
                if index[vi] == UNSEEN {
                    index[vi] = next;
                    low[vi] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[vi] = true;
                    frames.push((v, succ(v)));
                } else if on_stack[vi] {
                    low[u as usize] = low[u as usize].min(index[vi]);
                }
            } else {
                frames.pop();
                if let Some((parent, _)) = frames.last() {
                    let p = *parent as usize;
                    low[p] = low[p].min(low[u as usize]);
                }
                if low[u as usize] == index[u as usize] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        comp.push(w);
                        if w == u {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        comp.sort_unstable();
                        out.push(comp);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reachability by plain DFS, the reference for the SCC property.
    fn reaches(g: &Graph, a: u32, b: u32) -> bool {
        let mut seen = vec![false; g.len()];
        let mut stack = vec![a];
        while let Some(u) = stack.pop() {
            for &(v, _) in g.out(u) {
                if v == b {
                    return true;
                }
                if !std::mem::replace(&mut seen[v as usize], true) {
                    stack.push(v);
                }
            }
        }
        false
    }

    proptest! {
        /// Two distinct vertices share a reported component iff each reaches the other.
        #[test]
        fn sccs_match_mutual_reachability(
            n in 1usize..12,
            edges in proptest::collection::vec((0u32..12, 0u32..12), 0..40),
        ) {
            let mut g = Graph::new(n);
            for (a, b) in edges {
                if (a as usize) < n && (b as usize) < n {
                    g.link(a, b, WW);
                }
            }
            let comps = g.sccs(WW);
            let mut comp_of = vec![usize::MAX; n];
            for (i, c) in comps.iter().enumerate() {
                for &v in c {
                    prop_assert_eq!(comp_of[v as usize], usize::MAX);
                    comp_of[v as usize] = i;
                }
            }
            for a in 0..n as u32 {
                for b in 0..n as u32 {
                    if a == b { continue; }
                    let same = comp_of[a as usize] != usize::MAX
                        && comp_of[a as usize] == comp_of[b as usize];
                    prop_assert_eq!(same, reaches(&g, a, b) && reaches(&g, b, a));
                }
            }
        }
    }

    #[test]
    fn link_merges_masks_past_the_indexed_degree() {
        let mut g = Graph::new(40);
        for round in [WW, WR] {
            for v in 1..40 {
                assert!(g.link(0, v, round));
            }
        }
        assert!(!g.link(0, 39, WW));
        assert_eq!(g.out(0).len(), 39);
        assert!(g.out(0).iter().all(|&(_, m)| m == WW | WR));
    }

    #[test]
    fn link_merges_masks_and_ignores_self_edges() {
        let mut g = Graph::new(3);
        assert!(g.link(0, 1, WW));
        assert!(g.link(0, 1, WR));
        assert!(!g.link(0, 1, WW));
        assert!(!g.link(2, 2, WW));
        assert_eq!(g.out(0), &[(1, WW | WR)]);
        assert_eq!(g.out(2).len(), 0);
        assert_eq!(g.count(WR), 1);
    }
}
