//! API Gateway HTTP API events, payload format 2.0, as API Gateway hands them to Lambda.
//!
//! Fields are declared in the order AWS documents them and headers are sorted, so the files are
//! stable and read like the real thing. Ids that API Gateway would make up are derived from the
//! case name, so regenerating changes nothing that did not change.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const ACCOUNT_ID: &str = "123456789012";
const API_ID: &str = "k7n3xq1w2e";
const REGION: &str = "us-east-1";
pub const ROUTE_KEY: &str = "POST /webhooks/{source}";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiEvent {
    version: &'static str,
    route_key: String,
    raw_path: String,
    raw_query_string: String,
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<BTreeMap<&'static str, String>>,
    request_context: RequestContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    is_base64_encoded: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    account_id: &'static str,
    api_id: &'static str,
    domain_name: String,
    domain_prefix: &'static str,
    http: Http,
    request_id: String,
    route_key: String,
    stage: &'static str,
    time: String,
    time_epoch: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Http {
    method: String,
    path: String,
    protocol: &'static str,
    source_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
}

/// An HTTP request as it reaches API Gateway.
#[derive(Debug)]
pub struct Request<'a> {
    /// Seeds the ids API Gateway would assign.
    pub id_seed: &'a str,
    pub method: &'a str,
    /// The `{source}` segment of `/webhooks/{source}`.
    pub source: &'a str,
    /// `$default` routes carry no path parameters; the function falls back to the raw path.
    pub route_key: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub force_base64: bool,
    pub source_ip: &'a str,
    /// Seconds since the epoch.
    pub received_at: i64,
}

pub fn domain_name() -> String {
    format!("{API_ID}.execute-api.{REGION}.amazonaws.com")
}

/// Whether API Gateway passes a body of this type as text; anything else (form posts included)
/// reaches the function base64-encoded.
fn is_text_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("/json")
        || mime.ends_with("+json")
        || mime.ends_with("/xml")
        || mime.ends_with("+xml")
        || mime.ends_with("/javascript")
}

/// `22/Nov/2026:13:00:00 +0000`, API Gateway's `time`.
fn clf_time(epoch: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // `YYYY-MM-DDTHH:MM:SSZ`
    let iso = inlet_signature::clock::format_rfc3339_secs(epoch);
    let month = iso
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{}/{month}/{}:{} +0000",
        iso.get(8..10).unwrap_or_default(),
        iso.get(0..4).unwrap_or_default(),
        iso.get(11..19).unwrap_or_default()
    )
}

impl Request<'_> {
    pub fn event(&self) -> HttpApiEvent {
        let digest = inlet_signature::sha256(self.id_seed.as_bytes());
        let request_id = format!("{}=", URL_SAFE_NO_PAD.encode(&digest[..11]));
        let mut trace = format!("Root=1-{:08x}-", self.received_at);
        for byte in &digest[11..23] {
            let _ = write!(trace, "{byte:02x}");
        }

        let mut headers = BTreeMap::new();
        for (name, value) in self.headers {
            // HTTP APIs lower-case header names and join repeated ones with commas.
            headers
                .entry(name.to_ascii_lowercase())
                .and_modify(|joined: &mut String| {
                    joined.push(',');
                    joined.push_str(value);
                })
                .or_insert_with(|| value.clone());
        }
        if !self.body.is_empty() {
            headers.insert("content-length".into(), self.body.len().to_string());
        }
        headers.insert("host".into(), domain_name());
        headers.insert("x-amzn-trace-id".into(), trace);
        headers.insert("x-forwarded-for".into(), self.source_ip.to_owned());
        headers.insert("x-forwarded-port".into(), "443".into());
        headers.insert("x-forwarded-proto".into(), "https".into());

        let text = std::str::from_utf8(self.body)
            .ok()
            .filter(|_| !self.force_base64)
            .filter(|_| is_text_type(headers.get("content-type").map(String::as_str)));
        let (body, is_base64_encoded) = match text {
            _ if self.body.is_empty() => (None, false),
            Some(text) => (Some(text.to_owned()), false),
            None => (Some(STANDARD.encode(self.body)), true),
        };

        let path = format!("/webhooks/{}", self.source);
        let path_parameters = (self.route_key != "$default")
            .then(|| BTreeMap::from([("source", self.source.to_owned())]));
        HttpApiEvent {
            version: "2.0",
            route_key: self.route_key.to_owned(),
            raw_path: path.clone(),
            raw_query_string: String::new(),
            path_parameters,
            request_context: RequestContext {
                account_id: ACCOUNT_ID,
                api_id: API_ID,
                domain_name: domain_name(),
                domain_prefix: API_ID,
                http: Http {
                    method: self.method.to_owned(),
                    path,
                    protocol: "HTTP/1.1",
                    source_ip: self.source_ip.to_owned(),
                    user_agent: headers.get("user-agent").cloned(),
                },
                request_id,
                route_key: self.route_key.to_owned(),
                stage: "$default",
                time: clf_time(self.received_at),
                time_epoch: self.received_at.saturating_mul(1000),
            },
            headers,
            body,
            is_base64_encoded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_are_the_ones_api_gateway_passes_through() {
        for text in [
            "application/json; charset=utf-8",
            "text/csv",
            "application/cloudevents+json",
        ] {
            assert!(is_text_type(Some(text)), "{text}");
        }
        for binary in [
            "application/x-www-form-urlencoded",
            "application/octet-stream",
        ] {
            assert!(!is_text_type(Some(binary)), "{binary}");
        }
        assert!(!is_text_type(None));
    }

    #[test]
    fn time_is_in_common_log_format() {
        assert_eq!(clf_time(1_795_352_400), "22/Nov/2026:13:00:00 +0000");
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
    }
}
