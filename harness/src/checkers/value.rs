//! Comparing recorded JSON values as Clojure compares them.
//!
//! Maelstrom parses replies into Clojure data, so the checkers' notion of "the same value"
//! is Clojure equality: `1`, `1.0` and `"1"` are three different values, arrays and objects
//! are equal by content. [`ValueKey`] is a hashable, totally ordered form of a JSON value
//! with exactly that equality.

use std::cmp::Ordering;

use serde_json::Value;

/// A JSON value as a map key, with Clojure's equality.
///
/// Invariants: two keys are equal iff the values are equal in Clojure (integers equal
/// integers of the same magnitude; floats equal floats of the same value, `-0.0 == 0.0`;
/// an integer never equals a float); the order sorts numbers numerically (an integer
/// before a float of the same magnitude), then strings, then everything else by its
/// canonical JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueKey {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer (any JSON integer fits in `i128`).
    Int(i128),
    /// A float, by its bits (`-0.0` normalised to `0.0`).
    Float(u64),
    /// A string.
    Str(String),
    /// An array or object, as canonical JSON text (objects have sorted keys).
    Json(String),
}

impl ValueKey {
    /// The key of a JSON value.
    pub fn of(v: &Value) -> ValueKey {
        match v {
            Value::Null => ValueKey::Null,
            Value::Bool(b) => ValueKey::Bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    ValueKey::Int(i128::from(u))
                } else if let Some(i) = n.as_i64() {
                    ValueKey::Int(i128::from(i))
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    let f = if f == 0.0 { 0.0 } else { f };
                    ValueKey::Float(f.to_bits())
                }
            }
            Value::String(s) => ValueKey::Str(s.clone()),
            other => ValueKey::Json(other.to_string()),
        }
    }

    /// Back to JSON (for reports).
    pub fn to_value(&self) -> Value {
        match self {
            ValueKey::Null => Value::Null,
            ValueKey::Bool(b) => Value::Bool(*b),
            ValueKey::Int(i) => {
                if let Ok(x) = i64::try_from(*i) {
                    Value::from(x)
                } else if let Ok(x) = u64::try_from(*i) {
                    Value::from(x)
                } else {
                    Value::from(*i as f64)
                }
            }
            ValueKey::Float(bits) => Value::from(f64::from_bits(*bits)),
            ValueKey::Str(s) => Value::String(s.clone()),
            ValueKey::Json(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i128> {
        match self {
            ValueKey::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            ValueKey::Null => 0,
            ValueKey::Bool(_) => 1,
            ValueKey::Int(_) | ValueKey::Float(_) => 2,
            ValueKey::Str(_) => 3,
            ValueKey::Json(_) => 4,
        }
    }
}

impl std::fmt::Display for ValueKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl Ord for ValueKey {
    fn cmp(&self, other: &Self) -> Ordering {
        use ValueKey::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => f64::from_bits(*a).total_cmp(&f64::from_bits(*b)),
            (Int(a), Float(b)) => (*a as f64)
                .total_cmp(&f64::from_bits(*b))
                .then(Ordering::Less),
            (Float(a), Int(b)) => f64::from_bits(*a)
                .total_cmp(&(*b as f64))
                .then(Ordering::Greater),
            (Str(a), Str(b)) => a.cmp(b),
            (Json(a), Json(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for ValueKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Clojure's `compare` on two JSON values, or `None` where Clojure would throw
/// (e.g. a number against a string, or objects, which are not comparable).
///
/// Numbers compare numerically (`1` and `1.0` compare equal), strings lexicographically,
/// booleans `false < true`, `null` before anything, arrays by length then element-wise.
pub fn clojure_compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Null, _) => Some(Ordering::Less),
        (_, Value::Null) => Some(Ordering::Greater),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => {
            match (ValueKey::of(a).as_int(), ValueKey::of(b).as_int()) {
                (Some(i), Some(j)) => Some(i.cmp(&j)),
                _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(x.len().cmp(&y.len()));
            }
            for (p, q) in x.iter().zip(y) {
                match clojure_compare(p, q)? {
                    Ordering::Equal => {}
                    o => return Some(o),
                }
            }
            Some(Ordering::Equal)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn clojure_equality() {
        assert_ne!(ValueKey::of(&json!(1)), ValueKey::of(&json!(1.0)));
        assert_ne!(ValueKey::of(&json!(1)), ValueKey::of(&json!("1")));
        assert_eq!(ValueKey::of(&json!(-0.0)), ValueKey::of(&json!(0.0)));
        assert_eq!(
            ValueKey::of(&json!({"a":1,"b":[2]})),
            ValueKey::of(&json!({"b":[2],"a":1}))
        );
        assert!(ValueKey::of(&json!(2)) < ValueKey::of(&json!(10)));
        assert!(ValueKey::of(&json!(1)) < ValueKey::of(&json!(1.0)));
        assert!(ValueKey::of(&json!(1.5)) < ValueKey::of(&json!(2)));
        assert_eq!(clojure_compare(&json!(1), &json!("a")), None);
        assert_eq!(
            clojure_compare(&json!([1, 2]), &json!([0, 0, 0])),
            Some(Ordering::Less)
        );
    }

    proptest! {
        #[test]
        fn round_trips_and_order_is_consistent(a in any::<i64>(), b in any::<i64>()) {
            let ka = ValueKey::of(&json!(a));
            let kb = ValueKey::of(&json!(b));
            prop_assert_eq!(ka.to_value(), json!(a));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!(ka == kb, a == b);
        }
    }
}
