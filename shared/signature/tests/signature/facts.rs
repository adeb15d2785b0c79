//! The header facts `Scheme` states (`signature_header`, `timestamp_header`, `id_header`,
//! `type_header`, `signature_encoding`, `authenticating_headers`) against what the schemes
//! actually sign and read. The other suites, and the end-to-end tests, take header names from
//! these methods rather than from tables of their own, so they must be true of the code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_signature::{Algorithm, CustomScheme, Encoding, Scheme};
use inlet_testkit::providers::{
    self, NOW, Signed, code, encoded_range, key, label, schemes, sign, signed,
};

/// Every scheme under test, and an `hmac` source that names its events by headers.
fn all() -> Vec<Scheme> {
    let mut custom = CustomScheme::new("x-signature", Algorithm::Sha256, Encoding::Hex);
    custom.id_header = Some("x-event-id");
    custom.type_header = Some("x-event-type");
    let mut all = schemes();
    all.push(Scheme::Hmac(Box::new(custom)));
    all
}

#[test]
fn signing_adds_the_signature_and_timestamp_headers_the_scheme_names() {
    for scheme in all() {
        let fresh = signed(&scheme);
        let name = scheme.signature_header().unwrap();
        assert!(fresh.headers.contains_key(&name), "{}", label(&scheme));
        assert_eq!(
            scheme
                .timestamp_header()
                .is_some_and(|t| fresh.headers.contains_key(t)),
            scheme.timestamp_header().is_some(),
            "{}",
            label(&scheme)
        );
        // Everything `sign` adds authenticates the delivery, and all of it is there.
        let unsigned = Signed {
            scheme: scheme.clone(),
            headers: providers::base_headers(&scheme),
            body: providers::body_at(&scheme, NOW),
            url: providers::url_for(&scheme),
        };
        let added = scheme
            .sign(&unsigned.delivery(), &key(&scheme), NOW)
            .unwrap();
        let authenticating = scheme.authenticating_headers();
        for (name, _) in &added {
            assert!(
                authenticating.contains(name),
                "{}: signs {name}, which authenticating_headers leaves out",
                label(&scheme)
            );
        }
        for name in &authenticating {
            assert!(
                fresh.headers.contains_key(name),
                "{}: no {name}",
                label(&scheme)
            );
        }
    }
}

#[test]
fn removing_an_authenticating_header_is_signature_missing() {
    for scheme in all() {
        for name in scheme.authenticating_headers() {
            let mut probe = signed(&scheme);
            probe.headers.remove(&name);
            assert_eq!(
                code(&probe.verify(&key(&scheme))),
                "signature_missing",
                "{} without {name}",
                label(&scheme)
            );
        }
    }
}

#[test]
fn a_timestamp_header_is_a_timestamp_the_window_applies_to() {
    for scheme in all() {
        let Some(name) = scheme.timestamp_header() else {
            continue;
        };
        assert!(scheme.has_timestamp(), "{}", label(&scheme));
        let mut stale = signed(&scheme);
        let old = providers::timestamp_text(&scheme, NOW - 3600);
        stale.set(name, HeaderValue::from_str(&old).unwrap());
        assert_eq!(
            code(&stale.verify(&key(&scheme))),
            "timestamp_out_of_tolerance",
            "{}",
            label(&scheme)
        );
    }
}

#[test]
fn the_signature_is_written_in_the_encoding_the_scheme_names() {
    for scheme in all() {
        let fresh = signed(&scheme);
        let text = fresh.signature();
        let encoded = &text[encoded_range(&scheme, &text)];
        let encoding = scheme.signature_encoding().unwrap();
        let bytes = encoding
            .decode("signature", encoded)
            .unwrap_or_else(|e| panic!("{}: {encoded:?} is not {encoding:?}: {e}", label(&scheme)));
        assert_eq!(encoding.encode(&bytes), encoded, "{}", label(&scheme));
        // An HMAC's length: 64 hex digits read as base64 would be 48 bytes, and base64 read as
        // hex (where it even decodes) half its length.
        assert!(
            [20, 32, 64].contains(&bytes.len()),
            "{}: {encoded:?} read as {encoding:?} is {} bytes",
            label(&scheme),
            bytes.len()
        );
    }
}

/// A delivery of `scheme` whose body names no event, with `headers` added before signing.
fn naming(scheme: &Scheme, headers: &[(HeaderName, &str)]) -> Signed {
    let mut map: HeaderMap = providers::base_headers(scheme);
    for (name, value) in headers {
        map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    let body = match scheme.name() {
        "twilio" => b"CallSid=CA1".to_vec(),
        // Linear's timestamp is all the body must hold.
        _ => format!("{{\"webhookTimestamp\":{},\"data\":{{}}}}", NOW * 1000).into_bytes(),
    };
    sign(
        scheme,
        map,
        body,
        providers::url_for(scheme),
        &key(scheme),
        NOW,
    )
}

#[test]
fn the_event_is_named_by_the_id_and_type_headers_the_scheme_names() {
    for scheme in all() {
        let mut headers = Vec::new();
        headers.extend(scheme.id_header().map(|name| (name, "facts-id-1")));
        headers.extend(scheme.type_header().map(|name| (name, "facts.type")));
        let verified = naming(&scheme, &headers)
            .verify(&key(&scheme))
            .unwrap_or_else(|e| panic!("{}: {e}", label(&scheme)));
        // The body names nothing, so whatever names the event came from those headers.
        match scheme.id_header() {
            Some(_) => assert_eq!(
                verified.event_id.as_deref(),
                Some("facts-id-1"),
                "{}",
                label(&scheme)
            ),
            None => assert_eq!(verified.event_id, None, "{}", label(&scheme)),
        }
        match scheme.type_header() {
            Some(_) => assert_eq!(
                verified.event_type.as_deref(),
                Some("facts.type"),
                "{}",
                label(&scheme)
            ),
            None => assert_eq!(verified.event_type, None, "{}", label(&scheme)),
        }
    }
}

#[test]
fn the_unsigned_scheme_names_no_headers() {
    assert_eq!(Scheme::None.signature_header(), None);
    assert_eq!(Scheme::None.signature_encoding(), None);
    assert!(Scheme::None.authenticating_headers().is_empty());
}
