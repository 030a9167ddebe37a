//! glomers shell: the Maelstrom protocol, the node runtime and the challenge binaries.

pub mod broadcast;
pub mod kafka;
pub mod txn;
