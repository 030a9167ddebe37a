//! glomers shell: the challenge binaries and the node logic behind them.
//!
//! Every node is a sans-IO state machine on the node contract of `glomers-node`
//! ([`glomers_node::Machine`]: messages and `now` in; replies, messages and the next
//! wake-up deadline out). Every binary runs it the same way, on [`driver::run`]: one thread
//! reads stdin into buffers of whole lines ([`stdio`]), the machine thread hands each line
//! to the node contract's [`glomers_node::Runtime`] (one JSON read path, `init`, errors 10
//! and 12, one writer for every output line) and sleeps until the next line or the
//! machine's deadline. A node that calls a service or a peer and waits keeps the call in a
//! [`glomers_node::Calls`] table: one RPC mechanism, deadlines driven by `now`. The harness
//! hosts the very same machines in its simulator, through [`nodes`].
//!
//! - [`driver`], [`stdio`], [`logging`]: the process runtime (stderr logs, filter from
//!   `GLOMERS_LOG`).
//! - [`store`]: the file store of a durable node's state (segmented logs, atomic values,
//!   group commit, recovery, retention) on the segment format of `glomers-segment`.
//! - [`kv`]: the bodies of Maelstrom's `lin-kv`/`seq-kv`/`lww-kv` services.
//! - [`durable`]: records kept across a kill (JSON, read back without panicking) and
//!   node-life numbers, shared by the nodes that keep state.
//! - [`replica`]: the replicator shared by the kafka and txn nodes (origin log,
//!   acknowledged cursors, resends through the core retry ring).
//! - [`crdt`]: delta-state gossip of a CRDT, shared by the g-counter (CRDT mode),
//!   pn-counter and g-set nodes.
//! - Node logic: [`unique`], [`counter`], [`crdt`], [`broadcast`], [`kafka`], [`txn`],
//!   [`echo`]; [`raft`]: `lin-kv` and `txn-list-append` on the core's Raft.
//! - [`invariants`]: cluster-wide properties a host that runs every node checks after each
//!   step (the Raft programs offer Raft's safety properties).
//! - [`nodes`]: every binary's machine by name, with its command-line flags, for the
//!   binaries and for the harness's simulator.
//!
//! ```no_run
//! use glomers_node::{Incoming, Machine, Outbox, Runtime, Start, Time};
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
//!     fn on_message(&mut self, _now: Time, msg: Incoming<In>, out: &mut Outbox<Out>) {
//!         let In::Echo { echo } = msg.body;
//!         out.reply(&msg.origin, Out::EchoOk { echo });
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     glomers_shell::logging::init();
//!     glomers_shell::driver::run(|boot| Box::new(Runtime::new(|_: Start<'_>| Echo, boot)))
//! }
//! ```

pub mod driver;
pub mod durable;
pub mod kv;
pub mod logging;
pub mod stdio;
pub mod store;

pub mod broadcast;
pub mod counter;
pub mod crdt;
pub mod echo;
pub mod invariants;
pub mod kafka;
pub mod nodes;
pub mod raft;
pub mod replica;
pub mod txn;
pub mod unique;
