//! The few JSON body fields schemes read, parsed in one pass without building a tree.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Whether a body starts as a JSON object does, after any whitespace: how schemes tell an object
/// from a form, an array or anything else before reading fields from it. `serde` would read a
/// struct from an array too, so this is asked first.
pub(crate) fn is_json_object(body: &[u8]) -> bool {
    body.trim_ascii_start().first() == Some(&b'{')
}

/// Fields that name an event in providers' JSON bodies. Every other field is skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BodyFields {
    pub id: Scalar,
    #[serde(rename = "type")]
    pub kind: Scalar,
    pub event_id: Scalar,
    pub event_type: Scalar,
    /// Linear: milliseconds since the epoch.
    #[serde(rename = "webhookTimestamp")]
    pub webhook_timestamp: Scalar,
    pub challenge: Scalar,
    /// Slack's inner event.
    pub event: Inner,
}

/// Slack's `event` object, of which only `type` matters.
#[derive(Debug, Default)]
pub struct Inner {
    pub kind: Scalar,
}

impl BodyFields {
    /// Reads the fields, or `None` when the body is not a JSON object.
    pub fn parse(body: &[u8]) -> Option<Self> {
        // JSON is UTF-8 (RFC 8259), but skipping a member over bytes does not check the strings
        // it skips: without this, invalid UTF-8 in a member nothing reads would pass for JSON.
        let text = std::str::from_utf8(body).ok()?;
        // serde would also read a struct from an array: only an object names an event.
        if !text.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(text).ok()
    }
}

/// A string or number field; anything else reads as absent rather than failing the whole body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scalar(pub Option<String>);

impl Scalar {
    pub fn take(&mut self) -> Option<String> {
        self.0.take()
    }

    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(Some(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar(Some(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(Some(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(Some(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar(None))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct InnerVisitor;

impl<'de> Visitor<'de> for InnerVisitor {
    type Value = Inner;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Inner, A::Error> {
        let mut inner = Inner::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "type" {
                inner.kind = map.next_value()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(inner)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inner, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Inner::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Inner, E> {
        Ok(Inner::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Inner, E> {
        Ok(Inner::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Inner, E> {
        Ok(Inner::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Inner, E> {
        Ok(Inner::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Inner, E> {
        Ok(Inner::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Inner, E> {
        Ok(Inner::default())
    }
}

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InnerVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_and_numbers_and_skips_the_rest() {
        let body = br#"{"id":"evt_1","type":{"x":1},"event_id":42,"event":{"type":"message","n":[1]},"big":[{"a":"b"}]}"#;
        let fields = BodyFields::parse(body).unwrap_or_default();
        assert_eq!(fields.id.as_str(), Some("evt_1"));
        assert_eq!(fields.kind.as_str(), None);
        assert_eq!(fields.event_id.as_str(), Some("42"));
        assert_eq!(fields.event.kind.as_str(), Some("message"));
    }

    #[test]
    fn a_body_that_is_not_an_object_reads_as_none() {
        assert!(BodyFields::parse(b"token=abc&x=1").is_none());
        assert!(BodyFields::parse(b"[1,2]").is_none());
        assert!(BodyFields::parse(b"{\"id\":").is_none());
        // Invalid UTF-8 is not JSON, even in a member that is skipped.
        assert!(BodyFields::parse(b"{\"id\":\"evt_1\",\"note\":\"caf\xe9\"}").is_none());
    }
}
