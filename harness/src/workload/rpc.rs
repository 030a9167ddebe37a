//! Shared pieces of the single-RPC clients (echo, unique-ids and the write-read workloads of
//! `super::write_read`): closed reply schemas and Maelstrom's two error conventions.
//!
//! Maelstrom validates every reply against a closed schema: the workload's fields, plus
//! `in_reply_to` (integer, required) and `msg_id` (integer, optional). Any other key, or a
//! field of the wrong type, makes the reply malformed, and the op is recorded `info`
//! (reference 2.3). Errors are interpreted before the schema is checked (reference 2.6).

use std::time::Duration;

use serde_json::{Map, Value};

use super::{Completion, Reply};

/// Maelstrom's default RPC timeout for workload requests.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a workload's client maps errors and timeouts to completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// Maelstrom's `with-errors` wrapper: a timeout is `fail` if the op is idempotent, else
    /// `info`; an error reply is `fail` if its code is definite or the op is idempotent.
    Wrapped {
        /// Whether the operation is in the workload's idempotent set.
        idempotent: bool,
    },
    /// No wrapper (g-set, g-counter, pn-counter): every error reply and timeout is `info`.
    Unwrapped,
}

/// The name of a Maelstrom error code and whether it is definite (resources/errors.edn).
/// Unknown codes are `("unknown", false)`: indefinite.
pub fn error_name(code: i64) -> (&'static str, bool) {
    match code {
        0 => ("timeout", false),
        1 => ("node-not-found", true),
        10 => ("not-supported", true),
        11 => ("temporarily-unavailable", true),
        12 => ("malformed-request", true),
        13 => ("crash", false),
        14 => ("abort", true),
        20 => ("key-does-not-exist", true),
        21 => ("key-already-exists", true),
        22 => ("precondition-failed", true),
        30 => ("txn-conflict", true),
        _ => ("unknown", false),
    }
}

/// The completion of an operation whose reply did not succeed: a timeout, an error body,
/// or a malformed reply (`why`). Never `Ok`.
pub fn failure(style: ErrorStyle, reply: &Reply) -> Completion {
    match reply {
        Reply::Timeout => match style {
            ErrorStyle::Wrapped { idempotent: true } => Completion::Fail("net-timeout".into()),
            _ => Completion::Info("net-timeout".into()),
        },
        Reply::Body(body) => match error_of(body) {
            Some((code, text)) => {
                let (name, definite) = error_name(code);
                let error = match &text {
                    Some(t) => format!("[{name} {}]", Value::String(t.clone())),
                    None => format!("[{name}]"),
                };
                match style {
                    ErrorStyle::Wrapped { idempotent } if definite || idempotent => {
                        Completion::Fail(error)
                    }
                    _ => Completion::Info(error),
                }
            }
            None => Completion::Info(format!("indeterminate: malformed reply {body}")),
        },
    }
}

/// If `body` is an error reply, its code and text. A body whose `type` is `error` but
/// whose `code` is not an integer is treated as code 13 (crash, indefinite).
pub fn error_of(body: &Value) -> Option<(i64, Option<String>)> {
    let obj = body.as_object()?;
    if obj.get("type").and_then(Value::as_str) != Some("error") {
        return None;
    }
    let code = obj.get("code").and_then(Value::as_i64).unwrap_or(13);
    let text = obj.get("text").and_then(Value::as_str).map(str::to_owned);
    Some((code, text))
}

/// The kind of value a reply field must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Any JSON value.
    Any,
    /// A JSON integer (no fraction, no exponent).
    Int,
    /// A JSON array.
    Array,
}

impl FieldKind {
    fn admits(self, v: &Value) -> bool {
        match self {
            FieldKind::Any => true,
            FieldKind::Int => v.is_i64() || v.is_u64(),
            FieldKind::Array => v.is_array(),
        }
    }
}

/// Checks `body` against a closed reply schema: `type` equal to `ty`, exactly the
/// `fields` (all required), `in_reply_to` an integer, `msg_id` absent or an integer, and
/// nothing else. Returns the body's object on success, a reason otherwise.
pub fn check_schema<'a>(
    body: &'a Value,
    ty: &str,
    fields: &[(&str, FieldKind)],
) -> Result<&'a Map<String, Value>, String> {
    let obj = body
        .as_object()
        .ok_or_else(|| format!("reply is not an object: {body}"))?;
    if obj.get("type").and_then(Value::as_str) != Some(ty) {
        return Err(format!("expected type {ty}: {body}"));
    }
    match obj.get("in_reply_to") {
        Some(v) if FieldKind::Int.admits(v) => {}
        _ => return Err(format!("in_reply_to missing or not an integer: {body}")),
    }
    if let Some(v) = obj.get("msg_id") {
        if !FieldKind::Int.admits(v) {
            return Err(format!("msg_id not an integer: {body}"));
        }
    }
    for (name, kind) in fields {
        match obj.get(*name) {
            Some(v) if kind.admits(v) => {}
            Some(v) => return Err(format!("field {name} has the wrong type ({v}): {body}")),
            None => return Err(format!("missing field {name}: {body}")),
        }
    }
    for key in obj.keys() {
        let known = matches!(key.as_str(), "type" | "in_reply_to" | "msg_id")
            || fields.iter().any(|(n, _)| n == key);
        if !known {
            return Err(format!("unexpected field {key}: {body}"));
        }
    }
    Ok(obj)
}

/// The completion for a reply to a single-RPC operation: an error or timeout per `style`,
/// a malformed reply as `info`, otherwise `Ok(extract(fields))`.
pub fn complete(
    style: ErrorStyle,
    reply: &Reply,
    ty: &str,
    fields: &[(&str, FieldKind)],
    extract: impl FnOnce(&Map<String, Value>) -> Value,
) -> Completion {
    let Reply::Body(body) = reply else {
        return failure(style, reply);
    };
    if error_of(body).is_some() {
        return failure(style, reply);
    }
    match check_schema(body, ty, fields) {
        Ok(obj) => Completion::Ok(extract(obj)),
        Err(why) => Completion::Info(format!("indeterminate: malformed reply: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn closed_schema_rejects_extra_fields_and_floats() {
        let f = [("value", FieldKind::Int)];
        assert!(check_schema(
            &json!({"type":"read_ok","in_reply_to":1,"value":3}),
            "read_ok",
            &f
        )
        .is_ok());
        assert!(check_schema(
            &json!({"type":"read_ok","in_reply_to":1,"value":3.0}),
            "read_ok",
            &f
        )
        .is_err());
        assert!(check_schema(
            &json!({"type":"read_ok","in_reply_to":1,"value":3,"x":1}),
            "read_ok",
            &f
        )
        .is_err());
        assert!(check_schema(&json!({"type":"read_ok","value":3}), "read_ok", &f).is_err());
        assert!(check_schema(
            &json!({"type":"read_ok","in_reply_to":1,"msg_id":"a","value":3}),
            "read_ok",
            &f
        )
        .is_err());
        assert!(check_schema(
            &json!({"type":"rd_ok","in_reply_to":1,"value":3}),
            "read_ok",
            &f
        )
        .is_err());
    }

    #[test]
    fn errors_follow_definiteness_and_idempotence() {
        let wrapped = ErrorStyle::Wrapped { idempotent: false };
        let idem = ErrorStyle::Wrapped { idempotent: true };
        let crash = Reply::Body(json!({"type":"error","in_reply_to":1,"code":13,"text":"x"}));
        let abort = Reply::Body(json!({"type":"error","in_reply_to":1,"code":14}));
        assert!(matches!(failure(wrapped, &crash), Completion::Info(_)));
        assert!(matches!(failure(idem, &crash), Completion::Fail(_)));
        assert!(matches!(failure(wrapped, &abort), Completion::Fail(_)));
        assert!(matches!(
            failure(ErrorStyle::Unwrapped, &abort),
            Completion::Info(_)
        ));
        assert_eq!(
            failure(wrapped, &Reply::Timeout),
            Completion::Info("net-timeout".into())
        );
        assert_eq!(
            failure(idem, &Reply::Timeout),
            Completion::Fail("net-timeout".into())
        );
        assert_eq!(
            failure(wrapped, &crash),
            Completion::Info("[crash \"x\"]".into())
        );
    }
}
