//! Drives a child process over its stdin/stdout with newline-delimited JSON: one thread
//! writes the requests, the calling thread reads the replies, and the wall time from the
//! first write to the last reply is the figure.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a pipe run could not complete.
#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    /// The child could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reading or writing the pipes failed.
    #[error("pipe i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The child closed its stdout before answering every request.
    #[error("child closed stdout after {got} of {want} replies")]
    Eof {
        /// Replies read.
        got: u64,
        /// Replies expected.
        want: u64,
    },
    /// The writer thread panicked.
    #[error("writer thread panicked")]
    Writer,
}

/// What one batch through the pipe produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Requests written (= reply lines read).
    pub messages: u64,
    /// Reply lines containing the expected needle.
    pub matched: u64,
    /// First write to last reply.
    pub elapsed: Duration,
}

/// The Maelstrom `init` line for node `n0`.
pub const INIT_LINE: &str = r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":0,"node_id":"n0","node_ids":["n0"]}}"#;

/// The echo request Maelstrom's echo workload sends, with `msg_id` `id`.
pub fn echo_line(id: u64) -> String {
    format!(
        r#"{{"src":"c1","dest":"n0","body":{{"type":"echo","msg_id":{id},"echo":"Please echo {id}"}}}}"#
    )
}

/// A block of `n` echo request lines (msg ids `1..=n`, each line `\n`-terminated), written
/// repeatedly so the writer thread spends its time in `write`, not in formatting.
pub fn echo_block(n: u64) -> Vec<u8> {
    let mut block = Vec::new();
    for id in 1..=n {
        block.extend_from_slice(echo_line(id).as_bytes());
        block.push(b'\n');
    }
    block
}

/// A running child with piped stdin/stdout that answers one line per request line.
#[derive(Debug)]
pub struct Piped {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: Vec<u8>,
}

impl Piped {
    /// Starts `program args..` (stderr discarded), sends [`INIT_LINE`] and reads one line
    /// back (the `init_ok` of a node; `cat` echoes the line itself).
    pub fn start(program: &std::path::Path, args: &[&str]) -> Result<Piped, PipeError> {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| PipeError::Spawn {
                program: program.display().to_string(),
                source,
            })?;
        Self::from_child(child)
    }

    fn from_child(mut child: Child) -> Result<Piped, PipeError> {
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("child has no stdout"))?;
        let mut p = Piped {
            child,
            stdin,
            stdout: BufReader::with_capacity(1 << 16, stdout),
            line: Vec::with_capacity(256),
        };
        p.stdin_mut()?.write_all(INIT_LINE.as_bytes())?;
        p.stdin_mut()?.write_all(b"\n")?;
        p.stdin_mut()?.flush()?;
        p.read_line(1, 0)?;
        Ok(p)
    }

    fn stdin_mut(&mut self) -> Result<&mut ChildStdin, PipeError> {
        self.stdin
            .as_mut()
            .ok_or_else(|| PipeError::Io(std::io::Error::other("stdin closed")))
    }

    fn read_line(&mut self, want: u64, got: u64) -> Result<&[u8], PipeError> {
        self.line.clear();
        if self.stdout.read_until(b'\n', &mut self.line)? == 0 {
            return Err(PipeError::Eof { got, want });
        }
        Ok(&self.line)
    }

    /// Writes `count` request lines (cycling through `block`, whose lines must each end in
    /// `\n`) from a second thread while this thread reads `count` reply lines, counting those
    /// that contain `needle`.
    pub fn run(&mut self, block: &[u8], count: u64, needle: &[u8]) -> Result<Batch, PipeError> {
        let lines: Vec<&[u8]> = block.split_inclusive(|&b| b == b'\n').collect();
        if lines.is_empty() || count == 0 {
            return Ok(Batch {
                messages: 0,
                matched: 0,
                elapsed: Duration::ZERO,
            });
        }
        let mut stdin = self
            .stdin
            .take()
            .ok_or_else(|| PipeError::Io(std::io::Error::other("stdin closed")))?;
        let start = Instant::now();
        let result = std::thread::scope(|s| {
            let writer = s.spawn(|| -> std::io::Result<ChildStdin> {
                let mut w = BufWriter::with_capacity(1 << 16, &mut stdin);
                let full = count / lines.len() as u64;
                for _ in 0..full {
                    w.write_all(block)?;
                }
                for l in &lines[..(count % lines.len() as u64) as usize] {
                    w.write_all(l)?;
                }
                w.flush()?;
                drop(w);
                Ok(stdin)
            });
            let mut matched = 0u64;
            let mut read_err = None;
            for got in 0..count {
                match self.read_line(count, got) {
                    Ok(line) => {
                        if contains(line, needle) {
                            matched += 1;
                        }
                    }
                    Err(e) => {
                        read_err = Some(e);
                        break;
                    }
                }
            }
            let elapsed = start.elapsed();
            let written = writer.join();
            (matched, elapsed, read_err, written)
        });
        let (matched, elapsed, read_err, written) = result;
        match written {
            Ok(Ok(stdin)) => self.stdin = Some(stdin),
            Ok(Err(e)) => return Err(PipeError::Io(e)),
            Err(_) => return Err(PipeError::Writer),
        }
        if let Some(e) = read_err {
            return Err(e);
        }
        Ok(Batch {
            messages: count,
            matched,
            elapsed,
        })
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        // Closing stdin ends the child's input; it then exits on its own.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Whether `needle` occurs in `hay` (empty needle: always).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cat_returns_every_line() {
        let Some(cat) = which("cat") else {
            return; // no `cat` on this system: nothing to drive
        };
        let mut p = Piped::start(&cat, &[]).expect("start cat");
        let block = echo_block(7);
        let b = p.run(&block, 100, br#""type":"echo""#).expect("run");
        assert_eq!(b.messages, 100);
        assert_eq!(b.matched, 100);
        let b = p.run(&block, 5, b"msg_id\":7,").expect("second run");
        assert_eq!(
            b.matched, 0,
            "the first 5 lines of the block have ids 1..=5"
        );
    }

    #[test]
    fn early_exit_is_an_error_not_a_hang() {
        // `head -n 1` answers init and exits: the requests find no reader.
        let Some(head) = which("head") else {
            return;
        };
        let mut p = Piped::start(&head, &["-n", "1"]).expect("start head");
        let e = p.run(&echo_block(10), 1000, b"").expect_err("head exits");
        assert!(
            matches!(e, PipeError::Eof { got: 0, want: 1000 } | PipeError::Io(_)),
            "{e:?}"
        );
    }

    #[test]
    fn needle_search() {
        assert!(contains(b"abcdef", b"cde"));
        assert!(!contains(b"abcdef", b"ced"));
        assert!(contains(b"", b""));
        assert!(!contains(b"ab", b"abc"));
    }

    fn which(name: &str) -> Option<std::path::PathBuf> {
        ["/bin", "/usr/bin"]
            .iter()
            .map(|dir| std::path::Path::new(dir).join(name))
            .find(|p| p.exists())
    }
}
