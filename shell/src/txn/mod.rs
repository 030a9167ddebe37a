//! Totally-available transaction node logic (sans-IO): challenges 6a-6c.
//!
//! [`TxnNode`] is a pure state machine (inputs: time, sender, body; outputs: reply bodies
//! and replication batches); [`wire`] holds the JSON bodies it speaks. See [`node`] for the
//! design, why it is read-committed, and its messages-per-operation arithmetic.

pub mod machine;
pub mod node;
pub mod wire;

#[cfg(test)]
mod sim;

pub use machine::{TxnMachine, TxnOut};
pub use node::{Isolation, Stamp, TxnConfig, TxnNode, TxnNodeError, TxnRefusal};
pub use wire::{TxnBatch, TxnReply, TxnRequest};
