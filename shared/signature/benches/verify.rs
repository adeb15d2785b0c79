//! Signature verification throughput: the HMAC over the body dominates, so this is compared
//! with `openssl speed -evp sha256` on the same machine (see `make bench`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::HeaderMap;
use inlet_signature::{Delivery, Window};
use inlet_testkit::providers::{self, NOW, named};
use std::hint::black_box;

fn verify_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for (label, size) in [("1KiB", 1024), ("64KiB", 64 * 1024), ("1MiB", 1024 * 1024)] {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        for scheme in [named("github"), named("stripe"), named("standard-webhooks")] {
            let key = scheme
                .key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .unwrap();
            let now = 1_795_352_400;
            let mut headers = HeaderMap::new();
            let unsigned = Delivery {
                headers: &headers,
                body: &body,
                url: None,
                method: "POST",
                query: None,
            };
            for (name, value) in scheme.sign(&unsigned, &key, now).unwrap() {
                headers.insert(name, value);
            }
            let delivery = Delivery {
                headers: &headers,
                body: &body,
                url: None,
                method: "POST",
                query: None,
            };
            let window = Window {
                now,
                tolerance_secs: 300,
            };
            let keys = [key];
            assert!(scheme.verify(&delivery, &keys, window).is_ok());
            group.bench_with_input(
                BenchmarkId::new(scheme.name(), label),
                &delivery,
                |b, delivery| b.iter(|| scheme.verify(black_box(delivery), &keys, window).is_ok()),
            );
        }
    }
    group.finish();
}

/// Every provider of the registry verifying its own 1 KiB delivery: what one request costs, asymmetric
/// ones included (an ed25519 or ECDSA check costs far more than an HMAC over 1 KiB).
fn verify_per_provider(c: &mut Criterion) {
    let mut group = c.benchmark_group("provider");
    for scheme in providers::registry_schemes() {
        let payload: String = (0..1024 - 200)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let body = providers::linear_body(NOW * 1000, &format!("\"{payload}\""));
        let signed = providers::sign(
            &scheme,
            providers::base_headers(&scheme),
            body.into_bytes(),
            providers::url_for(&scheme),
            &providers::signing_key(&scheme),
            NOW,
        );
        let keys = [providers::key(&scheme)];
        let delivery = signed.delivery();
        let window = providers::window(NOW);
        assert!(
            scheme.verify(&delivery, &keys, window).is_ok(),
            "{}",
            scheme.name()
        );
        group.bench_function(scheme.name(), |b| {
            b.iter(|| scheme.verify(black_box(&delivery), &keys, window).is_ok())
        });
    }
    group.finish();
}

criterion_group!(benches, verify_throughput, verify_per_provider);
criterion_main!(benches);
