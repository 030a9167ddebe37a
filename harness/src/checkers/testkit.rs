//! A small history builder shared by the checkers' tests.

use std::time::Duration;

use glomers_node::Time;
use serde_json::Value;

use crate::history::{History, Op, OpType, Process};

/// Builds histories entry by entry. Time advances by 1 ms per entry unless set with
/// [`Hb::at`].
pub(crate) struct Hb {
    pub h: History,
    pub now: Time,
    final_phase: bool,
}

/// How far time advances after each entry.
const STEP: Duration = Duration::from_millis(1);

#[allow(dead_code)] // not every helper is used by every checker's tests
impl Hb {
    pub fn new() -> Self {
        Hb {
            h: History::default(),
            now: Time::ZERO,
            final_phase: false,
        }
    }

    /// Sets the time of the next entry.
    pub fn at(&mut self, t: Time) -> &mut Self {
        self.now = t;
        self
    }

    /// Marks every following entry as final-phase.
    pub fn final_phase(&mut self) -> &mut Self {
        self.final_phase = true;
        self
    }

    fn push(
        &mut self,
        p: Process,
        kind: OpType,
        f: &str,
        value: Value,
        error: Option<&str>,
    ) -> usize {
        let i = self.h.push(Op {
            index: 0,
            time: self.now,
            process: p,
            kind,
            f: f.to_string(),
            value: value.into(),
            is_final: self.final_phase,
            error: error.map(str::to_string),
            node: None,
        });
        self.now += STEP;
        i
    }

    pub fn invoke(&mut self, p: u64, f: &str, v: Value) -> usize {
        self.push(Process::Client(p), OpType::Invoke, f, v, None)
    }
    pub fn ok(&mut self, p: u64, f: &str, v: Value) -> usize {
        self.push(Process::Client(p), OpType::Ok, f, v, None)
    }
    pub fn fail(&mut self, p: u64, f: &str, v: Value) -> usize {
        self.push(Process::Client(p), OpType::Fail, f, v, Some("definite"))
    }
    pub fn info(&mut self, p: u64, f: &str, v: Value) -> usize {
        self.push(Process::Client(p), OpType::Info, f, v, Some("net-timeout"))
    }
    pub fn nemesis(&mut self, f: &str) -> usize {
        self.push(Process::Nemesis, OpType::Info, f, Value::Null, None)
    }

    /// An invoke immediately followed by its completion; returns (invoke, completion).
    pub fn op(&mut self, p: u64, f: &str, inv: Value, kind: OpType, done: Value) -> (usize, usize) {
        let a = self.invoke(p, f, inv);
        let b = self.push(
            Process::Client(p),
            kind,
            f,
            done,
            match kind {
                OpType::Ok | OpType::Invoke => None,
                _ => Some("err"),
            },
        );
        (a, b)
    }

    pub fn build(&self) -> History {
        self.h.clone()
    }
}
