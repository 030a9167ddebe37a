//! The memory of node processes (`glomers test` only): each node's peak resident set size
//! over all its lives, and its last sampled resident set size.
//!
//! On Linux both come from `/proc/<pid>/status`: `VmHWM` is the kernel's high-water mark of
//! the process's resident set, which lasts until the process is reaped, so the harness reads
//! it right before it kills a process (a nemesis kill, a restart, the teardown); `VmRSS` (and
//! `VmHWM` with it) is also sampled every [`SAMPLE_PERIOD`], so that a node that dies on its
//! own still has a figure from its last sample. Where `/proc` is unavailable, or a status
//! cannot be read or parsed, the figure is absent: never an error. The simulator hosts its
//! nodes in its own process and has no such figure.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

/// How often a live node process's memory is sampled.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// One reading of a process's status, in KiB (the kernel's `kB`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    /// `VmHWM`: the peak resident set size so far.
    pub hwm_kib: Option<u64>,
    /// `VmRSS`: the resident set size now.
    pub rss_kib: Option<u64>,
}

/// Parses the text of a `/proc/<pid>/status` file. A field that is missing (a zombie has
/// neither) or malformed (no `kB` unit, not a number) is absent.
pub fn parse_status(text: &str) -> Reading {
    let mut r = Reading::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let field = match key {
            "VmHWM" => &mut r.hwm_kib,
            "VmRSS" => &mut r.rss_kib,
            _ => continue,
        };
        *field = value
            .trim()
            .strip_suffix("kB")
            .and_then(|n| n.trim().parse().ok());
    }
    r
}

/// Reads process `pid`'s memory figures; all absent when its status cannot be read. The
/// caller makes sure `pid` is its own unreaped child, so that it names no other process.
pub fn read(pid: u32) -> Reading {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|text| parse_status(&text))
        .unwrap_or_default()
}

/// The memory figures of one life of a node, or of a node over all its lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NodeMemory {
    /// The largest resident set size seen, in KiB: the peak over every reading of `VmHWM`
    /// and `VmRSS`.
    pub peak_rss_kib: Option<u64>,
    /// The last `VmRSS` read, in KiB.
    pub last_rss_kib: Option<u64>,
}

impl NodeMemory {
    /// Takes in one reading of the process's status.
    pub fn observe(&mut self, r: Reading) {
        self.peak_rss_kib = self.peak_rss_kib.max(r.hwm_kib).max(r.rss_kib);
        if r.rss_kib.is_some() {
            self.last_rss_kib = r.rss_kib;
        }
    }

    /// Takes in the figures of the node's next life: the peak is the largest over the
    /// lives, the last reading the later life's if it has one.
    pub fn add_life(&mut self, life: NodeMemory) {
        self.peak_rss_kib = self.peak_rss_kib.max(life.peak_rss_kib);
        if life.last_rss_kib.is_some() {
            self.last_rss_kib = life.last_rss_kib;
        }
    }
}

/// `results.json`'s `node_memory`: each node's figures under its id (absent ones `null`).
pub fn to_json(nodes: &[String], memory: &[NodeMemory]) -> Value {
    let map: Map<String, Value> = nodes
        .iter()
        .zip(memory)
        .map(|(node, m)| (node.clone(), serde_json::to_value(m).unwrap_or(Value::Null)))
        .collect();
    Value::Object(map)
}

/// The summary line of `results.json`'s `node_memory`: the largest peak and its node, and
/// the median of the nodes' peaks; `None` when no node has a figure.
pub fn summary_line(node_memory: &Value) -> Option<String> {
    let peaks: Vec<(&String, u64)> = node_memory
        .as_object()?
        .iter()
        .filter_map(|(node, m)| Some((node, m.get("peak_rss_kib")?.as_u64()?)))
        .collect();
    let (max_node, max) = peaks
        .iter()
        .copied()
        .reduce(|best, p| if p.1 > best.1 { p } else { best })?;
    let median = crate::frontier::median(peaks.iter().map(|&(_, kib)| Some(kib as f64)))?;
    let mib = |kib: f64| kib / 1024.0;
    Some(format!(
        "  node memory   peak RSS max {:.1} MiB ({max_node}), median {:.1} MiB\n",
        mib(max as f64),
        mib(median)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STATUS: &str = "Name:\techo\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t4242\n\
        VmPeak:\t   10940 kB\nVmSize:\t   10876 kB\nVmHWM:\t    5236 kB\nVmRSS:\t    4980 kB\n\
        RssAnon:\t     640 kB\nThreads:\t1\n";

    #[test]
    fn status_gives_the_peak_and_the_current_resident_set() {
        let r = parse_status(STATUS);
        assert_eq!(r.hwm_kib, Some(5236));
        assert_eq!(r.rss_kib, Some(4980));
    }

    #[test]
    fn missing_or_malformed_fields_are_absent_without_a_panic() {
        // A zombie's status has no Vm lines.
        let zombie = "Name:\techo\nState:\tZ (zombie)\nPid:\t4242\nThreads:\t1\n";
        assert_eq!(parse_status(zombie), Reading::default());
        for bad in [
            "",
            "VmHWM:\nVmRSS:",
            "VmHWM:\tlots kB\nVmRSS:\t-3 kB",
            "VmHWM:\t5236\nVmRSS:\t4980 MB",
            "VmHWM:\t99999999999999999999999 kB\nVmRSS:\t4 980 kB",
            "VmHWM\t5236 kB\nVmRSS 4980 kB",
            "\u{0}\u{fffd}VmHWM:\u{7f} kB:kB\n:\n::::",
        ] {
            assert_eq!(parse_status(bad), Reading::default(), "{bad:?}");
        }
        // One good field and one bad: only the good one is there.
        let half = parse_status("VmHWM:\t5236 kB\nVmRSS:\tnone kB\n");
        assert_eq!((half.hwm_kib, half.rss_kib), (Some(5236), None));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn our_own_status_has_both_figures() {
        let r = read(std::process::id());
        let (hwm, rss) = (r.hwm_kib.unwrap_or(0), r.rss_kib.unwrap_or(0));
        assert!(rss > 0 && hwm >= rss, "{r:?}");
    }

    #[test]
    fn a_process_that_is_gone_has_no_figure() {
        // Above the kernel's pid_max (at most 2^22), so no process has it.
        assert_eq!(read(u32::MAX), Reading::default());
    }

    #[test]
    fn the_peak_is_the_largest_reading_over_lives_and_the_last_reading_stays() {
        let mut first = NodeMemory::default();
        first.observe(parse_status("VmHWM:\t70000 kB\nVmRSS:\t66000 kB\n"));
        first.observe(parse_status("VmRSS:\t68000 kB\n"));
        first.observe(Reading::default()); // a zombie's reading changes nothing
        assert_eq!(first.peak_rss_kib, Some(70000));
        assert_eq!(first.last_rss_kib, Some(68000));
        let mut second = NodeMemory::default();
        second.observe(parse_status("VmHWM:\t9000 kB\nVmRSS:\t8000 kB\n"));
        let mut node = NodeMemory::default();
        node.add_life(first);
        node.add_life(second);
        node.add_life(NodeMemory::default()); // a life with no reading at all
        assert_eq!(node.peak_rss_kib, Some(70000));
        assert_eq!(node.last_rss_kib, Some(8000));
    }

    #[test]
    fn the_summary_names_the_largest_peak_and_the_median() {
        let nodes: Vec<String> = ["n0", "n1", "n2", "n3"].map(String::from).into();
        let m = |kib| NodeMemory {
            peak_rss_kib: kib,
            last_rss_kib: kib,
        };
        let memory = [m(Some(4915)), m(Some(5222)), m(None), m(Some(4096))];
        let j = to_json(&nodes, &memory);
        assert_eq!(j["n1"], json!({"peak_rss_kib": 5222, "last_rss_kib": 5222}));
        assert_eq!(j["n2"], json!({"peak_rss_kib": null, "last_rss_kib": null}));
        assert_eq!(
            summary_line(&j).as_deref(),
            Some("  node memory   peak RSS max 5.1 MiB (n1), median 4.8 MiB\n")
        );
    }

    #[test]
    fn no_figure_gives_no_summary_line() {
        let nodes = vec!["n0".to_owned()];
        let j = to_json(&nodes, &[NodeMemory::default()]);
        assert_eq!(summary_line(&j), None);
        assert_eq!(summary_line(&Value::Null), None);
        assert_eq!(summary_line(&json!({"n0": "big"})), None);
    }
}
