//! The set-full checker's first read path, kept as a test oracle: it reads every value as
//! JSON and looks each one up, so comparing it with [`super::check`] on the same history
//! shows that the compact read path changes no verdict and no figure.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::{record_repeat, report, Elements, Tracked};
use crate::checker::CheckResult;
use crate::checkers::value::ValueKey;
use crate::history::{History, OpType};

/// The set-full checker as it was before reads were kept compactly: every read turned back
/// into JSON and looked up element by element, then judged as [`super::check`] judges.
/// Same output as [`super::check`] but for `anomalies`, which it predates.
pub fn check(h: &History) -> CheckResult {
    let mut r = match track_json(h) {
        Ok(t) => report(h, t),
        Err(why) => return CheckResult::unknown(why),
    };
    if let Some(d) = r.details.as_object_mut() {
        d.remove("anomalies");
    }
    r
}

/// [`super::track`] with every read turned into JSON: adds start (or restart) an
/// element's tracking, each `ok` read updates every element known so far.
fn track_json(h: &History) -> Result<Tracked, String> {
    let pairs = h.pairs();
    let mut elements = Elements::default();
    let mut dups: BTreeMap<ValueKey, (usize, usize)> = BTreeMap::new();
    let mut present = Vec::new();
    for op in h.ops.iter().filter(|o| o.is_client()) {
        match op.f.as_str() {
            "add" | "broadcast" => elements.add(h, &pairs, op),
            "read" if op.kind == OpType::Ok => {
                let value = op.value.json();
                let Some(vals) = value.as_array() else {
                    return Err(format!(
                        "read {} returned a non-array value {}",
                        op.index, op.value
                    ));
                };
                let Some(inv) = pairs[op.index].map(|i| &h.ops[i]) else {
                    continue;
                };
                for (k, n) in presence(&elements.by_key, vals, &mut present) {
                    if n > 1 {
                        record_repeat(&mut dups, &k, n, op);
                    }
                }
                for (e, &p) in elements.list.iter_mut().zip(present.iter()) {
                    e.read(p, inv, op);
                }
            }
            _ => {}
        }
    }
    Ok(Tracked {
        elements: elements.list,
        dups,
    })
}

/// Marks in `present` (one flag per tracked element) those `vals` holds, and counts how
/// many times it holds each value.
fn presence(
    by_key: &HashMap<ValueKey, usize>,
    vals: &[Value],
    present: &mut Vec<bool>,
) -> HashMap<ValueKey, usize> {
    present.clear();
    present.resize(by_key.len(), false);
    let mut mult: HashMap<ValueKey, usize> = HashMap::new();
    for v in vals {
        let k = ValueKey::of(v);
        if let Some(&i) = by_key.get(&k) {
            present[i] = true;
        }
        *mult.entry(k).or_default() += 1;
    }
    mult
}
