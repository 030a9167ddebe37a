//! Totally-available transaction node logic (sans-IO): challenges 6a-6c.
//!
//! [`TxnNode`] is a pure state machine (inputs: time, sender, body; outputs: reply bodies
//! and replication batches) driven through [`TxnMachine`]; [`wire`] holds the JSON bodies
//! it speaks. See [`node`] for the design, why it is read-committed, and its
//! messages-per-operation arithmetic.

pub mod node;
pub mod wire;

pub use node::{Isolation, Stamp, TxnConfig, TxnNode, TxnNodeError, TxnRefusal};
pub use wire::{TxnBatch, TxnReply, TxnRequest};

/// A [`TxnNode`] on the node contract.
pub type TxnMachine = crate::replica::ReplicaMachine<TxnNode>;

/// Everything a txn node sends: replies to clients and batches to peers.
pub type TxnOut = crate::replica::ReplicaOut<TxnReply, TxnRequest>;
