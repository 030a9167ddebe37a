//! The anomalies a checker found, in the one shape the HTML report reads:
//! `details["anomalies"]` is an array of `{"kind": "<anomaly name>", "ops": [history
//! indices], "text": "<one line>", ...}` (extra keys allowed, e.g. `"key"`), and
//! `details["anomalies_omitted"]` counts those left out beyond [`MAX_LISTED`].

use serde_json::{json, Map, Value};

/// At most this many anomalies are listed per checker.
pub const MAX_LISTED: usize = 1000;

/// One anomaly: its kind, the history indices of the operations involved (sorted, without
/// repeats), a one-line text, and extra keys from `extra` (an object; anything else is
/// ignored).
pub fn anomaly(
    kind: &str,
    ops: impl IntoIterator<Item = usize>,
    text: impl Into<String>,
    extra: Value,
) -> Value {
    let mut ops: Vec<usize> = ops.into_iter().collect();
    ops.sort_unstable();
    ops.dedup();
    let mut o = match extra {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    o.insert("kind".into(), json!(kind));
    o.insert("ops".into(), json!(ops));
    o.insert("text".into(), Value::String(text.into()));
    Value::Object(o)
}

/// Puts `list` into `details["anomalies"]` (the first [`MAX_LISTED`]) and the number left
/// out into `details["anomalies_omitted"]` when there are more. `details` must be an
/// object; anything else is left as it is.
pub fn attach(details: &mut Value, mut list: Vec<Value>) {
    let Value::Object(d) = details else { return };
    if list.len() > MAX_LISTED {
        d.insert("anomalies_omitted".into(), json!(list.len() - MAX_LISTED));
        list.truncate(MAX_LISTED);
    }
    d.insert("anomalies".into(), Value::Array(list));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_sorted_once_and_extra_keys_kept() {
        let a = anomaly(
            "lost",
            [5, 2, 5],
            "x",
            json!({"element": 3, "kind": "other"}),
        );
        assert_eq!(
            a,
            json!({"kind": "lost", "ops": [2, 5], "text": "x", "element": 3})
        );
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let mut d = json!({"valid": false});
        attach(&mut d, vec![json!({}); MAX_LISTED + 3]);
        assert_eq!(d["anomalies"].as_array().map(Vec::len), Some(MAX_LISTED));
        assert_eq!(d["anomalies_omitted"], 3);
        let mut d = json!({});
        attach(&mut d, vec![]);
        assert_eq!(d, json!({"anomalies": []}));
    }
}
