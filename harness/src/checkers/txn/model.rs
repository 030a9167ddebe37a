//! Consistency models, and which anomalies each prohibits.
//!
//! [`Model`] holds the six models the txn checkers know, with Elle's prohibitions
//! (`elle.consistency-model`, as of Elle 0.2, the version Maelstrom 0.2 runs), restricted
//! to the anomaly types reported here. [`ConsistencyModel`] is the subset the
//! rw-register checker accepts; its prohibitions are those of the same [`Model`].
//!
//! Prohibitions, weakest model first (each also prohibits what the models it implies do):
//!
//! | model | adds |
//! |---|---|
//! | read-uncommitted (PL-1) | G0, cyclic-versions, duplicate-elements, garbage-read, reply-mismatch |
//! | read-committed (PL-2) | G1a, G1b, G1c, future-read, incompatible-order, dirty-update |
//! | repeatable-read (PL-2.99) | G-single, G-nonadjacent, G2-item, lost-update |
//! | snapshot-isolation (PL-SI) | G-single, G-nonadjacent, lost-update, internal (not G2-item) |
//! | serializable (PL-3) | everything repeatable-read and snapshot-isolation do |
//! | strict-serializable (PL-SS) | the `-process` and `-realtime` variants |
//!
//! garbage-read and reply-mismatch are not Elle's: no execution of the recorded txns can
//! produce them, so every model prohibits them.

use super::anomaly::AnomalyType;
use std::fmt;
use std::str::FromStr;

/// A consistency model the list-append checker checks (and whose prohibitions the
/// rw-register checker uses for its subset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    /// Adya PL-1.
    ReadUncommitted,
    /// Adya PL-2.
    ReadCommitted,
    /// Adya PL-2.99.
    RepeatableRead,
    /// Adya PL-SI (Elle's generalised snapshot isolation).
    SnapshotIsolation,
    /// Adya PL-3 (conflict serializability).
    Serializable,
    /// Adya PL-SS.
    StrictSerializable,
}

/// A consistency model the rw-register checker can check.
///
/// Ordered from weakest to strongest: each model prohibits everything the previous ones
/// prohibit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsistencyModel {
    /// Adya PL-1: no G0 (and no impossible version orders).
    ReadUncommitted,
    /// Adya PL-2: additionally no G1a, G1b, G1c.
    ReadCommitted,
    /// Adya PL-3 (conflict serializability): additionally no G-single, G2-item, and
    /// internally consistent txns.
    Serializable,
    /// Adya PL-SS: additionally no cycles closed by real-time order.
    StrictSerializable,
}

/// Why a consistency-model name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not a model name Elle knows.
    #[error("unknown consistency model {0:?}")]
    Unknown(String),
    /// A model Elle knows but this checker does not check.
    #[error("consistency model {0:?} is not supported by this checker")]
    Unsupported(String),
}

/// Model names Elle accepts that no checker here implements.
const ELLE_OTHER_MODELS: &[&str] = &[
    "causal-cerone",
    "consistent-view",
    "PL-2+",
    "cursor-stability",
    "PL-CS",
    "forward-consistent-view",
    "PL-FCV",
    "monotonic-atomic-view",
    "monotonic-snapshot-read",
    "PL-MSR",
    "monotonic-view",
    "PL-2L",
    "parallel-snapshot-isolation",
    "prefix",
    "read-atomic",
    "ROLA",
    "session-serializable",
    "1SR",
    "strong-session-serializable",
    "strong-session-snapshot-isolation",
    "strong-snapshot-isolation",
    "update-serializable",
    "PL-3U",
    "view-serializable",
    "strong-session-read-uncommitted",
    "strong-session-read-committed",
    "strong-read-uncommitted",
    "strong-read-committed",
    "strong-session-PL-1",
    "strong-session-PL-2",
    "strong-PL-1",
    "strong-PL-2",
    "linearizable",
    "sequential",
    "causal",
    "writes-follow-reads",
    "PRAM",
    "monotonic-reads",
    "monotonic-writes",
    "read-your-writes",
];

impl FromStr for Model {
    type Err = ModelError;

    /// Accepts Elle's friendly names and their canonical/alias names (`PL-1`, `PL-2`,
    /// `PL-2.99`, `PL-SI`, `PL-3`, `conflict-serializable`, `PL-SS`,
    /// `strong-serializable`), with or without a leading `:`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().trim_start_matches(':');
        Ok(match name {
            "read-uncommitted" | "PL-1" => Model::ReadUncommitted,
            "read-committed" | "PL-2" => Model::ReadCommitted,
            "repeatable-read" | "PL-2.99" => Model::RepeatableRead,
            "snapshot-isolation" | "PL-SI" => Model::SnapshotIsolation,
            "serializable" | "conflict-serializable" | "PL-3" => Model::Serializable,
            "strict-serializable" | "strong-serializable" | "PL-SS" => Model::StrictSerializable,
            other if ELLE_OTHER_MODELS.contains(&other) => {
                return Err(ModelError::Unsupported(other.to_string()))
            }
            other => return Err(ModelError::Unknown(other.to_string())),
        })
    }
}

impl Model {
    /// All models, each after every model it implies.
    pub const ALL: [Model; 6] = [
        Model::ReadUncommitted,
        Model::ReadCommitted,
        Model::RepeatableRead,
        Model::SnapshotIsolation,
        Model::Serializable,
        Model::StrictSerializable,
    ];

    /// Elle's friendly name, as Maelstrom's `--consistency-models` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::ReadUncommitted => "read-uncommitted",
            Model::ReadCommitted => "read-committed",
            Model::RepeatableRead => "repeatable-read",
            Model::SnapshotIsolation => "snapshot-isolation",
            Model::Serializable => "serializable",
            Model::StrictSerializable => "strict-serializable",
        }
    }

    /// Whether every history this model allows is also allowed by `other` (reflexive).
    pub fn implies(self, other: Model) -> bool {
        use Model::*;
        match self {
            StrictSerializable => true,
            Serializable => other != StrictSerializable,
            RepeatableRead => matches!(other, RepeatableRead | ReadCommitted | ReadUncommitted),
            SnapshotIsolation => {
                matches!(other, SnapshotIsolation | ReadCommitted | ReadUncommitted)
            }
            ReadCommitted => matches!(other, ReadCommitted | ReadUncommitted),
            ReadUncommitted => other == ReadUncommitted,
        }
    }

    /// Whether this model prohibits `a`. Monotone along [`Model::implies`]. Types that
    /// make a result unknown or are reported separately are prohibited by no model.
    pub fn prohibits(self, a: AnomalyType) -> bool {
        use AnomalyType::*;
        use Model::*;
        let weakest: &[Model] = match a {
            G0 | CyclicVersions | DuplicateElements | GarbageRead | ReplyMismatch => {
                &[ReadUncommitted]
            }
            G1a | G1b | G1c | FutureRead | IncompatibleOrder | DirtyUpdate => &[ReadCommitted],
            GSingle | GNonadjacent | LostUpdate => &[RepeatableRead, SnapshotIsolation],
            G2Item => &[RepeatableRead],
            Internal => &[SnapshotIsolation],
            G0Process | G1cProcess | GSingleProcess | GNonadjacentProcess | G2ItemProcess
            | G0Realtime | G1cRealtime | GSingleRealtime | GNonadjacentRealtime
            | G2ItemRealtime => &[StrictSerializable],
            DuplicateWrites | EmptyTransactionGraph | CycleSearchTimeout => &[],
        };
        weakest.iter().any(|&w| self.implies(w))
    }

    /// Elle's `:not` and `:also-not` for the found `types`: the weakest models some found
    /// type rules out, and the other ruled-out models, each list in [`Model::ALL`] order.
    pub fn boundary(types: &[AnomalyType]) -> (Vec<Model>, Vec<Model>) {
        let impossible: Vec<Model> = Model::ALL
            .into_iter()
            .filter(|m| types.iter().any(|&t| m.prohibits(t)))
            .collect();
        impossible.iter().partition(|m| {
            !impossible
                .iter()
                .any(|&other| other != **m && m.implies(other))
        })
    }
}

impl From<ConsistencyModel> for Model {
    fn from(m: ConsistencyModel) -> Model {
        match m {
            ConsistencyModel::ReadUncommitted => Model::ReadUncommitted,
            ConsistencyModel::ReadCommitted => Model::ReadCommitted,
            ConsistencyModel::Serializable => Model::Serializable,
            ConsistencyModel::StrictSerializable => Model::StrictSerializable,
        }
    }
}

impl FromStr for ConsistencyModel {
    type Err = ModelError;

    /// Accepts the names [`Model`] does, except repeatable-read and snapshot-isolation,
    /// which the rw-register checker does not support.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.parse::<Model>()? {
            Model::ReadUncommitted => ConsistencyModel::ReadUncommitted,
            Model::ReadCommitted => ConsistencyModel::ReadCommitted,
            Model::Serializable => ConsistencyModel::Serializable,
            Model::StrictSerializable => ConsistencyModel::StrictSerializable,
            Model::RepeatableRead | Model::SnapshotIsolation => {
                return Err(ModelError::Unsupported(
                    s.trim().trim_start_matches(':').to_string(),
                ))
            }
        })
    }
}

impl ConsistencyModel {
    /// All supported models, weakest first.
    pub const ALL: [ConsistencyModel; 4] = [
        ConsistencyModel::ReadUncommitted,
        ConsistencyModel::ReadCommitted,
        ConsistencyModel::Serializable,
        ConsistencyModel::StrictSerializable,
    ];

    /// Elle's friendly name, as Maelstrom's `--consistency-models` takes it.
    pub fn as_str(self) -> &'static str {
        Model::from(self).as_str()
    }

    /// Whether this model prohibits `a`: as the same [`Model`] does.
    pub fn prohibits(self, a: AnomalyType) -> bool {
        Model::from(self).prohibits(a)
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AnomalyType::*;

    #[test]
    fn prohibitions_follow_implication() {
        let all = [
            G0,
            G1a,
            G1b,
            G1c,
            GSingle,
            GNonadjacent,
            G2Item,
            G0Process,
            G2ItemRealtime,
            Internal,
            LostUpdate,
            IncompatibleOrder,
            DuplicateElements,
            ReplyMismatch,
        ];
        for a in Model::ALL {
            for b in Model::ALL {
                if a.implies(b) {
                    for t in all {
                        assert!(!b.prohibits(t) || a.prohibits(t), "{a} {b} {t}");
                    }
                }
            }
        }
    }

    #[test]
    fn write_skew_separates_snapshot_isolation_from_repeatable_read() {
        let si = Model::SnapshotIsolation;
        let rr = Model::RepeatableRead;
        assert!(!si.prohibits(G2Item) && rr.prohibits(G2Item));
        assert!(si.prohibits(Internal) && !rr.prohibits(Internal));
        assert!(si.prohibits(GSingle) && rr.prohibits(GSingle));
        assert!(!Model::Serializable.prohibits(GSingleRealtime));
        assert!(Model::StrictSerializable.prohibits(G0Process));
        assert!(!Model::ReadUncommitted.prohibits(IncompatibleOrder));
        let (not, also) = Model::boundary(&[G2Item]);
        assert_eq!(not, vec![Model::RepeatableRead]);
        assert_eq!(also, vec![Model::Serializable, Model::StrictSerializable]);
        let (not, _) = Model::boundary(&[GSingle]);
        assert_eq!(not, vec![Model::RepeatableRead, Model::SnapshotIsolation]);
    }

    #[test]
    fn names_and_aliases() {
        for m in Model::ALL {
            assert_eq!(m.as_str().parse(), Ok(m));
        }
        assert_eq!("PL-SI".parse(), Ok(Model::SnapshotIsolation));
        assert_eq!(":PL-2.99".parse(), Ok(Model::RepeatableRead));
        assert_eq!("strong-serializable".parse(), Ok(Model::StrictSerializable));
        assert_eq!(
            "prefix".parse::<Model>(),
            Err(ModelError::Unsupported("prefix".into()))
        );
        assert!("nope".parse::<Model>().is_err());
    }
}
