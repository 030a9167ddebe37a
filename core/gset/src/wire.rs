//! Serialized forms: a [`GSet`] as its `[lo, hi]` runs, [`Elements`] as its elements.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{BoundedRuns, Element, GSet, Run, Runs};

/// A set serialized as the flat list of its elements in increasing order, e.g. `[0, 1, 2,
/// 5]` (Maelstrom's `read_ok` value). It deserializes from a list of integers in any
/// order, duplicates allowed. Every element is written: a set holding a long run makes a
/// long list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Elements<S>(pub GSet<S>);

impl<S: Runs> Serialize for GSet<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        let mut seq = serializer.serialize_seq(Some(self.run_count()))?;
        for run in self.runs() {
            seq.serialize_element(&run)?;
        }
        seq.end()
    }
}

struct RunsVisitor<S>(PhantomData<S>);

impl<'de, S: Runs> Visitor<'de> for RunsVisitor<S> {
    type Value = GSet<S>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of [lo, hi] integer runs with lo <= hi")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut set = GSet::<S>::new();
        while let Some((lo, hi)) = seq.next_element::<Run>()? {
            if lo > hi {
                return Err(A::Error::custom("a run's lo exceeds its hi"));
            }
            add_run(&mut set, (lo, hi)).map_err(A::Error::custom)?;
        }
        Ok(set)
    }
}

/// Adds a run: appended when it lies past the last run with a gap (the form every
/// serialized set has), merged otherwise.
fn add_run<S: Runs>(set: &mut GSet<S>, run: Run) -> Result<(), crate::Error> {
    let last = set.runs.as_slice().last().copied();
    match last {
        Some((_, hi)) if run.0 <= hi.saturating_add(1) => {
            let mut one = GSet::<BoundedRuns<1>>::new();
            // Cannot fail: one run into an empty one-run storage.
            let _ = one.runs.push(run);
            set.merge(&one)
        }
        _ => set.runs.push(run),
    }
}

/// Deserializes a list of `[lo, hi]` runs in any order, overlapping or not (they are
/// joined); a run with `lo > hi`, or more runs than a bounded storage holds, is an error.
impl<'de, S: Runs> Deserialize<'de> for GSet<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(RunsVisitor(PhantomData))
    }
}

impl<S: Runs> Serialize for Elements<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        let len = usize::try_from(self.0.len()).ok();
        let mut seq = serializer.serialize_seq(len)?;
        for x in self.0.iter() {
            seq.serialize_element(&x)?;
        }
        seq.end()
    }
}

struct ElementsVisitor<S>(PhantomData<S>);

impl<'de, S: Runs> Visitor<'de> for ElementsVisitor<S> {
    type Value = Elements<S>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of integers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut set = GSet::<S>::new();
        while let Some(x) = seq.next_element::<Element>()? {
            set.insert(x).map_err(A::Error::custom)?;
        }
        Ok(Elements(set))
    }
}

/// Deserializes a list of integers; more runs than a bounded storage holds is an error.
impl<'de, S: Runs> Deserialize<'de> for Elements<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ElementsVisitor(PhantomData))
    }
}
