//! The archive's object store on S3: one bucket, and a client that reaches an emulator too.

use aws_sdk_s3::error::ProvideErrorMetadata;
use inlet_core::ports::{ObjectStore, ObjectStoreError};

/// An S3 client for `sdk`. An emulator (`AWS_ENDPOINT_URL`) gets path-style addressing: it
/// serves every bucket on its one host, where the default `bucket.host` names would not resolve.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// One S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Objects {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

/// Any S3 failure but a missing key: throttling, outages, timeouts and refusals (a missing
/// bucket, a denied permission) alike may pass once someone fixes them, so none is final here.
fn objects_unavailable<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> ObjectStoreError {
    // A service error's code and message say it all (`NoSuchBucket: The specified bucket does
    // not exist`); the SDK's full context repeats the raw response, headers and body included.
    let detail = match error.as_service_error() {
        Some(service) if service.code().is_some() => format!(
            "{}: {}",
            service.code().unwrap_or_default(),
            service.message().unwrap_or("no message")
        ),
        _ => aws_sdk_s3::error::DisplayErrorContext(error).to_string(),
    };
    ObjectStoreError::Unavailable(detail)
}

impl ObjectStore for S3Objects {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), ObjectStoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| objects_unavailable(&e))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(ObjectStoreError::NotFound(key.to_owned()));
            }
            Err(error) => return Err(objects_unavailable(&error)),
        };
        // A body cut off mid-stream is a failed read like any other, worth another try.
        let body = output.body.collect().await.map_err(|e| {
            ObjectStoreError::Unavailable(format!("reading `{key}` failed part way: {e}"))
        })?;
        Ok(body.into_bytes().to_vec())
    }

    async fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        key: &str,
    ) -> Result<(), ObjectStoreError> {
        // `CopySource` is `bucket/key` with the key URL-encoded; its slashes stay.
        const KEY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'/')
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let source = format!(
            "{source_bucket}/{}",
            percent_encoding::utf8_percent_encode(source_key, KEY)
        );
        match self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(source)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.code() == Some("NoSuchKey")) =>
            {
                Err(ObjectStoreError::NotFound(source_key.to_owned()))
            }
            Err(error) => Err(objects_unavailable(&error)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| objects_unavailable(&e))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
        let mut keys = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let output = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(|e| objects_unavailable(&e))?;
            keys.extend(
                output
                    .contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|object| object.key),
            );
            match output.next_continuation_token {
                Some(token) if output.is_truncated == Some(true) => continuation = Some(token),
                _ => break,
            }
        }
        // S3 lists in UTF-8 binary order already; sorting keeps the promise for any emulator.
        keys.sort();
        Ok(keys)
    }
}
