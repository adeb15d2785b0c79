//! A starting JSON Schema from sample bodies: every sample of one source and event type merged
//! into one shape, then written as draft 2020-12.
//!
//! The schema says only what every sample agrees on, and no more: the types seen at each place
//! (`integer` and `number` together are `number`; `null` is a type like any other), an object's
//! `properties` with `required` the keys present in every object seen there, and an array's
//! `items` merged over every element. Strings stay plain (no `enum`, no `format`) and objects stay
//! open (no `additionalProperties`): a handful of deliveries cannot say which values are fixed or
//! which fields a provider will add, and a schema stricter than the provider would refuse real
//! events.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The draft every inferred schema declares.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// What the samples have shown at one place in the body.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Shape {
    null: bool,
    boolean: bool,
    integer: bool,
    /// A number with a fraction or exponent (serde_json keeps those as floats).
    number: bool,
    string: bool,
    object: Option<ObjectShape>,
    /// The merged shape of every element of every array seen here; `None` when no array was,
    /// `Some(None)` when every array seen was empty (so nothing is known of the items).
    array: Option<Option<Box<Shape>>>,
}

/// Objects seen at one place: how many, and each key's shape with how many of them had it.
#[derive(Debug, Default, Clone, PartialEq)]
struct ObjectShape {
    seen: usize,
    properties: BTreeMap<String, (usize, Shape)>,
}

impl Shape {
    /// The shape of `value` alone.
    pub fn of(value: &Value) -> Self {
        let mut shape = Self::default();
        shape.add(value);
        shape
    }

    /// Merges one more sample into the shape.
    pub fn add(&mut self, value: &Value) {
        match value {
            Value::Null => self.null = true,
            Value::Bool(_) => self.boolean = true,
            Value::Number(n) if n.is_i64() || n.is_u64() => self.integer = true,
            Value::Number(_) => self.number = true,
            Value::String(_) => self.string = true,
            Value::Array(elements) => {
                let items = self.array.get_or_insert(None);
                for element in elements {
                    match items {
                        Some(shape) => shape.add(element),
                        None => *items = Some(Box::new(Self::of(element))),
                    }
                }
            }
            Value::Object(fields) => {
                let object = self.object.get_or_insert_with(ObjectShape::default);
                object.seen += 1;
                for (key, field) in fields {
                    let (count, shape) = object.properties.entry(key.clone()).or_default();
                    *count += 1;
                    shape.add(field);
                }
            }
        }
    }

    /// The type names seen, in a fixed order: one name, or a list when they differ.
    fn types(&self) -> Vec<&'static str> {
        let mut types = Vec::new();
        if self.object.is_some() {
            types.push("object");
        }
        if self.array.is_some() {
            types.push("array");
        }
        if self.string {
            types.push("string");
        }
        // An integer is a number; where both were seen, the place takes any number.
        if self.number {
            types.push("number");
        } else if self.integer {
            types.push("integer");
        }
        if self.boolean {
            types.push("boolean");
        }
        if self.null {
            types.push("null");
        }
        types
    }

    /// The JSON Schema of this place (without `$schema`, title or description).
    pub fn to_schema(&self) -> Node {
        let types = self.types();
        let kind = match types.as_slice() {
            // Nothing seen: any value.
            [] => None,
            [one] => Some(Kind::One(one)),
            _ => Some(Kind::Many(types)),
        };
        let (properties, required) = match &self.object {
            Some(object) => {
                let properties = object
                    .properties
                    .iter()
                    .map(|(key, (_, shape))| (key.clone(), shape.to_schema()))
                    .collect();
                let required = object
                    .properties
                    .iter()
                    .filter(|(_, (count, _))| *count == object.seen)
                    .map(|(key, _)| key.clone())
                    .collect();
                (Some(properties), required)
            }
            None => (None, Vec::new()),
        };
        Node {
            kind,
            properties,
            required,
            items: match &self.array {
                Some(Some(items)) => Some(Box::new(items.to_schema())),
                _ => None,
            },
        }
    }
}

/// One place's schema. A struct rather than a `serde_json::Value` so that it is written in the
/// order people read a schema in (type, then properties, then required), whatever order
/// serde_json's maps keep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<Kind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<BTreeMap<String, Node>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    required: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Box<Node>>,
}

/// `type`: one name, or a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
enum Kind {
    One(&'static str),
    Many(Vec<&'static str>),
}

/// A whole schema file: what it is, then the body's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    #[serde(rename = "$schema")]
    schema: &'static str,
    title: String,
    description: String,
    #[serde(flatten)]
    body: Node,
}

/// The schema document for `shape`, inferred from `samples` deliveries of `source`'s
/// `event_type`: `$schema`, a title and a description saying what it is, then the shape.
pub fn document(source: &str, event_type: Option<&str>, shape: &Shape, samples: usize) -> Document {
    let what = event_type.unwrap_or("(any event type)");
    let deliveries = if samples == 1 {
        "1 delivery".to_owned()
    } else {
        format!("{samples} deliveries")
    };
    Document {
        schema: DRAFT_2020_12,
        title: format!("{source} {what}"),
        description: format!(
            "Inferred by `inlet schema infer` from {deliveries}: a starting point to review and \
             tighten (enums, formats, patterns), not a complete description of the event."
        ),
        body: shape.to_schema(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn infer(samples: &[Value]) -> Value {
        let mut shape = Shape::default();
        for sample in samples {
            shape.add(sample);
        }
        serde_json::to_value(shape.to_schema()).unwrap()
    }

    #[test]
    fn one_type_is_a_name_and_several_a_list() {
        assert_eq!(infer(&[json!("a"), json!("b")]), json!({"type": "string"}));
        assert_eq!(infer(&[json!(true)]), json!({"type": "boolean"}));
        assert_eq!(
            infer(&[json!("a"), json!(1), json!(false)]),
            json!({"type": ["string", "integer", "boolean"]})
        );
    }

    #[test]
    fn integers_and_numbers_merge_to_number() {
        assert_eq!(infer(&[json!(1), json!(2)]), json!({"type": "integer"}));
        assert_eq!(infer(&[json!(1), json!(2.5)]), json!({"type": "number"}));
        assert_eq!(infer(&[json!(2.5)]), json!({"type": "number"}));
        // u64 beyond i64 (Shopify's ids can be large) is still an integer.
        assert_eq!(infer(&[json!(u64::MAX)]), json!({"type": "integer"}));
    }

    #[test]
    fn null_is_a_type_beside_the_others() {
        assert_eq!(infer(&[json!(null)]), json!({"type": "null"}));
        assert_eq!(
            infer(&[
                json!({"base_ref": null}),
                json!({"base_ref": "refs/heads/main"})
            ]),
            json!({
                "type": "object",
                "properties": {"base_ref": {"type": ["string", "null"]}},
                "required": ["base_ref"]
            })
        );
        assert_eq!(
            infer(&[json!(null), json!({"a": 1})]),
            json!({
                "type": ["object", "null"],
                "properties": {"a": {"type": "integer"}},
                "required": ["a"]
            })
        );
    }

    #[test]
    fn required_keys_are_those_every_object_has() {
        let schema = infer(&[
            json!({"id": 1, "name": "a", "extra": true}),
            json!({"id": 2, "name": "b"}),
            json!({"id": 3, "name": null}),
        ]);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "extra": {"type": "boolean"},
                    "id": {"type": "integer"},
                    "name": {"type": ["string", "null"]}
                },
                "required": ["id", "name"]
            })
        );
    }

    #[test]
    fn nested_objects_count_only_where_they_appear() {
        // `owner` is in one sample only, so not required at the top; within the one `owner`
        // seen, both keys are.
        let schema = infer(&[json!({"owner": {"id": 1, "login": "x"}}), json!({})]);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "owner": {
                        "type": "object",
                        "properties": {"id": {"type": "integer"}, "login": {"type": "string"}},
                        "required": ["id", "login"]
                    }
                }
            })
        );
        assert_eq!(
            infer(&[json!({})]),
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn array_items_merge_over_every_element_of_every_sample() {
        let schema = infer(&[
            json!({"commits": [{"id": "a", "added": []}, {"id": "b", "added": ["x"]}]}),
            json!({"commits": [{"id": "c", "added": [], "distinct": true}]}),
            json!({"commits": []}),
        ]);
        assert_eq!(
            schema["properties"]["commits"],
            json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "added": {"type": "array", "items": {"type": "string"}},
                        "distinct": {"type": "boolean"},
                        "id": {"type": "string"}
                    },
                    "required": ["added", "id"]
                }
            })
        );
        // Only empty arrays: nothing is known of the items, so any goes.
        assert_eq!(infer(&[json!([]), json!([])]), json!({"type": "array"}));
        assert_eq!(
            infer(&[json!([1, "a", null])]),
            json!({"type": "array", "items": {"type": ["string", "integer", "null"]}})
        );
    }

    #[test]
    fn strings_stay_plain() {
        let schema = infer(&[json!("2026-11-22T13:00:00Z"), json!("push")]);
        assert_eq!(schema, json!({"type": "string"}));
    }

    #[test]
    fn the_document_names_itself_and_its_draft() {
        let shape = Shape::of(&json!({"a": 1}));
        let document =
            serde_json::to_value(document("shopify", Some("orders/create"), &shape, 3)).unwrap();
        assert_eq!(document["$schema"], DRAFT_2020_12);
        assert_eq!(document["title"], "shopify orders/create");
        let description = document["description"].as_str().unwrap();
        assert!(description.contains("from 3 deliveries"), "{description}");
        assert!(description.contains("starting point"), "{description}");
        assert_eq!(document["required"], json!(["a"]));
        let any = serde_json::to_value(super::document("crm", None, &shape, 1)).unwrap();
        assert_eq!(any["title"], "crm (any event type)");
        // Written in the order people read it, not serde_json's map order.
        let text = serde_json::to_string(&super::document("crm", None, &shape, 1)).unwrap();
        assert!(
            text.starts_with(
                r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"crm (any event type)","description":"#
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                r#","type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}"#
            ),
            "{text}"
        );
        assert!(
            any["description"]
                .as_str()
                .unwrap()
                .contains("from 1 delivery:")
        );
    }
}
