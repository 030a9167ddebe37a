//! The run page (`index.html`) in a real browser: Debian's chromium, headless, driven over
//! the DevTools protocol, against pages served by `glomers serve` (and one opened from
//! disk). Runs are made here with the Python nodes in `tests/mutants/`.
//!
//! Needs chromium: `.ci/deps` installs it. Without it these tests fail (they never pass
//! silently).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::{json, Value};

fn chromium() -> PathBuf {
    let p = PathBuf::from("/usr/bin/chromium");
    assert!(
        p.is_file(),
        "chromium is missing: run .ci/deps (it installs chromium and chromium-driver)"
    );
    p
}

/// A fresh temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp(tag: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("glomers-page-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    TempDir(d)
}

fn mutant(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mutants")
        .join(name)
        .display()
        .to_string()
}

/// Runs `glomers ARGS`; returns its exit status.
fn glomers(args: &[&str]) -> i32 {
    let out = Command::new(env!("CARGO_BIN_EXE_glomers"))
        .args(args)
        .output()
        .expect("glomers runs");
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    out.status.code().unwrap_or(-1)
}

/// `glomers serve STORE --port 0`, killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(store: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_glomers"))
            .args(["serve", store.to_str().expect("utf-8 path"), "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("serve prints its address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless chromium with the brief's flags and a fresh profile, and the console errors
/// of its tab.
struct Page {
    _browser: Browser,
    tab: Arc<Tab>,
    errors: Arc<Mutex<Vec<String>>>,
    // Last: removed once the browser is gone.
    _profile: TempDir,
}

impl Page {
    fn open() -> Page {
        let profile = temp("profile");
        let flags = [
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let args: Vec<&std::ffi::OsStr> = flags.iter().map(std::ffi::OsStr::new).collect();
        let options = LaunchOptions::default_builder()
            .path(Some(chromium()))
            .headless(true)
            .sandbox(false)
            .disable_default_args(true)
            .args(args)
            .user_data_dir(Some(profile.to_path_buf()))
            .window_size(Some((1400, 1000)))
            .idle_browser_timeout(Duration::from_secs(300))
            .build()
            .expect("launch options");
        let browser = Browser::new(options).expect("chromium starts");
        let tab = browser.new_tab().expect("tab");
        tab.enable_log().expect("log domain");
        tab.enable_runtime().expect("runtime domain");
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = errors.clone();
        tab.add_event_listener(Arc::new(move |e: &Event| {
            let msg = match e {
                Event::RuntimeExceptionThrown(x) => {
                    Some(format!("{:?}", x.params.exception_details))
                }
                Event::LogEntryAdded(x) if format!("{:?}", x.params.entry.level) == "Error" => {
                    Some(format!(
                        "{}: {}",
                        x.params.entry.url.clone().unwrap_or_default(),
                        x.params.entry.text
                    ))
                }
                Event::RuntimeConsoleAPICalled(x) if format!("{:?}", x.params.Type) == "Error" => {
                    Some(format!("console.error {:?}", x.params.args))
                }
                _ => None,
            };
            if let Some(m) = msg {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(m);
            }
        }))
        .expect("listener");
        Page {
            _browser: browser,
            tab,
            errors,
            _profile: profile,
        }
    }

    /// Navigates to `url` and waits for `window.report.ready`; returns the time it took.
    fn load(&self, url: &str) -> Duration {
        let t = Instant::now();
        self.tab.navigate_to(url).expect("navigate");
        self.tab.wait_until_navigated().expect("navigated");
        while self.eval("window.report && window.report.ready === true") != json!(true) {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "page never became ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        t.elapsed()
    }

    /// Evaluates `expr` and returns its value through JSON.
    fn eval(&self, expr: &str) -> Value {
        let r = self
            .tab
            .evaluate(&format!("JSON.stringify({expr})"), false)
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        r.value
            .and_then(|v| v.as_str().and_then(|s| serde_json::from_str(s).ok()))
            .unwrap_or(Value::Null)
    }

    fn click(&self, selector: &str) {
        self.tab
            .find_element(selector)
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .click()
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    fn stats(&self) -> Value {
        self.eval("window.report.stats()")
    }

    fn assert_no_errors(&self) {
        let errors = self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        assert!(errors.is_empty(), "console errors: {errors:#?}");
    }
}

/// The message lines of a run's messages.jsonl (without the summary line).
fn logged_messages(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("messages.jsonl"))
        .expect("messages.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|m| m.get("id").is_some())
        .collect()
}

/// The one run folder under `store/<workload>/`.
fn run_folder(store: &Path, workload: &str) -> PathBuf {
    std::fs::read_dir(store.join(workload))
        .expect("workload folder")
        .flatten()
        .find(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .expect("a run folder")
        .path()
}

/// The one broadcast run in `store`, served by `glomers serve`, and a browser.
struct Served {
    run: PathBuf,
    name: String,
    server: Server,
    page: Page,
}

impl Served {
    fn start(store: &Path) -> Served {
        let run = run_folder(store, "broadcast");
        let name = run
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        Served {
            run,
            name,
            server: Server::start(store),
            page: Page::open(),
        }
    }

    /// Loads the run's page and prints how long it took to become interactive.
    fn load_run_page(&self, what: &str) {
        let took = self.page.load(&format!(
            "{}/broadcast/{}/index.html",
            self.server.url, self.name
        ));
        println!(
            "page of {what} ({} bytes): interactive {} ms after navigation started (page's clock; script {} ms; {} ms as the test saw it)",
            std::fs::metadata(self.run.join("index.html")).map_or(0, |m| m.len()),
            self.page.eval("Math.round(window.report.readyAt)"),
            self.page.eval("Math.round(window.report.loadMs)"),
            took.as_millis(),
        );
    }
}

#[test]
fn served_page_of_a_run_shows_its_messages_filters_and_anomalies() {
    let store = temp("store");
    // Nodes that never forward: reads elsewhere miss acknowledged values (lost elements).
    let code = glomers(&[
        "test",
        "-w",
        "broadcast",
        "--bin",
        &mutant("broadcast_node.py"),
        "--node-count",
        "3",
        "--time-limit",
        "3",
        "--recovery",
        "1",
        "--rate",
        "10",
        "--nemesis",
        "partition",
        "--nemesis-interval",
        "1",
        "--init-timeout",
        "60",
        "--seed",
        "7",
        "--store",
        store.to_str().expect("utf-8"),
        "--",
        "local",
    ]);
    assert_eq!(code, 1, "the never-forwarding node must be invalid");
    let s = Served::start(&store);
    let page = &s.page;

    // The list of runs links to the run's page.
    page.load_plain(&format!("{}/", s.server.url));
    let link = page.eval("document.querySelector('a[href*=\"index.html\"]').getAttribute('href')");
    assert_eq!(link, json!(format!("broadcast/{}/index.html", s.name)));

    s.load_run_page("a 3-node run");
    node_memory_is_among_the_facts(page, &s.run);
    let messages = logged_messages(&s.run);
    all_messages_drawn(page, &messages);
    type_filter_hides_its_arrows(page, &messages);
    arrow_click_shows_the_body(page, &messages);
    anomaly_click_brings_its_operation_into_view(page);

    // A node's log is one click away.
    page.click(".log-button[data-node=\"n0\"]");
    assert_eq!(
        page.eval("!!document.getElementById('log-n0')"),
        json!(true)
    );
    page.assert_no_errors();
}

/// The largest of the nodes' peak resident sets in results.json is shown with the run's
/// figures.
fn node_memory_is_among_the_facts(page: &Page, run: &Path) {
    let results: Value = std::fs::read_to_string(run.join("results.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .expect("results.json");
    let max_kib = results["node_memory"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, m)| m["peak_rss_kib"].as_u64())
        .max()
        .expect("a node memory figure in results.json");
    let facts = page.eval("document.getElementById('facts').textContent");
    let shown = format!("node peak RSS {:.1} MiB", max_kib as f64 / 1024.0);
    assert!(
        facts.as_str().is_some_and(|f| f.contains(&shown)),
        "{facts} lacks {shown:?}"
    );
}

fn all_messages_drawn(page: &Page, messages: &[Value]) {
    // Every logged message is drawn once clients without operations are shown.
    assert!(messages.len() > 30, "{} messages", messages.len());
    page.click("#show-idle");
    let s = page.stats();
    assert_eq!(s["messages"], json!(messages.len()));
    assert_eq!(s["drawn"], json!(messages.len()));
    assert_eq!(
        page.eval("document.getElementById('msg-count').dataset.drawn"),
        json!(messages.len().to_string())
    );
}

fn type_filter_hides_its_arrows(page: &Page, messages: &[Value]) {
    // Hiding the `read` type hides exactly the read arrows.
    let reads = messages.iter().filter(|m| m["type"] == "read").count();
    assert!(reads > 0);
    page.eval("document.querySelector('#type-list').closest('details').open = true");
    page.click("input[data-type=\"read\"]");
    assert_eq!(page.stats()["drawn"], json!(messages.len() - reads));
    page.click("input[data-type=\"read\"]");
    assert_eq!(page.stats()["drawn"], json!(messages.len()));
    // The open panel lies over part of the timeline: closed again for the clicks that follow.
    page.eval("document.querySelector('#type-list').closest('details').open = false");
}

fn arrow_click_shows_the_body(page: &Page, messages: &[Value]) {
    // A click on an arrow shows that message's body. On a loaded machine the page may lay
    // itself out again between finding the arrow and the click landing (the click then
    // picks nothing); the arrow is found afresh and clicked again, three times at most.
    let mut last = String::new();
    for attempt in 1..=3 {
        let (id, x, y) = lone_arrow(page);
        page.tab
            .click_point(Point { x, y })
            .expect("click on the arrow");
        let detail = page.eval("document.getElementById('detail').textContent");
        last = detail.as_str().unwrap_or_default().to_string();
        if !last.starts_with(&format!("message {id} ")) {
            eprintln!("click {attempt} at ({x}, {y}) on message {id} showed {last:?}");
            continue;
        }
        let body = messages
            .iter()
            .find(|m| m["id"] == id)
            .map(|m| m["body"].clone())
            .expect("logged");
        assert!(
            last.contains(&serde_json::to_string_pretty(&body).expect("json")),
            "{last}"
        );
        return;
    }
    panic!("three clicks on lone arrows showed no message; the last showed {last:?}");
}

/// An arrow that alone is within reach of a click at whole-pixel coordinates near its
/// middle, on screen and not under another element (an open filter panel): its message id
/// and the point to click. Messages without latency sent
/// within a fraction of a millisecond overlap at the run's full width, so the view is
/// zoomed in around each candidate in turn until one stands alone.
fn lone_arrow(page: &Page) -> (u64, f64, f64) {
    page.eval("document.getElementById('timeline').scrollIntoView()");
    let target = page.eval(
        "(() => { const tl = window.report.timeline;
           const alone = (m) => {
             const r = tl.canvas.getBoundingClientRect();
             const cx = Math.round(r.left + (tl.x(m.sent) + tl.x(m.at)) / 2);
             const cy = Math.round(r.top + (tl.y(m.srcLane) + tl.y(m.destLane)) / 2);
             if (!(cy > 0 && cy < innerHeight && cx > r.left && cx < r.right)) return null;
             if (document.elementFromPoint(cx, cy) !== tl.canvas) return null;
             for (const [dx, dy] of [[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]]) {
               const hit = tl.pick(cx + dx - r.left, cy + dy - r.top);
               if (hit === null || hit.message !== m) return null;
             }
             return { id: m.id, x: cx, y: cy };
           };
           const candidates = window.report.run.messages
             .filter((m) => tl.messageVisible(m) && m.at !== null).slice(0, 300);
           for (const m of candidates) { const hit = alone(m); if (hit) return hit; }
           for (const pad of [1e5, 1e6, 1e7]) {
             for (const m of candidates) {
               tl.setView(m.sent - pad, m.at + pad);
               const hit = alone(m);
               if (hit) return hit;
             }
           }
           return null; })()",
    );
    match (
        target["id"].as_u64(),
        target["x"].as_f64(),
        target["y"].as_f64(),
    ) {
        (Some(id), Some(x), Some(y)) => (id, x, y),
        _ => panic!("no arrow to click: {target}"),
    }
}

fn anomaly_click_brings_its_operation_into_view(page: &Page) {
    // A click on an anomaly's operation brings it into view: its bar outlined, the view
    // around it, the timeline on screen.
    let op: u64 = page
        .eval("Number(document.querySelector('#check-workload .op-link').dataset.op)")
        .as_u64()
        .expect("an anomaly with an operation");
    page.eval("window.scrollTo(0, 0)");
    page.click("#check-workload .op-link");
    let s = page.stats();
    let span = page.eval(&format!(
        "(() => {{ const s = window.report.run.byIndex.get({op}); return {{inv: s.inv.index, t0: s.t0, t1: s.t1}}; }})()"
    ));
    assert_eq!(s["highlight"], span["inv"]);
    let (v0, v1) = (
        s["view"][0].as_f64().unwrap_or(f64::NAN),
        s["view"][1].as_f64().unwrap_or(f64::NAN),
    );
    let (t0, t1) = (
        span["t0"].as_f64().unwrap_or(f64::NAN),
        span["t1"].as_f64().unwrap_or(f64::NAN),
    );
    assert!(
        v0 <= t0 && t1 <= v1 && (v1 - v0) < 2e9,
        "view {v0}..{v1} around op {t0}..{t1}"
    );
    let on_screen = page.eval(
        "(() => { const r = document.getElementById('timeline').getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; })()",
    );
    assert_eq!(on_screen, json!(true));
}

impl Page {
    /// Navigates to a page without a report (the list of runs).
    fn load_plain(&self, url: &str) {
        self.tab.navigate_to(url).expect("navigate");
        self.tab.wait_until_navigated().expect("navigated");
    }
}

/// A lin-kv run's results as its checker reports them, written by hand: a stale read
/// (`nonlinearizable`, key 3) over four operations of three processes.
fn write_lin_kv_run(dir: &Path) {
    let op = |index: u64, time_ms: u64, p: u64, kind: &str, f: &str, value: Value| {
        json!({"index": index, "time": time_ms * 1_000_000, "process": {"client": p},
               "type": kind, "f": f, "value": value, "node": "n0"})
    };
    let history = [
        op(0, 0, 0, "invoke", "write", json!([3, 1])),
        op(1, 1, 1, "invoke", "read", json!([3, null])),
        op(2, 5, 0, "ok", "write", json!([3, 1])),
        op(3, 6, 1, "ok", "read", json!([3, 1])),
        op(4, 10, 0, "invoke", "write", json!([3, 2])),
        op(5, 12, 0, "ok", "write", json!([3, 2])),
        op(6, 20, 2, "invoke", "read", json!([3, null])),
        op(7, 25, 2, "ok", "read", json!([3, 1])),
        op(8, 30, 1, "invoke", "cas", json!([3, [2, 4]])),
        op(9, 31, 1, "info", "cas", json!([3, [2, 4]])),
    ];
    let text: String = history.iter().map(|o| format!("{o}\n")).collect();
    std::fs::write(dir.join("history.jsonl"), text).expect("history");
    let results = json!({
        "valid": "invalid", "workload_name": "lin-kv", "nodes": ["n0"],
        "workload": {"valid": "invalid", "problems": ["key 3: stale read"], "details": {
            "anomalies": [
                {"kind": "nonlinearizable", "key": 3, "ops": [0, 4, 7],
                 "text": "read of key 3 returned 1 after write 2 completed"},
                {"kind": "nonlinearizable", "key": 3, "ops": [4, 7, 8], "unorderable": [7],
                 "text": "the read cannot follow write 2"}
            ]}},
        "stats": {"valid": "valid", "problems": [], "details": {}}
    });
    std::fs::write(dir.join("results.json"), results.to_string()).expect("results");
}

#[test]
fn lin_kv_witness_is_drawn_from_the_anomalies_on_a_page_opened_from_disk() {
    let dir = temp("lin-kv");
    write_lin_kv_run(&dir);
    assert_eq!(glomers(&["report", dir.to_str().expect("utf-8")]), 0);
    let page = Page::open();
    page.load(&format!("file://{}", dir.join("index.html").display()));
    let count = |sel: &str| page.eval(&format!("document.querySelectorAll('{sel}').length"));
    assert_eq!(count(".witness"), json!(2));
    // First witness: three operations, all needed; second: only the read is unorderable.
    assert_eq!(count(".witness:nth-of-type(1) .witness-op"), json!(3));
    assert_eq!(
        count(".witness:nth-of-type(1) .witness-op.unorderable"),
        json!(3)
    );
    assert_eq!(count(".witness:nth-of-type(2) .witness-op"), json!(3));
    assert_eq!(
        page.eval("[...document.querySelectorAll('.witness:nth-of-type(2) .witness-op.unorderable')].map(g => Number(g.dataset.op))"),
        json!([6])
    );
    // Rows per process, bars labelled with what each op did and returned.
    let labels = page.eval("[...document.querySelectorAll('.witness:nth-of-type(1) .witness-op text')].map(t => t.textContent)");
    let labels: Vec<String> = serde_json::from_value(labels).unwrap_or_default();
    assert!(
        labels.iter().any(|l| l == "read [3,null] → [3,1]"),
        "{labels:?}"
    );
    assert!(labels.iter().any(|l| l == "write [3,2]"), "{labels:?}");
    // A bar leads to the operation on the timeline.
    page.click(".witness:nth-of-type(2) .witness-op[data-op=\"8\"] rect");
    assert_eq!(page.stats()["highlight"], json!(8));
    assert_eq!(
        page.eval("document.getElementById('witness-section').hidden"),
        json!(false)
    );
    page.assert_no_errors();
}

/// The page of a real `glomers challenge 3d` run (25 nodes, 20 s, the project's release
/// broadcast node): how long until it is interactive. Needs `cargo build --release -p
/// glomers-shell --bins` first; run with `--ignored`.
#[test]
#[ignore = "needs the release broadcast node; a full 3d run takes about 40 s"]
fn page_of_a_3d_run_opens_quickly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join("target/release/broadcast");
    assert!(
        bin.is_file(),
        "{} missing: cargo build --release -p glomers-shell --bins",
        bin.display()
    );
    let store = temp("3d");
    let code = glomers(&[
        "challenge",
        "3d",
        "--no-build",
        "--store",
        store.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "challenge 3d");
    let s = Served::start(&store);
    let messages = logged_messages(&s.run).len();
    s.load_run_page(&format!("a 3d run, {messages} messages"));
    let page = &s.page;
    page.click("#show-idle");
    assert_eq!(page.stats()["drawn"], json!(messages));
    page.assert_no_errors();
}
