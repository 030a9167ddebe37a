//! Test support shared by the harness's integration tests: private scratch folders and the
//! workspace's node binaries built for the test's own profile.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private folder under the system's temporary directory, named for the test binary
/// (`prefix`), the process and `tag`, emptied first and removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(prefix: &str, tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("glomers-{prefix}-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The directory of the workspace's binaries for this test's profile, with the shell's
/// binaries `bins` built into it.
pub fn shell_bins(bins: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    // target/<profile>/deps/<test>-<hash>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-p", "glomers-shell"]);
    for bin in bins {
        build.args(["--bin", bin]);
    }
    if dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building {bins:?} failed");
    dir
}
