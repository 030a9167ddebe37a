//! The compare-and-set register every key is checked against, over interned values.
//!
//! Values are arbitrary JSON compared as Maelstrom's services compare them (Clojure
//! equality: `1` and `1.0` differ, arrays element-wise, objects by content); each distinct
//! value of a key gets a small integer, [`NULL`] standing for JSON `null`, which is also
//! the state of a key that does not exist (the register's initial state).

use std::collections::HashMap;

use serde_json::Value;

/// An interned value.
pub type Val = u32;

/// The interned `null`: a missing key, and the register's initial state.
pub const NULL: Val = 0;

/// Interns one key's values. Invariant: `intern(a) == intern(b)` exactly when `a` and
/// `b` are equal JSON values; `null` is [`NULL`].
#[derive(Debug, Clone, Default)]
pub struct Interner {
    ids: HashMap<String, Val>,
    values: Vec<Value>,
}

impl Interner {
    /// An interner that knows only `null`.
    pub fn new() -> Self {
        Interner {
            ids: HashMap::from([(Value::Null.to_string(), NULL)]),
            values: vec![Value::Null],
        }
    }

    /// The id of `v`, new if `v` was not seen before. serde_json prints objects with sorted
    /// keys and keeps `1` and `1.0` apart, so the printed form is a faithful identity.
    pub fn intern(&mut self, v: &Value) -> Val {
        let text = v.to_string();
        if let Some(&id) = self.ids.get(&text) {
            return id;
        }
        let id = self.values.len() as Val;
        self.ids.insert(text, id);
        self.values.push(v.clone());
        id
    }

    /// The value of an id (`null` for an unknown id).
    pub fn value(&self, id: Val) -> &Value {
        self.values.get(id as usize).unwrap_or(&Value::Null)
    }
}

/// What an operation does to the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegF {
    /// A read that returned this value (`NULL`: the key did not exist).
    Read(Val),
    /// A blind write.
    Write(Val),
    /// Compare-and-set from the first value to the second.
    Cas(Val, Val),
}

impl RegF {
    /// The state after this operation from `state`, or `None` if it cannot happen there:
    /// a read must return the current value (a `null` read only a missing key), a cas
    /// must find its `from` value.
    #[inline]
    pub fn step(self, state: Val) -> Option<Val> {
        match self {
            RegF::Read(v) => (v == state).then_some(state),
            RegF::Write(v) => Some(v),
            RegF::Cas(from, to) => (from == state).then_some(to),
        }
    }
}

/// One operation on one key, as the search sees it.
///
/// Positions are the history indices of the invocation and completion, so that the real
/// time order is the order of the history (no ties). Invariant: `ret`, when present, is
/// greater than `call`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegOp {
    /// What it does.
    pub f: RegF,
    /// History index of the invocation.
    pub call: usize,
    /// History index of the `ok` completion; `None` for an indeterminate operation
    /// (`info`, or invoked and never completed), which may take effect at any point after
    /// its invocation, or never.
    pub ret: Option<usize>,
    /// The client process.
    pub process: u64,
}

/// A short text for an operation: `w 3`, `r 2`, `r null`, `cas 1→4`.
pub fn describe(f: RegF, values: &Interner) -> String {
    match f {
        RegF::Read(v) => format!("r {}", values.value(v)),
        RegF::Write(v) => format!("w {}", values.value(v)),
        RegF::Cas(a, b) => format!("cas {}→{}", values.value(a), values.value(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn interning_is_json_equality() {
        let mut i = Interner::new();
        assert_eq!(i.intern(&Value::Null), NULL);
        let one = i.intern(&json!(1));
        assert_ne!(one, NULL);
        assert_eq!(i.intern(&json!(1)), one);
        assert_ne!(i.intern(&json!(1.0)), one);
        assert_ne!(i.intern(&json!("1")), one);
        let a = i.intern(&json!({"a": 1, "b": [2]}));
        assert_eq!(i.intern(&json!({"b": [2], "a": 1})), a);
        assert_eq!(i.value(one), &json!(1));
    }

    #[test]
    fn register_steps() {
        assert_eq!(RegF::Write(3).step(NULL), Some(3));
        assert_eq!(RegF::Read(3).step(3), Some(3));
        assert_eq!(RegF::Read(3).step(2), None);
        // A null read is a read of a missing key, not a wildcard.
        assert_eq!(RegF::Read(NULL).step(NULL), Some(NULL));
        assert_eq!(RegF::Read(NULL).step(2), None);
        assert_eq!(RegF::Cas(2, 4).step(2), Some(4));
        assert_eq!(RegF::Cas(2, 4).step(3), None);
        assert_eq!(RegF::Cas(2, 4).step(NULL), None);
    }
}
