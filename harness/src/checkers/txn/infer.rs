//! Inference: the write index, per-key version orders, and the dependency graph.
//!
//! See the parent module's documentation for the rules and why each is sound.

use super::anomaly::{Anomaly, AnomalyType};
use super::graph::{self, Edges, Why, RT, RW, WR, WW};
use super::order::{self, Span};
use super::parse::{Key, Mop, Status, Txn, Val};
use serde_json::json;
use std::collections::{HashMap, HashSet, VecDeque};

/// Where a value was written.
#[derive(Debug, Clone, Copy)]
pub struct WriteInfo {
    /// Dense txn id (position in the txn list).
    pub txn: u32,
    /// Position of the write in the txn's micro-ops.
    pub pos: u32,
    /// Whether it is the txn's last write of the key.
    pub is_final: bool,
}

/// Everything inferred from a history.
pub struct Inferred {
    /// Dependency graph over txns (dense ids), with each data edge's justification.
    pub edges: Edges,
    /// Anomalies found outside cycle search.
    pub anomalies: Vec<Anomaly>,
    /// Number of version-order edges inferred (all keys).
    pub version_edges: usize,
}

/// The write index over `ok` and `info` txns, failed writes, and duplicate writes.
pub struct WriteIndex {
    /// `(key, value)` -> where an ok or info txn wrote it.
    pub writes: HashMap<(Key, Val), WriteInfo>,
    /// `(key, value)` -> where a failed txn wrote it.
    pub failed: HashMap<(Key, Val), WriteInfo>,
    /// Duplicate-write anomalies (each value written more than once).
    pub duplicates: Vec<Anomaly>,
}

/// Builds the write index. Every written `(key, value)` is indexed once; a second write
/// of it (in any txn, whatever its status) is a duplicate.
pub fn index_writes(txns: &[Txn]) -> WriteIndex {
    let mut writes = HashMap::new();
    let mut failed = HashMap::new();
    let mut first: HashMap<(Key, Val), usize> = HashMap::new();
    let mut duplicates = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        let mut last_write: HashMap<Key, usize> = HashMap::new();
        for (pos, m) in txn.mops.iter().enumerate() {
            if let Mop::Write { key, .. } = *m {
                last_write.insert(key, pos);
            }
        }
        for (pos, m) in txn.mops.iter().enumerate() {
            let Mop::Write { key, value } = *m else {
                continue;
            };
            if let Some(&other) = first.get(&(key, value)) {
                duplicates.push(Anomaly {
                    kind: AnomalyType::DuplicateWrites,
                    txns: vec![other, txn.name],
                    description: format!(
                        "key {key} value {value} written by T{other} and T{}",
                        txn.name
                    ),
                    detail: json!({"key": key, "value": value, "txns": [other, txn.name]}),
                });
                continue;
            }
            first.insert((key, value), txn.name);
            let info = WriteInfo {
                txn: t as u32,
                pos: pos as u32,
                is_final: last_write.get(&key) == Some(&pos),
            };
            if txn.status == Status::Fail {
                failed.insert((key, value), info);
            } else {
                writes.insert((key, value), info);
            }
        }
    }
    WriteIndex {
        writes,
        failed,
        duplicates,
    }
}

/// Version order of one key: nodes are versions (`None` is the initial state).
#[derive(Default)]
struct KeyVersions {
    nodes: Vec<Option<Val>>,
    ids: HashMap<Option<Val>, u32>,
    succ: Vec<Vec<u32>>,
    /// Txn (dense id) whose micro-ops justified each edge; `u32::MAX` for initial state.
    why: HashMap<(u32, u32), u32>,
}

impl KeyVersions {
    fn node(&mut self, v: Option<Val>) -> u32 {
        if let Some(&i) = self.ids.get(&v) {
            return i;
        }
        let i = self.nodes.len() as u32;
        self.nodes.push(v);
        self.ids.insert(v, i);
        self.succ.push(Vec::new());
        i
    }

    fn link(&mut self, a: Option<Val>, b: Option<Val>, txn: u32) -> bool {
        if a == b {
            return false;
        }
        let (x, y) = (self.node(a), self.node(b));
        if self.why.contains_key(&(x, y)) {
            return false;
        }
        self.why.insert((x, y), txn);
        self.succ[x as usize].push(y);
        true
    }
}

fn fmt_val(v: Option<Val>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

/// Runs all inference. `realtime` adds real-time edges (only needed for strict models).
pub fn infer(txns: &[Txn], idx: &WriteIndex, realtime: bool) -> Inferred {
    let (mut versions, mut version_edges) = program_order(txns);
    version_edges += initial_state(&mut versions);
    let mut keys: Vec<Key> = versions.keys().copied().collect();
    keys.sort_unstable();
    let mut anomalies = Vec::new();
    let cyclic = cyclic_keys(&versions, &keys, txns, &mut anomalies);
    let mut deps = Dependencies {
        txns,
        idx,
        versions: &versions,
        cyclic: &cyclic,
        nearest_memo: HashMap::new(),
        g: Edges::new(txns.len()),
        anomalies,
    };
    deps.ww_edges(&keys);
    for (t, txn) in txns.iter().enumerate() {
        if txn.status == Status::Ok {
            deps.reads(t as u32);
        }
    }
    if realtime {
        realtime_order(txns, &mut deps.g);
    }
    Inferred {
        edges: deps.g,
        anomalies: deps.anomalies,
        version_edges,
    }
}

/// Version-order rules 2 and 3 (program order within each `ok` or `info` txn): the
/// version nodes of every key, and the number of edges inferred.
fn program_order(txns: &[Txn]) -> (HashMap<Key, KeyVersions>, usize) {
    let mut versions: HashMap<Key, KeyVersions> = HashMap::new();
    let mut version_edges = 0usize;
    for (t, txn) in txns.iter().enumerate() {
        let t = t as u32;
        if txn.status == Status::Fail {
            continue;
        }
        // Per key: reads since the last write, and the last write.
        let mut pending: HashMap<Key, (Vec<Option<Val>>, Option<Val>)> = HashMap::new();
        for m in &txn.mops {
            let kv = versions.entry(m.key()).or_default();
            let st = pending.entry(m.key()).or_default();
            match *m {
                Mop::Read { value, .. } => {
                    kv.node(value);
                    st.0.push(value);
                }
                Mop::Write { value, .. } => {
                    kv.node(Some(value));
                    for r in st.0.drain(..) {
                        version_edges += kv.link(r, Some(value), t) as usize;
                    }
                    if let Some(prev) = st.1 {
                        version_edges += kv.link(Some(prev), Some(value), t) as usize;
                    }
                    st.1 = Some(value);
                }
            }
        }
    }
    (versions, version_edges)
}

/// Rule 1: the initial state precedes every version with no known predecessor (which, by
/// transitivity, puts it before every version of an acyclic key). Returns the number of
/// edges added.
fn initial_state(versions: &mut HashMap<Key, KeyVersions>) -> usize {
    let mut version_edges = 0;
    for kv in versions.values_mut() {
        let root = kv.node(None);
        let mut has_pred = vec![false; kv.nodes.len()];
        for s in &kv.succ {
            for &y in s {
                has_pred[y as usize] = true;
            }
        }
        for (i, &p) in has_pred.iter().enumerate() {
            if !p && i as u32 != root {
                let v = kv.nodes[i];
                version_edges += kv.link(None, v, u32::MAX) as usize;
            }
        }
    }
    version_edges
}

/// The keys (of `keys`, in order) whose version order has a cycle, each cycle reported
/// into `anomalies`. Such a key is excluded from ww/rw inference.
fn cyclic_keys(
    versions: &HashMap<Key, KeyVersions>,
    keys: &[Key],
    txns: &[Txn],
    anomalies: &mut Vec<Anomaly>,
) -> HashSet<Key> {
    let mut cyclic: HashSet<Key> = HashSet::new();
    for &k in keys {
        let kv = &versions[&k];
        let comps = graph::sccs(kv.nodes.len(), |u| kv.succ[u as usize].iter().copied());
        for comp in comps {
            cyclic.insert(k);
            anomalies.push(version_cycle(k, kv, &comp, txns));
        }
    }
    cyclic
}

/// Real-time edges between the `ok` and `info` txns.
fn realtime_order(txns: &[Txn], g: &mut Edges) {
    let spans: Vec<Span> = txns
        .iter()
        .enumerate()
        .filter(|(_, t)| t.status != Status::Fail)
        .map(|(v, t)| Span {
            vertex: v as u32,
            invoke: t.invoke_index,
            ok_completion: t.complete_index.filter(|_| t.status == Status::Ok),
        })
        .collect();
    order::realtime_edges(&spans, &mut |a, b| g.add(a, b, RT, None));
}

/// The data edges (ww, wr, rw) inferred from the version orders, and the read anomalies
/// found on the way.
struct Dependencies<'a> {
    txns: &'a [Txn],
    idx: &'a WriteIndex,
    versions: &'a HashMap<Key, KeyVersions>,
    /// Keys with a cyclic version order: no ww or rw edges from them.
    cyclic: &'a HashSet<Key>,
    /// Nearest owned successors per version node, memoised per key.
    nearest_memo: HashMap<Key, Vec<Option<Vec<u32>>>>,
    g: Edges,
    anomalies: Vec<Anomaly>,
}

impl Dependencies<'_> {
    /// The ok or info txn that wrote `v` to `k`.
    fn owner(&self, k: Key, v: Option<Val>) -> Option<u32> {
        v.and_then(|v| self.idx.writes.get(&(k, v)).map(|w| w.txn))
    }

    /// The nearest successors of version node `x` of `k` that an ok or info txn wrote,
    /// searching through versions no such txn wrote (the initial state, failed writes,
    /// garbage).
    fn nearest(&mut self, k: Key, x: u32) -> Vec<u32> {
        let kv = &self.versions[&k];
        if let Some(r) = self
            .nearest_memo
            .get(&k)
            .and_then(|m| m[x as usize].as_ref())
        {
            return r.clone();
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![x];
        seen.insert(x);
        while let Some(u) = stack.pop() {
            for &y in &kv.succ[u as usize] {
                if seen.insert(y) {
                    if self.owner(k, kv.nodes[y as usize]).is_some() {
                        out.push(y);
                    } else {
                        stack.push(y);
                    }
                }
            }
        }
        let memo = self
            .nearest_memo
            .entry(k)
            .or_insert_with(|| vec![None; kv.nodes.len()]);
        memo[x as usize] = Some(out.clone());
        out
    }

    /// ww edges: writer of v -> writer of each nearest owned successor of v.
    fn ww_edges(&mut self, keys: &[Key]) {
        for &k in keys {
            if self.cyclic.contains(&k) {
                continue;
            }
            let kv = &self.versions[&k];
            for x in 0..kv.nodes.len() as u32 {
                let v = kv.nodes[x as usize];
                let Some(a) = self.owner(k, v) else { continue };
                self.edges_to_nearest(a, WW, k, v, x);
            }
        }
    }

    /// An edge of `kind` from `a` to the writer of each nearest owned successor of node
    /// `x` (version `from`) of `key`.
    fn edges_to_nearest(&mut self, a: u32, kind: u8, key: Key, from: Option<Val>, x: u32) {
        for y in self.nearest(key, x) {
            let to = self.versions[&key].nodes[y as usize];
            if let Some(b) = self.owner(key, to) {
                self.g.add(a, b, kind, Some(Why { key, from, to }));
            }
        }
    }

    /// The reads of ok txn `t`: its wr and rw edges, and the read anomalies.
    fn reads(&mut self, t: u32) {
        let txn = &self.txns[t as usize];
        let mut reported_internal = false;
        let mut state: HashMap<Key, Option<Val>> = HashMap::new();
        for (pos, m) in txn.mops.iter().enumerate() {
            match *m {
                Mop::Write { key, value } => {
                    state.insert(key, Some(value));
                }
                Mop::Read { key, value } => {
                    if let Some(&expected) = state.get(&key) {
                        if expected != value && !reported_internal {
                            reported_internal = true;
                            self.anomalies
                                .push(internal(txn, pos, key, expected, value));
                        }
                    } else {
                        state.insert(key, value);
                    }
                    self.read_edges(t, pos, key, value);
                    self.rw_edges(t, key, value);
                }
            }
        }
    }

    /// rw: a read of `value` by `t` precedes every nearest later version not its own.
    fn rw_edges(&mut self, t: u32, key: Key, value: Option<Val>) {
        if self.cyclic.contains(&key) || self.owner(key, value) == Some(t) {
            return;
        }
        if let Some(&x) = self.versions.get(&key).and_then(|kv| kv.ids.get(&value)) {
            self.edges_to_nearest(t, RW, key, value, x);
        }
    }

    /// The wr edge of one read, and G1a / G1b / garbage-read / future-read findings.
    fn read_edges(&mut self, t: u32, pos: usize, key: Key, value: Option<Val>) {
        let Some(v) = value else { return };
        let (txns, anomalies) = (self.txns, &mut self.anomalies);
        let reader = txns[t as usize].name;
        if let Some(f) = self.idx.failed.get(&(key, v)) {
            let writer = txns[f.txn as usize].name;
            if !f.is_final {
                // Elle counts intermediate writes of every txn, failed ones included.
                anomalies.push(Anomaly {
                    kind: AnomalyType::G1b,
                    txns: vec![reader, writer],
                    description: format!(
                        "T{reader} read key {key} = {v}, an intermediate write of failed T{writer}"
                    ),
                    detail: json!({"reader": reader, "writer": writer, "key": key, "value": v}),
                });
            }
            anomalies.push(Anomaly {
                kind: AnomalyType::G1a,
                txns: vec![reader, writer],
                description: format!("T{reader} read key {key} = {v}, written by failed T{writer}"),
                detail: json!({"reader": reader, "writer": writer, "key": key, "value": v}),
            });
            return;
        }
        let Some(w) = self.idx.writes.get(&(key, v)) else {
            anomalies.push(Anomaly {
                kind: AnomalyType::GarbageRead,
                txns: vec![reader],
                description: format!("T{reader} read key {key} = {v}, which no txn wrote"),
                detail: json!({"reader": reader, "key": key, "value": v}),
            });
            return;
        };
        let writer = txns[w.txn as usize].name;
        if w.txn == t {
            if w.pos as usize > pos {
                anomalies.push(Anomaly {
                    kind: AnomalyType::FutureRead,
                    txns: vec![reader],
                    description: format!(
                        "T{reader} read key {key} = {v} at micro-op {pos}, before writing it at {}",
                        w.pos
                    ),
                    detail: json!({"txn": reader, "key": key, "value": v, "mop": pos,
                        "write_mop": w.pos}),
                });
            }
            return;
        }
        if !w.is_final {
            anomalies.push(Anomaly {
                kind: AnomalyType::G1b,
                txns: vec![reader, writer],
                description: format!(
                    "T{reader} read key {key} = {v}, an intermediate write of T{writer}"
                ),
                detail: json!({"reader": reader, "writer": writer, "key": key, "value": v}),
            });
        }
        let why = Why {
            key,
            from: value,
            to: value,
        };
        self.g.add(w.txn, t, WR, Some(why));
    }
}

/// An internal anomaly: `txn` read `observed` at micro-op `pos` where its own earlier
/// micro-ops of `key` say `expected`.
fn internal(
    txn: &Txn,
    pos: usize,
    key: Key,
    expected: Option<Val>,
    observed: Option<Val>,
) -> Anomaly {
    Anomaly {
        kind: AnomalyType::Internal,
        txns: vec![txn.name],
        description: format!(
            "T{} read key {key} = {} at micro-op {pos}, expected {}",
            txn.name,
            fmt_val(observed),
            fmt_val(expected)
        ),
        detail: json!({"txn": txn.name, "mop": pos, "key": key,
            "expected": expected, "observed": observed}),
    }
}

/// Describes one cycle inside a key's cyclic version order.
fn version_cycle(k: Key, kv: &KeyVersions, comp: &[u32], txns: &[Txn]) -> Anomaly {
    let inside: HashSet<u32> = comp.iter().copied().collect();
    let start = comp[0];
    // BFS from start's successors back to start within the component.
    let mut prev: HashMap<u32, u32> = HashMap::new();
    let mut queue = VecDeque::new();
    for &y in &kv.succ[start as usize] {
        if inside.contains(&y) && !prev.contains_key(&y) {
            prev.insert(y, start);
            queue.push_back(y);
        }
    }
    let mut cycle = vec![start];
    while let Some(u) = queue.pop_front() {
        if u == start {
            break;
        }
        for &y in &kv.succ[u as usize] {
            if inside.contains(&y) && !prev.contains_key(&y) {
                prev.insert(y, u);
                queue.push_back(y);
            }
        }
    }
    if prev.contains_key(&start) {
        let mut path = vec![start];
        let mut cur = prev[&start];
        while cur != start {
            path.push(cur);
            cur = prev[&cur];
        }
        path.push(start);
        path.reverse();
        cycle = path;
    }
    let mut desc = format!("key {k}: {}", fmt_val(kv.nodes[cycle[0] as usize]));
    let mut steps = Vec::new();
    let mut involved = Vec::new();
    for w in cycle.windows(2) {
        let t = kv.why.get(&(w[0], w[1])).copied().unwrap_or(u32::MAX);
        let by = if t == u32::MAX {
            "initial state".to_string()
        } else {
            involved.push(txns[t as usize].name);
            format!("T{}", txns[t as usize].name)
        };
        desc.push_str(&format!(" <({by}) {}", fmt_val(kv.nodes[w[1] as usize])));
        steps.push(
            json!({"from": kv.nodes[w[0] as usize], "to": kv.nodes[w[1] as usize],
            "because": by}),
        );
    }
    involved.sort_unstable();
    involved.dedup();
    let mut scc: Vec<Option<Val>> = comp.iter().map(|&i| kv.nodes[i as usize]).collect();
    scc.sort_unstable();
    Anomaly {
        kind: AnomalyType::CyclicVersions,
        txns: involved,
        description: desc,
        detail: json!({"key": k, "scc": scc, "cycle": steps}),
    }
}
