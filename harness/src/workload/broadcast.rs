//! The broadcast workload (reference 7.3): ½ `broadcast` of the next integer (0, 1, 2, …
//! in issue order), ½ `read`; in the final phase exactly one `read` per worker thread. The
//! client is not reusable; `read` is idempotent. The `topology` RPC of the client setup is
//! built by [`topology_body`].

use std::collections::{BTreeMap, HashSet};

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::rpc::{ErrorStyle, FieldKind, WriteReadClient, WriteReadSpec};
use super::{Generator, Next, OpSpec, Phase};

/// Broadcast's generator. Invariant: broadcast values are unique and increase in the
/// order the generator hands them out; each thread gets at most one final read.
#[derive(Debug, Default)]
pub struct BroadcastGenerator {
    next_value: u64,
    final_done: HashSet<usize>,
}

impl Generator for BroadcastGenerator {
    fn next(&mut self, phase: Phase, thread: usize, _now: u64, rng: &mut StdRng) -> Next {
        match phase {
            Phase::Main => {
                if rng.random_bool(0.5) {
                    let v = self.next_value;
                    self.next_value += 1;
                    Next::Op(OpSpec {
                        f: "broadcast".into(),
                        value: json!(v),
                    })
                } else {
                    Next::Op(OpSpec {
                        f: "read".into(),
                        value: Value::Null,
                    })
                }
            }
            Phase::Final => {
                if self.final_done.insert(thread) {
                    Next::Op(OpSpec {
                        f: "read".into(),
                        value: Value::Null,
                    })
                } else {
                    Next::Done
                }
            }
        }
    }

    fn has_final_phase(&self) -> bool {
        true
    }
}

/// The body of the `topology` request sent to every node during client setup.
pub fn topology_body(topology: &BTreeMap<String, Vec<String>>) -> Value {
    json!({"type": "topology", "topology": topology})
}

/// Whether `reply` is a well-formed `topology_ok` (closed schema).
pub fn topology_ok(reply: &Value) -> bool {
    super::rpc::check_schema(reply, "topology_ok", &[]).is_ok()
}

/// The broadcast client: `broadcast` → `broadcast_ok` (ok value = the message sent),
/// `read` → `read_ok` (ok value = the `messages` array); `read` is idempotent.
pub const CLIENT: WriteReadSpec = WriteReadSpec {
    write: "broadcast",
    write_field: "message",
    write_style: ErrorStyle::Wrapped { idempotent: false },
    read_field: ("messages", FieldKind::Array),
    read_style: ErrorStyle::Wrapped { idempotent: true },
};

/// A broadcast client.
pub fn client() -> WriteReadClient {
    WriteReadClient::new(CLIENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Client, Completion, Reply, Step};
    use rand::SeedableRng;

    #[test]
    fn values_increase_and_final_reads_once_per_thread() {
        let mut g = BroadcastGenerator::default();
        let mut rng = StdRng::seed_from_u64(7);
        let mut last = None;
        let (mut b, mut r) = (0, 0);
        for _ in 0..1000 {
            let Next::Op(op) = g.next(Phase::Main, 0, 0, &mut rng) else {
                panic!()
            };
            if op.f == "broadcast" {
                let v = op.value.as_u64();
                assert!(v > last || last.is_none());
                last = v;
                b += 1;
            } else {
                r += 1;
            }
        }
        assert!(b > 400 && r > 400, "{b} {r}");
        assert!(matches!(g.next(Phase::Final, 1, 0, &mut rng), Next::Op(_)));
        assert_eq!(g.next(Phase::Final, 1, 0, &mut rng), Next::Done);
        assert!(matches!(g.next(Phase::Final, 0, 0, &mut rng), Next::Op(_)));
    }

    #[test]
    fn read_timeout_fails_broadcast_timeout_is_info() {
        let mut c = client();
        c.start(&OpSpec {
            f: "read".into(),
            value: Value::Null,
        });
        assert!(matches!(
            c.on_reply(Reply::Timeout),
            Step::Done(Completion::Fail(_))
        ));
        c.start(&OpSpec {
            f: "broadcast".into(),
            value: json!(3),
        });
        assert!(matches!(
            c.on_reply(Reply::Timeout),
            Step::Done(Completion::Info(_))
        ));
        c.start(&OpSpec {
            f: "broadcast".into(),
            value: json!(3),
        });
        let s = c.on_reply(Reply::Body(json!({"type":"broadcast_ok","in_reply_to":2})));
        assert_eq!(s, Step::Done(Completion::Ok(json!(3))));
        c.start(&OpSpec {
            f: "read".into(),
            value: Value::Null,
        });
        let s = c.on_reply(Reply::Body(
            json!({"type":"read_ok","in_reply_to":2,"messages":[3]}),
        ));
        assert_eq!(s, Step::Done(Completion::Ok(json!([3]))));
    }
}
