//! `glomers fault-sweep` end to end in the simulator: every challenge binary stays valid on
//! its challenge line with kill, pause and partitions added (durable data directories) on
//! five seeds in a row, within 3x of its fault-free messages per operation; and the same
//! sweep fails when a kill wipes what a node alone held (Maelstrom's own kill, where a
//! single broadcast or kafka node keeps nothing).

use std::path::PathBuf;
use std::process::Command;

fn store(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glomers-sweep-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `glomers fault-sweep --sim` with `args`; the exit code and stdout.
fn sweep(tag: &str, args: &[&str]) -> (i32, String) {
    let st = store(tag);
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .args(["fault-sweep", "--sim", "--store"])
        .arg(&st)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run glomers: {e}"));
    let _ = std::fs::remove_dir_all(&st);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout)
}

/// The table's rows: label, valid count, verdict, ratio (when given).
fn rows(table: &str) -> Vec<(String, String, String, Option<f64>)> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("line"))
        .skip(1)
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let ratio = w
                .last()
                .and_then(|r| r.strip_suffix('x'))
                .and_then(|r| r.parse().ok());
            (w[0].to_owned(), w[1].to_owned(), w[2].to_owned(), ratio)
        })
        .collect()
}

#[test]
fn every_binary_survives_kill_pause_and_partitions_on_five_seeds() {
    let (code, out) = sweep("durable", &["--seeds", "5"]);
    let rows = rows(&out);
    let labels: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for bin_line in [
        "2",
        "3a",
        "3b/3c",
        "3d/3e-latency",
        "4-kv",
        "4-crdt",
        "5b/5c",
        "6c",
    ] {
        assert!(labels.contains(&bin_line), "{bin_line} missing:\n{out}");
    }
    for (label, valid, verdict, ratio) in &rows {
        assert_eq!(
            (valid.as_str(), verdict.as_str()),
            ("5/5", "valid"),
            "{label}:\n{out}"
        );
        if let Some(r) = ratio {
            assert!(
                *r <= 3.0,
                "{label}: {r}x the fault-free msgs-per-op:\n{out}"
            );
        }
    }
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_sweep_fails_when_a_kill_wipes_what_a_lone_node_held() {
    let (code, out) = sweep(
        "wiping",
        &[
            "--seeds",
            "3",
            "--wiping",
            "--only",
            "3a,5a",
            "--no-baseline",
        ],
    );
    let rows = rows(&out);
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows.iter().all(|r| r.2 == "INVALID"),
        "a single node killed without its data directory loses what it acknowledged:\n{out}"
    );
    assert_eq!(code, 1, "{out}");
}
