//! The echo workload's checker (Maelstrom `workload/echo.clj`).
//!
//! For every client invocation the completion must be `ok` and carry exactly the sent
//! value (Clojure equality: `1` and `1.0` differ). Any timeout, error, missing completion or
//! wrong body is an error; the history is valid iff there is none.

use serde_json::{json, Value};

use crate::checker::{CheckResult, Validity};
use crate::checkers::anomalies::{self, anomaly};
use crate::history::{History, OpType};

/// Checks an echo history. Output: `{valid, errors: [...]}`; each error names the invoke
/// and completion indices, the expected value and what came back.
///
/// Maelstrom compares the invoke's value with the completion's `echo` field; a `fail` or
/// `info` completion has none, so it is an error (our invocations always carry a string,
/// as Maelstrom's generator does).
pub fn check(h: &History) -> CheckResult {
    let mut errors = Vec::new();
    let mut problems = Vec::new();
    let mut found = Vec::new();
    let mut count = 0usize;
    for (inv, done) in h.completed() {
        count += 1;
        let (received, bad) = match done {
            Some(c) if c.kind == OpType::Ok => (c.value.json().into_owned(), c.value != inv.value),
            Some(_) => (Value::Null, true),
            None => (Value::Null, true),
        };
        if !bad {
            continue;
        }
        let cidx = done.map(|c| c.index);
        let kind = done.map(|c| c.kind.as_str()).unwrap_or("none");
        let why = match done {
            Some(c) if c.kind == OpType::Ok => format!("echoed {received}"),
            Some(c) => format!(
                "completed {} ({})",
                kind,
                c.error.as_deref().unwrap_or("no error recorded")
            ),
            None => "never completed".to_string(),
        };
        let line = format!(
            "echo mismatch: invoke {} expected {}, completion {}: {}",
            inv.index,
            inv.value,
            cidx.map_or("-".to_string(), |i| i.to_string()),
            why
        );
        found.push(anomaly(
            "echo-mismatch",
            std::iter::once(inv.index).chain(cidx),
            line.clone(),
            Value::Null,
        ));
        problems.push(line);
        errors.push(json!({
            "invoke": inv.index,
            "completion": cidx,
            "type": kind,
            "expected": inv.value,
            "received": received,
            "error": done.and_then(|c| c.error.clone()),
        }));
    }
    let valid = Validity::from_bool(errors.is_empty());
    let mut details = json!({ "valid": valid.to_json(), "count": count, "errors": errors });
    anomalies::attach(&mut details, found);
    CheckResult::new(valid, problems, details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::Hb;

    #[test]
    fn correct_echoes_pass() {
        let mut b = Hb::new();
        b.op(
            0,
            "echo",
            json!("Please echo 1"),
            OpType::Ok,
            json!("Please echo 1"),
        );
        b.op(
            1,
            "echo",
            json!("Please echo 2"),
            OpType::Ok,
            json!("Please echo 2"),
        );
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid);
        assert!(r.problems.is_empty());
    }

    #[test]
    fn wrong_body_fails() {
        let mut b = Hb::new();
        b.op(
            0,
            "echo",
            json!("Please echo 1"),
            OpType::Ok,
            json!("Please echo 1"),
        );
        let (i, c) = b.op(
            0,
            "echo",
            json!("Please echo 2"),
            OpType::Ok,
            json!("Please echo 3"),
        );
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.problems.len(), 1);
        assert!(r.problems[0].contains(&format!("invoke {i}")));
        assert!(r.problems[0].contains(&format!("completion {c}")));
        assert_eq!(r.details["anomalies"][0]["ops"], json!([i, c]));
        assert_eq!(r.details["anomalies"][0]["kind"], "echo-mismatch");
        assert_eq!(r.details["errors"][0]["received"], json!("Please echo 3"));
    }

    #[test]
    fn number_type_matters() {
        let mut b = Hb::new();
        b.op(0, "echo", json!(1), OpType::Ok, json!(1.0));
        assert_eq!(check(&b.build()).valid, Validity::Invalid);
    }

    #[test]
    fn timeout_and_missing_completion_fail() {
        let mut b = Hb::new();
        b.op(
            0,
            "echo",
            json!("Please echo 1"),
            OpType::Info,
            json!("Please echo 1"),
        );
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Invalid);
        assert!(r.problems[0].contains("info"));

        let mut b = Hb::new();
        b.invoke(0, "echo", json!("Please echo 1"));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Invalid);
        assert!(r.problems[0].contains("never completed"));
    }
}
