#![no_std]
//! glomers core crate: the transaction applier of the `txn-rw-register` workload
//! (challenges 6a–6c), sans-IO.
//!
//! # Pieces
//!
//! - [`MicroOp`]: `["r", k, v|null]` / `["w", k, v]`, serde-compatible with Maelstrom.
//! - [`Stamp`] and [`LamportClock`]: totally ordered Lamport stamps with a node-id tie-break.
//! - [`RegisterMap`] (`alloc`): a `BTreeMap` register store. [`RegisterMap::apply`] runs a
//!   transaction and returns a [`Pending`] transaction that is published with
//!   [`Pending::commit`] (yielding [`Applied`]) or discarded with [`Pending::abort`].
//!   [`RegisterMap::merge`] folds in a replicated [`WriteSet`].
//! - [`BoundedStore`]: the same store without allocation over `heapless::FnvIndexMap`,
//!   refusing with [`Full`] and leaving its state unchanged when it cannot take a write set.
//!
//! # Isolation
//!
//! A transaction's writes are buffered in the transaction and never touch the store before
//! commit. Only the *final* write of each key is kept in the buffer, so the published
//! [`WriteSet`] never contains an intermediate value (G1b is impossible) and an aborted
//! transaction leaves no trace (G1a is impossible). A read first consults the transaction's
//! own buffer, so a transaction sees its own earlier writes (Elle's *internal* consistency),
//! and otherwise the committed store. This satisfies read-committed and hence also
//! read-uncommitted; see [`Isolation`].
//!
//! # Convergence
//!
//! Every store value carries the [`Stamp`] of the write set that wrote it. Publishing a
//! write set, locally or by [`RegisterMap::merge`], replaces a key's version only when
//! `(stamp, value)` is larger than the stored `(stamp, value)`: a per-key join in a total
//! order. Hence merging is idempotent, commutative and associative, and replicas that have
//! seen the same write sets hold identical states whatever the delivery order or
//! duplication. The value takes part in the order only to break ties between two distinct
//! write sets carrying the same stamp, which a [`LamportClock`] never produces before
//! saturating.

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod bounded;
mod engine;
#[cfg(feature = "alloc")]
mod map;
mod op;
mod stamp;

pub use bounded::BoundedStore;
pub use engine::{Full, Versioned};
#[cfg(feature = "alloc")]
pub use map::{Applied, Pending, RegisterMap, WriteSet};
pub use op::{Isolation, MicroOp};
pub use stamp::{LamportClock, Stamp};
