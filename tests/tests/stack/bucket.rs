//! Reading and writing the emulator's S3 with the SDK itself, as the suites check what the
//! pipeline stored without going through Inlet's own adapter.
#![allow(clippy::unwrap_used, clippy::panic)]

use aws_sdk_s3::Client;

/// Every key under `prefix` in `bucket` (one page: the suites hold a handful).
pub async fn keys(s3: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap_or_else(|e| panic!("list {bucket}/{prefix}: {}", inlet_local::one_line(&e)))
        .contents
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| o.key)
        .collect()
}

/// The bytes of `bucket/key`; panics, naming them, when there are none.
pub async fn get(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{bucket}/{key}: {}", inlet_local::one_line(&e)))
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

pub async fn put(s3: &Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {}", inlet_local::one_line(&e)));
}
