//! Request/reply correlation: per-node `msg_id`s and the table of calls awaiting a reply.
//!
//! Invariants:
//! - [`Calls::next_msg_id`] never returns the same number twice in one process (an atomic
//!   counter starting at 1).
//! - A pending entry exists only while its [`PendingCall`] is alive: completing, timing out or
//!   dropping the call (for example when the awaiting future is cancelled) removes it, so
//!   timed-out calls leak nothing.
//! - A reply whose `in_reply_to` matches no pending entry (late, duplicate or foreign) is
//!   reported as [`Completion::Unmatched`]; the caller drops it with a debug log.
//! - At most [`Calls::capacity`] calls are pending; beyond that, registering fails with
//!   [`RpcError::Overloaded`] (definite: nothing was sent).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::error::{ErrorBody, ErrorCode};

/// Default bound on concurrently pending calls per node.
pub const DEFAULT_MAX_PENDING: usize = 65_536;

/// A reply routed to a waiting call: who sent it and its whole body.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The replier's id.
    pub src: String,
    /// The reply body (`type`, `in_reply_to` and the payload).
    pub body: Value,
}

/// Why a call produced no usable reply.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// No reply within the call's timeout. Indefinite: the request may have been applied.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The peer answered with an error body; definite when its code is.
    #[error("remote error: {0}")]
    Remote(ErrorBody),
    /// A reply arrived but did not decode into the expected type. Indefinite.
    #[error("undecodable reply: {0}")]
    Decode(#[source] serde_json::Error),
    /// Too many calls pending; the request was not sent. Definite.
    #[error("too many pending calls")]
    Overloaded,
    /// The request body does not serialize to JSON; nothing was sent. Definite.
    #[error("request does not serialize: {0}")]
    Encode(#[source] serde_json::Error),
    /// The runtime is shutting down (output closed); the request may or may not have left.
    /// Indefinite.
    #[error("runtime closed")]
    Closed,
}

impl RpcError {
    /// True when the request certainly had no effect.
    pub fn is_definite(&self) -> bool {
        match self {
            Self::Remote(e) => e.is_definite(),
            Self::Overloaded | Self::Encode(_) => true,
            Self::Timeout(_) | Self::Decode(_) | Self::Closed => false,
        }
    }
}

impl From<RpcError> for ErrorBody {
    /// Maps a failed downstream call to the reply a client gets: `temporarily-unavailable`
    /// (definite) when nothing was sent, and `crash` (indefinite, always safe) otherwise, since
    /// a downstream failure says nothing certain about the client's own operation.
    fn from(e: RpcError) -> Self {
        match e {
            RpcError::Overloaded => {
                ErrorBody::new(ErrorCode::TemporarilyUnavailable, e.to_string())
            }
            _ => ErrorBody::new(ErrorCode::Crash, e.to_string()),
        }
    }
}

/// Outcome of routing a reply with [`Calls::complete`].
#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    /// The reply reached its waiting call.
    Delivered,
    /// No call waits for this `in_reply_to` (late, duplicate or foreign reply).
    Unmatched,
}

/// The per-node `msg_id` counter and pending-call table. Shared behind an `Arc`.
#[derive(Debug)]
pub struct Calls {
    next: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    capacity: usize,
}

impl Default for Calls {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_PENDING)
    }
}

impl Calls {
    /// An empty table admitting at most `capacity` pending calls.
    pub fn new(capacity: usize) -> Self {
        Self {
            next: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The bound on pending calls.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn table(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<Reply>>> {
        // A panic while holding this lock cannot leave the map inconsistent (single
        // insert/remove calls), so a poisoned lock is safe to reuse.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh `msg_id`, unique within this process.
    pub fn next_msg_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Number of calls currently waiting for a reply.
    pub fn pending(&self) -> usize {
        self.table().len()
    }

    /// Allocates a `msg_id` and registers a call waiting for the reply to it.
    pub fn register(self: &Arc<Self>) -> Result<PendingCall, RpcError> {
        let (tx, rx) = oneshot::channel();
        let msg_id = self.next_msg_id();
        {
            let mut t = self.table();
            if t.len() >= self.capacity {
                return Err(RpcError::Overloaded);
            }
            t.insert(msg_id, tx);
        }
        Ok(PendingCall {
            calls: Arc::clone(self),
            msg_id,
            rx: Some(rx),
        })
    }

    /// Routes a reply to the call waiting for `in_reply_to`, removing the entry.
    pub fn complete(&self, in_reply_to: u64, reply: Reply) -> Completion {
        let Some(tx) = self.table().remove(&in_reply_to) else {
            return Completion::Unmatched;
        };
        match tx.send(reply) {
            Ok(()) => Completion::Delivered,
            // The waiter gave up between our removal and the send.
            Err(_) => Completion::Unmatched,
        }
    }
}

/// A registered call. Await it with [`PendingCall::wait`]; dropping it unregisters the call.
#[derive(Debug)]
pub struct PendingCall {
    calls: Arc<Calls>,
    msg_id: u64,
    rx: Option<oneshot::Receiver<Reply>>,
}

impl PendingCall {
    /// The `msg_id` the request must carry.
    pub fn msg_id(&self) -> u64 {
        self.msg_id
    }

    /// Waits up to `timeout` for the reply. On timeout the entry is removed, so a reply that
    /// arrives later is reported unmatched.
    pub async fn wait(mut self, timeout: Duration) -> Result<Reply, RpcError> {
        let Some(rx) = self.rx.take() else {
            return Err(RpcError::Closed);
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(RpcError::Closed),
            Err(_) => Err(RpcError::Timeout(timeout)),
        }
        // `self` drops here and removes any remaining entry.
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.calls.table().remove(&self.msg_id);
    }
}

/// Turns a routed reply into `R`, or into [`RpcError::Remote`] when its `type` is `"error"`.
pub fn decode_reply<R: serde::de::DeserializeOwned>(reply: Reply) -> Result<R, RpcError> {
    if reply.body.get("type").and_then(Value::as_str) == Some("error") {
        let err = serde_json::from_value::<ErrorBody>(reply.body)
            .unwrap_or_else(|e| ErrorBody::new(ErrorCode::Crash, format!("bad error reply: {e}")));
        return Err(RpcError::Remote(err));
    }
    serde_json::from_value(reply.body).map_err(RpcError::Decode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn reply(v: Value) -> Reply {
        Reply {
            src: "n1".into(),
            body: v,
        }
    }

    #[test]
    fn msg_ids_are_unique_across_threads() {
        let calls = Arc::new(Calls::default());
        let mut handles = Vec::new();
        for _ in 0..4 {
            let c = Arc::clone(&calls);
            handles.push(std::thread::spawn(move || {
                (0..10_000).map(|_| c.next_msg_id()).collect::<Vec<_>>()
            }));
        }
        let mut all = HashSet::new();
        for h in handles {
            for id in h.join().unwrap() {
                assert!(id > 0);
                assert!(all.insert(id), "duplicate msg_id {id}");
            }
        }
        assert_eq!(all.len(), 40_000);
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_removes_entry_and_late_reply_is_unmatched() {
        let calls = Arc::new(Calls::default());
        let call = calls.register().unwrap();
        let id = call.msg_id();
        assert_eq!(calls.pending(), 1);
        let r = call.wait(Duration::from_millis(100)).await;
        assert!(matches!(r, Err(RpcError::Timeout(_))));
        assert!(!r.unwrap_err().is_definite());
        assert_eq!(calls.pending(), 0);
        assert_eq!(
            calls.complete(id, reply(serde_json::json!({"type":"x_ok"}))),
            Completion::Unmatched
        );
        assert_eq!(calls.pending(), 0);
    }

    #[tokio::test]
    async fn reply_is_delivered_once() {
        let calls = Arc::new(Calls::default());
        let call = calls.register().unwrap();
        let id = call.msg_id();
        let waiter = tokio::spawn(call.wait(Duration::from_secs(5)));
        tokio::task::yield_now().await;
        let body = serde_json::json!({"type":"read_ok","value":3,"in_reply_to":id});
        assert_eq!(
            calls.complete(id, reply(body.clone())),
            Completion::Delivered
        );
        assert_eq!(
            calls.complete(id, reply(body.clone())),
            Completion::Unmatched
        );
        let got = waiter.await.unwrap().unwrap();
        assert_eq!(got.body, body);
        assert_eq!(calls.pending(), 0);
    }

    #[tokio::test]
    async fn cancelled_wait_removes_entry() {
        let calls = Arc::new(Calls::default());
        let call = calls.register().unwrap();
        let fut = call.wait(Duration::from_secs(60));
        let _ = tokio::time::timeout(Duration::from_millis(5), fut).await;
        assert_eq!(calls.pending(), 0);
    }

    #[test]
    fn capacity_is_enforced_and_definite() {
        let calls = Arc::new(Calls::new(2));
        let a = calls.register().unwrap();
        let _b = calls.register().unwrap();
        let e = calls.register().unwrap_err();
        assert!(matches!(e, RpcError::Overloaded));
        assert!(e.is_definite());
        drop(a);
        assert!(calls.register().is_ok());
    }

    #[test]
    fn error_replies_decode_to_remote_errors() {
        let e = decode_reply::<Value>(reply(
            serde_json::json!({"type":"error","code":20,"text":"missing","in_reply_to":1}),
        ))
        .unwrap_err();
        match e {
            RpcError::Remote(b) => {
                assert_eq!(b.code, ErrorCode::KeyDoesNotExist);
                assert!(b.is_definite());
            }
            other => panic!("unexpected {other:?}"),
        }
        #[derive(serde::Deserialize)]
        struct ReadOk {
            value: u64,
        }
        let ok: ReadOk =
            decode_reply(reply(serde_json::json!({"type":"read_ok","value":4}))).unwrap();
        assert_eq!(ok.value, 4);
        assert!(matches!(
            decode_reply::<ReadOk>(reply(serde_json::json!({"type":"read_ok","value":"x"}))),
            Err(RpcError::Decode(_))
        ));
    }
}
