//! URLs in the config (a source's `url`, a forward's `url`, an SQS `queue_url`): http(s) with a
//! host.

use super::error::{Problem, invalid};

pub(super) fn validate_url(key: &str, text: &str) -> Result<(), Problem> {
    let url = url::Url::parse(text).map_err(|e| invalid(key, format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(invalid(key, "must be an http(s) URL with a host"));
    }
    Ok(())
}
