//! Pure simulation models of Maelstrom's test bench: topologies, latency, the partition
//! nemesis and the other faults' draws, the built-in services, the network and the node
//! line format.
//!
//! Everything here is sans-IO: no clock, no threads, no I/O. Time is a
//! [`glomers_node::Time`] since the start of the run, passed in by the caller, and spans are
//! [`std::time::Duration`]s; randomness comes from a caller-owned seeded
//! [`rand::rngs::StdRng`], so a run is reproducible from its seed.

pub mod draw;
pub mod faults;
pub mod latency;
pub mod nemesis;
pub mod net;
pub mod services;
pub mod topology;
pub mod wire;

/// Whether `id` names a Maelstrom client: Maelstrom decides this purely by the first
/// character being `c` (clients get zero latency and count as client traffic).
pub fn is_client(id: &str) -> bool {
    id.starts_with('c')
}
