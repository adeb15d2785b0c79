//! Webhook signature schemes: pure functions over a delivery's bytes.
//!
//! Nothing here does I/O or reads a clock: the caller passes `now`, the keys and the public URL.
//! Every scheme follows the same order — parse the headers, reject a timestamp outside the
//! tolerance before any signature is checked, then try every key against every signature (HMACs
//! in constant time) — and then extracts the event id and type that name the delivery.
//!
//! Each provider is described once, in [`registry`]: one file under `src/providers/`, or one row
//! under `src/presets/` where it is data. Everything else — config names and aliases,
//! header facts, which bodies are JSON, `inlet providers` — reads that description.
//!
//! The crate has no AWS SDK, no async runtime and no HTTP server, so any Rust web service can
//! verify deliveries with it. With the raw body and headers of a request in hand:
//!
//! ```
//! use http::HeaderMap;
//! use inlet_signature::{Delivery, Scheme, Window};
//!
//! // GitHub's documented example: this secret over `Hello, World!`.
//! let github = Scheme::named("github").unwrap();
//! let key = github.key("It's a Secret to Everybody").unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert(
//!     "x-hub-signature-256",
//!     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".parse().unwrap(),
//! );
//! headers.insert("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse().unwrap());
//! let delivery = Delivery::post(&headers, b"Hello, World!");
//! let now = 1_763_816_400; // epoch seconds; only schemes with a timestamp look at it
//! let window = Window { now, tolerance_secs: 300 };
//! let keys = [key];
//! let verified = github.verify(&delivery, &keys, window).unwrap();
//! assert_eq!(verified.event_id.as_deref(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
//!
//! // A changed body is refused.
//! let tampered = Delivery { body: b"Hello, World?", ..delivery };
//! assert!(github.verify(&tampered, &keys, window).is_err());
//! ```

mod asymmetric;
mod body;
mod challenge;
pub mod clock;
mod crypto;
pub mod custom;
mod delivery;
mod enrol;
mod entries;
mod error;
mod jwt_hs256;
mod key;
mod layout;
mod presets;
mod provider;
/// One module per file under `src/providers/`, and `FILES`, their providers: listed by build.rs.
pub mod providers {
    include!(concat!(env!("OUT_DIR"), "/providers.rs"));
}
pub mod registry;
mod stamp;
mod template;
pub mod token;
pub mod unsupported;

pub use body::BodyFields;
pub use crypto::{Algorithm, Encoding};
pub use custom::CustomScheme;
pub use delivery::{Delivery, Handshake, HandshakeBody, SignedHeader, Verified, Window};
pub(crate) use delivery::{derived_id, header, optional_header, value};
pub use error::{KeyError, SignError, SignatureError};
pub use key::Key;
pub use layout::Layout;
pub use provider::{Provider, Secrets};
pub use providers::standard_webhooks::sign_outbound;
pub use stamp::TimeFormat;
pub(crate) use stamp::check_window;
pub use template::TemplateError;
pub use token::TokenScheme;

use http::HeaderName;

/// A signature scheme: a provider of the registry, or one configured in full.
#[derive(Debug, Clone)]
pub enum Scheme {
    /// A named provider, exactly as its documentation describes it.
    Provider(&'static Provider),
    /// A plain HMAC configured header by header.
    Hmac(Box<CustomScheme>),
    /// A shared token compared in constant time, in a configured header.
    Token(Box<TokenScheme>),
    /// Unsigned deliveries, allowed only with `allow_unsigned = true`.
    None,
}

impl PartialEq for Scheme {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Provider(a), Self::Provider(b)) => a.name == b.name,
            (Self::Hmac(a), Self::Hmac(b)) => a == b,
            (Self::Token(a), Self::Token(b)) => a == b,
            (Self::None, Self::None) => true,
            _ => false,
        }
    }
}

impl Eq for Scheme {}

impl Scheme {
    /// A scheme without settings, by its config name or an alias of it.
    pub fn named(name: &str) -> Option<Self> {
        if name == "none" {
            return Some(Self::None);
        }
        registry::find(name).map(Self::Provider)
    }

    /// The provider this scheme is, if it is a named one.
    pub fn provider(&self) -> Option<&'static Provider> {
        match self {
            Self::Provider(provider) => Some(provider),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Provider(provider) => provider.name,
            Self::Hmac(_) => "hmac",
            Self::Token(_) => "token",
            Self::None => "none",
        }
    }

    fn facts(&self) -> provider::Facts {
        match self {
            Self::Provider(provider) => provider.facts(),
            Self::Hmac(custom) => custom.facts(),
            Self::Token(token) => token.facts(),
            Self::None => provider::Facts::UNSIGNED,
        }
    }

    /// Whether the scheme signs the public URL (so the source must configure it).
    pub fn signs_url(&self) -> bool {
        self.facts().signs_url
    }

    /// Whether the scheme signs the HTTP method.
    pub fn signs_method(&self) -> bool {
        self.facts().signs_method
    }

    /// Whether the scheme carries a timestamp that the replay window applies to.
    pub fn has_timestamp(&self) -> bool {
        self.facts().timestamp
    }

    /// Whether the provider always posts a JSON object, so that any other body is malformed
    /// however it is signed.
    pub fn posts_json_object(&self) -> bool {
        self.provider().is_some_and(|p| p.json_body)
    }

    /// Whether every byte of the body is covered by what authenticates a delivery; not so for
    /// shared tokens and for signatures over body fields (Mailgun).
    pub fn signs_body(&self) -> bool {
        !matches!(self, Self::None) && !self.facts().unsigned_body
    }

    /// Whether the source configures a secret of its own for an unsigned handshake (Meta's
    /// verify token, Asana's enrolment token).
    pub fn needs_handshake_secret(&self) -> bool {
        self.facts().handshake_secret
    }

    /// Whether an authentic handshake hands over the signing secret to keep (Asana, Notion).
    pub fn enrols_secret(&self) -> bool {
        self.facts().enrols_secret
    }

    /// Whether the provider verifies with a public key, so the configured "secret" is one.
    pub fn is_asymmetric(&self) -> bool {
        self.facts().asymmetric
    }

    /// The header the signature (or token) is read from; `None` for unsigned deliveries and for
    /// providers that carry it in the body.
    pub fn signature_header(&self) -> Option<HeaderName> {
        self.facts().signature.map(HeaderName::from_static)
    }

    /// How the signature is written: hex or base64. `None` where there is no encoded signature.
    pub fn signature_encoding(&self) -> Option<Encoding> {
        self.facts().encoding
    }

    /// The header the timestamp is read from, for schemes that give it a header of its own:
    /// Stripe and Paddle carry theirs inside the signature header, Linear in the body.
    pub fn timestamp_header(&self) -> Option<HeaderName> {
        self.facts().timestamp_header.map(HeaderName::from_static)
    }

    /// The header the event id is read from, for schemes that take it from a header.
    pub fn id_header(&self) -> Option<HeaderName> {
        self.facts().id_header.map(HeaderName::from_static)
    }

    /// The header the event type is read from, for schemes that take it from a header.
    pub fn type_header(&self) -> Option<HeaderName> {
        self.facts().type_header.map(HeaderName::from_static)
    }

    /// Every header the signature depends on: the signature's own, the timestamp's, and the id's
    /// where the id is signed (Standard Webhooks, Twitch). Changing any of them fails
    /// verification; appearing twice, any of them is malformed.
    pub fn authenticating_headers(&self) -> Vec<HeaderName> {
        let facts = self.facts();
        let signed_id = facts.id_header.filter(|_| facts.signed_id);
        facts
            .signature
            .into_iter()
            .chain(facts.timestamp_header)
            .chain(signed_id)
            .map(HeaderName::from_static)
            .collect()
    }

    /// Turns a configured secret into the key this scheme verifies with: for an asymmetric
    /// provider, its public key in the provider's own published format.
    pub fn key(&self, secret: &str) -> Result<Key, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        match self {
            Self::Provider(provider) => provider.key(secret),
            Self::Hmac(custom) => custom.key(secret),
            Self::Token(_) | Self::None => Ok(Key::secret(secret.as_bytes())),
        }
    }

    /// Turns a secret into the key this scheme signs with: the same as [`Scheme::key`] for a
    /// shared secret, the private key for an asymmetric provider.
    pub fn signing_key(&self, secret: &str) -> Result<Key, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        match self {
            Self::Provider(provider) => provider.signing_key(secret),
            _ => self.key(secret),
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
            Self::Provider(provider) => provider.verify(delivery, keys, window),
            Self::Hmac(custom) => custom.verify(delivery, keys, window),
            Self::Token(token) => token.verify(delivery, keys),
            Self::None => Ok(Verified::default()),
        }
    }

    /// Whether the provider has a handshake that is not a signed delivery.
    pub fn has_unsigned_handshake(&self) -> bool {
        self.provider().is_some_and(|p| match &p.how {
            provider::How::Code(code) => code.unsigned_handshake.is_some(),
            provider::How::Answering(..) => true,
            _ => false,
        })
    }

    /// Answers a handshake that is not a signed delivery (Meta's and Okta's GET, Asana's
    /// `X-Hook-Secret`), checked against `keys`: the source's handshake secret where the provider
    /// has one, else its signing keys. `None` when `delivery` is not such a handshake.
    pub fn unsigned_handshake(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
    ) -> Option<Result<Handshake, SignatureError>> {
        self.provider()?.unsigned_handshake(delivery, keys)
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
            Self::Provider(provider) => provider.sign(delivery, key, now),
            Self::Hmac(custom) => custom.sign(delivery, key, now),
            Self::Token(token) => Ok(token.sign(key)),
            Self::None => Err(SignError::Unsigned),
        }
    }

    /// For providers that carry their signature in the body (Mailgun, Figma): the body with it
    /// written in, to be signed by [`Scheme::sign`] next. `None` for every other scheme.
    pub fn sign_body(
        &self,
        body: &[u8],
        key: &Key,
        now: i64,
    ) -> Option<Result<Vec<u8>, SignError>> {
        self.provider()?.sign_body(body, key, now)
    }

    /// Headers worth keeping in the envelope for the action: what names the event, never what
    /// authenticates it.
    pub fn informative_headers(&self) -> &'static [&'static str] {
        self.provider().map_or(&[], |p| p.informative_headers)
    }
}

/// SHA-256 of `bytes`, for keys derived from content.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    crypto::sha256(&[bytes])
}

#[cfg(test)]
mod vector_check;
