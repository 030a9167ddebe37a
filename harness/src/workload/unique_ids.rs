//! The unique-ids workload (reference 7.2): endless `generate`; no final phase; the client
//! is reusable; nothing is idempotent.

use glomers_node::Time;
use rand::rngs::StdRng;
use serde_json::{json, Value};

use super::rpc::{complete, ErrorStyle, FieldKind, DEFAULT_TIMEOUT};
use super::{Client, Generator, Next, OpSpec, Phase, Reply, Step};

/// Generates `generate` ops with a `null` value in the main phase.
#[derive(Debug, Default)]
pub struct UniqueIdsGenerator;

impl Generator for UniqueIdsGenerator {
    fn next(&mut self, phase: Phase, _thread: usize, _now: Time, _rng: &mut StdRng) -> Next {
        match phase {
            Phase::Main => Next::Op(OpSpec {
                f: "generate".into(),
                value: Value::Null,
            }),
            Phase::Final => Next::Done,
        }
    }

    fn has_final_phase(&self) -> bool {
        false
    }
}

/// The unique-ids client: one `generate` RPC; the ok value is the reply's `id`.
#[derive(Debug, Default)]
pub struct UniqueIdsClient;

impl Client for UniqueIdsClient {
    fn start(&mut self, _op: &OpSpec) -> Step {
        Step::Call {
            body: json!({"type": "generate"}),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        Step::Done(complete(
            ErrorStyle::Wrapped { idempotent: false },
            &reply,
            "generate_ok",
            &[("id", FieldKind::Any)],
            |o| o.get("id").cloned().unwrap_or(Value::Null),
        ))
    }

    fn reusable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Completion;

    #[test]
    fn id_is_the_ok_value() {
        let mut c = UniqueIdsClient;
        let op = OpSpec {
            f: "generate".into(),
            value: Value::Null,
        };
        assert!(matches!(c.start(&op), Step::Call { .. }));
        let s = c.on_reply(Reply::Body(
            json!({"type":"generate_ok","in_reply_to":1,"id":"n0-1"}),
        ));
        assert_eq!(s, Step::Done(Completion::Ok(json!("n0-1"))));
        assert!(matches!(
            c.on_reply(Reply::Timeout),
            Step::Done(Completion::Info(_))
        ));
        assert!(c.reusable());
    }
}
