//! Fuzzing every parser of untrusted input with proptest: each scheme's header parsing through
//! the public verify API (arbitrary bytes, and structured values mutated field by field: stamped
//! `t=…,v1=…` lists, `v1,<b64>` lists, prefixes, hex and base64 of any length, repeated keys),
//! RFC 3339 timestamps, the lenient JSON field reader, event ids, envelopes, Twilio's URL query,
//! and the whole ingest pipeline. Nothing may panic, nothing may verify without the right
//! signature, and every refusal carries one of the specific codes.
//!
//! `make test` runs the default case counts below (a few seconds in a debug build); `make fuzz`
//! sets `PROPTEST_CASES`, which every property here honours.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use inlet_core::config::Config;
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Ingest, IngestRequest, Outcome, usable_event_id};
use inlet_core::ports::memory::{MemoryQueue, MemorySecrets};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_signature::clock;
use inlet_signature::{BodyFields, Scheme};
use inlet_testkit::providers;
use inlet_testkit::providers::named;
use inlet_testkit::providers::{
    NOW, Signed, code, key, key_from, label, schemes, signature_header, signed,
};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

/// Whether SQS would take the text in a message: it refuses U+FFFE and U+FFFF. Written out here
/// rather than borrowed from the crate, so the property checks the code against the rule.
fn queue_safe(text: &str) -> bool {
    !text.contains(['\u{FFFE}', '\u{FFFF}'])
}

/// `default` cases, unless `PROPTEST_CASES` asks for another number (`make fuzz`).
fn cases(default: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    config
}

/// The codes a signature refusal may carry (`url_not_configured` cannot happen: every delivery
/// here has its URL).
const SIGNATURE_CODES: [&str; 4] = [
    "signature_missing",
    "signature_malformed",
    "signature_mismatch",
    "timestamp_out_of_tolerance",
];

fn is_refusal(result: &Result<inlet_signature::Verified, inlet_signature::SignatureError>) -> bool {
    SIGNATURE_CODES.contains(&code(result))
}

// ---- strategies ----

/// Any byte a header value may hold: visible ASCII, space, tab and obs-text (0x80–0xff).
fn header_byte() -> impl Strategy<Value = u8> {
    any::<u8>().prop_map(|b| match b {
        b'\t' => b,
        0x7f => b' ',
        0..=0x1f => b | 0x40,
        _ => b,
    })
}

fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(header_byte(), 0..200),
        // Long runs: header parsing must not be quadratic or overflow anything.
        (header_byte(), 1000usize..20_000).prop_map(|(b, n)| vec![b; n]),
    ]
}

fn hex_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{0,130}",
        "[0-9a-fA-F]{1,70}",
        // Every length a hash has, and one off.
        prop::sample::select(vec![39usize, 40, 41, 63, 64, 65, 127, 128, 129])
            .prop_flat_map(|n| proptest::collection::vec(
                prop::sample::select(b"0123456789abcdef".to_vec()),
                n
            ))
            .prop_map(|bytes| String::from_utf8(bytes).unwrap()),
        (1usize..5000).prop_map(|n| "a".repeat(n)),
    ]
}

fn base64_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9+/]{0,90}={0,3}",
        // base64url: the likeliest wrong alphabet.
        "[A-Za-z0-9_-]{1,90}",
        "[A-Za-z0-9+/]{27}=|[A-Za-z0-9+/]{43}=|[A-Za-z0-9+/]{86}==",
        (1usize..5000).prop_map(|n| "A".repeat(n)),
    ]
}

/// A value for any field: digits, hex, base64, or printable junk.
fn field_value() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{0,14}", hex_text(), base64_text(), "[ -~]{0,40}",]
}

/// `name=value` items as Stripe and Paddle write them, with any names (known, other versions,
/// repeated, empty, wrong case), any values, and any separators.
fn stamped_text() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "t", "v1", "v0", "ts", "h1", "h2", "T", "V1", "", "t ", " v1"
        ])
        .prop_map(str::to_owned),
        "[a-z0-9]{1,4}",
    ];
    let equals = prop::sample::select(vec!["=", "==", "", " = ", ":"]);
    let item = (name, equals, field_value()).prop_map(|(n, e, v)| format!("{n}{e}{v}"));
    let separator = prop::sample::select(vec![",", ";", ", ", " ", ",,", ";;"]);
    (proptest::collection::vec(item, 0..24), separator).prop_map(|(items, s)| items.join(s))
}

/// `version,<base64>` items as Standard Webhooks writes them, with any versions and spacing.
fn versioned_text() -> impl Strategy<Value = String> {
    let version = prop_oneof![
        prop::sample::select(vec!["v1", "v1a", "v2", "V1", "", "v1 "]).prop_map(str::to_owned),
        "[a-z0-9]{1,4}",
    ];
    let comma = prop::sample::select(vec![",", "", ",,", "=", " ,"]);
    let item = (version, comma, base64_text()).prop_map(|(v, c, b)| format!("{v}{c}{b}"));
    let space = prop::sample::select(vec![" ", "  ", "\t", ",", ""]);
    (proptest::collection::vec(item, 0..24), space).prop_map(|(items, s)| items.join(s))
}

/// A prefix some scheme uses (or a near miss) before hex or base64.
fn prefixed_text() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "sha256=", "sha1=", "sha512=", "v0=", "v1=", "SHA256=", "sha256==", "sha256", "",
        " sha256=",
    ]);
    (prefix, prop_oneof![hex_text(), base64_text()]).prop_map(|(p, v)| format!("{p}{v}"))
}

/// Signature header text shaped like every scheme's framing, so parsing goes deep.
fn signature_text() -> impl Strategy<Value = String> {
    prop_oneof![
        stamped_text(),
        versioned_text(),
        prefixed_text(),
        hex_text(),
        base64_text(),
    ]
}

fn value_of(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Every header some scheme reads, authenticating or not, for `scheme`.
fn read_headers(scheme: &Scheme) -> Vec<HeaderName> {
    let mut names = vec![
        signature_header(scheme),
        HeaderName::from_static("content-type"),
    ];
    names.extend(providers::timestamp_header(scheme));
    let more: &[&str] = match scheme.name() {
        "github" => &["x-github-event", "x-github-delivery"],
        "standard-webhooks" => &["webhook-id", "svix-id", "svix-signature", "svix-timestamp"],
        "shopify" => &[
            "x-shopify-topic",
            "x-shopify-webhook-id",
            "x-shopify-event-id",
        ],
        "twilio" => &["i-twilio-idempotency-token"],
        "zendesk" => &["x-zendesk-webhook-invocation-id"],
        "linear" => &["linear-delivery", "linear-event"],
        "twitch" => &[
            "twitch-eventsub-message-id",
            "twitch-eventsub-message-type",
            "twitch-eventsub-subscription-type",
        ],
        _ => &[],
    };
    names.extend(more.iter().map(|n| HeaderName::from_static(n)));
    names
}

/// The headers whose every byte the signature covers (or that name which signature to check).
fn authenticating(scheme: &Scheme, name: &HeaderName) -> bool {
    *name == signature_header(scheme)
        || providers::timestamp_header(scheme).as_ref() == Some(name)
        || matches!(
            (scheme.name(), name.as_str()),
            ("standard-webhooks", "webhook-id") | ("twitch", "twitch-eventsub-message-id")
        )
}

// ---- the scheme's headers, through the verify API ----

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn structured_signature_headers_never_verify_and_are_refused_specifically(
        text in signature_text(),
    ) {
        for scheme in schemes() {
            let mut delivery = signed(&scheme);
            let before = delivery.signature();
            prop_assume!(text.trim() != before.trim());
            delivery.set_signature(&text);
            let result = delivery.verify(&key(&scheme));
            prop_assert!(is_refusal(&result), "{} accepted {:?}: {:?}", label(&scheme), text, result);
            if text.trim().is_empty() {
                prop_assert_eq!(code(&result), "signature_missing");
            }
        }
    }

    #[test]
    fn arbitrary_bytes_in_any_header_a_scheme_reads_never_panic(
        bytes in header_bytes(),
        which in any::<prop::sample::Index>(),
    ) {
        let value = HeaderValue::from_bytes(&bytes).unwrap();
        for scheme in schemes() {
            let names = read_headers(&scheme);
            let name = &names[which.index(names.len())];
            let mut delivery = signed(&scheme);
            let before = delivery.headers.get(name).map(|v| v.as_bytes().trim_ascii().to_vec());
            delivery.set(name.clone(), value.clone());
            let result = delivery.verify(&key(&scheme));
            prop_assert!(
                result.is_ok() || is_refusal(&result),
                "{} / {}: {:?}", label(&scheme), name, result
            );
            let changed = before.as_deref() != Some(bytes.trim_ascii());
            if changed && authenticating(&scheme, name) {
                prop_assert!(result.is_err(), "{} accepted {} = {:?}", label(&scheme), name, value);
            }
            if bytes.iter().any(|b| *b >= 0x80) && result.is_err() {
                // Non-ASCII is named as such, never mistaken for a wrong signature.
                prop_assert_ne!(code(&result), "signature_mismatch", "{} / {}", label(&scheme), name);
            }
        }
    }

    #[test]
    fn an_authenticating_header_sent_twice_is_malformed_whatever_the_second_copy(
        text in signature_text(),
        first in any::<bool>(),
    ) {
        for scheme in schemes() {
            let original = signed(&scheme);
            for name in read_headers(&scheme)
                .into_iter()
                .filter(|n| authenticating(&scheme, n) && original.headers.contains_key(n))
            {
                let mut delivery = original.clone();
                let genuine = delivery.headers.remove(&name).unwrap();
                let copies = if first { [genuine, value_of(&text)] } else { [value_of(&text), genuine] };
                for copy in copies {
                    delivery.headers.append(name.clone(), copy);
                }
                let result = delivery.verify(&key(&scheme));
                prop_assert_eq!(code(&result), "signature_malformed", "{} / {} twice", label(&scheme), name);
            }
        }
    }

    #[test]
    fn epoch_second_timestamps_are_malformed_unless_one_to_twelve_digits(
        text in prop_oneof!["[0-9]{0,16}", "[-+ 0-9.xeE]{1,16}", "[ -~]{0,20}"],
    ) {
        let stamped = |name: &str| -> Option<String> {
            let scheme = Scheme::named(name).unwrap();
            let delivery = signed(&scheme);
            let signature = delivery.signature();
            let (head, tail) = signature.split_once(if name == "stripe" { ',' } else { ';' })?;
            let (marker, _) = head.split_once('=')?;
            Some(format!("{marker}={text}{}{tail}", if name == "stripe" { ',' } else { ';' }))
        };
        let signed_text = NOW.to_string();
        let mut subjects: Vec<(String, Signed)> = Vec::new();
        for scheme in [named("standard-webhooks"), named("slack"), providers::custom_sha512(), providers::custom_sha1()] {
            let mut delivery = signed(&scheme);
            let name = providers::timestamp_header(&scheme).unwrap();
            if text.trim().is_empty() || text.contains(['\t']) {
                continue;
            }
            delivery.set(name, value_of(&text));
            subjects.push((label(&scheme), delivery));
        }
        for name in ["stripe", "paddle"] {
            // Separators would change the layout, not the timestamp: that is the other property.
            if text.contains([',', ';', '=']) || text.trim() != text || text.is_empty() {
                continue;
            }
            let mut delivery = signed(&Scheme::named(name).unwrap());
            delivery.set_signature(&stamped(name).unwrap());
            subjects.push((name.to_owned(), delivery));
        }
        for (label, delivery) in subjects {
            let result = delivery.verify(&key(&delivery.scheme));
            let trimmed = text.trim();
            if trimmed == signed_text {
                prop_assert!(result.is_ok(), "{}: {:?}", label, result);
            } else if (1..=12).contains(&trimmed.len()) && trimmed.bytes().all(|b| b.is_ascii_digit()) {
                prop_assert!(
                    matches!(code(&result), "timestamp_out_of_tolerance" | "signature_mismatch"),
                    "{}: {:?} gave {:?}", label, text, result
                );
            } else {
                prop_assert_eq!(code(&result), "signature_malformed", "{}: {:?}", label, text);
            }
        }
    }

    #[test]
    fn rfc3339_timestamp_headers_never_panic_and_only_the_signed_text_verifies(
        text in prop_oneof![
            "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
            "[ -~]{0,45}",
        ],
    ) {
        for scheme in [named("zendesk"), named("twitch")] {
            let mut delivery = signed(&scheme);
            let name = providers::timestamp_header(&scheme).unwrap();
            let before = delivery.headers[&name].to_str().unwrap().to_owned();
            prop_assume!(text.trim() != before);
            delivery.set(name, value_of(&text));
            let result = delivery.verify(&key(&scheme));
            prop_assert!(is_refusal(&result), "{}: {:?} gave {:?}", label(&scheme), text, result);
            if !text.trim().is_empty() && clock::parse_rfc3339(text.trim()).is_none() {
                prop_assert_eq!(code(&result), "signature_malformed");
            }
        }
    }

    #[test]
    fn the_right_signature_among_decoys_and_other_versions_verifies(
        decoys in proptest::collection::vec(any::<[u8; 32]>(), 0..15),
        foreign in proptest::collection::vec(("[a-z][a-z0-9]{0,3}", "[A-Za-z0-9+/]{0,20}"), 0..5),
        position in any::<prop::sample::Index>(),
    ) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        for scheme in [named("stripe"), named("paddle"), named("standard-webhooks")] {
            let delivery = signed(&scheme);
            let text = delivery.signature();
            let range = providers::encoded_range(&scheme, &text);
            let good = text[range].to_owned();
            let (version, stamp, join) = match scheme.name() {
                "stripe" => ("v1=", Some(format!("t={NOW}")), ","),
                "paddle" => ("h1=", Some(format!("ts={NOW}")), ";"),
                _ => ("v1,", None, " "),
            };
            let mut items: Vec<String> = decoys
                .iter()
                .map(|bytes| match scheme.name() {
                    "standard-webhooks" => format!("{version}{}", b64.encode(bytes)),
                    _ => format!("{version}{}", hex::encode(bytes)),
                })
                .collect();
            // Other versions are skipped, whatever they hold, as long as they are items.
            items.extend(
                foreign
                    .iter()
                    .filter(|(name, _)| !["v1", "t", "ts", "h1"].contains(&name.as_str()))
                    .map(|(name, value)| match scheme.name() {
                        "standard-webhooks" => format!("{name},{value}"),
                        _ => format!("{name}={value}"),
                    }),
            );
            items.insert(position.index(items.len() + 1), format!("{version}{good}"));
            items.extend(stamp);
            let mut mixed = delivery.clone();
            mixed.set_signature(&items.join(join));
            let result = mixed.verify(&key(&scheme));
            prop_assert!(result.is_ok(), "{}: {} gave {:?}", label(&scheme), items.join(join), result);
        }
    }

    #[test]
    fn no_header_verifies_under_a_key_that_is_not_configured(
        text in signature_text(),
        seed in "(?s).{1,40}",
    ) {
        prop_assume!(seed.trim_end_matches('\0') != "correct horse battery staple");
        for scheme in schemes() {
            let mut delivery = signed(&scheme);
            let stranger = key_from(&scheme, seed.as_bytes());
            prop_assert!(delivery.verify(&stranger).is_err(), "{}", label(&scheme));
            delivery.set_signature(&text);
            prop_assert!(delivery.verify(&stranger).is_err(), "{}", label(&scheme));
        }
    }

    #[test]
    fn twilio_url_queries_never_panic_and_never_verify_once_changed(
        query in prop_oneof![
            "bodySHA256=[0-9a-fA-F]{0,70}",
            "([a-zA-Z0-9%&=+#?]{0,40})",
            "bodySHA256=[ -~]{0,20}&bodySHA256=[0-9a-f]{64}",
        ],
        json in any::<bool>(),
    ) {
        let body = br#"{"id":"x"}"#;
        let key = key(&named("twilio"));
        let mut delivery = if json {
            providers::twilio_json(body, &key, NOW)
        } else {
            signed(&named("twilio"))
        };
        let base = delivery.url.clone().unwrap();
        delivery.url = Some(format!("{base}&{query}"));
        let result = delivery.verify(&key);
        prop_assert!(is_refusal(&result), "{:?} accepted: {:?}", delivery.url, result);
    }
}

// ---- clock: RFC 3339 ----

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn rfc3339_parsing_never_panics_on_any_text(text in "(?s).{0,60}") {
        if let Some(seconds) = clock::parse_rfc3339(&text) {
            prop_assert!(text.is_ascii(), "{:?}", text);
            prop_assert!((20..=40).contains(&text.len()));
            // Any instant a four-digit year can name.
            prop_assert!((-62_200_000_000..=253_500_000_000).contains(&seconds), "{}", seconds);
        }
    }

    #[test]
    fn rfc3339_fields_parse_exactly_when_they_name_a_real_instant(
        year in 0i64..=9999,
        month in 0i64..=13,
        day in 0i64..=32,
        hour in 0i64..=25,
        minute in 0i64..=61,
        second in 0i64..=61,
        fraction in proptest::option::of("[0-9]{1,9}"),
        offset in proptest::option::of((any::<bool>(), 0i64..=24, 0i64..=60)),
    ) {
        let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
        if let Some(fraction) = &fraction {
            text.push('.');
            text.push_str(fraction);
        }
        let shift = match offset {
            None => {
                text.push('Z');
                0
            }
            Some((east, h, m)) => {
                text.push_str(&format!("{}{h:02}:{m:02}", if east { '+' } else { '-' }));
                let total = h * 3600 + m * 60;
                if east { total } else { -total }
            }
        };
        let offset_valid = offset.is_none_or(|(_, h, m)| h <= 23 && m <= 59);
        let valid = (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month.clamp(1, 12))
            && hour <= 23
            && minute <= 59
            && second <= 60
            && offset_valid;
        let parsed = clock::parse_rfc3339(&text);
        prop_assert_eq!(parsed.is_some(), valid, "{}", text);
        if let Some(seconds) = parsed
            && second < 60
        {
            // What it names, written back in UTC, is the same wall-clock time shifted by the offset.
            let utc = clock::format_rfc3339_secs(seconds + shift);
            prop_assert_eq!(&utc[..19], &text[..19], "{}", text);
        }
    }

    #[test]
    fn every_formatted_instant_parses_back(seconds in -62_135_596_800i64..253_402_300_799) {
        prop_assert_eq!(clock::parse_rfc3339(&clock::format_rfc3339_secs(seconds)), Some(seconds));
        let millis = clock::format_rfc3339_millis(seconds * 1000 + 7);
        prop_assert_eq!(clock::parse_rfc3339(&millis), Some(seconds));
    }
}

// ---- bodies: the JSON field reader, event ids, envelopes ----

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinities", |f| f.is_finite())
            .prop_map(Value::from),
        "(?s).{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(vec![
                "id",
                "type",
                "event_id",
                "event_type",
                "webhookTimestamp",
                "challenge",
                "event",
            ])
            .prop_map(str::to_owned),
            "(?s).{0,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// What the lenient reader makes of a field: strings and integers as text, the rest absent.
fn scalar(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn top_level_object() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "id",
            "type",
            "event_id",
            "event_type",
            "webhookTimestamp",
            "challenge",
            "event",
        ])
        .prop_map(str::to_owned),
        "[a-z]{0,6}",
    ];
    proptest::collection::btree_map(key, json_value(), 0..10)
        .prop_map(|map| map.into_iter().collect())
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn the_field_reader_reads_what_a_full_parse_reads(object in top_level_object(), pretty in any::<bool>()) {
        let value = Value::Object(object.clone());
        let bytes = if pretty {
            serde_json::to_vec_pretty(&value).unwrap()
        } else {
            serde_json::to_vec(&value).unwrap()
        };
        let fields = BodyFields::parse(&bytes);
        prop_assert!(fields.is_some(), "{}", value);
        let fields = fields.unwrap();
        prop_assert_eq!(fields.id.as_str().map(str::to_owned), scalar(object.get("id")));
        prop_assert_eq!(fields.kind.as_str().map(str::to_owned), scalar(object.get("type")));
        prop_assert_eq!(fields.event_id.as_str().map(str::to_owned), scalar(object.get("event_id")));
        prop_assert_eq!(fields.event_type.as_str().map(str::to_owned), scalar(object.get("event_type")));
        prop_assert_eq!(
            fields.webhook_timestamp.as_str().map(str::to_owned),
            scalar(object.get("webhookTimestamp"))
        );
        prop_assert_eq!(fields.challenge.as_str().map(str::to_owned), scalar(object.get("challenge")));
        let inner = object.get("event").and_then(Value::as_object).and_then(|e| scalar(e.get("type")));
        prop_assert_eq!(fields.event.kind.as_str().map(str::to_owned), inner);
    }

    #[test]
    fn the_field_reader_never_panics_and_reads_only_objects(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            // Cut anywhere: truncated JSON.
            (json_value(), any::<prop::sample::Index>()).prop_map(|(v, at)| {
                let bytes = serde_json::to_vec(&v).unwrap();
                bytes[..at.index(bytes.len() + 1)].to_vec()
            }),
            // Nesting far past any recursion limit.
            (1usize..20_000, any::<bool>()).prop_map(|(depth, arrays)| {
                let (open, close) = if arrays { ("[", "]") } else { ("{\"event\":", "}") };
                format!("{{\"id\":{}1{}}}", open.repeat(depth), close.repeat(depth)).into_bytes()
            }),
        ],
    ) {
        if BodyFields::parse(&bytes).is_some() {
            prop_assert!(
                bytes.trim_ascii_start().starts_with(b"{"),
                "read a non-object: {:?}", String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn event_ids_are_kept_only_when_fit_for_a_key(
        id in proptest::option::of(prop_oneof![
            "(?s).{0,40}",
            "[a-z0-9-]{200,300}",
            "[\u{0}-\u{1f}\u{7f}-\u{9f}\u{fffe}\u{ffff}a]{1,10}",
        ]),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let result = usable_event_id(id.clone(), &body);
        prop_assert_eq!(&result, &usable_event_id(id.clone(), &body), "deterministic");
        prop_assert!(!result.is_empty() && result.len() <= 256);
        prop_assert!(!result.chars().any(char::is_control), "{:?}", result);
        prop_assert!(queue_safe(&result));
        let fit = id.as_deref().is_some_and(|id| {
            !id.is_empty() && id.len() <= 256 && !id.chars().any(char::is_control) && queue_safe(id)
        });
        if fit {
            prop_assert_eq!(Some(result), id);
        } else {
            let hashed = id.as_deref().map_or(&body[..], str::as_bytes);
            prop_assert_eq!(result, format!("sha256:{}", hex::encode(inlet_signature::sha256(hashed))));
        }
    }

    #[test]
    fn envelopes_carry_any_body_and_reading_any_text_never_panics(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "(?s).{0,60}".prop_map(String::into_bytes),
            "[\u{fffe}\u{ffff}a]{1,5}".prop_map(String::into_bytes),
        ],
        junk in "(?s).{0,200}",
    ) {
        let mut envelope = Envelope {
            v: inlet_core::envelope::VERSION,
            key: "s#e".into(),
            source: "s".into(),
            scheme: "github".into(),
            event_type: None,
            event_id: "e".into(),
            received_at: clock::format_rfc3339_millis(NOW * 1000),
            headers: Default::default(),
            body: None,
            body_b64: None,
            replay: None,
            body_ref: None,
            schema_errors: None,
            traceparent: None,
            tracestate: None,
        };
        envelope.set_body(&body);
        let back = Envelope::from_json(&envelope.to_json()).unwrap();
        prop_assert_eq!(back.body_bytes().unwrap(), body);
        let _ = Envelope::from_json(&junk);
    }
}

// ---- the whole ingest pipeline ----

const PIPELINE_CONFIG: &str = r#"
[sources.github]
scheme = "github"
secrets = ["env:S1"]

[sources.stripe]
scheme = "stripe"
secrets = ["env:S2"]

[sources.svix]
scheme = "standard-webhooks"
secrets = ["env:S3"]

[sources.twilio]
scheme = "twilio"
secrets = ["env:S1"]
url = "https://hooks.example.com/webhooks/twilio"

[sources.linear]
scheme = "linear"
secrets = ["env:S1"]

[sources.twitch]
scheme = "twitch"
secrets = ["env:S1"]

[sources.crm]
scheme = "hmac"
header = "X-Signature"
timestamp_header = "X-Timestamp"
id_pointer = "/data/id"
secrets = ["env:S1"]

[sources.fenced]
scheme = "slack"
secrets = ["env:S1"]
allow_ips = ["203.0.113.0/24"]

[sources.small]
scheme = "shopify"
secrets = ["env:S1"]
max_body_bytes = 64
"#;

/// The pipeline the cases share, the runtime that drives it, and a handle to its queue.
type Pipeline = (
    tokio::runtime::Runtime,
    Ingest<MemoryQueue, MemorySecrets>,
    MemoryQueue,
);

/// One pipeline for every case (the queue must stay empty throughout), and a runtime to drive it.
fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let config = Config::parse(PIPELINE_CONFIG).unwrap();
        let secrets = [
            ("S1", "s1-secret"),
            ("S2", "whsec_s2"),
            ("S3", "whsec_c2VjcmV0LXRocmVl"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let resolver = SecretResolver::new(Env::Map(secrets), MemorySecrets::default());
        let keys = runtime.block_on(KeyRing::load(&config, resolver)).unwrap();
        let queue = MemoryQueue::new();
        (
            runtime,
            Ingest::new(config, keys, queue.clone(), false),
            queue,
        )
    })
}

fn any_header() -> impl Strategy<Value = (HeaderName, HeaderValue)> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "x-hub-signature-256",
            "x-github-delivery",
            "x-github-event",
            "stripe-signature",
            "webhook-signature",
            "webhook-id",
            "webhook-timestamp",
            "svix-signature",
            "svix-id",
            "svix-timestamp",
            "x-twilio-signature",
            "content-type",
            "linear-signature",
            "twitch-eventsub-message-signature",
            "twitch-eventsub-message-id",
            "twitch-eventsub-message-timestamp",
            "twitch-eventsub-message-type",
            "x-signature",
            "x-timestamp",
            "x-slack-signature",
            "x-slack-request-timestamp",
            "x-shopify-hmac-sha256",
            "x-forwarded-for",
        ])
        .prop_map(HeaderName::from_static),
        "[a-z][a-z0-9-]{0,20}".prop_map(|n| HeaderName::try_from(n).unwrap()),
    ];
    let value = prop_oneof![
        signature_text().prop_map(|t| value_of(&t)),
        "[0-9]{1,13}".prop_map(|t| value_of(&t)),
        header_bytes().prop_map(|b| HeaderValue::from_bytes(&b).unwrap()),
    ];
    (name, value)
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn no_forged_request_is_queued_and_every_refusal_is_specific(
        method in prop_oneof![
            4 => Just(Method::POST),
            1 => prop::sample::select(vec![Method::GET, Method::PUT, Method::HEAD, Method::OPTIONS]),
            1 => "[A-Za-z]{1,10}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
        ],
        source in proptest::option::of(prop_oneof![
            4 => prop::sample::select(vec![
                "github", "stripe", "svix", "twilio", "linear", "twitch", "crm", "fenced", "small",
            ]).prop_map(str::to_owned),
            1 => "(?s).{0,30}",
        ]),
        query in proptest::option::of("[ -~]{0,40}"),
        headers in proptest::collection::vec(any_header(), 0..8),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        loopback in any::<bool>(),
    ) {
        let (runtime, ingest, queue) = pipeline();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(name, value);
        }
        let ip = if loopback { "127.0.0.1" } else { "203.0.113.9" };
        let request = IngestRequest {
            method: &method,
            source: source.as_deref(),
            query: query.as_deref(),
            headers: &map,
            body: &body,
            source_ip: Some(ip.parse().unwrap()),
            xray_trace: None,
        };
        let reply = runtime.block_on(ingest.handle(&request, NOW * 1000));
        prop_assert!(queue.is_empty(), "queued: {:?}", queue.messages());
        let json: Value = serde_json::from_str(&reply.body).unwrap();
        let expected: &[(StatusCode, &str)] = &[
            (StatusCode::NOT_FOUND, "not_found"),
            (StatusCode::NOT_FOUND, "unknown_source"),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            (StatusCode::FORBIDDEN, "ip_not_allowed"),
            // Linear's timestamp is in the body: without a JSON object there is nothing to verify.
            (StatusCode::BAD_REQUEST, "malformed_body"),
            (StatusCode::UNAUTHORIZED, "signature_missing"),
            (StatusCode::UNAUTHORIZED, "signature_malformed"),
            (StatusCode::UNAUTHORIZED, "signature_mismatch"),
            (StatusCode::UNAUTHORIZED, "timestamp_out_of_tolerance"),
        ];
        let answer = (reply.status, json["error"].as_str().unwrap_or(""));
        prop_assert!(expected.contains(&answer), "{:?}: {}", answer, reply.body);
        prop_assert!(
            matches!(reply.outcome, Outcome::Rejected { code } if code == answer.1),
            "{:?}", reply.outcome
        );
    }
}
