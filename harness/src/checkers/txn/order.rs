//! Order edges between transactions: real time and process order.
//!
//! Real time: `a -> b` when `ok` txn `a` completed before `b` was invoked (`b` `ok` or
//! indeterminate: an indeterminate txn's completion time is unknown, so it precedes
//! nothing). Only a transitive reduction is produced, by Elle's frontier sweep: each
//! invocation is linked from the frontier of completions not yet implied by a later one,
//! so the edge count stays linear in practice. Process order: `a -> b` when `a` and `b`
//! are consecutive `ok` txns of one process (Elle's process graph).

use crate::history::Process;
use hashbrown::HashMap;

/// When one vertex's txn ran, as history indices.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// The graph vertex.
    pub vertex: u32,
    /// History index of the invocation.
    pub invoke: usize,
    /// History index of the completion, for `ok` txns only.
    pub ok_completion: Option<usize>,
}

/// Calls `add(a, b)` for each real-time edge of the transitive reduction.
pub fn realtime_edges(spans: &[Span], add: &mut dyn FnMut(u32, u32)) {
    // (history index, is completion, vertex), in history order.
    let mut events: Vec<(usize, bool, u32)> = Vec::with_capacity(spans.len() * 2);
    for s in spans {
        events.push((s.invoke, false, s.vertex));
        if let Some(c) = s.ok_completion {
            events.push((c, true, s.vertex));
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<u32> = Vec::new();
    let mut preds: HashMap<u32, Vec<u32>> = HashMap::new();
    for (_, done, t) in events {
        if !done {
            for &a in &frontier {
                add(a, t);
            }
            preds.insert(t, frontier.clone());
        } else {
            if let Some(p) = preds.remove(&t) {
                frontier.retain(|a| !p.contains(a));
            }
            frontier.push(t);
        }
    }
}

/// Calls `add(a, b)` for consecutive `ok` txns `a`, `b` of one process; `oks` holds
/// (process, completion index, vertex) of every `ok` txn, in any order.
pub fn process_edges(oks: &mut [(Process, usize, u32)], add: &mut dyn FnMut(u32, u32)) {
    oks.sort_unstable();
    for w in oks.windows(2) {
        if w[0].0 == w[1].0 {
            add(w[0].2, w[1].2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(vertex: u32, invoke: usize, done: Option<usize>) -> Span {
        Span {
            vertex,
            invoke,
            ok_completion: done,
        }
    }

    #[test]
    fn realtime_is_a_transitive_reduction() {
        // a=0 [0,1], b=1 [2,3], c=2 [4,5]: a -> b -> c, no a -> c.
        let spans = [
            span(0, 0, Some(1)),
            span(1, 2, Some(3)),
            span(2, 4, Some(5)),
        ];
        let mut e = Vec::new();
        realtime_edges(&spans, &mut |a, b| e.push((a, b)));
        assert_eq!(e, vec![(0, 1), (1, 2)]);
        // Overlapping txns are unordered; an indeterminate one precedes nothing.
        let spans = [span(0, 0, Some(2)), span(1, 1, None), span(2, 3, Some(4))];
        let mut e = Vec::new();
        realtime_edges(&spans, &mut |a, b| e.push((a, b)));
        assert_eq!(e, vec![(0, 2)]);
    }

    #[test]
    fn process_order_links_consecutive_oks() {
        let mut oks = [
            (Process::Client(1), 9, 3),
            (Process::Client(0), 5, 1),
            (Process::Client(0), 1, 0),
            (Process::Client(1), 7, 2),
        ];
        let mut e = Vec::new();
        process_edges(&mut oks, &mut |a, b| e.push((a, b)));
        assert_eq!(e, vec![(0, 1), (2, 3)]);
    }
}
