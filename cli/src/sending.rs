//! Signing a delivery for a configured source and posting it: what `inlet send` and the samples
//! `inlet dev` sends to itself share.

use crate::error::CliError;
use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_core::config::Source;
use inlet_signature::{Delivery, Key};
use std::time::{Duration, SystemTime};

/// A delivery ready to post: the provider's headers, its signature headers, and the body.
#[derive(Debug, Clone)]
pub struct Signed {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Adds the signature headers `source` expects, made with `key` at `now`. A source without a
/// key (`scheme = "none"`) sends the delivery as it is.
pub fn sign(
    source: &Source,
    key: Option<&Key>,
    headers: &[(String, String)],
    body: Vec<u8>,
    now: i64,
) -> Result<Signed, CliError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = || CliError::Usage(format!("header {name:?}: not a valid name and value"));
        let name = HeaderName::try_from(name.as_str()).map_err(|_| bad())?;
        let value = HeaderValue::try_from(value.as_str()).map_err(|_| bad())?;
        map.append(name, value);
    }
    if let Some(key) = key {
        let added = source.scheme.sign(
            &Delivery {
                headers: &map,
                body: &body,
                url: source.url.as_deref(),
                method: "POST",
                query: None,
            },
            key,
            now,
        )?;
        for (name, value) in added {
            map.insert(name, value);
        }
    }
    Ok(Signed { headers: map, body })
}

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    inlet_signature::clock::epoch_millis(SystemTime::now()).div_euclid(1000)
}

/// An HTTP client for posting deliveries.
pub fn client(local_only: bool) -> Result<reqwest::Client, CliError> {
    let mut builder = inlet_core::actions::forward::http_client_builder()
        .user_agent(concat!("inlet-send/", env!("CARGO_PKG_VERSION")))
        // Longer than API Gateway's 30 s integration limit, so its own answer comes through.
        .timeout(Duration::from_secs(35))
        .redirect(reqwest::redirect::Policy::none());
    if local_only {
        // A proxy from the environment must not intercept a post to this machine.
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| CliError::Failed(format!("cannot build an HTTP client: {e}")))
}

/// Posts a signed delivery; the answer's status and body.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    signed: &Signed,
) -> Result<(reqwest::StatusCode, String), reqwest::Error> {
    let response = client
        .post(url)
        .headers(signed.headers.clone())
        .body(signed.body.clone())
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    Ok((status, text))
}

/// `base_url`'s endpoint for `source`, as API Gateway routes it.
pub fn webhook_url(base_url: &str, source: &str) -> String {
    format!("{base_url}/webhooks/{}", url_segment(source))
}

/// A source name as a URL path segment; config names are plain, but say so rather than trust it.
fn url_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect()
}
