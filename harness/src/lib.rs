//! glomers harness: a Maelstrom-compatible test bench.
//!
//! Spawns node binaries, simulates the network, serves the KV services, drives each
//! workload and checks the history as Maelstrom does.

pub mod app;
pub mod challenges;
pub mod checker;
pub mod checkers;
pub mod cli;
pub mod crdt_frontier;
pub mod frontier;
pub mod history;
pub mod html;
pub mod journal;
pub mod node_memory;
pub mod plots;
pub mod report;
pub mod runner;
pub mod serve;
pub mod sim;
pub mod sweep;
pub mod workload;
pub mod world;
