//! The Maelstrom wire protocol: envelopes, body headers, typed decoding and encoding.
//!
//! Input lines are `{"src":..,"dest":..,"body":{..}}`; any extra key (Maelstrom adds `id`) is
//! ignored. Output lines carry exactly `src`, `dest` and `body`.
//!
//! Node message types are plain serde enums tagged by `type`:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Request {
//!     Echo { echo: serde_json::Value },
//! }
//!
//! #[derive(Serialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Response {
//!     EchoOk { echo: serde_json::Value },
//! }
//!
//! let body = serde_json::json!({"type": "echo", "msg_id": 1, "echo": "hi"});
//! let Request::Echo { echo } = glomers_shell::protocol::decode_body::<Request>(&body).unwrap();
//! let line = glomers_shell::protocol::encode_line(
//!     "n0", "c1", None, Some(1), &Response::EchoOk { echo },
//! ).unwrap();
//! assert_eq!(line, r#"{"src":"n0","dest":"c1","body":{"type":"echo_ok","echo":"hi","in_reply_to":1}}"#);
//! ```
//!
//! [`decode_body`] tells an unknown `type` ([`DecodeError::UnknownType`], answered with error
//! 10) from a known type with missing or mistyped fields ([`DecodeError::Malformed`], answered
//! with error 12). It needs the message enum to be internally tagged (`#[serde(tag = "type")]`).
//!
//! Two ways in, one outcome. [`parse_line`] reads a line into a `serde_json::Value` based
//! [`Envelope`]. The runtimes use [`read_frame`] instead: one pass over the line, strings
//! borrowed from it, the body kept as a small tree that message types decode from directly
//! ([`Frame::decode`]). Whenever that cannot give the same result as the `Value` path (a
//! repeated envelope key, a non-string `src`, a body that is not an object, text that is not
//! JSON, a decode that fails for any reason), the `Value` path runs and its result counts, so
//! every reply, error code (10 vs 12) and log line is the same either way.
//!
//! On the way out, [`encode_line_into`] appends a line to a caller's buffer (the runtimes'
//! output buffer); [`encode_line`] returns it as a `String`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorBody, TaggedError};

mod frame;
mod json;
mod scan;

pub use frame::{read_frame, Frame};

/// Where a message came from and how to answer it.
///
/// A reply goes to `src` with `in_reply_to = msg_id`; a message without `msg_id` cannot be
/// answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The sender's node, client or service id.
    pub src: String,
    /// The sender's `msg_id`, if it expects an answer.
    pub msg_id: Option<u64>,
}

/// A received message with a decoded body.
///
/// Keep `origin` around (it is a separate field so that it stays borrowable after `body` is
/// moved out by a `match`) and answer with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming<P> {
    /// Sender and its `msg_id`.
    pub origin: Origin,
    /// The `in_reply_to` of the body, when the message is itself a reply.
    pub in_reply_to: Option<u64>,
    /// The decoded body (its `type` selected the variant).
    pub body: P,
}

/// The fields every body may carry, read before typed decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// The body's `type`, when it is a string.
    pub kind: Option<String>,
    /// The body's `msg_id`, when it is an unsigned integer.
    pub msg_id: Option<u64>,
    /// The body's `in_reply_to`, when it is an unsigned integer.
    pub in_reply_to: Option<u64>,
}

impl Head {
    /// Reads the header fields of a body object; fields of the wrong JSON type count as absent.
    pub fn of(body: &Value) -> Self {
        Self {
            kind: body.get("type").and_then(Value::as_str).map(str::to_owned),
            msg_id: body.get("msg_id").and_then(Value::as_u64),
            in_reply_to: body.get("in_reply_to").and_then(Value::as_u64),
        }
    }
}

/// One parsed input line: a well-formed envelope whose body is a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// Sender id.
    pub src: String,
    /// Recipient id (normally this node).
    pub dest: String,
    /// The body header.
    pub head: Head,
    /// The whole body object, header fields included.
    pub body: Value,
}

impl Envelope {
    /// The sender and its `msg_id`.
    pub fn origin(&self) -> Origin {
        Origin {
            src: self.src.clone(),
            msg_id: self.head.msg_id,
        }
    }
}

/// Why an input line was rejected before any handler saw it.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The line is not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// The JSON is not an envelope with string `src`/`dest` and an object `body`.
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(String),
}

#[derive(Deserialize)]
struct RawEnvelope {
    src: Value,
    dest: Value,
    body: Value,
}

/// Parses one input line into an [`Envelope`].
///
/// Unknown top-level keys (such as Maelstrom's `id`) are ignored.
pub fn parse_line(line: &str) -> Result<Envelope, LineError> {
    let value: Value = serde_json::from_str(line).map_err(LineError::NotJson)?;
    let raw: RawEnvelope =
        serde_json::from_value(value).map_err(|e| LineError::MalformedEnvelope(e.to_string()))?;
    let (Value::String(src), Value::String(dest)) = (raw.src, raw.dest) else {
        return Err(LineError::MalformedEnvelope(
            "src and dest must be strings".into(),
        ));
    };
    if !raw.body.is_object() {
        return Err(LineError::MalformedEnvelope(
            "body must be a JSON object".into(),
        ));
    }
    Ok(Envelope {
        src,
        dest,
        head: Head::of(&raw.body),
        body: raw.body,
    })
}

/// Why a body did not decode into the node's message type.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body has no string `type`.
    #[error("body has no string `type`")]
    NoType,
    /// The `type` names no variant of the message enum (answered with error 10).
    #[error("unknown message type `{0}`")]
    UnknownType(String),
    /// The `type` is known but fields are missing or mistyped (answered with error 12).
    #[error("malformed `{kind}` body: {source}")]
    Malformed {
        /// The body's type.
        kind: String,
        /// The decoding failure.
        source: serde_json::Error,
    },
}

impl DecodeError {
    /// The error reply a request that failed this way gets.
    pub fn to_error_body(&self) -> ErrorBody {
        use crate::error::ErrorCode;
        match self {
            Self::UnknownType(_) => ErrorBody::new(ErrorCode::NotSupported, self.to_string()),
            Self::NoType | Self::Malformed { .. } => {
                ErrorBody::new(ErrorCode::MalformedRequest, self.to_string())
            }
        }
    }
}

/// Decodes a body object into the node's internally tagged message enum `P`.
///
/// Extra fields (`msg_id`, `in_reply_to`, anything unknown) are ignored unless `P` denies
/// them.
pub fn decode_body<P: DeserializeOwned>(body: &Value) -> Result<P, DecodeError> {
    let Some(kind) = body.get("type").and_then(Value::as_str) else {
        return Err(DecodeError::NoType);
    };
    match P::deserialize(body) {
        Ok(p) => Ok(p),
        Err(source) => {
            if is_known_type::<P>(kind) {
                Err(DecodeError::Malformed {
                    kind: kind.to_owned(),
                    source,
                })
            } else {
                Err(DecodeError::UnknownType(kind.to_owned()))
            }
        }
    }
}

/// Whether `kind` names a variant of the internally tagged enum `P`.
///
/// Works by deserializing `{"type": kind}` with an error type that records whether serde
/// reported an unknown variant; any other outcome (success, a missing field) means the type is
/// known.
pub fn is_known_type<P: DeserializeOwned>(kind: &str) -> bool {
    let probe =
        serde::de::value::MapDeserializer::<_, ProbeError>::new(std::iter::once(("type", kind)));
    match P::deserialize(probe) {
        Ok(_) => true,
        Err(e) => !e.unknown_variant,
    }
}

#[derive(Debug)]
struct ProbeError {
    unknown_variant: bool,
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for ProbeError {}

impl serde::de::Error for ProbeError {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        Self {
            unknown_variant: false,
        }
    }

    fn unknown_variant(_variant: &str, _expected: &'static [&'static str]) -> Self {
        Self {
            unknown_variant: true,
        }
    }
}

/// Serializes one output line (without the trailing newline).
///
/// `payload` must serialize to a JSON object that carries its own `type` and has no
/// `msg_id`/`in_reply_to` keys of its own (a tagged enum variant does). The result has exactly
/// the keys `src`, `dest`, `body`, and contains no raw newline.
pub fn encode_line<B: Serialize + ?Sized>(
    src: &str,
    dest: &str,
    msg_id: Option<u64>,
    in_reply_to: Option<u64>,
    payload: &B,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    encode_line_into(&mut out, src, dest, msg_id, in_reply_to, payload)?;
    // serde_json writes UTF-8 only; the check cannot fail.
    String::from_utf8(out).map_err(<serde_json::Error as serde::ser::Error>::custom)
}

/// Appends one output line (without the trailing newline) to `out`: the bytes
/// [`encode_line`] returns. On error `out` is left as it was.
///
/// The body is the payload's object with `msg_id` and `in_reply_to` (those that are set)
/// appended after its own keys. A payload serializing to `null` (a unit) counts as an empty
/// object; any other non-object payload is an error.
pub fn encode_line_into<B: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    src: &str,
    dest: &str,
    msg_id: Option<u64>,
    in_reply_to: Option<u64>,
    payload: &B,
) -> Result<(), serde_json::Error> {
    let start = out.len();
    let written = write_line(out, src, dest, msg_id, in_reply_to, payload);
    if written.is_err() {
        out.truncate(start);
    }
    written
}

fn write_line<B: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    src: &str,
    dest: &str,
    msg_id: Option<u64>,
    in_reply_to: Option<u64>,
    payload: &B,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"src":"#);
    serde_json::to_writer(&mut *out, src)?;
    out.extend_from_slice(br#","dest":"#);
    serde_json::to_writer(&mut *out, dest)?;
    out.extend_from_slice(br#","body":"#);
    let body = out.len();
    serde_json::to_writer(&mut *out, payload)?;
    if out[body..] == *b"null" {
        out.truncate(body);
        out.extend_from_slice(b"{}");
    }
    if out.get(body) != Some(&b'{') || out.last() != Some(&b'}') {
        return Err(serde::ser::Error::custom(
            "a message body must serialize to a JSON object",
        ));
    }
    // Reopen the body object to append the header fields.
    out.pop();
    let mut empty = out.len() == body + 1;
    for (key, value) in [("msg_id", msg_id), ("in_reply_to", in_reply_to)] {
        let Some(value) = value else { continue };
        if !empty {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        serde_json::to_writer(&mut *out, &value)?;
        empty = false;
    }
    out.extend_from_slice(b"}}");
    Ok(())
}

/// Appends an error reply line to `to` to `out` (see [`encode_line_into`]).
pub fn encode_error_into(
    out: &mut Vec<u8>,
    src: &str,
    to: &Origin,
    error: &ErrorBody,
) -> Result<(), serde_json::Error> {
    encode_line_into(
        out,
        src,
        &to.src,
        None,
        to.msg_id,
        &TaggedError::Error(error),
    )
}

/// Serializes an error reply line to `to`.
pub fn encode_error(
    src: &str,
    to: &Origin,
    error: &ErrorBody,
) -> Result<String, serde_json::Error> {
    encode_line(src, &to.src, None, to.msg_id, &TaggedError::Error(error))
}

/// The `init` request body.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct InitBody {
    pub node_id: String,
    pub node_ids: Vec<String>,
}

/// The `init_ok` reply body.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum InitOk {
    InitOk,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Req {
        Add { delta: u64 },
        Read,
        Error(ErrorBody),
    }

    #[test]
    fn parse_ignores_id_and_unknown_fields() {
        let e = parse_line(
            r#"{"id":7,"src":"c1","dest":"n0","extra":true,"body":{"type":"read","msg_id":3,"zzz":1}}"#,
        )
        .unwrap();
        assert_eq!(e.src, "c1");
        assert_eq!(e.head.msg_id, Some(3));
        assert_eq!(e.head.kind.as_deref(), Some("read"));
        assert_eq!(decode_body::<Req>(&e.body).unwrap(), Req::Read);
    }

    #[test]
    fn bad_lines_are_classified() {
        assert!(matches!(parse_line("hello"), Err(LineError::NotJson(_))));
        assert!(matches!(
            parse_line(r#"{"src":"c1","body":{}}"#),
            Err(LineError::MalformedEnvelope(_))
        ));
        assert!(matches!(
            parse_line(r#"{"src":1,"dest":"n0","body":{}}"#),
            Err(LineError::MalformedEnvelope(_))
        ));
        assert!(matches!(
            parse_line(r#"{"src":"c1","dest":"n0","body":[1]}"#),
            Err(LineError::MalformedEnvelope(_))
        ));
    }

    #[test]
    fn unknown_type_differs_from_malformed_known_type() {
        let unknown = serde_json::json!({"type": "frobnicate", "msg_id": 1});
        let e = decode_body::<Req>(&unknown).unwrap_err();
        assert!(matches!(e, DecodeError::UnknownType(ref k) if k == "frobnicate"));
        assert_eq!(e.to_error_body().code, ErrorCode::NotSupported);

        let missing = serde_json::json!({"type": "add", "msg_id": 1});
        let e = decode_body::<Req>(&missing).unwrap_err();
        assert!(matches!(e, DecodeError::Malformed { .. }), "{e:?}");
        assert_eq!(e.to_error_body().code, ErrorCode::MalformedRequest);

        let mistyped = serde_json::json!({"type": "add", "delta": "five"});
        assert!(matches!(
            decode_body::<Req>(&mistyped),
            Err(DecodeError::Malformed { .. })
        ));
        let float = serde_json::json!({"type": "add", "delta": 1.5});
        assert!(matches!(
            decode_body::<Req>(&float),
            Err(DecodeError::Malformed { .. })
        ));

        let untyped = serde_json::json!({"msg_id": 1});
        assert!(matches!(
            decode_body::<Req>(&untyped),
            Err(DecodeError::NoType)
        ));
        let err = serde_json::json!({"type": "error", "code": 22, "in_reply_to": 4});
        assert_eq!(
            decode_body::<Req>(&err).unwrap(),
            Req::Error(ErrorBody::bare(ErrorCode::PreconditionFailed))
        );
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Resp {
        ReadOk { value: u64 },
        AddOk,
    }

    #[test]
    fn encoded_lines_have_exact_keys_and_integers() {
        let line = encode_line("n0", "c1", Some(9), Some(3), &Resp::ReadOk { value: 7 }).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 3);
        assert_eq!(v["body"]["value"], serde_json::json!(7));
        assert!(v["body"]["value"].is_u64());
        assert_eq!(v["body"]["msg_id"], serde_json::json!(9));
        assert_eq!(v["body"]["in_reply_to"], serde_json::json!(3));
        let unit = encode_line("n0", "c1", None, Some(3), &Resp::AddOk).unwrap();
        assert_eq!(
            unit,
            r#"{"src":"n0","dest":"c1","body":{"type":"add_ok","in_reply_to":3}}"#
        );
        let err = encode_error(
            "n0",
            &Origin {
                src: "c2".into(),
                msg_id: Some(5),
            },
            &ErrorBody::new(ErrorCode::NotSupported, "x"),
        )
        .unwrap();
        assert_eq!(
            err,
            r#"{"src":"n0","dest":"c2","body":{"type":"error","code":10,"text":"x","in_reply_to":5}}"#
        );
        let nl = encode_line("n0", "c1", None, None, &serde_json::json!({"type":"a\nb"})).unwrap();
        assert!(!nl.contains('\n'));
    }
}
