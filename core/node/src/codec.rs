//! The Maelstrom wire format: reading an input line, decoding its body into a machine's
//! type, and writing output lines. The one JSON path of glomers' nodes, on `serde_json`.
//!
//! Input lines are `{"src":..,"dest":..,"body":{..}}`; other top-level keys (Maelstrom adds
//! `id`) are ignored. [`read_envelope`] reads the envelope with its strings borrowed from
//! the line and the body kept as the raw text ([`RawValue`]); [`Envelope::head`] holds the
//! body's `type`, `msg_id` and `in_reply_to` (of the wrong JSON type they count as absent;
//! a repeated one, the last counts); [`Envelope::decode`] decodes the body straight into the
//! node's internally tagged message enum. When that fails, [`DecodeError`] tells an unknown
//! `type` (answered with error 10) from a known one with bad fields (error 12), with no
//! second parse of the body: [`is_known_type`] asks the enum itself.
//!
//! [`decode_line`] is the same read for a well-formed message, in one pass over the line:
//! the body is decoded into the machine's enum while its header fields are read on the way
//! (the `tap` module), with nothing buffered for them. It gives the very message
//! `read_envelope` and `decode` give, or nothing; the runtime reads every line with it
//! first and hands what it does not take (`init`, bad lines, bodies that do not decode) to
//! `read_envelope`, which tells why.
//!
//! Output lines carry exactly `src`, `dest` and `body`; [`encode_line_into`] appends one to
//! a caller's buffer, the body being the payload's object with `msg_id` and `in_reply_to`
//! appended.
//!
//! ```
//! use glomers_node::codec::{encode_line_into, read_envelope};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Request { Echo { echo: serde_json::Value } }
//!
//! #[derive(Serialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Response { EchoOk { echo: serde_json::Value } }
//!
//! let env = read_envelope(r#"{"id":3,"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"echo":"hi"}}"#).unwrap();
//! let msg = env.decode::<Request>().unwrap();
//! let Request::Echo { echo } = msg.body;
//! let mut out = Vec::new();
//! encode_line_into(&mut out, "n0", &msg.origin.src, None, msg.origin.msg_id, &Response::EchoOk { echo }).unwrap();
//! assert_eq!(out, br#"{"src":"n0","dest":"c1","body":{"type":"echo_ok","echo":"hi","in_reply_to":1}}"#);
//! ```

use std::borrow::{Cow, ToOwned};
use std::fmt;
use std::string::{String, ToString};
use std::vec::Vec;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
pub use serde_json::value::RawValue;

use crate::error::{ErrorBody, ErrorCode, TaggedError};
use crate::message::{Incoming, NodeId, Origin};
use crate::outbox::{OutBody, Outgoing};

mod tap;

/// Why an input line was not read as a message.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Not JSON, or JSON that is not an envelope with string `src` and `dest` and a `body`
    /// (a repeated envelope key included).
    #[error("not a Maelstrom envelope: {0}")]
    NotEnvelope(#[source] serde_json::Error),
    /// The `body` is not a JSON object.
    #[error("the body is not a JSON object")]
    BodyNotObject,
    /// The `body` object could not be read for its header fields.
    #[error("unreadable body: {0}")]
    BadBody(#[source] serde_json::Error),
}

/// Why a body did not decode into the node's message type.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body has no string `type` (answered with error 12).
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
        let code = match self {
            Self::UnknownType(_) => ErrorCode::NotSupported,
            Self::NoType | Self::Malformed { .. } => ErrorCode::MalformedRequest,
        };
        ErrorBody::new(code, self.to_string())
    }
}

/// The fields every body may carry, read before typed decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head<'a> {
    /// The body's `type`, when it is a string.
    pub kind: Option<Cow<'a, str>>,
    /// The body's `msg_id`, when it is an unsigned integer.
    pub msg_id: Option<u64>,
    /// The body's `in_reply_to`, when it is an unsigned integer.
    pub in_reply_to: Option<u64>,
}

/// One input line read as an envelope; strings without escapes borrow from the line.
#[derive(Debug)]
pub struct Envelope<'a> {
    /// Sender id.
    pub src: Cow<'a, str>,
    /// Recipient id (normally this node).
    pub dest: Cow<'a, str>,
    /// The body's header fields.
    pub head: Head<'a>,
    /// The body object, as it appears on the line.
    pub body: &'a RawValue,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    src: Cow<'a, str>,
    #[serde(borrow)]
    dest: Cow<'a, str>,
    #[serde(borrow)]
    body: &'a RawValue,
}

/// Reads one input line (without its newline) as an [`Envelope`].
pub fn read_envelope(line: &str) -> Result<Envelope<'_>, LineError> {
    let raw: RawEnvelope<'_> = serde_json::from_str(line).map_err(LineError::NotEnvelope)?;
    if !raw.body.get().starts_with('{') {
        return Err(LineError::BodyNotObject);
    }
    let head: Head<'_> = serde_json::from_str(raw.body.get()).map_err(LineError::BadBody)?;
    Ok(Envelope {
        src: raw.src,
        dest: raw.dest,
        head,
        body: raw.body,
    })
}

/// A line read in one pass by [`decode_line`].
#[derive(Deserialize)]
#[serde(bound(deserialize = "B: Deserialize<'de>"))]
struct Line<'a, B> {
    #[serde(borrow)]
    src: Cow<'a, str>,
    /// Unused, but required to be a string, as [`read_envelope`] requires it.
    #[allow(dead_code)]
    #[serde(borrow)]
    dest: Cow<'a, str>,
    #[serde(borrow)]
    body: tap::Tapped<'a, B>,
}

/// Reads a well-formed message line in one pass: the envelope, the body's header fields,
/// and the body decoded into the internally tagged enum `B`. Returns exactly what
/// `read_envelope(line)` then [`Envelope::decode`] return when both succeed on a body
/// whose `type` is not `init`; `None` in every other case (including some lines those two
/// would read, e.g. bodies nested close to serde_json's depth limit), for the caller to
/// read with [`read_envelope`].
pub fn decode_line<B: DeserializeOwned>(line: &str) -> Option<Incoming<B>> {
    // From a `str`, not bytes: serde_json checks UTF-8 only in the strings it reads, not
    // in those it skips, and the full read refuses a line that is not UTF-8 anywhere.
    let line: Line<'_, B> = serde_json::from_str(line).ok()?;
    let head = line.body.head;
    match head.kind.as_deref() {
        Some(kind) if kind != "init" && line.body.object => Some(Incoming {
            origin: Origin {
                src: NodeId::from(line.src.as_ref()),
                msg_id: head.msg_id,
            },
            in_reply_to: head.in_reply_to,
            body: line.body.body,
        }),
        _ => None,
    }
}

impl Envelope<'_> {
    /// The sender and its `msg_id`.
    pub fn origin(&self) -> Origin {
        Origin {
            src: NodeId::from(self.src.as_ref()),
            msg_id: self.head.msg_id,
        }
    }

    /// The body's `type`, when it is a string.
    pub fn kind(&self) -> Option<&str> {
        self.head.kind.as_deref()
    }

    /// Decodes the body into the internally tagged enum `B` (see [`decode_body`]).
    pub fn decode<B: DeserializeOwned>(&self) -> Result<Incoming<B>, DecodeError> {
        Ok(Incoming {
            origin: self.origin(),
            in_reply_to: self.head.in_reply_to,
            body: decode_body(self.kind(), self.body.get())?,
        })
    }

    /// Decodes the body into any type (e.g. a struct without a `type` tag).
    pub fn decode_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.body.get())
    }
}

/// Decodes the body text `body`, whose `type` is `kind`, into the internally tagged enum
/// `B`. Extra fields (`msg_id`, `in_reply_to`, anything unknown) are ignored unless `B`
/// denies them.
pub fn decode_body<B: DeserializeOwned>(kind: Option<&str>, body: &str) -> Result<B, DecodeError> {
    let Some(kind) = kind else {
        return Err(DecodeError::NoType);
    };
    serde_json::from_str(body).map_err(|source| {
        if is_known_type::<B>(kind) {
            DecodeError::Malformed {
                kind: kind.to_owned(),
                source,
            }
        } else {
            DecodeError::UnknownType(kind.to_owned())
        }
    })
}

/// Whether `kind` names a variant of the internally tagged enum `B`.
///
/// Works by deserializing `{"type": kind}` with an error type that records whether serde
/// reported an unknown variant; any other outcome (success, a missing field) means the
/// type is known.
pub fn is_known_type<B: DeserializeOwned>(kind: &str) -> bool {
    let probe =
        serde::de::value::MapDeserializer::<_, ProbeError>::new(std::iter::once(("type", kind)));
    match B::deserialize(probe) {
        Ok(_) => true,
        Err(e) => !e.unknown_variant,
    }
}

#[derive(Debug)]
struct ProbeError {
    unknown_variant: bool,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
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

/// The keys of a body that [`Head`] reads; every other key is skipped unread.
#[derive(Deserialize)]
enum HeadKey {
    #[serde(rename = "type")]
    Type,
    #[serde(rename = "msg_id")]
    MsgId,
    #[serde(rename = "in_reply_to")]
    InReplyTo,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Head<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HeadVisitor;

        impl<'de> Visitor<'de> for HeadVisitor {
            type Value = Head<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message body object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head<'de>, A::Error> {
                let mut head = Head::default();
                while let Some(key) = map.next_key::<HeadKey>()? {
                    match key {
                        HeadKey::Type => head.kind = map.next_value::<Lenient<Cow<'de, str>>>()?.0,
                        HeadKey::MsgId => head.msg_id = map.next_value::<Lenient<u64>>()?.0,
                        HeadKey::InReplyTo => {
                            head.in_reply_to = map.next_value::<Lenient<u64>>()?.0
                        }
                        HeadKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(head)
            }
        }

        d.deserialize_map(HeadVisitor)
    }
}

/// A value of any JSON type that is kept only when it is a `T`.
struct Lenient<T>(Option<T>);

impl<'de> Deserialize<'de> for Lenient<Cow<'de, str>> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor::<Cow<'de, str>>(core::marker::PhantomData))
            .map(Lenient)
    }
}

impl<'de> Deserialize<'de> for Lenient<u64> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor::<u64>(core::marker::PhantomData))
            .map(Lenient)
    }
}

/// Accepts any JSON value; keeps it only when it is a `T` (a string, or an unsigned
/// integer).
struct LenientVisitor<T>(core::marker::PhantomData<T>);

macro_rules! ignore_scalars {
    ($($name:ident: $ty:ty),*) => {$(
        fn $name<E: de::Error>(self, _v: $ty) -> Result<Self::Value, E> {
            Ok(None)
        }
    )*};
}

macro_rules! ignore_containers {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
}

impl<'de> Visitor<'de> for LenientVisitor<u64> {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    ignore_scalars!(visit_i64: i64, visit_f64: f64, visit_bool: bool, visit_str: &str);
    ignore_containers!();
}

impl<'de> Visitor<'de> for LenientVisitor<Cow<'de, str>> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }

    ignore_scalars!(visit_u64: u64, visit_i64: i64, visit_f64: f64, visit_bool: bool);
    ignore_containers!();
}

/// Appends one output line (without the trailing newline) to `out`. On error `out` is
/// left as it was.
///
/// `payload` must serialize to a JSON object that carries its own `type` and has no
/// `msg_id`/`in_reply_to` keys of its own (a tagged enum variant does; a unit payload that
/// serializes to `null` counts as an empty object). The line has exactly the keys `src`,
/// `dest`, `body` and contains no raw newline.
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

/// Appends the line for `msg`, sent from `src`, to `out` (see [`encode_line_into`]).
pub fn encode_outgoing_into<O: Serialize>(
    out: &mut Vec<u8>,
    src: &str,
    msg: &Outgoing<O>,
) -> Result<(), serde_json::Error> {
    match &msg.body {
        OutBody::Message(o) => {
            encode_line_into(out, src, &msg.dest, msg.msg_id, msg.in_reply_to, o)
        }
        OutBody::Error(e) => encode_line_into(
            out,
            src,
            &msg.dest,
            msg.msg_id,
            msg.in_reply_to,
            &TaggedError::Error(e),
        ),
    }
}

/// The line for `msg`, sent from `src`, as a `String` (tests and tools).
pub fn encode_outgoing<O: Serialize>(
    src: &str,
    msg: &Outgoing<O>,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    encode_outgoing_into(&mut out, src, msg)?;
    // serde_json writes UTF-8 only; the check cannot fail.
    String::from_utf8(out).map_err(serde::ser::Error::custom)
}

/// Appends an error reply to `to`, sent from `src`, to `out`.
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

/// What the recipient's runtime would hand its machine for `msg` sent from `src`: the line
/// as a real network carries it, read and decoded again (for in-process tests).
pub fn deliver_as<O: Serialize, I: DeserializeOwned>(
    src: &str,
    msg: &Outgoing<O>,
) -> Result<Incoming<I>, DeliverError> {
    let line = encode_outgoing(src, msg).map_err(DeliverError::Encode)?;
    let env = read_envelope(&line).map_err(DeliverError::Line)?;
    env.decode().map_err(DeliverError::Decode)
}

/// Why [`deliver_as`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The message did not serialize.
    #[error("encode: {0}")]
    Encode(#[source] serde_json::Error),
    /// The line did not read back (cannot happen for a line [`encode_outgoing`] wrote).
    #[error("read: {0}")]
    Line(#[source] LineError),
    /// The body did not decode into the recipient's type.
    #[error("decode: {0}")]
    Decode(#[source] DecodeError),
}

/// The body of `msg` exactly as it appears on the wire (tests and tools).
pub fn body_value<O: Serialize>(msg: &Outgoing<O>) -> Result<serde_json::Value, serde_json::Error> {
    let line = encode_outgoing("_", msg)?;
    let mut v: serde_json::Value = serde_json::from_str(&line)?;
    Ok(v["body"].take())
}
