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
//!
//! The nemesis's faults, as the world asks for them: **kill** drops the hosted node (its
//! memory is gone; what its writes made durable stays on its in-memory disk with
//! `--durable`, and is wiped without); **start** builds a fresh node from the same program
//! and flags, with the next seed of the run's node stream, recovering its disk; **pause** stops calling into the node (no deliveries —
//! the world holds them — and no timeouts) until **resume**, when its timers see the gap;
//! **clock** maps virtual time to the node's own clock ([`super::sim_clock`]) for both the
//! `now` it is called with and its deadlines.

use std::path::Path;

use glomers_node::{Boot, LineMachine, Recovered, Time};
use rand::rngs::StdRng;
use rand::RngCore;

use super::sim_clock::NodeClock;
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

/// The hosted nodes: each alive or not, paused or not, with its own clock and disk.
///
/// A node's disk is what its writes made durable (applied as each step's output is
/// released: a step is atomic here, so nothing is ever half written). With `--durable` a
/// restarted node recovers its disk; without, the disk is wiped when the node is killed, as
/// the process driver empties the data directory.
struct Hosted {
    program: &'static str,
    args: Vec<String>,
    seeds: StdRng,
    durable: bool,
    nodes: Vec<Option<Box<dyn LineMachine>>>,
    disks: Vec<Recovered>,
    paused: Vec<bool>,
    clocks: Vec<NodeClock>,
}

impl Hosted {
    /// `count` nodes of `program` with flags `args`, seeded from `seeds` in turn (restarts
    /// take the next seeds).
    fn new(
        program: &'static str,
        args: &[String],
        count: usize,
        seeds: StdRng,
        durable: bool,
    ) -> Result<Hosted, RunError> {
        let disk = Recovered {
            durable: true,
            ..Recovered::default()
        };
        let mut hosted = Hosted {
            program,
            args: args.to_vec(),
            seeds,
            durable,
            nodes: Vec::new(),
            disks: vec![disk; count],
            paused: vec![false; count],
            clocks: vec![NodeClock::TRUE; count],
        };
        for i in 0..count {
            let node = hosted.build(i)?;
            hosted.nodes.push(Some(node));
        }
        Ok(hosted)
    }

    /// A fresh node `i` of the program, with the next seed, recovering its disk.
    fn build(&mut self, i: usize) -> Result<Box<dyn LineMachine>, RunError> {
        let boot = Boot {
            epoch_unix_ms: EPOCH_UNIX_MS,
            seed: self.seeds.next_u64(),
            recovered: self.disks[i].clone(),
        };
        glomers_shell::nodes::build(self.program, &self.args, boot)
            .map_err(|e| RunError::Config(format!("{}: {e}", self.program)))
    }

    /// Node `i`, when it is alive and not paused, with what its clock reads at `now` and its
    /// disk.
    fn running(
        &mut self,
        i: usize,
        now: Time,
    ) -> Option<(&mut dyn LineMachine, Time, &mut Recovered)> {
        if self.paused.get(i).copied().unwrap_or(true) {
            return None;
        }
        let local = self.clocks[i].local(now);
        let node = self.nodes.get_mut(i)?.as_mut()?;
        Some((node.as_mut(), local, &mut self.disks[i]))
    }

    /// When node `i` next wants its timeout, in virtual time.
    fn next_due(&self, i: usize) -> Option<Time> {
        if self.paused[i] {
            return None;
        }
        let due = self.nodes[i].as_ref()?.poll_timeout()?;
        Some(self.clocks[i].true_time_reaching(due))
    }

    /// Carries out what the world asks at `now`; a line for node `i` goes to it.
    fn act(&mut self, action: Action, now: Time, world: &mut World, logs: &NodeLogs) {
        match action {
            Action::Deliver { node, line } => {
                if let Some((machine, local, disk)) = self.running(node, now) {
                    logs.enter(node, now);
                    machine.handle_line(local, line.as_bytes());
                    release(world, now, node, machine, disk);
                }
            }
            Action::Kill { node } => {
                self.nodes[node] = None;
                self.paused[node] = false;
                if !self.durable {
                    self.disks[node].logs.clear();
                    self.disks[node].values.clear();
                }
            }
            Action::Start { node } => match self.build(node) {
                Ok(fresh) => {
                    self.nodes[node] = Some(fresh);
                    self.paused[node] = false;
                }
                Err(e) => world.abort(e),
            },
            Action::Pause { node } => self.paused[node] = true,
            Action::Resume { node } => self.paused[node] = false,
            Action::Clock { node, skew } => match skew {
                Some(s) => self.clocks[node].skew(now, s),
                None => self.clocks[node].reset(now),
            },
        }
    }

    /// Runs the timeout of every running node due at `now`.
    fn run_due(&mut self, now: Time, world: &mut World, logs: &NodeLogs) {
        for i in 0..self.nodes.len() {
            if self.next_due(i).is_none_or(|t| t > now) {
                continue;
            }
            if let Some((machine, local, disk)) = self.running(i, now) {
                logs.enter(i, now);
                machine.handle_timeout(local);
                release(world, now, i, machine, disk);
            }
        }
    }

    /// The earliest virtual time any running node wants its timeout.
    fn earliest_due(&self) -> Option<Time> {
        (0..self.nodes.len()).filter_map(|i| self.next_due(i)).min()
    }
}

/// Runs the test described by `cfg` in the simulator, writing node logs into
/// `run_dir/node-logs`.
pub fn run(cfg: &TestConfig, run_dir: &Path) -> Result<RunOutput, RunError> {
    let watch = super::Stopwatch::start();
    let name = program(&cfg.bin)?;
    let dir = run_dir.join("node-logs");
    let logs = NodeLogs::create(&dir, &cfg.nodes)
        .map_err(|source| RunError::Store { path: dir, source })?;
    let mut hosted = Hosted::new(
        name,
        &cfg.args,
        cfg.nodes.len(),
        stream(cfg.seed, 6),
        cfg.durable,
    )?;
    let mut world = World::new(cfg, super::message_log(run_dir)?)?;
    tracing::subscriber::with_default(logs.subscriber(), || {
        simulate(&mut world, &mut hosted, &logs)
    });
    logs.flush();
    let outcome = world.finish()?;
    Ok(watch.finish(outcome))
}

/// Runs the world and the nodes from time zero until the world is done.
fn simulate(world: &mut World, hosted: &mut Hosted, logs: &NodeLogs) {
    let mut now = Time::ZERO;
    world.start(now);
    let mut actions = Vec::new();
    loop {
        world.handle_timeout(now, &mut actions);
        for action in actions.drain(..) {
            hosted.act(action, now, world, logs);
        }
        hosted.run_due(now, world, logs);
        if world.is_done() {
            return;
        }
        let next = hosted
            .earliest_due()
            .into_iter()
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

/// Releases what node `i` produced: its writes onto its disk, then its lines to the world.
fn release(
    world: &mut World,
    now: Time,
    i: usize,
    node: &mut dyn LineMachine,
    disk: &mut Recovered,
) {
    disk.apply(node.writes().drain(..));
    let out = std::mem::take(node.output());
    for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        world.from_node(now, i, &String::from_utf8_lossy(line));
    }
    // Give the buffer back, emptied, so its capacity is reused.
    let mut out = out;
    out.clear();
    *node.output() = out;
}
