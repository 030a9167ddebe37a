//! Unique-id node logic (challenge 2): every id is minted locally, with no server message,
//! so the node is totally available under partitions.
//!
//! Ids come from an [`IdSource`]; the binary uses the core flake generator
//! ([`glomers_flake::Flake`]: `[0 | 41 bits of logical milliseconds since 2024-01-01 UTC |
//! 10 bits node index | 12 bits sequence]`) with a lead bound of [`MAX_LEAD_MS`].
//! Uniqueness: across nodes by the node-index field ([`node_index`] gives distinct nodes of
//! one test distinct indexes), within a node because the generator's ids strictly increase,
//! and across restarts of the same node because a restarted generator starts at its first
//! clock reading, later than every logical millisecond the previous life issued as long as
//! that life led the wall clock by less than the time the node was down (logical time only
//! leads the clock after a clock step back or above 4096 ids per millisecond, and never by
//! more than [`MAX_LEAD_MS`]). Ids are replied as JSON integers (`u64`, below 2^63), so the
//! checker compares them as numbers. When the generator cannot issue (clock before 2024,
//! the lead bound reached, the 41-bit range spent) the request gets a definite error 11 and
//! no id is consumed.
//!
//! # Kills
//!
//! Without a data directory (Maelstrom's own `kill`) uniqueness across restarts rests on
//! the clock and the node bits, as above: a node that was down for longer than its lead
//! (at most [`MAX_LEAD_MS`], nothing at this workload's rates) and whose clock did not go
//! back cannot repeat an id. With one, it rests on nothing but the disk: the node keeps a
//! lease, a wall-clock millisecond above every id it may have issued ([`LEASE`]), written
//! before the first reply that needs it and renewed [`LEASE_AHEAD_MS`] ahead (one write a
//! second at most), and a restarted node issues from the lease it recovers on, whatever
//! its clock says and however fast it came back.

use glomers_flake::{Flake, FlakeError, NodeIndex};
use serde::{Deserialize, Serialize};

use crate::durable;
use glomers_node::{ErrorBody, ErrorCode, Incoming, Machine, Outbox, Recovered, Time};

/// How far the binary's generator may run ahead of the wall clock, in milliseconds: it
/// keeps minting through a clock step back of up to this much (and through bursts above
/// 4096 ids per millisecond), then refuses with error 11 until the clock catches up. A node
/// that restarts after being down longer than this can never repeat an id.
pub const MAX_LEAD_MS: u64 = 1_000;

/// The durable value of the id lease: a Unix millisecond above every id issued.
pub const LEASE: &str = "unique-ids-lease";

/// How far past what it needs a lease is taken, in milliseconds (one write per this much
/// time at most).
pub const LEASE_AHEAD_MS: u64 = 1_000;

/// Something that mints ids unique across the cluster and across restarts.
pub trait IdSource {
    /// Why no id could be minted right now.
    type Error: std::fmt::Display;

    /// A fresh id at wall-clock time `unix_ms`. On error no id is consumed.
    fn next_id(&mut self, unix_ms: u64) -> Result<u64, Self::Error>;
}

/// The core flake generator: strictly increasing ids carrying the node index.
impl IdSource for Flake {
    type Error = FlakeError;

    fn next_id(&mut self, unix_ms: u64) -> Result<u64, FlakeError> {
        Flake::next_id(self, unix_ms).map(|id| id.get())
    }
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
    /// The lease, when the node keeps one (see the module documentation).
    lease: Option<Lease>,
}

/// An id lease: ids are issued from `floor` on, and every id issued is below `kept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    floor: u64,
    kept: u64,
}

impl<S: IdSource> UniqueIds<S> {
    /// A node minting from `source`; `epoch_ms` is the wall-clock time (Unix milliseconds)
    /// at which the driver's monotonic `now_ms` was 0.
    pub fn new(source: S, epoch_ms: u64) -> Self {
        Self {
            source,
            epoch_ms,
            lease: None,
        }
    }

    /// This node keeping an id lease in its data directory, resuming from the one
    /// `recovered` holds (nothing changes without a data directory).
    pub fn with_lease(mut self, recovered: &Recovered) -> Self {
        if recovered.durable {
            let kept: u64 = durable::value(recovered, LEASE).unwrap_or(0);
            self.lease = Some(Lease { floor: kept, kept });
        }
        self
    }

    /// The clock reading to mint at: the wall clock, never below the lease's floor; queues
    /// a longer lease when the id could reach past the one kept.
    fn reading(&mut self, now: Time, out: &mut Outbox<UniqueOut>) -> u64 {
        let clock = self.epoch_ms.saturating_add(now.as_millis());
        let Some(lease) = self.lease.as_mut() else {
            return clock;
        };
        let reading = clock.max(lease.floor);
        // An id issued at `reading` lies below `reading + MAX_LEAD_MS + 1`.
        let needed = reading.saturating_add(MAX_LEAD_MS + 1);
        if needed > lease.kept {
            lease.kept = needed.saturating_add(LEASE_AHEAD_MS);
            out.put(LEASE, durable::encode(&lease.kept));
        }
        reading
    }
}

impl<S: IdSource> Machine for UniqueIds<S> {
    type In = UniqueIn;
    type Out = UniqueOut;

    fn on_message(&mut self, now: Time, msg: Incoming<UniqueIn>, out: &mut Outbox<UniqueOut>) {
        match msg.body {
            UniqueIn::Generate => {
                let reading = self.reading(now, out);
                match self.source.next_id(reading) {
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

/// Why a node id cannot become a node index.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("node `{0}` has no index below 1024")]
pub struct NoNodeIndex(pub String);

/// The 10-bit index of node `id` among `ids`: `N` when every id is a canonical Maelstrom
/// name `nN` with `N < 1024` ([`NodeIndex::parse`]; stable whatever the list order),
/// otherwise the position of `id` in `ids`. Either way distinct nodes of one test get
/// distinct indexes.
pub fn node_index(id: &str, ids: &[String]) -> Result<NodeIndex, NoNodeIndex> {
    let all_numbered = ids.iter().all(|x| NodeIndex::parse(x).is_ok());
    let index = if all_numbered {
        NodeIndex::parse(id).ok()
    } else {
        ids.iter()
            .position(|x| x == id)
            .and_then(|p| u16::try_from(p).ok())
            .and_then(|p| NodeIndex::new(p).ok())
    };
    index.ok_or_else(|| NoNodeIndex(id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_flake::{FlakeId, EPOCH_UNIX_MS, SEQ_PER_MS};
    use glomers_node::codec::body_value;
    use glomers_node::{Origin, Outgoing};
    use std::collections::HashSet;

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

    /// Wall clock of the tests' driver time zero.
    const T0: u64 = EPOCH_UNIX_MS + 1_000_000;

    fn idx(i: u16) -> NodeIndex {
        NodeIndex::new(i).unwrap()
    }

    fn generate(msg_id: u64) -> Incoming<UniqueIn> {
        Incoming {
            origin: Origin {
                src: "c1".into(),
                msg_id: Some(msg_id),
            },
            in_reply_to: None,
            body: UniqueIn::Generate,
        }
    }

    /// Sends `count` generate requests at driver time `now` and returns the replies.
    fn mint<S: IdSource>(m: &mut UniqueIds<S>, now: u64, count: u64) -> Vec<Outgoing<UniqueOut>> {
        let mut out = Outbox::new();
        for i in 0..count {
            m.on_message(Time::from_millis(now), generate(i + 1), &mut out);
        }
        out.drain().collect()
    }

    fn ids(replies: &[Outgoing<UniqueOut>]) -> Vec<u64> {
        replies
            .iter()
            .filter_map(|r| r.payload().map(|UniqueOut::GenerateOk { id }| *id))
            .collect()
    }

    #[test]
    fn flake_ids_increase_as_integers_and_carry_the_node() {
        let mut m = UniqueIds::new(Flake::with_max_lead(idx(7), MAX_LEAD_MS), T0);
        let mut all = Vec::new();
        for now in [0, 0, 1, 1, 5] {
            let replies = mint(&mut m, now, 3);
            for r in &replies {
                let body = body_value(r).unwrap();
                assert!(body["id"].is_u64(), "id is a JSON integer: {body}");
                assert!(body["id"].as_i64().is_some(), "fits a signed long too");
            }
            all.extend(ids(&replies));
        }
        assert_eq!(all.len(), 15);
        assert!(all.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        for id in &all {
            let parts = FlakeId::try_from(*id).unwrap().parts();
            assert_eq!(parts.node, idx(7));
            assert!(parts.unix_ms >= T0);
        }
    }

    #[test]
    fn distinct_nodes_and_restarts_never_collide() {
        let mut seen = HashSet::new();
        for node in 0..4 {
            // Same clock on every node: only the node field tells the ids apart.
            let mut m = UniqueIds::new(Flake::with_max_lead(idx(node), MAX_LEAD_MS), T0);
            for now in 0..3 {
                for id in ids(&mint(&mut m, now, 1500)) {
                    assert!(seen.insert(id), "duplicate {id} on node {node}");
                }
            }
            // A restart: a fresh generator whose clock is later than the last id's time.
            let mut r = UniqueIds::new(Flake::with_max_lead(idx(node), MAX_LEAD_MS), T0 + 3);
            for now in 0..3 {
                for id in ids(&mint(&mut r, now, 1500)) {
                    assert!(seen.insert(id), "restart repeated {id} on node {node}");
                }
            }
        }
        assert_eq!(seen.len(), 4 * 2 * 3 * 1500);
    }

    #[test]
    fn a_spent_generator_gives_definite_errors_and_consumes_nothing() {
        // No lead allowed: one millisecond holds exactly SEQ_PER_MS ids.
        let mut m = UniqueIds::new(Flake::with_max_lead(idx(1), 0), T0);
        let per_ms = u64::from(SEQ_PER_MS);
        let replies = mint(&mut m, 0, per_ms + 2);
        let minted = ids(&replies);
        assert_eq!(minted.len() as u64, per_ms);
        assert_eq!(minted.iter().collect::<HashSet<_>>().len() as u64, per_ms);
        for refused in &replies[minted.len()..] {
            let e = refused.error().expect("an error reply");
            assert_eq!(e.code, ErrorCode::TemporarilyUnavailable);
            assert!(e.is_definite());
            assert!(refused.in_reply_to.is_some());
        }
        // Once the clock moves on, minting resumes right after the last id.
        let next = ids(&mint(&mut m, 1, 1));
        assert_eq!(next.len(), 1);
        assert!(next[0] > *minted.last().unwrap());
        // A clock before the id epoch cannot issue either.
        let mut early = UniqueIds::new(Flake::new(idx(1)), 0);
        let r = mint(&mut early, 5, 1);
        assert_eq!(
            r[0].error().map(|e| e.code),
            Some(ErrorCode::TemporarilyUnavailable)
        );
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
        // `n07` is not canonical: it would collide with `n7`, so positions are used.
        let padded = named(&["n7", "n07"]);
        assert_ne!(node_index("n7", &padded), node_index("n07", &padded));
    }

    #[test]
    fn replies_integer_ids_and_definite_errors_when_spent() {
        let mut m = UniqueIds::new(Counting { next: 0, left: 2 }, 1_000);
        let sent = mint(&mut m, 5, 3);
        assert_eq!(
            sent[0].payload(),
            Some(&UniqueOut::GenerateOk { id: 1_005_001 })
        );
        assert!(body_value(&sent[1]).unwrap()["id"].is_u64());
        assert_eq!(
            sent[2].error().map(|e| e.code),
            Some(ErrorCode::TemporarilyUnavailable)
        );
        assert_eq!(sent[2].in_reply_to, Some(3));
    }

    #[test]
    fn a_kept_lease_never_repeats_an_id_after_a_fast_restart_or_a_clock_step_back() {
        let mut disk = Recovered {
            durable: true,
            ..Recovered::default()
        };
        let flake = || Flake::with_max_lead(idx(3), MAX_LEAD_MS);
        let mut m = UniqueIds::new(flake(), T0).with_lease(&disk);
        let mut out = Outbox::new();
        for i in 0..2000 {
            m.on_message(Time::from_millis(i / 10), generate(i + 1), &mut out);
        }
        let before = ids(&out.drain().collect::<Vec<_>>());
        let writes: Vec<_> = out.drain_writes().collect();
        assert_eq!(writes.len(), 1, "one lease write for 200 ms of ids");
        disk.apply(writes);
        // Started again at once, on a clock set back half a second.
        let mut again = UniqueIds::new(flake(), T0 - 500).with_lease(&disk);
        let after = ids(&mint(&mut again, 0, 2000));
        let seen: HashSet<u64> = before.iter().copied().collect();
        assert!(after.iter().all(|id| !seen.contains(id)), "no id repeated");
        // Without the lease the same restart repeats ids.
        let mut bare = UniqueIds::new(flake(), T0 - 500);
        let repeated = ids(&mint(&mut bare, 500, 2000));
        assert!(repeated.iter().any(|id| seen.contains(id)));
        // Without a data directory there is no lease to keep.
        let mut plain = UniqueIds::new(flake(), T0).with_lease(&Recovered::ephemeral());
        plain.on_message(Time::ZERO, generate(1), &mut out);
        assert!(out.writes().is_empty());
    }
}
