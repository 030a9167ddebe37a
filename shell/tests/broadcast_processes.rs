//! The 3d/3e workload against real `broadcast` processes, with an in-test router in place
//! of Maelstrom's network: 100 ms node-to-node latency (each message delivered at its
//! deadline), 0 ms to clients, one client per node, rate 100 with half broadcasts and half
//! reads, then a 10 s quiet period and one final read per client. The history goes through
//! the same `set-full` analysis as the simulator.
//!
//! Wall-clock measurements depend on the machine, so the test is ignored by default:
//! `cargo test --release -p glomers-shell --test broadcast_processes -- --ignored --nocapture`.
//! Knobs: `GLOMERS_RUN_ARGS` (extra node flags, e.g. `--mode messages`), `GLOMERS_RUN_SECS`
//! (main phase, default 20), `GLOMERS_RUN_NODES` (default 25), `GLOMERS_RUN_LATENCY_MS`
//! (default 100), `GLOMERS_RUN_RATE` (operations per second, default 100), `GLOMERS_RUN_SEED`, `GLOMERS_RUN_PARTITIONS=1` (majority splits on and off
//! every 3 s during the main phase).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use glomers_shell::broadcast::sim::{analyze, HistoryOp};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// A node-to-node line on its way: (deadline, sequence, source, destination, line).
type InFlight = (Instant, u64, usize, usize, String);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

struct Procs {
    children: Vec<Child>,
    stdins: Vec<ChildStdin>,
    lines: Receiver<(usize, String)>,
}

impl Procs {
    fn spawn(n: usize, args: &[String]) -> Self {
        let (tx, lines) = channel();
        let mut children = Vec::new();
        let mut stdins = Vec::new();
        for i in 0..n {
            let mut child = Command::new(env!("CARGO_BIN_EXE_broadcast"))
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("broadcast binary starts");
            stdins.push(child.stdin.take().expect("stdin"));
            let stdout = child.stdout.take().expect("stdout");
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send((i, line)).is_err() {
                        break;
                    }
                }
            });
            children.push(child);
        }
        Self {
            children,
            stdins,
            lines,
        }
    }

    fn write(&mut self, i: usize, line: &str) {
        let s = &mut self.stdins[i];
        let _ = s.write_all(line.as_bytes());
        let _ = s.write_all(b"\n");
        let _ = s.flush();
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
#[ignore = "wall-clock run of 25 processes; run on demand"]
fn efficient_broadcast_with_real_processes() {
    let n = env_u64("GLOMERS_RUN_NODES", 25) as usize;
    let secs = env_u64("GLOMERS_RUN_SECS", 20);
    let latency = Duration::from_millis(env_u64("GLOMERS_RUN_LATENCY_MS", 100));
    let seed = env_u64("GLOMERS_RUN_SEED", 1);
    let rate = env_u64("GLOMERS_RUN_RATE", 100).max(1);
    let partitions = env_u64("GLOMERS_RUN_PARTITIONS", 0) == 1;
    let args: Vec<String> = std::env::var("GLOMERS_RUN_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut procs = Procs::spawn(n, &args);
    let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let init = json!({"src": "c0", "dest": id, "body": {"type": "init", "msg_id": 1, "node_id": id, "node_ids": ids}});
        procs.write(i, &init.to_string());
        let topo = json!({"src": "c0", "dest": id, "body": {"type": "topology", "msg_id": 2, "topology": {}}});
        procs.write(i, &topo.to_string());
    }
    let mut setup_replies = 0;
    while setup_replies < 2 * n {
        let (_, line) = procs
            .lines
            .recv_timeout(Duration::from_secs(10))
            .expect("init_ok and topology_ok");
        let v: Value = serde_json::from_str(&line).expect("JSON");
        if v["dest"].as_str().is_some_and(|d| d.starts_with('c')) {
            setup_replies += 1;
        }
    }

    let start = Instant::now();
    let ms = |t: Instant| t.duration_since(start).as_millis() as u64;
    let main_end = start + Duration::from_secs(secs);
    let final_at = main_end + Duration::from_secs(10);
    let give_up = final_at + Duration::from_secs(10);
    let mut heap: BinaryHeap<Reverse<InFlight>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut ops: Vec<HistoryOp> = Vec::new();
    let mut pending: HashMap<(usize, u64), usize> = HashMap::new();
    let mut busy = vec![false; n];
    let mut msg_ids = vec![10u64; n];
    let mut next_value = 0u64;
    let mut next_op = start;
    let mut finals_started = false;
    let mut server_msgs = 0u64;
    let mut dropped = 0u64;
    let mut blocked: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut next_nemesis = start;
    let mut cut = false;

    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(e)| e.0 <= now) {
            let Some(Reverse((_, _, src, dest, line))) = heap.pop() else {
                break;
            };
            if blocked[dest].contains(&src) {
                dropped += 1;
            } else {
                procs.write(dest, &line);
            }
        }
        if partitions && now >= next_nemesis && now < main_end {
            for b in &mut blocked {
                b.clear();
            }
            if !cut {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rng);
                let (a, b) = order.split_at(n / 2);
                for &x in a {
                    for &y in b {
                        blocked[x].insert(y);
                        blocked[y].insert(x);
                    }
                }
            }
            cut = !cut;
            next_nemesis = now + Duration::from_secs(3);
        }
        if now >= main_end {
            for b in &mut blocked {
                b.clear();
            }
        }
        let idle: Vec<usize> = (0..n).filter(|c| !busy[*c]).collect();
        let mut start_op = |client: usize, is_final: bool, rng: &mut StdRng, procs: &mut Procs| {
            msg_ids[client] += 1;
            let id = msg_ids[client];
            let body = if is_final || rng.random_bool(0.5) {
                ops.push(HistoryOp {
                    invoke: ms(Instant::now()),
                    complete: None,
                    broadcast: None,
                    read: None,
                    is_final,
                    node: client,
                });
                json!({"type": "read", "msg_id": id})
            } else {
                let v = next_value;
                next_value += 1;
                ops.push(HistoryOp {
                    invoke: ms(Instant::now()),
                    complete: None,
                    broadcast: Some(v),
                    read: None,
                    is_final,
                    node: client,
                });
                json!({"type": "broadcast", "message": v, "msg_id": id})
            };
            pending.insert((client, id), ops.len() - 1);
            busy[client] = true;
            let line = json!({"src": format!("c{client}"), "dest": ids[client], "body": body});
            procs.write(client, &line.to_string());
        };
        if now < main_end && now >= next_op {
            if let Some(&c) = idle.choose(&mut rng) {
                start_op(c, false, &mut rng, &mut procs);
            }
            next_op += Duration::from_micros(rng.random_range(0..2_000_000 / rate));
        }
        if now >= final_at && !finals_started {
            finals_started = true;
            for c in 0..n {
                start_op(c, true, &mut rng, &mut procs);
            }
        }
        if finals_started && pending.is_empty() {
            break;
        }
        assert!(now < give_up, "final reads did not complete");
        let mut wake = now + Duration::from_millis(1);
        if let Some(Reverse(e)) = heap.peek() {
            wake = wake.min(e.0);
        }
        let wait = wake.saturating_duration_since(Instant::now());
        let first = match procs.lines.recv_timeout(wait) {
            Ok(x) => Some(x),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("a node exited"),
        };
        let mut batch: Vec<(usize, String)> = first.into_iter().collect();
        batch.extend(procs.lines.try_iter());
        for (src, line) in batch {
            let v: Value = serde_json::from_str(&line).expect("node output is JSON");
            let dest = v["dest"].as_str().unwrap_or_default();
            if let Some(d) = dest.strip_prefix('n').and_then(|d| d.parse::<usize>().ok()) {
                server_msgs += 1;
                seq += 1;
                heap.push(Reverse((Instant::now() + latency, seq, src, d, line)));
            } else if let Some(c) = dest.strip_prefix('c').and_then(|c| c.parse::<usize>().ok()) {
                let Some(reply_to) = v["body"]["in_reply_to"].as_u64() else {
                    continue;
                };
                if let Some(op) = pending.remove(&(c, reply_to)) {
                    busy[c] = false;
                    ops[op].complete = Some(ms(Instant::now()));
                    if let Some(a) = v["body"]["messages"].as_array() {
                        ops[op].read = Some(a.iter().filter_map(Value::as_u64).collect());
                    }
                }
            }
        }
    }
    let r = analyze(&ops, server_msgs, dropped, &[]);
    println!(
        "args={args:?} nodes={n} rate={rate} seed={seed} partitions={partitions} ops={} msgs_per_op={:.3} median={} max={} p95={} lost={} missing={} finals={}",
        r.ops,
        r.msgs_per_op,
        r.stable.median,
        r.stable.max,
        r.stable.p95,
        r.lost,
        r.missing_in_final_reads,
        r.final_reads
    );
    assert!(r.complete(n), "{r:?}");
}
