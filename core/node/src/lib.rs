//! glomers-node: the contract between a node's logic and whatever drives it.
//!
//! A node is a sans-IO state machine: messages and the time come in, messages to send and
//! the next wake-up deadline come out. The shell drives it from stdin/stdout in a process;
//! the harness's simulator drives it in-process on virtual time. Neither the machine nor
//! this crate reads a clock, sleeps, or does I/O.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod time;

pub use time::Time;
