//! Reception: turns input lines into events, answers `init`, and holds messages that arrive
//! before `init`.
//!
//! Policy, shared by both node styles:
//! - A line that is not JSON, or JSON that is not an envelope, is logged at `warn` with the
//!   offending line and skipped.
//! - `init` is answered with `init_ok` as soon as it is read, before any other output. An
//!   `init` with missing or mistyped fields gets error 12 and the node stays uninitialised. A
//!   second `init` is answered `init_ok` again (logged) and changes nothing.
//! - Up to [`EARLY_CAPACITY`] messages arriving before `init` are kept, in order, and handed
//!   out right after the [`Event::Init`]. When that buffer is full, further early messages are
//!   dropped with a warning, and a dropped request is answered with error 11
//!   (temporarily-unavailable: it was not processed).

use std::collections::VecDeque;

use tokio::io::AsyncBufRead;

use crate::error::{ErrorBody, ErrorCode};
use crate::io::{read_line_bounded, LineRead, Outlet, MAX_LINE_BYTES};
use crate::protocol::{self, Envelope, InitBody, InitOk, Origin};

/// Messages kept while waiting for `init`.
pub const EARLY_CAPACITY: usize = 1024;

/// Longest excerpt of a bad line that goes to the log.
const LOG_EXCERPT: usize = 2048;

/// The node's identity, known once `init` has been answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// This node's id, e.g. `"n3"`.
    pub id: String,
    /// Every node id of the test, in Maelstrom's order, this node included.
    pub ids: Vec<String>,
}

impl NodeInfo {
    /// Every node id except this node's, in order.
    pub fn peers(&self) -> impl Iterator<Item = &str> + '_ {
        self.ids
            .iter()
            .map(String::as_str)
            .filter(move |p| *p != self.id)
    }

    /// Position of this node in `ids`, if present.
    pub fn index(&self) -> Option<usize> {
        self.ids.iter().position(|p| *p == self.id)
    }
}

/// What reception hands to a runtime.
#[derive(Debug)]
pub enum Event {
    /// `init` was answered; emitted exactly once, before any [`Event::Message`].
    Init(NodeInfo),
    /// Any other well-formed message, after `init`.
    Message(Envelope),
}

/// Reads lines from `reader` and produces [`Event`]s.
pub struct Inbox<R> {
    reader: R,
    line: Vec<u8>,
    outlet: Outlet,
    info: Option<NodeInfo>,
    early: VecDeque<Envelope>,
}

fn excerpt(line: &[u8]) -> String {
    let end = line.len().min(LOG_EXCERPT);
    String::from_utf8_lossy(&line[..end]).into_owned()
}

impl<R: AsyncBufRead + Unpin> Inbox<R> {
    /// Reception over `reader`, answering `init` through `outlet`.
    pub fn new(reader: R, outlet: Outlet) -> Self {
        Self {
            reader,
            line: Vec::with_capacity(4096),
            outlet,
            info: None,
            early: VecDeque::new(),
        }
    }

    /// The node identity, once initialised.
    pub fn info(&self) -> Option<&NodeInfo> {
        self.info.as_ref()
    }

    /// The next event, or `None` at end of input (or on a read error, which is logged).
    ///
    /// Not cancel-safe: a partially read line is lost if the future is dropped, so call it
    /// from a task dedicated to reading.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if self.info.is_some() {
                if let Some(env) = self.early.pop_front() {
                    return Some(Event::Message(env));
                }
            }
            match read_line_bounded(&mut self.reader, &mut self.line, MAX_LINE_BYTES).await {
                Ok(LineRead::Eof) => return None,
                Ok(LineRead::TooLong) => {
                    tracing::warn!(
                        limit = MAX_LINE_BYTES,
                        start = %excerpt(&self.line),
                        "input line too long; skipped"
                    );
                    continue;
                }
                Ok(LineRead::Line) => {}
                Err(e) => {
                    tracing::error!(error = %e, "stdin read failed; input stops");
                    return None;
                }
            }
            if self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&self.line) else {
                tracing::warn!(line = %excerpt(&self.line), "input line is not UTF-8; skipped");
                continue;
            };
            let env = match protocol::parse_line(text) {
                Ok(env) => env,
                Err(e) => {
                    tracing::warn!(error = %e, line = %excerpt(&self.line), "bad input line; skipped");
                    continue;
                }
            };
            if env.head.kind.as_deref() == Some("init") {
                if let Some(info) = self.handle_init(env).await {
                    return Some(Event::Init(info));
                }
                continue;
            }
            if self.info.is_some() {
                return Some(Event::Message(env));
            }
            self.hold_early(env).await;
        }
    }

    async fn handle_init(&mut self, env: Envelope) -> Option<NodeInfo> {
        let origin = env.origin();
        let init: InitBody = match serde_json::from_value(env.body) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "malformed init");
                let err = ErrorBody::new(ErrorCode::MalformedRequest, format!("bad init: {e}"));
                let me = self
                    .info
                    .as_ref()
                    .map_or(env.dest.as_str(), |i| i.id.as_str());
                send_encoded(&self.outlet, protocol::encode_error(me, &origin, &err)).await;
                return None;
            }
        };
        if let Some(info) = &self.info {
            tracing::warn!(node = %info.id, "second init ignored");
            let line =
                protocol::encode_line(&info.id, &origin.src, None, origin.msg_id, &InitOk::InitOk);
            send_encoded(&self.outlet, line).await;
            return None;
        }
        let info = NodeInfo {
            id: init.node_id,
            ids: init.node_ids,
        };
        let line =
            protocol::encode_line(&info.id, &origin.src, None, origin.msg_id, &InitOk::InitOk);
        send_encoded(&self.outlet, line).await;
        tracing::info!(node = %info.id, nodes = info.ids.len(), early = self.early.len(), "initialised");
        self.info = Some(info.clone());
        Some(info)
    }

    async fn hold_early(&mut self, env: Envelope) {
        if self.early.len() < EARLY_CAPACITY {
            tracing::debug!(src = %env.src, "message before init held");
            self.early.push_back(env);
            return;
        }
        tracing::warn!(src = %env.src, "message before init dropped: early buffer full");
        if env.head.msg_id.is_some() {
            let err = ErrorBody::new(ErrorCode::TemporarilyUnavailable, "node not initialised");
            let origin: Origin = env.origin();
            send_encoded(
                &self.outlet,
                protocol::encode_error(&env.dest, &origin, &err),
            )
            .await;
        }
    }
}

async fn send_encoded(outlet: &Outlet, line: Result<String, serde_json::Error>) {
    match line {
        Ok(l) => {
            let _ = outlet.send_line(l).await;
        }
        Err(e) => tracing::error!(error = %e, "could not encode a reply"),
    }
}

/// Logs a body that did not decode and, when it is a request, answers it with error 10
/// (unknown type) or 12 (malformed).
pub(crate) async fn reject(
    outlet: &Outlet,
    me: &str,
    origin: &Origin,
    e: &protocol::DecodeError,
    body: &serde_json::Value,
) {
    tracing::warn!(error = %e, src = %origin.src, body = %body, "message rejected");
    if origin.msg_id.is_none() {
        return;
    }
    match protocol::encode_error(me, origin, &e.to_error_body()) {
        Ok(line) => {
            let _ = outlet.send_line(line).await;
        }
        Err(err) => tracing::error!(error = %err, "could not encode an error reply"),
    }
}
