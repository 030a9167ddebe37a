//! The broadcast workload (reference 7.3): a write-read workload (`super::write_read`) of
//! ½ `broadcast` of the next integer (0, 1, 2, … in issue order), ½ `read`; in the final
//! phase exactly one `read` per worker thread. The client is not reusable; `read` is
//! idempotent. The `topology` RPC of the client setup is built by [`topology_body`].

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::rpc::{ErrorStyle, FieldKind};
use super::write_read::{WriteReadSpec, WriteValues};

/// The body of the `topology` request sent to every node during client setup.
pub fn topology_body(topology: &BTreeMap<String, Vec<String>>) -> Value {
    json!({"type": "topology", "topology": topology})
}

/// Whether `reply` is a well-formed `topology_ok` (closed schema).
pub fn topology_ok(reply: &Value) -> bool {
    super::rpc::check_schema(reply, "topology_ok", &[]).is_ok()
}

/// The broadcast workload: `broadcast` → `broadcast_ok` (ok value = the message sent),
/// `read` → `read_ok` (ok value = the `messages` array); `read` is idempotent.
pub const SPEC: WriteReadSpec = WriteReadSpec {
    write: "broadcast",
    write_field: "message",
    write_style: ErrorStyle::Wrapped { idempotent: false },
    read_field: ("messages", FieldKind::Array),
    read_style: ErrorStyle::Wrapped { idempotent: true },
    values: WriteValues::Sequence,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Client, Completion, OpSpec, Reply, Step};

    #[test]
    fn read_timeout_fails_broadcast_timeout_is_info() {
        let mut c = SPEC.client();
        c.start(&OpSpec {
            f: "read".into(),
            value: Value::Null,
        });
        assert!(matches!(
            c.on_reply(Reply::Timeout),
            Step::Done(Completion::Fail(_))
        ));
        c.start(&OpSpec {
            f: "broadcast".into(),
            value: json!(3),
        });
        assert!(matches!(
            c.on_reply(Reply::Timeout),
            Step::Done(Completion::Info(_))
        ));
        c.start(&OpSpec {
            f: "broadcast".into(),
            value: json!(3),
        });
        let s = c.on_reply(Reply::Body(json!({"type":"broadcast_ok","in_reply_to":2})));
        assert_eq!(s, Step::Done(Completion::Ok(json!(3))));
        c.start(&OpSpec {
            f: "read".into(),
            value: Value::Null,
        });
        let s = c.on_reply(Reply::Body(
            json!({"type":"read_ok","in_reply_to":2,"messages":[3]}),
        ));
        assert_eq!(s, Step::Done(Completion::Ok(json!([3]))));
    }
}
