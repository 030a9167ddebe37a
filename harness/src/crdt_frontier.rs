//! `glomers crdt-frontier`: the g-set node's messages/latency trade-off against its
//! replication period, on the command line of Maelstrom's CRDT guide (`-w g-set
//! --node-count 5 --rate 100 --time-limit 10`), next to the guide's published point.
//!
//! For each topology (`--topology star|mesh` passed to the node) and each period
//! (`--period-ms P`), one run per seed; each point is the median over seeds of `:servers`
//! msgs-per-op and of the stable-latency median and maximum. The table is printed in
//! markdown and the points drawn as [`crate::frontier`] draws the broadcast frontier.

use std::path::PathBuf;

use clap::Args;

use crate::frontier::{
    node_bin, plot_chart, summarise, sweep_table_labelled, Chart, Measure, Series,
};

/// The CRDT guide's g-set command line (Maelstrom `doc/04-crdts/01-g-set.md`), with its
/// default node count made explicit.
pub const LINE: &str = "-w g-set --node-count 5 --rate 100 --time-limit 10";

/// The guide's published figures on that line (whole set to every peer every 5 s):
/// servers msgs-per-op, stable median and maximum in ms.
pub const GUIDE: (f64, f64, f64) = (0.099, 2500.0, 5000.0);

/// Flags of `glomers crdt-frontier`.
#[derive(Debug, Clone, Args)]
pub struct CrdtFrontierArgs {
    /// Runs per point: seeds `seed`, `seed + 1`, ….
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Replication periods (ms) swept, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100,250,500,1000,1500,2000,5000"
    )]
    pub periods: Vec<u64>,
    /// Topologies swept, comma-separated (star, mesh).
    #[arg(long, value_delimiter = ',', default_value = "star,mesh")]
    pub topologies: Vec<String>,
    /// The g-set binary (default: target/release/g-set of the workspace).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Folder of run folders.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// The SVG written.
    #[arg(long, default_value = "docs/crdt-frontier.svg")]
    pub out: PathBuf,
    /// Run in the deterministic simulator instead of on processes.
    #[arg(long)]
    pub sim: bool,
}

/// The node's flags for one point.
pub fn node_flags(topology: &str, period_ms: u64) -> Vec<String> {
    vec![
        "--topology".to_owned(),
        topology.to_owned(),
        "--period-ms".to_owned(),
        period_ms.to_string(),
    ]
}

/// `glomers crdt-frontier`: runs the sweep, prints the table, writes the plot. Exit status
/// 0 when every run was valid, 1 when one was not, 254 for a bad topology or period, 255
/// when the binary is missing or the plot cannot be drawn.
pub async fn run(a: &CrdtFrontierArgs) -> i32 {
    const CMD: &str = "crdt-frontier";
    if let Some(bad) = a
        .topologies
        .iter()
        .find(|t| !["star", "mesh"].contains(&t.as_str()))
    {
        eprintln!("glomers: {CMD}: unknown topology {bad:?}");
        return 254;
    }
    if a.periods.contains(&0) {
        eprintln!("glomers: {CMD}: a period must be at least 1 ms");
        return 254;
    }
    let Some(bin) = node_bin(CMD, "g-set", a.bin.as_deref(), a.sim) else {
        return 255;
    };
    let measure = Measure {
        command: CMD,
        sim: a.sim,
        line: LINE,
        bin: &bin,
        store: &a.store,
    };
    let mut sweep = Vec::new();
    for topology in &a.topologies {
        for &period in &a.periods {
            let flags = node_flags(topology, period);
            let mut runs = Vec::new();
            for k in 0..a.seeds {
                runs.extend(measure.point(a.seed + k, &flags).await);
            }
            sweep.push(Series {
                mode: topology.clone(),
                interval_ms: Some(period),
                runs,
            });
        }
    }
    println!(
        "\n{}\nPublished (the guide, whole set every 5 s): {} msgs-per-op, {:.0} / {:.0} ms.",
        sweep_table_labelled(&sweep, ("topology", "period ms"), 3),
        GUIDE.0,
        GUIDE.1,
        GUIDE.2
    );
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("glomers: {CMD}: {}: {e}", dir.display());
            return 255;
        }
    }
    let chart = Chart {
        caption: "g-set, CRDT guide line: msgs-per-op vs stable median latency".into(),
        knob: "period".into(),
        published: vec![("CRDT guide, 5 s".into(), GUIDE.0, GUIDE.1)],
    };
    if let Err(e) = plot_chart(&a.out, &chart, &[], &sweep) {
        eprintln!("glomers: {CMD}: {e}");
        return 255;
    }
    eprintln!("glomers: {CMD}: plot → {}", a.out.display());
    if sweep.iter().all(|s| summarise(&s.runs).valid) {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn flags_parse_and_bad_topologies_are_refused() {
        let cli = Cli::try_parse_from([
            "glomers",
            "crdt-frontier",
            "--sim",
            "--periods",
            "200,1000",
            "--topologies",
            "mesh",
        ])
        .expect("parses");
        let Command::CrdtFrontier(a) = cli.command else {
            panic!("not crdt-frontier")
        };
        assert_eq!(a.periods, [200, 1000]);
        assert_eq!(
            node_flags("mesh", 200),
            ["--topology", "mesh", "--period-ms", "200"]
        );
        let bad = CrdtFrontierArgs {
            topologies: vec!["ring".into()],
            ..a.clone()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        assert_eq!(rt.block_on(run(&bad)), 254);
        let zero = CrdtFrontierArgs {
            periods: vec![0],
            ..a
        };
        assert_eq!(rt.block_on(run(&zero)), 254);
    }

    #[test]
    fn a_simulated_sweep_prints_every_point_and_draws_them() {
        let dir =
            std::env::temp_dir().join(format!("glomers-crdt-frontier-{}", std::process::id()));
        let out = dir.join("f.svg");
        let a = CrdtFrontierArgs {
            seeds: 1,
            seed: 1,
            periods: vec![250, 2000],
            topologies: vec!["star".into(), "mesh".into()],
            bin: Some("g-set".into()),
            store: dir.join("store"),
            out: out.clone(),
            sim: true,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        assert_eq!(rt.block_on(run(&a)), 0, "every run valid");
        let svg = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(svg.contains("2000 ms") && svg.contains("star: period sweep"));
        assert!(svg.contains("CRDT guide"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
