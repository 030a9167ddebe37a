//! The line format between the bench and a node process (reference 2.2, 2.8).
//!
//! A node writes one JSON envelope per stdout line; the bench parses it against
//! Maelstrom's closed envelope schema. The bench writes each delivery to the node's stdin
//! as one line carrying the network's message id.

use std::fmt::{self, Write as _};

use serde_json::Value;

use super::net::Message;

/// A well-formed envelope written by a node. Any `id` it carried is dropped: the network
/// assigns its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Claimed source (not checked against the writer's own id, as in Maelstrom).
    pub src: String,
    /// Destination.
    pub dest: String,
    /// The body: always a JSON object (a missing or `null` body becomes `{}`).
    pub body: Value,
}

/// What is wrong with a well-formed JSON line that is not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformation {
    /// The line is JSON but not an object.
    NotAnObject,
    /// A required key (`src` or `dest`) is missing.
    MissingKey(&'static str),
    /// `src` or `dest` is not a string.
    NotAString(&'static str),
    /// `id` is present but not an integer.
    IdNotInteger,
    /// `body` is present but neither an object nor `null`.
    BodyNotObject,
    /// A top-level key outside `src`, `dest`, `body`, `id`.
    UnexpectedKey(String),
}

impl fmt::Display for Malformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformation::NotAnObject => f.write_str("the message is not a JSON object"),
            Malformation::MissingKey(k) => write!(f, "required key {k:?} is missing"),
            Malformation::NotAString(k) => write!(f, "{k:?} must be a string"),
            Malformation::IdNotInteger => f.write_str("\"id\" must be an integer"),
            Malformation::BodyNotObject => f.write_str("\"body\" must be a JSON object"),
            Malformation::UnexpectedKey(k) => write!(
                f,
                "unexpected top-level key {k:?} (only src, dest, body and id are allowed)"
            ),
        }
    }
}

/// Why a node's stdout line was refused. Maelstrom stops reading a node's stdout after the
/// first such line; the caller decides what to do.
#[derive(Debug, thiserror::Error)]
pub enum BadLine {
    /// Not one well-formed JSON value (also: an empty line, or trailing non-whitespace after
    /// the first value).
    #[error("line is not well-formed JSON ({source}); log to stderr, not stdout")]
    NotJson {
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// JSON, but not a valid envelope.
    #[error("malformed network message: {reason}")]
    Malformed {
        /// What was wrong.
        reason: Malformation,
    },
}

fn malformed(reason: Malformation) -> BadLine {
    BadLine::Malformed { reason }
}

/// Parses one stdout line (without its newline; trailing whitespace such as `\r` is
/// accepted) against the closed schema: exactly `src` (string), `dest` (string), optional
/// `body` (object, or `null`/absent meaning `{}`), optional integer `id`.
pub fn parse_node_line(line: &str) -> Result<Envelope, BadLine> {
    let value: Value = serde_json::from_str(line).map_err(|source| BadLine::NotJson { source })?;
    let Value::Object(mut map) = value else {
        return Err(malformed(Malformation::NotAnObject));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "src" | "dest" | "body" | "id"))
    {
        return Err(malformed(Malformation::UnexpectedKey(k.clone())));
    }
    let mut string_field = |key: &'static str| match map.remove(key) {
        None => Err(malformed(Malformation::MissingKey(key))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(malformed(Malformation::NotAString(key))),
    };
    let src = string_field("src")?;
    let dest = string_field("dest")?;
    if let Some(id) = map.get("id") {
        if !(id.is_i64() || id.is_u64()) {
            return Err(malformed(Malformation::IdNotInteger));
        }
    }
    let body = match map.remove("body") {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(b @ Value::Object(_)) => b,
        Some(_) => return Err(malformed(Malformation::BodyNotObject)),
    };
    Ok(Envelope { src, dest, body })
}

/// The stdin line for a delivery, without the newline:
/// `{"id":…,"src":…,"dest":…,"body":…}` in that key order, compact.
pub fn encode_delivery(msg: &Message) -> String {
    let mut out = String::with_capacity(64 + msg.src.len() + msg.dest.len());
    // Writing into a String cannot fail; Value's Display writes compact JSON.
    let _ = write!(
        out,
        "{{\"id\":{},\"src\":{},\"dest\":{},\"body\":{}}}",
        msg.id,
        Value::from(msg.src.as_str()),
        Value::from(msg.dest.as_str()),
        msg.body
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_node::Time;
    use proptest::prelude::*;
    use serde_json::json;

    fn reason(line: &str) -> Malformation {
        match parse_node_line(line) {
            Err(BadLine::Malformed { reason }) => reason,
            other => panic!("{line}: expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_closed_schema() {
        let e = parse_node_line(
            r#"{"src":"n1","dest":"c2","body":{"type":"echo_ok","in_reply_to":1}}"#,
        )
        .expect("valid");
        assert_eq!(e.src, "n1");
        assert_eq!(e.dest, "c2");
        assert_eq!(e.body, json!({"type":"echo_ok","in_reply_to":1}));
        let e = parse_node_line("{\"id\":99,\"src\":\"a\",\"dest\":\"b\",\"body\":{}}\r")
            .expect("valid");
        assert_eq!(e.body, json!({}));
        let e = parse_node_line(r#"{"src":"a","dest":"b"}"#).expect("missing body is {}");
        assert_eq!(e.body, json!({}));
        let e = parse_node_line(r#"{"src":"a","dest":"b","body":null}"#).expect("null body is {}");
        assert_eq!(e.body, json!({}));
    }

    #[test]
    fn refuses_everything_else() {
        assert!(matches!(
            parse_node_line("hello"),
            Err(BadLine::NotJson { .. })
        ));
        assert!(matches!(parse_node_line(""), Err(BadLine::NotJson { .. })));
        assert!(matches!(
            parse_node_line(r#"{"src":"a","dest":"b"} {}"#),
            Err(BadLine::NotJson { .. })
        ));
        assert_eq!(reason("[1]"), Malformation::NotAnObject);
        assert_eq!(reason("5"), Malformation::NotAnObject);
        assert_eq!(
            reason(r#"{"dest":"b","body":{}}"#),
            Malformation::MissingKey("src")
        );
        assert_eq!(
            reason(r#"{"src":"a","body":{}}"#),
            Malformation::MissingKey("dest")
        );
        assert_eq!(
            reason(r#"{"src":1,"dest":"b"}"#),
            Malformation::NotAString("src")
        );
        assert_eq!(
            reason(r#"{"src":"a","dest":null}"#),
            Malformation::NotAString("dest")
        );
        assert_eq!(
            reason(r#"{"src":"a","dest":"b","id":1.0}"#),
            Malformation::IdNotInteger
        );
        assert_eq!(
            reason(r#"{"src":"a","dest":"b","id":"7"}"#),
            Malformation::IdNotInteger
        );
        assert_eq!(
            reason(r#"{"src":"a","dest":"b","body":"x"}"#),
            Malformation::BodyNotObject
        );
        assert_eq!(
            reason(r#"{"src":"a","dest":"b","body":[]}"#),
            Malformation::BodyNotObject
        );
        assert_eq!(
            reason(r#"{"src":"a","dest":"b","body":{},"type":"x"}"#),
            Malformation::UnexpectedKey("type".into())
        );
        let text = parse_node_line(r#"{"src":"a","dest":"b","extra":1}"#)
            .expect_err("malformed")
            .to_string();
        assert!(text.contains("\"extra\""), "{text}");
    }

    #[test]
    fn delivery_line_shape() {
        let m = Message {
            id: 17,
            src: "c4".into(),
            dest: "n0".into(),
            body: json!({"type":"echo","msg_id":1,"echo":"Please echo 35"}),
            sent_at: Time::ZERO,
            deadline: Time::ZERO,
        };
        let line = encode_delivery(&m);
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with(r#"{"id":17,"src":"c4","dest":"n0","body":{"#),
            "{line}"
        );
        let back: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(
            back,
            json!({"id":17,"src":"c4","dest":"n0","body":{"type":"echo","msg_id":1,"echo":"Please echo 35"}})
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(line in ".{0,80}", src in "[a-z\"\\\\\n]{0,6}", dest in "\\PC{0,6}", n: i64) {
            let _ = parse_node_line(&line);
            let m = Message { id: n.unsigned_abs(), src, dest, body: json!({"k": n, "s": line}), sent_at: Time::ZERO, deadline: Time::ZERO };
            let encoded = encode_delivery(&m);
            prop_assert!(!encoded.contains('\n'));
            // A delivery line is itself a valid envelope with the same fields.
            let e = parse_node_line(&encoded).expect("own output parses");
            prop_assert_eq!(e.src, m.src);
            prop_assert_eq!(e.dest, m.dest);
            prop_assert_eq!(e.body, m.body);
        }
    }
}
