//! Node logs in the simulator: what the hosted nodes log through `tracing` goes to
//! `node-logs/<node>.log`, as a node process's stderr does, each line stamped with the
//! virtual time as [`super::log_stamp`] stamps a process's lines.
//!
//! The simulator sets which node is running ([`NodeLogs::enter`]) before it calls into a
//! node; the subscriber ([`NodeLogs::subscriber`], installed for the simulation's thread
//! only) writes to that node's file. The filter is the nodes' own: `GLOMERS_LOG`, default
//! `warn`. Files are buffered and flushed when the logs are dropped.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use glomers_node::Time;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Default)]
struct State {
    current: Option<usize>,
    now: Time,
    files: Vec<BufWriter<File>>,
}

/// The per-node log files of one simulated run (see the module documentation).
#[derive(Clone)]
pub struct NodeLogs {
    state: Arc<Mutex<State>>,
}

impl NodeLogs {
    /// Creates `dir/<node>.log` for every node.
    pub fn create(dir: &Path, nodes: &[String]) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let files = nodes
            .iter()
            .map(|n| File::create(dir.join(format!("{n}.log"))).map(BufWriter::new))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Self {
            state: Arc::new(Mutex::new(State {
                files,
                ..State::default()
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Only this module writes under the lock and never panics there.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Node `node` runs next, at `now`.
    pub fn enter(&self, node: usize, now: Time) {
        let mut s = self.lock();
        s.current = Some(node);
        s.now = now;
    }

    /// The subscriber that writes the nodes' logs.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let filter = tracing_subscriber::EnvFilter::try_from_env(glomers_shell::logging::LOG_ENV)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(self.clone())
            .with_timer(self.clone())
            .with_ansi(false)
            .with_target(false)
            .finish()
    }

    /// Writes every buffered line out.
    pub fn flush(&self) {
        for f in &mut self.lock().files {
            let _ = f.flush();
        }
    }
}

impl FormatTime for NodeLogs {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let stamp = super::log_stamp(self.lock().now);
        w.write_str(stamp.trim_end())
    }
}

/// Writes to the file of the node running now (nowhere when none is).
pub struct CurrentNode(NodeLogs);

impl Write for CurrentNode {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut s = self.0.lock();
        let State { current, files, .. } = &mut *s;
        match current.and_then(|i| files.get_mut(i)) {
            Some(f) => f.write_all(buf).map(|()| buf.len()),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for NodeLogs {
    type Writer = CurrentNode;

    fn make_writer(&'a self) -> CurrentNode {
        CurrentNode(self.clone())
    }
}
