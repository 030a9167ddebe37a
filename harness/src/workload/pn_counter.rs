//! The pn-counter workload (reference 7.6, Maelstrom `workload/pn_counter.clj`): g-counter's
//! RPCs, client and checker, with negative deltas issued: ½ `add` of a delta uniform in
//! −5…4, ½ `read`; one final `read` per thread. Every error reply and timeout completes
//! `info`; the final reads must lie in the range the `ok` and indeterminate adds allow
//! (`crate::checkers::counter`).

use super::g_counter;
use super::write_read::{WriteReadSpec, WriteValues};

/// The pn-counter workload: g-counter's, with negative deltas.
pub const SPEC: WriteReadSpec = WriteReadSpec {
    values: WriteValues::Deltas { negatives: true },
    ..g_counter::SPEC
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Client, Completion, Generator, Next, OpSpec, Phase, Reply, Step};
    use glomers_node::Time;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn adds_go_both_ways_and_time_out_indeterminate() {
        let mut g = SPEC.generator();
        let mut rng = StdRng::seed_from_u64(5);
        let deltas: Vec<i64> = (0..400)
            .filter_map(|_| match g.next(Phase::Main, 0, Time::ZERO, &mut rng) {
                Next::Op(op) if op.f == "add" => op.value.as_i64(),
                _ => None,
            })
            .collect();
        assert!(deltas.iter().any(|d| *d < 0) && deltas.iter().any(|d| *d > 0));
        let mut c = SPEC.client();
        let Step::Call { body, .. } = c.start(&OpSpec {
            f: "add".into(),
            value: json!(-3),
        }) else {
            panic!("no call")
        };
        assert_eq!(body, json!({"type": "add", "delta": -3}));
        assert!(matches!(
            c.on_reply(Reply::Timeout),
            Step::Done(Completion::Info(_))
        ));
    }
}
