//! [`Setup`]: the calls before the main phase (reference 1): `init` from a fresh client per
//! node (Maelstrom's 10 s), then one client per node kept open for the run, which sends
//! broadcast's `topology` (5 s).

use std::time::Duration;

use glomers_node::Time;
use serde_json::{json, Value};

use super::conns::{Conns, Owner};
use super::timers::Timers;
use super::wires::Wires;
use super::Timer;
use crate::runner::RunError;
use crate::workload::Reply;

/// How long a node has to answer `topology`.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the setup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `init` calls outstanding.
    Init,
    /// `topology` calls outstanding.
    Topology,
    /// Every node is set up.
    Ready,
}

/// The setup calls of one run.
pub struct Setup {
    nodes: Vec<String>,
    init_timeout: Duration,
    /// The `topology` body to send, for broadcast.
    topology: Option<Value>,
    stage: Stage,
    /// The connection of node `i`'s current call, and whether it is answered.
    calls: Vec<(String, bool)>,
}

impl Setup {
    /// The setup of `nodes`: `init` within `init_timeout`, then `topology` when given.
    pub fn new(nodes: Vec<String>, init_timeout: Duration, topology: Option<Value>) -> Self {
        Self {
            nodes,
            init_timeout,
            topology,
            stage: Stage::Init,
            calls: Vec::new(),
        }
    }

    /// Where the setup stands.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// Sends every node its `init`.
    pub fn start(
        &mut self,
        now: Time,
        conns: &mut Conns,
        wires: &mut Wires,
        timers: &mut Timers<Timer>,
    ) {
        for (i, node) in self.nodes.iter().enumerate() {
            let conn = conns.open(Owner::Setup(i), wires);
            let body = json!({"type": "init", "node_id": node, "node_ids": self.nodes});
            conns.call(&conn, node, body, self.init_timeout, now, wires, timers);
            self.calls.push((conn, false));
        }
    }

    /// Node `i`'s answer (or timeout). `Ok(true)` when this finished the current stage.
    pub fn reply(
        &mut self,
        i: usize,
        reply: Reply,
        conns: &mut Conns,
        wires: &mut Wires,
        timers: &mut Timers<Timer>,
    ) -> Result<bool, RunError> {
        let node = self.nodes[i].clone();
        match (self.stage, reply) {
            (Stage::Init, Reply::Body(b))
                if b.get("type").and_then(Value::as_str) == Some("init_ok") => {}
            (Stage::Init, Reply::Body(b)) => {
                return Err(RunError::Init {
                    node,
                    why: format!("replied {b} instead of init_ok"),
                })
            }
            (Stage::Init, Reply::Timeout) => {
                let why = format!("no init_ok within {} s", self.init_timeout.as_secs_f64());
                return Err(RunError::Init { node, why });
            }
            (Stage::Topology, Reply::Body(b)) if crate::workload::broadcast::topology_ok(&b) => {}
            (Stage::Topology, Reply::Body(b)) => {
                return Err(RunError::Setup {
                    node,
                    why: format!("replied {b}"),
                })
            }
            (Stage::Topology, Reply::Timeout) => {
                let why = format!("no topology_ok within {} s", SETUP_TIMEOUT.as_secs());
                return Err(RunError::Setup { node, why });
            }
            (Stage::Ready, _) => return Ok(false),
        }
        self.calls[i].1 = true;
        if self.calls.iter().any(|(_, answered)| !answered) {
            return Ok(false);
        }
        if self.stage == Stage::Init {
            for (conn, _) in std::mem::take(&mut self.calls) {
                conns.close(&conn, wires, timers);
            }
        }
        Ok(true)
    }

    /// Opens the connection each node keeps for the run and, for broadcast, sends its
    /// `topology`. Returns whether calls went out (else setup is done).
    pub fn open_clients(
        &mut self,
        now: Time,
        conns: &mut Conns,
        wires: &mut Wires,
        timers: &mut Timers<Timer>,
    ) -> bool {
        for (i, node) in self.nodes.iter().enumerate() {
            let conn = conns.open(Owner::Setup(i), wires);
            if let Some(body) = &self.topology {
                conns.call(&conn, node, body.clone(), SETUP_TIMEOUT, now, wires, timers);
            }
            self.calls.push((conn, self.topology.is_none()));
        }
        self.stage = if self.topology.is_some() {
            Stage::Topology
        } else {
            Stage::Ready
        };
        self.topology.is_some()
    }

    /// Marks the setup done.
    pub fn ready(&mut self) {
        self.stage = Stage::Ready;
    }
}
