//! An operation's value as the history keeps it in memory: any JSON value, with arrays of
//! integers held as [`IntRuns`] so that a history's memory grows with its operations, not
//! with operations × the size of the sets they read.
//!
//! The compact form is invisible from outside: an [`OpValue`] serialises to exactly the JSON
//! text of the value it was made from, compares equal to it, and [`OpValue::json`] gives
//! the value back.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::int_runs::IntRuns;

/// An operation's value (see the module documentation).
///
/// Invariant: when made with `From<Value>`, an array whose elements are all integers that
/// fit `i64` is `Ints`; everything else is `Json`. Both variants of the same JSON value
/// compare equal.
#[derive(Debug, Clone)]
pub enum OpValue {
    /// Any JSON value.
    Json(Value),
    /// An array of integers, compactly.
    Ints(IntRuns),
}

impl Default for OpValue {
    fn default() -> Self {
        OpValue::Json(Value::Null)
    }
}

impl From<Value> for OpValue {
    fn from(v: Value) -> Self {
        match &v {
            Value::Array(items) => match IntRuns::from_json(items) {
                Some(runs) => OpValue::Ints(runs),
                None => OpValue::Json(v),
            },
            _ => OpValue::Json(v),
        }
    }
}

impl From<IntRuns> for OpValue {
    fn from(r: IntRuns) -> Self {
        OpValue::Ints(r)
    }
}

impl OpValue {
    /// The JSON value: borrowed when kept as JSON, built when kept compactly.
    pub fn json(&self) -> Cow<'_, Value> {
        match self {
            OpValue::Json(v) => Cow::Borrowed(v),
            OpValue::Ints(r) => Cow::Owned(r.to_json()),
        }
    }

    /// The JSON value, by value.
    pub fn into_json(self) -> Value {
        match self {
            OpValue::Json(v) => v,
            OpValue::Ints(r) => r.to_json(),
        }
    }

    /// The compact integer array, when the value is one.
    pub fn as_ints(&self) -> Option<&IntRuns> {
        match self {
            OpValue::Ints(r) => Some(r),
            OpValue::Json(_) => None,
        }
    }

    /// The value if it is kept as JSON (never an integer array made by `From<Value>`).
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            OpValue::Json(v) => Some(v),
            OpValue::Ints(_) => None,
        }
    }
}

impl PartialEq for OpValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (OpValue::Json(a), OpValue::Json(b)) => a == b,
            (OpValue::Ints(a), OpValue::Ints(b)) => a == b,
            _ => self.json() == other.json(),
        }
    }
}

impl PartialEq<Value> for OpValue {
    fn eq(&self, other: &Value) -> bool {
        match self {
            OpValue::Json(v) => v == other,
            OpValue::Ints(r) => other.as_array().is_some_and(|items| {
                items.len() == r.len() && items.iter().zip(r.iter()).all(|(a, b)| *a == b)
            }),
        }
    }
}

impl Serialize for OpValue {
    /// As the JSON value, byte for byte.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OpValue::Json(v) => v.serialize(serializer),
            OpValue::Ints(r) => r.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for OpValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(OpValue::from)
    }
}

impl fmt::Display for OpValue {
    /// As compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpValue::Json(v) => write!(f, "{v}"),
            OpValue::Ints(r) => write!(f, "{}", r.to_json()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// JSON values of the shapes histories hold, integer arrays often.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Quarters: floats whose text serde_json parses back exactly.
            (-4000i32..4000).prop_map(|x| Value::from(f64::from(x) / 4.0)),
            "[a-z]{0,4}".prop_map(Value::from),
        ];
        let ints = proptest::collection::vec(-3i64..40, 0..40)
            .prop_map(|xs| Value::Array(xs.into_iter().map(Value::from).collect()));
        let nested = leaf.clone().prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-c]", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop_oneof![ints, leaf, nested]
    }

    #[test]
    fn integer_arrays_are_compact_and_others_are_not() {
        assert!(OpValue::from(json!([0, 1, 2])).as_ints().is_some());
        assert!(OpValue::from(json!([])).as_ints().is_some());
        for v in [json!([0, 1.0]), json!(3), json!(null), json!([["poll"]])] {
            assert_eq!(OpValue::from(v.clone()).as_json(), Some(&v));
        }
    }

    #[test]
    fn both_forms_of_one_value_are_equal() {
        let v = json!([3, 1, 2]);
        let compact = OpValue::from(v.clone());
        let plain = OpValue::Json(v.clone());
        assert_eq!(compact, plain);
        assert_eq!(compact, v);
        assert_ne!(compact, OpValue::Json(json!([3, 1])));
        assert_ne!(compact, json!([3, 1, 2.0]));
        assert_eq!(compact.to_string(), "[3,1,2]");
    }

    proptest! {
        /// A value kept in either form serialises to the bytes of the value itself and
        /// deserialises back to an equal value.
        #[test]
        fn json_text_is_unchanged(v in any_json()) {
            let text = serde_json::to_string(&v).expect("json");
            let kept = OpValue::from(v.clone());
            prop_assert_eq!(serde_json::to_string(&kept).expect("json"), text.clone());
            prop_assert_eq!(serde_json::to_string_pretty(&kept).expect("json"),
                serde_json::to_string_pretty(&v).expect("json"));
            prop_assert_eq!(kept.json().into_owned(), v.clone());
            let back: OpValue = serde_json::from_str(&text).expect("parse");
            prop_assert_eq!(&back, &kept);
            prop_assert_eq!(back.into_json(), v);
        }
    }
}
