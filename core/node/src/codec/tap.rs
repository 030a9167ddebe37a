//! [`Tapped`]: a message body decoded into the machine's type in the same pass that reads
//! its header fields (`type`, `msg_id`, `in_reply_to`).
//!
//! The body's deserializer is wrapped so that the machine type's own `Deserialize` drives
//! it unchanged, while the wrapper watches the body's top-level keys and the values of the
//! three header keys go by ([`Head`]'s rules: a value of the wrong JSON type counts as
//! absent, of a repeated key the last counts). Nothing is buffered or copied for the
//! watching; only a `type` string with escapes is copied, as [`Head`] copies it.
//!
//! The wrapper is generic over what it watches: a [`Watched`] deserializer hands every
//! visitor it is given to an [`Observer`] inside a [`Watch`] visitor. Three observers make
//! the tap: the body ([`BodyObs`]: notes that it is an object and wraps its entries),
//! each key ([`KeyObs`]: which header field it names) and each header value
//! ([`ValueObs`]: records it in the [`Head`]).

use std::borrow::{Cow, ToOwned};
use std::fmt;
use std::string::String;
use std::vec::Vec;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::Head;

/// A body decoded into `B`, with its header fields.
pub(super) struct Tapped<'a, B> {
    /// The header fields, as [`Head`] reads them.
    pub head: Head<'a>,
    /// True when the body was a JSON object (`B` may accept other shapes; the wire does
    /// not).
    pub object: bool,
    /// The decoded body.
    pub body: B,
}

impl<'de: 'a, 'a, B: Deserialize<'de>> Deserialize<'de> for Tapped<'a, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut head = Head::default();
        let mut object = false;
        let obs = BodyObs {
            head: &mut head,
            object: &mut object,
        };
        let body = B::deserialize(Watched { inner: d, obs })?;
        Ok(Tapped { head, object, body })
    }
}

/// The header field a body key names.
#[derive(Clone, Copy)]
enum Field {
    Type,
    MsgId,
    InReplyTo,
}

impl Field {
    fn of(key: &str) -> Option<Field> {
        match key {
            "type" => Some(Field::Type),
            "msg_id" => Some(Field::MsgId),
            "in_reply_to" => Some(Field::InReplyTo),
            _ => None,
        }
    }
}

/// What a [`Watch`] reports of the value it visits, before handing it on.
trait Observer<'de>: Sized {
    /// A string; `borrowed` when it is a slice of the input.
    fn string(self, _s: &str, _borrowed: Option<&'de str>) {}
    /// An unsigned integer.
    fn unsigned(self, _v: u64) {}
    /// Any other value (the default of everything not overridden).
    fn other(self) {}
    /// A map: by default reported as [`Observer::other`] and visited unchanged.
    fn map<V: Visitor<'de>, A: MapAccess<'de>>(
        self,
        inner: V,
        map: A,
    ) -> Result<V::Value, A::Error> {
        self.other();
        inner.visit_map(map)
    }
}

/// The body: an object whose entries are watched.
struct BodyObs<'h, 'a> {
    head: &'h mut Head<'a>,
    object: &'h mut bool,
}

impl<'de: 'a, 'a> Observer<'de> for BodyObs<'_, 'a> {
    fn map<V: Visitor<'de>, A: MapAccess<'de>>(
        self,
        inner: V,
        map: A,
    ) -> Result<V::Value, A::Error> {
        *self.object = true;
        inner.visit_map(BodyMap {
            map,
            head: self.head,
            field: None,
        })
    }
}

/// A key of the body: records which header field it names, if any.
struct KeyObs<'s> {
    field: &'s mut Option<Field>,
}

impl<'de> Observer<'de> for KeyObs<'_> {
    fn string(self, s: &str, _borrowed: Option<&'de str>) {
        *self.field = Field::of(s);
    }

    fn other(self) {
        *self.field = None;
    }
}

/// The value of a header key: recorded when of the field's JSON type, else the field is
/// cleared.
struct ValueObs<'h, 'a> {
    head: &'h mut Head<'a>,
    field: Field,
}

impl ValueObs<'_, '_> {
    /// Clears the field: it stays absent unless the value is of its type.
    fn clear(&mut self) {
        match self.field {
            Field::Type => self.head.kind = None,
            Field::MsgId => self.head.msg_id = None,
            Field::InReplyTo => self.head.in_reply_to = None,
        }
    }
}

impl<'de: 'a, 'a> Observer<'de> for ValueObs<'_, 'a> {
    fn string(mut self, s: &str, borrowed: Option<&'de str>) {
        self.clear();
        if let Field::Type = self.field {
            self.head.kind = Some(borrowed.map_or_else(|| Cow::Owned(s.to_owned()), Cow::Borrowed));
        }
    }

    fn unsigned(mut self, v: u64) {
        self.clear();
        match self.field {
            Field::MsgId => self.head.msg_id = Some(v),
            Field::InReplyTo => self.head.in_reply_to = Some(v),
            Field::Type => {}
        }
    }

    fn other(mut self) {
        self.clear();
    }
}

/// The body's entries: keys watched by [`KeyObs`], header values by [`ValueObs`], every
/// other value handed on untouched.
struct BodyMap<'h, 'a, A> {
    map: A,
    head: &'h mut Head<'a>,
    field: Option<Field>,
}

impl<'de: 'a, 'a, A: MapAccess<'de>> MapAccess<'de> for BodyMap<'_, 'a, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.field = None;
        let obs = KeyObs {
            field: &mut self.field,
        };
        self.map.next_key_seed(WatchedSeed { seed, obs })
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        match self.field.take() {
            Some(field) => {
                let obs = ValueObs {
                    head: &mut *self.head,
                    field,
                };
                self.map.next_value_seed(WatchedSeed { seed, obs })
            }
            None => self.map.next_value_seed(seed),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A seed whose deserializer is [`Watched`].
struct WatchedSeed<S, O> {
    seed: S,
    obs: O,
}

impl<'de, S: DeserializeSeed<'de>, O: Observer<'de>> DeserializeSeed<'de> for WatchedSeed<S, O> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Watched {
            inner: d,
            obs: self.obs,
        })
    }
}

/// A deserializer that hands every visitor to its observer inside a [`Watch`].
struct Watched<D, O> {
    inner: D,
    obs: O,
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let watch = Watch { inner: visitor, obs: self.obs };
            self.inner.$method($($arg,)* watch)
        }
    )*};
}

impl<'de, D: Deserializer<'de>, O: Observer<'de>> Deserializer<'de> for Watched<D, O> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16();
        deserialize_i32(); deserialize_i64(); deserialize_i128(); deserialize_u8();
        deserialize_u16(); deserialize_u32(); deserialize_u64(); deserialize_u128();
        deserialize_f32(); deserialize_f64(); deserialize_char(); deserialize_str();
        deserialize_string(); deserialize_bytes(); deserialize_byte_buf();
        deserialize_option(); deserialize_unit(); deserialize_seq(); deserialize_map();
        deserialize_identifier(); deserialize_ignored_any();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor that reports what it visits to its observer, then hands it on unchanged.
struct Watch<V, O> {
    inner: V,
    obs: O,
}

macro_rules! visit_other {
    ($($method:ident: $ty:ty;)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.obs.other();
            self.inner.$method(v)
        }
    )*};
}

macro_rules! visit_unsigned {
    ($($method:ident: $ty:ty;)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.obs.unsigned(u64::from(v));
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>, O: Observer<'de>> Visitor<'de> for Watch<V, O> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit_other! {
        visit_bool: bool; visit_i8: i8; visit_i16: i16; visit_i32: i32; visit_i64: i64;
        visit_i128: i128; visit_u128: u128; visit_f32: f32; visit_f64: f64; visit_char: char;
        visit_bytes: &[u8]; visit_borrowed_bytes: &'de [u8]; visit_byte_buf: Vec<u8>;
    }

    visit_unsigned! {
        visit_u8: u8; visit_u16: u16; visit_u32: u32; visit_u64: u64;
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.obs.string(v, None);
        self.inner.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.obs.string(v, Some(v));
        self.inner.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.obs.string(&v, None);
        self.inner.visit_string(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.obs.other();
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.obs.other();
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.obs.other();
        self.inner.visit_some(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.obs.other();
        self.inner.visit_newtype_struct(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.obs.other();
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.obs.map(self.inner, map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.obs.other();
        self.inner.visit_enum(data)
    }
}
