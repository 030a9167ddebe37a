//! `index.html` of a run folder: the verdict and every anomaly, a message timeline, the
//! lin-kv witness, the plots and the node logs, in one page that works offline.
//!
//! The page is built from the run folder's own files by [`write`]: `results.json`,
//! `history.jsonl`, `messages.jsonl` (see `crate::journal`) and `node-logs/*.log` are copied
//! into `<script type="application/json">` blocks (each `<` written as `\u003c`, which keeps
//! the JSON valid and the HTML parser out of the data); the plots are the SVG files next to
//! it. The style and the scripts are the files beside this module (`page.html`,
//! `report.css`, `data.js`, `timeline.js`, `witness.js`, `report.js`), compiled into the binary. No file is
//! fetched and nothing goes to the network, so the page opens from disk or through
//! `glomers serve` alike. Missing files are shown as missing: a hand-written
//! `results.json` and `history.jsonl` are enough for the checks and the lin-kv witness.
//!
//! Bounds: `messages.jsonl` is bounded by the message log's own limits and copied in chunks
//! (never held whole); each node log is embedded up to [`MAX_LOG_BYTES`] (its first bytes;
//! the page links the whole file).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

/// The page's file name inside a run folder.
pub const FILE: &str = "index.html";
/// At most this many bytes of each node log are embedded.
pub const MAX_LOG_BYTES: u64 = 256 * 1024;

const PAGE: &str = include_str!("page.html");
const STYLE: &str = include_str!("report.css");
const SCRIPTS: [&str; 4] = [
    include_str!("data.js"),
    include_str!("timeline.js"),
    include_str!("witness.js"),
    include_str!("report.js"),
];

/// Why the page could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// Reading a run file or writing the page failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// `page.html` lacks a placeholder (a build-time mistake, caught by the tests).
    #[error("page template lacks {0}")]
    Template(&'static str),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> HtmlError + '_ {
    move |source| HtmlError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `dir/index.html` from the run files in `dir`.
pub fn write(dir: &Path) -> Result<(), HtmlError> {
    let (head, rest) = PAGE
        .split_once("<!--STYLE-->")
        .ok_or(HtmlError::Template("<!--STYLE-->"))?;
    let (middle, tail) = rest
        .split_once("<!--DATA-->")
        .ok_or(HtmlError::Template("<!--DATA-->"))?;
    let (before_js, after_js) = tail
        .split_once("<!--SCRIPT-->")
        .ok_or(HtmlError::Template("<!--SCRIPT-->"))?;
    let path = dir.join(FILE);
    let tmp = dir.join(".index.html.part");
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(&tmp).map_err(io_err(&tmp))?);
    let w = |out: &mut BufWriter<File>, s: &str| out.write_all(s.as_bytes()).map_err(io_err(&tmp));
    w(&mut out, head)?;
    w(&mut out, &format!("<style>\n{STYLE}</style>"))?;
    w(&mut out, middle)?;
    for (id, file) in [
        ("results", "results.json"),
        ("history", "history.jsonl"),
        ("messages", crate::journal::FILE),
    ] {
        embed_file(&mut out, id, &dir.join(file), &tmp)?;
    }
    embed_logs(&mut out, &dir.join("node-logs"), &tmp)?;
    w(&mut out, before_js)?;
    for s in SCRIPTS {
        w(&mut out, &format!("<script>\n{s}</script>\n"))?;
    }
    w(&mut out, after_js)?;
    out.flush().map_err(io_err(&tmp))?;
    drop(out);
    std::fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// Copies `src` into `out` with every `<` written as `\u003c`.
fn copy_escaped(src: &mut impl Read, out: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut rest = &buf[..n];
        while let Some(i) = rest.iter().position(|&b| b == b'<') {
            out.write_all(&rest[..i])?;
            out.write_all(b"\\u003c")?;
            rest = &rest[i + 1..];
        }
        out.write_all(rest)?;
    }
}

/// One data block: the file's text, or an empty block marked `data-missing` when the file
/// cannot be read.
fn embed_file(out: &mut impl Write, id: &str, file: &Path, page: &Path) -> Result<(), HtmlError> {
    let e = io_err(page);
    match File::open(file) {
        Ok(f) => {
            write!(out, "<script type=\"application/json\" id=\"{id}\">").map_err(&e)?;
            copy_escaped(&mut BufReader::new(f), out).map_err(&e)?;
        }
        Err(_) => {
            write!(
                out,
                "<script type=\"application/json\" id=\"{id}\" data-missing>"
            )
            .map_err(&e)?;
        }
    }
    out.write_all(b"</script>\n").map_err(&e)
}

/// The node logs as one JSON object `{node: {"text": .., "bytes": whole size}}`.
fn embed_logs(out: &mut impl Write, logs: &Path, page: &Path) -> Result<(), HtmlError> {
    let mut map = serde_json::Map::new();
    let mut names: Vec<_> = std::fs::read_dir(logs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    names.sort();
    for p in names {
        let (Some(node), Ok(f)) = (p.file_stem().and_then(|s| s.to_str()), File::open(&p)) else {
            continue;
        };
        let bytes = f.metadata().map_or(0, |m| m.len());
        let mut text = Vec::new();
        if f.take(MAX_LOG_BYTES).read_to_end(&mut text).is_err() {
            continue;
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        map.insert(
            node.to_owned(),
            serde_json::json!({"text": text, "bytes": bytes}),
        );
    }
    let json = serde_json::Value::Object(map).to_string();
    let e = io_err(page);
    out.write_all(b"<script type=\"application/json\" id=\"logs\">")
        .map_err(&e)?;
    copy_escaped(&mut json.as_bytes(), out).map_err(&e)?;
    out.write_all(b"</script>\n").map_err(&e)
}

#[cfg(test)]
mod tests;
