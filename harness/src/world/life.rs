//! [`Lives`]: whether each node is up, paused or dead, and what killing, starting, pausing
//! and resuming it does to the world (Maelstrom's `kill` and `pause` faults, PR #102).
//!
//! - **kill**: the driver SIGKILLs the node ([`Action::Kill`]); the world holds the node's
//!   deliveries: messages sent to it pile up in its queue (Maelstrom keeps a dead node
//!   registered, so its peers' sends do not fail).
//! - **start**: for every dead node, the driver starts a fresh process or hosted node
//!   ([`Action::Start`]), the node gets a fresh queue (what piled up while it was dead is
//!   discarded: lost, as in Maelstrom, whose restart installs a fresh queue), and a fresh
//!   client sends it `init`; a node that does not answer `init_ok` within the init timeout
//!   is reported ([`NodeProblem::RestartFailed`]). Starting a live node does nothing, since
//!   the schedule starts every node.
//! - **pause**: the driver stops the node ([`Action::Pause`]); the world holds its
//!   deliveries until resume, so a paused node sees nothing, in both modes.
//! - **resume**: every paused node continues ([`Action::Resume`]); what waited is delivered
//!   at once. Resuming a node that is not paused does nothing.
//!
//! Every call returns the history value of its operation: `{node: outcome}` for the nodes
//! it touched, the outcome being a word (`killed`, `already-dead`, `started`,
//! `already-running`, `paused`, `already-paused`, `not-running`, `resumed`, `not-paused`),
//! as Maelstrom's protocol methods return keywords.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::conns::Owner;
use super::nemesis::FaultCtx;
use super::{Action, NodeProblem};
use crate::workload::Reply;

/// A node's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    /// Running (or restarting, waiting for its `init_ok`).
    Up,
    /// Stopped by `pause`.
    Paused,
    /// Killed, not started again yet.
    Dead,
}

/// The lives of a run's nodes.
pub struct Lives {
    nodes: Vec<String>,
    life: Vec<Life>,
    /// The connection of node `i`'s restart `init`, until it is answered.
    restarting: Vec<Option<String>>,
    init_timeout: Duration,
}

impl Lives {
    /// Every node of `nodes` up; restarted nodes have `init_timeout` to answer `init`.
    pub fn new(nodes: Vec<String>, init_timeout: Duration) -> Self {
        let n = nodes.len();
        Self {
            nodes,
            life: vec![Life::Up; n],
            restarting: vec![None; n],
            init_timeout,
        }
    }

    /// Kills the nodes `targets` (indexes).
    pub fn kill(&mut self, targets: &[usize], ctx: &mut FaultCtx<'_>) -> Value {
        let mut done = Map::new();
        for &i in targets {
            let outcome = if self.life[i] == Life::Dead {
                "already-dead"
            } else {
                ctx.out.push(Action::Kill { node: i });
                ctx.wires.hold(&self.nodes[i]);
                if let Some(conn) = self.restarting[i].take() {
                    ctx.conns.close(&conn, ctx.wires, ctx.timers);
                }
                self.life[i] = Life::Dead;
                "killed"
            };
            done.insert(self.nodes[i].clone(), json!(outcome));
        }
        Value::Object(done)
    }

    /// Starts every dead node again, each with a fresh queue and a fresh `init`.
    pub fn start_all(&mut self, ctx: &mut FaultCtx<'_>) -> Value {
        let mut done = Map::new();
        for i in 0..self.nodes.len() {
            let outcome = if self.life[i] == Life::Dead {
                self.restart(i, ctx);
                "started"
            } else {
                "already-running"
            };
            done.insert(self.nodes[i].clone(), json!(outcome));
        }
        Value::Object(done)
    }

    fn restart(&mut self, i: usize, ctx: &mut FaultCtx<'_>) {
        let node = self.nodes[i].clone();
        ctx.out.push(Action::Start { node: i });
        ctx.wires.reset(&node, ctx.timers);
        self.life[i] = Life::Up;
        let conn = ctx.conns.open(Owner::Restart(i), ctx.wires);
        let body = json!({"type": "init", "node_id": node, "node_ids": self.nodes});
        ctx.conns.call(
            &conn,
            &node,
            body,
            self.init_timeout,
            ctx.now,
            ctx.wires,
            ctx.timers,
        );
        self.restarting[i] = Some(conn);
    }

    /// Pauses the nodes `targets` (indexes) that are up.
    pub fn pause(&mut self, targets: &[usize], ctx: &mut FaultCtx<'_>) -> Value {
        let mut done = Map::new();
        for &i in targets {
            let outcome = match self.life[i] {
                Life::Up => {
                    ctx.out.push(Action::Pause { node: i });
                    ctx.wires.hold(&self.nodes[i]);
                    self.life[i] = Life::Paused;
                    "paused"
                }
                Life::Paused => "already-paused",
                Life::Dead => "not-running",
            };
            done.insert(self.nodes[i].clone(), json!(outcome));
        }
        Value::Object(done)
    }

    /// Resumes every paused node; what waited for it is delivered at once.
    pub fn resume_all(&mut self, ctx: &mut FaultCtx<'_>) -> Value {
        let mut done = Map::new();
        for i in 0..self.nodes.len() {
            let outcome = if self.life[i] == Life::Paused {
                ctx.out.push(Action::Resume { node: i });
                ctx.wires.release(&self.nodes[i], ctx.now, ctx.timers);
                self.life[i] = Life::Up;
                "resumed"
            } else {
                "not-paused"
            };
            done.insert(self.nodes[i].clone(), json!(outcome));
        }
        Value::Object(done)
    }

    /// The answer (or timeout) to node `i`'s restart `init`: a problem unless `init_ok`.
    pub fn init_reply(
        &mut self,
        i: usize,
        reply: Reply,
        ctx: &mut FaultCtx<'_>,
    ) -> Option<NodeProblem> {
        let conn = self.restarting.get_mut(i)?.take()?;
        ctx.conns.close(&conn, ctx.wires, ctx.timers);
        let node = self.nodes[i].clone();
        let why = match reply {
            Reply::Body(b) if b.get("type").and_then(Value::as_str) == Some("init_ok") => {
                return None
            }
            Reply::Body(b) => format!("replied {b} instead of init_ok"),
            Reply::Timeout => format!("no init_ok within {} s", self.init_timeout.as_secs_f64()),
        };
        Some(NodeProblem::RestartFailed { node, why })
    }
}
