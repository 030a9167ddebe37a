//! The async handler style: one task per request, replies returned from the handler, RPC with
//! timeouts.
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
//! - Each request decoding into `Handler::Request` runs in its own task, at most
//!   [`MAX_IN_FLIGHT`] at once. The reader never waits for a handler to finish (it must keep
//!   routing RPC replies): when all slots are taken it yields a few scheduler turns, and a
//!   request still without a slot is refused with error 11 (temporarily-unavailable,
//!   definite: it was not processed). Handlers run concurrently
//!   and in no guaranteed order; use the [`crate::machine`] style when order matters.
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncWrite, BufReader};
use tokio::sync::{Notify, Semaphore};

use crate::error::{ErrorBody, ErrorCode};
use crate::inbox::{reject, Event, Inbox, NodeInfo};
use crate::io::{spawn_writer, Outlet};
use crate::protocol::{self, Incoming, Origin};
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

    /// Queues an already encoded line. Encoding happens before the first await so that no
    /// borrow of the body is held across it.
    async fn write(&self, line: Result<String, serde_json::Error>) -> Result<(), RpcError> {
        match line {
            Ok(l) => self
                .shared
                .outlet
                .send_line(l)
                .await
                .map_err(|_| RpcError::Closed),
            Err(e) => {
                tracing::error!(error = %e, "body did not serialize; not sent");
                Err(RpcError::Encode(e))
            }
        }
    }

    /// Sends a one-way message (no `msg_id`) to `dest`. Failures (a body that does not
    /// serialize, output closed) are logged.
    pub fn send<B: Serialize>(&self, dest: &str, body: &B) -> impl Future<Output = ()> + Send + '_ {
        let line = protocol::encode_line(self.id(), dest, None, None, body);
        async move {
            let _ = self.write(line).await;
        }
    }

    /// Replies `body` to `to` (with `in_reply_to = to.msg_id`). A request without `msg_id`
    /// cannot be answered and is skipped with a debug log.
    pub fn reply<B: Serialize>(
        &self,
        to: &Origin,
        body: &B,
    ) -> impl Future<Output = ()> + Send + '_ {
        let line = to
            .msg_id
            .map(|id| protocol::encode_line(self.id(), &to.src, None, Some(id), body));
        if line.is_none() {
            tracing::debug!(dest = %to.src, "reply to a message without msg_id skipped");
        }
        async move {
            if let Some(line) = line {
                let _ = self.write(line).await;
            }
        }
    }

    /// Replies an error to `to` (skipped when `to` has no `msg_id`).
    pub fn reply_error(
        &self,
        to: &Origin,
        error: &ErrorBody,
    ) -> impl Future<Output = ()> + Send + '_ {
        let line = to
            .msg_id
            .map(|_| protocol::encode_error(self.id(), to, error));
        if line.is_none() {
            tracing::debug!(dest = %to.src, %error, "error to a message without msg_id skipped");
        }
        async move {
            if let Some(line) = line {
                let _ = self.write(line).await;
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
            let line = protocol::encode_line(self.id(), dest, Some(call.msg_id()), None, body);
            (call, line)
        });
        async move {
            let (call, line) = prepared?;
            self.write(line).await?;
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
    serve_io(
        BufReader::new(tokio::io::stdin()),
        tokio::io::stdout(),
        make,
    )
    .await
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

    while let Some(event) = inbox.next().await {
        match event {
            Event::Init(info) => {
                let node = Node::new(info, outlet.clone(), Arc::clone(&calls));
                if let Some(f) = make.take() {
                    let handler = Arc::new(f(&node));
                    running = Some((node, handler));
                }
            }
            Event::Message(env) => {
                let Some((node, handler)) = &running else {
                    continue;
                };
                if let Some(irt) = env.head.in_reply_to {
                    let reply = Reply {
                        src: env.src,
                        body: env.body,
                    };
                    if calls.complete(irt, reply) == Completion::Unmatched {
                        tracing::debug!(in_reply_to = irt, "late or unmatched reply dropped");
                    }
                    continue;
                }
                let origin = env.origin();
                let body = match protocol::decode_body::<H::Request>(&env.body) {
                    Ok(b) => b,
                    Err(e) => {
                        reject(&outlet, node.id(), &origin, &e, &env.body).await;
                        continue;
                    }
                };
                // All slots taken: let running handlers progress for a few scheduler turns
                // (they may just not have been polled yet), never waiting on anything that
                // needs this reader.
                let mut permit = Arc::clone(&slots).try_acquire_owned().ok();
                for _ in 0..BUSY_YIELDS {
                    if permit.is_some() {
                        break;
                    }
                    tokio::task::yield_now().await;
                    permit = Arc::clone(&slots).try_acquire_owned().ok();
                }
                let Some(permit) = permit else {
                    tracing::warn!(src = %origin.src, "too many running handlers; message refused");
                    let busy = ErrorBody::new(ErrorCode::TemporarilyUnavailable, "node busy");
                    node.reply_error(&origin, &busy).await;
                    continue;
                };
                let node = node.clone();
                let handler = Arc::clone(handler);
                let msg = Incoming {
                    origin,
                    in_reply_to: None,
                    body,
                };
                tokio::spawn(async move {
                    let origin = msg.origin.clone();
                    let answer = handler.handle(&node, msg).await;
                    match answer {
                        Ok(Some(resp)) => node.reply(&origin, &resp).await,
                        Ok(None) => {}
                        Err(e) => node.reply_error(&origin, &e).await,
                    }
                    drop(permit);
                });
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
