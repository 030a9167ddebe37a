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
