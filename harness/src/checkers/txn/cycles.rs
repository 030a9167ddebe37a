//! Cycle search over a dependency graph and Elle-style classification, shared by the
//! rw-register and list-append checkers.
//!
//! # What is searched
//!
//! One search per anomaly class, most severe first (Elle's order): G0, G1c, G-single,
//! G-nonadjacent, G2-item, then the same five with order edges (only when the graph has
//! process or real-time edges). A class is a set of edge kinds a cycle may use and a
//! condition on the cycle:
//!
//! | class | edges | condition |
//! |---|---|---|
//! | G0 | ww | – |
//! | G1c | ww, wr | at least one wr |
//! | G-single | ww, wr, rw | exactly one rw |
//! | G-nonadjacent | ww, wr, rw | two or more rw, no two consecutive (cyclically) |
//! | G2-item | ww, wr, rw | two or more rw, two of them consecutive |
//! | `X-realtime` / `X-process` | X's, plus process and real-time | at least one order edge |
//!
//! A cycle with order edges is `-realtime` if one of them is a real-time edge, else
//! `-process`. Process order is contained in real-time order (a process runs one txn at a
//! time), so searching both kinds at once finds exactly the classes a search over
//! real-time edges alone finds (as Elle does under strict-serializable), and names a
//! cycle that process order alone closes by what it is.
//!
//! Each step of a cycle is labelled with one kind its edge carries. [`Labels::Strongest`]
//! labels an edge with its highest-priority kind (ww, then wr, rw, process, real-time),
//! as Elle's explainer does; [`Labels::Any`] lets an edge play any kind it carries.
//!
//! # How
//!
//! For each class, the strongly connected components of the subgraph of edges usable by
//! the class are computed (an edge lies on such a cycle only inside one). In each
//! component, a breadth-first search runs over (vertex, flags) states, the flags being
//! what the condition needs (rw count up to 2, whether the last step was rw, whether two
//! rw were consecutive, whether a wr / the variant's edge was seen): 64 states per vertex.
//! The search starts from each vertex in turn along an edge of the class's anchor kind (rw
//! for the rw classes, wr for G1c, the variant's edge for G0 variants, else ww) and stops
//! at the first closing edge that satisfies the condition, so it finds a cycle of the
//! class through that vertex whenever one exists, and a shortest one. A closed walk that
//! repeats a vertex is split into simple cycles, each reported under its own class, so
//! every cycle reported is a simple cycle of the graph whose labels are edges it carries.
//!
//! With `skip_implied` (Elle's behaviour), a class found in a component of the whole graph
//! makes the classes it implies (G0 ⇒ G1c, G-single ⇒ G-nonadjacent ⇒ G2-item, and each
//! class ⇒ its process ⇒ its real-time variant) skip that component. Each (class,
//! component) search has a budget of state visits; past it the search stops and reports
//! `cycle-search-timeout` (Elle does the same with a time limit).

use super::anomaly::{Anomaly, AnomalyType};
use super::graph::{self, Edges, Graph, Why, PR, RT, RW, WR, WW};
use hashbrown::{HashMap, HashSet};
use serde_json::json;
use std::collections::VecDeque;

/// Edge kinds in the order a step's label is chosen by [`Labels::Strongest`].
const PRIORITY: [u8; 5] = [WW, WR, RW, PR, RT];

/// State visits allowed per (class, component) search by default.
pub const DEFAULT_BUDGET: u64 = 4_000_000;

/// How a step's kind is chosen among the kinds its edge carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// The highest-priority kind only (Elle).
    Strongest,
    /// Any kind the edge carries.
    Any,
}

/// Search options.
#[derive(Debug, Clone, Copy)]
pub struct Search {
    /// Step labelling.
    pub labels: Labels,
    /// Skip, per component, the classes implied by one found there.
    pub skip_implied: bool,
    /// State visits per (class, component) before giving up.
    pub budget: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    G0,
    G1c,
    Single,
    Nonadjacent,
    G2,
}

const BASES: [Base; 5] = [
    Base::G0,
    Base::G1c,
    Base::Single,
    Base::Nonadjacent,
    Base::G2,
];

/// One class: a base shape and a variant edge kind (0, [`PR`] or [`RT`]). Searches use 0
/// and [`RT`], the latter standing for any order edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spec {
    base: Base,
    extra: u8,
}

// Flags of a search state.
const COUNT: u8 = 0b11;
const LAST_RW: u8 = 4;
const ADJ: u8 = 8;
const SAW_WR: u8 = 16;
const SAW_EXTRA: u8 = 32;
const STATES: usize = 64;

impl Spec {
    fn kind(self) -> AnomalyType {
        use AnomalyType::*;
        match (self.extra, self.base) {
            (0, Base::G0) => G0,
            (0, Base::G1c) => G1c,
            (0, Base::Single) => GSingle,
            (0, Base::Nonadjacent) => GNonadjacent,
            (0, Base::G2) => G2Item,
            (PR, Base::G0) => G0Process,
            (PR, Base::G1c) => G1cProcess,
            (PR, Base::Single) => GSingleProcess,
            (PR, Base::Nonadjacent) => GNonadjacentProcess,
            (PR, Base::G2) => G2ItemProcess,
            (_, Base::G0) => G0Realtime,
            (_, Base::G1c) => G1cRealtime,
            (_, Base::Single) => GSingleRealtime,
            (_, Base::Nonadjacent) => GNonadjacentRealtime,
            (_, Base::G2) => G2ItemRealtime,
        }
    }

    /// The order kinds that satisfy the variant: process order satisfies both variants,
    /// real-time order only the real-time one.
    fn order(self) -> u8 {
        match self.extra {
            RT => PR | RT,
            e => e,
        }
    }

    fn usable(self) -> u8 {
        let base = match self.base {
            Base::G0 => WW,
            Base::G1c => WW | WR,
            _ => WW | WR | RW,
        };
        base | self.order()
    }

    /// The kind of the first step: one every cycle of the class has (order edges alone
    /// never close a cycle, so a G0 variant has a ww step).
    fn anchor(self) -> u8 {
        match self.base {
            Base::Single | Base::Nonadjacent | Base::G2 => RW,
            Base::G1c => WR,
            Base::G0 => WW,
        }
    }

    /// The flags after a step of `kind`, or `None` if the class forbids it.
    fn step(self, f: u8, kind: u8) -> Option<u8> {
        let mut f = f;
        if kind == RW {
            let count = f & COUNT;
            match self.base {
                Base::Single if count >= 1 => return None,
                Base::Nonadjacent if f & LAST_RW != 0 => return None,
                _ => {}
            }
            if f & LAST_RW != 0 {
                f |= ADJ;
            }
            f = (f & !COUNT) | (count + 1).min(2) | LAST_RW;
        } else {
            f &= !LAST_RW;
        }
        if kind == WR {
            f |= SAW_WR;
        }
        if self.extra != 0 && kind & self.order() != 0 {
            f |= SAW_EXTRA;
        }
        Some(f)
    }

    /// Whether a cycle closed by a step of `kind` that led to flags `f` is of the class.
    /// The first step is of the anchor kind, so a closing rw is adjacent to it.
    fn accepts(self, f: u8, kind: u8) -> bool {
        let count = f & COUNT;
        let wrap = kind == RW && self.anchor() == RW;
        let shape = match self.base {
            Base::G0 => count == 0,
            Base::G1c => f & SAW_WR != 0,
            Base::Single => count == 1,
            Base::Nonadjacent => count == 2 && f & ADJ == 0 && !wrap,
            Base::G2 => count == 2 && (f & ADJ != 0 || wrap),
        };
        shape && (self.extra == 0 || f & SAW_EXTRA != 0)
    }

    /// Classes this one implies (itself included).
    fn implied(self) -> Vec<AnomalyType> {
        let bases: &[Base] = match self.base {
            Base::G0 => &[Base::G0, Base::G1c],
            Base::Single => &[Base::Single, Base::Nonadjacent, Base::G2],
            Base::Nonadjacent => &[Base::Nonadjacent, Base::G2],
            Base::G1c => &[Base::G1c],
            Base::G2 => &[Base::G2],
        };
        let extras: &[u8] = match self.extra {
            0 => &[0, PR, RT],
            PR => &[PR, RT],
            _ => &[RT],
        };
        let mut out = Vec::new();
        for &base in bases {
            for &extra in extras {
                out.push(Spec { base, extra }.kind());
            }
        }
        out
    }
}

/// The kinds an edge with mask `m` may play in a class whose usable kinds are `usable`.
fn choices(m: u8, usable: u8, labels: Labels) -> impl Iterator<Item = u8> {
    let strongest = PRIORITY.into_iter().find(|k| m & k != 0).unwrap_or(0);
    PRIORITY.into_iter().filter(move |&k| match labels {
        Labels::Strongest => k == strongest && k & usable != 0,
        Labels::Any => m & k & usable != 0,
    })
}

/// One step of a cycle: from `from`, along an edge labelled `kind`.
type Step = (u32, u8);

/// Finds and classifies cycles of `edges`; `names` gives each vertex's history index.
pub fn find_cycles(edges: &Edges, names: &[usize], search: &Search) -> Vec<Anomaly> {
    let g = &edges.graph;
    let present = g.kinds();
    let all = present & (WW | WR | RW | PR | RT);
    let full = g.sccs(all);
    if full.is_empty() {
        return Vec::new();
    }
    let mut comp_of = vec![u32::MAX; g.len()];
    for (i, c) in full.iter().enumerate() {
        for &v in c {
            comp_of[v as usize] = i as u32;
        }
    }
    let mut skipped: Vec<HashSet<AnomalyType>> = vec![HashSet::new(); full.len()];
    let mut finder = Finder::new(g, search);
    let mut out = Vec::new();
    let mut seen: HashSet<(Vec<u32>, AnomalyType)> = HashSet::new();
    for extra in [0, RT] {
        if extra != 0 && present & (PR | RT) == 0 {
            continue;
        }
        for base in BASES {
            let spec = Spec { base, extra };
            let usable = spec.usable();
            let comps = graph::sccs(g.len(), |u| {
                g.out(u)
                    .iter()
                    .filter(move |&&(_, m)| choices(m, usable, search.labels).next().is_some())
                    .map(|&(v, _)| v)
            });
            for comp in comps {
                let c = comp_of[comp[0] as usize] as usize;
                if search.skip_implied && skipped[c].contains(&spec.kind()) {
                    continue;
                }
                let found = match finder.find(spec, &comp) {
                    Found::Cycle(walk) => walk,
                    Found::Nothing => continue,
                    Found::OutOfBudget(visits) => {
                        out.push(timeout(spec, &comp, names, visits));
                        continue;
                    }
                };
                for cycle in simple_cycles(&found) {
                    let a = explain(edges, names, &cycle);
                    if search.skip_implied {
                        let implied = Spec::of(a.kind).map(Spec::implied).unwrap_or_default();
                        skipped[c].extend(implied);
                    }
                    if seen.insert((canonical(&cycle), a.kind)) {
                        out.push(a);
                    }
                }
            }
        }
    }
    out
}

impl Spec {
    fn of(kind: AnomalyType) -> Option<Spec> {
        [0, PR, RT]
            .into_iter()
            .flat_map(|extra| BASES.into_iter().map(move |base| Spec { base, extra }))
            .find(|s| s.kind() == kind)
    }
}

enum Found {
    Cycle(Vec<Step>),
    Nothing,
    OutOfBudget(u64),
}

/// The breadth-first search of one class in one component, with buffers reused across
/// searches. `local[v]` is `v`'s position in the component being searched (or MAX).
struct Finder<'g> {
    g: &'g Graph,
    search: Search,
    local: Vec<u32>,
    stamp: Vec<u32>,
    parent: Vec<u32>,
    via: Vec<u8>,
    queue: VecDeque<u32>,
}

impl<'g> Finder<'g> {
    fn new(g: &'g Graph, search: &Search) -> Self {
        Finder {
            g,
            search: *search,
            local: vec![u32::MAX; g.len()],
            stamp: Vec::new(),
            parent: Vec::new(),
            via: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    fn find(&mut self, spec: Spec, comp: &[u32]) -> Found {
        for (i, &v) in comp.iter().enumerate() {
            self.local[v as usize] = i as u32;
        }
        let size = comp.len() * STATES;
        self.stamp.clear();
        self.stamp.resize(size, u32::MAX);
        self.parent.resize(size, u32::MAX);
        self.via.resize(size, 0);
        let mut visits = 0u64;
        let mut result = Found::Nothing;
        for start in 0..comp.len() {
            match self.from(spec, comp, start, &mut visits) {
                Some(walk) => {
                    result = Found::Cycle(walk);
                    break;
                }
                None if visits > self.search.budget => {
                    result = Found::OutOfBudget(visits);
                    break;
                }
                None => {}
            }
        }
        for &v in comp {
            self.local[v as usize] = u32::MAX;
        }
        result
    }

    /// Searches for a cycle of `spec` through `comp[start]` whose first step is of the
    /// anchor kind.
    fn from(
        &mut self,
        spec: Spec,
        comp: &[u32],
        start: usize,
        visits: &mut u64,
    ) -> Option<Vec<Step>> {
        let (g, labels, usable) = (self.g, self.search.labels, spec.usable());
        let stamp = start as u32;
        self.queue.clear();
        for &(w, m) in g.out(comp[start]) {
            let wl = self.local[w as usize];
            if wl == u32::MAX || !choices(m, usable, labels).any(|k| k == spec.anchor()) {
                continue;
            }
            let Some(f) = spec.step(0, spec.anchor()) else {
                continue;
            };
            let s = wl as usize * STATES + f as usize;
            if self.stamp[s] != stamp {
                self.stamp[s] = stamp;
                self.parent[s] = u32::MAX;
                self.via[s] = spec.anchor();
                self.queue.push_back(s as u32);
            }
        }
        while let Some(s) = self.queue.pop_front() {
            let (v, f) = (s as usize / STATES, (s as usize % STATES) as u8);
            for &(w, m) in g.out(comp[v]) {
                let wl = self.local[w as usize];
                if wl == u32::MAX {
                    continue;
                }
                for k in choices(m, usable, labels) {
                    *visits += 1;
                    if *visits > self.search.budget {
                        return None;
                    }
                    let Some(f2) = spec.step(f, k) else { continue };
                    if wl as usize == start {
                        if spec.accepts(f2, k) {
                            return Some(self.unwind(comp, start, s, k));
                        }
                        continue;
                    }
                    let s2 = wl as usize * STATES + f2 as usize;
                    if self.stamp[s2] != stamp {
                        self.stamp[s2] = stamp;
                        self.parent[s2] = s;
                        self.via[s2] = k;
                        self.queue.push_back(s2 as u32);
                    }
                }
            }
        }
        None
    }

    /// The walk `comp[start] -> ... -> state last -> comp[start]` as steps.
    fn unwind(&self, comp: &[u32], start: usize, last: u32, closing: u8) -> Vec<Step> {
        let mut rev = vec![(comp[last as usize / STATES], closing)];
        let mut s = last;
        loop {
            let p = self.parent[s as usize];
            let from = if p == u32::MAX {
                comp[start]
            } else {
                comp[p as usize / STATES]
            };
            rev.push((from, self.via[s as usize]));
            if p == u32::MAX {
                break;
            }
            s = p;
        }
        rev.reverse();
        rev
    }
}

/// Splits a closed walk into simple cycles (each a list of steps).
fn simple_cycles(walk: &[Step]) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    let mut stack: Vec<Step> = Vec::new();
    let mut at: HashMap<u32, usize> = HashMap::new();
    for &(v, k) in walk.iter().chain(walk.first()) {
        if let Some(&i) = at.get(&v) {
            let cycle: Vec<Step> = stack.drain(i..).collect();
            for &(u, _) in &cycle {
                at.remove(&u);
            }
            out.push(cycle);
        }
        at.insert(v, stack.len());
        stack.push((v, k));
    }
    out
}

/// The rotation of a cycle's vertices that starts at its smallest vertex.
fn canonical(cycle: &[Step]) -> Vec<u32> {
    let min_at = (0..cycle.len()).min_by_key(|&i| cycle[i].0).unwrap_or(0);
    cycle[min_at..]
        .iter()
        .chain(&cycle[..min_at])
        .map(|s| s.0)
        .collect()
}

/// The class of a simple cycle, from its labels.
fn classify(cycle: &[Step]) -> AnomalyType {
    let n = cycle.len();
    let count = |k: u8| cycle.iter().filter(|s| s.1 == k).count();
    let adjacent = (0..n).any(|i| cycle[i].1 == RW && cycle[(i + 1) % n].1 == RW);
    let base = match (count(RW), adjacent, count(WR)) {
        (1, _, _) => Base::Single,
        (2.., true, _) => Base::G2,
        (2.., false, _) => Base::Nonadjacent,
        (0, _, 1..) => Base::G1c,
        (0, _, 0) => Base::G0,
    };
    let extra = if count(RT) > 0 {
        RT
    } else if count(PR) > 0 {
        PR
    } else {
        0
    };
    Spec { base, extra }.kind()
}

fn fmt_val(v: Option<i64>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

fn label(kind: u8) -> &'static str {
    match kind {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PR => "process",
        _ => "rt",
    }
}

/// Names and describes one simple cycle: `T12 -wr(3 4)-> T15 -ww(3 4<5)-> T12`.
fn explain(edges: &Edges, names: &[usize], cycle: &[Step]) -> Anomaly {
    let mut desc = format!("T{}", names[cycle[0].0 as usize]);
    let mut steps = Vec::new();
    for (i, &(a, kind)) in cycle.iter().enumerate() {
        let b = cycle[(i + 1) % cycle.len()].0;
        let (an, bn) = (names[a as usize], names[b as usize]);
        let why: Option<&Why> = edges.why.get(&(a, b, kind));
        let what = match (kind, why) {
            (RT | PR, _) | (_, None) => String::new(),
            (WR, Some(y)) => format!("({} {})", y.key, fmt_val(y.from)),
            (_, Some(y)) => format!("({} {}<{})", y.key, fmt_val(y.from), fmt_val(y.to)),
        };
        desc.push_str(&format!(" -{}{what}-> T{bn}", label(kind)));
        let mut step = json!({"from": an, "to": bn, "type": label(kind)});
        if let (false, Some(y)) = (kind == RT || kind == PR, why) {
            step["key"] = json!(y.key);
            step["value"] = json!(y.from);
            if kind != WR {
                step["value'"] = json!(y.to);
            }
        }
        steps.push(step);
    }
    Anomaly {
        kind: classify(cycle),
        txns: cycle.iter().map(|s| names[s.0 as usize]).collect(),
        description: desc,
        detail: json!({"cycle": steps}),
    }
}

fn timeout(spec: Spec, comp: &[u32], names: &[usize], visits: u64) -> Anomaly {
    let txns: Vec<usize> = comp.iter().map(|&v| names[v as usize]).collect();
    Anomaly {
        kind: AnomalyType::CycleSearchTimeout,
        description: format!(
            "gave up looking for {} among {} txns after {visits} search steps",
            spec.kind(),
            comp.len()
        ),
        detail: json!({"anomaly_spec_type": spec.kind().as_str(), "scc_size": comp.len()}),
        txns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(n: usize, list: &[(u32, u32, u8)]) -> Edges {
        let mut e = Edges::new(n);
        for &(a, b, k) in list {
            e.add(a, b, k, None);
        }
        e
    }

    fn kinds(e: &Edges, labels: Labels, skip_implied: bool) -> Vec<AnomalyType> {
        let names: Vec<usize> = (0..e.graph.len()).collect();
        let search = Search {
            labels,
            skip_implied,
            budget: DEFAULT_BUDGET,
        };
        let mut k: Vec<AnomalyType> = find_cycles(e, &names, &search)
            .into_iter()
            .map(|a| a.kind)
            .collect();
        k.sort();
        k.dedup();
        k
    }

    use AnomalyType::*;

    #[test]
    fn classes_of_small_cycles() {
        let s = |l: &[(u32, u32, u8)]| kinds(&edges(4, l), Labels::Strongest, true);
        assert_eq!(s(&[(0, 1, WW), (1, 0, WW)]), vec![G0]);
        assert_eq!(s(&[(0, 1, WW), (1, 0, WR)]), vec![G1c]);
        assert_eq!(s(&[(0, 1, WR), (1, 0, RW)]), vec![GSingle]);
        assert_eq!(s(&[(0, 1, RW), (1, 0, RW)]), vec![G2Item]);
        assert_eq!(
            s(&[(0, 1, RW), (1, 2, WW), (2, 3, RW), (3, 0, WR)]),
            vec![GNonadjacent]
        );
        assert_eq!(s(&[(0, 1, RW), (1, 0, RT)]), vec![GSingleRealtime]);
        assert_eq!(s(&[(0, 1, RW), (1, 0, PR | RT)]), vec![GSingleProcess]);
        assert!(s(&[(0, 1, WW), (1, 2, WW)]).is_empty());
    }

    #[test]
    fn skipping_implied_classes_and_labels() {
        // A ww|wr edge pair: G0 by its strongest labels; as any label, also G1c.
        let e = edges(2, &[(0, 1, WW | WR), (1, 0, WW | WR)]);
        assert_eq!(kinds(&e, Labels::Strongest, true), vec![G0]);
        assert_eq!(kinds(&e, Labels::Any, false), vec![G0, G1c]);
        // G-single next to a G2-item in one component: G2-item is implied, so skipped.
        let e = edges(3, &[(0, 1, WR), (1, 0, RW), (1, 2, RW), (2, 1, RW)]);
        assert_eq!(kinds(&e, Labels::Strongest, true), vec![GSingle]);
        assert_eq!(kinds(&e, Labels::Strongest, false), vec![GSingle, G2Item]);
    }

    #[test]
    fn walks_that_repeat_a_vertex_are_split() {
        let walk = vec![(0, RW), (1, WR), (2, RW), (1, WW)];
        let cycles = simple_cycles(&walk);
        assert_eq!(cycles, vec![vec![(1, WR), (2, RW)], vec![(0, RW), (1, WW)]]);
        assert_eq!(classify(&cycles[0]), GSingle);
    }

    #[test]
    fn budget_exhaustion_is_reported() {
        // A ring with one rw: G-single exists, but a budget of 1 cannot reach it.
        let e = edges(3, &[(0, 1, RW), (1, 2, WW), (2, 0, WW)]);
        let names = vec![10, 11, 12];
        let search = Search {
            labels: Labels::Strongest,
            skip_implied: true,
            budget: 1,
        };
        let found = find_cycles(&e, &names, &search);
        assert!(
            found.iter().any(|a| a.kind == CycleSearchTimeout),
            "{found:?}"
        );
        assert!(!found.iter().any(|a| a.kind == GSingle));
    }
}
