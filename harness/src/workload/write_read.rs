//! The shape shared by the broadcast, g-set, g-counter and pn-counter workloads
//! (reference 7.3–7.6): one write operation and `read`, mixed ½ each by Maelstrom's
//! `gen/mix`, then exactly one final `read` per worker thread. The write's request carries
//! the op's value in one field and its ok value is that value; `read`'s ok value is one
//! field of `read_ok`. Each workload is a [`WriteReadSpec`]: the names, the error
//! convention, and how write values are drawn ([`WriteValues`]).

use std::collections::HashSet;

use glomers_node::Time;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::rpc::{complete, ErrorStyle, FieldKind, DEFAULT_TIMEOUT};
use super::{Client, Generator, Next, OpSpec, Phase, Reply, Step};

/// How a workload draws the values of its writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteValues {
    /// 0, 1, 2, … in issue order: unique and increasing (broadcast, g-set).
    Sequence,
    /// A delta uniform in −5…4 (`(rand-int 10) − 5`). Without `negatives` a negative draw
    /// is dropped and the mix drawn again, as `gen/filter` over the mix does (g-counter:
    /// effectively ⅓ adds of 0…4, ⅔ reads).
    Deltas {
        /// Whether negative deltas are issued (pn-counter) or redrawn (g-counter).
        negatives: bool,
    },
}

/// One write-read workload: its write op and the `read_ok` field, both error conventions,
/// and its write values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteReadSpec {
    /// The write op's `f` and request `type` (`broadcast`, `add`); its reply is `<f>_ok`.
    pub write: &'static str,
    /// The request field carrying the op's value (`message`, `element`, `delta`).
    pub write_field: &'static str,
    /// Error convention of the write.
    pub write_style: ErrorStyle,
    /// The `read_ok` field holding the read's value, and its kind.
    pub read_field: (&'static str, FieldKind),
    /// Error convention of the read.
    pub read_style: ErrorStyle,
    /// How write values are drawn.
    pub values: WriteValues,
}

impl WriteReadSpec {
    /// A fresh generator for this workload.
    pub fn generator(self) -> WriteReadGenerator {
        WriteReadGenerator {
            values: self.values,
            write: self.write,
            next_value: 0,
            final_done: HashSet::new(),
        }
    }

    /// A fresh client for this workload.
    pub fn client(self) -> WriteReadClient {
        WriteReadClient {
            spec: self,
            current: None,
        }
    }
}

/// The generator of a [`WriteReadSpec`]. Invariants: sequence values are unique and
/// increase in the order handed out; each thread gets at most one final read.
#[derive(Debug)]
pub struct WriteReadGenerator {
    write: &'static str,
    values: WriteValues,
    next_value: u64,
    final_done: HashSet<usize>,
}

impl WriteReadGenerator {
    /// The next write value, or `None` when this draw is filtered out.
    fn draw(&mut self, rng: &mut StdRng) -> Option<Value> {
        match self.values {
            WriteValues::Sequence => {
                let v = self.next_value;
                self.next_value += 1;
                Some(json!(v))
            }
            WriteValues::Deltas { negatives } => {
                let delta: i64 = rng.random_range(-5..5);
                (negatives || delta >= 0).then(|| json!(delta))
            }
        }
    }
}

fn read() -> Next {
    Next::Op(OpSpec {
        f: "read".into(),
        value: Value::Null,
    })
}

impl Generator for WriteReadGenerator {
    fn next(&mut self, phase: Phase, thread: usize, _now: Time, rng: &mut StdRng) -> Next {
        match phase {
            Phase::Main => loop {
                if !rng.random_bool(0.5) {
                    return read();
                }
                if let Some(value) = self.draw(rng) {
                    return Next::Op(OpSpec {
                        f: self.write.into(),
                        value,
                    });
                }
            },
            Phase::Final if self.final_done.insert(thread) => read(),
            Phase::Final => Next::Done,
        }
    }

    fn has_final_phase(&self) -> bool {
        true
    }
}

/// The client of a [`WriteReadSpec`] (not reusable).
#[derive(Debug)]
pub struct WriteReadClient {
    spec: WriteReadSpec,
    current: Option<OpSpec>,
}

impl Client for WriteReadClient {
    fn start(&mut self, op: &OpSpec) -> Step {
        self.current = Some(op.clone());
        let body = if op.f == self.spec.write {
            json!({"type": self.spec.write, self.spec.write_field: op.value})
        } else {
            json!({"type": "read"})
        };
        Step::Call {
            body,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        let op = self.current.take().unwrap_or(OpSpec {
            f: "read".into(),
            value: Value::Null,
        });
        let spec = self.spec;
        let completion = if op.f == spec.write {
            let ok = format!("{}_ok", spec.write);
            complete(spec.write_style, &reply, &ok, &[], |_| op.value.clone())
        } else {
            let (field, _) = spec.read_field;
            complete(
                spec.read_style,
                &reply,
                "read_ok",
                &[spec.read_field],
                |o| o.get(field).cloned().unwrap_or(Value::Null),
            )
        };
        Step::Done(completion)
    }

    fn reusable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const SEQ: WriteReadSpec = WriteReadSpec {
        write: "add",
        write_field: "element",
        write_style: ErrorStyle::Unwrapped,
        read_field: ("value", FieldKind::Array),
        read_style: ErrorStyle::Unwrapped,
        values: WriteValues::Sequence,
    };

    /// The main-phase ops of `spec`'s generator for one seed.
    fn ops(spec: WriteReadSpec, n: usize) -> Vec<OpSpec> {
        let mut g = spec.generator();
        let mut rng = StdRng::seed_from_u64(11);
        (0..n)
            .map(|_| match g.next(Phase::Main, 0, Time::ZERO, &mut rng) {
                Next::Op(op) => op,
                other => panic!("main phase gave {other:?}"),
            })
            .collect()
    }

    #[test]
    fn sequence_values_increase_and_final_reads_are_once_per_thread() {
        let ops = ops(SEQ, 1000);
        let writes: Vec<u64> = ops.iter().filter_map(|o| o.value.as_u64()).collect();
        assert_eq!(writes, (0..writes.len() as u64).collect::<Vec<_>>());
        assert!((400..600).contains(&writes.len()), "{}", writes.len());
        let mut g = SEQ.generator();
        let mut rng = StdRng::seed_from_u64(1);
        assert!(matches!(
            g.next(Phase::Final, 1, Time::ZERO, &mut rng),
            Next::Op(_)
        ));
        assert_eq!(g.next(Phase::Final, 1, Time::ZERO, &mut rng), Next::Done);
        assert!(matches!(
            g.next(Phase::Final, 0, Time::ZERO, &mut rng),
            Next::Op(_)
        ));
    }

    /// The write values among `spec`'s first 4000 main-phase ops.
    fn deltas(negatives: bool) -> Vec<i64> {
        let spec = WriteReadSpec {
            values: WriteValues::Deltas { negatives },
            ..SEQ
        };
        ops(spec, 4000)
            .iter()
            .filter_map(|o| o.value.as_i64())
            .collect()
    }

    #[test]
    fn pn_deltas_are_half_the_mix_and_g_deltas_a_third_without_negatives() {
        let pn = deltas(true);
        assert!((1800..2200).contains(&pn.len()), "{}", pn.len());
        assert_eq!((pn.iter().min(), pn.iter().max()), (Some(&-5), Some(&4)));
        let g = deltas(false);
        assert!((1150..1500).contains(&g.len()), "{}", g.len());
        assert_eq!((g.iter().min(), g.iter().max()), (Some(&0), Some(&4)));
    }

    #[test]
    fn the_write_carries_its_value_in_the_named_field() {
        let mut c = SEQ.client();
        let op = OpSpec {
            f: "add".into(),
            value: json!(7),
        };
        let Step::Call { body, .. } = c.start(&op) else {
            panic!("no call")
        };
        assert_eq!(body, json!({"type": "add", "element": 7}));
        let s = c.on_reply(Reply::Body(json!({"type": "add_ok", "in_reply_to": 1})));
        assert_eq!(s, Step::Done(super::super::Completion::Ok(json!(7))));
    }
}
