//! Maelstrom error codes and the error reply body.
//!
//! An error reply on the wire is
//! `{"type":"error","in_reply_to":N,"code":C,"text":"..."}`. [`ErrorBody`] holds `code` and
//! `text`; the runtime adds `type` and `in_reply_to` when it writes one.
//!
//! A code is *definite* when the operation certainly did not take place and never will
//! ([`ErrorCode::is_definite`]). Codes outside Maelstrom's table (including every user code
//! from 1000 up) are indefinite, as Maelstrom itself treats them.

use alloc::string::String;
use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Maelstrom error code.
///
/// Serialized as a bare JSON integer. [`ErrorCode::from_code`] maps every known number to its
/// named variant, so `Other(n)` only ever holds a number outside the table when built through
/// it (or through deserialization). Equality compares the numeric codes, so `Other(10)` equals
/// `NotSupported` even when built by hand.
#[derive(Clone, Copy, Debug)]
pub enum ErrorCode {
    /// 0: the operation did not complete within a timeout. Indefinite.
    Timeout,
    /// 1: the request was addressed to a node that does not exist. Definite.
    NodeNotFound,
    /// 10: the operation is not supported by this node. Definite.
    NotSupported,
    /// 11: the operation cannot be performed right now and did not happen. Definite.
    TemporarilyUnavailable,
    /// 12: the request could not possibly have been processed (bad shape). Definite.
    MalformedRequest,
    /// 13: generic indefinite failure; always a safe choice.
    Crash,
    /// 14: generic definite failure: the operation did not take place.
    Abort,
    /// 20: the key does not exist. Definite.
    KeyDoesNotExist,
    /// 21: the key already exists and will not be overwritten. Definite.
    KeyAlreadyExists,
    /// 22: a precondition (e.g. the `from` of a compare-and-set) did not hold. Definite.
    PreconditionFailed,
    /// 30: the transaction was aborted because of a conflict. Definite.
    TxnConflict,
    /// Any other code; indefinite.
    Other(u64),
}

impl ErrorCode {
    /// Maps a wire number to its variant; numbers outside the table become `Other`.
    pub const fn from_code(code: u64) -> Self {
        match code {
            0 => Self::Timeout,
            1 => Self::NodeNotFound,
            10 => Self::NotSupported,
            11 => Self::TemporarilyUnavailable,
            12 => Self::MalformedRequest,
            13 => Self::Crash,
            14 => Self::Abort,
            20 => Self::KeyDoesNotExist,
            21 => Self::KeyAlreadyExists,
            22 => Self::PreconditionFailed,
            30 => Self::TxnConflict,
            other => Self::Other(other),
        }
    }

    /// The wire number of this code.
    pub const fn code(self) -> u64 {
        match self {
            Self::Timeout => 0,
            Self::NodeNotFound => 1,
            Self::NotSupported => 10,
            Self::TemporarilyUnavailable => 11,
            Self::MalformedRequest => 12,
            Self::Crash => 13,
            Self::Abort => 14,
            Self::KeyDoesNotExist => 20,
            Self::KeyAlreadyExists => 21,
            Self::PreconditionFailed => 22,
            Self::TxnConflict => 30,
            Self::Other(n) => n,
        }
    }

    /// True when the failed operation certainly did not and will not take place
    /// (codes 1, 10, 11, 12, 14, 20, 21, 22, 30). Timeouts, crashes and unknown codes are
    /// indefinite.
    pub const fn is_definite(self) -> bool {
        matches!(self.code(), 1 | 10 | 11 | 12 | 14 | 20 | 21 | 22 | 30)
    }

    /// Maelstrom's name for the code (`"other"` for codes outside the table).
    pub const fn name(self) -> &'static str {
        match Self::from_code(self.code()) {
            Self::Timeout => "timeout",
            Self::NodeNotFound => "node-not-found",
            Self::NotSupported => "not-supported",
            Self::TemporarilyUnavailable => "temporarily-unavailable",
            Self::MalformedRequest => "malformed-request",
            Self::Crash => "crash",
            Self::Abort => "abort",
            Self::KeyDoesNotExist => "key-does-not-exist",
            Self::KeyAlreadyExists => "key-already-exists",
            Self::PreconditionFailed => "precondition-failed",
            Self::TxnConflict => "txn-conflict",
            Self::Other(_) => "other",
        }
    }
}

impl PartialEq for ErrorCode {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
    }
}

impl Eq for ErrorCode {}

impl core::hash::Hash for ErrorCode {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.code())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(Self::from_code)
    }
}

/// The payload of an error reply: `code` and optional `text`.
///
/// To receive error replies inside a tagged message enum, add a variant
/// `#[serde(rename = "error")] Error(ErrorBody)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The Maelstrom error code.
    pub code: ErrorCode,
    /// Human-readable detail; omitted from the wire when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl ErrorBody {
    /// An error body with the given code and text.
    pub fn new(code: ErrorCode, text: impl Into<String>) -> Self {
        Self {
            code,
            text: Some(text.into()),
        }
    }

    /// An error body with no text.
    pub const fn bare(code: ErrorCode) -> Self {
        Self { code, text: None }
    }

    /// Whether the failed operation certainly did not happen (see [`ErrorCode::is_definite`]).
    pub const fn is_definite(&self) -> bool {
        self.code.is_definite()
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.text {
            Some(t) => write!(f, "{}: {}", self.code, t),
            None => write!(f, "{}", self.code),
        }
    }
}

impl core::error::Error for ErrorBody {}

/// Serialization helper: an error body tagged `"type": "error"` (what the runtime writes).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaggedError<'a> {
    /// `{"type": "error", "code": .., "text": ..}`.
    Error(&'a ErrorBody),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_definiteness_matches_the_table() {
        let definite = [1, 10, 11, 12, 14, 20, 21, 22, 30];
        for n in 0..=1001u64 {
            let c = ErrorCode::from_code(n);
            assert_eq!(c.code(), n);
            assert_eq!(c.is_definite(), definite.contains(&n), "code {n}");
        }
        assert_eq!(ErrorCode::Other(22), ErrorCode::PreconditionFailed);
        assert!(ErrorCode::Other(22).is_definite());
    }

    #[test]
    fn error_body_serializes_as_integer_code() {
        let b = ErrorBody::new(ErrorCode::NotSupported, "nope");
        let s = serde_json::to_string(&TaggedError::Error(&b)).unwrap();
        assert_eq!(s, r#"{"type":"error","code":10,"text":"nope"}"#);
        let bare =
            serde_json::to_string(&TaggedError::Error(&ErrorBody::bare(ErrorCode::Crash))).unwrap();
        assert_eq!(bare, r#"{"type":"error","code":13}"#);
        let back: ErrorBody = serde_json::from_str(r#"{"code":20,"text":"x","extra":1}"#).unwrap();
        assert_eq!(back.code, ErrorCode::KeyDoesNotExist);
    }
}
