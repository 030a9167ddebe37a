//! Unique-id node logic (challenge 2): every id is minted locally, with no server message,
//! so the node is totally available under partitions.
//!
//! Ids come from an [`IdSource`] (in the binary, the core flake generator: wall-clock
//! milliseconds, node index and a per-millisecond sequence packed into a `u64`). Uniqueness:
//! across nodes by the node-index field, within a node by the strictly increasing
//! (time, sequence) pair, and across restarts of the same node by the time field, since a
//! restarted node starts at a later wall-clock millisecond than any id it minted before.
//! Ids are replied as JSON integers (`u64`), so the checker compares them as numbers.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorBody, ErrorCode};
use crate::machine::{Machine, Outbox};
use crate::protocol::Incoming;

/// Something that mints ids unique across the cluster and across restarts.
pub trait IdSource {
    /// Why no id could be minted right now (e.g. the sequence for this millisecond is spent).
    type Error: std::fmt::Display;

    /// A fresh id at wall-clock time `unix_ms`.
    fn next_id(&mut self, unix_ms: u64) -> Result<u64, Self::Error>;
}

/// Requests the unique-id node accepts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UniqueIn {
    /// Mint an id.
    Generate,
}

/// Replies the unique-id node sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UniqueOut {
    /// A fresh id, as a JSON integer.
    GenerateOk {
        /// The id.
        id: u64,
    },
}

/// The unique-id state machine.
#[derive(Debug)]
pub struct UniqueIds<S> {
    source: S,
    /// Wall-clock milliseconds at the driver's time zero; `now_ms` is added to it.
    epoch_ms: u64,
}

impl<S: IdSource> UniqueIds<S> {
    /// A node minting from `source`; `epoch_ms` is the wall-clock time (Unix milliseconds)
    /// at which the driver's monotonic `now_ms` was 0.
    pub fn new(source: S, epoch_ms: u64) -> Self {
        Self { source, epoch_ms }
    }
}

impl<S: IdSource> Machine for UniqueIds<S> {
    type In = UniqueIn;
    type Out = UniqueOut;

    fn on_message(&mut self, now_ms: u64, msg: Incoming<UniqueIn>, out: &mut Outbox<UniqueOut>) {
        match msg.body {
            UniqueIn::Generate => {
                match self.source.next_id(self.epoch_ms.saturating_add(now_ms)) {
                    Ok(id) => out.reply(&msg.origin, UniqueOut::GenerateOk { id }),
                    Err(e) => {
                        tracing::warn!(error = %e, "no id available");
                        // Definite: no id was handed out.
                        out.reply_error(
                            &msg.origin,
                            ErrorBody::new(ErrorCode::TemporarilyUnavailable, e.to_string()),
                        );
                    }
                }
            }
        }
    }
}

/// Wall-clock flake ids: `[0 | 41 bits of milliseconds since 2024-01-01 UTC | 10 bits node
/// index | 12 bits sequence]`.
///
/// The node's own minting state is only the last (millisecond, sequence) pair; ids from one
/// source strictly increase. When the wall clock goes backwards the source keeps minting in
/// its last millisecond; when a millisecond's 4096 sequence numbers are spent it refuses
/// (no borrowing from the future, so a restarted node, which starts at a later wall-clock
/// millisecond, can never repeat an id).
///
/// This is the shell's own generator until the core flake crate provides one with the same
/// layout; [`IdSource`] keeps the node logic independent of which is used.
#[derive(Clone, Debug)]
pub struct ClockIds {
    node: u64,
    last_ms: u64,
    seq: u64,
    started: bool,
}

/// Unix milliseconds of the id epoch, 2024-01-01T00:00:00Z.
pub const ID_EPOCH_UNIX_MS: u64 = 1_704_067_200_000;
/// Bits of the node-index field.
pub const NODE_BITS: u32 = 10;
/// Bits of the sequence field.
pub const SEQ_BITS: u32 = 12;
/// Bits of the time field.
pub const TIME_BITS: u32 = 41;

/// Why [`ClockIds`] could not mint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClockIdError {
    /// Every sequence number of the current millisecond is used.
    #[error("sequence exhausted for this millisecond")]
    SequenceExhausted,
    /// The clock is before the id epoch or past the 41-bit range.
    #[error("clock outside the id range")]
    ClockOutOfRange,
}

/// Why a node id cannot become a node index.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("node `{0}` has no index below 1024")]
pub struct NoNodeIndex(pub String);

/// The 10-bit index of node `id` among `ids`: `N` when every id has the form `nN` with
/// `N < 1024` (Maelstrom's naming, stable whatever the list order), otherwise the position of
/// `id` in `ids`. Either way distinct nodes of one test get distinct indexes.
pub fn node_index(id: &str, ids: &[String]) -> Result<NodeIndex, NoNodeIndex> {
    fn parse(x: &str) -> Option<u64> {
        x.strip_prefix('n')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok())
            .filter(|n| *n < (1 << NODE_BITS))
    }
    let all_numbered = ids.iter().all(|x| parse(x).is_some());
    let idx = if all_numbered {
        parse(id)
    } else {
        ids.iter().position(|x| x == id).map(|p| p as u64)
    };
    idx.and_then(NodeIndex::new)
        .ok_or_else(|| NoNodeIndex(id.to_owned()))
}

/// A node index that fits the 10-bit field (below 1024).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeIndex(u16);

impl NodeIndex {
    /// Index 0.
    pub const MIN: Self = Self(0);

    /// `Some` when `i < 1024`.
    pub fn new(i: u64) -> Option<Self> {
        u16::try_from(i)
            .ok()
            .filter(|v| u64::from(*v) < (1 << NODE_BITS))
            .map(Self)
    }

    /// The index as a number.
    pub fn get(self) -> u64 {
        u64::from(self.0)
    }
}

impl ClockIds {
    /// A generator for node `node`.
    pub fn new(node: NodeIndex) -> Self {
        Self {
            node: node.get(),
            last_ms: 0,
            seq: 0,
            started: false,
        }
    }

    /// Splits an id into (milliseconds since the id epoch, node index, sequence).
    pub fn parts(id: u64) -> (u64, u64, u64) {
        (
            id >> (NODE_BITS + SEQ_BITS),
            (id >> SEQ_BITS) & ((1 << NODE_BITS) - 1),
            id & ((1 << SEQ_BITS) - 1),
        )
    }
}

impl IdSource for ClockIds {
    type Error = ClockIdError;

    fn next_id(&mut self, unix_ms: u64) -> Result<u64, ClockIdError> {
        let ms = unix_ms
            .checked_sub(ID_EPOCH_UNIX_MS)
            .filter(|m| *m < (1 << TIME_BITS))
            .ok_or(ClockIdError::ClockOutOfRange)?;
        if !self.started || ms > self.last_ms {
            self.started = true;
            self.last_ms = ms;
            self.seq = 0;
        } else if self.seq + 1 < (1 << SEQ_BITS) {
            self.seq += 1;
        } else {
            return Err(ClockIdError::SequenceExhausted);
        }
        Ok((self.last_ms << (NODE_BITS + SEQ_BITS)) | (self.node << SEQ_BITS) | self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Origin;

    /// A source that runs out after `left` ids.
    struct Counting {
        next: u64,
        left: u32,
    }

    impl IdSource for Counting {
        type Error = &'static str;
        fn next_id(&mut self, unix_ms: u64) -> Result<u64, &'static str> {
            if self.left == 0 {
                return Err("spent");
            }
            self.left -= 1;
            self.next += 1;
            Ok(unix_ms * 1000 + self.next)
        }
    }

    const T0: u64 = ID_EPOCH_UNIX_MS + 1_000_000;

    fn idx(i: u64) -> NodeIndex {
        NodeIndex::new(i).unwrap()
    }

    #[test]
    fn clock_ids_increase_and_carry_node_and_sequence() {
        let mut g = ClockIds::new(idx(7));
        let a = g.next_id(T0).unwrap();
        let b = g.next_id(T0).unwrap();
        let c = g.next_id(T0 + 1).unwrap();
        let back = g.next_id(T0 - 50).unwrap();
        assert!(a < b && b < c && c < back);
        assert_eq!(ClockIds::parts(a), (1_000_000, 7, 0));
        assert_eq!(ClockIds::parts(b), (1_000_000, 7, 1));
        assert_eq!(ClockIds::parts(c), (1_000_001, 7, 0));
        assert_eq!(
            ClockIds::parts(back),
            (1_000_001, 7, 1),
            "clock going back keeps the last ms"
        );
        assert!(a < (1 << 63), "fits a JSON-safe signed range too");
    }

    #[test]
    fn clock_ids_refuse_when_a_millisecond_is_spent() {
        let mut g = ClockIds::new(idx(1));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..4096 {
            assert!(seen.insert(g.next_id(T0).unwrap()));
        }
        assert_eq!(g.next_id(T0), Err(ClockIdError::SequenceExhausted));
        assert!(seen.insert(g.next_id(T0 + 1).unwrap()));
        assert_eq!(g.next_id(1), Err(ClockIdError::ClockOutOfRange));
    }

    #[test]
    fn distinct_nodes_and_restarts_never_collide() {
        let mut seen = std::collections::HashSet::new();
        for node in 0..4 {
            let mut g = ClockIds::new(idx(node));
            for i in 0..3000u64 {
                assert!(seen.insert(g.next_id(T0 + i / 1000).unwrap()));
            }
            // A restart starts at a later millisecond than the last id.
            let mut r = ClockIds::new(idx(node));
            for i in 0..3000u64 {
                assert!(seen.insert(r.next_id(T0 + 3 + i / 1000).unwrap()));
            }
        }
    }

    #[test]
    fn node_index_parsing() {
        let named = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let maelstrom = named(&["n3", "n0", "n1023"]);
        assert_eq!(node_index("n0", &maelstrom), Ok(idx(0)));
        assert_eq!(node_index("n3", &maelstrom), Ok(idx(3)));
        assert_eq!(node_index("n1023", &maelstrom), Ok(idx(1023)));
        assert!(
            node_index("n9", &maelstrom).is_ok(),
            "own id parses even if unlisted"
        );
        let mixed = named(&["n1", "alpha", "n1024"]);
        assert_eq!(
            node_index("n1", &mixed),
            Ok(idx(0)),
            "mixed names: positions"
        );
        assert_eq!(node_index("alpha", &mixed), Ok(idx(1)));
        assert_eq!(node_index("n1024", &mixed), Ok(idx(2)));
        assert!(node_index("ghost", &mixed).is_err());
        assert!(NodeIndex::new(1024).is_none());
        assert_eq!(NodeIndex::new(1023).map(NodeIndex::get), Some(1023));
    }

    #[test]
    fn replies_integer_ids_and_definite_errors_when_spent() {
        let mut m = UniqueIds::new(Counting { next: 0, left: 2 }, 1_000);
        let mut out = Outbox::new();
        for i in 1..=3 {
            let msg = Incoming {
                origin: Origin {
                    src: "c1".into(),
                    msg_id: Some(i),
                },
                in_reply_to: None,
                body: UniqueIn::Generate,
            };
            m.on_message(5, msg, &mut out);
        }
        let sent: Vec<_> = out.drain().collect();
        assert_eq!(
            sent[0].payload(),
            Some(&UniqueOut::GenerateOk { id: 1_005_001 })
        );
        assert!(sent[1].body_json().unwrap()["id"].is_u64());
        assert_eq!(
            sent[2].error().map(|e| e.code),
            Some(ErrorCode::TemporarilyUnavailable)
        );
        assert_eq!(sent[2].in_reply_to, Some(3));
    }
}
