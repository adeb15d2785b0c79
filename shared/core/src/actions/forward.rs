//! The forward destination: POST the body (the provider's bytes, or the route's transform of
//! them) to the agent's URL, signed the Standard Webhooks way with the event key as `webhook-id`
//! and the route as `inlet-route`, so the receiver can verify and deduplicate too; `traceparent`
//! (and the provider's `tracestate`) continue the event's trace.

use crate::actions::destination::{Delivering, Delivery, Destination};
use crate::actions::retry_after::retry_after_secs;
use crate::actions::{ActionError, answers};
use crate::metrics;
use crate::trace::{TRACEPARENT, TRACESTATE};
use inlet_signature::clock;
use inlet_signature::{Key, sign_outbound};
use std::time::{Duration, Instant, SystemTime};

/// Where every reqwest client Inlet builds starts. reqwest is compiled without a crypto provider
/// of its own and takes the process default, which this sets to ring, the one the SDK's client
/// uses. Installing fails only when a default is already set (by an earlier call, or user code
/// that chose another), and that one is then used.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// One HTTP client for the life of the function: connections are reused across events.
#[derive(Debug, Clone)]
pub struct Forwarder {
    client: reqwest::Client,
}

impl Forwarder {
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = http_client_builder()
            .user_agent(concat!("inlet/", env!("CARGO_PKG_VERSION")))
            // A redirect would resend a signed body somewhere not configured: treat it as an answer.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()?;
        Ok(Self { client })
    }

    pub async fn forward(
        &self,
        url: &str,
        key: &Key,
        timeout: Duration,
        delivery: &Delivery<'_>,
    ) -> Result<(), ActionError> {
        let envelope = delivery.event.envelope;
        let now = clock::epoch_millis(SystemTime::now()).div_euclid(1000);
        let mut request = self
            .client
            .post(url)
            .timeout(timeout)
            .body(delivery.body.to_vec());
        // The webhook-id is the key the event was claimed under: a replay's is
        // `replay:<id>:<key>`, so a receiver that deduplicates on webhook-id takes each replay
        // run once instead of dropping it as the original.
        let id = envelope.claim_key();
        for (name, value) in sign_outbound(key, &id, now, delivery.body) {
            request = request.header(name, value);
        }
        request = request
            .header("content-type", delivery.content_type())
            .header("inlet-source", envelope.source.as_str())
            // Several routes may reach one receiver with the same webhook-id: the route tells
            // their deliveries apart.
            .header("inlet-route", delivery.route);
        if let Some(event_type) = &envelope.event_type {
            request = request.header("inlet-event-type", event_type.as_str());
        }
        // The event's W3C trace, continued: the provider's trace id when it sent one.
        request = request.header(TRACEPARENT, delivery.event.trace().traceparent());
        if let Some(state) = &envelope.tracestate {
            request = request.header(TRACESTATE, state.as_str());
        }
        if let Some(replay) = &envelope.replay {
            // Tells the receiver this is `inlet replay` sending the event again, and which run.
            request = request.header("inlet-replay", replay.as_str());
        }
        let started = Instant::now();
        let response = request.send().await.map_err(|error| {
            // Connection failures and timeouts may pass on a later try.
            ActionError::Transient(format!(
                "forward to the target failed: {}",
                without_url(&error)
            ))
        })?;
        // Only answers are timed, whatever their status: a refused connection would drag the
        // figure toward zero and a timeout only repeats the configured limit; both are counted
        // as failed_transient instead.
        metrics::observe_forward_latency(started.elapsed());
        let status = response.status();
        // Read before the body is, which consumes the response; only a 429 or 503 uses it.
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| retry_after_secs(value, SystemTime::now()));
        if answers::capturing() {
            let (body, truncated) = answers::read_bounded(response).await;
            answers::keep(answers::TargetAnswer {
                status: status.as_u16(),
                body,
                truncated,
            });
        }
        classify(status, retry_after)
    }
}

/// One forward route's destination: the shared client, and where and how to send.
#[derive(Debug)]
pub struct ForwardTo {
    pub forwarder: Forwarder,
    pub url: String,
    pub key: Key,
    pub timeout: Duration,
}

impl Destination for ForwardTo {
    fn deliver<'a>(&'a self, delivery: Delivery<'a>) -> Delivering<'a> {
        Box::pin(async move {
            self.forwarder
                .forward(&self.url, &self.key, self.timeout, &delivery)
                .await
        })
    }
}

/// A URL may carry credentials in its query: keep it out of errors that get logged.
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request error"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// 2xx is done; 429 and 503 ask for less (throttled, at `retry_after` seconds, the target's
/// `Retry-After`, when it gave one); 408 and other 5xx may pass later; any other answer will not.
pub fn classify(status: reqwest::StatusCode, retry_after: Option<u64>) -> Result<(), ActionError> {
    let code = status.as_u16();
    match code {
        200..=299 => Ok(()),
        429 | 503 => Err(ActionError::Throttled {
            message: match retry_after {
                Some(secs) => format!("the target answered {code}, Retry-After {secs} s"),
                None => format!("the target answered {code}"),
            },
            retry_after_secs: retry_after,
        }),
        408 | 500..=599 => Err(ActionError::Transient(format!(
            "the target answered {code}"
        ))),
        _ => Err(ActionError::Permanent(format!(
            "the target answered {code}"
        ))),
    }
}
