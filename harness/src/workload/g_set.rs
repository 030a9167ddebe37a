//! The g-set workload (reference 7.4, Maelstrom `workload/g_set.clj`): ½ `add` of the next
//! integer (0, 1, 2, …), ½ `read`; one final `read` per thread; checked by set-full as
//! broadcast is. The read's field is `value` (the RPC's docstring says `elements`, its
//! schema `value`). No error wrapper: every error reply and timeout completes `info`.

use super::rpc::{ErrorStyle, FieldKind};
use super::write_read::{WriteReadSpec, WriteValues};

/// The g-set workload: `add {element}` → `add_ok` (ok value = the element), `read` →
/// `read_ok {value}` (ok value = the `value` array).
pub const SPEC: WriteReadSpec = WriteReadSpec {
    write: "add",
    write_field: "element",
    write_style: ErrorStyle::Unwrapped,
    read_field: ("value", FieldKind::Array),
    read_style: ErrorStyle::Unwrapped,
    values: WriteValues::Sequence,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Client, Completion, OpSpec, Reply, Step};
    use serde_json::{json, Value};

    #[test]
    fn reads_take_the_value_field_and_errors_are_info() {
        let mut c = SPEC.client();
        let read = OpSpec {
            f: "read".into(),
            value: Value::Null,
        };
        c.start(&read);
        let s = c.on_reply(Reply::Body(
            json!({"type": "read_ok", "in_reply_to": 1, "value": [0, 2]}),
        ));
        assert_eq!(s, Step::Done(Completion::Ok(json!([0, 2]))));
        c.start(&read);
        let s = c.on_reply(Reply::Body(
            json!({"type": "read_ok", "in_reply_to": 2, "elements": [0]}),
        ));
        assert!(matches!(s, Step::Done(Completion::Info(_))), "{s:?}");
        c.start(&read);
        assert!(matches!(
            c.on_reply(Reply::Timeout),
            Step::Done(Completion::Info(_))
        ));
        let Step::Call { body, .. } = c.start(&OpSpec {
            f: "add".into(),
            value: json!(4),
        }) else {
            panic!("no call")
        };
        assert_eq!(body, json!({"type": "add", "element": 4}));
    }
}
