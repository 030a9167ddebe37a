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
use crate::io::{read_line_bounded, LineRead, Outlet, Push, PushError, MAX_LINE_BYTES};
use crate::protocol::{self, Envelope, Frame, InitBody, InitOk, Origin};

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
pub enum Event<M = Envelope> {
    /// `init` was answered; emitted exactly once, before any [`Event::Message`].
    Init(NodeInfo),
    /// Any other well-formed message, after `init`: what the runtime's `take` function made of
    /// it (see [`Inbox::next_with`]), or the [`Envelope`] itself from [`Inbox::next`].
    Message(M),
}

/// Reads lines from `reader` and produces [`Event`]s.
pub struct Inbox<R> {
    reader: R,
    line: Vec<u8>,
    state: Reception,
}

/// Everything but the input: kept apart so that it can change while a frame borrows the line.
struct Reception {
    outlet: Outlet,
    info: Option<NodeInfo>,
    early: VecDeque<Frame<'static>>,
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
            state: Reception {
                outlet,
                info: None,
                early: VecDeque::new(),
            },
        }
    }

    /// The node identity, once initialised.
    pub fn info(&self) -> Option<&NodeInfo> {
        self.state.info.as_ref()
    }

    /// The next event, with each message as an owned [`Envelope`]; `None` at end of input
    /// (or on a read error, which is logged).
    ///
    /// Not cancel-safe, like [`Inbox::next_with`].
    pub async fn next(&mut self) -> Option<Event> {
        self.next_with(|_, frame| frame.into_envelope()).await
    }

    /// The next event; `None` at end of input (or on a read error, which is logged).
    ///
    /// A message is handed to `take` as a [`Frame`] borrowing the input line (strings and
    /// body are not copied), together with the node identity; `take` returns what the runtime
    /// keeps of it. Messages held from before `init` come the same way.
    ///
    /// Not cancel-safe: a partially read line is lost if the future is dropped, so call it
    /// from a task dedicated to reading.
    pub async fn next_with<T, F>(&mut self, take: F) -> Option<Event<T>>
    where
        F: FnOnce(&NodeInfo, Frame<'_>) -> T,
    {
        loop {
            if let Some(info) = &self.state.info {
                if let Some(frame) = self.state.early.pop_front() {
                    return Some(Event::Message(take(info, frame)));
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
            let frame = match protocol::read_frame(text) {
                Ok(frame) => frame,
                Err(e) => {
                    tracing::warn!(error = %e, line = %excerpt(&self.line), "bad input line; skipped");
                    continue;
                }
            };
            if frame.kind() == Some("init") {
                if let Some(info) = self.state.handle_init(&frame).await {
                    return Some(Event::Init(info));
                }
                continue;
            }
            if let Some(info) = &self.state.info {
                return Some(Event::Message(take(info, frame)));
            }
            self.state.hold_early(frame.into_owned()).await;
        }
    }
}

impl Reception {
    /// Answers an `init` from `origin` with `init_ok`, sent as node `me`.
    async fn answer_init(&self, me: &str, origin: &Origin) {
        send_logged(self.outlet.push_with(|buf| {
            protocol::encode_line_into(buf, me, &origin.src, None, origin.msg_id, &InitOk::InitOk)
        }))
        .await;
    }

    async fn handle_init(&mut self, frame: &Frame<'_>) -> Option<NodeInfo> {
        let origin = frame.origin();
        let init: InitBody = match frame.decode_as() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "malformed init");
                let err = ErrorBody::new(ErrorCode::MalformedRequest, format!("bad init: {e}"));
                let me = self.info.as_ref().map_or(&*frame.dest, |i| i.id.as_str());
                send_logged(
                    self.outlet
                        .push_with(|buf| protocol::encode_error_into(buf, me, &origin, &err)),
                )
                .await;
                return None;
            }
        };
        if let Some(info) = &self.info {
            tracing::warn!(node = %info.id, "second init ignored");
            self.answer_init(&info.id, &origin).await;
            return None;
        }
        let info = NodeInfo {
            id: init.node_id,
            ids: init.node_ids,
        };
        self.answer_init(&info.id, &origin).await;
        tracing::info!(node = %info.id, nodes = info.ids.len(), early = self.early.len(), "initialised");
        self.info = Some(info.clone());
        Some(info)
    }

    async fn hold_early(&mut self, frame: Frame<'static>) {
        if self.early.len() < EARLY_CAPACITY {
            tracing::debug!(src = %frame.src, "message before init held");
            self.early.push_back(frame);
            return;
        }
        tracing::warn!(src = %frame.src, "message before init dropped: early buffer full");
        if frame.msg_id.is_some() {
            let err = ErrorBody::new(ErrorCode::TemporarilyUnavailable, "node not initialised");
            let origin: Origin = frame.origin();
            send_logged(
                self.outlet
                    .push_with(|buf| protocol::encode_error_into(buf, &frame.dest, &origin, &err)),
            )
            .await;
        }
    }
}

/// Awaits a queued reply, logging an encoding failure (a closed output needs no log: the
/// runtime is stopping).
async fn send_logged(queued: Push<'_>) {
    if let Err(PushError::Encode(e)) = queued.await {
        tracing::error!(error = %e, "could not encode a reply");
    }
}

/// A message whose body did not decode, with what its log line and error reply need.
pub(crate) struct Rejected {
    origin: Origin,
    error: protocol::DecodeError,
    body: serde_json::Value,
}

impl Rejected {
    /// The rejection of `frame`, which failed to decode with `error`.
    pub(crate) fn of(frame: &Frame<'_>, error: protocol::DecodeError) -> Self {
        Self {
            origin: frame.origin(),
            error,
            body: frame.body_value(),
        }
    }
}

/// Logs a body that did not decode and, when it is a request, answers it with error 10
/// (unknown type) or 12 (malformed).
pub(crate) async fn reject(outlet: &Outlet, me: &str, rejected: &Rejected) {
    let Rejected {
        origin,
        error: e,
        body,
    } = rejected;
    tracing::warn!(error = %e, src = %origin.src, body = %body, "message rejected");
    if origin.msg_id.is_none() {
        return;
    }
    let error = e.to_error_body();
    let queued = outlet.push_with(|buf| protocol::encode_error_into(buf, me, origin, &error));
    if let Err(PushError::Encode(err)) = queued.await {
        tracing::error!(error = %err, "could not encode an error reply");
    }
}
