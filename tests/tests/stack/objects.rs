//! The S3 adapter and the claim check's reads on the emulator's S3, through the real SDK: the
//! bucket the local stack provisions, bodies byte for byte, every page of a listing, a missing
//! key, an unreachable store, a reference to another bucket refused unread, and a copy inside S3
//! (within the bucket, from another one, of a key that must be percent-encoded, of nothing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_aws::S3Objects;
use inlet_core::claims::{self, BodyRef};
use inlet_core::ports::{ObjectStore, ObjectStoreError};
use inlet_local::{self as local, StackSettings};
use inlet_testkit::Emulator;

struct Rig {
    emulator: Emulator,
    s3: aws_sdk_s3::Client,
    objects: S3Objects,
}

async fn rig() -> Rig {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let s3 = inlet_aws::s3_client(&sdk);
    let settings = StackSettings::default();
    let stack = local::provision(
        &aws_sdk_sqs::Client::new(&sdk),
        &aws_sdk_dynamodb::Client::new(&sdk),
        &s3,
        &settings,
    )
    .await
    .unwrap();
    assert_eq!(stack.bucket_name, "inlet-payloads");
    // Provisioning again finds the bucket it made.
    local::provision(
        &aws_sdk_sqs::Client::new(&sdk),
        &aws_sdk_dynamodb::Client::new(&sdk),
        &s3,
        &settings,
    )
    .await
    .unwrap();
    let objects = S3Objects::new(s3.clone(), stack.bucket_name);
    Rig {
        emulator,
        s3,
        objects,
    }
}

/// 3 MB that is not UTF-8, so nothing on the way may treat it as text.
fn large_body() -> Vec<u8> {
    (0..3_000_000u32)
        .map(|i| u8::try_from(i.wrapping_mul(2_654_435_761) >> 24).unwrap())
        .collect()
}

#[tokio::test]
async fn objects_round_trip_and_list_every_page() {
    let rig = rig().await;
    let body = large_body();
    let key = claims::object_key("github", "github#d1", &body, 1_795_352_400_000);
    let reference = claims::store(&rig.objects, key, &body).await.unwrap();
    assert_eq!(reference.bucket, "inlet-payloads");
    assert_eq!(claims::fetch(&rig.objects, &reference).await.unwrap(), body);

    // S3 pages listings at 1000 keys: the adapter follows every page, in key order.
    // Twenty at a time: moto serves one request after another.
    let keys: Vec<String> = (0..1003).map(|i| format!("archive/{i:05}")).collect();
    for chunk in keys.chunks(20) {
        let puts = chunk
            .iter()
            .map(|key| rig.objects.put(key, vec![1], "application/gzip"));
        for put in futures_util::future::join_all(puts).await {
            put.unwrap();
        }
    }
    let listed = rig.objects.list("archive/").await.unwrap();
    assert_eq!(listed.len(), 1003);
    assert!(listed.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(listed[0], "archive/00000");
    assert_eq!(
        rig.objects.list("nothing/").await.unwrap(),
        Vec::<String>::new()
    );

    claims::discard(&rig.objects, &reference).await;
    assert_eq!(
        rig.objects.get(&reference.key).await,
        Err(ObjectStoreError::NotFound(reference.key.clone()))
    );
    assert_eq!(
        claims::fetch(&rig.objects, &reference)
            .await
            .unwrap_err()
            .code(),
        "payload_missing"
    );
    // Deleting what is not there succeeds, as S3 answers it.
    rig.objects.delete(&reference.key).await.unwrap();
}

/// Length and SHA-256: a failed comparison must not print megabytes.
fn digest(bytes: &[u8]) -> (usize, String) {
    let sha = inlet_signature::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (bytes.len(), sha)
}

#[tokio::test]
async fn copy_moves_the_bytes_inside_s3_within_and_across_buckets() {
    let rig = rig().await;
    let body = large_body();
    let source = "claims/github/1795352400000-copy";
    rig.objects
        .put(source, body.clone(), "application/octet-stream")
        .await
        .unwrap();

    // Within the store's bucket: the copy is the bytes, and the source stays.
    let kept = "archive/bodies/github/1795352400000-copy";
    rig.objects
        .copy("inlet-payloads", source, kept)
        .await
        .unwrap();
    assert_eq!(
        digest(&rig.objects.get(kept).await.unwrap()),
        digest(&body),
        "the copy within the bucket"
    );
    assert_eq!(
        digest(&rig.objects.get(source).await.unwrap()),
        digest(&body),
        "the source after the copy"
    );

    // From another bucket into the store's: the copy lands in the store's bucket, not the
    // source's, and the source stays.
    const OTHER: &str = "inlet-archive-copy";
    local::create_bucket(&rig.s3, OTHER).await.unwrap();
    let archive = S3Objects::new(rig.s3.clone(), OTHER);
    archive.copy("inlet-payloads", source, kept).await.unwrap();
    assert_eq!(
        digest(&archive.get(kept).await.unwrap()),
        digest(&body),
        "the copy into {OTHER}"
    );
    // And back again, from the other bucket into the payload bucket under a new key.
    let adopted = "claims/github/1795352499999-adopted";
    rig.objects.copy(OTHER, kept, adopted).await.unwrap();
    assert_eq!(
        digest(&rig.objects.get(adopted).await.unwrap()),
        digest(&body),
        "the copy from {OTHER}"
    );
    assert_eq!(
        digest(&archive.get(kept).await.unwrap()),
        digest(&body),
        "the source in {OTHER} after the copy"
    );
    assert_eq!(
        archive.get(adopted).await,
        Err(ObjectStoreError::NotFound(adopted.into())),
        "nothing written to the source's bucket"
    );
    let listed = archive.list("").await.unwrap();
    assert_eq!(listed, [kept], "{OTHER} holds the one copy");
}

#[tokio::test]
async fn copy_of_a_key_that_needs_percent_encoding_takes_that_object_and_no_other() {
    let rig = rig().await;
    let body = large_body();
    // A space, `+`, `=`, `%`, `&` and characters outside ASCII: each must reach S3 encoded in
    // `CopySource`, which S3 decodes.
    let source = "claims/github/a b+c=d%41&é/ü€ 1.json";
    rig.objects
        .put(source, body.clone(), "application/octet-stream")
        .await
        .unwrap();
    // Decoys at the keys a wrong encoding would name instead: `+` read as a space, `%41` read
    // as `A`. A copy of either would not be the body.
    for decoy in [
        "claims/github/a b c=d%41&é/ü€ 1.json",
        "claims/github/a b+c=dA&é/ü€ 1.json",
    ] {
        rig.objects
            .put(decoy, b"decoy".to_vec(), "text/plain")
            .await
            .unwrap();
    }
    let key = "archive/bodies/github/a b+c=d%41&é/ü€ 1.json";
    rig.objects
        .copy("inlet-payloads", source, key)
        .await
        .unwrap();
    assert_eq!(
        digest(&rig.objects.get(key).await.unwrap()),
        digest(&body),
        "{key}"
    );
    // Listed under its own name, beside the source and the decoys.
    let listed = rig.objects.list("archive/bodies/").await.unwrap();
    assert_eq!(listed, [key]);
    assert_eq!(
        digest(&rig.objects.get(source).await.unwrap()),
        digest(&body),
        "the source after the copy"
    );
}

#[tokio::test]
async fn copy_of_a_missing_source_is_not_found_and_writes_nothing() {
    let rig = rig().await;
    let missing = "claims/github/1795352400000-gone";
    assert_eq!(
        rig.objects
            .copy("inlet-payloads", missing, "archive/bodies/github/gone")
            .await,
        Err(ObjectStoreError::NotFound(missing.into()))
    );
    assert_eq!(
        rig.objects.list("archive/").await.unwrap(),
        Vec::<String>::new()
    );
    // A source bucket that is not there is a fault someone can fix, not a missing body.
    let Err(ObjectStoreError::Unavailable(detail)) = rig
        .objects
        .copy(
            "inlet-no-such-bucket",
            missing,
            "archive/bodies/github/gone",
        )
        .await
    else {
        panic!("a missing source bucket is unavailable");
    };
    assert!(detail.starts_with("NoSuchBucket"), "{detail}");
}

#[tokio::test]
async fn a_reference_to_another_bucket_is_refused_and_nothing_is_read_from_it() {
    let rig = rig().await;
    rig.s3
        .create_bucket()
        .bucket("someone-elses-bucket")
        .send()
        .await
        .unwrap();
    let secret = b"not yours".to_vec();
    let elsewhere = S3Objects::new(rig.s3.clone(), "someone-elses-bucket");
    elsewhere
        .put("claims/github/x", secret.clone(), "text/plain")
        .await
        .unwrap();
    let hostile = BodyRef {
        bucket: "someone-elses-bucket".into(),
        key: "claims/github/x".into(),
        size: secret.len() as u64,
        sha256: inlet_signature::sha256(&secret)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    let error = claims::fetch(&rig.objects, &hostile).await.unwrap_err();
    assert_eq!(error.code(), "payload_ref_refused", "{error}");
    // Nor is the same key in our own bucket read in its place.
    assert_eq!(
        rig.objects.get("claims/github/x").await,
        Err(ObjectStoreError::NotFound("claims/github/x".into()))
    );
    claims::discard(&rig.objects, &hostile).await;
    assert_eq!(elsewhere.get("claims/github/x").await.unwrap(), secret);
}

#[tokio::test]
async fn an_unreachable_store_is_unavailable_not_missing() {
    let mut rig = rig().await;
    rig.emulator.stop();
    let error = claims::store(&rig.objects, "claims/github/y".into(), b"body")
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert_eq!(error.code(), "payload_store_unavailable");
    assert!(matches!(
        rig.objects.get("claims/github/y").await,
        Err(ObjectStoreError::Unavailable(_))
    ));
    assert!(matches!(
        rig.objects.list("claims/").await,
        Err(ObjectStoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_missing_bucket_is_unavailable_in_one_line() {
    let rig = rig().await;
    let gone = S3Objects::new(rig.s3.clone(), "inlet-no-such-bucket");
    let Err(ObjectStoreError::Unavailable(detail)) =
        gone.put("archive/x", b"x".to_vec(), "text/plain").await
    else {
        panic!("a missing bucket is a fault someone can fix: unavailable");
    };
    // The service's code and message, not the raw response the SDK's context repeats.
    assert_eq!(detail, "NoSuchBucket: The specified bucket does not exist");
}
