//! glomers shell: the Maelstrom protocol, the node runtime and the challenge binaries.
//!
//! A node is written in one of two styles, both on the same runtime (one stdin reader that
//! reads each line in one pass, one stdout writer task draining a bounded output buffer,
//! `init` answered by the runtime, bad input logged to stderr and answered with error 10/12
//! when it is a request):
//!
//! - [`node`]: async handlers. A [`node::Handler`] returns the reply to each request; it may
//!   call [`node::Node::rpc`] (per-node unique `msg_id`, per-call timeout, no leaked pending
//!   entries) and run periodic work with [`node::Node::spawn_every`]. A request runs inline
//!   until it first waits, then concurrently in its own task.
//! - [`machine`]: sans-IO state machines. A [`machine::Machine`] gets messages and ticks one
//!   at a time and fills an [`machine::Outbox`]; it is tested in-process with no I/O.
//!
//! Around them: [`protocol`] (envelopes, one-pass frames, typed bodies, error 10 vs 12),
//! [`error`] (Maelstrom error codes, definite or not), [`io`] (bounded line reader, the
//! bounded output buffer and its one writer), [`stdio`] (stdin read by a thread of its own),
//! [`inbox`] (`init` and early messages), [`rpc`] (`msg_id`s and pending calls),
//! [`kv`] (typed `lin-kv`/`seq-kv`/`lww-kv` clients), [`reliable`] (acknowledged resending
//! with backoff), [`replica`] (the machine adapter of nodes that replicate in batches on a
//! tick), [`logging`] (stderr only, filter from `GLOMERS_LOG`). Node logic for the
//! challenges: [`unique`], [`counter`], [`broadcast`], [`kafka`], [`txn`].
//!
//! Which style to pick: the machine style for anything hot or order-sensitive (no locks, one
//! task, deterministic tests); the handler style when a request must wait on other nodes or
//! services (RPC with timeouts).
//!
//! ```no_run
//! use glomers_shell::machine::{self, Machine, Outbox};
//! use glomers_shell::protocol::Incoming;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum In { Echo { echo: serde_json::Value } }
//!
//! #[derive(Serialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Out { EchoOk { echo: serde_json::Value } }
//!
//! struct Echo;
//!
//! impl Machine for Echo {
//!     type In = In;
//!     type Out = Out;
//!     fn on_message(&mut self, _now: u64, msg: Incoming<In>, out: &mut Outbox<Out>) {
//!         let In::Echo { echo } = msg.body;
//!         out.reply(&msg.origin, Out::EchoOk { echo });
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     glomers_shell::logging::init();
//!     machine::run(|_info, _now| Echo).await;
//! }
//! ```

pub mod counter;
pub mod error;
pub mod inbox;
pub mod io;
pub mod kv;
pub mod logging;
pub mod machine;
pub mod node;
pub mod protocol;
pub mod reliable;
pub mod replica;
pub mod rpc;
pub mod stdio;
pub mod unique;

pub mod broadcast;
pub mod kafka;
pub mod txn;
