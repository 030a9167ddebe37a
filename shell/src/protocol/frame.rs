//! One-pass reading of an input line: [`read_frame`] and the [`Frame`] it returns.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::json::{self, Checked, Json, Object, Text};
use super::scan;
use super::{decode_body, parse_line, DecodeError, Envelope, Head, LineError, Origin};

/// One input line, read in a single pass: strings without escapes borrow from the line, and
/// the body is kept as a small tree, not a `serde_json::Value`.
///
/// A frame reads exactly as the [`Envelope`] that [`parse_line`] returns for the same line:
/// the header fields, [`Frame::decode`] (same message or same [`DecodeError`]),
/// [`Frame::body_value`]. Use [`Frame::into_owned`] to keep one beyond its line.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame<'a> {
    /// Sender id.
    pub src: Cow<'a, str>,
    /// Recipient id (normally this node).
    pub dest: Cow<'a, str>,
    /// The body's `msg_id`, when it is an unsigned integer.
    pub msg_id: Option<u64>,
    /// The body's `in_reply_to`, when it is an unsigned integer.
    pub in_reply_to: Option<u64>,
    body: FrameBody<'a>,
}

#[derive(Clone, Debug, PartialEq)]
enum FrameBody<'a> {
    /// Read in one pass (the usual case), with the position of the entry holding a string
    /// `type`.
    Tree(Object<'a>, Option<usize>),
    /// Read by [`parse_line`], for a line the one-pass reader leaves to it.
    Value(Value),
}

/// Reads one input line into a [`Frame`].
///
/// Three readers, tried in order, each handing what it cannot vouch for to the next:
/// 1. a strict scanner for plain JSON (unescaped strings, unsigned integers; see
///    `protocol/scan.rs`), which is what Maelstrom sends;
/// 2. a `serde_json` pass for any envelope with string `src` and `dest`, an object `body`
///    and no repeated `src`/`dest`/`body` key;
/// 3. [`parse_line`], through a `Value`, for everything else.
///
/// The first two build the same tree, and the result, every error included, is what
/// [`parse_line`] gives for the line.
pub fn read_frame(line: &str) -> Result<Frame<'_>, LineError> {
    if let Some(s) = scan::scan_line(line) {
        return Ok(Frame::from_tree(
            Cow::Borrowed(s.src),
            Cow::Borrowed(s.dest),
            s.body,
        ));
    }
    match serde_json::from_str::<Parts<'_>>(line) {
        Ok(parts) => Ok(Frame::from_tree(parts.src, parts.dest, parts.body)),
        Err(_) => parse_line(line).map(Frame::from_envelope),
    }
}

impl<'a> Frame<'a> {
    fn from_tree(src: Cow<'a, str>, dest: Cow<'a, str>, body: Object<'a>) -> Self {
        // The last entry of each header key counts, as in a `Value` object; one of another
        // JSON type counts as absent.
        let (mut kind, mut msg_id, mut in_reply_to) = (None, None, None);
        for (i, (key, value)) in body.iter().enumerate() {
            match key.as_ref() {
                "type" => kind = matches!(value, Json::Str(_)).then_some(i),
                "msg_id" => msg_id = as_u64(value),
                "in_reply_to" => in_reply_to = as_u64(value),
                _ => {}
            }
        }
        Frame {
            msg_id,
            in_reply_to,
            src,
            dest,
            body: FrameBody::Tree(body, kind),
        }
    }

    /// The frame of an envelope read by [`parse_line`].
    pub fn from_envelope(env: Envelope) -> Frame<'static> {
        Frame {
            src: Cow::Owned(env.src),
            dest: Cow::Owned(env.dest),
            msg_id: env.head.msg_id,
            in_reply_to: env.head.in_reply_to,
            body: FrameBody::Value(env.body),
        }
    }

    /// The body's `type`, when it is a string.
    pub fn kind(&self) -> Option<&str> {
        match &self.body {
            FrameBody::Tree(body, kind) => match kind.and_then(|i| body.get(i)) {
                Some((_, Json::Str(s))) => Some(s.as_ref()),
                _ => None,
            },
            FrameBody::Value(v) => v.get("type").and_then(Value::as_str),
        }
    }

    /// The sender and its `msg_id`.
    pub fn origin(&self) -> Origin {
        Origin {
            src: self.src.as_ref().to_owned(),
            msg_id: self.msg_id,
        }
    }

    /// The sender and its `msg_id`, taking the sender id without copying it when it is owned.
    pub fn into_origin(self) -> Origin {
        Origin {
            src: self.src.into_owned(),
            msg_id: self.msg_id,
        }
    }

    /// Decodes the body into the node's internally tagged message enum `P`: the result of
    /// [`decode_body`] on the body's `Value`, errors and their classification included.
    pub fn decode<P: DeserializeOwned>(&self) -> Result<P, DecodeError> {
        match &self.body {
            FrameBody::Tree(body, _) => {
                // Without a string `type` the `Value` path answers without trying `P`.
                if self.kind().is_some() {
                    if let Ok(p) = json::from_object(body) {
                        return Ok(p);
                    }
                }
                decode_body(&self.body_value())
            }
            FrameBody::Value(v) => decode_body(v),
        }
    }

    /// Deserializes the body into any `T` (a plain struct, say): the result of
    /// `serde_json::from_value` on the body's `Value`.
    pub fn decode_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        if let FrameBody::Tree(body, _) = &self.body {
            if let Ok(t) = json::from_object(body) {
                return Ok(t);
            }
        }
        serde_json::from_value(self.body_value())
    }

    /// The body as a `Value` (built on each call; the hot path never needs it).
    pub fn body_value(&self) -> Value {
        match &self.body {
            FrameBody::Tree(body, _) => Value::Object(json::object_to_map(body)),
            FrameBody::Value(v) => v.clone(),
        }
    }

    /// The same frame owning all its strings, to keep beyond the line it was read from.
    pub fn into_owned(self) -> Frame<'static> {
        Frame {
            src: Cow::Owned(self.src.into_owned()),
            dest: Cow::Owned(self.dest.into_owned()),
            msg_id: self.msg_id,
            in_reply_to: self.in_reply_to,
            body: match self.body {
                FrameBody::Tree(body, kind) => FrameBody::Tree(json::object_into_owned(body), kind),
                FrameBody::Value(v) => FrameBody::Value(v),
            },
        }
    }

    /// The [`Envelope`] [`parse_line`] gives for the same line.
    pub fn into_envelope(self) -> Envelope {
        let head = Head {
            kind: self.kind().map(str::to_owned),
            msg_id: self.msg_id,
            in_reply_to: self.in_reply_to,
        };
        let body = match self.body {
            FrameBody::Tree(body, _) => Value::Object(json::object_to_map(&body)),
            FrameBody::Value(v) => v,
        };
        Envelope {
            src: self.src.into_owned(),
            dest: self.dest.into_owned(),
            head,
            body,
        }
    }
}

fn as_u64(value: &Json<'_>) -> Option<u64> {
    match value {
        Json::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The envelope as the one-pass reader takes it apart.
struct Parts<'a> {
    src: Cow<'a, str>,
    dest: Cow<'a, str>,
    body: Object<'a>,
}

impl<'de> Deserialize<'de> for Parts<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PartsVisitor)
    }
}

struct PartsVisitor;

impl<'de> Visitor<'de> for PartsVisitor {
    type Value = Parts<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an envelope object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parts<'de>, A::Error> {
        let mut src = None;
        let mut dest = None;
        let mut body = None;
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "src" => set_once(&mut src, map.next_value::<Text<'de>>()?.0, "src")?,
                "dest" => set_once(&mut dest, map.next_value::<Text<'de>>()?.0, "dest")?,
                "body" => match map.next_value::<Json<'de>>()? {
                    Json::Object(entries) => set_once(&mut body, entries, "body")?,
                    _ => return Err(de::Error::custom("body must be a JSON object")),
                },
                // Checked like the `Value` parser checks it, then dropped.
                _ => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(Parts {
            src: src.ok_or_else(|| de::Error::missing_field("src"))?,
            dest: dest.ok_or_else(|| de::Error::missing_field("dest"))?,
            body: body.ok_or_else(|| de::Error::missing_field("body"))?,
        })
    }
}

/// Refuses a repeated key: the `Value` parser keeps the last one, and the line then takes
/// that path.
fn set_once<T, E: de::Error>(slot: &mut Option<T>, value: T, field: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(field));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::error::ErrorBody;

    /// A message type with the field shapes the deserializer must mirror.
    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Msg {
        Echo {
            echo: Value,
        },
        Add {
            delta: u64,
        },
        Read,
        Tags {
            tags: Vec<String>,
            #[serde(default)]
            meta: Option<BTreeMap<String, i64>>,
        },
        Mode {
            mode: Mode,
        },
        Pair {
            pair: (u8, String),
            #[serde(default)]
            ratio: f64,
        },
        Keyed {
            by_id: BTreeMap<u64, String>,
        },
        Ordered {
            seen: InOrder,
        },
        Error(ErrorBody),
    }

    /// The keys of an object in the order the deserializer presents them.
    #[derive(Debug, PartialEq)]
    struct InOrder(Vec<String>);

    impl<'de> Deserialize<'de> for InOrder {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Keys;
            impl<'de> Visitor<'de> for Keys {
                type Value = InOrder;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InOrder, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(k) = map.next_key::<String>()? {
                        map.next_value::<de::IgnoredAny>()?;
                        keys.push(k);
                    }
                    Ok(InOrder(keys))
                }
            }
            d.deserialize_map(Keys)
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
        Slow { level: u8 },
        Named(String),
    }

    /// What the `Value` path makes of a line, side by side with what `read_frame` makes.
    fn assert_same(line: &str) {
        let reference = parse_line(line);
        let frame = read_frame(line);
        match (&reference, &frame) {
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{line}"),
            (Ok(env), Ok(frame)) => {
                assert_eq!(frame.kind(), env.head.kind.as_deref(), "{line}");
                assert_eq!(frame.msg_id, env.head.msg_id, "{line}");
                assert_eq!(frame.in_reply_to, env.head.in_reply_to, "{line}");
                assert_eq!(frame.body_value(), env.body, "{line}");
                let want = decode_body::<Msg>(&env.body);
                let got = frame.decode::<Msg>();
                match (want, got) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{line}"),
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{line}"),
                    (a, b) => panic!("{line}: value path {a:?}, frame {b:?}"),
                }
                let want = serde_json::from_value::<InitLike>(env.body.clone());
                let got = frame.decode_as::<InitLike>();
                match (want, got) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{line}"),
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{line}"),
                    (a, b) => panic!("{line}: value path {a:?}, frame {b:?}"),
                }
                assert_eq!(frame.clone().into_envelope(), *env, "{line}");
                assert_eq!(frame.clone().into_owned(), *frame, "{line}");
            }
            (a, b) => panic!("{line}: value path {a:?}, frame {b:?}"),
        }
        // The scanner, when it takes a line, agrees with the serde_json reader.
        if let Some(s) = scan::scan_line(line) {
            let parts: Parts<'_> = serde_json::from_str(line).expect("serde reads what scan reads");
            assert_eq!(
                (s.src, s.dest, &s.body),
                (&*parts.src, &*parts.dest, &parts.body),
                "{line}"
            );
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct InitLike {
        node_id: String,
        node_ids: Vec<String>,
    }

    #[test]
    fn hand_picked_lines_read_as_through_a_value() {
        for line in [
            r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"echo":"Please echo 1"}}"#,
            r#"{"id":4,"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"echo":{"a":[1,true,null]}}}"#,
            r#" { "src" : "c1" , "dest":"n0","body" : { "type":"add" ,"delta": 3 } } "#,
            "{\"src\":\"c1\",\n\t\"dest\":\"n0\",\r\"body\":{\"type\":\"read\"}}",
            // escapes and unicode
            r#"{"src":"c\"1","dest":"n\u0030","body":{"type":"echo","echo":"tab\t, é, \ud83d\ude00"}}"#,
            r#"{"src":"c1","dest":"n0","body":{"typ\u0065":"read","msg_id":2}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"echo","echo":"é😀"}}"#,
            // numbers
            r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":-1,"msg_id":3}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":1.0,"msg_id":3}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":18446744073709551615}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":18446744073709551616}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"echo","echo":[-0,0.5e3,1E2,-9223372036854775808]}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"echo","echo":01}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"echo","echo":1e400}}"#,
            r#"{"src":"c1","dest":"n0","body":{"msg_id":1.0,"in_reply_to":-2,"type":"read"}}"#,
            // repeated keys: the last counts
            r#"{"src":"c1","dest":"n0","body":{"type":"add","msg_id":1,"msg_id":2,"delta":1}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"echo","type":"add","delta":5}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":"x","delta":5}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"tags","tags":[],"meta":{"a":1,"a":2}}}"#,
            r#"{"src":"c1","src":"c2","dest":"n0","body":{"type":"read"}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"read"},"body":{"type":"add","delta":1}}"#,
            // field shapes
            r#"{"src":"c1","dest":"n0","body":{"type":"tags","tags":["x","y"],"meta":{"b":-1,"a":2}}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"tags","tags":["x",1]}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"mode","mode":"fast"}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"mode","mode":{"slow":{"level":2}}}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"mode","mode":{"named":"x"}}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"mode","mode":{"fast":null}}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"mode","mode":{"fast":null,"named":"x"}}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"mode","mode":{"slow":{"level":2},"slow":{"level":3}}}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"pair","pair":[1,"a"],"ratio":2}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"pair","pair":[1,"a",3]}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"keyed","by_id":{"3":"c","1":"a"}}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"ordered","seen":{"b":1,"a":2,"b":3,"c":{}}}}"#,
            r#"{"src":"c1","dest":"n0","body":{"seen":{"z":1,"y":2},"type":"ordered"}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"error","code":20,"text":"gone","in_reply_to":7}}"#,
            r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1"]}}"#,
            r#"{"src":"c0","dest":"n0","body":{"type":"init","node_id":"n0","node_id":"n1","node_ids":[]}}"#,
            // classification
            r#"{"src":"c1","dest":"n0","body":{"type":"frobnicate","msg_id":1}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"add","msg_id":1}}"#,
            r#"{"src":"c1","dest":"n0","body":{"msg_id":1}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":7,"msg_id":1}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":null}}"#,
            r#"{"src":"c1","dest":"n0","body":{}}"#,
            // not envelopes, not JSON
            r#"{"src":"c1","dest":"n0","body":[1]}"#,
            r#"{"src":"c1","dest":"n0","body":"x"}"#,
            r#"{"src":1,"dest":"n0","body":{}}"#,
            r#"{"src":"c1","body":{}}"#,
            r#"{"src":"c1","dest":"n0","body":{}} x"#,
            r#"{"src":"c1","dest":"n0","body":{},}"#,
            r#"{"src":"c1","dest":"n0","body":{"a":[1,]}}"#,
            r#"{"src":"c1","dest":"n0","x":"\ud800","body":{}}"#,
            r#"{"src":"c1","dest":"n0","body":{"echo":"\udc00"}}"#,
            r#"{"src":"c1","dest":"n0","body":{"echo":"a	b"}}"#,
            "\u{feff}{\"src\":\"c1\",\"dest\":\"n0\",\"body\":{}}",
            "[1]",
            "",
            "hello",
            "{",
        ] {
            assert_same(line);
        }
    }

    #[test]
    fn deep_nesting_reads_as_through_a_value() {
        for depth in [1, 10, 62, 63, 64, 65, 100, 126, 127, 128, 129, 200] {
            let line = format!(
                r#"{{"src":"c1","dest":"n0","body":{{"type":"echo","echo":{}{}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            assert_same(&line);
            let line = format!(
                r#"{{"src":"c1","dest":"n0","body":{{"type":"echo","echo":{}1{}}}}}"#,
                r#"{"a":"#.repeat(depth),
                "}".repeat(depth)
            );
            assert_same(&line);
        }
    }

    #[test]
    fn the_scanner_takes_plain_lines() {
        let line = r#"{"id":9,"src":"c1","dest":"n0","body":{"type":"echo","msg_id":7,"echo":"Please echo 7"}}"#;
        let s = scan::scan_line(line).expect("plain line");
        assert_eq!((s.src, s.dest), ("c1", "n0"));
        let frame = read_frame(line).expect("frame");
        assert!(matches!(frame.src, Cow::Borrowed("c1")));
        assert_eq!(frame.msg_id, Some(7));
        assert_eq!(
            frame.decode::<Msg>().expect("echo"),
            Msg::Echo {
                echo: json!("Please echo 7")
            }
        );
        for not_plain in [
            r#"{"src":"c\"1","dest":"n0","body":{}}"#,
            r#"{"src":"c1","dest":"n0","body":{"a":-1}}"#,
            r#"{"src":"c1","dest":"n0","body":{"a":1.5}}"#,
            r#"{"src":"c1","dest":"n0","body":{"a":1e5}}"#,
            r#"{"src":"c1","dest":"n0","body":{"a":99999999999999999999}}"#,
            r#"{"src":"c1","src":"c1","dest":"n0","body":{}}"#,
        ] {
            assert!(scan::scan_line(not_plain).is_none(), "{not_plain}");
        }
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("type".to_owned()),
            Just("msg_id".to_owned()),
            Just("in_reply_to".to_owned()),
            Just("echo".to_owned()),
            Just("delta".to_owned()),
            Just("tags".to_owned()),
            Just("meta".to_owned()),
            Just("mode".to_owned()),
            Just("pair".to_owned()),
            Just("by_id".to_owned()),
            Just("seen".to_owned()),
            Just("node_id".to_owned()),
            Just("node_ids".to_owned()),
            "[a-z\\\\\"é]{0,4}",
        ]
    }

    /// JSON text of a value, written by hand so that objects may repeat keys and numbers and
    /// strings take unusual spellings.
    fn text(depth: u32) -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap_or_default()),
            prop_oneof![
                Just("0".to_owned()),
                Just("-0".to_owned()),
                Just("1e400".to_owned()),
                Just("00".to_owned()),
                Just("1.".to_owned()),
                Just("18446744073709551616".to_owned()),
            ],
            prop_oneof![
                Just("echo".to_owned()),
                Just("add".to_owned()),
                Just("read".to_owned()),
                Just("tags".to_owned()),
                Just("mode".to_owned()),
                Just("fast".to_owned()),
                Just("pair".to_owned()),
                Just("error".to_owned()),
                Just("ordered".to_owned()),
                "[a-z é😀\\\\\"\t]{0,6}".prop_map(|s| s.to_owned()),
            ]
            .prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
            Just(r#""\ud800""#.to_owned()),
            Just(r#""a\u0062c""#.to_owned()),
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        prop_oneof![
            4 => leaf,
            1 => prop::collection::vec(text(depth - 1), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            1 => prop::collection::vec((key(), text(depth - 1)), 0..4).prop_map(|kv| object(&kv, "")),
        ]
        .boxed()
    }

    fn object(entries: &[(String, String)], ws: &str) -> String {
        let inner: Vec<String> = entries
            .iter()
            .map(|(k, v)| {
                format!(
                    "{ws}{}{ws}:{ws}{v}{ws}",
                    serde_json::to_string(k).unwrap_or_default()
                )
            })
            .collect();
        format!("{{{}}}", inner.join(","))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn generated_lines_read_as_through_a_value(
            body in prop::collection::vec((key(), text(2)), 0..6),
            extra in prop::option::of(text(1)),
            src in prop_oneof![Just("\"c1\"".to_owned()), Just("\"c\\u0031\"".to_owned()), Just("7".to_owned())],
            ws in prop_oneof![Just(""), Just(" "), Just("\n\t")],
            body_first in any::<bool>(),
        ) {
            let body = object(&body, ws);
            let mut entries = vec![
                ("src".to_owned(), src),
                ("dest".to_owned(), "\"n0\"".to_owned()),
            ];
            let b = ("body".to_owned(), body);
            if body_first { entries.insert(0, b) } else { entries.push(b) }
            if let Some(extra) = extra {
                entries.insert(1, ("id".to_owned(), extra));
            }
            assert_same(&object(&entries, ws));
        }

        #[test]
        fn generated_bodies_read_as_through_a_value(v in text(3)) {
            assert_same(&format!(r#"{{"src":"c1","dest":"n0","body":{v}}}"#));
        }
    }
}
