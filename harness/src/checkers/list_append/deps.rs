//! The dependency graph of a list-append history (Elle's `list-append/graph`).
//!
//! Vertices: `ok` and indeterminate txns (a `fail` txn never happened). With `prev(k, e)`
//! the element appended just before `e` on key `k` in the version order (the initial
//! state for the first; for an element no read observed, the last observed one):
//!
//! - **wr** `W -> T`: a read of `T` ends with an element `W` appended;
//! - **ww** `W -> T`: `T` appended `e` and `W` appended `prev(k, e)`;
//! - **rw** `R -> T`: `T` appended `e` and a read of `R` ended with `prev(k, e)` (or read
//!   the key empty when `e` came first);
//! - as `Order` asks, **process** and **real-time** edges (module `txn::order`).
//!
//! No edge joins a txn to itself.

use super::direct::Writers;
use super::parse::{Elem, Key, Mop, Txn};
use super::versions::Versions;
use crate::checkers::txn::graph::{Edges, Why, PR, RT, RW, WR, WW};
use crate::checkers::txn::order::{self, Span};
use crate::checkers::txn::parse::Status;
use hashbrown::HashMap;

/// The graph, and each vertex's txn position.
pub struct Deps {
    /// Edges over vertices `0..txn_of.len()`.
    pub edges: Edges,
    /// Vertex -> position in the txn list.
    pub txn_of: Vec<usize>,
}

/// Which order edges to add.
#[derive(Debug, Clone, Copy)]
pub struct Order {
    /// Real-time order.
    pub realtime: bool,
    /// Process order.
    pub process: bool,
}

/// Builds the dependency graph with the order edges `order` asks for.
pub fn build(txns: &[Txn], writers: &Writers, versions: &Versions, order: Order) -> Deps {
    let txn_of: Vec<usize> = (0..txns.len())
        .filter(|&t| txns[t].status != Status::Fail)
        .collect();
    let mut vertex = vec![u32::MAX; txns.len()];
    for (v, &t) in txn_of.iter().enumerate() {
        vertex[t] = v as u32;
    }
    // The vertex that appended (k, e), if it is one.
    let writer = |k: Key, e: Elem| {
        writers
            .get(&(k, e))
            .map(|&t| vertex[t])
            .filter(|&v| v != u32::MAX)
    };
    // (key, last element read or None for empty) -> reading vertices.
    let mut readers: HashMap<(Key, Option<Elem>), Vec<u32>> = HashMap::new();
    for (v, &t) in txn_of.iter().enumerate() {
        for m in &txns[t].mops {
            if let Mop::Read {
                key,
                value: Some(list),
            } = m
            {
                readers
                    .entry((*key, list.last().copied()))
                    .or_default()
                    .push(v as u32);
            }
        }
    }
    let mut edges = Edges::new(txn_of.len());
    for (b, &t) in txn_of.iter().enumerate() {
        let b = b as u32;
        for m in &txns[t].mops {
            match *m {
                Mop::Read {
                    key,
                    value: Some(ref list),
                } => {
                    if let Some(&last) = list.last() {
                        if let Some(w) = writer(key, last) {
                            let why = Why {
                                key,
                                from: Some(last),
                                to: Some(last),
                            };
                            edges.add(w, b, WR, Some(why));
                        }
                    }
                }
                Mop::Append { key, value } => {
                    let prev = versions.prev(key, value);
                    let why = Why {
                        key,
                        from: prev,
                        to: Some(value),
                    };
                    if let Some(w) = prev.and_then(|p| writer(key, p)) {
                        edges.add(w, b, WW, Some(why));
                    }
                    for &r in readers.get(&(key, prev)).map_or(&[][..], Vec::as_slice) {
                        edges.add(r, b, RW, Some(why));
                    }
                }
                Mop::Read { .. } => {}
            }
        }
    }
    order_edges(txns, &txn_of, order, &mut edges);
    Deps { edges, txn_of }
}

fn order_edges(txns: &[Txn], txn_of: &[usize], order: Order, edges: &mut Edges) {
    let ok_completion = |t: &Txn| t.complete_index.filter(|_| t.status == Status::Ok);
    if order.realtime {
        let spans: Vec<Span> = txn_of
            .iter()
            .enumerate()
            .map(|(v, &t)| Span {
                vertex: v as u32,
                invoke: txns[t].invoke_index,
                ok_completion: ok_completion(&txns[t]),
            })
            .collect();
        order::realtime_edges(&spans, &mut |a, b| edges.add(a, b, RT, None));
    }
    if !order.process {
        return;
    }
    let mut oks: Vec<_> = txn_of
        .iter()
        .enumerate()
        .filter_map(|(v, &t)| ok_completion(&txns[t]).map(|c| (txns[t].process, c, v as u32)))
        .collect();
    order::process_edges(&mut oks, &mut |a, b| edges.add(a, b, PR, None));
}
