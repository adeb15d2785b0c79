//! The envelope: what ingest puts on the queue and process takes off it
//! (architecture.md § Envelope).

use crate::trace::{self, TraceContext};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const VERSION: u8 = 1;

/// One verified delivery, as queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u8,
    /// The idempotency key: `{source}#{event id}`.
    pub key: String,
    pub source: String,
    pub scheme: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    pub event_id: String,
    /// RFC 3339, milliseconds, UTC.
    pub received_at: String,
    /// Only what an action needs: never signature headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The raw body when it is UTF-8 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The raw body, base64, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_b64: Option<String>,
    /// Set only by `inlet replay`: the replay run's id. Such an envelope is claimed under
    /// `replay:<id>:<key>` ([`Envelope::claim_key`]), so its action runs again, once per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    /// Instead of `body`/`body_b64`, when the envelope with its body would be over the queue's
    /// message limit: where ingest stored the body (a claim check, [`crate::claims`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_ref: Option<BodyRef>,
    /// Set by ingest when the body breaks its source's schema and the source's `on_invalid` is
    /// `dead_letter`: the first errors. Process dead-letters such an event as `schema_invalid`
    /// before any route runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_errors: Option<Vec<crate::schema::SchemaError>>,
    /// Ingest's span of the event's W3C trace ([`crate::trace`]): the provider's trace
    /// continued, or one ingest started. Process continues it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The provider's `tracestate`, passed on with its trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

/// Where a claim-checked body is, as the envelope carries it (`body_ref`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyRef {
    pub bucket: String,
    pub key: String,
    /// The body's length in bytes.
    pub size: u64,
    /// Hex SHA-256 of the body.
    pub sha256: String,
}

/// Why an envelope cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the envelope is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("envelope version {0} is not supported")]
    Version(u8),
    #[error("the envelope's body_b64 is not base64")]
    Body,
    #[error("the envelope's key does not match its source and event id")]
    Key,
    #[error("the envelope's replay id is not 1 to {MAX_REPLAY_ID} letters, digits, `-` or `_`")]
    Replay,
    #[error("the envelope carries both a body and a body_ref")]
    TwoBodies,
}

/// The longest replay id: it goes into claim keys and an HTTP header.
pub const MAX_REPLAY_ID: usize = 64;

/// Whether `id` can name a replay run: it ends up in the claim key and in the forward action's
/// `inlet-replay` header, so only characters that are safe in both.
pub fn valid_replay_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REPLAY_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Envelope {
    /// Stores the body as text when it is UTF-8 that SQS accepts, else as base64, so it survives
    /// byte for byte.
    pub fn set_body(&mut self, raw: &[u8]) {
        match std::str::from_utf8(raw) {
            Ok(text) if queue_safe(text) => {
                self.body = Some(text.to_owned());
                self.body_b64 = None;
            }
            _ => {
                self.body = None;
                self.body_b64 = Some(STANDARD.encode(raw));
            }
        }
    }

    /// The original body bytes, when the envelope carries them: one with a `body_ref` carries
    /// none, and its body is read with [`crate::claims`].
    pub fn body_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        match (&self.body, &self.body_b64) {
            (Some(text), _) => Ok(text.as_bytes().to_vec()),
            (None, Some(encoded)) => STANDARD.decode(encoded).map_err(|_| EnvelopeError::Body),
            (None, None) => Ok(Vec::new()),
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising plain strings and maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, EnvelopeError> {
        let envelope: Self = serde_json::from_str(text)?;
        if envelope.v != VERSION {
            return Err(EnvelopeError::Version(envelope.v));
        }
        if envelope.key != idempotency_key(&envelope.source, &envelope.event_id) {
            return Err(EnvelopeError::Key);
        }
        if envelope
            .replay
            .as_deref()
            .is_some_and(|id| !valid_replay_id(id))
        {
            return Err(EnvelopeError::Replay);
        }
        if envelope.body_ref.is_some() && (envelope.body.is_some() || envelope.body_b64.is_some()) {
            return Err(EnvelopeError::TwoBodies);
        }
        Ok(envelope)
    }

    /// The event's trace as ingest left it: from `traceparent`, or derived from the key when the
    /// envelope carries none (or one that does not read).
    pub fn trace(&self) -> TraceContext {
        trace::carried(self.traceparent.as_deref(), &self.key)
    }

    /// The message attributes ingest sets and process, `inlet dlq` and the queue's subscribers
    /// read: `source`, and `event_type` when there is one.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let mut attributes = vec![("source", self.source.clone())];
        if let Some(event_type) = &self.event_type {
            attributes.push(("event_type", event_type.clone()));
        }
        attributes
    }

    /// The key the idempotency store claims: the event key, or for a replayed event
    /// `replay:<id>:<key>`. Each replay run is its own namespace: the event's first run (and
    /// every other run) stays recorded as done, while this run's copies, however often SQS
    /// redelivers them or the replay is restarted, find this run's record.
    pub fn claim_key(&self) -> String {
        match &self.replay {
            Some(id) => format!("replay:{id}:{}", self.key),
            None => self.key.clone(),
        }
    }
}

/// Whether SQS accepts the text in a message: it refuses U+FFFE and U+FFFF (control characters
/// are escaped by JSON, and UTF-8 cannot hold surrogates).
pub(crate) fn queue_safe(text: &str) -> bool {
    !text.chars().any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

/// The bytes SQS counts against its message limit: the body, and each attribute's name, data
/// type (`String`) and value.
pub fn message_bytes(body: &str, attributes: &[(&str, String)]) -> usize {
    body.len()
        + attributes
            .iter()
            .map(|(name, value)| name.len() + "String".len() + value.len())
            .sum::<usize>()
}

/// `{source}#{event id}`: one namespace per source, so two providers' ids never collide.
pub fn idempotency_key(source: &str, event_id: &str) -> String {
    format!("{source}#{event_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            v: VERSION,
            key: "github#d1".into(),
            source: "github".into(),
            scheme: "github".into(),
            event_type: Some("push".into()),
            event_id: "d1".into(),
            received_at: "2026-11-22T13:00:00.123Z".into(),
            headers: BTreeMap::from([("x-github-event".into(), "push".into())]),
            body: None,
            body_b64: None,
            replay: None,
            body_ref: None,
            schema_errors: None,
            traceparent: None,
            tracestate: None,
        }
    }

    #[test]
    fn the_trace_is_the_one_carried_or_one_of_the_keys_own() {
        let mut envelope = sample();
        let keyed = envelope.trace();
        assert_eq!(keyed, sample().trace(), "the same key, the same trace");
        let carried = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        envelope.traceparent = Some(carried.into());
        assert_eq!(envelope.trace().traceparent(), carried);
        envelope.traceparent = Some("garbled".into());
        assert_eq!(envelope.trace(), keyed);
        let json = envelope.to_json();
        assert!(
            Envelope::from_json(&json).is_ok(),
            "a garbled trace is no reason to refuse"
        );
    }

    #[test]
    fn text_and_binary_bodies_survive_byte_for_byte() {
        for raw in [
            &b"{\"a\":\"\xc3\xa9\"}"[..],
            &[0xff, 0x00, 0xfe][..],
            &b""[..],
            "a\u{FFFF}b".as_bytes(),
        ] {
            let mut envelope = sample();
            envelope.set_body(raw);
            let back = Envelope::from_json(&envelope.to_json()).unwrap();
            assert_eq!(back.body_bytes().unwrap(), raw);
            assert_eq!(back, envelope);
            assert!(envelope.body.as_deref().is_none_or(queue_safe));
        }
    }

    #[test]
    fn the_wire_shape_is_the_designed_one() {
        let mut envelope = sample();
        envelope.set_body(b"{}");
        let json: serde_json::Value = serde_json::from_str(&envelope.to_json()).unwrap();
        assert_eq!(json["v"], 1);
        assert_eq!(json["key"], "github#d1");
        assert_eq!(json["body"], "{}");
        assert!(json.get("body_b64").is_none());
    }

    #[test]
    fn unreadable_envelopes_are_refused() {
        assert!(matches!(
            Envelope::from_json("{"),
            Err(EnvelopeError::Json(_))
        ));
        let mut wrong_version = sample();
        wrong_version.v = 2;
        assert!(matches!(
            Envelope::from_json(&wrong_version.to_json()),
            Err(EnvelopeError::Version(2))
        ));
        let mut forged_key = sample();
        forged_key.key = "stripe#d1".into();
        assert!(matches!(
            Envelope::from_json(&forged_key.to_json()),
            Err(EnvelopeError::Key)
        ));
        for bad in ["", "r 1", "r:1", "r\n1", &"r".repeat(MAX_REPLAY_ID + 1)] {
            let mut replayed = sample();
            replayed.replay = Some(bad.to_owned());
            assert!(
                matches!(
                    Envelope::from_json(&replayed.to_json()),
                    Err(EnvelopeError::Replay)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_reference_replaces_the_body_never_joins_it() {
        let mut envelope = sample();
        envelope.body_ref = Some(BodyRef {
            bucket: "inlet-payloads".into(),
            key: "claims/github/1-ab".into(),
            size: 3,
            sha256: "00".repeat(32),
        });
        let back = Envelope::from_json(&envelope.to_json()).unwrap();
        assert_eq!(back, envelope);
        envelope.set_body(b"{}");
        assert!(matches!(
            Envelope::from_json(&envelope.to_json()),
            Err(EnvelopeError::TwoBodies)
        ));
        envelope.set_body(&[0xff]);
        assert!(matches!(
            Envelope::from_json(&envelope.to_json()),
            Err(EnvelopeError::TwoBodies)
        ));
    }

    #[test]
    fn the_queue_counts_body_and_attributes() {
        let envelope = sample();
        let attributes = envelope.attributes();
        assert_eq!(
            attributes,
            [
                ("source", "github".to_owned()),
                ("event_type", "push".to_owned())
            ]
        );
        assert_eq!(
            message_bytes("{}", &attributes),
            2 + ("source".len() + 6 + 6) + ("event_type".len() + 6 + 4)
        );
    }

    #[test]
    fn a_replayed_event_is_claimed_in_its_run_s_namespace() {
        let mut envelope = sample();
        assert_eq!(envelope.claim_key(), "github#d1");
        assert!(!envelope.to_json().contains("replay"));
        envelope.replay = Some("r-20261128-ab12".into());
        let back = Envelope::from_json(&envelope.to_json()).unwrap();
        assert_eq!(back.claim_key(), "replay:r-20261128-ab12:github#d1");
        assert_eq!(back.key, "github#d1");
    }
}
