//! Grow-only counter node logic (challenge 4), in two designs selected at start-up:
//!
//! - [`kv`]: on `seq-kv`, one key per node written only by its owner, reads fenced by a
//!   unique write so that final reads are exact despite stale reads (the default).
//! - [`crdt`]: no store at all; a state-based G-counter CRDT gossiped between nodes
//!   ([`crate::crdt`]), one slot per node life.
//!
//! Both speak the workload's messages from [`wire`].

pub mod crdt;
pub mod kv;
pub mod wire;

/// Which design a counter node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Per-node keys in `seq-kv` ([`kv`]).
    Kv,
    /// Gossiped CRDT ([`crdt`]).
    Crdt,
}

/// Environment variable that selects the mode (`kv` or `crdt`) when no flag does.
pub const MODE_ENV: &str = "GLOMERS_GCOUNTER";

impl std::str::FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kv" | "seq-kv" => Ok(Self::Kv),
            "crdt" => Ok(Self::Crdt),
            other => Err(UnknownMode(other.to_owned())),
        }
    }
}

/// A mode name that is neither `kv` nor `crdt`.
#[derive(Debug, thiserror::Error)]
#[error("unknown counter mode `{0}` (expected `kv` or `crdt`)")]
pub struct UnknownMode(pub String);
