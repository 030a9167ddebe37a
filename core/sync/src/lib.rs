//! The one synchronisation shim of the glomers core.
//!
//! Every lock-free structure in the core imports its atomics, cells and spin hints from
//! here and nowhere else. Normally these are `core`'s own types; under `--cfg loom` they
//! are loom's, so that the models in `loom-tests` explore every interleaving of the real
//! code rather than of a copy.
//!
//! Invariant: the API is the common subset of `core` and loom. [`UnsafeCell`] exposes only
//! loom's closure-based `with` / `with_mut` accessors so that code written against it
//! compiles (and is checked) in both worlds.
#![cfg_attr(not(any(loom, feature = "std")), no_std)]

#[cfg(not(loom))]
pub use core::sync::atomic;
#[cfg(loom)]
pub use loom::sync::atomic;

/// A spin-loop hint: `core::hint::spin_loop` normally; under loom a yield, which loom
/// requires so that a spinning thread lets the others progress.
#[inline]
pub fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Interior mutability with loom's access-tracking API.
#[cfg(loom)]
pub use loom::cell::UnsafeCell;

/// Interior mutability with loom's access-tracking API (plain `core` version).
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps a value.
    pub const fn new(data: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(data))
    }

    /// Calls `f` with a shared raw pointer to the value.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a mutable raw pointer to the value.
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub use loom::sync::Arc;
/// Shared ownership across threads: `std`'s `Arc`, or loom's (with the `std` feature).
#[cfg(all(feature = "std", not(loom)))]
pub use std::sync::Arc;

/// Threads and parking: `std`'s, or loom's (with the `std` feature).
///
/// loom has no clock, so under loom [`thread::park_timeout`] parks until unparked: a model
/// that relied on the timeout to make progress would deadlock, which loom reports. That is
/// the point: the models check that no wake-up is ever lost, so nothing may depend on a
/// timeout to recover one.
#[cfg(any(feature = "std", loom))]
pub mod thread {
    #[cfg(not(loom))]
    pub use std::thread::{current, park, park_timeout, spawn, yield_now, JoinHandle, Thread};

    #[cfg(loom)]
    pub use loom::thread::{current, park, spawn, yield_now, JoinHandle, Thread};

    /// Parks until unparked (loom has no time; see the module documentation).
    #[cfg(loom)]
    pub fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::park();
    }
}
