//! Properties over arbitrary bodies, secrets, clocks and header bytes, for every scheme: what
//! `sign` produces verifies, and any single change to what is signed makes it fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::HeaderValue;
use inlet_signature::{Scheme, SignatureError, Verified, Window};
use inlet_testkit::providers;
use inlet_testkit::providers::named;
use inlet_testkit::providers::{Signed, TOLERANCE, code, encoded_range, key_from, label};
use proptest::prelude::*;

/// A scheme and the shape of body it is tested with. Twilio appears twice: form bodies are signed
/// through their parsed parameters, every other body through the URL's `bodySHA256`.
#[derive(Debug, Clone)]
struct Subject {
    scheme: Scheme,
    twilio_json: bool,
}

impl Subject {
    fn label(&self) -> String {
        if self.twilio_json {
            "twilio (bodySHA256)".to_owned()
        } else {
            label(&self.scheme)
        }
    }

    /// Whether every byte of the body is covered. Twilio's form parameters are signed as parsed,
    /// so byte-level rewrites that parse the same (`%2B` and `%2b`, a trailing `=`) are not.
    fn covers_body_bytes(&self) -> bool {
        !matches!(self.scheme.name(), "twilio") || self.twilio_json
    }
}

fn subjects() -> Vec<Subject> {
    let mut all: Vec<Subject> = providers::schemes()
        .into_iter()
        .map(|scheme| Subject {
            scheme,
            twilio_json: false,
        })
        .collect();
    all.push(Subject {
        scheme: named("twilio"),
        twilio_json: true,
    });
    all
}

/// Signs `payload` at `at` with a key made from `seed`. Linear takes its timestamp from a JSON
/// body, so there the payload becomes a string field of one.
fn signed(subject: &Subject, payload: &[u8], seed: &str, at: i64) -> Signed {
    let scheme = &subject.scheme;
    let key = key_from(scheme, seed.as_bytes());
    if subject.twilio_json {
        return providers::twilio_json(payload, &key, at);
    }
    let body = match scheme.name() {
        "linear" => {
            let data = serde_json::to_string(&String::from_utf8_lossy(payload)).unwrap();
            providers::linear_body(at * 1000, &data).into_bytes()
        }
        _ => payload.to_vec(),
    };
    providers::sign(
        scheme,
        providers::base_headers(scheme),
        body,
        providers::url_for(scheme),
        &key,
        at,
    )
}

fn verify_at(signed: &Signed, seed: &str, now: i64) -> Result<Verified, SignatureError> {
    signed.verify_keys(&[key_from(&signed.scheme, seed.as_bytes())], now)
}

/// `default` cases, unless `PROPTEST_CASES` asks for another number: `with_cases` alone would
/// ignore it, and `make fuzz` would run these 64 times like `make test` does.
fn cases(default: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    config
}

/// Any byte a header value may hold: visible ASCII, space, tab and obs-text (0x80–0xff).
fn header_byte() -> impl Strategy<Value = u8> {
    any::<u8>().prop_map(|b| match b {
        b'\t' => b,
        0x7f => b' ',
        0..=0x1f => b | 0x40,
        _ => b,
    })
}

/// Header values: raw bytes, and text shaped like the schemes' framings so parsing goes deep.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(header_byte(), 0..300),
        "((t|ts|v0|v1|h1|sha256|sha1)[=,][0-9a-fA-Z+/=]{0,70}[,; ]{0,2}){0,6}"
            .prop_map(String::into_bytes),
        "[0-9]{0,14}".prop_map(String::into_bytes),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?"
            .prop_map(String::into_bytes),
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..512)
}

/// A secret's text: any characters, newlines included. (Standard Webhooks gets it base64-encoded.)
fn seed() -> impl Strategy<Value = String> {
    "(?s).{1,48}"
}

/// From 2001 to 2096: plausible clocks, whose RFC 3339 forms all have four-digit years.
fn instant() -> impl Strategy<Value = i64> {
    1_000_000_000i64..4_000_000_000
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn signed_deliveries_verify_anywhere_in_the_window(
        payload in proptest::collection::vec(any::<u8>(), 0..512),
        seed in seed(),
        at in instant(),
        skew in -(TOLERANCE as i64)..=(TOLERANCE as i64),
    ) {
        for subject in subjects() {
            let signed = signed(&subject, &payload, &seed, at);
            let result = verify_at(&signed, &seed, at + skew);
            prop_assert!(result.is_ok(), "{}: {:?}", subject.label(), result);
        }
    }

    #[test]
    fn a_different_secret_never_verifies(
        payload in payload(),
        seed in seed(),
        other in seed(),
        at in instant(),
    ) {
        // HMAC pads short keys with zeros, so secrets differing only by trailing NULs are one key.
        prop_assume!(seed.trim_end_matches('\0') != other.trim_end_matches('\0'));
        for subject in subjects() {
            let signed = signed(&subject, &payload, &seed, at);
            let result = verify_at(&signed, &other, at);
            prop_assert_eq!(code(&result), "signature_mismatch", "{}", subject.label());
        }
    }

    #[test]
    fn flipping_any_body_byte_fails(
        payload in payload(),
        seed in seed(),
        at in instant(),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        for subject in subjects().into_iter().filter(Subject::covers_body_bytes) {
            let mut signed = signed(&subject, &payload, &seed, at);
            let at_byte = index.index(signed.body.len());
            signed.body[at_byte] ^= flip;
            let result = verify_at(&signed, &seed, at);
            prop_assert!(result.is_err(), "{}: byte {} ^ {:#x} accepted", subject.label(), at_byte, flip);
        }
    }

    #[test]
    fn changing_a_form_parameter_fails(
        seed in seed(),
        at in instant(),
        value in "[a-zA-Z0-9 +]{0,40}",
        other in "[a-zA-Z0-9 +]{0,40}",
    ) {
        // Twilio's form bodies are covered as parsed parameters, so change what they parse to.
        prop_assume!(value != other);
        let form = |v: &str| -> Vec<u8> {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("CallSid", "CA1")
                .append_pair("Body", v)
                .finish()
                .into_bytes()
        };
        let subject = Subject { scheme: named("twilio"), twilio_json: false };
        let mut signed = signed(&subject, &form(&value), &seed, at);
        signed.body = form(&other);
        prop_assert!(verify_at(&signed, &seed, at).is_err());
    }

    #[test]
    fn changing_the_timestamp_within_the_window_is_a_mismatch(
        payload in payload(),
        seed in seed(),
        at in instant(),
        delta in prop_oneof![-(TOLERANCE as i64)..=-1, 1..=(TOLERANCE as i64)],
    ) {
        // Within the window, so only the signature can object: the timestamp is signed.
        for subject in subjects().into_iter().filter(|s| s.scheme.has_timestamp()) {
            let mut signed = signed(&subject, &payload, &seed, at);
            let text = providers::timestamp_text(&subject.scheme, at + delta);
            prop_assert!(providers::set_timestamp(&mut signed, &text));
            let result = verify_at(&signed, &seed, at);
            prop_assert_eq!(
                code(&result), "signature_mismatch",
                "{}: timestamp {} gave {:?}", subject.label(), text, result
            );
        }
    }

    #[test]
    fn changing_any_signature_character_fails(
        payload in payload(),
        seed in seed(),
        at in instant(),
        index in any::<prop::sample::Index>(),
        rotation in 1usize..64,
    ) {
        for subject in subjects() {
            let mut signed = signed(&subject, &payload, &seed, at);
            let text = signed.signature();
            let range = encoded_range(&subject.scheme, &text);
            let at_char = range.start + index.index(range.len());
            // Rotate within the encoding's own alphabet: the result is always a different digit,
            // never just the other case of the same hex digit (which decodes to the same byte).
            let alphabet = providers::alphabet(&subject.scheme);
            let position = alphabet.iter().position(|&c| c == text.as_bytes()[at_char]);
            let replacement = match position {
                Some(p) => alphabet[(p + 1 + rotation % (alphabet.len() - 1)) % alphabet.len()],
                // Base64 padding: any digit in its place breaks the encoding or the value.
                None => alphabet[rotation % alphabet.len()],
            };
            let changed = providers::replace_range(
                &text,
                at_char..at_char + 1,
                &char::from(replacement).to_string(),
            );
            prop_assert_ne!(&changed, &text);
            signed.set_signature(&changed);
            let result = verify_at(&signed, &seed, at);
            prop_assert!(result.is_err(), "{}: {} accepted", subject.label(), changed);
        }
    }

    #[test]
    fn arbitrary_header_values_never_panic_nor_verify(
        payload in payload(),
        seed in seed(),
        at in instant(),
        bytes in header_value(),
    ) {
        let value = HeaderValue::from_bytes(&bytes).unwrap();
        for subject in subjects() {
            let original = signed(&subject, &payload, &seed, at);
            for name in subject.scheme.authenticating_headers() {
                let before = original.headers[&name].as_bytes().trim_ascii();
                prop_assume!(bytes.trim_ascii() != before);
                let mut signed = original.clone();
                signed.set(name.clone(), value.clone());
                let result = verify_at(&signed, &seed, at);
                prop_assert!(result.is_err(), "{} accepted {}: {:?}", subject.label(), name, value);
            }
        }
    }

    #[test]
    fn arbitrary_clocks_never_panic_and_accept_only_inside_the_window(
        payload in payload(),
        seed in seed(),
        at in instant(),
        // Uniform draws almost never reach the extremes where saturating arithmetic matters.
        now in prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>(), instant()],
        tolerance_secs in prop_oneof![Just(u64::MAX), any::<u64>(), 0u64..1000],
    ) {
        for subject in subjects() {
            let signed = signed(&subject, &payload, &seed, at);
            let key = key_from(&subject.scheme, seed.as_bytes());
            let result = subject.scheme.verify(
                &signed.delivery(),
                &[key],
                Window { now, tolerance_secs },
            );
            let inside = i128::from(now).abs_diff(i128::from(at)) <= u128::from(tolerance_secs);
            if subject.scheme.has_timestamp() {
                prop_assert_eq!(result.is_ok(), inside, "{}: {:?}", subject.label(), result);
                if !inside {
                    prop_assert_eq!(code(&result), "timestamp_out_of_tolerance");
                }
            } else {
                prop_assert!(result.is_ok(), "{}: {:?}", subject.label(), result);
            }
        }
    }
}
