//! The Raft programs as a cluster in one test: service, routing, rounds, faults.

mod cluster;
mod faults;

mod serving;
mod snapshots;
