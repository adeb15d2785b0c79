//! Every published vector under `tests/data/vectors/` (one file per provider) gets its published
//! verdict; each valid one fails once its body or its secret changes; `sign` reproduces each one
//! whose signature is deterministic. Unit tests, so a provider's vectors run with the crate alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{Delivery, Key, Scheme, SignatureError, Verified, Window, clock};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    name: String,
    scheme: String,
    /// Where the vector was published: documentation page or SDK test file.
    source: String,
    /// What verifies: the shared secret, or the provider's public key in its published format.
    secret: String,
    /// The private key, for a provider that signs with one.
    #[serde(default)]
    signing_secret: Option<String>,
    body: String,
    headers: BTreeMap<String, String>,
    valid: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    now: Option<i64>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    query: Option<String>,
}

impl Vector {
    fn scheme(&self) -> Scheme {
        Scheme::named(&self.scheme)
            .unwrap_or_else(|| panic!("{}: unknown scheme {:?}", self.name, self.scheme))
    }

    fn key(&self) -> Key {
        self.scheme()
            .key(&self.secret)
            .unwrap_or_else(|e| panic!("{}: secret refused: {e}", self.name))
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("{}: header name {name:?}: {e}", self.name));
            let value = HeaderValue::from_str(value)
                .unwrap_or_else(|e| panic!("{}: header value {value:?}: {e}", self.name));
            headers.append(name, value);
        }
        headers
    }

    /// The clock: the vector's, else the delivery's own timestamp header (seconds, milliseconds
    /// or RFC 3339), else a fixed instant for schemes without a timestamp.
    fn now(&self) -> i64 {
        self.now.unwrap_or_else(|| {
            self.headers
                .iter()
                .filter(|(name, _)| name.to_ascii_lowercase().ends_with("timestamp"))
                .find_map(|(_, value)| {
                    value
                        .parse::<i64>()
                        .ok()
                        .map(|n| if n > 100_000_000_000 { n / 1000 } else { n })
                        .or_else(|| clock::parse_rfc3339(value))
                })
                .unwrap_or(1_763_816_400)
        })
    }

    fn delivery<'a>(&'a self, headers: &'a HeaderMap, body: &'a [u8]) -> Delivery<'a> {
        Delivery {
            headers,
            body,
            url: self.url.as_deref(),
            method: self.method.as_deref().unwrap_or("POST"),
            query: self.query.as_deref(),
        }
    }

    fn verify_with(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        keys: &[Key],
    ) -> Result<Verified, SignatureError> {
        let window = Window {
            now: self.now(),
            tolerance_secs: 300,
        };
        self.scheme()
            .verify(&self.delivery(headers, body), keys, window)
    }
}

fn vectors() -> Vec<Vector> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors");
    let mut all = Vec::new();
    // A missing directory must fail: skipping would pass with nothing checked.
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let file: VectorFile = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not the expected JSON: {e}", path.display()));
        assert!(!file.vectors.is_empty(), "{} holds none", path.display());
        for vector in &file.vectors {
            assert!(!vector.source.is_empty(), "{}: no source", vector.name);
        }
        all.extend(file.vectors);
    }
    assert!(!all.is_empty());
    all
}

fn code(result: &Result<Verified, SignatureError>) -> &'static str {
    match result {
        Ok(_) => "valid",
        Err(e) => e.code(),
    }
}

#[test]
fn every_published_vector_gets_its_published_verdict() {
    let mut failures = Vec::new();
    for vector in vectors() {
        let result = vector.verify_with(&vector.headers(), vector.body.as_bytes(), &[vector.key()]);
        let ok = match (&result, vector.valid, &vector.reason) {
            (Ok(_), true, _) => true,
            (Err(e), false, Some(reason)) => e.code() == reason,
            (Err(_), false, None) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{} ({}): expected {} {:?}, got {} ({result:?})",
                vector.name,
                vector.scheme,
                if vector.valid { "valid" } else { "rejected" },
                vector.reason,
                code(&result)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "vectors failed:\n{}",
        failures.join("\n")
    );
}

/// Were verification to accept anything, the valid vectors alone would still pass: a changed body
/// or another secret must turn each into a rejection.
#[test]
fn published_valid_vectors_fail_once_body_or_secret_changes() {
    for vector in vectors().into_iter().filter(|v| v.valid) {
        let headers = vector.headers();
        let mut body = vector.body.clone().into_bytes();
        match body.last_mut() {
            Some(last) => *last ^= 0x01,
            None => body.push(b'x'),
        }
        let scheme = vector.scheme();
        if scheme.signs_body() {
            let tampered = vector.verify_with(&headers, &body, &[vector.key()]);
            assert!(tampered.is_err(), "{}: tampered body accepted", vector.name);
        }

        let provider = scheme.provider().unwrap();
        let stranger = scheme
            .key(&provider.secrets_for_seed(b"someone else entirely").verify)
            .unwrap();
        let result = vector.verify_with(&headers, vector.body.as_bytes(), &[stranger]);
        assert!(result.is_err(), "{}: another key accepted", vector.name);
    }
}

/// `sign` reproduces what the providers published, where a signature is deterministic (HMAC and
/// ed25519; ECDSA signatures are randomised, so those are checked by verifying instead).
#[test]
fn sign_reproduces_every_published_valid_vector() {
    for vector in vectors().into_iter().filter(|v| v.valid) {
        let scheme = vector.scheme();
        let signing = match (&vector.signing_secret, scheme.is_asymmetric()) {
            (Some(secret), _) => scheme.signing_key(secret).unwrap(),
            (None, false) => vector.key(),
            (None, true) => continue,
        };
        let headers = vector.headers();
        let delivery = vector.delivery(&headers, vector.body.as_bytes());
        let added = scheme
            .sign(&delivery, &signing, vector.now())
            .unwrap_or_else(|e| panic!("{}: {e}", vector.name));
        assert!(!added.is_empty(), "{}: sign added nothing", vector.name);
        let deterministic = !matches!(signing.0, crate::key::Material::P256Private(_));
        let mut signed = headers.clone();
        for (name, value) in added {
            if deterministic {
                assert_eq!(
                    headers.get(&name),
                    Some(&value),
                    "{}: sign's {name} differs from the published one",
                    vector.name
                );
            }
            signed.insert(name, value);
        }
        vector
            .verify_with(&signed, vector.body.as_bytes(), &[vector.key()])
            .unwrap_or_else(|e| panic!("{}: what sign made does not verify: {e}", vector.name));
    }
}

/// Whether a vector was published (a provider's documentation or official SDK) rather than
/// computed here from the documented rules, as its `source` says.
fn published(source: &str) -> bool {
    !["computed", "derived", "the "]
        .iter()
        .any(|word| source.starts_with(word))
}

/// Every provider has a vector that verifies and a tampered one that does not, and its row says
/// truly whether any of its vectors was published.
#[test]
fn every_provider_has_its_vectors_and_says_truly_whether_they_are_official() {
    let all = vectors();
    let mut failures = Vec::new();
    for provider in crate::registry::all() {
        let own: Vec<&Vector> = all
            .iter()
            .filter(|v| {
                v.scheme()
                    .provider()
                    .is_some_and(|p| p.name == provider.name)
            })
            .collect();
        if !own.iter().any(|v| v.valid) || !own.iter().any(|v| !v.valid) {
            failures.push(format!(
                "{}: needs a valid and a tampered vector",
                provider.name
            ));
        }
        let official = own.iter().any(|v| published(&v.source));
        if official != provider.official_vectors {
            failures.push(format!(
                "{}: official_vectors is {}, its vectors say {official}",
                provider.name, provider.official_vectors
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
