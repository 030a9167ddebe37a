//! The g-counter workload (reference 7.5): the pn-counter mix with negative adds redrawn,
//! i.e. ⅓ `add` of a delta uniform in 0..=4 and ⅔ `read`; one final `read` per thread. The
//! client has no error wrapper: every error reply and timeout completes `info`.

use super::rpc::{ErrorStyle, FieldKind};
use super::write_read::{WriteReadSpec, WriteValues};

/// The g-counter workload: `add` → `add_ok` (ok value = the delta), `read` → `read_ok`
/// (ok value = the integer `value`); no error wrapper; negative deltas redrawn.
pub const SPEC: WriteReadSpec = WriteReadSpec {
    write: "add",
    write_field: "delta",
    write_style: ErrorStyle::Unwrapped,
    read_field: ("value", FieldKind::Int),
    read_style: ErrorStyle::Unwrapped,
    values: WriteValues::Deltas { negatives: false },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Client, Completion, Generator, Next, OpSpec, Phase, Reply, Step};
    use glomers_node::Time;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::{json, Value};

    #[test]
    fn mix_is_a_third_adds_with_small_deltas() {
        let mut g = SPEC.generator();
        let mut rng = StdRng::seed_from_u64(3);
        let mut adds = 0;
        for _ in 0..3000 {
            let Next::Op(op) = g.next(Phase::Main, 0, Time::ZERO, &mut rng) else {
                panic!()
            };
            if op.f == "add" {
                let d = op.value.as_i64().unwrap_or(-1);
                assert!((0..=4).contains(&d));
                adds += 1;
            }
        }
        assert!((850..1150).contains(&adds), "{adds}");
    }

    #[test]
    fn definite_errors_are_still_info() {
        let mut c = SPEC.client();
        c.start(&OpSpec {
            f: "add".into(),
            value: json!(2),
        });
        let s = c.on_reply(Reply::Body(
            json!({"type":"error","in_reply_to":1,"code":11}),
        ));
        assert!(matches!(s, Step::Done(Completion::Info(_))));
        c.start(&OpSpec {
            f: "read".into(),
            value: Value::Null,
        });
        let s = c.on_reply(Reply::Body(
            json!({"type":"read_ok","in_reply_to":1,"value":1.0}),
        ));
        assert!(matches!(s, Step::Done(Completion::Info(_))));
    }
}
