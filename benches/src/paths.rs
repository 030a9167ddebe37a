//! Locations resolved at run time, never hard-coded: the cargo target directory, criterion's
//! output directory, and the release `echo` binary.

use std::path::PathBuf;

/// The benches crate's directory: `CARGO_MANIFEST_DIR` from the environment (cargo sets it
/// when it runs a bench or binary), else the value it had at compile time.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The workspace root: the parent of the benches crate.
pub fn workspace_root() -> PathBuf {
    let dir = manifest_dir();
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}

/// The cargo target directory: `CARGO_TARGET_DIR` if set (relative values are taken from
/// the workspace root, as cargo does), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Where criterion writes its results: `CRITERION_HOME` if set, else `<target>/criterion`
/// (criterion's own default).
pub fn criterion_home() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"))
}

/// The release binary `name` of the shell: `<target>/release/<name>`.
pub fn release_bin(name: &str) -> PathBuf {
    target_dir().join("release").join(name)
}

/// The file the `e2e` bench writes its allocation counts and reply checks to, inside
/// [`criterion_home`].
pub fn e2e_report() -> PathBuf {
    criterion_home().join("glomers-e2e.json")
}
