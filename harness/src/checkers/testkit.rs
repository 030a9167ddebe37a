//! A small history builder shared by the checkers' tests.

use serde_json::Value;

use crate::history::{History, Op, OpType, Process};

/// Builds histories entry by entry. Time advances by 1 ms per entry unless set with
/// [`Hb::at`].
pub(crate) struct Hb {
    pub h: History,
    pub now: u64,
    final_phase: bool,
}

/// One millisecond in nanoseconds.
pub(crate) const MS: u64 = 1_000_000;

#[allow(dead_code)] // not every helper is used by every checker's tests
impl Hb {
    pub fn new() -> Self {
        Hb {
            h: History::default(),
            now: 0,
            final_phase: false,
        }
    }

    /// Sets the time (ns) of the next entry.
    pub fn at(&mut self, ns: u64) -> &mut Self {
        self.now = ns;
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
        self.now += MS;
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
