//! glomers-retry-ring: bounded bookkeeping for the reliable-send path.
//!
//! * [`RetryRing`]: a fixed-capacity set of [`Pending`] deliveries ordered by due time
//!   (earliest first); the caller pops what is due, resends it and reschedules it.
//! * [`Backoff`]: the retry policy, capped exponential backoff with jitter drawn from a
//!   caller-supplied [`rand_core::RngCore`], and an explicit give-up after `max_attempts`.
//! * [`MpRing`]: a lock-free bounded multi-producer multi-consumer queue (sequence-numbered
//!   slots, after Dmitry Vyukov's bounded MPMC queue) for handing work from several threads
//!   to the one that owns a [`RetryRing`].
//! * [`handoff`] (`std`): a producer thread handing buffers to a consumer thread over two
//!   `MpRing`s with thread parking; the shell's stdin thread feeds the node's machine
//!   thread through it.
//!
//! Everything is sans-IO: the caller passes the time (a [`glomers_node::Time`] of its own
//! clock) and the randomness. Nothing allocates and nothing blocks; every structure has a
//! fixed capacity, and when it is full the item is handed back to the caller, who decides
//! (drop it, fail the request, or retry later).
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod backoff;
#[cfg(feature = "std")]
pub mod handoff;
mod mpring;
mod ring;

pub use backoff::{Backoff, Jitter, Rescheduled, Retry};
pub use mpring::MpRing;
pub use ring::{Pending, RetryRing};

#[cfg(test)]
mod tests;
