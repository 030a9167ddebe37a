//! A node end to end: echo requests through the release `echo` binary's stdin/stdout, next
//! to the same pipe loop through `cat` (the pipes' own ceiling) and through the `echo`
//! binary of the previous runtime (the tokio handler runtime with its own JSON reader),
//! whose path comes from the environment variable [`BASELINE_ECHO_ENV`]. Besides its
//! criterion figure (measured after the node's, so under whatever load the machine had
//! then), the baseline is compared in alternating batches with the node ([`paired_rounds`]).
//!
//! In process, the per-message path of every binary: `glomers_node::Runtime::handle_line`
//! on the echo machine (`glomers_shell::echo::Echo`), with the runtime's output buffer
//! drained after each line as the driver drains it, timed and with its allocations counted
//! by a global allocator, next to typed serde_json over borrowed structs into a reused
//! buffer.
//!
//! The `echo` binary is `<target>/release/echo` (see `glomers_benches::paths`); it is built
//! with cargo when missing. Writes `paths::e2e_report()` for the table generator.

use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use glomers_benches::alloc_count::CountingAlloc;
use glomers_benches::e2e_report::{
    AllocFigure, BaselineEcho, E2eReport, PairedFigure, ReplyCheck, ALLOC_TARGET, BASELINE_ECHO_ENV,
};
use glomers_benches::paths;
use glomers_benches::pipe::{echo_block, PipeError, Piped, INIT_LINE};
use glomers_node::{Runtime, Start, Time};
use glomers_shell::echo::Echo;
use serde::{Deserialize, Serialize};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Requests per timed batch; a sample is one or more batches.
const BATCH: u64 = 200_000;
/// Distinct request lines cycled through by the writer.
const BLOCK: u64 = 4096;
/// Messages through each in-process allocation loop.
const ALLOC_MESSAGES: u64 = 10_000;
/// Alternating rounds (one batch through each echo binary) of the paired comparison.
const PAIRED_ROUNDS: usize = 16;
/// The reply every echo node sends.
const ECHO_OK: &[u8] = br#""type":"echo_ok""#;

/// The same messages as borrowed typed structs, for the baseline loop.
#[derive(Deserialize)]
struct InEnv<'a> {
    #[serde(borrow)]
    src: std::borrow::Cow<'a, str>,
    body: InBody<'a>,
}

#[derive(Deserialize)]
struct InBody<'a> {
    msg_id: u64,
    #[serde(borrow)]
    echo: std::borrow::Cow<'a, str>,
}

#[derive(Serialize)]
struct OutEnv<'a> {
    src: &'a str,
    dest: &'a str,
    body: OutBody<'a>,
}

#[derive(Serialize)]
struct OutBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    echo: &'a str,
    in_reply_to: u64,
}

fn echo_machine(_start: Start<'_>) -> Echo {
    Echo
}

type EchoRuntime = Runtime<Echo, fn(Start<'_>) -> Echo>;

/// An echo node's runtime after `init`, its output drained.
fn echo_runtime() -> EchoRuntime {
    let mut rt: EchoRuntime = Runtime::new(echo_machine, glomers_node::Boot::default());
    rt.handle_line(Time::ZERO, INIT_LINE.as_bytes());
    assert!(
        rt.output()
            .starts_with(br#"{"src":"n0","dest":"c0","body":{"type":"init_ok""#),
        "no init_ok: {}",
        String::from_utf8_lossy(rt.output())
    );
    rt.output().clear();
    rt
}

/// One message through the runtime, as the driver runs it: the line in, the reply out of
/// the output buffer, the buffer drained. Returns the reply's length.
fn runtime_step(rt: &mut EchoRuntime, line: &str) -> usize {
    rt.handle_line(Time::ZERO, line.as_bytes());
    let out = rt.output();
    let n = out.len();
    out.clear();
    n
}

/// The same with typed borrowed structs and a reused output buffer.
fn typed_step(line: &str, out: &mut Vec<u8>) -> usize {
    let Ok(env) = serde_json::from_str::<InEnv>(line) else {
        return 0;
    };
    out.clear();
    let reply = OutEnv {
        src: "n0",
        dest: &env.src,
        body: OutBody {
            kind: "echo_ok",
            echo: &env.body.echo,
            in_reply_to: env.body.msg_id,
        },
    };
    match serde_json::to_writer(&mut *out, &reply) {
        Ok(()) => {
            out.push(b'\n');
            out.len()
        }
        Err(_) => 0,
    }
}

fn lines() -> Vec<String> {
    let block = echo_block(BLOCK);
    String::from_utf8_lossy(&block)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn count_allocs(
    label: &str,
    target_below: Option<f64>,
    lines: &[String],
    mut step: impl FnMut(&str) -> usize,
) -> AllocFigure {
    // Warm up (first-use allocations are not per message), then count.
    for l in lines.iter().take(100) {
        black_box(step(l));
    }
    let before = ALLOC.snapshot();
    for i in 0..ALLOC_MESSAGES as usize {
        black_box(step(&lines[i % lines.len()]));
    }
    let d = ALLOC.snapshot().since(before);
    AllocFigure {
        label: label.to_owned(),
        messages: ALLOC_MESSAGES,
        calls: d.calls,
        bytes: d.bytes,
        target_below,
    }
}

fn echo_binary() -> PathBuf {
    let bin = paths::release_bin("echo");
    if !bin.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(paths::workspace_root())
            .args(["build", "--release", "-p", "glomers-shell", "--bin", "echo"])
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!("building the echo binary failed: {other:?}"),
        }
    }
    bin
}

/// Times batches of echo requests through `piped` as benchmark `e2e/<id>` and records how
/// many replies contained `needle`.
fn pipe_bench(
    c: &mut Criterion,
    id: &str,
    piped: &mut Piped,
    needle: &'static [u8],
    checks: &RefCell<Vec<ReplyCheck>>,
) {
    let block = echo_block(BLOCK);
    let mut g = c.benchmark_group("e2e");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(BATCH));
    let (mut sent, mut matched) = (0u64, 0u64);
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                match piped.run(&block, BATCH, needle) {
                    Ok(batch) => {
                        total += batch.elapsed;
                        sent += batch.messages;
                        matched += batch.matched;
                    }
                    Err(e) => panic!("{id}: {e}"),
                }
            }
            total
        })
    });
    g.finish();
    if sent > 0 {
        checks.borrow_mut().push(ReplyCheck {
            id: format!("e2e/{id}"),
            messages: sent,
            matched,
        });
    }
}

fn start(id: &str, program: &Path) -> Piped {
    match Piped::start(program, &[]) {
        Ok(p) => p,
        Err(e) => panic!("{id}: {e}"),
    }
}

/// The previous runtime's echo binary, when [`BASELINE_ECHO_ENV`] names one, started.
fn baseline_echo() -> (BaselineEcho, Option<Piped>) {
    let Some(path) = std::env::var_os(BASELINE_ECHO_ENV) else {
        eprintln!("{BASELINE_ECHO_ENV} is not set: no previous-runtime echo row");
        return (BaselineEcho::NotGiven, None);
    };
    match Piped::start(Path::new(&path), &[]) {
        Ok(piped) => (BaselineEcho::Measured, Some(piped)),
        Err(e) => {
            eprintln!("{BASELINE_ECHO_ENV}: {e}");
            // The OS error only: the report goes into a tracked file, the path must not.
            let error = match e {
                PipeError::Spawn { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            (BaselineEcho::Failed { error }, None)
        }
    }
}

/// One batch through `piped`, checked: every reply an `echo_ok`.
fn checked_batch(id: &str, piped: &mut Piped, block: &[u8]) -> Duration {
    match piped.run(block, BATCH, ECHO_OK) {
        Ok(b) if b.matched == b.messages => b.elapsed,
        Ok(b) => panic!("{id}: {} of {} replies were echo_ok", b.matched, b.messages),
        Err(e) => panic!("{id}: {e}"),
    }
}

/// The two echo binaries in alternating batches, so that both meet the same load on a
/// shared machine: per round, the baseline's time over the node's (the order flips every
/// round, so a load that grows or shrinks favours neither).
fn paired_rounds(ours: &mut Piped, baseline: &mut Piped) -> PairedFigure {
    let block = echo_block(BLOCK);
    let mut speedups: Vec<f64> = (0..PAIRED_ROUNDS)
        .map(|round| {
            let (o, b) = if round % 2 == 0 {
                let o = checked_batch("echo-binary", ours, &block);
                (o, checked_batch("echo-baseline", baseline, &block))
            } else {
                let b = checked_batch("echo-baseline", baseline, &block);
                (checked_batch("echo-binary", ours, &block), b)
            };
            b.as_secs_f64() / o.as_secs_f64().max(1e-9)
        })
        .collect();
    speedups.sort_by(f64::total_cmp);
    PairedFigure::from_sorted(&speedups, BATCH)
}

fn in_process(c: &mut Criterion, lines: &[String]) -> Vec<AllocFigure> {
    let mut rt = echo_runtime();
    let mut out = Vec::with_capacity(256);
    // Both loops answer correctly before anything is timed or counted.
    assert!(runtime_step(&mut rt, &lines[0]) > 0 && typed_step(&lines[0], &mut out) > 0);
    rt.handle_line(Time::ZERO, lines[1].as_bytes());
    typed_step(&lines[1], &mut out);
    assert_eq!(
        String::from_utf8_lossy(rt.output()),
        String::from_utf8_lossy(&out),
        "the runtime and the typed loop answer differently"
    );
    rt.output().clear();
    {
        let mut g = c.benchmark_group("e2e");
        g.throughput(Throughput::Elements(1));
        let mut i = 0usize;
        g.bench_function("inproc-runtime", |b| {
            b.iter(|| {
                i = (i + 1) % lines.len();
                black_box(runtime_step(&mut rt, &lines[i]))
            })
        });
        g.bench_function("inproc-typed-serde-json", |b| {
            b.iter(|| {
                i = (i + 1) % lines.len();
                black_box(typed_step(&lines[i], &mut out))
            })
        });
        g.finish();
    }
    vec![
        count_allocs(
            "`Runtime::handle_line` on the echo machine, output drained (every binary's path)",
            Some(ALLOC_TARGET),
            lines,
            |l| runtime_step(&mut rt, l),
        ),
        count_allocs(
            "typed serde_json: borrowed structs, reply into a reused buffer",
            None,
            lines,
            |l| typed_step(l, &mut out),
        ),
    ]
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let checks = RefCell::new(Vec::new());
    let mut echo = start("echo-binary", &echo_binary());
    pipe_bench(&mut c, "echo-binary", &mut echo, ECHO_OK, &checks);
    let (baseline_echo, mut baseline) = baseline_echo();
    if let Some(b) = baseline.as_mut() {
        pipe_bench(&mut c, "echo-baseline", b, ECHO_OK, &checks);
    }
    let mut cat = start("cat", Path::new("cat"));
    pipe_bench(&mut c, "cat", &mut cat, br#""type":"echo""#, &checks);
    let paired = baseline.as_mut().map(|b| paired_rounds(&mut echo, b));
    let alloc = in_process(&mut c, &lines());
    c.final_summary();
    let report = E2eReport {
        alloc,
        replies: checks.into_inner(),
        baseline_echo,
        paired,
    };
    let path = paths::e2e_report();
    let written = std::fs::create_dir_all(paths::criterion_home()).and_then(|()| {
        serde_json::to_string_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|s| std::fs::write(&path, s))
    });
    if let Err(e) = written {
        eprintln!("cannot write {}: {e}", path.display());
    }
}
