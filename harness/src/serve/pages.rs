//! The server's own pages: the list of runs and folder listings.

use std::path::Path;

use serde_json::Value;

/// Largest `results.json` read for the list of runs.
const MAX_RESULTS_BYTES: u64 = 16 * 1024 * 1024;

/// `s` with `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment for a link.
fn encode(seg: &str) -> String {
    seg.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>{}</title>\
         <style>body{{font:14px sans-serif;margin:16px}}table{{border-collapse:collapse}}\
         td,th{{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}}\
         .valid{{color:#1a7f37}}.invalid{{color:#c62828;font-weight:bold}}.unknown{{color:#b26a00}}</style>\
         </head><body><h1>{}</h1>{body}</body></html>",
        escape(title),
        escape(title)
    )
}

fn read_results(dir: &Path) -> Option<Value> {
    let f = std::fs::File::open(dir.join("results.json")).ok()?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(f, MAX_RESULTS_BYTES), &mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

fn verdict(v: &Value) -> &'static str {
    match v {
        Value::Bool(true) => "valid",
        Value::Bool(false) => "invalid",
        Value::String(s) if s == "valid" => "valid",
        Value::String(s) if s == "invalid" => "invalid",
        _ => "unknown",
    }
}

fn figure(v: Option<&Value>, digits: usize) -> String {
    v.and_then(Value::as_f64)
        .map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

/// One table row for the run folder `workload/name`.
fn row(workload: &str, name: &str, dir: &Path) -> String {
    let r = read_results(dir).unwrap_or(Value::Null);
    let v = verdict(&r["valid"]);
    let page = if dir.join(crate::html::FILE).is_file() {
        crate::html::FILE
    } else {
        ""
    };
    let href = format!("{}/{}/{page}", encode(workload), encode(name));
    let lat = r.pointer("/perf/latencies/overall/all/quantiles_ms");
    format!(
        "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td class=\"{v}\">{v}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(workload),
        escape(&href),
        escape(name),
        r["nodes"].as_array().map_or(0, Vec::len),
        figure(r.pointer("/net/all/msg_count"), 0),
        figure(r.pointer("/net/servers/msgs_per_op"), 2),
        figure(lat.and_then(|l| l.get("0.5")), 0),
        figure(lat.and_then(|l| l.get("0.99")), 0),
        figure(r.get("wall_secs"), 1),
    )
}

fn subfolders(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        // Real folders only: `latest` links would list a run twice.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    out.sort();
    out
}

/// The list of runs in `root`: newest first.
pub fn runs(root: &Path) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    for w in subfolders(root) {
        for name in subfolders(&root.join(&w)) {
            let r = row(&w, &name, &root.join(&w).join(&name));
            rows.push((name, r));
        }
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0));
    let body = format!(
        "<p>{} runs in {}. <a href=\"latest/\">latest</a></p><table><tr><th>workload</th><th>time (UTC)</th>\
         <th>verdict</th><th>nodes</th><th>messages</th><th>server msgs-per-op</th><th>p50 ms</th>\
         <th>p99 ms</th><th>wall s</th></tr>{}</table>",
        rows.len(),
        escape(&root.display().to_string()),
        rows.into_iter().map(|r| r.1).collect::<String>()
    );
    shell("glomers runs", &body)
}

/// A listing of `dir` (inside `root`).
pub fn folder(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let is_dir = e.path().is_dir();
            e.file_name().into_string().ok().map(|n| (n, is_dir))
        })
        .collect();
    names.sort();
    let items: String = names
        .iter()
        .map(|(n, d)| {
            let slash = if *d { "/" } else { "" };
            format!(
                "<li><a href=\"{}{slash}\">{}{slash}</a></li>",
                escape(&encode(n)),
                escape(n)
            )
        })
        .collect();
    shell(
        &format!("/{rel}"),
        &format!("<p><a href=\"/\">all runs</a></p><ul>{items}</ul>"),
    )
}
