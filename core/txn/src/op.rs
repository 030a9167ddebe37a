//! Micro-operations and isolation levels.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One micro-operation of a transaction.
///
/// On the wire it is Maelstrom's three-element array: `["r", k, null]` for a read request,
/// `["r", k, v]` or `["r", k, null]` for a completed read (the value observed, `null` for a
/// missing key), and `["w", k, v]` for a write (echoed unchanged in the reply).
/// Deserialisation refuses anything else (other kinds, other lengths, a write with `null`)
/// with a serde error, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MicroOp<K = i64, V = i64> {
    /// Reads `key`. `value` is `None` in a request; after [`apply`](crate::RegisterMap::apply)
    /// it holds the value observed (`None` if the key has never been written).
    Read {
        /// The register read.
        key: K,
        /// The value observed, if any.
        value: Option<V>,
    },
    /// Writes `value` to `key`.
    Write {
        /// The register written.
        key: K,
        /// The value written.
        value: V,
    },
}

impl<K, V> MicroOp<K, V> {
    /// A read request of `key` (value not yet observed).
    pub const fn read(key: K) -> Self {
        Self::Read { key, value: None }
    }

    /// A write of `value` to `key`.
    pub const fn write(key: K, value: V) -> Self {
        Self::Write { key, value }
    }

    /// The key this micro-operation touches.
    pub const fn key(&self) -> &K {
        match self {
            Self::Read { key, .. } | Self::Write { key, .. } => key,
        }
    }

    /// True for a write.
    pub const fn is_write(&self) -> bool {
        matches!(self, Self::Write { .. })
    }
}

impl<K: Serialize, V: Serialize> Serialize for MicroOp<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(3)?;
        match self {
            Self::Read { key, value } => {
                tuple.serialize_element("r")?;
                tuple.serialize_element(key)?;
                tuple.serialize_element(value)?;
            }
            Self::Write { key, value } => {
                tuple.serialize_element("w")?;
                tuple.serialize_element(key)?;
                tuple.serialize_element(value)?;
            }
        }
        tuple.end()
    }
}

/// The first element of a micro-operation.
#[derive(Deserialize)]
enum Kind {
    #[serde(rename = "r")]
    Read,
    #[serde(rename = "w")]
    Write,
}

struct MicroOpVisitor<K, V>(PhantomData<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for MicroOpVisitor<K, V> {
    type Value = MicroOp<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a micro-operation ["r", key, value|null] or ["w", key, value]"#)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let kind: Kind = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let key: K = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let value: Option<V> = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(2, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(4, &self));
        }
        match (kind, value) {
            (Kind::Read, value) => Ok(MicroOp::Read { key, value }),
            (Kind::Write, Some(value)) => Ok(MicroOp::Write { key, value }),
            (Kind::Write, None) => Err(de::Error::invalid_value(
                de::Unexpected::Unit,
                &"a written value (a write cannot carry null)",
            )),
        }
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for MicroOp<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_tuple(3, MicroOpVisitor(PhantomData))
    }
}

/// The isolation level a transaction asks for.
///
/// Both levels are served by the same buffered execution (see the crate documentation):
/// writes are published only at commit and only each key's final write, so every
/// transaction gets read-committed, which implies read-uncommitted. A single applier runs
/// one transaction at a time (`&mut` store), so applying in place would offer no extra
/// concurrency; buffering also makes [`Pending::abort`](crate::Pending::abort) free. The
/// level is recorded in [`Applied`](crate::Applied) so callers can state and check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Isolation {
    /// Prohibits G0 (dirty writes): transactions appear atomic at every replica.
    ReadUncommitted,
    /// Additionally prohibits G1a (aborted reads), G1b (intermediate reads) and G1c.
    #[default]
    ReadCommitted,
}
