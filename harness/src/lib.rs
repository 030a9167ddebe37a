//! glomers harness: a Maelstrom-compatible test bench.
//!
//! Spawns node binaries, simulates the network, serves the KV services, drives each
//! workload and checks the history as Maelstrom does.

pub mod checker;
pub mod checkers;
pub mod history;
pub mod sim;
pub mod workload;
