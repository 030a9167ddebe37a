//! Kafka-style log node logic (sans-IO): challenges 5a-5c.
//!
//! [`KafkaNode`] is a pure state machine (inputs: time, sender, body; outputs: reply
//! bodies and replication batches); [`wire`] holds the JSON bodies it speaks. See
//! [`node`] for the design and its messages-per-operation arithmetic.

pub mod changes;
pub mod machine;
pub mod node;
pub mod wire;

#[cfg(test)]
mod sim;

pub use machine::{KafkaMachine, KafkaOut};
pub use node::{KafkaConfig, KafkaNode, KafkaNodeError, KafkaRefusal};
pub use wire::{KafkaReply, KafkaRequest, ReplicateBatch};
