//! Route destinations on AWS: one file per kind (`sqs`, `sns`, `eventbridge`), each a
//! [`Destination`] making exactly one AWS request per delivery, and [`AwsDestinations`], which
//! builds them for the router (`CloudDestinations`). Adding a kind (Lambda, Step Functions) is one
//! more file here and one more arm in `AwsDestinations`' `CloudDestinations::build`.
//!
//! What every kind shares lives in this file:
//!
//! - **Text bodies.** SQS and SNS carry text, and SQS refuses characters outside XML's
//!   (`#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`). A body that is not UTF-8,
//!   or holds such a character, is sent base64-encoded with the message attribute
//!   `content_transfer_encoding = base64`; every other body goes as it is, byte for byte.
//! - **Attributes.** `source`, `type` (the event type, left out when there is none, when empty,
//!   or when it holds a character SQS refuses: SNS and SQS refuse an empty attribute), `route`,
//!   `event_key` (the receiver's idempotency key: [`inlet_core::envelope::Envelope::claim_key`],
//!   `replay:<id>:<key>` for a replay), `content_type`, `replay` for a replayed event, and
//!   `traceparent` (the event's W3C trace, continued: [`inlet_core::trace`]).
//! - **FIFO ids.** The deduplication id is the hex SHA-256 of `claim_key + "\n" + route`: one per
//!   (event, route), so SQS and SNS FIFO drop a resend within their five-minute window. A message
//!   group taken from the event key is the key itself when SQS/SNS accept it (1 to 128 printable
//!   ASCII characters), else `sha256:` and the key's hex SHA-256.
//! - **Errors.** Throttling of any kind (a throttling code, or HTTP 429) is
//!   [`ActionError::Throttled`]; AWS's own failures (5xx), timeouts and connection failures are
//!   [`ActionError::Transient`]; access, validation, missing resources and KMS refusals are
//!   [`ActionError::Permanent`]. [`refused`] sorts every kind's refusals. Messages name the
//!   operation, the destination and AWS's error code, never the body.
//! - **Regions.** A queue URL, topic ARN or bus ARN in another region than the SDK config's gets a
//!   client for its own region (same HTTPS client, credentials and timeouts), since SQS, SNS and
//!   EventBridge take requests only in the resource's region. Not against an emulator
//!   (`AWS_ENDPOINT_URL`), which keeps everything in the one region it is asked in.

pub mod eventbridge;
pub mod sns;
pub mod sqs;

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use base64::Engine as _;
use inlet_core::actions::ActionError;
use inlet_core::actions::destination::{CloudDestinations, Delivery, Destination};
use inlet_core::config::Action;
use inlet_core::trace::TRACEPARENT;
use sha2::Digest as _;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

pub use eventbridge::EventBridgeDestination;
pub use sns::SnsDestination;
pub use sqs::SqsDestination;

/// Builds the AWS destinations of the config's routes, sharing one client per service.
///
/// The SQS client is the pipelines' own; SNS and EventBridge clients are built from the same
/// SDK config the first time a route needs one, so a config without such routes (and ingest)
/// never pays for them.
#[derive(Debug, Default)]
pub struct AwsDestinations {
    sdk: Option<aws_config::SdkConfig>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    sns: OnceLock<aws_sdk_sns::Client>,
    eventbridge: OnceLock<aws_sdk_eventbridge::Client>,
    /// Whether a destination in another region gets a client for its region: not against an
    /// emulator, or with clients given by hand.
    follow_regions: bool,
}

impl AwsDestinations {
    /// Every client built from `sdk`, when first needed.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sdk: Some(sdk.clone()),
            follow_regions: sdk.endpoint_url().is_none(),
            ..Self::default()
        }
    }

    /// Uses `client` for SQS routes (tests give a mocked one). Without an SDK config, a kind
    /// with no client given has no destination.
    pub fn with_sqs(mut self, client: aws_sdk_sqs::Client) -> Self {
        self.sqs = OnceLock::from(client);
        self
    }

    /// Uses `client` for SNS routes.
    pub fn with_sns(mut self, client: aws_sdk_sns::Client) -> Self {
        self.sns = OnceLock::from(client);
        self
    }

    /// Uses `client` for EventBridge routes.
    pub fn with_eventbridge(mut self, client: aws_sdk_eventbridge::Client) -> Self {
        self.eventbridge = OnceLock::from(client);
        self
    }

    fn client<C: Clone>(
        &self,
        cell: &OnceLock<C>,
        build: impl FnOnce(&aws_config::SdkConfig) -> C,
    ) -> Option<C> {
        if let Some(client) = cell.get() {
            return Some(client.clone());
        }
        let sdk = self.sdk.as_ref()?;
        Some(cell.get_or_init(|| build(sdk)).clone())
    }

    /// The region a client for `resource_region` must be built for, when it is not `current`.
    fn other_region(&self, resource_region: Option<&str>, current: Option<&str>) -> Option<String> {
        let region = resource_region?;
        (self.follow_regions && Some(region) != current).then(|| region.to_owned())
    }
}

impl AwsDestinations {
    /// The destination of an `sqs` route, if this has an SQS client.
    pub fn sqs(&self, queue_url: &str, group_pointer: Option<&str>) -> Option<SqsDestination> {
        let mut client = self.client(&self.sqs, aws_sdk_sqs::Client::new)?;
        let current = client.config().region().map(|r| r.as_ref().to_owned());
        if let Some(region) = self.other_region(sqs::region_of(queue_url), current.as_deref()) {
            let config = client
                .config()
                .to_builder()
                .region(aws_sdk_sqs::config::Region::new(region))
                .build();
            client = aws_sdk_sqs::Client::from_conf(config);
        }
        Some(SqsDestination::new(
            client,
            queue_url.to_owned(),
            group_pointer.map(str::to_owned),
        ))
    }

    /// The destination of an `sns` route, if this has an SNS client.
    pub fn sns(&self, topic_arn: &str) -> Option<SnsDestination> {
        let mut client = self.client(&self.sns, aws_sdk_sns::Client::new)?;
        let current = client.config().region().map(|r| r.as_ref().to_owned());
        if let Some(region) = self.other_region(arn_region(topic_arn), current.as_deref()) {
            let config = client
                .config()
                .to_builder()
                .region(aws_sdk_sns::config::Region::new(region))
                .build();
            client = aws_sdk_sns::Client::from_conf(config);
        }
        Some(SnsDestination::new(client, topic_arn.to_owned()))
    }

    /// The destination of an `eventbridge` route, if this has an EventBridge client.
    pub fn eventbridge(&self, bus: &str) -> Option<EventBridgeDestination> {
        let mut client = self.client(&self.eventbridge, aws_sdk_eventbridge::Client::new)?;
        let current = client.config().region().map(|r| r.as_ref().to_owned());
        if let Some(region) = self.other_region(arn_region(bus), current.as_deref()) {
            let config = client
                .config()
                .to_builder()
                .region(aws_sdk_eventbridge::config::Region::new(region))
                .build();
            client = aws_sdk_eventbridge::Client::from_conf(config);
        }
        Some(EventBridgeDestination::new(client, bus.to_owned()))
    }
}

impl CloudDestinations for AwsDestinations {
    fn build(&self, action: &Action) -> Option<Arc<dyn Destination>> {
        match action {
            Action::Sqs {
                queue_url,
                group_pointer,
            } => Some(Arc::new(self.sqs(queue_url, group_pointer.as_deref())?)),
            Action::Sns { topic_arn } => Some(Arc::new(self.sns(topic_arn)?)),
            Action::EventBridge { bus } => Some(Arc::new(self.eventbridge(bus)?)),
            // Destinations that need no cloud are the router's own.
            _ => None,
        }
    }
}

/// The region an ARN names (`arn:aws:sns:eu-west-1:123456789012:orders`), if it is one.
pub(crate) fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next() == Some("arn")).then_some(())?;
    let region = parts.nth(2)?;
    (!region.is_empty()).then_some(region)
}

/// Whether SQS takes `c` in a message body or attribute: XML's characters (a Rust `str` holds no
/// surrogates).
fn sqs_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

fn sqs_text(text: &str) -> bool {
    text.chars().all(sqs_char)
}

/// A body as SQS or SNS carry it: the text itself, or its base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageText<'a> {
    pub text: Cow<'a, str>,
    pub base64: bool,
}

/// The message for `body`: as it is when it is text SQS takes, else base64. Empty bodies are
/// refused: neither SQS nor SNS takes an empty message.
pub(crate) fn message_text<'a>(
    body: &'a [u8],
    target: &str,
) -> Result<MessageText<'a>, ActionError> {
    if body.is_empty() {
        return Err(ActionError::Permanent(format!(
            "{target} takes no empty message, and the body is empty"
        )));
    }
    Ok(match std::str::from_utf8(body) {
        Ok(text) if sqs_text(text) => MessageText {
            text: Cow::Borrowed(text),
            base64: false,
        },
        _ => MessageText {
            text: Cow::Owned(base64::engine::general_purpose::STANDARD.encode(body)),
            base64: true,
        },
    })
}

/// The name of the attribute that says the message is base64, and its value.
pub const CONTENT_TRANSFER_ENCODING: (&str, &str) = ("content_transfer_encoding", "base64");

/// The String message attributes of a delivery, for SQS and SNS alike (see the module's doc).
pub(crate) fn attributes(delivery: &Delivery<'_>, base64: bool) -> Vec<(&'static str, String)> {
    let envelope = delivery.event.envelope;
    let mut attributes = vec![("source", envelope.source.clone())];
    if let Some(event_type) = envelope.event_type.as_deref()
        && !event_type.is_empty()
        && sqs_text(event_type)
    {
        attributes.push(("type", event_type.to_owned()));
    }
    attributes.push(("route", delivery.route.to_owned()));
    attributes.push(("event_key", envelope.claim_key()));
    let content_type = delivery.content_type();
    if !content_type.is_empty() && sqs_text(content_type) {
        attributes.push(("content_type", content_type.to_owned()));
    }
    if base64 {
        let (name, value) = CONTENT_TRANSFER_ENCODING;
        attributes.push((name, value.to_owned()));
    }
    if let Some(replay) = &envelope.replay {
        attributes.push(("replay", replay.clone()));
    }
    attributes.push((TRACEPARENT, delivery.event.trace().traceparent()));
    attributes
}

/// The FIFO deduplication id of one route's delivery of one event: hex SHA-256 of
/// `claim_key + "\n" + route`.
pub fn deduplication_id(claim_key: &str, route: &str) -> String {
    let mut hash = sha2::Sha256::new();
    hash.update(claim_key.as_bytes());
    hash.update(b"\n");
    hash.update(route.as_bytes());
    hex::encode(hash.finalize())
}

/// Whether SQS and SNS take `id` as a message group id: 1 to 128 of ASCII's letters, digits and
/// punctuation.
pub(crate) fn valid_group_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The message group of an event on a FIFO queue or topic when nothing else names one: its key,
/// or `sha256:` + the key's hex SHA-256 when the key is no valid group id (too long, or with
/// spaces or non-ASCII characters).
pub fn key_group_id(key: &str) -> String {
    if valid_group_id(key) {
        key.to_owned()
    } else {
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(key.as_bytes()))
        )
    }
}

/// AWS error codes that ask for fewer requests: every code with `Throttl` in it (SQS's
/// `RequestThrottled` and `ThrottlingException`, SNS's `Throttling` and `ThrottledException`,
/// EventBridge's `ThrottlingException`, KMS's `KMSThrottling`, `KMS.ThrottlingException` and
/// `KmsThrottlingException` behind an encrypted queue or topic), and the other throttling codes
/// the SDK's own retry classifier knows that could reach these services.
pub(crate) fn throttling_code(code: &str) -> bool {
    code.contains("Throttl")
        || matches!(
            code,
            "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "SlowDown"
                | "ProvisionedThroughputExceededException"
                | "BandwidthLimitExceeded"
        )
}

/// AWS error codes worth another try, other than throttling: AWS's own failures, timeouts, and
/// expired credentials (the next try, or the next execution environment, has fresh ones).
pub(crate) fn transient_code(code: &str) -> bool {
    matches!(
        code,
        "InternalError"
            | "InternalErrorException"
            | "InternalFailure"
            | "InternalException"
            | "InternalServerError"
            | "InternalServerException"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "AWS.SimpleQueueService.ServiceUnavailable"
            | "RequestTimeout"
            | "RequestTimeoutException"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "RequestExpired"
    )
}

/// The error of a request AWS refused with `code` (when it gave one) and HTTP `status` (`None`
/// for an entry refused inside a 200, as EventBridge does): throttled for throttling or 429,
/// transient for AWS's failures (5xx, 408), permanent for anything else. `text` says what
/// failed. AWS gives no `Retry-After` in seconds, so the schedule decides when to try again.
pub(crate) fn refused(code: Option<&str>, status: Option<u16>, text: String) -> ActionError {
    if code.is_some_and(throttling_code) || status == Some(429) {
        ActionError::Throttled {
            message: text,
            retry_after_secs: None,
        }
    } else if code.is_some_and(transient_code) || status.is_some_and(|s| s >= 500 || s == 408) {
        ActionError::Transient(text)
    } else {
        ActionError::Permanent(text)
    }
}

/// The longest AWS error message kept in an action's error.
const MESSAGE_MAX: usize = 300;

/// One line of AWS's error message, cut short.
fn short(message: &str) -> String {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MESSAGE_MAX {
        return line;
    }
    let mut cut: String = line.chars().take(MESSAGE_MAX).collect();
    cut.push('…');
    cut
}

/// An AWS error code and message, as the action's error shows them.
pub(crate) fn code_and_message(code: &str, message: Option<&str>) -> String {
    match message.map(short).filter(|m| !m.is_empty()) {
        Some(message) => format!("{code}: {message}"),
        None => code.to_owned(),
    }
}

/// The failure of one SDK call: `what` names the operation and destination (`SendMessage to
/// SQS queue `…``). A refusal is sorted by [`refused`]; timeouts, connection and response
/// failures are transient; a request the SDK could not even build is permanent.
pub(crate) fn failure<E>(what: &str, error: &SdkError<E, HttpResponse>) -> ActionError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let service = context.err();
            let code = service.code();
            let detail = match code {
                Some(code) => code_and_message(code, service.message()),
                None => format!("HTTP {status}"),
            };
            refused(code, Some(status), format!("{what} failed: {detail}"))
        }
        SdkError::TimeoutError(_) => ActionError::Transient(format!("{what} timed out")),
        SdkError::ConstructionFailure(_) => ActionError::Permanent(format!(
            "{what} failed: the request could not be built: {}",
            causes(error)
        )),
        // Dispatch failures (no connection, TLS, I/O), unreadable answers, and anything else.
        _ => ActionError::Transient(format!("{what} failed: {}", causes(error))),
    }
}

/// An error and its causes on one line (`dispatch failure: io error: … Connection refused`),
/// each only where it adds something.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !text.is_empty() && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sqs_takes_goes_as_it_is_and_anything_else_as_base64() {
        let plain = message_text(b"{\"a\":\"\xc3\xa9\"}\n\t", "q").unwrap();
        assert_eq!(plain.text, "{\"a\":\"é\"}\n\t");
        assert!(!plain.base64);
        for body in [&b"\xff\xfe"[..], b"a\x01b", "a\u{FFFE}".as_bytes(), b"\0"] {
            let encoded = message_text(body, "q").unwrap();
            assert!(encoded.base64, "{body:?}");
            assert_eq!(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.text.as_bytes())
                    .unwrap(),
                body
            );
        }
        assert!(matches!(
            message_text(b"", "SQS queue `q`"),
            Err(ActionError::Permanent(m)) if m.contains("SQS queue `q`")
        ));
    }

    #[test]
    fn deduplication_ids_differ_per_route_and_per_claim() {
        let a = deduplication_id("github#1", "triage");
        assert_eq!(a.len(), 64);
        assert_ne!(a, deduplication_id("github#1", "audit"));
        assert_ne!(a, deduplication_id("replay:r1:github#1", "triage"));
    }

    #[test]
    fn keys_that_are_no_group_id_are_hashed() {
        assert_eq!(key_group_id("github#abc-1"), "github#abc-1");
        let long = format!("github#{}", "x".repeat(200));
        for key in [long.as_str(), "github#a b", "github#é", ""] {
            let id = key_group_id(key);
            assert!(
                id.starts_with("sha256:") && valid_group_id(&id),
                "{key}: {id}"
            );
        }
    }

    /// How [`refused`] sorts `code` at `status`.
    fn class(code: &str, status: Option<u16>) -> &'static str {
        match refused(Some(code), status, format!("Send failed: {code}")) {
            ActionError::Throttled {
                message,
                retry_after_secs,
            } => {
                assert_eq!(message, format!("Send failed: {code}"));
                assert_eq!(retry_after_secs, None, "{code}");
                "throttled"
            }
            ActionError::Transient(_) => "transient",
            ActionError::Permanent(_) => "permanent",
            ActionError::TransformFailed(_) => "transform",
        }
    }

    #[test]
    fn every_kinds_throttling_is_throttled_whatever_the_status() {
        for code in [
            // SQS
            "RequestThrottled",
            "ThrottlingException",
            "AWS.SimpleQueueService.RequestThrottled",
            "KmsThrottlingException",
            "KMS.ThrottlingException",
            // SNS
            "Throttling",
            "Throttled",
            "ThrottledException",
            "KMSThrottling",
            // Other services' words for it, as the SDK's classifier knows them.
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "SlowDown",
            "ProvisionedThroughputExceededException",
            "BandwidthLimitExceeded",
        ] {
            for status in [Some(400), Some(503), None] {
                assert_eq!(class(code, status), "throttled", "{code} at {status:?}");
            }
        }
        // A 429 is throttling, whatever its code says.
        assert_eq!(class("Unknown", Some(429)), "throttled");
        assert_eq!(class("AccessDenied", Some(429)), "throttled");
    }

    #[test]
    fn aws_failures_are_transient_and_refusals_permanent() {
        for code in [
            "InternalError",
            "InternalFailure",
            "InternalException",
            "ServiceUnavailable",
            "RequestTimeout",
            "ExpiredToken",
        ] {
            assert_eq!(class(code, Some(400)), "transient", "{code}");
            assert_eq!(class(code, None), "transient", "{code}");
        }
        for status in [500, 502, 503, 504, 408] {
            assert_eq!(class("Unknown", Some(status)), "transient", "{status}");
        }
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "AuthorizationError",
            "InvalidParameter",
            "InvalidParameterValue",
            "ValidationException",
            "NotFound",
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
            "ResourceNotFoundException",
            "KMSDisabled",
            "KMS.DisabledException",
            "KMSInvalidState",
            "InvalidMessageContents",
            "LimitExceededException",
        ] {
            assert_eq!(class(code, Some(400)), "permanent", "{code}");
            assert_eq!(class(code, None), "permanent", "{code}");
        }
    }

    fn sdk(endpoint: Option<&str>) -> aws_config::SdkConfig {
        let mut builder = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .http_client(crate::http_client());
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        builder.build()
    }

    #[test]
    fn destinations_in_another_region_get_a_client_there_but_not_in_an_emulator() {
        let aws = AwsDestinations::from_sdk_config(&sdk(None));
        let region = |client_region: Option<&aws_config::Region>| {
            client_region.map(|r| r.as_ref().to_owned())
        };
        let queue = aws
            .sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/q", None)
            .unwrap();
        assert_eq!(
            region(queue.client().config().region()).as_deref(),
            Some("eu-west-1")
        );
        let topic = aws.sns("arn:aws:sns:ap-south-1:123456789012:t").unwrap();
        assert_eq!(
            region(topic.client().config().region()).as_deref(),
            Some("ap-south-1")
        );
        let bus = aws.eventbridge("audit").unwrap();
        assert_eq!(
            region(bus.client().config().region()).as_deref(),
            Some("us-east-1")
        );

        let emulator = AwsDestinations::from_sdk_config(&sdk(Some("http://127.0.0.1:5055")));
        let queue = emulator
            .sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/q", None)
            .unwrap();
        assert_eq!(
            region(queue.client().config().region()).as_deref(),
            Some("us-east-1")
        );
    }

    #[test]
    fn clients_are_built_only_for_the_kinds_routes_use() {
        let aws = AwsDestinations::from_sdk_config(&sdk(None));
        let queue = Action::Sqs {
            queue_url: "https://sqs.us-east-1.amazonaws.com/123456789012/q".into(),
            group_pointer: None,
        };
        assert!(aws.build(&queue).is_some());
        assert!(aws.sqs.get().is_some());
        assert!(aws.sns.get().is_none() && aws.eventbridge.get().is_none());
        assert!(aws.build(&Action::Log).is_none());
        // Without an SDK config, only the kinds given a client.
        let none = AwsDestinations::default();
        assert!(none.build(&queue).is_none());
        assert!(
            none.build(&Action::Sns {
                topic_arn: "arn:aws:sns:us-east-1:1:t".into()
            })
            .is_none()
        );
    }

    #[test]
    fn arns_name_their_region() {
        assert_eq!(
            arn_region("arn:aws:sns:eu-west-1:123456789012:orders"),
            Some("eu-west-1")
        );
        assert_eq!(
            arn_region("arn:aws:events:us-east-2:123456789012:event-bus/audit"),
            Some("us-east-2")
        );
        assert_eq!(arn_region("audit"), None);
        assert_eq!(arn_region("arn:aws:events::123:event-bus/x"), None);
    }
}
