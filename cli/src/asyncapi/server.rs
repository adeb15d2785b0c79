//! `--server URL`: the deployment's base URL as an AsyncAPI 3.0 server, which splits it into
//! `protocol`, `host` (with any port) and `pathname`; the channels' addresses follow it.

use crate::error::CliError;
use serde_json::{Map, Value, json};

/// The key of the one server in the document's `servers`.
pub(super) const KEY: &str = "webhooks";

/// A base URL, split as a server object wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Server {
    pub protocol: String,
    pub host: String,
    /// The path before `/webhooks/…`, without a trailing `/`; `None` at the root.
    pub pathname: Option<String>,
}

impl Server {
    pub(super) fn to_value(&self) -> Value {
        let mut server = Map::new();
        server.insert("host".to_owned(), json!(self.host));
        server.insert("protocol".to_owned(), json!(self.protocol));
        if let Some(pathname) = &self.pathname {
            server.insert("pathname".to_owned(), json!(pathname));
        }
        server.insert(
            "description".to_owned(),
            json!("The deployment's API: providers POST to this base URL followed by a channel's address."),
        );
        Value::Object(server)
    }
}

/// `url` as a server: an http or https URL with a host and nothing after its path.
pub(super) fn parse(url: &str) -> Result<Server, CliError> {
    let bad = |why: &str| CliError::Usage(format!("--server {url:?}: {why}"));
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("expected an http or https URL"));
    }
    let Some(host) = parsed.host_str() else {
        return Err(bad("the URL has no host"));
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("a base URL carries no credentials"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("a base URL has no query or fragment"));
    }
    let host = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let path = parsed.path().trim_end_matches('/');
    Ok(Server {
        protocol: parsed.scheme().to_owned(),
        host,
        pathname: (!path.is_empty()).then(|| path.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_is_split_into_protocol_host_and_path() {
        let server = parse("https://abc.execute-api.eu-west-1.amazonaws.com/prod/").unwrap();
        assert_eq!(server.protocol, "https");
        assert_eq!(server.host, "abc.execute-api.eu-west-1.amazonaws.com");
        assert_eq!(server.pathname.as_deref(), Some("/prod"));
        let local = parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(local.host, "127.0.0.1:3000");
        assert_eq!(local.pathname, None);
    }

    #[test]
    fn other_urls_are_refused() {
        for url in [
            "ftp://example.com",
            "https://u:p@example.com",
            "https://example.com/?a=1",
            "not a url",
        ] {
            assert!(parse(url).is_err(), "{url}");
        }
    }
}
