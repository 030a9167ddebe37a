//! A versioned change index: which keys changed after a given version.
//!
//! Used to send peers only the per-key watermarks and committed offsets that changed
//! since the version they last acknowledged.

use std::collections::BTreeMap;

/// Keys stamped with the version of their latest change. The versions come from the
/// caller (the replicator's version counter), so marks and acknowledgements speak of one
/// sequence.
///
/// Invariants: every key appears exactly once in `by_key` and once in `by_version`, under
/// its latest version; memory is one entry per distinct key ever touched.
#[derive(Debug, Default, Clone)]
pub struct ChangeIndex {
    by_key: BTreeMap<String, u64>,
    by_version: BTreeMap<u64, String>,
}

impl ChangeIndex {
    /// An empty index at version 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a change of `key` at `version` (greater than every version given before).
    pub fn touch(&mut self, key: &str, version: u64) {
        match self.by_key.get_mut(key) {
            Some(old) => {
                self.by_version.remove(old);
                *old = version;
            }
            None => {
                self.by_key.insert(key.to_owned(), version);
            }
        }
        self.by_version.insert(version, key.to_owned());
    }

    /// Keys whose latest change has a version strictly greater than `since`, oldest first.
    pub fn changed_since(&self, since: u64) -> impl Iterator<Item = &str> {
        self.by_version
            .range(since.saturating_add(1)..)
            .map(|(_, key)| key.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_only_keys_changed_after_a_version() {
        let mut index = ChangeIndex::new();
        index.touch("a", 1);
        index.touch("b", 2);
        let after_b = 2;
        index.touch("a", 3);
        index.touch("c", 4);
        let changed: Vec<&str> = index.changed_since(after_b).collect();
        assert_eq!(changed, vec!["a", "c"]);
        let all: Vec<&str> = index.changed_since(0).collect();
        assert_eq!(all, vec!["b", "a", "c"]);
        assert_eq!(index.changed_since(4).count(), 0);
    }
}
