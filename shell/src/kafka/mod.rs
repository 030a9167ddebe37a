//! Kafka-style log node logic (sans-IO): challenges 5a-5c.
//!
//! [`KafkaNode`] is a pure state machine (inputs: time, sender, body; outputs: reply
//! bodies and replication batches) driven through [`KafkaMachine`]; [`wire`] holds the
//! JSON bodies it speaks. See [`node`] for the design and its messages-per-operation
//! arithmetic, and [`saved`] for what it keeps across a kill.

pub mod changes;
pub mod node;
pub mod retention;
pub mod saved;
pub mod wire;

pub use node::{KafkaConfig, KafkaNode, KafkaNodeError, KafkaRefusal};
pub use wire::{KafkaReply, KafkaRequest, ReplicateBatch};

/// A [`KafkaNode`] on the node contract.
pub type KafkaMachine = crate::replica::ReplicaMachine<KafkaNode>;

/// Everything a kafka node sends: replies to clients and batches to peers.
pub type KafkaOut = crate::replica::ReplicaOut<KafkaReply, KafkaRequest>;
