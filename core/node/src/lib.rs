//! glomers-node: the contract between a node's logic and whatever drives it.
//!
//! A node is a sans-IO state machine ([`Machine`]): messages and the time come in, messages
//! to send ([`Outbox`]) and the next wake-up deadline come out. A machine that waits on an
//! answer keeps its requests in a [`Calls`] table, whose deadlines are part of its own.
//! Neither the machine nor this crate reads a clock, sleeps or does I/O.
//!
//! With the `std` feature the crate also holds the wire: [`codec`] (reading Maelstrom's
//! JSON lines and writing replies) and [`Runtime`], which puts a machine behind the wire
//! (`init`, early messages, error 10/12, one writer for every output line). The shell
//! drives a [`Runtime`] from stdin and stdout in a process; the harness's simulator drives
//! the same [`Runtime`] on virtual time, through the object-safe [`LineMachine`].
//!
//! Without features only [`Time`] is built (`no_std`, no allocation); `alloc` adds the
//! contract (`no_std`), `std` (the default) the wire.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod time;
pub use time::Time;

#[cfg(feature = "alloc")]
mod calls;
#[cfg(feature = "alloc")]
mod error;
#[cfg(feature = "alloc")]
mod machine;
#[cfg(feature = "alloc")]
mod message;
#[cfg(feature = "alloc")]
mod outbox;
#[cfg(feature = "alloc")]
pub mod persist;

#[cfg(feature = "alloc")]
pub use calls::{Calls, CallsFull};
#[cfg(feature = "alloc")]
pub use error::{ErrorBody, ErrorCode, TaggedError};
#[cfg(feature = "alloc")]
pub use machine::{Machine, Start};
#[cfg(feature = "alloc")]
pub use message::{Incoming, NodeId, NodeInfo, Origin};
#[cfg(feature = "alloc")]
pub use outbox::{OutBody, Outbox, Outgoing};
#[cfg(feature = "alloc")]
pub use persist::{Recovered, Write};

#[cfg(feature = "std")]
pub mod codec;
#[cfg(feature = "std")]
mod runtime;
#[cfg(feature = "std")]
pub use runtime::{Boot, LineMachine, Runtime, EARLY_CAPACITY, HEARTBEAT, SHED_AFTER, SHED_WINDOW};
