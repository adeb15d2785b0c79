//! What the page can do to a delivery: post it again as it came, post it as a new event signed
//! afresh, and move or delete its dead letter.

use super::store::{Delivery, RouteStage, State};
use super::{Inspector, REPLAY_HEADER};
use crate::payload::EventId;
use crate::sending::{self, Signed};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use inlet_core::config::Config;
use inlet_local::{self as local, Selection};
use inlet_signature::Key;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why an action was refused or failed; each has its status and the code the page shows.
#[derive(Debug, thiserror::Error)]
pub(in crate::dev) enum ActionFailure {
    #[error("no delivery {0}")]
    NotFound(String),
    #[error(
        "only a dead-lettered delivery (or one with a dead-lettered route) can be redriven or \
         deleted; this one is {state}: {detail}"
    )]
    NotDeadLettered { state: &'static str, detail: String },
    #[error("its dead letter is no longer in the dead-letter queue: {0}")]
    Gone(String),
    #[error(
        "it is not in the dead-letter queue yet: SQS moves a record whose receives ran out only \
         once its last retry delay ends, at about {0}"
    )]
    NotYetInDeadLetterQueue(String),
    #[error(
        "its dead letter is no longer in the dead-letter queue: it was redriven or deleted \
         elsewhere (`inlet dlq`, or another inspector page)"
    )]
    MovedElsewhere,
    #[error("only {kept} of its {size} bytes were kept, so it cannot be sent again as it came")]
    BodyTruncated { kept: usize, size: usize },
    #[error("no source `{0}` in the config")]
    UnknownSource(String),
    #[error("cannot sign it again: {0}")]
    Sign(String),
    #[error("posting it failed: {0}")]
    Post(String),
    #[error("the queue failed: {0}")]
    Queue(String),
}

impl ActionFailure {
    pub(in crate::dev) fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::NotDeadLettered { .. }
            | Self::Gone(_)
            | Self::NotYetInDeadLetterQueue(_)
            | Self::MovedElsewhere
            | Self::BodyTruncated { .. }
            | Self::UnknownSource(_) => StatusCode::CONFLICT,
            Self::Sign(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Post(_) | Self::Queue(_) => StatusCode::BAD_GATEWAY,
        }
    }

    pub(in crate::dev) fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::NotDeadLettered { .. } => "not_dead_lettered",
            Self::Gone(_) => "gone",
            Self::NotYetInDeadLetterQueue(_) => "not_in_dead_letter_queue_yet",
            Self::MovedElsewhere => "moved_elsewhere",
            Self::BodyTruncated { .. } => "body_truncated",
            Self::UnknownSource(_) => "unknown_source",
            Self::Sign(_) => "cannot_sign",
            Self::Post(_) => "post_failed",
            Self::Queue(_) => "queue_failed",
        }
    }
}

/// What `inlet dlq` did to the dead-letter queue, told to the running inspector. Letters are
/// named by the message their delivery was first queued as (`origin_message_id`).
#[derive(Debug, Default, serde::Deserialize)]
pub(in crate::dev) struct DeadLetterChange {
    #[serde(default)]
    pub redriven: Vec<RedrivenLetter>,
    #[serde(default)]
    pub deleted: Vec<String>,
    #[serde(default)]
    pub by: String,
}

/// A dead letter sent back to the queue, and the message it is there now.
#[derive(Debug, serde::Deserialize)]
pub(in crate::dev) struct RedrivenLetter {
    pub origin: String,
    pub message_id: String,
}

/// What an action did: the delivery it made or changed, and anything worth saying.
#[derive(Debug)]
pub(in crate::dev) struct Done {
    pub delivery: String,
    pub status: Option<u16>,
    pub note: Option<String>,
}

/// Everything the actions need from the running stack.
#[derive(Debug)]
pub(in crate::dev) struct Actions {
    pub inspector: Inspector,
    /// Where ingest listens, `http://127.0.0.1:3000`.
    pub base_url: String,
    pub client: reqwest::Client,
    pub config: Config,
    /// Each source's signing key: its first secret (none for unsigned sources).
    pub keys: Vec<(String, Option<Key>)>,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    /// The stack's circuit breakers, as every process pipeline shares them (the stack's table):
    /// the page's destinations read them. `None`: none to read.
    pub guards: Option<std::sync::Arc<dyn inlet_core::ports::DeliveryGuards>>,
}

/// Headers a client sets for its own connection; the replay's client sets its own.
const CONNECTION_HEADERS: [&str; 5] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

impl Actions {
    fn delivery(&self, id: &str) -> Result<Delivery, ActionFailure> {
        self.inspector
            .store()
            .get(id)
            .cloned()
            .ok_or_else(|| ActionFailure::NotFound(id.to_owned()))
    }

    /// Posts the delivery again, byte for byte: the pipeline should see a copy of a known event.
    pub(in crate::dev) async fn replay(&self, id: &str) -> Result<Done, ActionFailure> {
        let delivery = self.delivery(id)?;
        let request = &delivery.request;
        if let Some(size) = request.body_truncated_from {
            return Err(ActionFailure::BodyTruncated {
                kept: request.body.len(),
                size,
            });
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            if CONNECTION_HEADERS.contains(&name.as_str()) {
                continue;
            }
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                headers.append(name, value);
            }
        }
        let signed = Signed {
            headers,
            body: request.body.clone(),
        };
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| ActionFailure::Post(e.to_string()))?;
        self.post(id, method, &self.url_of(&delivery), signed, None)
            .await
    }

    /// Posts the delivery as a new event: a fresh event id wherever the old one appears, signed
    /// now with the source's key, so the pipeline runs its action again.
    pub(in crate::dev) async fn replay_new(&self, id: &str) -> Result<Done, ActionFailure> {
        let delivery = self.delivery(id)?;
        let request = &delivery.request;
        if let Some(size) = request.body_truncated_from {
            return Err(ActionFailure::BodyTruncated {
                kept: request.body.len(),
                size,
            });
        }
        let source = self
            .config
            .source(&delivery.source)
            .ok_or_else(|| ActionFailure::UnknownSource(delivery.source.clone()))?;
        let key = self
            .keys
            .iter()
            .find(|(name, _)| *name == source.name)
            .and_then(|(_, key)| key.as_ref());
        // The signature is made again; the old one (and its timestamp) must not linger.
        let dropped: Vec<String> = [
            source.scheme.signature_header(),
            source.scheme.timestamp_header(),
        ]
        .into_iter()
        .flatten()
        .map(|h| h.as_str().to_owned())
        .collect();
        let fresh = delivery
            .event_id
            .as_deref()
            .map(|old| (old, fresh_like(old)));
        let swap = |text: &str| match &fresh {
            Some((old, new)) if !old.is_empty() => text.replace(old, new),
            _ => text.to_owned(),
        };
        let mut replaced = false;
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .filter(|(name, _)| {
                !CONNECTION_HEADERS.contains(&name.as_str()) && !dropped.contains(name)
            })
            .map(|(name, value)| {
                let swapped = swap(value);
                replaced |= swapped != *value;
                (name.clone(), swapped)
            })
            .collect();
        let body = match std::str::from_utf8(&request.body) {
            Ok(text) => {
                let swapped = swap(text);
                replaced |= swapped != text;
                swapped.into_bytes()
            }
            Err(_) => request.body.clone(),
        };
        let signed = sending::sign(source, key, &headers, body, sending::now_secs())
            .map_err(|e| ActionFailure::Sign(e.to_string()))?;
        let note = (!replaced && fresh.is_some()).then(|| {
            "its event id appears nowhere in the request (it is the body's hash), so the copy \
             keeps its key"
                .to_owned()
        });
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| ActionFailure::Post(e.to_string()))?;
        self.post(id, method, &self.url_of(&delivery), signed, note)
            .await
    }

    fn url_of(&self, delivery: &Delivery) -> String {
        let request = &delivery.request;
        match &request.query {
            Some(query) => format!("{}{}?{query}", self.base_url, request.path),
            None => format!("{}{}", self.base_url, request.path),
        }
    }

    /// Posts to ingest, marked so the server can say which delivery it became.
    async fn post(
        &self,
        of: &str,
        method: reqwest::Method,
        url: &str,
        mut signed: Signed,
        note: Option<String>,
    ) -> Result<Done, ActionFailure> {
        static REPLAYS: AtomicU64 = AtomicU64::new(0);
        let token = format!("{of}.{}", REPLAYS.fetch_add(1, Ordering::Relaxed));
        if let Ok(value) = HeaderValue::try_from(token.as_str()) {
            signed
                .headers
                .insert(HeaderName::from_static(REPLAY_HEADER), value);
        }
        let response = self
            .client
            .request(method, url)
            .headers(signed.headers)
            .body(signed.body)
            .send()
            .await
            .map_err(|e| ActionFailure::Post(e.to_string()))?;
        let status = response.status().as_u16();
        // The server records the delivery before it answers.
        let delivery = self.inspector.replayed_as(&token).ok_or_else(|| {
            ActionFailure::Post(format!("{url} answered {status} but recorded nothing"))
        })?;
        Ok(Done {
            delivery,
            status: Some(status),
            note,
        })
    }

    /// Moves the delivery's own dead letter back to the queue, where process takes it afresh:
    /// this copy only, as `inlet dlq redrive --key` moves every copy of the event.
    pub(in crate::dev) async fn redrive(&self, id: &str) -> Result<Done, ActionFailure> {
        let origin = self.dead_letter_of(id)?;
        let moved = local::redrive_selected(
            &self.sqs,
            &self.dead_letter_queue_url,
            &self.queue_url,
            Selection::Origin(&origin),
            false,
            &mut |_| {},
        )
        .await
        .map_err(|e| ActionFailure::Queue(e.to_string()))?;
        if moved.is_empty() {
            return Err(self.not_there(id));
        }
        for copy in &moved {
            self.inspector
                .redriven(&origin, &copy.message_id, "the inspector");
        }
        Ok(Done {
            delivery: id.to_owned(),
            status: None,
            note: (moved.len() > 1).then(|| format!("{} copies of its dead letter", moved.len())),
        })
    }

    /// Deletes the delivery's own dead letter for good.
    pub(in crate::dev) async fn delete(&self, id: &str) -> Result<Done, ActionFailure> {
        let origin = self.dead_letter_of(id)?;
        let deleted = local::delete(
            &self.sqs,
            &self.dead_letter_queue_url,
            Selection::Origin(&origin),
            false,
            &mut |_| {},
        )
        .await
        .map_err(|e| ActionFailure::Queue(e.to_string()))?;
        if deleted.is_empty() {
            return Err(self.not_there(id));
        }
        self.inspector.deleted(&origin, "the inspector");
        Ok(Done {
            delivery: id.to_owned(),
            status: None,
            note: None,
        })
    }

    /// Applies what `inlet dlq` reports it did to the dead-letter queue. Returns how many
    /// deliveries it changed.
    pub(in crate::dev) fn dead_letters_changed(&self, change: &DeadLetterChange) -> usize {
        // Shown on the page: a short label, whatever a caller sent.
        let by: String = change.by.chars().take(40).collect();
        let redriven = change.redriven.iter().filter_map(|letter| {
            self.inspector
                .redriven(&letter.origin, &letter.message_id, &by)
        });
        let deleted = change
            .deleted
            .iter()
            .filter_map(|origin| self.inspector.deleted(origin, &by));
        redriven.count() + deleted.count()
    }

    /// The origin message of a dead-lettered delivery whose dead letter should be in the queue:
    /// the whole delivery's, or that of routes that failed for good while others are retried.
    fn dead_letter_of(&self, id: &str) -> Result<String, ActionFailure> {
        let delivery = self.delivery(id)?;
        let dead_route = delivery.state.is_waiting()
            && delivery
                .routes
                .iter()
                .any(|r| r.state == RouteStage::DeadLettered);
        if delivery.state != State::DeadLettered && !dead_route {
            return Err(ActionFailure::NotDeadLettered {
                state: delivery.state.name(),
                detail: delivery.state_detail,
            });
        }
        if delivery.gone {
            return Err(ActionFailure::Gone(delivery.state_detail));
        }
        delivery
            .message_id
            .ok_or_else(|| ActionFailure::Gone("it was recorded by an older inlet dev".into()))
    }

    /// Why a dead-lettered delivery's letter was not found: SQS has yet to move it, or something
    /// else moved it first (then the delivery says so from now on).
    fn not_there(&self, id: &str) -> ActionFailure {
        let due = self
            .inspector
            .store()
            .get(id)
            .and_then(|d| d.dead_letter_at.clone())
            .filter(|at| {
                inlet_signature::clock::parse_rfc3339(at)
                    .is_some_and(|secs| secs > crate::sending::now_secs())
            });
        if let Some(at) = due {
            return ActionFailure::NotYetInDeadLetterQueue(at);
        }
        let failure = ActionFailure::MovedElsewhere;
        self.inspector
            .left_dead_letter_queue(id, failure.to_string());
        failure
    }
}

/// A new event id shaped like `old`: a UUID for a UUID, hex or digits of the same length, and
/// otherwise the same prefix (`evt_`) before new hex, so the provider's format still holds.
pub(in crate::dev) fn fresh_like(old: &str) -> String {
    let fresh = EventId::fresh();
    let digest = inlet_signature::sha256(fresh.hex().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let is_uuid = old.len() == 36
        && old.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if is_uuid {
        let uuid = fresh.uuid();
        return if old.chars().any(|c| c.is_ascii_uppercase()) {
            uuid.to_uppercase()
        } else {
            uuid
        };
    }
    let of_length = |alphabet: &dyn Fn(u8) -> char, n: usize| -> String {
        digest
            .iter()
            .chain(digest.iter().rev())
            .cycle()
            .take(n.max(8))
            .map(|b| alphabet(*b))
            .collect()
    };
    if !old.is_empty() && old.chars().all(|c| c.is_ascii_digit()) {
        // No leading zero: an id read as a number keeps its length.
        let digits = of_length(&|b| char::from(b'0' + b % 10), old.len());
        return format!("{}{}", char::from(b'1' + digest[0] % 9), &digits[1..]);
    }
    if !old.is_empty() && old.chars().all(|c| c.is_ascii_hexdigit()) && old.len() <= hex.len() {
        return hex[..old.len()].to_owned();
    }
    // The prefix is what names the kind of id: up to a separator (`evt_`), else the leading
    // letters (Slack's `Ev`).
    let cut = old.rfind(['_', '-', ':', '.']).map_or_else(
        || old.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(0),
        |i| i + 1,
    );
    let (prefix, rest) = old.split_at(cut);
    let tail = hex.get(..rest.len().clamp(8, hex.len())).unwrap_or(&hex);
    format!("{prefix}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_id_keeps_the_shape_of_the_old_one() {
        let uuid = fresh_like("72d3162e-cc78-11e3-81ab-4c9367dc0958");
        assert_eq!(uuid.len(), 36);
        assert_ne!(uuid, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        assert_eq!(uuid.matches('-').count(), 4);
        let stripe = fresh_like("evt_1NG8Du2eZvKYlo2CUI79vXWy");
        assert!(stripe.starts_with("evt_"), "{stripe}");
        assert_ne!(stripe, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
        let digits = fresh_like("820982911946154508");
        assert_eq!(digits.len(), 18);
        assert!(digits.chars().all(|c| c.is_ascii_digit()));
        assert!(!digits.starts_with('0'));
        let hex = fresh_like("0123abcd");
        assert_eq!(hex.len(), 8);
        let slack = fresh_like("Ev18ec380382189b030000585f00000007");
        assert!(slack.starts_with("Ev"), "{slack}");
        assert_eq!(slack.len(), 34);
        assert_ne!(fresh_like("a-1"), fresh_like("a-1"));
    }
}
