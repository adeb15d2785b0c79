//! A validated `[sources.<name>]`: how its deliveries are verified and what it accepts.

use super::event_filter::EventFilter;
use super::schemas::SourceSchemas;
use super::secret_ref::SecretRef;
use inlet_signature::Scheme;
use ipnet::IpNet;
use std::net::IpAddr;

/// A configured webhook source.
#[derive(Debug, Clone)]
pub struct Source {
    /// The `/webhooks/{source}` path segment.
    pub name: String,
    pub scheme: Scheme,
    /// Every one is tried, so a secret can be rotated without refusing deliveries.
    pub secrets: Vec<SecretRef>,
    pub events: Option<EventFilter>,
    pub tolerance_secs: u64,
    pub max_body_bytes: usize,
    /// Empty: anyone may post.
    pub allow_ips: Vec<IpNet>,
    /// The public URL providers post to, for schemes that sign it.
    pub url: Option<String>,
    /// The secret an unsigned handshake is checked against, for providers that have one (Meta's
    /// verify token, Asana's enrolment token).
    pub handshake_secret: Option<SecretRef>,
    /// JSON Schemas its deliveries are checked against, by event type; empty for most sources.
    pub schemas: SourceSchemas,
}

impl Source {
    /// Whether a sender may post here. A sender with no known address passes only an empty list:
    /// a restriction that cannot be checked is not met.
    pub fn ip_allowed(&self, ip: Option<IpAddr>) -> bool {
        if self.allow_ips.is_empty() {
            return true;
        }
        ip.is_some_and(|ip| self.allow_ips.iter().any(|net| net.contains(&ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(allow_ips: &[&str]) -> Source {
        Source {
            name: "a".into(),
            scheme: Scheme::named("github").unwrap(),
            secrets: vec![SecretRef::Env("A".into())],
            events: None,
            tolerance_secs: 300,
            max_body_bytes: 1024,
            allow_ips: allow_ips.iter().map(|net| net.parse().unwrap()).collect(),
            url: None,
            handshake_secret: None,
            schemas: SourceSchemas::default(),
        }
    }

    #[test]
    fn an_empty_allow_list_lets_anyone_post() {
        let open = source(&[]);
        assert!(open.ip_allowed(Some("198.51.100.1".parse().unwrap())));
        assert!(open.ip_allowed(None));
    }

    #[test]
    fn a_listed_network_lets_only_its_addresses_post() {
        let listed = source(&["203.0.113.0/24", "2001:db8::1/128"]);
        assert!(listed.ip_allowed(Some("203.0.113.9".parse().unwrap())));
        assert!(listed.ip_allowed(Some("2001:db8::1".parse().unwrap())));
        assert!(!listed.ip_allowed(Some("198.51.100.1".parse().unwrap())));
        assert!(!listed.ip_allowed(None));
    }
}
