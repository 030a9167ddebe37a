//! The echo workload (reference 7.1): every op is `echo` of `"Please echo N"`, N uniform
//! in 0..=127; no final phase; the client is not reusable and nothing is idempotent.

use glomers_node::Time;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::rpc::{complete, ErrorStyle, FieldKind, DEFAULT_TIMEOUT};
use super::{Client, Generator, Next, OpSpec, Phase, Reply, Step};

/// Generates an endless stream of `echo` ops in the main phase, nothing in the final one.
#[derive(Debug, Default)]
pub struct EchoGenerator;

impl Generator for EchoGenerator {
    fn next(&mut self, phase: Phase, _thread: usize, _now: Time, rng: &mut StdRng) -> Next {
        match phase {
            Phase::Main => Next::Op(OpSpec {
                f: "echo".into(),
                value: Value::String(format!("Please echo {}", rng.random_range(0..128u32))),
            }),
            Phase::Final => Next::Done,
        }
    }

    fn has_final_phase(&self) -> bool {
        false
    }
}

/// The echo client: one `echo` RPC per op; the ok value is the reply's `echo` field.
#[derive(Debug, Default)]
pub struct EchoClient;

impl Client for EchoClient {
    fn start(&mut self, op: &OpSpec) -> Step {
        Step::Call {
            body: json!({"type": "echo", "echo": op.value}),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        Step::Done(complete(
            ErrorStyle::Wrapped { idempotent: false },
            &reply,
            "echo_ok",
            &[("echo", FieldKind::Any)],
            |o| o.get("echo").cloned().unwrap_or(Value::Null),
        ))
    }

    fn reusable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Completion;
    use rand::SeedableRng;

    #[test]
    fn values_are_in_range_and_reply_is_checked() {
        let mut g = EchoGenerator;
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..200 {
            let Next::Op(op) = g.next(Phase::Main, 0, Time::ZERO, &mut rng) else {
                panic!("echo always has an op")
            };
            let s = op.value.as_str().unwrap_or_default().to_owned();
            let n: u32 = s.trim_start_matches("Please echo ").parse().unwrap_or(999);
            assert!(n < 128, "{s}");
        }
        assert_eq!(g.next(Phase::Final, 0, Time::ZERO, &mut rng), Next::Done);
        let mut c = EchoClient;
        let op = OpSpec {
            f: "echo".into(),
            value: json!("Please echo 3"),
        };
        assert!(matches!(c.start(&op), Step::Call { .. }));
        let ok = c.on_reply(Reply::Body(
            json!({"type":"echo_ok","in_reply_to":1,"echo":"Please echo 3"}),
        ));
        assert_eq!(ok, Step::Done(Completion::Ok(json!("Please echo 3"))));
        let bad = c.on_reply(Reply::Body(json!({"type":"echo_ok","in_reply_to":1})));
        assert!(matches!(bad, Step::Done(Completion::Info(_))));
    }
}
