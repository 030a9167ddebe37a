//! `inconsistent-offsets` and `duplicate`: a log offset holding two messages, a message at
//! two offsets.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use super::index::Index;
use super::versions::Log;
use super::Found;
use crate::checkers::value::ValueKey;

/// Every offset of every log that holds two or more different messages.
pub(super) fn inconsistent_offsets(ix: &Index, logs: &BTreeMap<&str, Log>, found: &mut Found) {
    for (key, log) in logs {
        for (i, (off, vs)) in log.iter().enumerate() {
            if vs.len() < 2 {
                continue;
            }
            let mut sorted: Vec<&ValueKey> = vs.iter().collect();
            sorted.sort();
            found.add(
                "inconsistent-offsets",
                format!(
                    "inconsistent-offsets: key {key:?} offset {off} holds {} different messages: {}",
                    vs.len(),
                    sorted.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
                ),
                json!({"key": key, "offset": off, "index": i,
                       "values": sorted.iter().map(|v| v.to_value()).collect::<Vec<_>>(),
                       "ops": ix.touching(key, &sorted)}),
            );
        }
    }
}

/// Every message found at more than one offset of its key.
pub(super) fn duplicates(ix: &Index, logs: &BTreeMap<&str, Log>, found: &mut Found) {
    for (key, log) in logs {
        let mut occurrences: HashMap<&ValueKey, Vec<i64>> = HashMap::new();
        for (off, vs) in log {
            for v in vs {
                occurrences.entry(v).or_default().push(*off);
            }
        }
        let mut dups: Vec<_> = occurrences
            .into_iter()
            .filter(|(_, o)| o.len() > 1)
            .collect();
        dups.sort_by(|a, b| a.0.cmp(b.0));
        for (v, offs) in dups {
            found.add(
                "duplicate",
                format!("duplicate: key {key:?} message {v} appears at offsets {offs:?}"),
                json!({"key": key, "value": v.to_value(), "count": offs.len(), "offsets": offs,
                       "ops": ix.touching(key, &[v])}),
            );
        }
    }
}
