//! The set-full checker (Jepsen `checker/set-full`), used by broadcast (`broadcast` is the
//! add) and g-set (`add`).
//!
//! For each added element, over the `ok` reads that complete after its add was invoked:
//! *known* is the add's `ok` completion or the first read completion containing it,
//! whichever comes first; *last-present* / *last-absent* are the reads with the highest
//! invocation index that did / did not contain it. An element is **stable** if some read
//! saw it and the last absent read was invoked before the last present one; **lost** if it
//! is known and the last absent read was invoked after both the last present read and the
//! moment it became known; **never-read** otherwise. Stable latency is
//! `max(0, last_absent.time + 1 (or 0) − known.time)` in whole ms.
//!
//! Validity: invalid if any element is lost, else unknown if none is stable, else valid.
//! Duplicates inside one read are detected and reported (`duplicated_count`, `duplicated`,
//! `warnings`) but, as in Maelstrom, do not affect validity.
//!
//! Reads are taken in the form the history keeps them ([`read_set`]): a read of integers
//! is looked up in its runs without being turned back into JSON, so checking takes memory
//! in the number of elements and reads, not their product.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use glomers_node::Time;
use serde_json::{json, Value};

use crate::checker::{CheckResult, Validity};
use crate::checkers::perf::distribution;
use crate::checkers::value::ValueKey;
use crate::history::{span, History, Op, OpType};
use read_set::ReadSet;

#[cfg(test)]
mod oracle;
pub mod read_set;
#[cfg(test)]
mod tests;

/// How many of the stalest elements `worst_stale` lists.
pub const WORST_STALE: usize = 8;

#[derive(Clone, Copy)]
struct At {
    index: usize,
    time: Time,
}

struct Element {
    key: ValueKey,
    known: Option<At>,
    last_present: Option<At>,
    last_absent: Option<At>,
}

/// Outcome of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Stable,
    Lost,
    NeverRead,
}

fn at(op: &Op) -> At {
    At {
        index: op.index,
        time: op.time,
    }
}

/// The whole milliseconds from `known` (or the start of the run) to just after `last`
/// (or the start of the run), zero when that is not later: Maelstrom's
/// `max(0, last.time + 1 (or 0) − known.time)`.
fn latency_ms(known: Option<At>, last: Option<At>) -> u64 {
    let from = known.map_or(Time::ZERO, |k| k.time);
    let to = last.map_or(Time::ZERO, |a| a.time + Duration::from_nanos(1));
    span::whole_ms(to.saturating_since(from))
}

/// What the scan of a history found: every added element's tracking, and the elements
/// some read held more than once (element → (highest multiplicity, completion index of
/// the first read with it)).
struct Tracked {
    elements: Vec<Element>,
    dups: BTreeMap<ValueKey, (usize, usize)>,
}

/// Checks a broadcast or g-set history (adds are `f == "broadcast"` or `"add"`, reads
/// `f == "read"` with an array value). Output fields as Maelstrom's: `valid`,
/// `attempt_count`, `stable_count`, `lost_count`, `lost`, `never_read_count`,
/// `never_read`, `stale_count`, `stale`, `worst_stale`, `stable_latencies`,
/// `lost_latencies` (when any lost), `duplicated_count`, `duplicated`; and `anomalies`,
/// one `{"kind": "lost", "ops": [known, last absent read, last present read], ...}` per
/// lost element.
pub fn check(h: &History) -> CheckResult {
    match track(h) {
        Ok(t) => report(h, t),
        Err(why) => CheckResult::unknown(why),
    }
}

/// Every added element's tracking, in order of first add, and each value's place in it.
#[derive(Default)]
struct Elements {
    list: Vec<Element>,
    by_key: HashMap<ValueKey, usize>,
}

impl Elements {
    /// An add: its invocation starts (or restarts) the element's tracking, its `ok`
    /// completion makes the element known.
    fn add(&mut self, h: &History, pairs: &[Option<usize>], op: &Op) {
        let k = ValueKey::of(&op.value.json());
        if op.kind == OpType::Invoke {
            let e = Element {
                key: k.clone(),
                known: None,
                last_present: None,
                last_absent: None,
            };
            // A second add of the same value restarts its tracking, as in Jepsen.
            match self.by_key.get(&k) {
                Some(&i) => self.list[i] = e,
                None => {
                    self.by_key.insert(k, self.list.len());
                    self.list.push(e);
                }
            }
        } else if op.kind == OpType::Ok {
            let inv_key = pairs[op.index].map(|i| ValueKey::of(&h.ops[i].value.json()));
            if let Some(&i) = self.by_key.get(inv_key.as_ref().unwrap_or(&k)) {
                self.list[i].known.get_or_insert(at(op));
            }
        }
    }
}

impl Element {
    /// An `ok` read (completed by `op`, invoked by `inv`) that did or did not hold this
    /// element.
    fn read(&mut self, present: bool, inv: &Op, op: &Op) {
        let inv_at = at(inv);
        if present {
            self.known.get_or_insert(at(op));
            if self.last_present.is_none_or(|lp| lp.index < inv_at.index) {
                self.last_present = Some(inv_at);
            }
        } else if self.last_absent.is_none_or(|la| la.index < inv_at.index) {
            self.last_absent = Some(inv_at);
        }
    }
}

/// Records that the read completed by `op` held `k` `n` times (`n` > 1), keeping each
/// element's highest multiplicity and the first read with it.
fn record_repeat(dups: &mut BTreeMap<ValueKey, (usize, usize)>, k: &ValueKey, n: usize, op: &Op) {
    let e = dups.entry(k.clone()).or_insert((n, op.index));
    if n > e.0 {
        *e = (n, op.index);
    }
}

/// One pass over the history in order: adds start (or restart) an element's tracking,
/// each `ok` read updates every element known so far.
fn track(h: &History) -> Result<Tracked, String> {
    let pairs = h.pairs();
    let mut elements = Elements::default();
    let mut dups: BTreeMap<ValueKey, (usize, usize)> = BTreeMap::new();
    for op in h.ops.iter().filter(|o| o.is_client()) {
        match op.f.as_str() {
            "add" | "broadcast" => elements.add(h, &pairs, op),
            "read" if op.kind == OpType::Ok => {
                let Some(read) = ReadSet::of(&op.value) else {
                    return Err(format!(
                        "read {} returned a non-array value {}",
                        op.index, op.value
                    ));
                };
                let Some(inv) = pairs[op.index].map(|i| &h.ops[i]) else {
                    continue;
                };
                for (k, n) in read.repeated() {
                    record_repeat(&mut dups, k, *n, op);
                }
                for e in elements.list.iter_mut() {
                    e.read(read.contains(&e.key), inv, op);
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

/// One element's verdict: its outcome and, when stable or lost, that latency in ms.
struct Judged<'a> {
    e: &'a Element,
    outcome: Outcome,
    stable_latency: Option<u64>,
    lost_latency: Option<u64>,
}

fn judge(e: &Element) -> Judged<'_> {
    let lp = e.last_present.map_or(-1, |x| x.index as i64);
    let la = e.last_absent.map_or(-1, |x| x.index as i64);
    let stable = e.last_present.is_some() && la < lp;
    let lost = match (e.known, e.last_absent) {
        (Some(k), Some(a)) => lp < la && k.index < a.index,
        _ => false,
    };
    let outcome = if stable {
        Outcome::Stable
    } else if lost {
        Outcome::Lost
    } else {
        Outcome::NeverRead
    };
    Judged {
        e,
        outcome,
        stable_latency: stable.then(|| latency_ms(e.known, e.last_absent)),
        lost_latency: lost.then(|| latency_ms(e.known, e.last_present)),
    }
}

/// The problem line and the anomaly of a lost element.
fn lost_anomaly(r: &Judged<'_>) -> (String, Value) {
    let e = r.e;
    let text = format!(
        "lost: element {} known at op {} was missing from read invoked at op {}{}",
        e.key,
        e.known.map_or(0, |k| k.index),
        e.last_absent.map_or(0, |a| a.index),
        match e.last_present {
            Some(p) => format!(", last seen by read invoked at op {}", p.index),
            None => ", and was never read".to_string(),
        }
    );
    let ops: Vec<usize> = [e.known, e.last_absent, e.last_present]
        .iter()
        .flatten()
        .map(|a| a.index)
        .collect();
    let anomaly = json!({"kind": "lost", "ops": ops, "text": text, "element": e.key.to_value()});
    (text, anomaly)
}

/// The stalest stable elements, for `worst_stale`.
fn worst_stale(h: &History, stale: &[&Judged<'_>]) -> Vec<Value> {
    let mut worst: Vec<&Judged<'_>> = stale.to_vec();
    worst.sort_by_key(|r| r.stable_latency);
    worst.reverse();
    let op_ref = |a: Option<At>| a.map(|a| h.ops[a.index].brief());
    worst
        .iter()
        .take(WORST_STALE)
        .map(|r| {
            json!({
                "element": r.e.key.to_value(),
                "outcome": "stable",
                "stable_latency": r.stable_latency,
                "lost_latency": null,
                "known": op_ref(r.e.known),
                "last_absent": op_ref(r.e.last_absent),
            })
        })
        .collect()
}

/// Judges every element and composes the result.
fn report(h: &History, mut t: Tracked) -> CheckResult {
    t.elements.sort_by(|a, b| a.key.cmp(&b.key));
    let res: Vec<Judged<'_>> = t.elements.iter().map(judge).collect();
    let of = |o: Outcome| res.iter().filter(move |r| r.outcome == o);
    let lost: Vec<&Judged<'_>> = of(Outcome::Lost).collect();
    let stable_count = of(Outcome::Stable).count();
    let never: Vec<Value> = of(Outcome::NeverRead).map(|r| r.e.key.to_value()).collect();
    let stale: Vec<&Judged<'_>> = of(Outcome::Stable)
        .filter(|r| r.stable_latency.unwrap_or(0) > 0)
        .collect();
    let valid = if !lost.is_empty() {
        Validity::Invalid
    } else if stable_count == 0 {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let (mut problems, anomalies): (Vec<String>, Vec<Value>) =
        lost.iter().map(|r| lost_anomaly(r)).unzip();
    if valid == Validity::Unknown {
        problems.push("no element is stable: no read ever observed an added element".into());
    }
    let warnings: Vec<String> = t
        .dups
        .iter()
        .map(|(k, (n, i))| {
            format!("duplicate: element {k} appears {n} times in the read completed at op {i}")
        })
        .collect();
    let mut d = json!({
        "valid": valid.to_json(),
        "attempt_count": res.len(),
        "stable_count": stable_count,
        "lost_count": lost.len(),
        "lost": lost.iter().map(|r| r.e.key.to_value()).collect::<Vec<_>>(),
        "never_read_count": never.len(),
        "never_read": never,
        "stale_count": stale.len(),
        "stale": stale.iter().map(|r| r.e.key.to_value()).collect::<Vec<_>>(),
        "worst_stale": worst_stale(h, &stale),
        "duplicated_count": t.dups.len(),
        "duplicated": t.dups.iter().map(|(k, (n, _))| json!([k.to_value(), n])).collect::<Vec<_>>(),
        "warnings": warnings,
        "anomalies": anomalies,
    });
    if let Some(q) = distribution(res.iter().filter_map(|r| r.stable_latency).collect()) {
        d["stable_latencies"] = json!(q);
    }
    if let Some(q) = distribution(res.iter().filter_map(|r| r.lost_latency).collect()) {
        d["lost_latencies"] = json!(q);
    }
    CheckResult::new(valid, problems, d)
}
