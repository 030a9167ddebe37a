//! The file store's one error type.

use std::io;
use std::path::PathBuf;

/// Why a store operation failed. After an [`StoreError::Io`] from a write or a sync the
/// store is poisoned (every later write gives [`StoreError::Poisoned`]): what reached the
/// disk is unknown, so the process should stop and recover by reopening the directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A log or value name that is not a plain file name.
    #[error("bad store name {name:?}: {why}")]
    BadName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A record or value longer than the segment format's limit.
    #[error("{name:?}: {source}")]
    TooLarge {
        /// The log or value.
        name: String,
        /// The length and the limit.
        source: glomers_segment::TooLarge,
    },
    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done (`"write"`, `"fsync"`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Bytes read back by index are not the valid record they were when indexed.
    #[error("{}: record {index} unreadable: {what}", path.display())]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// The record's index.
        index: u64,
        /// What was found instead.
        what: String,
    },
    /// An earlier write or sync failed; the store takes no more writes.
    #[error("store poisoned by an earlier failure: {0}")]
    Poisoned(String),
}

/// Maps an OS error of operation `op` on `path` to a [`StoreError::Io`].
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io { op, path, source }
}
