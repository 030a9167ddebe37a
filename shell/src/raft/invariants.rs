//! [`RaftInvariants`]: Raft's safety properties over a cluster of [`RaftMachine`]s, with
//! the core's incremental [`History`]: election safety, log matching, leader completeness
//! and state-machine safety, checked after every step.
//!
//! Each check observes every live node's Raft state, then records every entry each node
//! applied since the last check (read from its log at the applied index: within one step
//! an applied entry cannot be replaced, and a node compacts only what it applied in
//! earlier steps). A node whose applied index passed its snapshot's index without applying
//! the entries below it restored the snapshot (from its leader, or its disk at restart).
//! A node seen dead, or whose applied index went back, restarted: it applies again from
//! index 1, or from its snapshot.

use std::any::Any;
use std::marker::PhantomData;

use glomers_raft::check::{History, NodeView};
use glomers_raft::{Entry, NodeId, Role, Storage};

use super::machine::RaftMachine;
use super::node::{Core, Log};
use super::service::Service;
use crate::invariants::Invariants;

/// The invariant checker of a program serving `S` (see the module documentation).
pub struct RaftInvariants<S: Service> {
    history: History<Log<S>>,
    /// Per node slot: its Raft id and the applied index seen, while it lives.
    applied: Vec<Option<(NodeId, u64)>>,
    _service: PhantomData<fn() -> S>,
}

impl<S: Service> Default for RaftInvariants<S> {
    fn default() -> Self {
        RaftInvariants {
            history: History::new(),
            applied: Vec::new(),
            _service: PhantomData,
        }
    }
}

/// One node's Raft state, as the checks see it.
struct View<'a, S: Service>(&'a Core<S>);

impl<S: Service> NodeView<Log<S>> for View<'_, S> {
    fn id(&self) -> NodeId {
        self.0.id()
    }
    fn term(&self) -> u64 {
        self.0.term()
    }
    fn is_leader(&self) -> bool {
        self.0.role() == Role::Leader
    }
    fn commit_index(&self) -> u64 {
        self.0.commit_index()
    }
    fn last_index(&self) -> u64 {
        self.0.storage().last_index()
    }
    fn first_index(&self) -> u64 {
        self.0.storage().first_index()
    }
    fn entry(&self, index: u64) -> Option<Entry<Log<S>>> {
        self.0.storage().entry(index).ok().flatten()
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        self.0.storage().term(index).ok().flatten()
    }
}

impl<S: Service> RaftInvariants<S> {
    /// Records what node `slot` applied since the last check.
    fn applied(&mut self, slot: usize, raft: &Core<S>) -> Result<(), String> {
        let id = raft.id();
        let seen = match self.applied.get(slot).copied().flatten() {
            Some((was, seen)) if was == id && seen <= raft.applied_index() => seen,
            Some((was, _)) => {
                self.history.restarted(was);
                0
            }
            None => 0,
        };
        let snapshot = raft.snapshot_index();
        let mut from = seen + 1;
        if from <= snapshot && snapshot <= raft.applied_index() {
            let term = raft
                .storage()
                .term(snapshot)
                .ok()
                .flatten()
                .unwrap_or_default();
            self.history
                .restored(id, snapshot, term)
                .map_err(|v| v.to_string())?;
            from = snapshot + 1;
        }
        for index in from..=raft.applied_index() {
            let Some(entry) = raft.storage().entry(index).ok().flatten() else {
                return Err(format!("node {id} applied {index}, which its log lacks"));
            };
            self.history
                .applied(id, &entry)
                .map_err(|v| v.to_string())?;
        }
        self.applied[slot] = Some((id, raft.applied_index()));
        Ok(())
    }
}

impl<S: Service> Invariants for RaftInvariants<S> {
    fn check(&mut self, nodes: &[Option<&dyn Any>]) -> Result<(), String> {
        if self.applied.len() < nodes.len() {
            self.applied.resize(nodes.len(), None);
        }
        let mut views = Vec::with_capacity(nodes.len());
        let mut slots = Vec::with_capacity(nodes.len());
        for (slot, node) in nodes.iter().enumerate() {
            let raft = node
                .and_then(|m| m.downcast_ref::<RaftMachine<S>>())
                .and_then(RaftMachine::raft);
            match raft {
                Some(raft) => {
                    views.push(View::<S>(raft));
                    slots.push(slot);
                }
                None => {
                    if let Some((id, _)) = self.applied[slot].take() {
                        self.history.restarted(id);
                    }
                }
            }
        }
        self.history.observe(&views).map_err(|v| v.to_string())?;
        for (slot, view) in slots.into_iter().zip(&views) {
            self.applied(slot, view.0)?;
        }
        Ok(())
    }
}
