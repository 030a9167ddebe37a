//! A versioned change index: which keys changed after a given version.
//!
//! Used to send peers only the per-key watermarks and committed offsets that changed
//! since the version they last acknowledged.

use std::collections::BTreeMap;

/// Keys stamped with the version of their latest change.
///
/// Invariants: `version` is the highest version handed out (0 before any change); every
/// key appears exactly once in `by_key` and once in `by_version`, under its latest
/// version; memory is one entry per distinct key ever touched.
#[derive(Debug, Default, Clone)]
pub struct ChangeIndex {
    version: u64,
    by_key: BTreeMap<String, u64>,
    by_version: BTreeMap<u64, String>,
}

impl ChangeIndex {
    /// An empty index at version 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The highest version handed out so far.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Records a change of `key`: it gets a fresh version, greater than every earlier one.
    pub fn touch(&mut self, key: &str) {
        self.version += 1;
        let version = self.version;
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
        index.touch("a");
        index.touch("b");
        let after_b = index.version();
        index.touch("a");
        index.touch("c");
        assert_eq!(index.version(), 4);
        let changed: Vec<&str> = index.changed_since(after_b).collect();
        assert_eq!(changed, vec!["a", "c"]);
        let all: Vec<&str> = index.changed_since(0).collect();
        assert_eq!(all, vec!["b", "a", "c"]);
        assert_eq!(index.changed_since(4).count(), 0);
    }
}
