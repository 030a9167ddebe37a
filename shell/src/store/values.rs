//! Named small values, each replaced atomically: a put writes `.<name>.tmp`; the sync
//! fsyncs it, renames it over `<name>` and fsyncs the directory. A value file holds one
//! record in the segment format (header at base 0, one CRC-framed record), so a value
//! damaged on disk is detected, never returned.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use glomers_segment::{push_record, scan, Header};

use super::disk::{self, sync_dir};
use super::error::io_err;
use super::name;
use super::recovered::{Action, Problem, Repair};
use super::StoreError;

/// The values of a store, and the puts not yet synced.
#[derive(Debug)]
pub(crate) struct Values {
    dir: PathBuf,
    /// Values written to their temporary file since the last sync; at most one file per
    /// name (a second put of a name rewrites its temporary file).
    pending: BTreeMap<String, File>,
}

fn temp_name(name: &str) -> String {
    format!(".{name}.tmp")
}

/// The values of a store as recovered.
pub(crate) struct ValuesRecovery {
    pub values: Values,
    pub found: BTreeMap<String, Vec<u8>>,
    pub repairs: Vec<Repair>,
}

/// The value a value file holds, or why it holds none.
fn decode(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let s = scan(bytes).map_err(|e| e.to_string())?;
    match (s.records.as_slice(), s.damage) {
        ([one], None) => Ok(one.to_vec()),
        (_, Some(damage)) => Err(format!("{damage} at byte {}", s.valid_end)),
        (records, None) => Err(format!("{} records instead of one", records.len())),
    }
}

fn remove(path: PathBuf, problem: Problem, len: u64) -> Result<Repair, StoreError> {
    std::fs::remove_file(&path).map_err(io_err("remove", &path))?;
    Ok(Repair {
        path,
        problem,
        action: Action::Removed,
        dropped_bytes: len,
        dropped_records: 0,
    }
    .warn())
}

impl Values {
    /// Reads every value in `dir`; removes temporary files a crash left and value files
    /// that are damaged (each a repair).
    pub fn recover(dir: &Path) -> Result<ValuesRecovery, StoreError> {
        let (mut values, mut repairs) = (BTreeMap::new(), Vec::new());
        for (file, path) in disk::list(dir)? {
            let len = || std::fs::metadata(&path).map_or(0, |m| m.len());
            if file.starts_with('.') && file.ends_with(".tmp") {
                repairs.push(remove(path.clone(), Problem::StrayTemp, len())?);
            } else if name::check(&file).is_err() || !path.is_file() {
                tracing::warn!(file = %path.display(), "store recovery: not a value file; left alone");
            } else {
                let bytes = std::fs::read(&path).map_err(io_err("read", &path))?;
                match decode(&bytes) {
                    Ok(v) => {
                        values.insert(file, v);
                    }
                    Err(why) => {
                        repairs.push(remove(path, Problem::BadValue(why), bytes.len() as u64)?)
                    }
                }
            }
        }
        if !repairs.is_empty() {
            sync_dir(dir)?;
        }
        let store = Values {
            dir: dir.to_owned(),
            pending: BTreeMap::new(),
        };
        Ok(ValuesRecovery {
            values: store,
            found: values,
            repairs,
        })
    }

    /// Writes `value` to `name`'s temporary file (no fsync); it replaces the value at
    /// the next [`Values::sync`]. `name` must have passed [`name::check`].
    pub fn put(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut bytes = Header { base: 0 }.encode().to_vec();
        push_record(&mut bytes, value).map_err(|source| StoreError::TooLarge {
            name: name.to_owned(),
            source,
        })?;
        let path = self.dir.join(temp_name(name));
        let mut file = File::create(&path).map_err(io_err("create", &path))?;
        file.write_all(&bytes).map_err(io_err("write", &path))?;
        self.pending.insert(name.to_owned(), file);
        Ok(())
    }

    /// Makes every pending put durable: one fsync per temporary file, the renames, then
    /// one fsync of the directory (with `fsync` false, the renames only).
    pub fn sync(&mut self, fsync: bool) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        for (name, file) in &self.pending {
            let temp = self.dir.join(temp_name(name));
            if fsync {
                file.sync_all().map_err(io_err("fsync", &temp))?;
            }
            let path = self.dir.join(name);
            std::fs::rename(&temp, &path).map_err(io_err("rename", &temp))?;
        }
        self.pending.clear();
        if fsync {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}
