//! The few file-system steps the store repeats: syncing a directory, reading a file whole,
//! a segment file's name.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::error::io_err;
use super::StoreError;

/// A segment file's name: its base index in 20 digits (so names sort as indexes do), then
/// `.seg`.
pub fn segment_name(base: u64) -> String {
    format!("{base:020}.seg")
}

/// The base index a segment file's name stands for, if it is one.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Makes the entries of directory `dir` (files created, renamed or removed in it) durable.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Creates `dir` if missing; `true` if it did (its parent then needs [`sync_dir`]).
pub fn ensure_dir(dir: &Path) -> Result<bool, StoreError> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(e) => Err(io_err("create directory", dir)(e)),
    }
}

/// The entries of `dir` as (file name, path), sorted by name; names that are not UTF-8
/// are returned lossily converted (no store name has them, so they never match one).
pub fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_others_are_refused() {
        for base in [0, 7, u64::MAX] {
            assert_eq!(parse_segment_name(&segment_name(base)), Some(base));
        }
        for bad in [
            "0.seg",
            "00000000000000000000.log",
            "0000000000000000000x.seg",
            "99999999999999999999.seg",
            "",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }
}
