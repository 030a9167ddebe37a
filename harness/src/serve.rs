//! `glomers serve [STORE]`: the store's runs over HTTP on 127.0.0.1, as `maelstrom serve`
//! does: `/` lists every run (workload, time, verdict, key figures from its
//! `results.json`) linking to its `index.html`; every other path is a file or folder of the
//! store.
//!
//! A small HTTP/1.1 server on tokio's TCP: `GET` and `HEAD` only, one request per
//! connection (`Connection: close`), request heads up to [`MAX_HEAD`] bytes, at most
//! [`MAX_CONNECTIONS`] connections at once (further ones are closed at once, unanswered),
//! [`IO_TIMEOUT`] for reading a request and for each write. Paths are percent-decoded;
//! `.` and `..` segments, backslashes and NUL bytes are refused (400), and a path whose
//! real location (symbolic links resolved) is outside the store is refused (403), so
//! nothing outside the store is ever served.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod pages;

/// Longest request head read, in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Time allowed to read a request and for each write of the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Flags of `glomers serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The folder of run folders.
    #[arg(default_value = "store")]
    pub store: PathBuf,
    /// TCP port on 127.0.0.1 (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

/// Why a request path is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not an absolute path, bad percent-encoding, or a `.`/`..`/`\`/NUL segment (400).
    #[error("bad path")]
    BadPath,
    /// Nothing there (404).
    #[error("not found")]
    NotFound,
    /// Resolves (through a link) to a place outside the store (403).
    #[error("outside the store")]
    Outside,
}

/// Runs the server until the process ends. Returns an exit status: 255 when the store
/// cannot be read or the port cannot be bound.
pub async fn run(args: &ServeArgs) -> i32 {
    let root = match std::fs::canonicalize(&args.store) {
        Ok(r) if r.is_dir() => r,
        _ => {
            eprintln!("glomers: serve: {} is not a folder", args.store.display());
            return 255;
        }
    };
    let listener = match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "glomers: serve: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return 255;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!(
        "glomers: serving {} on http://{addr}/",
        args.store.display()
    );
    serve_on(listener, root).await
}

/// Serves the canonical folder `root` on `listener`, forever.
pub async fn serve_on(listener: TcpListener, root: PathBuf) -> ! {
    let root = Arc::new(root);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Full: close the connection unanswered.
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let root = root.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, &root).await {
                tracing::debug!("serve: {e}");
            }
            drop(permit);
        });
    }
}

/// Maps a request target to a path inside `root` (which must be canonical).
pub fn resolve(root: &Path, target: &str) -> Result<PathBuf, Refused> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let rest = path.strip_prefix('/').ok_or(Refused::BadPath)?;
    let mut out = root.to_path_buf();
    for raw in rest.split('/').filter(|s| !s.is_empty()) {
        let seg = percent_decode(raw).ok_or(Refused::BadPath)?;
        if seg == "." || seg == ".." || seg.contains(['/', '\\', '\0']) {
            return Err(Refused::BadPath);
        }
        out.push(seg);
    }
    let real = std::fs::canonicalize(&out).map_err(|_| Refused::NotFound)?;
    if !real.starts_with(root) {
        return Err(Refused::Outside);
    }
    Ok(real)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = tokio::time::timeout(IO_TIMEOUT, stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8(buf).ok())
}

/// What a request gets: a page made here, or a file of the store.
enum Answer {
    Page(u16, &'static str, Vec<u8>),
    File(PathBuf),
}

const HTML: &str = "text/html; charset=utf-8";

/// The answer to the request head `head` (`None`: unreadable or too long).
fn answer(head: Option<&str>, root: &Path) -> Answer {
    let Some(head) = head else {
        return Answer::Page(400, "text/plain", b"bad request\n".to_vec());
    };
    let mut words = head.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    if method != "GET" && method != "HEAD" {
        return Answer::Page(405, "text/plain", b"GET or HEAD only\n".to_vec());
    }
    if target == "/" || target.starts_with("/?") {
        return Answer::Page(200, HTML, pages::runs(root).into_bytes());
    }
    match resolve(root, target) {
        Ok(path) if path.is_dir() => {
            Answer::Page(200, HTML, pages::folder(root, &path).into_bytes())
        }
        Ok(path) => Answer::File(path),
        Err(e) => {
            let code = match e {
                Refused::BadPath => 400,
                Refused::NotFound => 404,
                Refused::Outside => 403,
            };
            Answer::Page(code, "text/plain", format!("{e}\n").into_bytes())
        }
    }
}

async fn handle(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let head = read_head(&mut stream).await?;
    let with_body = !head.as_deref().is_some_and(|h| h.starts_with("HEAD "));
    let mut file = None;
    let (code, ctype, len, page) = match answer(head.as_deref(), root) {
        Answer::Page(code, ctype, body) => (code, ctype, body.len() as u64, body),
        Answer::File(path) => match std::fs::File::open(&path) {
            Ok(f) => {
                let len = f.metadata()?.len();
                file = Some(f);
                (200, content_type(&path), len, Vec::new())
            }
            Err(_) => (404, "text/plain", 10, b"not found\n".to_vec()),
        },
    };
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
    );
    write_timed(&mut stream, head.as_bytes()).await?;
    if with_body {
        write_timed(&mut stream, &page).await?;
        if let Some(mut f) = file {
            // Chunks from the page cache; a blocking read of 64 KiB is short.
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                write_timed(&mut stream, &buf[..n]).await?;
            }
        }
    }
    stream.shutdown().await
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "jsonl" | "log" | "txt" | "edn" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "css" => "text/css",
        "js" => "text/javascript",
        _ => "application/octet-stream",
    }
}

async fn write_timed(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    tokio::time::timeout(IO_TIMEOUT, stream.write_all(bytes))
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)?
}

#[cfg(test)]
mod tests;
