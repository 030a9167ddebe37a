//! [`Workers`]: the client worker threads of a run, as state machines on the world's
//! timers: pacing, the generator, each operation's calls through a client connection, and
//! the history entries (reference 2.6, 6.3, 6.4).
//!
//! Worker `t` talks to node `t mod N`. In the main phase every operation waits for the
//! pacer (Jepsen's `stagger` over all threads: an operation scheduled at `t` makes the next
//! due at `t + uniform[0, 2/rate)`, none at or after the cutoff); in the final phase the
//! generator spaces operations itself (`Next::Wait`), until it is done or the cap passes.
//! An `info` completion moves the worker to a new process number (plus the concurrency),
//! and a client that is not reusable is closed then, so the next operation opens a new
//! connection (a new `cN`).

use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;

use super::conns::{Conns, Owner};
use super::timers::Timers;
use super::wires::Wires;
use super::Timer;
use crate::history::{History, Op, OpType, Process};
use crate::sim::draw::uniform_span;
use crate::workload::{
    Client, ClientFactory, Completion, Generator, Next, OpSpec, Phase, Reply, Step,
};

/// What a worker step needs of the world.
pub struct Ctx<'a> {
    /// The time of the step.
    pub now: Time,
    /// The network.
    pub wires: &'a mut Wires,
    /// The world's timers.
    pub timers: &'a mut Timers<Timer>,
    /// The client connections.
    pub conns: &'a mut Conns,
    /// The history being recorded.
    pub history: &'a mut History,
}

/// Jepsen's `stagger` over all threads, with the time limit. Invariant: scheduled times
/// never decrease.
struct Pacer {
    next: Time,
    cutoff: Time,
    /// Twice the mean gap; `None` for a rate of 0 (nothing is issued).
    dt2: Option<Duration>,
    rng: StdRng,
}

impl Pacer {
    /// The time the next operation may be issued, or `None` when the main phase is over.
    fn reserve(&mut self, now: Time) -> Option<Time> {
        let dt2 = self.dt2?;
        let t = self.next.max(now);
        if t >= self.cutoff {
            return None;
        }
        self.next = t + uniform_span(dt2, &mut self.rng);
        Some(t)
    }
}

/// An operation in progress.
struct InFlight {
    op: OpSpec,
    invoke: Op,
    node: String,
}

enum State {
    /// Between operations (nothing scheduled).
    Idle,
    /// Waiting for the pacer's slot at this time (main phase).
    Paced(Time),
    /// Sleeping before asking the generator again.
    Sleeping,
    /// An operation waits for a reply.
    Calling(Box<InFlight>),
    /// Done with the main phase, not started on the final one.
    MainDone,
    /// Done.
    Done,
}

struct Worker {
    thread: usize,
    process: u64,
    client: Option<(String, Box<dyn Client>)>,
    state: State,
}

/// The workers and what they share: the generator, the pacer, the client factory.
pub struct Workers {
    gen: Box<dyn Generator>,
    gen_rng: StdRng,
    pacer: Pacer,
    factory: ClientFactory,
    workers: Vec<Worker>,
    nodes: Vec<String>,
    phase: Phase,
    cap: Option<Time>,
}

impl Workers {
    /// `concurrency` workers over `nodes`, issuing `rate` operations per second in the main
    /// phase.
    pub fn new(
        gen: Box<dyn Generator>,
        gen_rng: StdRng,
        factory: ClientFactory,
        concurrency: usize,
        nodes: Vec<String>,
        rate: f64,
        pacer_rng: StdRng,
    ) -> Self {
        let dt2 = (rate > 0.0).then(|| Duration::from_secs_f64(2.0 / rate));
        Self {
            gen,
            gen_rng,
            pacer: Pacer {
                next: Time::ZERO,
                cutoff: Time::ZERO,
                dt2,
                rng: pacer_rng,
            },
            factory,
            workers: (0..concurrency)
                .map(|t| Worker {
                    thread: t,
                    process: t as u64,
                    client: None,
                    state: State::Idle,
                })
                .collect(),
            nodes,
            phase: Phase::Main,
            cap: None,
        }
    }

    /// Whether the workload has a final phase.
    pub fn has_final_phase(&self) -> bool {
        self.gen.has_final_phase()
    }

    /// Sets the main phase's span: from `start` to `cutoff`.
    pub fn begin(&mut self, start: Time, cutoff: Time) {
        self.pacer.next = start;
        self.pacer.cutoff = cutoff;
    }

    /// Starts the main phase on every worker.
    pub fn start_main(&mut self, ctx: &mut Ctx<'_>) {
        for w in 0..self.workers.len() {
            self.next_main(w, ctx);
        }
    }

    /// Starts the final phase on every worker; operations stop at `cap`.
    pub fn start_final(&mut self, cap: Time, ctx: &mut Ctx<'_>) {
        self.phase = Phase::Final;
        self.cap = Some(cap);
        for w in 0..self.workers.len() {
            self.next_final(w, ctx);
        }
    }

    /// The final phase's cap passed: sleeping workers are done; working ones finish their
    /// operation first.
    pub fn cap_reached(&mut self) {
        for w in &mut self.workers {
            if matches!(w.state, State::Sleeping | State::Idle | State::MainDone) {
                w.state = State::Done;
            }
        }
    }

    /// Whether every worker is done with the main phase.
    pub fn main_done(&self) -> bool {
        self.workers
            .iter()
            .all(|w| matches!(w.state, State::MainDone | State::Done))
    }

    /// Whether every worker is done.
    pub fn all_done(&self) -> bool {
        self.workers.iter().all(|w| matches!(w.state, State::Done))
    }

    /// Ends every worker (the run ends) and closes their connections.
    pub fn close(&mut self, ctx: &mut Ctx<'_>) {
        for w in &mut self.workers {
            if let Some((conn, _)) = w.client.take() {
                ctx.conns.close(&conn, ctx.wires, ctx.timers);
            }
            w.state = State::Done;
        }
    }

    /// Worker `w`'s timer fired.
    pub fn wake(&mut self, w: usize, ctx: &mut Ctx<'_>) {
        match std::mem::replace(&mut self.workers[w].state, State::Idle) {
            State::Paced(due) => self.ask(w, due, ctx),
            State::Sleeping => match self.phase {
                Phase::Main => self.next_main(w, ctx),
                Phase::Final => self.next_final(w, ctx),
            },
            other => self.workers[w].state = other,
        }
    }

    /// The reply (or timeout) of worker `w`'s call.
    pub fn reply(&mut self, w: usize, reply: Reply, ctx: &mut Ctx<'_>) {
        let worker = &mut self.workers[w];
        let State::Calling(flight) = std::mem::replace(&mut worker.state, State::Idle) else {
            return;
        };
        let Some((_, client)) = worker.client.as_mut() else {
            return;
        };
        let step = client.on_reply(reply);
        self.step(w, flight, step, ctx);
    }

    /// Main phase: take the next pacer slot, or finish.
    fn next_main(&mut self, w: usize, ctx: &mut Ctx<'_>) {
        match self.pacer.reserve(ctx.now) {
            None => self.workers[w].state = State::MainDone,
            Some(due) => {
                self.workers[w].state = State::Paced(due);
                ctx.timers.set(due, Timer::Wake(w));
            }
        }
    }

    /// Final phase: ask the generator, unless the cap passed.
    fn next_final(&mut self, w: usize, ctx: &mut Ctx<'_>) {
        if self.cap.is_some_and(|cap| ctx.now >= cap) {
            self.workers[w].state = State::Done;
            return;
        }
        self.ask(w, ctx.now, ctx);
    }

    /// Asks the generator for worker `w`'s next operation, as of time `at`.
    fn ask(&mut self, w: usize, at: Time, ctx: &mut Ctx<'_>) {
        let thread = self.workers[w].thread;
        let next = self.gen.next(self.phase, thread, at, &mut self.gen_rng);
        match next {
            Next::Op(op) => self.perform(w, op, ctx),
            Next::Wait(d) => {
                let mut until = ctx.now + d;
                if self.phase == Phase::Main {
                    until = until.min(self.pacer.cutoff);
                }
                self.workers[w].state = State::Sleeping;
                ctx.timers.set(until, Timer::Wake(w));
            }
            Next::Done => {
                self.workers[w].state = match self.phase {
                    Phase::Main => State::MainDone,
                    Phase::Final => State::Done,
                };
            }
        }
    }

    /// Starts operation `op` on worker `w`: a connection if it has none, the invoke entry,
    /// the client's first step.
    fn perform(&mut self, w: usize, op: OpSpec, ctx: &mut Ctx<'_>) {
        let node = self.nodes[self.workers[w].thread % self.nodes.len()].clone();
        let worker = &mut self.workers[w];
        if worker.client.is_none() {
            let conn = ctx.conns.open(Owner::Worker(w), ctx.wires);
            worker.client = Some((conn, (self.factory)()));
        }
        let mut invoke = Op {
            index: 0,
            time: ctx.now,
            process: Process::Client(worker.process),
            kind: OpType::Invoke,
            f: op.f.clone(),
            value: op.value.clone().into(),
            is_final: self.phase == Phase::Final,
            error: None,
            node: Some(node.clone()),
        };
        invoke.index = ctx.history.push(invoke.clone());
        let Some((_, client)) = worker.client.as_mut() else {
            return;
        };
        let step = client.start(&op);
        self.step(w, Box::new(InFlight { op, invoke, node }), step, ctx);
    }

    /// Carries out one client step of worker `w`'s operation.
    fn step(&mut self, w: usize, flight: Box<InFlight>, step: Step, ctx: &mut Ctx<'_>) {
        match step {
            Step::Call { body, timeout } => {
                let worker = &mut self.workers[w];
                if let Some((conn, _)) = &worker.client {
                    ctx.conns.call(
                        conn,
                        &flight.node,
                        body,
                        timeout,
                        ctx.now,
                        ctx.wires,
                        ctx.timers,
                    );
                }
                worker.state = State::Calling(flight);
            }
            Step::Done(completion) => self.complete(w, *flight, completion, ctx),
        }
    }

    /// Records the completion, lets the generator see it, and moves on.
    fn complete(&mut self, w: usize, flight: InFlight, completion: Completion, ctx: &mut Ctx<'_>) {
        let InFlight { op, invoke, node } = flight;
        let (kind, value, error) = match completion {
            Completion::Ok(v) => (OpType::Ok, v, None),
            Completion::Fail(e) => (OpType::Fail, op.value.clone(), Some(e)),
            Completion::Info(e) => (OpType::Info, op.value.clone(), Some(e)),
        };
        let mut done = Op {
            index: 0,
            time: ctx.now,
            process: invoke.process,
            kind,
            f: op.f,
            value: value.into(),
            is_final: invoke.is_final,
            error,
            node: Some(node),
        };
        done.index = ctx.history.push(done.clone());
        self.gen.observe(&invoke, &done);
        let concurrency = self.workers.len() as u64;
        let worker = &mut self.workers[w];
        if kind == OpType::Info {
            worker.process += concurrency;
            let reusable = worker.client.as_ref().is_some_and(|(_, c)| c.reusable());
            if !reusable {
                if let Some((conn, _)) = worker.client.take() {
                    ctx.conns.close(&conn, ctx.wires, ctx.timers);
                }
            }
        }
        match self.phase {
            Phase::Main => self.next_main(w, ctx),
            Phase::Final => self.next_final(w, ctx),
        }
    }
}
