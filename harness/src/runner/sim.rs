//! The simulator driver: the [`World`] on virtual time, with glomers' own nodes hosted
//! in-process.
//!
//! Each node is the very node its binary runs (`glomers_shell::nodes::build`, from the
//! same flags), behind the same wire runtime (`glomers_node::Runtime`): every message is
//! encoded and decoded exactly as between processes. Time is virtual: the driver jumps to
//! the earliest deadline of the world or of any node, runs what is due, and hands every
//! line a node writes to the world at the same instant. Nothing reads a clock and every
//! random choice comes from the seed (node `i`'s randomness included), so one seed gives
//! one run, byte for byte. Node logs go to `node-logs/<node>.log` with virtual
//! timestamps ([`super::sim_logs`]).

use std::path::Path;

use glomers_node::{Boot, LineMachine, Recovered, Time};
use rand::RngCore;

use super::sim_logs::NodeLogs;
use super::{stream, RunError, RunOutput};
use crate::cli::TestConfig;
use crate::world::{Action, World};

/// The simulated wall clock at the run's time zero: 2026-01-01T00:00:00Z, in Unix
/// milliseconds.
pub const EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

/// The glomers node program a `--bin` names: its file name, which must be one of
/// `glomers_shell::nodes::NAMES`.
pub fn program(bin: &Path) -> Result<&'static str, RunError> {
    let name = bin.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    glomers_shell::nodes::NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .ok_or_else(|| {
            RunError::Config(format!(
                "the simulator hosts glomers' own nodes ({}); {name:?} is none of them (run other binaries with `glomers test`)",
                glomers_shell::nodes::NAMES.join(", ")
            ))
        })
}

/// Runs the test described by `cfg` in the simulator, writing node logs into
/// `run_dir/node-logs`.
pub fn run(cfg: &TestConfig, run_dir: &Path) -> Result<RunOutput, RunError> {
    let wall = std::time::Instant::now();
    let cpu_at_start = crate::report::process_cpu_secs();
    let name = program(&cfg.bin)?;
    let dir = run_dir.join("node-logs");
    let logs = NodeLogs::create(&dir, &cfg.nodes)
        .map_err(|source| RunError::Store { path: dir, source })?;
    let mut seeds = stream(cfg.seed, 6);
    let mut nodes = Vec::new();
    for _ in &cfg.nodes {
        let boot = Boot {
            epoch_unix_ms: EPOCH_UNIX_MS,
            seed: seeds.next_u64(),
            recovered: Recovered::ephemeral(),
        };
        let node = glomers_shell::nodes::build(name, &cfg.args, boot)
            .map_err(|e| RunError::Config(format!("{name}: {e}")))?;
        nodes.push(node);
    }
    let mut world = World::new(cfg, super::message_log(run_dir)?)?;
    tracing::subscriber::with_default(logs.subscriber(), || {
        simulate(&mut world, &mut nodes, &logs)
    });
    logs.flush();
    let outcome = world.finish()?;
    Ok(RunOutput {
        history: outcome.history,
        net: outcome.net,
        problems: outcome.problems,
        wall_secs: wall.elapsed().as_secs_f64(),
        cpu_secs: crate::report::process_cpu_secs()
            .zip(cpu_at_start)
            .map(|(end, start)| end - start),
    })
}

/// Runs the world and the nodes from time zero until the world is done.
fn simulate(world: &mut World, nodes: &mut [Box<dyn LineMachine>], logs: &NodeLogs) {
    let mut now = Time::ZERO;
    world.start(now);
    let mut actions = Vec::new();
    loop {
        world.handle_timeout(now, &mut actions);
        for Action::Deliver { node, line } in actions.drain(..) {
            logs.enter(node, now);
            nodes[node].handle_line(now, line.as_bytes());
            pass_output(world, now, node, nodes[node].as_mut());
        }
        for (i, node) in nodes.iter_mut().enumerate() {
            if node.poll_timeout().is_some_and(|t| t <= now) {
                logs.enter(i, now);
                node.handle_timeout(now);
                pass_output(world, now, i, node.as_mut());
            }
        }
        if world.is_done() {
            return;
        }
        let next = nodes
            .iter()
            .filter_map(|n| n.poll_timeout())
            .chain(world.poll_timeout())
            .min();
        match next {
            Some(t) => now = now.max(t),
            // Nothing can happen any more: the world waits on nothing (cannot happen: every
            // wait of the world has a timeout).
            None => {
                world.abort(RunError::Config("the simulation stalled".into()));
                return;
            }
        }
    }
}

/// Hands the lines node `i` wrote to the world. Its writes are dropped: nothing here keeps
/// a node's state across a restart yet.
fn pass_output(world: &mut World, now: Time, i: usize, node: &mut dyn LineMachine) {
    node.writes().clear();
    let out = std::mem::take(node.output());
    for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        world.from_node(now, i, &String::from_utf8_lossy(line));
    }
    // Give the buffer back, emptied, so its capacity is reused.
    let mut out = out;
    out.clear();
    *node.output() = out;
}
