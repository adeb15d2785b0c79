//! Adyen's standard (payments) webhooks, in their JSON form.
//!
//! A webhook is `{"live": …, "notificationItems": [{"NotificationRequestItem": {…}}]}`, and the
//! signature travels inside each item, in `additionalData.hmacSignature`: the base64
//! HMAC-SHA256, keyed by the endpoint's HMAC key (hex, decoded first), of eight of the item's
//! fields joined by `:` — `pspReference`, `originalReference`, `merchantAccountCode`,
//! `merchantReference`, `amount.value`, `amount.currency`, `eventCode`, `success` — an absent
//! field counting as empty. Every item must verify.
//!
//! Only those fields are signed, never the rest of the body (`additionalData`, `reason`,
//! `eventDate`…) and never a time: that is Adyen's design. So the event is named by signed fields
//! only — each item's `pspReference:eventCode:success` — and a replay, whatever unsigned members it
//! changes, names the same event as the delivery it copies.

use crate::body::Scalar;
use crate::body::is_json_object;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, value};
use crate::error::{KeyError, SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, Secrets};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// Where each item carries its signature, for error messages.
const SIGNATURE: &str = "additionalData.hmacSignature";
const KEY_FORMAT: &str = "the endpoint's HMAC key from the Customer Area, hex";

/// JSON webhooks carry a single item; a few more are read, many more are not a webhook but work.
const MAX_ITEMS: usize = 16;

const NOT_A_NOTIFICATION: SignatureError =
    SignatureError::Body("not an Adyen notification: a JSON object of notificationItems");

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "notificationItems")]
    items: Vec<Wrapped>,
}

#[derive(Deserialize)]
struct Wrapped {
    #[serde(rename = "NotificationRequestItem")]
    item: Item,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Item {
    psp_reference: Field,
    original_reference: Field,
    merchant_account_code: Field,
    merchant_reference: Field,
    amount: Option<Amount>,
    event_code: Field,
    success: Field,
    additional_data: Option<AdditionalData>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Amount {
    value: Field,
    currency: Field,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct AdditionalData {
    #[serde(rename = "hmacSignature")]
    hmac_signature: Scalar,
}

/// A signed field as Adyen's libraries write it into the signed text: a string as it is, a
/// number in decimal, a boolean as `true` or `false`, null or absent as nothing. Anything else
/// has no agreed text, and the notification is refused rather than read one way.
#[derive(Default)]
struct Field(String);

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'v> Visitor<'v> for Text {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(Field(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field, E> {
                Ok(Field(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field, E> {
                Ok(Field(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field, E> {
                Ok(Field(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
                Ok(Field::default())
            }
        }
        d.deserialize_any(Text)
    }
}

impl Item {
    /// The eight signed fields joined by `:`, as Adyen signs them.
    fn signed_text(&self) -> String {
        let amount = self.amount.as_ref();
        [
            self.psp_reference.0.as_str(),
            &self.original_reference.0,
            &self.merchant_account_code.0,
            &self.merchant_reference.0,
            amount.map_or("", |a| &a.value.0),
            amount.map_or("", |a| &a.currency.0),
            &self.event_code.0,
            &self.success.0,
        ]
        .join(":")
    }

    fn signature(&self) -> Option<&str> {
        self.additional_data
            .as_ref()?
            .hmac_signature
            .as_str()
            .filter(|text| !text.is_empty())
    }

    /// The event, named by signed fields only.
    fn event_id(&self) -> String {
        format!(
            "{}:{}:{}",
            self.psp_reference.0, self.event_code.0, self.success.0
        )
    }
}

fn notification(body: &[u8]) -> Result<Vec<Item>, SignatureError> {
    if !is_json_object(body) {
        return Err(NOT_A_NOTIFICATION);
    }
    // Duplicate members fail here: two `pspReference`s leave it unclear which one was signed.
    let parsed: Notification = serde_json::from_slice(body).map_err(|_| NOT_A_NOTIFICATION)?;
    if parsed.items.is_empty() {
        return Err(SignatureError::Body(
            "a notification without notificationItems",
        ));
    }
    if parsed.items.len() > MAX_ITEMS {
        return Err(SignatureError::Body(
            "more notification items than a webhook carries",
        ));
    }
    Ok(parsed.items.into_iter().map(|w| w.item).collect())
}

fn item_signature(item: &Item) -> Result<Vec<u8>, SignatureError> {
    let text = item.signature().ok_or(SignatureError::Missing(SIGNATURE))?;
    let signature = Encoding::Base64.decode(SIGNATURE, text)?;
    if signature.len() != Algorithm::Sha256.output_len() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "wrong length for HMAC-SHA256",
        });
    }
    Ok(signature)
}

/// Whether every item carries a signature one of `keys` made.
fn all_signed(items: &[Item], keys: &[Key]) -> Result<(), SignatureError> {
    let signatures = items
        .iter()
        .map(item_signature)
        .collect::<Result<Vec<_>, _>>()?;
    // Every item is checked, whichever failed first, so the time taken says nothing of which.
    let mut all = true;
    for (item, signature) in items.iter().zip(signatures) {
        let text = item.signed_text();
        all &= crypto::any_match(Algorithm::Sha256, keys, &[text.as_bytes()], &[signature]).is_ok();
    }
    if all {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let items = notification(delivery.body)?;
    all_signed(&items, keys)?;
    let event_id = items
        .iter()
        .map(Item::event_id)
        .collect::<Vec<_>>()
        .join(",");
    let first_code = &items[0].event_code.0;
    let event_type = (!first_code.is_empty()
        && items.iter().all(|i| &i.event_code.0 == first_code))
    .then(|| first_code.clone());
    Ok(Verified {
        event_id: Some(event_id),
        event_type,
        handshake: None,
    })
}

fn signature_of(key: &Key, item: &Item) -> String {
    let text = item.signed_text();
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[text.as_bytes()]);
    Encoding::Base64.encode(tag.as_slice())
}

/// Writes each item's signature under `key` into a notification, keeping one that `key` signed
/// already as it is. A JSON object that is not a notification yet (a sample, a test body) gets a
/// single item of its own, derived from it, so that any object can be made into a signed
/// delivery. Members come out in sorted order, which changes nothing Adyen signs.
fn sign_body(body: &[u8], key: &Key, _: i64) -> Result<Vec<u8>, SignError> {
    const NOTIFICATION: SignError = SignError::Body("a JSON object (an Adyen notification)");
    if notification(body).is_ok_and(|items| all_signed(&items, std::slice::from_ref(key)).is_ok()) {
        return Ok(body.to_vec());
    }
    if !is_json_object(body) {
        return Err(NOTIFICATION);
    }
    let mut webhook: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|_| NOTIFICATION)?;
    if !webhook.contains_key("notificationItems") {
        let reference: String = hex::encode_upper(crypto::sha256(&[body]))
            .chars()
            .take(16)
            .collect();
        webhook.insert(
            "notificationItems".to_owned(),
            serde_json::json!([{ "NotificationRequestItem": {
                "pspReference": reference,
                "eventCode": "AUTHORISATION",
                "success": "true",
            }}]),
        );
    }
    let items = webhook
        .get_mut("notificationItems")
        .and_then(serde_json::Value::as_array_mut)
        .ok_or(NOTIFICATION)?;
    for wrapped in items {
        let request = wrapped
            .get_mut("NotificationRequestItem")
            .and_then(serde_json::Value::as_object_mut)
            .ok_or(NOTIFICATION)?;
        let item: Item = serde_json::from_value(serde_json::Value::Object(request.clone()))
            .map_err(|_| NOTIFICATION)?;
        let signature = signature_of(key, &item);
        let additional = request
            .entry("additionalData")
            .or_insert_with(|| serde_json::json!({}));
        if !additional.is_object() {
            *additional = serde_json::json!({});
        }
        additional["hmacSignature"] = serde_json::Value::String(signature);
    }
    serde_json::to_vec(&webhook).map_err(|_| NOTIFICATION)
}

/// The signatures travel in the body, so no header adds one: what `sign` gives is the content type
/// Adyen sends, once the body carries signatures this key made.
fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let signed = notification(delivery.body)
        .is_ok_and(|items| all_signed(&items, std::slice::from_ref(key)).is_ok());
    if !signed {
        return Err(SignError::Body(
            "an Adyen notification whose items this key signed (sign_body writes them in)",
        ));
    }
    Ok(vec![(
        http::header::CONTENT_TYPE,
        value("application/json".to_owned()),
    )])
}

fn key(secret: &str) -> Result<Key, KeyError> {
    match hex::decode(secret.trim()) {
        Ok(bytes) if !bytes.is_empty() => Ok(Key::secret(bytes)),
        _ => Err(KeyError::Format(KEY_FORMAT)),
    }
}

fn secrets_for_seed(seed: &[u8]) -> Secrets {
    Secrets::shared(hex::encode_upper(seed))
}

static CODE: Code = Code {
    facts: Facts {
        signature: None,
        encoding: Some(Encoding::Base64),
        unsigned_body: true,
        ..Facts::UNSIGNED
    },
    signed: "HMAC-SHA256 of each item's pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success, base64, in its additionalData.hmacSignature (not the rest of the body)",
    key_format: KEY_FORMAT,
    key,
    signing_key: key,
    verify,
    sign,
    sign_body: Some(sign_body),
    unsigned_handshake: None,
    secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "adyen",
    aliases: &[],
    title: "Adyen (standard webhooks, JSON)",
    docs: "https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures",
    handshake: None,
    json_body: true,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::HeaderMap;

    // Adyen/adyen-node-api-library, src/__tests__/hmacValidator.spec.ts.
    const NODE_KEY: &str = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00";
    const NODE_ITEM: &str = r#"{"pspReference":"pspReference","originalReference":"originalReference","merchantAccountCode":"merchantAccount","merchantReference":"reference","amount":{"currency":"EUR","value":1000},"eventCode":"CAPTURE","eventDate":"1970-01-01T00:00:00.000Z","paymentMethod":"VISA","reason":"reason","success":"true","additionalData":{"hmacSignature":"xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0="}}"#;
    const WINDOW: Window = Window {
        now: 0,
        tolerance_secs: 300,
    };

    fn webhook(items: &[&str]) -> String {
        let items: Vec<String> = items
            .iter()
            .map(|item| format!(r#"{{"NotificationRequestItem":{item}}}"#))
            .collect();
        format!(
            r#"{{"live":"false","notificationItems":[{}]}}"#,
            items.join(",")
        )
    }

    fn check(body: &str, secret: &str) -> Result<Verified, SignatureError> {
        let headers = HeaderMap::new();
        verify(
            &Delivery::post(&headers, body.as_bytes()),
            &[key(secret).unwrap()],
            WINDOW,
        )
    }

    #[test]
    fn the_signed_text_is_the_eight_fields_in_order() {
        let item: Item = serde_json::from_str(NODE_ITEM).unwrap();
        // The node library's expected signed text.
        assert_eq!(
            item.signed_text(),
            "pspReference:originalReference:merchantAccount:reference:1000:EUR:CAPTURE:true"
        );
        // Absent fields count as empty; a boolean `success` reads as Adyen's libraries write it.
        let sparse: Item =
            serde_json::from_str(r#"{"pspReference":"1","eventCode":"X","success":false}"#)
                .unwrap();
        assert_eq!(sparse.signed_text(), "1::::::X:false");
    }

    #[test]
    fn the_node_librarys_item_verifies_and_is_named_by_signed_fields() {
        let verified = check(&webhook(&[NODE_ITEM]), NODE_KEY).unwrap();
        assert_eq!(
            verified.event_id.as_deref(),
            Some("pspReference:CAPTURE:true")
        );
        assert_eq!(verified.event_type.as_deref(), Some("CAPTURE"));
        // A lower-case key is the same key.
        check(&webhook(&[NODE_ITEM]), &NODE_KEY.to_ascii_lowercase()).unwrap();
    }

    #[test]
    fn unsigned_members_do_not_count_but_signed_ones_do() {
        let changed_reason = NODE_ITEM.replace(r#""reason":"reason""#, r#""reason":"other""#);
        check(&webhook(&[&changed_reason]), NODE_KEY).unwrap();
        let changed_amount = NODE_ITEM.replace(r#""value":1000"#, r#""value":1001"#);
        assert_eq!(
            check(&webhook(&[&changed_amount]), NODE_KEY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn every_item_must_verify() {
        let other = NODE_ITEM.replace("xhpHvYq2", "xhpHvYq3");
        assert_eq!(
            check(&webhook(&[NODE_ITEM, &other]), NODE_KEY),
            Err(SignatureError::Mismatch)
        );
        let unsigned = NODE_ITEM.replace(
            r#""hmacSignature":"xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0=""#,
            r#""hmacSignature":"""#,
        );
        assert_eq!(
            check(&webhook(&[NODE_ITEM, &unsigned]), NODE_KEY),
            Err(SignatureError::Missing(SIGNATURE))
        );
        let both = check(&webhook(&[NODE_ITEM, NODE_ITEM]), NODE_KEY).unwrap();
        assert_eq!(
            both.event_id.as_deref(),
            Some("pspReference:CAPTURE:true,pspReference:CAPTURE:true")
        );
    }

    #[test]
    fn bodies_that_are_not_notifications_are_malformed() {
        let short = NODE_ITEM.replace(
            "xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0=",
            &Encoding::Base64.encode(&[1; 20]),
        );
        assert_eq!(
            check(&webhook(&[&short]), NODE_KEY).map_err(|e| e.code()),
            Err("signature_malformed")
        );
        let many: Vec<&str> = std::iter::repeat_n(NODE_ITEM, MAX_ITEMS + 1).collect();
        let twice = NODE_ITEM.replacen(
            r#""pspReference":"pspReference","#,
            r#""pspReference":"a","pspReference":"pspReference","#,
            1,
        );
        for body in [
            "[]".to_owned(),
            r#"{"live":"false"}"#.to_owned(),
            webhook(&[]),
            webhook(&many),
            webhook(&[r#"{"pspReference":1.5}"#]),
            webhook(&[&twice]),
        ] {
            assert_eq!(
                check(&body, NODE_KEY).map_err(|e| e.code()),
                Err("malformed_body"),
                "{body}"
            );
        }
    }

    #[test]
    fn sign_body_signs_every_item_and_makes_a_notification_of_any_object() {
        let signer = key(NODE_KEY).unwrap();
        let unsigned = NODE_ITEM.replace(
            r#","additionalData":{"hmacSignature":"xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0="}"#,
            "",
        );
        let body = sign_body(webhook(&[&unsigned, &unsigned]).as_bytes(), &signer, 0).unwrap();
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text.matches("xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0=")
                .count(),
            2
        );
        check(&text, NODE_KEY).unwrap();
        // Already signed by this key: kept byte for byte.
        let signed = webhook(&[NODE_ITEM]);
        assert_eq!(
            sign_body(signed.as_bytes(), &signer, 0).unwrap(),
            signed.as_bytes()
        );

        let any = sign_body(br#"{"id":"evt_1"}"#, &signer, 0).unwrap();
        let headers = HeaderMap::new();
        let added = sign(&Delivery::post(&headers, &any), &signer, 0).unwrap();
        assert_eq!(added[0].1, "application/json");
        check(std::str::from_utf8(&any).unwrap(), NODE_KEY).unwrap();
        assert!(sign(&Delivery::post(&headers, b"{}"), &signer, 0).is_err());
        assert!(sign_body(b"[1]", &signer, 0).is_err());
    }

    #[test]
    fn keys_are_hex() {
        for bad in ["not hex", "ABC", ""] {
            assert_eq!(key(bad), Err(KeyError::Format(KEY_FORMAT)), "{bad}");
        }
        let secrets = secrets_for_seed(b"seed");
        assert_eq!(key(&secrets.verify).unwrap(), Key::secret(b"seed".to_vec()));
    }
}
