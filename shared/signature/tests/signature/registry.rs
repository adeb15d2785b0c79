//! What holds for every provider in the registry, and for the configurable `hmac` and `token`
//! schemes: a signed delivery verifies, and a changed body, another key, a stale timestamp, a
//! repeated or damaged authenticating header are each refused with a specific code. A provider
//! added to the registry is under these tests without any change here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderName, HeaderValue};
use inlet_signature::{Scheme, registry};
use inlet_testkit::providers::{
    self, NOW, Signed, TOLERANCE, all_schemes, code, key_from, label, signing_key_from,
};
use proptest::prelude::*;

const SEED: &[u8] = b"registry property seed";
const OTHER: &[u8] = b"a different secret altogether";

/// The default delivery for `scheme` with `payload` inside, signed at `at`.
fn signed(scheme: &Scheme, payload: &str, at: i64) -> Signed {
    let body = match scheme.name() {
        // Twilio's default delivery is a form: the payload becomes one more parameter.
        "twilio" => {
            let mut form = providers::body_at(scheme, at);
            form.extend_from_slice(b"&Note=");
            form.extend(
                url::form_urlencoded::byte_serialize(payload.as_bytes()).flat_map(str::bytes),
            );
            form
        }
        _ => {
            providers::linear_body(at * 1000, &serde_json::to_string(payload).unwrap()).into_bytes()
        }
    };
    providers::sign(
        scheme,
        providers::base_headers(scheme),
        body,
        providers::url_for(scheme),
        &signing_key_from(scheme, SEED),
        at,
    )
}

fn verify_at(signed: &Signed, seed: &[u8], now: i64) -> &'static str {
    code(&signed.verify_keys(&[key_from(&signed.scheme, seed)], now))
}

/// 16 cases over every provider unless `PROPTEST_CASES` asks for more (`make fuzz`).
fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(16),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn every_scheme_verifies_what_it_signs_and_refuses_a_changed_body(payload in "\\PC{0,200}") {
        for scheme in all_schemes() {
            let fresh = signed(&scheme, &payload, NOW);
            prop_assert_eq!(verify_at(&fresh, SEED, NOW), "ok", "{}", label(&scheme));
            if !scheme.signs_body() {
                // A shared token or a signature over a body field (Mailgun's timestamp and
                // token) authenticates the sender, not the bytes.
                continue;
            }
            let mut tampered = fresh.clone();
            // Flip a byte of the payload region: near the end, inside the JSON string or form.
            let at = tampered.body.len() - 2;
            tampered.body[at] ^= 0x01;
            prop_assert_ne!(verify_at(&tampered, SEED, NOW), "ok", "{}: changed body accepted", label(&scheme));
        }
    }
}

#[test]
fn every_scheme_refuses_another_key() {
    for scheme in all_schemes() {
        let fresh = signed(&scheme, "x", NOW);
        let verdict = verify_at(&fresh, OTHER, NOW);
        assert_eq!(verdict, "signature_mismatch", "{}", label(&scheme));
    }
}

#[test]
fn every_timestamped_scheme_refuses_a_stale_or_future_delivery() {
    let skew = i64::try_from(TOLERANCE).unwrap() + 60;
    for scheme in all_schemes().into_iter().filter(Scheme::has_timestamp) {
        let stale = signed(&scheme, "x", NOW - skew);
        assert_eq!(
            verify_at(&stale, SEED, NOW),
            "timestamp_out_of_tolerance",
            "{} stale",
            label(&scheme)
        );
        let future = signed(&scheme, "x", NOW + skew);
        assert_eq!(
            verify_at(&future, SEED, NOW),
            "timestamp_out_of_tolerance",
            "{} future",
            label(&scheme)
        );
        // Inside the window both ways.
        let recent = signed(&scheme, "x", NOW - skew + 120);
        assert_eq!(
            verify_at(&recent, SEED, NOW),
            "ok",
            "{} recent",
            label(&scheme)
        );
    }
}

#[test]
fn a_repeated_authenticating_header_is_malformed() {
    for scheme in all_schemes() {
        let fresh = signed(&scheme, "x", NOW);
        for name in scheme.authenticating_headers() {
            let Some(value) = fresh.headers.get(&name).cloned() else {
                continue;
            };
            let mut twice = fresh.clone();
            twice.headers.append(name.clone(), value);
            assert_eq!(
                verify_at(&twice, SEED, NOW),
                "signature_malformed",
                "{}: {name} twice",
                label(&scheme)
            );
        }
    }
}

#[test]
fn a_missing_or_damaged_signature_is_refused_with_a_specific_code() {
    for scheme in all_schemes() {
        let Some(name) = scheme.signature_header() else {
            continue;
        };
        let fresh = signed(&scheme, "x", NOW);
        let mut missing = fresh.clone();
        missing.headers.remove(&name);
        let verdict = verify_at(&missing, SEED, NOW);
        assert!(
            ["signature_missing", "signature_malformed"].contains(&verdict),
            "{}: without {name}: {verdict}",
            label(&scheme)
        );
        let text = fresh
            .headers
            .get(&name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        for damaged in [
            text[..text.len() / 2].to_owned(),
            format!("{text}00"),
            text.replace(|c: char| c.is_ascii_alphanumeric(), "!"),
            String::new(),
        ] {
            let mut bad = fresh.clone();
            bad.headers
                .insert(name.clone(), HeaderValue::from_str(&damaged).unwrap());
            let verdict = verify_at(&bad, SEED, NOW);
            assert!(
                [
                    "signature_missing",
                    "signature_malformed",
                    "signature_mismatch"
                ]
                .contains(&verdict),
                "{}: {name} = {damaged:?}: {verdict}",
                label(&scheme)
            );
        }
    }
}

#[test]
fn every_asymmetric_provider_refuses_keys_not_in_its_published_format() {
    for provider in registry::all().iter().filter(|p| p.facts().asymmetric) {
        let scheme = Scheme::Provider(provider);
        let secrets = provider.secrets_for_seed(SEED);
        assert!(scheme.key(&secrets.verify).is_ok(), "{}", provider.name);
        for bad in [
            "abc",
            "00",
            "not a key at all",
            &secrets.verify[1..],
            &format!("{}00", secrets.verify),
        ] {
            assert!(
                scheme.key(bad).is_err(),
                "{}: accepted {bad:?}",
                provider.name
            );
        }
        assert!(
            scheme.signing_key(&secrets.sign).is_ok(),
            "{}",
            provider.name
        );
    }
}

#[test]
fn the_registry_describes_each_provider_once_and_truly() {
    let mut names = std::collections::BTreeSet::new();
    assert!(
        registry::all().len() >= 130,
        "{} providers",
        registry::all().len()
    );
    for provider in registry::all() {
        for name in std::iter::once(&provider.name).chain(provider.aliases) {
            assert!(names.insert(*name), "{name} is named twice");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}: scheme names are lower case"
            );
        }
        assert!(
            provider.docs.starts_with("https://"),
            "{}: docs",
            provider.name
        );
        assert!(!provider.title.is_empty() && !provider.key_format().is_empty());
        let facts = provider.facts();
        for header in facts
            .signature
            .into_iter()
            .chain(facts.timestamp_header)
            .chain(facts.id_header)
            .chain(facts.type_header)
            .chain(provider.informative_headers.iter().copied())
        {
            let parsed = HeaderName::from_bytes(header.as_bytes()).unwrap();
            assert_eq!(
                parsed.as_str(),
                header,
                "{}: header names are lower case",
                provider.name
            );
        }
        // The signature itself is never kept as if it only named the event.
        if let Some(signature) = facts.signature {
            assert!(
                !provider.informative_headers.contains(&signature),
                "{}: {signature} is the signature",
                provider.name
            );
        }
        for reserved in ["hmac", "token", "none"] {
            assert_ne!(provider.name, reserved);
        }
    }
}

#[test]
fn every_signature_of_the_wrong_length_is_malformed() {
    // Well encoded, only the wrong length: no digest has it, so every provider gives the same
    // answer, whatever comparison it makes.
    for scheme in all_schemes() {
        let (Some(name), Some(encoding)) = (scheme.signature_header(), scheme.signature_encoding())
        else {
            continue;
        };
        let fresh = signed(&scheme, "x", NOW);
        let text = fresh
            .headers
            .get(&name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let range = providers::encoded_range(&scheme, &text);
        for length in [16, 48] {
            let short = encoding.encode(&vec![0x5a; length]);
            let mut bad = fresh.clone();
            bad.headers.insert(
                name.clone(),
                HeaderValue::from_str(&providers::replace_range(&text, range.clone(), &short))
                    .unwrap(),
            );
            assert_eq!(
                verify_at(&bad, SEED, NOW),
                "signature_malformed",
                "{}: {length} bytes in {name}",
                label(&scheme)
            );
        }
    }
}

#[test]
fn every_provider_refuses_a_secret_not_in_its_format() {
    // A provider whose secret is text takes any text but the empty one; every other refuses a
    // secret that is not in its format, by name, rather than verifying with garbage.
    for provider in registry::all() {
        let scheme = Scheme::Provider(provider);
        assert!(scheme.key("").is_err(), "{}: empty secret", provider.name);
        let verdict = scheme.key("%% not hex, base64 or a key %%");
        if provider.key_format().ends_with("as text") {
            assert!(verdict.is_ok(), "{}: {verdict:?}", provider.name);
        } else {
            assert!(
                verdict.is_err(),
                "{}: took a secret not in its format",
                provider.name
            );
        }
        let secrets = provider.secrets_for_seed(SEED);
        assert!(scheme.key(&secrets.verify).is_ok(), "{}", provider.name);
    }
}

#[test]
fn every_data_scheme_hangs_together() {
    // A preset's signing string names the body once, the timestamp exactly when there is one,
    // and the id only with the header it comes from.
    for provider in registry::all() {
        if let registry::How::Hmac(custom) | registry::How::Answering(custom, _) = &provider.how {
            assert_eq!(custom.check(), Ok(()), "{}", provider.name);
        }
    }
}

#[test]
fn a_provider_listed_as_not_supported_is_not_also_in_the_catalogue() {
    for entry in inlet_signature::unsupported::UNSUPPORTED {
        assert!(
            Scheme::named(entry.name).is_none(),
            "{} is both supported and not",
            entry.name
        );
        assert!(entry.docs.starts_with("https://"), "{}", entry.name);
        assert!(!entry.why.is_empty(), "{}", entry.name);
    }
}
