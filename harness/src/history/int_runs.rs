//! Integer arrays stored as runs of consecutive values: the compact in-memory form of the
//! integer arrays a history holds. A broadcast or g-set read returns every element added so
//! far, mostly a dense range, so a run's history would otherwise grow with reads × set size.
//!
//! An array `[x₀, x₁, …]` is cut into maximal runs of consecutive ascending integers
//! (`a, a+1, …, a+n−1`, in that order). Each run is two varints: the distance of its start
//! from the value just after the previous run's last element (from 0 for the first run),
//! zigzag-encoded, then `n − 1`. A sorted dense array takes a few bytes whatever its length;
//! an array in any other order a few bytes per run. Order and repeats are kept, so the array
//! is reproduced exactly, element by element.

use integer_encoding::VarInt;
use serde::ser::{Serialize, SerializeSeq, Serializer};
use serde_json::Value;

/// An array of `i64` stored as varint-encoded runs (see the module documentation).
///
/// Invariants: `bytes` holds exactly the runs written by [`Builder`], which decode back to
/// `len` elements; every run has at least one element and does not pass `i64::MAX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntRuns {
    bytes: Box<[u8]>,
    len: usize,
}

/// One run: `len` consecutive integers from `start` up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The first element.
    pub start: i64,
    /// How many elements (at least 1).
    pub len: u64,
}

impl Run {
    /// The last element.
    pub fn last(self) -> i64 {
        // In range by the invariant of `IntRuns`: a run never passes i64::MAX.
        self.start.wrapping_add(self.len.wrapping_sub(1) as i64)
    }
}

/// The integer a JSON value holds, if it is an integer that fits `i64`.
///
/// Exactly the numbers that come back unchanged from `Value::from(i64)`: serde_json stores
/// a non-negative integer as unsigned and a negative one as signed, whatever its source.
fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

impl IntRuns {
    /// The compact form of `items` if every one of them is an integer that fits `i64`.
    pub fn from_json(items: &[Value]) -> Option<IntRuns> {
        let mut b = Builder::default();
        for v in items {
            b.push(int_of(v)?);
        }
        Some(b.finish())
    }

    /// The compact form of these integers, in this order.
    pub fn from_ints(items: impl IntoIterator<Item = i64>) -> IntRuns {
        let mut b = Builder::default();
        for v in items {
            b.push(v);
        }
        b.finish()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of encoded runs (without the fixed-size header).
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    /// The runs, in array order.
    pub fn runs(&self) -> Runs<'_> {
        Runs {
            bytes: &self.bytes,
            expected: 0,
        }
    }

    /// The elements, in array order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.runs()
            .flat_map(|r| (0..r.len).map(move |k| r.start.wrapping_add(k as i64)))
    }

    /// The JSON array it stands for.
    pub fn to_json(&self) -> Value {
        Value::Array(self.iter().map(Value::from).collect())
    }
}

/// The runs of an [`IntRuns`], decoded one by one.
#[derive(Debug, Clone)]
pub struct Runs<'a> {
    bytes: &'a [u8],
    /// The value just after the previous run's last element.
    expected: i64,
}

impl Iterator for Runs<'_> {
    type Item = Run;

    fn next(&mut self) -> Option<Run> {
        // The bytes were written by `Builder`, so they decode; a truncated tail (which the
        // invariant rules out) ends the iteration rather than panicking.
        let (delta, a) = i64::decode_var(self.bytes)?;
        let (more, b) = u64::decode_var(self.bytes.get(a..)?)?;
        self.bytes = self.bytes.get(a + b..)?;
        let run = Run {
            start: self.expected.wrapping_add(delta),
            len: more.saturating_add(1),
        };
        self.expected = run.last().wrapping_add(1);
        Some(run)
    }
}

/// Writes runs as elements are pushed.
#[derive(Debug, Default)]
struct Builder {
    bytes: Vec<u8>,
    len: usize,
    /// The open run: first and last element.
    open: Option<(i64, i64)>,
    /// The value just after the last flushed run's last element.
    expected: i64,
}

impl Builder {
    fn push(&mut self, v: i64) {
        self.len += 1;
        match self.open {
            Some((first, last)) if last.checked_add(1) == Some(v) => self.open = Some((first, v)),
            Some(run) => {
                self.flush(run);
                self.open = Some((v, v));
            }
            None => self.open = Some((v, v)),
        }
    }

    fn flush(&mut self, (first, last): (i64, i64)) {
        let mut buf = [0u8; 10];
        let n = first.wrapping_sub(self.expected).encode_var(&mut buf);
        self.bytes.extend_from_slice(&buf[..n]);
        let n = (last.wrapping_sub(first) as u64).encode_var(&mut buf);
        self.bytes.extend_from_slice(&buf[..n]);
        self.expected = last.wrapping_add(1);
    }

    fn finish(mut self) -> IntRuns {
        if let Some(run) = self.open.take() {
            self.flush(run);
        }
        IntRuns {
            bytes: self.bytes.into_boxed_slice(),
            len: self.len,
        }
    }
}

impl Serialize for IntRuns {
    /// As the JSON array it stands for, byte for byte.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for v in self.iter() {
            seq.serialize_element(&v)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_dense_sorted_array_is_one_run() {
        let v: Vec<Value> = (0..10_000).map(Value::from).collect();
        let r = IntRuns::from_json(&v).expect("integers");
        assert_eq!(r.runs().count(), 1);
        assert!(r.encoded_len() <= 4, "{}", r.encoded_len());
        assert_eq!(r.to_json(), Value::Array(v));
    }

    #[test]
    fn order_repeats_and_extremes_are_kept() {
        let v = json!([
            5,
            6,
            7,
            3,
            3,
            -1,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            0,
            i64::MAX
        ]);
        let r = IntRuns::from_json(v.as_array().expect("array")).expect("integers");
        assert_eq!(r.to_json(), v);
        assert_eq!(r.len(), 11);
        let runs: Vec<Run> = r.runs().collect();
        assert_eq!(runs[0], Run { start: 5, len: 3 });
        assert_eq!(runs[3].last(), -1);
    }

    #[test]
    fn non_integers_are_refused() {
        for v in [
            json!([1, 2.0]),
            json!([1, "2"]),
            json!([u64::MAX]),
            json!([[1]]),
        ] {
            assert!(
                IntRuns::from_json(v.as_array().expect("array")).is_none(),
                "{v}"
            );
        }
    }

    proptest! {
        /// Any integer array comes back element for element, and serialises to the same
        /// JSON text as the array itself.
        #[test]
        fn round_trips_exactly(
            xs in proptest::collection::vec(
                prop_oneof![any::<i64>(), -50i64..50, Just(i64::MAX), Just(i64::MIN)],
                0..200,
            )
        ) {
            let v = Value::Array(xs.iter().copied().map(Value::from).collect());
            let r = IntRuns::from_json(v.as_array().expect("array")).expect("integers");
            prop_assert_eq!(r.iter().collect::<Vec<_>>(), xs.clone());
            prop_assert_eq!(&r, &IntRuns::from_ints(xs));
            prop_assert_eq!(r.to_json(), v.clone());
            prop_assert_eq!(
                serde_json::to_string(&r).expect("json"),
                serde_json::to_string(&v).expect("json")
            );
        }
    }
}
