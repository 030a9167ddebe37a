//! A JSON tree whose strings borrow from the input line, read in the same pass as the
//! envelope, and a deserializer over it that mirrors `serde_json`'s `&Value` deserializer.
//!
//! Reading goes through `serde_json`'s `deserialize_any`, exactly like parsing into a
//! `Value`: the same text is accepted (escapes, surrogates, number range, nesting limit) and
//! the same numbers come out. Objects keep every entry in document order; the deserializer
//! presents them as a `Value` object would (sorted by key, the last of repeated keys), so a
//! message type decodes from a [`Json`] tree to what it decodes from the `Value`.
//!
//! Where mirroring `&Value` would take more than a few lines (numeric and boolean map keys,
//! 128-bit integers, `RawValue`), the deserializer fails instead, and the caller falls back to
//! the `Value` path: a decode from the tree either equals the `Value` decode or fails.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Number, Value};

type Error = serde_json::Error;

/// An object's entries in document order, repeated keys included.
pub(crate) type Object<'a> = Vec<(Cow<'a, str>, Json<'a>)>;

/// A JSON value; strings without escapes borrow from the input.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

impl Json<'_> {
    /// The `Value` this tree stands for (an object keeps the last of repeated keys).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::Str(s) => Value::String(s.as_ref().to_owned()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(entries) => Value::Object(object_to_map(entries)),
        }
    }

    /// The same tree owning all its strings.
    pub(crate) fn into_owned(self) -> Json<'static> {
        match self {
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(b),
            Json::Number(n) => Json::Number(n),
            Json::Str(s) => Json::Str(Cow::Owned(s.into_owned())),
            Json::Array(items) => Json::Array(items.into_iter().map(Json::into_owned).collect()),
            Json::Object(entries) => Json::Object(object_into_owned(entries)),
        }
    }
}

/// The `Map` of an object's entries: the last of repeated keys wins, as when parsing.
pub(crate) fn object_to_map(entries: &[(Cow<'_, str>, Json<'_>)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in entries {
        map.insert(k.as_ref().to_owned(), v.to_value());
    }
    map
}

/// An object owning all its strings.
pub(crate) fn object_into_owned(entries: Object<'_>) -> Object<'static> {
    entries
        .into_iter()
        .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
        .collect()
}

impl<'de> de::Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json<'de>, E> {
        // As `Value` does: a non-finite float (which the parser never yields) becomes null.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(Text(key)) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Json::Object(entries))
    }
}

/// A string, borrowed from the input when it has no escapes; read with `deserialize_str`, as
/// `Value` reads object keys.
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

/// Any JSON value, checked exactly as parsing into a `Value` checks it, then discarded.
pub(crate) struct Checked;

impl<'de> de::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_none<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Checked, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Text<'de>>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

/// Deserializes `T` from the object `entries` as `serde_json` deserializes it from the
/// `Value` object they stand for (or fails where that would take the `Value` path itself).
pub(crate) fn from_object<'b, 'a: 'b, T: de::Deserialize<'b>>(
    entries: &'b Object<'a>,
) -> Result<T, Error> {
    T::deserialize(View::Object(entries))
}

/// A borrowed node of a tree, as the deserializer sees it.
#[derive(Clone, Copy)]
enum View<'b, 'a> {
    Node(&'b Json<'a>),
    Object(&'b Object<'a>),
}

impl<'b, 'a> View<'b, 'a> {
    fn unexpected(self) -> de::Unexpected<'b> {
        match self {
            View::Object(_) | View::Node(Json::Object(_)) => de::Unexpected::Map,
            View::Node(Json::Null) => de::Unexpected::Unit,
            View::Node(Json::Bool(b)) => de::Unexpected::Bool(*b),
            View::Node(Json::Number(_)) => de::Unexpected::Other("number"),
            View::Node(Json::Str(s)) => de::Unexpected::Str(s),
            View::Node(Json::Array(_)) => de::Unexpected::Seq,
        }
    }

    fn invalid_type(self, exp: &dyn de::Expected) -> Error {
        de::Error::invalid_type(self.unexpected(), exp)
    }
}

/// The name `serde_json` gives the newtype a `RawValue` deserializes through.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

macro_rules! number_like_value {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
                match self {
                    View::Node(Json::Number(n)) => n.deserialize_any(visitor),
                    other => Err(other.invalid_type(&visitor)),
                }
            }
        )*
    };
}

impl<'b, 'a: 'b> Deserializer<'b> for View<'b, 'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            View::Object(entries) | View::Node(Json::Object(entries)) => {
                visit_object(entries, visitor)
            }
            View::Node(Json::Null) => visitor.visit_unit(),
            View::Node(Json::Bool(b)) => visitor.visit_bool(*b),
            View::Node(Json::Number(n)) => n.deserialize_any(visitor),
            View::Node(Json::Str(s)) => visitor.visit_borrowed_str(s),
            View::Node(Json::Array(items)) => visit_array(items, visitor),
        }
    }

    number_like_value! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_option<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            View::Node(Json::Null) => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_enum<V: Visitor<'b>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            View::Object(entries) | View::Node(Json::Object(entries)) => {
                let order = Order::of(entries);
                if order.len != 1 {
                    return Err(de::Error::invalid_value(
                        de::Unexpected::Map,
                        &"map with a single key",
                    ));
                }
                let (variant, value) = &entries[order.get(0)];
                visitor.visit_enum(EnumRef {
                    variant,
                    value: Some(value),
                })
            }
            View::Node(Json::Str(variant)) => visitor.visit_enum(EnumRef {
                variant,
                value: None,
            }),
            other => Err(other.invalid_type(&"string or map")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'b>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == RAW_VALUE_TOKEN {
            return Err(de::Error::custom("RawValue is decoded through a Value"));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_bool<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            View::Node(Json::Bool(b)) => visitor.visit_bool(*b),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            View::Node(Json::Str(s)) => visitor.visit_borrowed_str(s),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            View::Node(Json::Str(s)) => visitor.visit_borrowed_str(s),
            View::Node(Json::Array(items)) => visit_array(items, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_unit<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            View::Node(Json::Null) => visitor.visit_unit(),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'b>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_seq<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            View::Node(Json::Array(items)) => visit_array(items, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'b>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'b>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            View::Object(entries) | View::Node(Json::Object(entries)) => {
                visit_object(entries, visitor)
            }
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'b>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            View::Object(entries) | View::Node(Json::Object(entries)) => {
                visit_object(entries, visitor)
            }
            View::Node(Json::Array(items)) => visit_array(items, visitor),
            other => Err(other.invalid_type(&visitor)),
        }
    }

    fn deserialize_identifier<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

fn visit_array<'b, 'a: 'b, V: Visitor<'b>>(
    items: &'b [Json<'a>],
    visitor: V,
) -> Result<V::Value, Error> {
    let len = items.len();
    let mut seq = ArrayAccess { iter: items.iter() };
    let out = visitor.visit_seq(&mut seq)?;
    if seq.iter.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

struct ArrayAccess<'b, 'a> {
    iter: std::slice::Iter<'b, Json<'a>>,
}

impl<'b, 'a: 'b> SeqAccess<'b> for ArrayAccess<'b, 'a> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'b>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(item) => seed.deserialize(View::Node(item)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The entry order of an object as a `Value` object has it: sorted by key, one entry per key
/// (the last in the document).
struct Order {
    small: [u16; SMALL],
    large: Vec<usize>,
    len: usize,
}

/// Objects with at most this many entries are ordered without allocating.
const SMALL: usize = 16;

impl Order {
    fn of(entries: &[(Cow<'_, str>, Json<'_>)]) -> Self {
        let n = entries.len();
        let key = |i: usize| entries[i].0.as_bytes();
        let mut order = Order {
            small: [0; SMALL],
            large: Vec::new(),
            len: 0,
        };
        if n <= SMALL {
            // Insertion sort by (key, position): a handful of entries, no allocation.
            let mut idx = [0u16; SMALL];
            let mut repeated = false;
            for i in 0..n {
                let mut j = i;
                while j > 0 {
                    match key(usize::from(idx[j - 1])).cmp(key(i)) {
                        std::cmp::Ordering::Greater => {
                            idx[j] = idx[j - 1];
                            j -= 1;
                        }
                        std::cmp::Ordering::Equal => {
                            repeated = true;
                            break;
                        }
                        std::cmp::Ordering::Less => break,
                    }
                }
                // `i < SMALL`, so it fits.
                idx[j] = i as u16;
            }
            if !repeated {
                order.small = idx;
                order.len = n;
                return order;
            }
            // Of each run of equal keys (in document order within the run) the last stays.
            for k in 0..n {
                if k + 1 == n || key(usize::from(idx[k])) != key(usize::from(idx[k + 1])) {
                    order.small[order.len] = idx[k];
                    order.len += 1;
                }
            }
        } else {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| key(a).cmp(key(b)));
            order.large = (0..n)
                .filter(|&k| k + 1 == n || key(idx[k]) != key(idx[k + 1]))
                .map(|k| idx[k])
                .collect();
            order.len = order.large.len();
        }
        order
    }

    fn get(&self, k: usize) -> usize {
        if self.large.is_empty() {
            usize::from(self.small[k])
        } else {
            self.large[k]
        }
    }
}

fn visit_object<'b, 'a: 'b, V: Visitor<'b>>(
    entries: &'b [(Cow<'a, str>, Json<'a>)],
    visitor: V,
) -> Result<V::Value, Error> {
    let mut map = ObjectAccess {
        entries,
        order: Order::of(entries),
        next: 0,
        value: None,
    };
    let out = visitor.visit_map(&mut map)?;
    if map.next == map.order.len {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(
            map.order.len,
            &"fewer elements in map",
        ))
    }
}

struct ObjectAccess<'b, 'a> {
    entries: &'b [(Cow<'a, str>, Json<'a>)],
    order: Order,
    next: usize,
    value: Option<&'b Json<'a>>,
}

impl<'b, 'a: 'b> MapAccess<'b> for ObjectAccess<'b, 'a> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'b>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.next == self.order.len {
            return Ok(None);
        }
        let (key, value) = &self.entries[self.order.get(self.next)];
        self.next += 1;
        self.value = Some(value);
        seed.deserialize(KeyView(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'b>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(View::Node(value)),
            None => Err(de::Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.order.len - self.next)
    }
}

/// An object key, as `serde_json`'s map key deserializer presents it; keys read as numbers
/// or booleans are left to the `Value` path.
struct KeyView<'b>(&'b str);

macro_rules! key_via_value_path {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'b>>(self, _visitor: V) -> Result<V::Value, Error> {
                Err(de::Error::custom("non-string map keys are decoded through a Value"))
            }
        )*
    };
}

impl<'b> Deserializer<'b> for KeyView<'b> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    key_via_value_path! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64
    }

    fn deserialize_option<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'b>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'b>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        IntoDeserializer::<Error>::into_deserializer(self.0)
            .deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        <W: Visitor<'b>>
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

struct EnumRef<'b, 'a> {
    variant: &'b str,
    value: Option<&'b Json<'a>>,
}

impl<'b, 'a: 'b> EnumAccess<'b> for EnumRef<'b, 'a> {
    type Error = Error;
    type Variant = VariantRef<'b, 'a>;

    fn variant_seed<V: DeserializeSeed<'b>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Error> {
        let variant = IntoDeserializer::<Error>::into_deserializer(self.variant);
        seed.deserialize(variant)
            .map(|v| (v, VariantRef { value: self.value }))
    }
}

struct VariantRef<'b, 'a> {
    value: Option<&'b Json<'a>>,
}

impl<'b, 'a: 'b> VariantAccess<'b> for VariantRef<'b, 'a> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            Some(value) => de::Deserialize::deserialize(View::Node(value)),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'b>>(self, seed: T) -> Result<T::Value, Error> {
        match self.value {
            Some(value) => seed.deserialize(View::Node(value)),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'b>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Some(Json::Array(items)) if items.is_empty() => visitor.visit_unit(),
            Some(Json::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(View::Node(other).invalid_type(&"tuple variant")),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'b>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Some(Json::Object(entries)) => visit_object(entries, visitor),
            Some(other) => Err(View::Node(other).invalid_type(&"struct variant")),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}
