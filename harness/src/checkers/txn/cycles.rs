//! Cycle search over the dependency graph and Elle-style classification.
//!
//! For each edge family (ww; ww+wr; ww+wr+rw; and, for strict models, each of those plus
//! real-time), the strongly connected components of the family's subgraph are computed.
//! In each component with an edge of the family's newest kind, one such edge `u -> v` is
//! taken and closed into a cycle by a shortest path `v ->* u` inside the component (BFS;
//! it exists because `u` and `v` share the component). The picked edge is labelled with
//! the family's newest kind, every other step with the least severe relationship it
//! carries (ww < wr < rw < rt), and the cycle is named by
//! its labels: any rt step adds `-realtime`; two or more rw steps make `G2-item`, one
//! makes `G-single`; otherwise any wr step makes `G1c`, else `G0`. Every cycle reported
//! is a real cycle of the graph whose every label is an edge it carries, so its class is
//! exact for that cycle. One cycle per component and family is reported; the same cycle
//! is reported again only under a different class.

use super::anomaly::{Anomaly, AnomalyType};
use super::graph::{RT, RW, WR, WW};
use super::infer::Inferred;
use super::parse::Txn;
use serde_json::json;
use std::collections::HashSet;

/// The relationship kinds in increasing severity.
const KINDS: [(u8, &str); 4] = [(WW, "ww"), (WR, "wr"), (RW, "rw"), (RT, "rt")];

fn fmt_val(v: Option<i64>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

/// Finds and classifies cycles. `realtime` adds the real-time families.
pub fn find_cycles(inf: &Inferred, txns: &[Txn], realtime: bool) -> Vec<Anomaly> {
    let mut families = vec![(WW, WW), (WW | WR, WR), (WW | WR | RW, RW)];
    if realtime {
        families.extend([(WW | RT, RT), (WW | WR | RT, RT), (WW | WR | RW | RT, RT)]);
    }
    let g = &inf.graph;
    let mut out = Vec::new();
    let mut seen_cycles: HashSet<(Vec<u32>, AnomalyType)> = HashSet::new();
    for (rels, newest) in families {
        for comp in g.sccs(rels) {
            let inside: HashSet<u32> = comp.iter().copied().collect();
            // Prefer an edge that carries only the newest kind (within this family).
            let mut pick: Option<(u32, u32)> = None;
            'scan: for &u in &comp {
                for &(v, m) in g.out(u) {
                    if !inside.contains(&v) || m & newest == 0 {
                        continue;
                    }
                    if m & rels & !newest == 0 || newest == WW {
                        pick = Some((u, v));
                        break 'scan;
                    }
                    if pick.is_none() {
                        pick = Some((u, v));
                    }
                }
            }
            let Some((u, v)) = pick else { continue };
            let Some(path) = g.shortest_path(v, u, rels, &|x| inside.contains(&x)) else {
                continue;
            };
            let mut cycle = vec![u];
            cycle.extend(path);
            // Canonical rotation, to avoid reporting one cycle twice.
            let body = &cycle[..cycle.len() - 1];
            let min_at = (0..body.len()).min_by_key(|&i| body[i]).unwrap_or(0);
            let mut canon: Vec<u32> = body[min_at..].to_vec();
            canon.extend_from_slice(&body[..min_at]);
            // The picked edge is labelled with the family's newest kind (as Elle's
            // first-relationship search does), unless that would call a data edge rt.
            let m = g.mask(u, v) & rels;
            let first = (newest != RT || m == RT).then_some(newest);
            let a = explain(inf, txns, &cycle, rels, first);
            if seen_cycles.insert((canon, a.kind)) {
                out.push(a);
            }
        }
    }
    out
}

/// Labels and names one cycle `cycle[0] -> cycle[1] -> ... -> cycle[last] == cycle[0]`.
/// The first step is labelled `first` when given (it must carry it); every other step
/// with the least severe kind it carries.
fn explain(inf: &Inferred, txns: &[Txn], cycle: &[u32], rels: u8, first: Option<u8>) -> Anomaly {
    let g = &inf.graph;
    let mut counts = [0usize; 4];
    let mut desc = format!("T{}", txns[cycle[0] as usize].name);
    let mut steps = Vec::new();
    for (i, w) in cycle.windows(2).enumerate() {
        let (a, b) = (w[0], w[1]);
        let mut m = g.mask(a, b) & rels;
        if let (0, Some(f)) = (i, first) {
            m &= f;
        }
        let (slot, (kind, label)) = KINDS
            .iter()
            .copied()
            .enumerate()
            .find(|(_, (k, _))| m & k != 0)
            .unwrap_or((3, (RT, "rt")));
        counts[slot] += 1;
        let why = inf.why.get(&(a, b, kind));
        let (an, bn) = (txns[a as usize].name, txns[b as usize].name);
        let what = match (kind, why) {
            (RT, _) | (_, None) => String::new(),
            (WR, Some(y)) => format!("({} {})", y.key, fmt_val(y.from)),
            (_, Some(y)) => format!("({} {}<{})", y.key, fmt_val(y.from), fmt_val(y.to)),
        };
        desc.push_str(&format!(" -{label}{what}-> T{bn}"));
        let mut step = json!({"from": an, "to": bn, "type": label});
        if let (false, Some(y)) = (kind == RT, why) {
            step["key"] = json!(y.key);
            step["value"] = json!(y.from);
            if kind != WR {
                step["value'"] = json!(y.to);
            }
        }
        steps.push(step);
    }
    let (wr, rw, rt) = (counts[1], counts[2], counts[3]);
    use AnomalyType::*;
    let kind = match (rt > 0, rw, wr) {
        (false, 2.., _) => G2Item,
        (false, 1, _) => GSingle,
        (false, 0, 1..) => G1c,
        (false, 0, 0) => G0,
        (true, 2.., _) => G2ItemRealtime,
        (true, 1, _) => GSingleRealtime,
        (true, 0, 1..) => G1cRealtime,
        (true, 0, 0) => G0Realtime,
    };
    let txn_names: Vec<usize> = cycle[..cycle.len() - 1]
        .iter()
        .map(|&t| txns[t as usize].name)
        .collect();
    Anomaly {
        kind,
        txns: txn_names,
        description: desc,
        detail: json!({"cycle": steps}),
    }
}
