//! CRDT nodes: a state-based CRDT per node, replicated by delta-state gossip
//! ([`Gossip`]). Three nodes share it: the g-set ([`gset`]), the pn-counter
//! ([`pn_counter`]) and the g-counter's CRDT mode (`crate::counter::crdt`). Every client
//! request is answered at once from the local replica (totally available); replicas
//! converge once gossip gets through.
//!
//! # Design
//!
//! - **State.** A core CRDT ([`Crdt`]): `glomers_gset::VecGSet` (integers as runs),
//!   `glomers_gcounter::MapPnCounter`, `glomers_gcounter::MapGCounter`. Joins are
//!   commutative, associative and idempotent, so gossip may be lost, reordered or
//!   duplicated.
//! - **Slots.** A counter has one grow-only slot per node *life*, named `<node>.<life>`
//!   on the wire ([`slots`]): a node that restarted without its state counts in a new
//!   slot, so its new adds are never hidden under the maximum its peers hold of the old.
//! - **Known state.** Per peer, a node keeps `known`, a lower bound of the peer's state:
//!   the join of everything the peer sent and of every message of ours it acknowledged. It
//!   sends the peer only `state.delta_since(known)`, the part the peer lacks.
//! - **Acknowledgement by return delta.** Every message carries a `seq`, and `ack`: the
//!   highest `seq` received from the recipient. A message that carried data puts the
//!   recipient in debt of an acknowledgement, paid by its next message to the sender: the
//!   return delta of its next round (empty if it has nothing new). Once a message is
//!   acknowledged its payload joins `known`; a message with nothing in it asks for no
//!   acknowledgement, so the exchange ends.
//! - **Rounds.** A node sends on a grid of the replication period aligned to the wall
//!   clock, and only when it has something to send: data a peer lacks that is not already
//!   in flight to it, or an acknowledgement it owes. An idle node sets no deadline.
//! - **Topology.** Star (default): leaves send to the hub (the first node), the hub
//!   sends to every leaf a short phase ([`gossip::HUB_PHASE`]) after the leaves' round, so
//!   one round costs `2(n-1)` messages and new data reaches every node within a period
//!   and the phase. Mesh: every node sends to every peer that lacks data, or to at most
//!   `fanout` of them chosen at random per round (epidemic spread).
//! - **Loss.** A peer that leaves a message unacknowledged for `retransmit` (two periods
//!   and 100 ms) is *silent*: it gets what it lacks at most once per `retransmit` until it
//!   acknowledges. A leaf whose hub is silent sends new data to every peer directly, so a
//!   partition that cuts the hub off does not stop the others.
//! - **Full state.** The first message to each peer, until the peer acknowledges one, and
//!   then at most one message per [`gossip::HEARTBEAT`] carry the whole state (`full`):
//!   its receiver replaces what it knew of the sender with it, so a sender that restarted
//!   with less than before is sent again what it lost. A full state rides on a message
//!   that is sent anyway: it never causes a message of its own.
//!
//! # Kills
//!
//! - **With a data directory** (`--durable`): every local update writes the part it made
//!   (a counter's own slot, a set's element) before its `add_ok` leaves, and the node
//!   counts on in the slot it recovers ([`kept`]). At start it joins what it kept into its
//!   state and spreads it in its first round. Nothing acknowledged is lost.
//! - **Without one** (Maelstrom's wiping `kill`): a restarted node starts empty in a new
//!   slot. Its peers send back what they hold of its earlier lives (its first message is a
//!   full state, so they learn what it lacks). Lost: the updates its earlier life
//!   acknowledged that no peer received, at most one period's worth (more while it was cut
//!   off). Two wiped lives started within one millisecond share a slot.
//!
//! # Bounds
//!
//! - Peers: the node list of `init`. Per peer: `known` (at most the state) and at most
//!   [`gossip::WINDOW`] unacknowledged payloads (each at most the state). A node holds at
//!   most `1 + peers · (1 + WINDOW)` states' worth.
//! - States: a counter has at most one slot per node life, at most [`slots::MAX_SLOTS`]
//!   (slots of nodes outside the node list are dropped on receipt); a set at most [`MAX_SET_RUNS`] runs (an add that needs a new
//!   run beyond it is refused with error 14, a join beyond it is refused and logged).
//! - Messages: a request adds one reply; a round adds at most one message per peer.
//! - Disk: the log of updates holds at most [`kept::SNAPSHOT_EVERY`] records besides one
//!   snapshot of the state.

pub mod gossip;
pub mod gset;
pub mod kept;
mod lattice;
pub mod pn_counter;
pub mod slots;

pub use gossip::{Gossip, GossipConfig, GossipMsg, Topology};
pub use lattice::{pn_slot_part, slot_part, Counts, Crdt, PnCounts, SetFull, MAX_SET_RUNS};
pub use slots::Slots;
