//! glomers-benches: the same-run baselines, the process pipe driver, the allocation counter
//! and the table generator behind `BENCHMARKS.md`.
//!
//! The criterion benchmarks themselves live in `benches/` (`core`, `wire`, `ring`, `e2e`,
//! `linearizable`); `cargo bench -p glomers-benches` runs them. Every glomers figure is
//! paired with a baseline measured in the same process and run, because the machine the
//! figures come from is shared: only ratios taken in one run are meaningful there.
//!
//! - [`baseline`]: the designs common in published Gossip Glomers solutions, written once so
//!   the benchmarks and their tests use the same code.
//! - [`pipe`]: feeds newline-delimited JSON to a child process and counts its replies.
//! - [`alloc_count`]: a global allocator wrapper counting allocations and bytes.
//! - [`table`]: reads criterion's `estimates.json`/`benchmark.json` files and renders the
//!   markdown table with ratios and targets.
//! - [`rows`]: the rows of that table, each a glomers benchmark and its baseline.
//! - [`e2e_report`]: what the `e2e` bench records besides timings (allocations per
//!   message, reply checks, whether the previous runtime's `echo` was measured).
//! - [`clock`]: the precise and the coarse wall clock the id benchmarks read per id.
//! - [`paths`]: where the target directory, the `echo` binary and criterion's output are.
//! - [`lin_history`]: deterministic linearizable lin-kv histories for the checker's bench.

pub mod alloc_count;
pub mod baseline;
pub mod clock;
pub mod e2e_report;
pub mod lin_history;
pub mod paths;
pub mod pipe;
pub mod rows;
pub mod table;
