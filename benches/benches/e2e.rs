//! A node end to end: echo requests through the release `echo` binary's stdin/stdout, next
//! to the same pipe loop through `cat` (the pipes' own ceiling), and the allocations of the
//! shell's protocol path per message, counted by a global allocator in an in-process
//! decode → handle → encode loop over `glomers_shell::protocol`: the calls the handler
//! runtime makes for each request (`read_frame`, `Frame::decode`, `encode_line_into` into the
//! reused output buffer).
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
use glomers_benches::paths;
use glomers_benches::pipe::{echo_block, Piped};
use glomers_benches::table::{AllocFigure, E2eReport, ReplyCheck};
use glomers_shell::protocol::{encode_line_into, read_frame};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Requests per timed batch; a sample is one or more batches.
const BATCH: u64 = 200_000;
/// Distinct request lines cycled through by the writer.
const BLOCK: u64 = 4096;
/// Messages through each in-process allocation loop.
const ALLOC_MESSAGES: u64 = 10_000;

/// The `echo` binary's types, as in shell/src/bin/echo.rs.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Request {
    Echo { echo: Value },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Response {
    EchoOk { echo: Value },
}

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

/// One message through the shell's protocol path, as the echo node handles it: parse the
/// line, decode the body, answer, encode the reply line into a reused buffer (as the
/// runtime's output buffer is). Returns the reply's length.
fn shell_step(line: &str, out: &mut Vec<u8>) -> usize {
    let Ok(frame) = read_frame(line) else {
        return 0;
    };
    let Ok(Request::Echo { echo }) = frame.decode::<Request>() else {
        return 0;
    };
    let reply = Response::EchoOk { echo };
    out.clear();
    match encode_line_into(out, &frame.dest, &frame.src, None, frame.msg_id, &reply) {
        Ok(()) => out.len(),
        Err(_) => 0,
    }
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
        Ok(()) => out.len(),
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

fn count_allocs(label: &str, lines: &[String], mut step: impl FnMut(&str) -> usize) -> AllocFigure {
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

fn pipe_bench(
    c: &mut Criterion,
    id: &str,
    program: &Path,
    needle: &'static [u8],
    checks: &RefCell<Vec<ReplyCheck>>,
) {
    let block = echo_block(BLOCK);
    let mut piped = match Piped::start(program, &[]) {
        Ok(p) => p,
        Err(e) => panic!("{id}: {e}"),
    };
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

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let checks = RefCell::new(Vec::new());
    let echo = echo_binary();
    pipe_bench(
        &mut c,
        "echo-binary",
        &echo,
        br#""type":"echo_ok""#,
        &checks,
    );
    pipe_bench(
        &mut c,
        "cat",
        Path::new("cat"),
        br#""type":"echo""#,
        &checks,
    );

    let lines = lines();
    let mut out = Vec::with_capacity(256);
    {
        let mut g = c.benchmark_group("e2e");
        g.throughput(Throughput::Elements(1));
        let mut i = 0usize;
        g.bench_function("inproc-shell", |b| {
            b.iter(|| {
                i = (i + 1) % lines.len();
                black_box(shell_step(&lines[i], &mut out))
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
    // Correctness of both loops before their counts are reported.
    assert!(shell_step(&lines[0], &mut out) > 0 && typed_step(&lines[0], &mut out) > 0);
    let alloc = vec![
        count_allocs(
            "`glomers_shell::protocol`: `read_frame` → `Frame::decode` → `encode_line_into` (the echo node's path)",
            &lines,
            |l| shell_step(l, &mut out),
        ),
        count_allocs(
            "typed serde_json: borrowed structs, reply into a reused buffer",
            &lines,
            |l| typed_step(l, &mut out),
        ),
    ];
    c.final_summary();
    let report = E2eReport {
        alloc,
        replies: checks.into_inner(),
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
