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
#![cfg_attr(not(loom), no_std)]

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
