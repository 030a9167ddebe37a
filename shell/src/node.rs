//! The async handler style: replies returned from the handler, requests run inline until
//! they wait, RPC with timeouts.
//!
//! ```no_run
//! use glomers_shell::{node::{serve, Answer, Handler, Node}, protocol::Incoming};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Req { Echo { echo: serde_json::Value } }
//!
//! #[derive(Serialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Resp { EchoOk { echo: serde_json::Value } }
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Request = Req;
//!     type Response = Resp;
//!     async fn handle(&self, _node: &Node, msg: Incoming<Req>) -> Answer<Resp> {
//!         match msg.body {
//!             Req::Echo { echo } => Ok(Some(Resp::EchoOk { echo })),
//!         }
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     glomers_shell::logging::init();
//!     serve(|_node| Echo).await;
//! }
//! ```
//!
//! Contract:
//! - The runtime answers `init` itself, then calls the factory once with the [`Node`] handle.
//! - Each request decoding into `Handler::Request` needs one of [`MAX_IN_FLIGHT`] slots free
//!   and is first run by the reader itself, up to its first wait: a handler that answers
//!   without waiting is done before the next line is read (no task, no allocation for the
//!   request, and no slot taken). A handler that waits (on an RPC, a timer, room in the
//!   output buffer) takes the slot and continues in a task of its own, keeping the slot
//!   until it finishes. So handler code must not block the
//!   thread: whatever runs before its first wait delays the reading of input.
//! - The reader never waits for a handler to finish (it must keep routing RPC replies): when
//!   all slots are taken it yields a few scheduler turns, and a request still without a slot
//!   is refused with error 11 (temporarily-unavailable, definite: it was not processed).
//!   Handlers run concurrently and in no guaranteed order; use the [`crate::machine`] style
//!   when order matters.
//! - When a request waits for room in the output buffer (see [`crate::io`]), the reader stops
//!   reading input until the buffer has room again: backpressure, not a growing pile of tasks.
//! - The handler's [`Answer`] is sent for it, addressed to the request's `src` with the right
//!   `in_reply_to`: `Ok(Some(r))` replies `r`, `Err(e)` replies error `e`, `Ok(None)` sends
//!   nothing (one-way messages, or a reply sent later with [`Node::reply`]). A message without
//!   `msg_id` never gets an answer.
//! - A body whose `type` is not a `Request` variant gets error 10; a known type with missing or
//!   mistyped fields gets error 12 (only when it has a `msg_id`; otherwise it is logged).
//! - A message carrying `in_reply_to` completes the matching [`Node::rpc`] call; one that
//!   matches no pending call (late or duplicate) is dropped with a debug log and never reaches
//!   the handler.
//! - At end of input the runtime waits up to [`DRAIN_GRACE`] for running handlers, stops
//!   periodic tasks, flushes output and returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncWrite};
use tokio::sync::{Notify, Semaphore};

use crate::error::{ErrorBody, ErrorCode, TaggedError};
use crate::inbox::{reject, Event, Inbox, NodeInfo, Rejected};
use crate::io::{spawn_writer, Outlet, Push, PushError};
use crate::protocol::{self, Frame, Incoming, Origin};
use crate::rpc::{decode_reply, Calls, Completion, Reply, RpcError};

/// Most handler tasks running at once.
pub const MAX_IN_FLIGHT: u32 = 1024;

/// Scheduler turns the reader yields, when every handler slot is taken, before it refuses a
/// request.
const BUSY_YIELDS: usize = 8;

/// How long the runtime waits for running handlers after end of input.
pub const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// What a handler returns: a reply, an error reply, or (`Ok(None)`) nothing.
pub type Answer<R> = Result<Option<R>, ErrorBody>;

/// Request handling logic for the async style.
pub trait Handler: Send + Sync + 'static {
    /// The internally tagged enum of message types this node accepts.
    type Request: DeserializeOwned + Send + 'static;
    /// The internally tagged enum of reply types.
    type Response: Serialize + Send + 'static;

    /// Handles one message. The returned answer is sent to `msg.origin`.
    fn handle(
        &self,
        node: &Node,
        msg: Incoming<Self::Request>,
    ) -> impl Future<Output = Answer<Self::Response>> + Send;
}

impl<H: Handler> Handler for Arc<H> {
    type Request = H::Request;
    type Response = H::Response;

    fn handle(
        &self,
        node: &Node,
        msg: Incoming<Self::Request>,
    ) -> impl Future<Output = Answer<Self::Response>> + Send {
        H::handle(self, node, msg)
    }
}

/// A cheap, cloneable handle to the running node: identity, sending and RPC.
#[derive(Clone, Debug)]
pub struct Node {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    info: NodeInfo,
    outlet: Outlet,
    calls: Arc<Calls>,
    stopping: AtomicBool,
    stop: Notify,
}

impl Node {
    /// A node handle writing through `outlet` (the runtime builds it; public for tests).
    pub fn new(info: NodeInfo, outlet: Outlet, calls: Arc<Calls>) -> Self {
        Self {
            shared: Arc::new(Shared {
                info,
                outlet,
                calls,
                stopping: AtomicBool::new(false),
                stop: Notify::new(),
            }),
        }
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.shared.info.id
    }

    /// Every node id of the test, this one included.
    pub fn ids(&self) -> &[String] {
        &self.shared.info.ids
    }

    /// The node identity from `init`.
    pub fn info(&self) -> &NodeInfo {
        &self.shared.info
    }

    /// The pending-call table (for inspection and tests).
    pub fn calls(&self) -> &Arc<Calls> {
        &self.shared.calls
    }

    /// True once the runtime has begun shutting down.
    pub fn is_stopping(&self) -> bool {
        self.shared.stopping.load(Ordering::Acquire)
    }

    pub(crate) fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.stop.notify_waiters();
    }

    /// Turns a queued line's outcome into the runtime's error type, logging a body that did
    /// not serialize.
    async fn written(queued: Push<'_>) -> Result<(), RpcError> {
        match queued.await {
            Ok(()) => Ok(()),
            Err(PushError::Closed(_)) => Err(RpcError::Closed),
            Err(PushError::Encode(e)) => {
                tracing::error!(error = %e, "body did not serialize; not sent");
                Err(RpcError::Encode(e))
            }
        }
    }

    /// Sends a one-way message (no `msg_id`) to `dest`. Failures (a body that does not
    /// serialize, output closed) are logged.
    ///
    /// The line is encoded and queued when this is called; the returned future only waits
    /// when the output buffer is full (see [`crate::io`]).
    pub fn send<B: Serialize>(&self, dest: &str, body: &B) -> impl Future<Output = ()> + Send + '_ {
        let queued = self
            .shared
            .outlet
            .push_with(|buf| protocol::encode_line_into(buf, self.id(), dest, None, None, body));
        async move {
            let _ = Self::written(queued).await;
        }
    }

    /// Replies `body` to `to` (with `in_reply_to = to.msg_id`). A request without `msg_id`
    /// cannot be answered and is skipped with a debug log. Encoded and queued like
    /// [`Node::send`].
    pub fn reply<B: Serialize>(
        &self,
        to: &Origin,
        body: &B,
    ) -> impl Future<Output = ()> + Send + '_ {
        let queued = to.msg_id.map(|id| {
            self.shared.outlet.push_with(|buf| {
                protocol::encode_line_into(buf, self.id(), &to.src, None, Some(id), body)
            })
        });
        if queued.is_none() {
            tracing::debug!(dest = %to.src, "reply to a message without msg_id skipped");
        }
        async move {
            if let Some(queued) = queued {
                let _ = Self::written(queued).await;
            }
        }
    }

    /// Sends a handler's [`Answer`] to `to`, as [`Node::reply`] and [`Node::reply_error`] do.
    fn answer<'a, R: Serialize>(
        &'a self,
        to: &ReplyTo,
        answer: &Answer<R>,
    ) -> impl Future<Output = ()> + Send + 'a {
        let dest = to.src();
        let queued = match (to.msg_id, answer) {
            (_, Ok(None)) => None,
            (Some(id), Ok(Some(resp))) => Some(self.shared.outlet.push_with(|buf| {
                protocol::encode_line_into(buf, self.id(), dest, None, Some(id), resp)
            })),
            (Some(id), Err(e)) => Some(self.shared.outlet.push_with(|buf| {
                protocol::encode_line_into(
                    buf,
                    self.id(),
                    dest,
                    None,
                    Some(id),
                    &TaggedError::Error(e),
                )
            })),
            (None, Ok(Some(_))) => {
                tracing::debug!(dest, "reply to a message without msg_id skipped");
                None
            }
            (None, Err(error)) => {
                tracing::debug!(dest, %error, "error to a message without msg_id skipped");
                None
            }
        };
        async move {
            if let Some(queued) = queued {
                let _ = Self::written(queued).await;
            }
        }
    }

    /// Replies an error to `to` (skipped when `to` has no `msg_id`).
    pub fn reply_error(
        &self,
        to: &Origin,
        error: &ErrorBody,
    ) -> impl Future<Output = ()> + Send + '_ {
        let queued = to.msg_id.map(|_| {
            self.shared
                .outlet
                .push_with(|buf| protocol::encode_error_into(buf, self.id(), to, error))
        });
        if queued.is_none() {
            tracing::debug!(dest = %to.src, %error, "error to a message without msg_id skipped");
        }
        async move {
            if let Some(queued) = queued {
                let _ = Self::written(queued).await;
            }
        }
    }

    /// Sends `body` to `dest` with a fresh `msg_id` and waits up to `timeout` for the reply.
    ///
    /// An `error` reply becomes [`RpcError::Remote`]; any other reply is decoded into `R`
    /// (use `serde_json::Value` to take it raw). On timeout or cancellation the pending entry
    /// is removed and a later reply is dropped.
    pub fn rpc<B: Serialize, R: DeserializeOwned>(
        &self,
        dest: &str,
        body: &B,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, RpcError>> + Send + '_ {
        let raw = self.rpc_raw(dest, body, timeout);
        async move { decode_reply(raw.await?) }
    }

    /// Like [`Node::rpc`] but returns the raw reply, error replies included.
    pub fn rpc_raw<B: Serialize>(
        &self,
        dest: &str,
        body: &B,
        timeout: Duration,
    ) -> impl Future<Output = Result<Reply, RpcError>> + Send + '_ {
        let prepared = self.shared.calls.register().map(|call| {
            let id = call.msg_id();
            let queued = self.shared.outlet.push_with(|buf| {
                protocol::encode_line_into(buf, self.id(), dest, Some(id), None, body)
            });
            (call, queued)
        });
        async move {
            let (call, queued) = prepared?;
            Self::written(queued).await?;
            call.wait(timeout).await
        }
    }

    /// Runs `tick(node)` every `period` until shutdown, in its own task. A tick that takes
    /// longer than `period` delays the next one (ticks never overlap).
    pub fn spawn_every<F, Fut>(&self, period: Duration, mut tick: F)
    where
        F: FnMut(Node) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let node = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            loop {
                let stopped = node.shared.stop.notified();
                if node.is_stopping() {
                    return;
                }
                tokio::select! {
                    _ = stopped => return,
                    _ = interval.tick() => {}
                }
                tick(node.clone()).await;
            }
        });
    }

    /// Waits until the runtime begins shutting down.
    pub async fn stopped(&self) {
        let n = self.shared.stop.notified();
        if self.is_stopping() {
            return;
        }
        n.await;
    }
}

/// Runs a handler-style node on stdin/stdout until end of input.
pub async fn serve<H, F>(make: F)
where
    H: Handler,
    F: FnOnce(&Node) -> H,
{
    serve_io(crate::stdio::stdin(), tokio::io::stdout(), make).await
}

/// Where a handler's answer goes: the request's `src` (copied inline when short, which
/// Maelstrom's ids are, so answering allocates nothing) and `msg_id`.
struct ReplyTo {
    src: Id,
    msg_id: Option<u64>,
}

/// Longest id kept inline.
const INLINE_ID: usize = 30;

enum Id {
    Inline { len: u8, bytes: [u8; INLINE_ID] },
    Heap(String),
}

impl ReplyTo {
    fn of(origin: &Origin) -> Self {
        let src = match u8::try_from(origin.src.len()) {
            Ok(len) if usize::from(len) <= INLINE_ID => {
                let mut bytes = [0; INLINE_ID];
                bytes[..usize::from(len)].copy_from_slice(origin.src.as_bytes());
                Id::Inline { len, bytes }
            }
            _ => Id::Heap(origin.src.clone()),
        };
        Self {
            src,
            msg_id: origin.msg_id,
        }
    }

    fn src(&self) -> &str {
        match &self.src {
            // Copied whole from a `str`, so always UTF-8.
            Id::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("")
            }
            Id::Heap(s) => s,
        }
    }
}

/// What the reader keeps of one message.
enum Work<P> {
    /// A request for the handler.
    Request(Incoming<P>),
    /// A body that did not decode: answered with error 10 or 12 (when it has a `msg_id`).
    Rejected(Rejected),
    /// Nothing left to do (a reply, routed to its call).
    Done,
}

/// Concurrency and shutdown bounds of the handler runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most handler tasks running at once; more requests are refused with error 11.
    pub max_in_flight: u32,
    /// How long the runtime waits for running handlers after end of input.
    pub drain_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_in_flight: MAX_IN_FLIGHT,
            drain_grace: DRAIN_GRACE,
        }
    }
}

/// Runs a handler-style node over the given input and output until end of input.
pub async fn serve_io<R, W, H, F>(reader: R, writer: W, make: F)
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
    H: Handler,
    F: FnOnce(&Node) -> H,
{
    serve_io_with(reader, writer, Limits::default(), make).await
}

/// [`serve_io`] with explicit [`Limits`].
pub async fn serve_io_with<R, W, H, F>(reader: R, writer: W, limits: Limits, make: F)
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
    H: Handler,
    F: FnOnce(&Node) -> H,
{
    let (outlet, writer) = spawn_writer(writer);
    let mut inbox = Inbox::new(reader, outlet.clone());
    let calls = Arc::new(Calls::default());
    let slots = Arc::new(Semaphore::new(limits.max_in_flight as usize));
    let mut running: Option<(Node, Arc<H>)> = None;
    let mut make = Some(make);

    // What the reader does with each message while its line is still borrowed: route a
    // reply to its call, decode a request, or keep what a rejection needs.
    let mut take = |_: &NodeInfo, frame: Frame<'_>| -> Work<H::Request> {
        if let Some(irt) = frame.in_reply_to {
            let reply = Reply {
                body: frame.body_value(),
                src: frame.src.into_owned(),
            };
            if calls.complete(irt, reply) == Completion::Unmatched {
                tracing::debug!(in_reply_to = irt, "late or unmatched reply dropped");
            }
            return Work::Done;
        }
        match frame.decode::<H::Request>() {
            Ok(body) => Work::Request(Incoming {
                origin: frame.into_origin(),
                in_reply_to: None,
                body,
            }),
            Err(error) => Work::Rejected(Rejected::of(&frame, error)),
        }
    };

    let mut spare = None;
    while let Some(event) = inbox.next_with(&mut take).await {
        match event {
            Event::Init(info) => {
                let node = Node::new(info, outlet.clone(), Arc::clone(&calls));
                if let Some(f) = make.take() {
                    let handler = Arc::new(f(&node));
                    running = Some((node, handler));
                }
            }
            Event::Message(work) => {
                let Some((node, handler)) = &running else {
                    continue;
                };
                let msg = match work {
                    Work::Done => continue,
                    Work::Rejected(rejected) => {
                        reject(&outlet, node.id(), &rejected).await;
                        continue;
                    }
                    Work::Request(msg) => msg,
                };
                // All slots taken: let running handlers progress for a few scheduler turns
                // (they may just not have been polled yet), never waiting on anything that
                // needs this reader. A request that finishes inline never takes its slot:
                // only this reader takes slots, so one seen free here is still free when the
                // request turns out to wait.
                for _ in 0..BUSY_YIELDS {
                    if slots.available_permits() > 0 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                if slots.available_permits() == 0 {
                    tracing::warn!(src = %msg.origin.src, "too many running handlers; message refused");
                    let busy = ErrorBody::new(ErrorCode::TemporarilyUnavailable, "node busy");
                    node.reply_error(&msg.origin, &busy).await;
                    continue;
                }
                let node = node.clone();
                let handler = Arc::clone(handler);
                let request = async move {
                    let to = ReplyTo::of(&msg.origin);
                    let answer = handler.handle(&node, msg).await;
                    node.answer(&to, &answer).await;
                };
                // The box of the last request that finished here is reused.
                let mut boxed = match spare.take() {
                    Some(mut spare) => {
                        Pin::set(&mut spare, request);
                        spare
                    }
                    None => Box::pin(request),
                };
                // Run it here as far as it goes without waiting; only a handler that waits
                // (on an RPC, a timer, a full output buffer) gets a task of its own.
                let first = std::future::poll_fn(|cx| Poll::Ready(boxed.as_mut().poll(cx))).await;
                if first.is_pending() {
                    let permit = Arc::clone(&slots).try_acquire_owned().ok();
                    if permit.is_none() {
                        tracing::error!("a slot seen free was taken; the handler runs unslotted");
                    }
                    tokio::spawn(async move {
                        boxed.await;
                        drop(permit);
                    });
                    // If it waits for output room, read no further until there is some.
                    outlet.uncongested().await;
                } else {
                    spare = Some(boxed);
                }
            }
        }
    }

    tracing::info!("end of input; draining");
    let _ =
        tokio::time::timeout(limits.drain_grace, slots.acquire_many(limits.max_in_flight)).await;
    if let Some((node, _)) = &running {
        node.stop();
    }
    drop(running);
    drop(inbox);
    drop(outlet);
    writer.finish().await;
}
