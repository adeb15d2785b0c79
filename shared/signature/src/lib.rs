//! Webhook signature schemes: pure functions over a delivery's bytes.
//!
//! Nothing here does I/O or reads a clock: the caller passes `now`, the keys and the public URL.
//! Every scheme follows the same order — parse the headers, reject a timestamp outside the
//! tolerance before any HMAC is computed, then try every key against every signature in constant
//! time — and then extracts the event id and type that name the delivery.
//!
//! The crate has no AWS SDK, no async runtime and no HTTP server, so any Rust web service can
//! verify deliveries with it. With the raw body and headers of a request in hand:
//!
//! ```
//! use http::HeaderMap;
//! use inlet_signature::{Delivery, Scheme, Window};
//!
//! // GitHub's documented example: this secret over `Hello, World!`.
//! let key = Scheme::Github.key("It's a Secret to Everybody").unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert(
//!     "x-hub-signature-256",
//!     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".parse().unwrap(),
//! );
//! headers.insert("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse().unwrap());
//! let delivery = Delivery { headers: &headers, body: b"Hello, World!", url: None };
//! let now = 1_763_816_400; // epoch seconds; only schemes with a timestamp look at it
//! let window = Window { now, tolerance_secs: 300 };
//! let keys = [key];
//! let verified = Scheme::Github.verify(&delivery, &keys, window).unwrap();
//! assert_eq!(verified.event_id.as_deref(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
//!
//! // A changed body is refused.
//! let tampered = Delivery { body: b"Hello, World?", ..delivery };
//! assert!(Scheme::Github.verify(&tampered, &keys, window).is_err());
//! ```

mod body;
pub mod clock;
mod crypto;
pub mod custom;
mod github;
mod linear;
mod paddle;
mod shopify;
mod slack;
mod square;
mod standard_webhooks;
mod stripe;
mod twilio;
mod twitch;
mod zendesk;

pub use body::BodyFields;
pub use crypto::{Algorithm, Encoding};
pub use custom::CustomScheme;
pub use standard_webhooks::sign_outbound;

use http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;

/// What a scheme sees of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub headers: &'a HeaderMap,
    /// The raw body bytes, exactly as the provider sent them.
    pub body: &'a [u8],
    /// The public URL the provider posted to, query included, for schemes that sign it.
    pub url: Option<&'a str>,
}

/// The clock and the replay window to verify against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Seconds since the Unix epoch.
    pub now: i64,
    pub tolerance_secs: u64,
}

/// A key ready for HMAC: the secret as the scheme uses it (for Standard Webhooks, decoded).
#[derive(Clone, PartialEq, Eq)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// A delivery whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// The provider's id for this event, where it gives one.
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    /// A handshake the provider expects answered instead of an event being queued.
    pub handshake: Option<Handshake>,
}

/// Endpoint-ownership challenges, answered only after the signature is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// Slack `url_verification`: answer `{"challenge": …}`.
    Slack { challenge: String },
    /// Twitch `webhook_callback_verification`: answer the challenge as plain text.
    Twitch { challenge: String },
}

/// Why a delivery's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {field} is malformed: {why}")]
    Malformed {
        field: &'static str,
        why: &'static str,
    },
    #[error("no signature matches any configured secret")]
    Mismatch,
    #[error("the timestamp is {age_secs} s old, beyond the {tolerance_secs} s tolerance")]
    Stale { age_secs: i64, tolerance_secs: u64 },
    #[error(
        "the timestamp is {ahead_secs} s in the future, beyond the {tolerance_secs} s tolerance"
    )]
    Future {
        ahead_secs: i64,
        tolerance_secs: u64,
    },
    #[error("this scheme signs the public URL, and none is configured for the source")]
    UrlRequired,
    /// The scheme reads the body (Linear's timestamp, Twitch's challenge) and it is not what the
    /// provider sends: the request is malformed, whoever signed it.
    #[error("the body is malformed: {0}")]
    Body(&'static str),
}

impl SignatureError {
    /// The stable code in the JSON error answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing(_) => "signature_missing",
            Self::Malformed { .. } => "signature_malformed",
            Self::Mismatch => "signature_mismatch",
            Self::Stale { .. } | Self::Future { .. } => "timestamp_out_of_tolerance",
            Self::UrlRequired => "url_not_configured",
            Self::Body(_) => "malformed_body",
        }
    }
}

/// Why a secret cannot be used as a key for a scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the secret is empty")]
    Empty,
    #[error("a Standard Webhooks secret must be base64 (optionally after `whsec_`)")]
    NotBase64,
}

/// Why a delivery could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("this scheme signs the public URL: pass one")]
    UrlRequired,
    #[error("this scheme takes its timestamp from the body field `{0}`, which is missing")]
    BodyTimestampMissing(&'static str),
    #[error("the source accepts unsigned deliveries: there is nothing to sign")]
    Unsigned,
    #[error("Twilio signs a non-form body only through the URL's bodySHA256 parameter: add it")]
    BodyHashRequired,
}

/// A header to add to a delivery so that it verifies.
pub type SignedHeader = (HeaderName, HeaderValue);

/// A signature scheme, with its settings where it has any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    Github,
    Stripe,
    StandardWebhooks,
    Shopify,
    Slack,
    Twilio,
    Paddle,
    Zendesk,
    Square,
    Linear,
    Twitch,
    Hmac(Box<CustomScheme>),
    /// Unsigned deliveries, allowed only with `allow_unsigned = true`.
    None,
}

/// Names accepted in `scheme = "…"`, besides `hmac` and `none`.
pub const NAMED_SCHEMES: &[&str] = &[
    "github",
    "stripe",
    "standard-webhooks",
    "svix",
    "shopify",
    "slack",
    "twilio",
    "paddle",
    "zendesk",
    "square",
    "linear",
    "twitch",
];

impl Scheme {
    /// A scheme without settings, by its config name.
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "github" => Self::Github,
            "stripe" => Self::Stripe,
            "standard-webhooks" | "svix" => Self::StandardWebhooks,
            "shopify" => Self::Shopify,
            "slack" => Self::Slack,
            "twilio" => Self::Twilio,
            "paddle" => Self::Paddle,
            "zendesk" => Self::Zendesk,
            "square" => Self::Square,
            "linear" => Self::Linear,
            "twitch" => Self::Twitch,
            "none" => Self::None,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Stripe => "stripe",
            Self::StandardWebhooks => "standard-webhooks",
            Self::Shopify => "shopify",
            Self::Slack => "slack",
            Self::Twilio => "twilio",
            Self::Paddle => "paddle",
            Self::Zendesk => "zendesk",
            Self::Square => "square",
            Self::Linear => "linear",
            Self::Twitch => "twitch",
            Self::Hmac(_) => "hmac",
            Self::None => "none",
        }
    }

    /// Whether the scheme signs the public URL (so the source must configure it).
    pub fn signs_url(&self) -> bool {
        matches!(self, Self::Twilio | Self::Square)
    }

    /// Whether the scheme carries a timestamp that the replay window applies to.
    pub fn has_timestamp(&self) -> bool {
        match self {
            Self::Stripe
            | Self::StandardWebhooks
            | Self::Slack
            | Self::Paddle
            | Self::Zendesk
            | Self::Linear
            | Self::Twitch => true,
            Self::Hmac(custom) => custom.timestamp_header.is_some(),
            _ => false,
        }
    }

    /// Whether the provider always posts a JSON object, so that any other body is malformed
    /// however it is signed.
    pub fn posts_json_object(&self) -> bool {
        matches!(
            self,
            Self::Stripe | Self::Paddle | Self::Square | Self::Twitch | Self::Linear
        )
    }

    /// The header the signature is read from; `None` for unsigned deliveries. Standard Webhooks
    /// also accepts the same three headers under Svix's `svix-*` names.
    pub fn signature_header(&self) -> Option<HeaderName> {
        Some(HeaderName::from_static(match self {
            Self::Github => "x-hub-signature-256",
            Self::Stripe => "stripe-signature",
            Self::StandardWebhooks => "webhook-signature",
            Self::Shopify => "x-shopify-hmac-sha256",
            Self::Slack => "x-slack-signature",
            Self::Twilio => "x-twilio-signature",
            Self::Paddle => "paddle-signature",
            Self::Zendesk => "x-zendesk-webhook-signature",
            Self::Square => "x-square-hmacsha256-signature",
            Self::Linear => "linear-signature",
            Self::Twitch => "twitch-eventsub-message-signature",
            Self::Hmac(custom) => return Some(custom.header.clone()),
            Self::None => return None,
        }))
    }

    /// How the signature is written: hex or base64. `None` for unsigned deliveries.
    pub fn signature_encoding(&self) -> Option<Encoding> {
        match self {
            Self::StandardWebhooks
            | Self::Shopify
            | Self::Twilio
            | Self::Zendesk
            | Self::Square => Some(Encoding::Base64),
            Self::Github
            | Self::Stripe
            | Self::Slack
            | Self::Paddle
            | Self::Linear
            | Self::Twitch => Some(Encoding::Hex),
            Self::Hmac(custom) => Some(custom.encoding),
            Self::None => None,
        }
    }

    /// The header the timestamp is read from, for schemes that give it a header of its own:
    /// Stripe and Paddle carry theirs inside the signature header, Linear in the body.
    pub fn timestamp_header(&self) -> Option<HeaderName> {
        Some(HeaderName::from_static(match self {
            Self::StandardWebhooks => "webhook-timestamp",
            Self::Slack => "x-slack-request-timestamp",
            Self::Zendesk => "x-zendesk-webhook-signature-timestamp",
            Self::Twitch => "twitch-eventsub-message-timestamp",
            Self::Hmac(custom) => return custom.timestamp_header.clone(),
            _ => return None,
        }))
    }

    /// The header the event id is read from, for schemes that take it from a header. Shopify
    /// falls back to `x-shopify-event-id`; Zendesk reads its header only when the body has no
    /// `id`. The others without one name the event from the body.
    pub fn id_header(&self) -> Option<HeaderName> {
        Some(HeaderName::from_static(match self {
            Self::Github => "x-github-delivery",
            Self::StandardWebhooks => "webhook-id",
            Self::Shopify => "x-shopify-webhook-id",
            Self::Twilio => "i-twilio-idempotency-token",
            Self::Zendesk => "x-zendesk-webhook-invocation-id",
            Self::Linear => "linear-delivery",
            Self::Twitch => "twitch-eventsub-message-id",
            Self::Hmac(custom) => return custom.id_header.clone(),
            _ => return None,
        }))
    }

    /// The header the event type is read from, for schemes that take it from a header.
    pub fn type_header(&self) -> Option<HeaderName> {
        Some(HeaderName::from_static(match self {
            Self::Github => "x-github-event",
            Self::Shopify => "x-shopify-topic",
            Self::Linear => "linear-event",
            Self::Twitch => "twitch-eventsub-subscription-type",
            Self::Hmac(custom) => return custom.type_header.clone(),
            _ => return None,
        }))
    }

    /// Every header the signature depends on: the signature's own, the timestamp's, and the id's
    /// where the id is signed (Standard Webhooks, Twitch). Changing any of them fails
    /// verification; appearing twice, any of them is malformed.
    pub fn authenticating_headers(&self) -> Vec<HeaderName> {
        let signed_id = match self {
            Self::StandardWebhooks | Self::Twitch => self.id_header(),
            _ => None,
        };
        self.signature_header()
            .into_iter()
            .chain(self.timestamp_header())
            .chain(signed_id)
            .collect()
    }

    /// Turns a configured secret into the key this scheme's HMAC uses.
    pub fn key(&self, secret: &str) -> Result<Key, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        match self {
            Self::StandardWebhooks => standard_webhooks::key(secret),
            _ => Ok(Key(secret.as_bytes().to_vec())),
        }
    }

    /// Checks a delivery against every key; on success names the event.
    pub fn verify(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
        window: Window,
    ) -> Result<Verified, SignatureError> {
        match self {
            Self::Github => github::verify(delivery, keys),
            Self::Stripe => stripe::verify(delivery, keys, window),
            Self::StandardWebhooks => standard_webhooks::verify(delivery, keys, window),
            Self::Shopify => shopify::verify(delivery, keys),
            Self::Slack => slack::verify(delivery, keys, window),
            Self::Twilio => twilio::verify(delivery, keys),
            Self::Paddle => paddle::verify(delivery, keys, window),
            Self::Zendesk => zendesk::verify(delivery, keys, window),
            Self::Square => square::verify(delivery, keys),
            Self::Linear => linear::verify(delivery, keys, window),
            Self::Twitch => twitch::verify(delivery, keys, window),
            Self::Hmac(custom) => custom.verify(delivery, keys, window),
            Self::None => Ok(Verified::default()),
        }
    }

    /// The headers that make `delivery` verify with `key` at `now`: the signature, and the
    /// timestamp and id headers the signature covers when the delivery does not carry them yet.
    pub fn sign(
        &self,
        delivery: &Delivery<'_>,
        key: &Key,
        now: i64,
    ) -> Result<Vec<SignedHeader>, SignError> {
        match self {
            Self::Github => Ok(github::sign(delivery, key)),
            Self::Stripe => Ok(stripe::sign(delivery, key, now)),
            Self::StandardWebhooks => Ok(standard_webhooks::sign(delivery, key, now)),
            Self::Shopify => Ok(shopify::sign(delivery, key)),
            Self::Slack => Ok(slack::sign(delivery, key, now)),
            Self::Twilio => twilio::sign(delivery, key),
            Self::Paddle => Ok(paddle::sign(delivery, key, now)),
            Self::Zendesk => Ok(zendesk::sign(delivery, key, now)),
            Self::Square => square::sign(delivery, key),
            Self::Linear => linear::sign(delivery, key),
            Self::Twitch => Ok(twitch::sign(delivery, key, now)),
            Self::Hmac(custom) => Ok(custom.sign(delivery, key, now)),
            Self::None => Err(SignError::Unsigned),
        }
    }

    /// Headers worth keeping in the envelope for the action: what names the event, never what
    /// authenticates it.
    pub fn informative_headers(&self) -> &'static [&'static str] {
        match self {
            Self::Github => &["x-github-event", "x-github-delivery", "x-github-hook-id"],
            Self::StandardWebhooks => &["webhook-id", "webhook-timestamp", "svix-id"],
            Self::Shopify => &[
                "x-shopify-topic",
                "x-shopify-webhook-id",
                "x-shopify-shop-domain",
                "x-shopify-api-version",
            ],
            Self::Twilio => &["i-twilio-idempotency-token"],
            Self::Zendesk => &["x-zendesk-webhook-id", "x-zendesk-webhook-invocation-id"],
            Self::Linear => &["linear-event", "linear-delivery"],
            Self::Twitch => &[
                "twitch-eventsub-message-id",
                "twitch-eventsub-message-type",
                "twitch-eventsub-subscription-type",
                "twitch-eventsub-subscription-version",
            ],
            _ => &[],
        }
    }
}

/// Reads a header that must appear once, as visible ASCII.
pub(crate) fn header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<&'a str, SignatureError> {
    optional_header(headers, name)?.ok_or(SignatureError::Missing(name))
}

/// Reads a header that may be absent; present, it must appear once, as visible ASCII.
pub(crate) fn optional_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, SignatureError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(SignatureError::Malformed {
            field: name,
            why: "the header appears more than once",
        });
    }
    let text = first.to_str().map_err(|_| SignatureError::Malformed {
        field: name,
        why: "not visible ASCII",
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(SignatureError::Missing(name));
    }
    Ok(Some(text))
}

/// How a `name=value` signature header that carries its own timestamp is laid out, as Stripe
/// (`t=…,v1=…`) and Paddle (`ts=…;h1=…`) do.
pub(crate) struct StampedHeader {
    pub header: &'static str,
    pub separator: char,
    /// What joins the timestamp and the body in the signed bytes.
    pub joiner: &'static [u8],
    pub timestamp: &'static str,
    pub signature: &'static str,
    pub malformed_item: &'static str,
    pub repeated_timestamp: &'static str,
    pub no_timestamp: &'static str,
    pub no_signature: &'static str,
}

/// A header of more signatures than this is far beyond any provider's rotation: refuse it rather
/// than compute that many comparisons.
const MAX_SIGNATURES: usize = 16;

impl StampedHeader {
    /// The timestamp text (as signed) with its value, and every hex signature of the known
    /// version; items of other versions are skipped, as they belong to other schemes.
    pub(crate) fn parse<'a>(
        &self,
        text: &'a str,
    ) -> Result<(&'a str, i64, Vec<Vec<u8>>), SignatureError> {
        let malformed = |why| SignatureError::Malformed {
            field: self.header,
            why,
        };
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for item in text.split(self.separator) {
            let (name, field) = item
                .trim()
                .split_once('=')
                .ok_or(malformed(self.malformed_item))?;
            if name == self.timestamp {
                if timestamp.replace(field).is_some() {
                    return Err(malformed(self.repeated_timestamp));
                }
            } else if name == self.signature {
                if signatures.len() == MAX_SIGNATURES {
                    return Err(malformed("too many signatures"));
                }
                signatures.push(crypto::Encoding::Hex.decode(self.header, field)?);
            }
        }
        let timestamp = timestamp.ok_or(malformed(self.no_timestamp))?;
        let seconds = epoch_secs(self.header, timestamp)?;
        if signatures.is_empty() {
            return Err(malformed(self.no_signature));
        }
        Ok((timestamp, seconds, signatures))
    }

    /// Checks the header's signatures over `timestamp + joiner + body`, after the window.
    pub(crate) fn check(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
        window: Window,
    ) -> Result<(), SignatureError> {
        let (timestamp, seconds, signatures) =
            self.parse(header(delivery.headers, self.header)?)?;
        check_window(seconds, window)?;
        crypto::any_match(
            crypto::Algorithm::Sha256,
            keys,
            &[timestamp.as_bytes(), self.joiner, delivery.body],
            &signatures,
        )
    }

    /// The header that makes `delivery` verify at `now`.
    pub(crate) fn sign(&self, delivery: &Delivery<'_>, key: &Key, now: i64) -> SignedHeader {
        let timestamp = now.to_string();
        let tag = crypto::hmac(
            crypto::Algorithm::Sha256,
            key.as_bytes(),
            &[timestamp.as_bytes(), self.joiner, delivery.body],
        );
        let text = format!(
            "{}={timestamp}{}{}={}",
            self.timestamp,
            self.separator,
            self.signature,
            crypto::Encoding::Hex.encode(tag.as_slice())
        );
        (HeaderName::from_static(self.header), value(text))
    }
}

/// Parses an epoch-seconds timestamp field.
pub(crate) fn epoch_secs(field: &'static str, text: &str) -> Result<i64, SignatureError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed {
            field,
            why: "not a number of seconds",
        });
    }
    text.parse().map_err(|_| SignatureError::Malformed {
        field,
        why: "not a number of seconds",
    })
}

/// Rejects a timestamp outside the replay window.
pub(crate) fn check_window(timestamp: i64, window: Window) -> Result<(), SignatureError> {
    let tolerance = i64::try_from(window.tolerance_secs).unwrap_or(i64::MAX);
    let age = window.now.saturating_sub(timestamp);
    if age > tolerance {
        return Err(SignatureError::Stale {
            age_secs: age,
            tolerance_secs: window.tolerance_secs,
        });
    }
    // Not `-age`: a saturated age of i64::MIN has no negation (a panic in debug builds, and in
    // release it wraps to i64::MIN and lets the timestamp through).
    let ahead = timestamp.saturating_sub(window.now);
    if ahead > tolerance {
        return Err(SignatureError::Future {
            ahead_secs: ahead,
            tolerance_secs: window.tolerance_secs,
        });
    }
    Ok(())
}

/// A header value from text this crate produced (digits, hex, base64 and the like).
pub(crate) fn value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// An id for a delivery that needs one in a signed header, derived from what is signed so that
/// signing the same delivery twice gives the same id.
pub(crate) fn derived_id(prefix: &str, body: &[u8], now: i64) -> String {
    let digest = crypto::sha256(&[&now.to_be_bytes(), body]);
    format!("{prefix}{}", hex::encode(&digest[..12]))
}

/// SHA-256 of `bytes`, for keys derived from content.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    crypto::sha256(&[bytes])
}
