//! Maelstrom's key-value services (`lin-kv`, `seq-kv`, `lww-kv`) as a machine sees them:
//! the request bodies it sends and what a reply means.
//!
//! A machine sends a [`KvRequest`] through [`glomers_node::Calls::call`] (one variant of
//! its own output enum carries it, e.g. `#[serde(untagged)] Kv(KvRequest<..>)`), lists the
//! replies it expects (`read_ok`, `write_ok`, `cas_ok`, `error`) among its input variants,
//! and turns a failed call into a [`KvError`], which says whether the operation certainly
//! did not happen ([`KvError::is_definite`]).
//!
//! Semantics the caller must keep in mind: `seq-kv` reads may be stale for this node until
//! it writes, and a `cas`/`write` that is a no-op on a stale state succeeds without
//! touching the newest one; `lww-kv` never creates keys through `cas`.

use std::time::Duration;

use glomers_node::{ErrorBody, ErrorCode};
use serde::Serialize;

/// Default per-request timeout of a key-value call.
pub const DEFAULT_KV_TIMEOUT: Duration = Duration::from_secs(1);

/// Which key-value service to talk to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvService {
    /// `lin-kv`: linearizable.
    Lin,
    /// `seq-kv`: sequentially consistent (stale reads per node until it writes).
    Seq,
    /// `lww-kv`: last-write-wins replicas that may never converge.
    Lww,
}

impl KvService {
    /// The service's node id.
    pub const fn node_id(self) -> &'static str {
        match self {
            Self::Lin => "lin-kv",
            Self::Seq => "seq-kv",
            Self::Lww => "lww-kv",
        }
    }
}

/// A request to a key-value service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KvRequest<K, V> {
    /// Read `key`; answered `read_ok` with `value`, or error 20.
    Read {
        /// The key.
        key: K,
    },
    /// Write `value` under `key` (creating it); answered `write_ok`.
    Write {
        /// The key.
        key: K,
        /// The value.
        value: V,
    },
    /// Set `key` to `to` if it holds `from`; answered `cas_ok`, or error 22 (or 20).
    Cas {
        /// The key.
        key: K,
        /// The expected value.
        from: V,
        /// The new value.
        to: V,
        /// Create a missing key with `to` (`lww-kv` ignores this).
        #[serde(skip_serializing_if = "core::ops::Not::not")]
        create_if_not_exists: bool,
    },
}

/// A failed key-value operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The key does not exist (code 20). Definite.
    #[error("key does not exist")]
    KeyDoesNotExist,
    /// The `cas` precondition did not hold (code 22). Definite.
    #[error("precondition failed: {}", .0.as_deref().unwrap_or(""))]
    PreconditionFailed(Option<String>),
    /// No answer within the timeout. Indefinite: the operation may have been applied.
    #[error("no answer within the timeout")]
    Timeout,
    /// Too many calls pending: nothing was sent. Definite.
    #[error("too many pending calls")]
    Overloaded,
    /// Any other error reply; definite when its code is.
    #[error("service error: {0}")]
    Service(ErrorBody),
    /// An answer of the wrong type. Indefinite.
    #[error("unexpected reply: {0}")]
    UnexpectedReply(&'static str),
}

impl KvError {
    /// The error an `error` reply from the service stands for.
    pub fn from_reply(body: ErrorBody) -> Self {
        match body.code {
            ErrorCode::KeyDoesNotExist => Self::KeyDoesNotExist,
            ErrorCode::PreconditionFailed => Self::PreconditionFailed(body.text),
            _ => Self::Service(body),
        }
    }

    /// True when the operation certainly did not take place.
    pub fn is_definite(&self) -> bool {
        match self {
            Self::KeyDoesNotExist | Self::PreconditionFailed(_) | Self::Overloaded => true,
            Self::Service(e) => e.is_definite(),
            Self::Timeout | Self::UnexpectedReply(_) => false,
        }
    }
}

impl From<KvError> for ErrorBody {
    /// What a client gets when its operation failed on the store: `temporarily-unavailable`
    /// (definite) when the store operation certainly did not happen and nothing else was
    /// done, otherwise `crash` (indefinite). Machines that did other work first should
    /// choose their own code.
    fn from(e: KvError) -> Self {
        if e.is_definite() {
            ErrorBody::new(ErrorCode::TemporarilyUnavailable, e.to_string())
        } else {
            ErrorBody::new(ErrorCode::Crash, e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_match_the_service_schema() {
        let cas = |create_if_not_exists| KvRequest::Cas {
            key: "k",
            from: 1,
            to: 2,
            create_if_not_exists,
        };
        assert_eq!(
            serde_json::to_string(&cas(true)).unwrap(),
            r#"{"type":"cas","key":"k","from":1,"to":2,"create_if_not_exists":true}"#
        );
        assert_eq!(
            serde_json::to_string(&cas(false)).unwrap(),
            r#"{"type":"cas","key":"k","from":1,"to":2}"#
        );
        let read: KvRequest<&str, u64> = KvRequest::Read { key: "k" };
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            r#"{"type":"read","key":"k"}"#
        );
    }

    #[test]
    fn service_errors_map_to_typed_errors() {
        let e = KvError::from_reply(ErrorBody::new(ErrorCode::KeyDoesNotExist, "missing"));
        assert_eq!(e, KvError::KeyDoesNotExist);
        assert!(e.is_definite());
        let e = KvError::from_reply(ErrorBody::new(ErrorCode::PreconditionFailed, "was 3"));
        assert_eq!(e, KvError::PreconditionFailed(Some("was 3".into())));
        assert!(!KvError::Timeout.is_definite());
        let crash = KvError::from_reply(ErrorBody::bare(ErrorCode::Crash));
        assert!(!crash.is_definite());
        assert_eq!(ErrorBody::from(crash).code, ErrorCode::Crash);
        let abort = KvError::from_reply(ErrorBody::bare(ErrorCode::Abort));
        assert!(abort.is_definite());
        assert_eq!(
            ErrorBody::from(abort).code,
            ErrorCode::TemporarilyUnavailable
        );
        assert!(KvError::Overloaded.is_definite());
    }
}
