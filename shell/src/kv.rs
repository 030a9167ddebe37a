//! Typed clients for Maelstrom's key-value services: `lin-kv`, `seq-kv`, `lww-kv`.
//!
//! ```no_run
//! # async fn demo(node: glomers_shell::node::Node) -> Result<(), glomers_shell::kv::KvError> {
//! use glomers_shell::kv::{Kv, KvService};
//! let kv = Kv::new(node, KvService::Seq);
//! kv.write(&"counter-n0", &5u64).await?;
//! let v: Option<u64> = kv.read_opt(&"counter-n0").await?;
//! kv.cas(&"counter-n0", &5u64, &6u64, false).await?;
//! # Ok(()) }
//! ```
//!
//! Semantics the caller must keep in mind (see the services' documentation): `seq-kv` reads
//! may be stale for this node until it writes, and a `cas`/`write` that is a no-op on a stale
//! state succeeds without touching the newest one; `lww-kv` never creates keys through `cas`.
//! Errors say whether the operation certainly did not happen ([`KvError::is_definite`]); a
//! timeout is indefinite.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorBody, ErrorCode};
use crate::node::Node;
use crate::rpc::RpcError;

/// Default per-request timeout of a [`Kv`] client.
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

/// A failed key-value operation.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The key does not exist (code 20). Definite.
    #[error("key does not exist")]
    KeyDoesNotExist,
    /// The `cas` precondition did not hold (code 22). Definite.
    #[error("precondition failed: {}", .0.as_deref().unwrap_or(""))]
    PreconditionFailed(Option<String>),
    /// No answer within the timeout. Indefinite: the operation may have been applied.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Any other error reply; definite when its code is.
    #[error("service error: {0}")]
    Service(ErrorBody),
    /// An answer of the wrong type or shape. Indefinite.
    #[error("unexpected reply: {0}")]
    UnexpectedReply(String),
    /// The request could not be sent or awaited (overload, shutdown).
    #[error(transparent)]
    Rpc(RpcError),
}

impl KvError {
    /// True when the operation certainly did not take place.
    pub fn is_definite(&self) -> bool {
        match self {
            Self::KeyDoesNotExist | Self::PreconditionFailed(_) => true,
            Self::Service(e) => e.is_definite(),
            Self::Timeout(_) | Self::UnexpectedReply(_) => false,
            Self::Rpc(e) => e.is_definite(),
        }
    }
}

impl From<RpcError> for KvError {
    fn from(e: RpcError) -> Self {
        match e {
            RpcError::Timeout(d) => Self::Timeout(d),
            RpcError::Remote(body) => match body.code {
                ErrorCode::KeyDoesNotExist => Self::KeyDoesNotExist,
                ErrorCode::PreconditionFailed => Self::PreconditionFailed(body.text),
                _ => Self::Service(body),
            },
            RpcError::Decode(d) => Self::UnexpectedReply(d.to_string()),
            other => Self::Rpc(other),
        }
    }
}

impl From<KvError> for ErrorBody {
    /// What a client gets when its operation failed on the store: `temporarily-unavailable`
    /// (definite) when the store operation certainly did not happen and nothing else was
    /// done, otherwise `crash` (indefinite). Handlers that did other work first should choose
    /// their own code.
    fn from(e: KvError) -> Self {
        if e.is_definite() {
            ErrorBody::new(ErrorCode::TemporarilyUnavailable, e.to_string())
        } else {
            ErrorBody::new(ErrorCode::Crash, e.to_string())
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Request<'a, K, V> {
    Read {
        key: &'a K,
    },
    Write {
        key: &'a K,
        value: &'a V,
    },
    Cas {
        key: &'a K,
        from: &'a V,
        to: &'a V,
        #[serde(skip_serializing_if = "core::ops::Not::not")]
        create_if_not_exists: bool,
    },
}

// The variant names are the wire types (`read_ok`, ...).
#[allow(clippy::enum_variant_names)]
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Response<V> {
    ReadOk { value: V },
    WriteOk,
    CasOk,
}

/// A client for one key-value service, on behalf of one node.
#[derive(Clone, Debug)]
pub struct Kv {
    node: Node,
    service: KvService,
    timeout: Duration,
}

impl Kv {
    /// A client of `service` with [`DEFAULT_KV_TIMEOUT`].
    pub fn new(node: Node, service: KvService) -> Self {
        Self {
            node,
            service,
            timeout: DEFAULT_KV_TIMEOUT,
        }
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The service this client talks to.
    pub fn service(&self) -> KvService {
        self.service
    }

    async fn call<K: Serialize, V: Serialize + DeserializeOwned>(
        &self,
        req: &Request<'_, K, V>,
    ) -> Result<Response<V>, KvError> {
        Ok(self
            .node
            .rpc::<_, Response<V>>(self.service.node_id(), req, self.timeout)
            .await?)
    }

    /// Reads `key`; a missing key is [`KvError::KeyDoesNotExist`].
    pub async fn read<K, V>(&self, key: &K) -> Result<V, KvError>
    where
        K: Serialize + Sync,
        V: Serialize + DeserializeOwned + Sync,
    {
        match self.call::<K, V>(&Request::Read { key }).await? {
            Response::ReadOk { value } => Ok(value),
            _ => Err(KvError::UnexpectedReply("expected read_ok".into())),
        }
    }

    /// Reads `key`; a missing key is `Ok(None)`.
    pub async fn read_opt<K, V>(&self, key: &K) -> Result<Option<V>, KvError>
    where
        K: Serialize + Sync,
        V: Serialize + DeserializeOwned + Sync,
    {
        match self.read(key).await {
            Ok(v) => Ok(Some(v)),
            Err(KvError::KeyDoesNotExist) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `value` under `key` (creating it).
    pub async fn write<K, V>(&self, key: &K, value: &V) -> Result<(), KvError>
    where
        K: Serialize + Sync,
        V: Serialize + DeserializeOwned + Sync,
    {
        match self.call::<K, V>(&Request::Write { key, value }).await? {
            Response::WriteOk => Ok(()),
            _ => Err(KvError::UnexpectedReply("expected write_ok".into())),
        }
    }

    /// Sets `key` to `to` if it currently holds `from`. With `create_if_not_exists`, a missing
    /// key is created with `to` (`lww-kv` ignores this and answers key-does-not-exist).
    pub async fn cas<K, V>(
        &self,
        key: &K,
        from: &V,
        to: &V,
        create_if_not_exists: bool,
    ) -> Result<(), KvError>
    where
        K: Serialize + Sync,
        V: Serialize + DeserializeOwned + Sync,
    {
        let req = Request::Cas {
            key,
            from,
            to,
            create_if_not_exists,
        };
        match self.call::<K, V>(&req).await? {
            Response::CasOk => Ok(()),
            _ => Err(KvError::UnexpectedReply("expected cas_ok".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_match_the_service_schema() {
        let r: Request<'_, &str, u64> = Request::Cas {
            key: &"k",
            from: &1,
            to: &2,
            create_if_not_exists: true,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"type":"cas","key":"k","from":1,"to":2,"create_if_not_exists":true}"#
        );
        let r: Request<'_, &str, u64> = Request::Cas {
            key: &"k",
            from: &1,
            to: &2,
            create_if_not_exists: false,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"type":"cas","key":"k","from":1,"to":2}"#
        );
        let r: Request<'_, &str, u64> = Request::Read { key: &"k" };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"type":"read","key":"k"}"#
        );
    }

    #[test]
    fn service_errors_map_to_typed_errors() {
        let e: KvError =
            RpcError::Remote(ErrorBody::new(ErrorCode::KeyDoesNotExist, "missing")).into();
        assert!(matches!(e, KvError::KeyDoesNotExist));
        assert!(e.is_definite());
        let e: KvError =
            RpcError::Remote(ErrorBody::new(ErrorCode::PreconditionFailed, "was 3")).into();
        assert!(matches!(e, KvError::PreconditionFailed(Some(ref t)) if t == "was 3"));
        let e: KvError = RpcError::Timeout(Duration::from_millis(5)).into();
        assert!(matches!(e, KvError::Timeout(_)));
        assert!(!e.is_definite());
        let e: KvError = RpcError::Remote(ErrorBody::bare(ErrorCode::Crash)).into();
        assert!(!e.is_definite());
        assert_eq!(ErrorBody::from(e).code, ErrorCode::Crash);
        let e: KvError = RpcError::Remote(ErrorBody::bare(ErrorCode::Abort)).into();
        assert!(e.is_definite());
        assert_eq!(ErrorBody::from(e).code, ErrorCode::TemporarilyUnavailable);
    }
}
