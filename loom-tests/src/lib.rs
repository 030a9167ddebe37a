//! loom models of the glomers core's lock-free primitives.
//!
//! The models live in `tests/` (one file per primitive: `retry_ring.rs` for the `MpRing`
//! queue, `handoff.rs` for the buffer handoff built on it) and exist only under
//! `--cfg loom`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p loom-tests --release
//! ```
//!
//! Under that flag the core crates take their atomics and cells from `glomers-sync`, which
//! then re-exports loom's, so the models check the real code, not a copy. Without the flag
//! this crate and its tests compile to nothing (a normal `cargo test --workspace` runs no
//! model).
//!
//! This library holds what the model files share: [`explore`], which runs a model under a
//! bounded number of preemptions and reports how many executions it explored, and
//! [`Ledger`] / [`Tracked`], which check that every value moved through a structure is
//! dropped exactly once.
//!
//! Every model also carries a deliberately broken twin (a test-only mutant in the same file,
//! marked `#[should_panic]`), so the suite fails if loom ever stops finding the bug.
#![cfg_attr(not(loom), no_std)]

#[cfg(loom)]
mod support;

#[cfg(loom)]
pub use support::{explore, Ledger, Tracked, DEFAULT_PREEMPTION_BOUND};
