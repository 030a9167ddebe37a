//! [`Nemesis`]: the fault schedule of a run, one model for both drivers.
//!
//! As Maelstrom builds it from Jepsen's `nemesis.combined` (`--nemesis`, paced by
//! `--nemesis-interval`): each enabled family of faults is a *package* with its own timer
//! and its own random stream drawn from the run's seed. A package alternates fault and
//! recovery (Jepsen's `flip-flop`), its first operation at the start of the main phase and
//! each next one after a gap uniform on `[0, 2 × interval)` (Jepsen's `stagger`), until the
//! time limit. `kill` and `pause` share one package (Jepsen's `db-package`): each step draws
//! which of the two flip-flops moves, so kills and pauses interleave. Fault targets are
//! Jepsen's node specs, one drawn per operation (`crate::sim::faults::random_targets`); a
//! recovery acts on every node (`start` and `resume` on `:all`, as Jepsen's generator
//! sends them). When the workload has a final phase, everything is recovered before it
//! (Jepsen's final generators: the partitions healed, duplication stopped, clocks reset,
//! nodes resumed, then started). Every fault and recovery is a `:nemesis` `:info` entry in
//! the history whose value names the nodes it touched.
//!
//! Packages: `partition` (the four grudge shapes, stream 5, so a partition-only run keeps
//! its schedule), `partition-oneway`, `kill`+`pause`, `duplicate`, `clock`.
//!
//! Where glomers goes further than Maelstrom: `partition-oneway`, `duplicate` and `clock`
//! are glomers' own (Jepsen has a clock nemesis, Maelstrom does not use it); deliveries to
//! a paused node are held until it resumes in both modes (Maelstrom's pipe to a stopped
//! process holds them the same way); `--durable` keeps a killed node's data directory
//! (`crate::runner::process`). Maelstrom's follow-up (PR #103) caps a down node's queue at
//! 10 messages and redelivers that backlog after a restart's `init`; glomers keeps PR #102's
//! semantics, as its users asked: what is sent to a dead node is lost at its restart, and
//! a down node's queue is bounded only by the network's queue capacity.

use std::collections::BTreeSet;
use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::conns::Conns;
use super::life::Lives;
use super::timers::Timers;
use super::wires::Wires;
use super::{nemesis_op, Action, Timer};
use crate::history::{span, History};
use crate::runner::stream;
use crate::sim::faults::{self, ops, Fault, Faults, Skew};
use crate::sim::nemesis as shapes;
use crate::sim::net::Cut;

/// What a fault operation needs of the world.
pub struct FaultCtx<'a> {
    /// The time of the operation.
    pub now: Time,
    /// The network.
    pub wires: &'a mut Wires,
    /// The world's timers.
    pub timers: &'a mut Timers<Timer>,
    /// The client connections (a restart's `init`).
    pub conns: &'a mut Conns,
    /// The history.
    pub history: &'a mut History,
    /// What the driver must do.
    pub out: &'a mut Vec<Action>,
}

/// One fault's alternation of fault and recovery.
struct Flip {
    fault: Fault,
    faulted: bool,
}

/// One package: its flip-flops (two for `kill`+`pause`), its randomness, its end.
struct Package {
    flips: Vec<Flip>,
    rng: StdRng,
    finished: bool,
}

/// The fault schedule and the nodes' lives.
pub struct Nemesis {
    nodes: Vec<String>,
    /// `--nemesis-interval`, in seconds as given: the mean of Jepsen's stagger, which
    /// draws each gap from these float seconds (see [`shapes::stagger_gap`]).
    interval: f64,
    packages: Vec<Package>,
    lives: Lives,
}

impl Nemesis {
    /// The schedule of `faults` over `nodes` for a run of `seed`, one operation per package
    /// every `interval` seconds on average; restarted nodes have `init_timeout` to answer.
    pub fn new(
        faults: Faults,
        nodes: Vec<String>,
        interval: f64,
        seed: u64,
        init_timeout: Duration,
    ) -> Self {
        let families: [(&[Fault], u64); 5] = [
            (&[Fault::Partition], 5),
            (&[Fault::PartitionOneway], 7),
            (&[Fault::Kill, Fault::Pause], 8),
            (&[Fault::Duplicate], 9),
            (&[Fault::Clock], 10),
        ];
        let packages = families
            .into_iter()
            .filter_map(|(members, purpose)| {
                let flips: Vec<Flip> = members
                    .iter()
                    .filter(|f| faults.contains(**f))
                    .map(|&fault| Flip {
                        fault,
                        faulted: false,
                    })
                    .collect();
                (!flips.is_empty()).then(|| Package {
                    flips,
                    rng: stream(seed, purpose),
                    finished: false,
                })
            })
            .collect();
        Self {
            lives: Lives::new(nodes.clone(), init_timeout),
            nodes,
            interval,
            packages,
        }
    }

    /// The nodes' lives.
    pub fn lives(&mut self) -> &mut Lives {
        &mut self.lives
    }

    /// Starts every package at `now` (the main phase's start).
    pub fn begin(&self, now: Time, timers: &mut Timers<Timer>) {
        for p in 0..self.packages.len() {
            timers.set(now, Timer::Nemesis(p));
        }
    }

    /// Whether every package has stopped (its timer reached the time limit).
    pub fn finished(&self) -> bool {
        self.packages.iter().all(|p| p.finished)
    }

    /// Package `p`'s timer, due at `due`, fired (at `ctx.now`): its next operation, unless
    /// the main phase is over. The schedule runs on due times, not on when a driver got to
    /// them, so both drivers keep the seed's schedule.
    pub fn step(&mut self, p: usize, due: Time, cutoff: Time, ctx: &mut FaultCtx<'_>) {
        let Some(pkg) = self.packages.get_mut(p) else {
            return;
        };
        if due >= cutoff {
            pkg.finished = true;
            return;
        }
        let k = match pkg.flips.len() {
            1 => 0,
            n => pkg.rng.random_range(0..n),
        };
        let fault = pkg.flips[k].fault;
        let recover = pkg.flips[k].faulted;
        pkg.flips[k].faulted = !recover;
        // The package's stream, held apart from the package while the fault acts on `self`,
        // and put back after the gap is drawn.
        let mut rng = pkg.rng.clone();
        let (f, value) = if recover {
            self.recover(fault, ctx)
        } else {
            self.inject(fault, &mut rng, ctx)
        };
        let gap = shapes::stagger_gap(self.interval, &mut rng);
        ctx.timers.set((due + gap).min(cutoff), Timer::Nemesis(p));
        self.packages[p].rng = rng;
        ctx.history.push(nemesis_op(ctx.now, f, value));
    }

    /// Recovers from every enabled fault, in Jepsen's final order, whether or not it is in
    /// force (the final generators do the same).
    pub fn recover_all(&mut self, ctx: &mut FaultCtx<'_>) {
        let order = [
            Fault::Partition,
            Fault::PartitionOneway,
            Fault::Duplicate,
            Fault::Clock,
            Fault::Pause,
            Fault::Kill,
        ];
        for fault in order {
            let enabled = self
                .packages
                .iter_mut()
                .flat_map(|p| p.flips.iter_mut())
                .find(|flip| flip.fault == fault);
            let Some(flip) = enabled else {
                continue;
            };
            flip.faulted = false;
            let (f, value) = self.recover(fault, ctx);
            ctx.history.push(nemesis_op(ctx.now, f, value));
        }
    }

    /// Injects `fault`; its history `f` and value.
    fn inject(
        &mut self,
        fault: Fault,
        rng: &mut StdRng,
        ctx: &mut FaultCtx<'_>,
    ) -> (&'static str, Value) {
        match fault {
            Fault::Partition => {
                let (_spec, grudge) = shapes::random_partition(&self.nodes, rng);
                ctx.wires.partition(Cut::Partition, &grudge);
                (ops::START_PARTITION, shapes::describe(&grudge))
            }
            Fault::PartitionOneway => {
                let grudge = faults::oneway_partition(&self.nodes, rng);
                ctx.wires.partition(Cut::OneWay, &grudge);
                (ops::START_ONEWAY, shapes::describe(&grudge))
            }
            Fault::Kill => {
                let targets = faults::random_targets(self.nodes.len(), rng);
                (ops::KILL, self.lives.kill(&targets, ctx))
            }
            Fault::Pause => {
                let targets = faults::random_targets(self.nodes.len(), rng);
                (ops::PAUSE, self.lives.pause(&targets, ctx))
            }
            Fault::Duplicate => {
                let targets = faults::random_targets(self.nodes.len(), rng);
                let nodes: BTreeSet<String> =
                    targets.iter().map(|&i| self.nodes[i].clone()).collect();
                let value = json!({"nodes": nodes, "fraction": faults::DUPLICATE_FRACTION});
                ctx.wires.duplicate(nodes, faults::DUPLICATE_FRACTION);
                (ops::START_DUPLICATE, value)
            }
            Fault::Clock => (ops::SKEW_CLOCK, self.skew(rng, ctx)),
        }
    }

    /// Skews the clocks of a drawn set of nodes.
    fn skew(&self, rng: &mut StdRng, ctx: &mut FaultCtx<'_>) -> Value {
        let mut done = Map::new();
        for i in faults::random_targets(self.nodes.len(), rng) {
            let skew = faults::random_skew(rng);
            ctx.out.push(Action::Clock {
                node: i,
                skew: Some(skew),
            });
            let Skew { jump, back, rate } = skew;
            let jump_ms = if back {
                -span::ms(jump)
            } else {
                span::ms(jump)
            };
            done.insert(
                self.nodes[i].clone(),
                json!({"jump_ms": jump_ms, "rate": rate}),
            );
        }
        Value::Object(done)
    }

    /// Recovers from `fault` on every node; its history `f` and value.
    fn recover(&mut self, fault: Fault, ctx: &mut FaultCtx<'_>) -> (&'static str, Value) {
        let healed = || shapes::describe_heal();
        match fault {
            Fault::Partition => {
                ctx.wires.heal(Cut::Partition);
                (ops::STOP_PARTITION, healed())
            }
            Fault::PartitionOneway => {
                ctx.wires.heal(Cut::OneWay);
                (ops::STOP_ONEWAY, healed())
            }
            Fault::Kill => (ops::START, self.lives.start_all(ctx)),
            Fault::Pause => (ops::RESUME, self.lives.resume_all(ctx)),
            Fault::Duplicate => {
                ctx.wires.stop_duplicating();
                (ops::STOP_DUPLICATE, json!("duplication-stopped"))
            }
            Fault::Clock => {
                let mut done = Map::new();
                for (i, node) in self.nodes.iter().enumerate() {
                    ctx.out.push(Action::Clock {
                        node: i,
                        skew: None,
                    });
                    done.insert(node.clone(), json!("reset"));
                }
                (ops::RESET_CLOCK, Value::Object(done))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::MessageLog;
    use crate::sim::latency::{Latency, LatencyDist};
    use crate::sim::net::Network;
    use rand::SeedableRng;

    const NODES: usize = 5;

    /// The world's parts a nemesis acts on, and what it asked of the driver.
    struct Bench {
        wires: Wires,
        timers: Timers<Timer>,
        conns: Conns,
        history: History,
        out: Vec<Action>,
        delivered: Vec<(Time, String, Value)>,
    }

    fn nodes() -> Vec<String> {
        (0..NODES).map(|i| format!("n{i}")).collect()
    }

    fn bench(tag: &str) -> Bench {
        let dir =
            std::env::temp_dir().join(format!("glomers-nemesis-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let log = MessageLog::create(&dir.join(crate::journal::FILE)).expect("log");
        let lat = Latency::new(0, LatencyDist::Constant).expect("latency");
        let mut wires = Wires::new(Network::new(lat), StdRng::seed_from_u64(1), log);
        for n in nodes() {
            wires.register(&n);
        }
        Bench {
            wires,
            timers: Timers::default(),
            conns: Conns::default(),
            history: History::default(),
            out: Vec::new(),
            delivered: Vec::new(),
        }
    }

    macro_rules! ctx {
        ($b:ident, $now:expr) => {
            FaultCtx {
                now: $now,
                wires: &mut $b.wires,
                timers: &mut $b.timers,
                conns: &mut $b.conns,
                history: &mut $b.history,
                out: &mut $b.out,
            }
        };
    }

    /// A main phase of `secs` seconds under `faults` (interval 1 s), then the final
    /// recovery; every timer run in order.
    fn run(faults: &str, seed: u64, secs: u64, b: &mut Bench) -> Nemesis {
        let faults = Faults::parse(faults).expect("faults");
        let mut nem = Nemesis::new(faults, nodes(), 1.0, seed, Duration::from_secs(10));
        let cutoff = Time::from_secs(secs);
        nem.begin(Time::ZERO, &mut b.timers);
        while let Some((now, timer)) = b.timers.pop_due(cutoff) {
            match timer {
                Timer::Nemesis(p) => nem.step(p, now, cutoff, &mut ctx!(b, now)),
                Timer::Deliver(dest) => {
                    if let Some(m) = b.wires.deliver(&dest, now, &mut b.timers) {
                        b.delivered.push((now, m.dest, m.body));
                    }
                }
                _ => {}
            }
        }
        assert!(nem.finished());
        nem.recover_all(&mut ctx!(b, cutoff));
        nem
    }

    /// The history's nemesis operations as (time, f, value).
    fn ops_of(h: &History) -> Vec<(Time, String, Value)> {
        h.ops
            .iter()
            .map(|o| {
                let v = serde_json::to_value(o).expect("serializes");
                (o.time, o.f.clone(), v["value"].clone())
            })
            .collect()
    }

    #[test]
    fn a_partition_only_schedule_is_the_one_partitions_always_had() {
        let mut b = bench("compat");
        run("partition", 11, 30, &mut b);
        // The schedule as the partition nemesis drew it before the other faults existed:
        // stream 5, a grudge then a gap per start, a gap per stop, until the cutoff.
        let mut rng = stream(11, 5);
        let cutoff = Time::from_secs(30);
        let (mut t, mut partitioned, mut want) = (Time::ZERO, false, Vec::new());
        while t < cutoff {
            let value = if partitioned {
                shapes::describe_heal()
            } else {
                shapes::describe(&shapes::random_partition(&nodes(), &mut rng).1)
            };
            want.push((t, value));
            partitioned = !partitioned;
            t = (t + shapes::stagger_gap(1.0, &mut rng)).min(cutoff);
        }
        want.push((cutoff, shapes::describe_heal()));
        let got: Vec<(Time, Value)> = ops_of(&b.history)
            .into_iter()
            .map(|(t, _, v)| (t, v))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn every_package_alternates_fault_and_recovery_and_the_end_recovers_all() {
        let mut b = bench("alternate");
        run(
            "partition,partition-oneway,kill,pause,duplicate,clock",
            3,
            40,
            &mut b,
        );
        let ops = ops_of(&b.history);
        let pairs = [
            (ops::START_PARTITION, ops::STOP_PARTITION),
            (ops::START_ONEWAY, ops::STOP_ONEWAY),
            (ops::KILL, ops::START),
            (ops::PAUSE, ops::RESUME),
            (ops::START_DUPLICATE, ops::STOP_DUPLICATE),
            (ops::SKEW_CLOCK, ops::RESET_CLOCK),
        ];
        let main: Vec<&(Time, String, Value)> =
            ops.iter().filter(|o| o.0 < Time::from_secs(40)).collect();
        for (fault, recovery) in pairs {
            let seq: Vec<&str> = main
                .iter()
                .map(|o| o.1.as_str())
                .filter(|f| *f == fault || *f == recovery)
                .collect();
            assert!(seq.len() >= 4, "{fault}: {seq:?}");
            for (k, f) in seq.iter().enumerate() {
                assert_eq!(*f, if k % 2 == 0 { fault } else { recovery }, "{seq:?}");
            }
        }
        let last: Vec<&str> = ops[main.len()..].iter().map(|o| o.1.as_str()).collect();
        assert_eq!(
            last,
            [
                ops::STOP_PARTITION,
                ops::STOP_ONEWAY,
                ops::STOP_DUPLICATE,
                ops::RESET_CLOCK,
                ops::RESUME,
                ops::START
            ]
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
        let faults = "partition-oneway,kill,pause,clock";
        let (mut a, mut b, mut c) = (bench("seed-a"), bench("seed-b"), bench("seed-c"));
        run(faults, 5, 30, &mut a);
        run(faults, 5, 30, &mut b);
        run(faults, 6, 30, &mut c);
        assert_eq!(ops_of(&a.history), ops_of(&b.history));
        assert_eq!(a.out, b.out);
        assert_ne!(ops_of(&a.history), ops_of(&c.history));
    }

    #[test]
    fn kills_and_restarts_name_their_nodes_and_a_restart_sends_a_fresh_init() {
        let mut b = bench("kill");
        run("kill", 9, 30, &mut b);
        let ops = ops_of(&b.history);
        let killed: usize = ops
            .iter()
            .filter(|o| o.1 == ops::KILL)
            .map(|o| {
                o.2.as_object()
                    .map_or(0, |m| m.values().filter(|v| *v == "killed").count())
            })
            .sum();
        let started: usize = ops
            .iter()
            .filter(|o| o.1 == ops::START)
            .map(|o| {
                o.2.as_object()
                    .map_or(0, |m| m.values().filter(|v| *v == "started").count())
            })
            .sum();
        assert!(killed > 0);
        assert_eq!(
            killed, started,
            "every killed node is started again: {ops:?}"
        );
        let kills = b
            .out
            .iter()
            .filter(|a| matches!(a, Action::Kill { .. }))
            .count();
        let starts = b
            .out
            .iter()
            .filter(|a| matches!(a, Action::Start { .. }))
            .count();
        assert_eq!((kills, starts), (killed, started));
        // Every start op lists every node; every restart got an init naming its node.
        for o in ops.iter().filter(|o| o.1 == ops::START) {
            assert_eq!(o.2.as_object().map(|m| m.len()), Some(NODES));
        }
        let inits = b
            .delivered
            .iter()
            .filter(|(_, dest, body)| body["type"] == "init" && body["node_id"] == dest.as_str())
            .count();
        assert_eq!(inits, started);
    }

    #[test]
    fn a_paused_node_gets_nothing_until_it_resumes() {
        let mut b = bench("pause");
        let mut nem = Nemesis::new(
            Faults::NONE.with(Fault::Pause),
            nodes(),
            1.0,
            1,
            Duration::from_secs(10),
        );
        let ms = Time::from_millis;
        let value = nem.lives().pause(&[1], &mut ctx!(b, ms(0)));
        assert_eq!(value, json!({"n1": "paused"}));
        b.wires
            .send(ms(1), "n0", "n1", json!({"type": "x"}), &mut b.timers)
            .expect("sent");
        while let Some((now, Timer::Deliver(d))) = b.timers.pop_due(ms(500)) {
            assert!(b.wires.deliver(&d, now, &mut b.timers).is_none(), "held");
        }
        let value = nem.lives().resume_all(&mut ctx!(b, ms(600)));
        assert_eq!(value["n1"], "resumed");
        assert_eq!(value["n0"], "not-paused");
        let Some((at, Timer::Deliver(d))) = b.timers.pop_due(ms(600)) else {
            panic!("the held message is due at the resume");
        };
        assert_eq!((at, d.as_str()), (ms(600), "n1"));
        assert!(b.wires.deliver(&d, at, &mut b.timers).is_some());
        assert_eq!(
            b.out,
            [Action::Pause { node: 1 }, Action::Resume { node: 1 }]
        );
    }

    #[test]
    fn a_restart_without_init_ok_is_a_problem() {
        let mut b = bench("restart");
        let mut nem = Nemesis::new(
            Faults::NONE.with(Fault::Kill),
            nodes(),
            1.0,
            1,
            Duration::from_secs(1),
        );
        let now = Time::ZERO;
        nem.lives().kill(&[2], &mut ctx!(b, now));
        assert_eq!(
            nem.lives().kill(&[2], &mut ctx!(b, now)),
            json!({"n2": "already-dead"})
        );
        nem.lives().start_all(&mut ctx!(b, now));
        let problem = nem
            .lives()
            .init_reply(2, crate::workload::Reply::Timeout, &mut ctx!(b, now));
        assert!(
            matches!(&problem, Some(super::super::NodeProblem::RestartFailed { node, .. }) if node == "n2"),
            "{problem:?}"
        );
        nem.lives().kill(&[2], &mut ctx!(b, now));
        nem.lives().start_all(&mut ctx!(b, now));
        let ok = crate::workload::Reply::Body(json!({"type": "init_ok"}));
        assert!(nem.lives().init_reply(2, ok, &mut ctx!(b, now)).is_none());
    }
}
