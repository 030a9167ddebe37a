//! [`Invariants`]: properties of a whole cluster that a host running every node in one
//! process (the harness's simulator) checks after every step.
//!
//! A program offers one through [`crate::nodes::invariants`]; the host hands it every
//! node's machine as [`std::any::Any`] (from [`glomers_node::LineMachine::as_any`]) and
//! the checker downcasts to the machine type it knows. The Raft programs check Raft's
//! safety properties ([`crate::raft::invariants`]).

use std::any::Any;

/// A checker of a cluster's invariants, fed its nodes after every step.
pub trait Invariants {
    /// Looks at the cluster after a step: `nodes[i]` is node `i`'s machine, `None` while it
    /// is dead or not yet initialised. The first property found broken, as one line.
    fn check(&mut self, nodes: &[Option<&dyn Any>]) -> Result<(), String>;
}
