//! What a provider is: the [`Provider`] value every provider file under `src/providers/` and
//! every row under `src/presets/` is, how it verifies ([`How`], [`Code`]), its header [`Facts`],
//! and the [`Summary`] `inlet providers` prints. The catalogue of them all is `registry`.

use super::{
    CustomScheme, Delivery, Encoding, Handshake, Key, KeyError, SignError, SignatureError,
    SignedHeader, TokenScheme, Verified, Window,
};
use serde::Serialize;

/// A named provider.
pub struct Provider {
    /// The `scheme = "…"` name: lower case.
    pub name: &'static str,
    /// Other names accepted for it (`svix` for Standard Webhooks).
    pub aliases: &'static [&'static str],
    /// The provider as people know it, with the products that send these webhooks.
    pub title: &'static str,
    /// Where the provider documents its webhook signature.
    pub docs: &'static str,
    /// The endpoint check the provider performs, if any, in a few words.
    pub handshake: Option<&'static str>,
    /// Whether every delivery is a JSON object, so any other body is malformed.
    pub json_body: bool,
    /// Headers worth keeping in the envelope for the action: what names the event, never what
    /// authenticates it.
    pub informative_headers: &'static [&'static str],
    /// Whether its vectors under `tests/data/vectors/` include one the provider or its official
    /// SDK published; otherwise they were computed here from the documented rules.
    pub official_vectors: bool,
    pub how: How,
}

/// How a provider verifies.
pub enum How {
    /// A plain HMAC over the body (and perhaps a timestamp), as a configured `hmac` source would.
    Hmac(CustomScheme),
    /// A data scheme, and the provider's handshake that is not a signed delivery (a challenge
    /// GET, Trello's HEAD): the handshake is the only code its file holds.
    Answering(CustomScheme, UnsignedHandshake),
    /// A shared token in a header, compared in constant time.
    Token(TokenScheme),
    /// Code of its own, in the provider's file.
    Code(&'static Code),
}

/// A provider that needs code of its own.
#[allow(missing_debug_implementations)] // function pointers; `How`'s Debug names it instead
pub struct Code {
    pub facts: Facts,
    /// What is signed, in a few words, for `inlet providers`.
    pub signed: &'static str,
    /// The configured secret's format: the provider's own.
    pub key_format: &'static str,
    /// The configured secret as a verification key.
    pub key: fn(&str) -> Result<Key, KeyError>,
    /// The secret `inlet sign` and the tests sign with (the private key, where asymmetric).
    pub signing_key: fn(&str) -> Result<Key, KeyError>,
    pub verify: fn(&Delivery<'_>, &[Key], Window) -> Result<Verified, SignatureError>,
    pub sign: fn(&Delivery<'_>, &Key, i64) -> Result<Vec<SignedHeader>, SignError>,
    /// For providers that carry their signature or token in the body (Mailgun, Figma): the body
    /// with it written in, for `inlet sign`, local sends and tests. `None` for every other
    /// provider. `sign` is then applied to the body this returns.
    pub sign_body: Option<SignBody>,
    /// Recognises a handshake that is not a signed delivery (Meta's and Okta's GET, Asana's
    /// `X-Hook-Secret`): `None` when the request is not one, so it is verified as a delivery.
    /// `keys` are the source's handshake secret where it has one (Meta's verify token, Asana's
    /// enrolment token), else its signing keys.
    pub unsigned_handshake: Option<UnsignedHandshake>,
    /// A verification secret and its signing secret made from any seed bytes, in the provider's
    /// formats: what tests and samples use.
    pub secrets_for_seed: fn(&[u8]) -> Secrets,
}

/// See [`Code::sign_body`].
pub type SignBody = fn(&[u8], &Key, i64) -> Result<Vec<u8>, SignError>;

/// See [`Code::unsigned_handshake`].
pub type UnsignedHandshake = fn(&Delivery<'_>, &[Key]) -> Option<Result<Handshake, SignatureError>>;

/// A verification secret and the secret that signs for it (equal for shared secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Secrets {
    pub verify: String,
    pub sign: String,
}

impl Secrets {
    /// A shared secret: the same text verifies and signs.
    pub fn shared(text: String) -> Self {
        Self {
            verify: text.clone(),
            sign: text,
        }
    }
}

/// The configured secret used as text: what most HMAC providers do.
pub fn text_key(secret: &str) -> Result<Key, KeyError> {
    Ok(Key::secret(secret.as_bytes()))
}

/// A text secret from seed bytes.
pub fn text_secrets(seed: &[u8]) -> Secrets {
    Secrets::shared(String::from_utf8_lossy(seed).into_owned())
}

/// What a scheme reads and signs, as far as headers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The header the signature or token is read from; `None` when it travels in the body.
    pub signature: Option<&'static str>,
    pub encoding: Option<Encoding>,
    pub timestamp_header: Option<&'static str>,
    pub id_header: Option<&'static str>,
    pub type_header: Option<&'static str>,
    /// Whether the id header is part of what is signed.
    pub signed_id: bool,
    pub signs_url: bool,
    pub signs_method: bool,
    /// Whether a replay window applies.
    pub timestamp: bool,
    /// Whether the key is a public key.
    pub asymmetric: bool,
    /// Whether the body's bytes are outside what authenticates a delivery: shared tokens, and
    /// signatures over body fields rather than the body (Mailgun).
    pub unsigned_body: bool,
    /// Whether the source configures a secret of its own for the unsigned handshake (Meta's
    /// verify token, Asana's enrolment token) rather than checking it with its signing keys.
    pub handshake_secret: bool,
    /// Whether an authentic handshake hands over the signing secret to keep (Asana, Notion), so
    /// the source's secret must be one the ingest function can write.
    pub enrols_secret: bool,
}

impl Facts {
    /// Nothing signed: the `none` scheme.
    pub const UNSIGNED: Self = Self {
        signature: None,
        encoding: None,
        timestamp_header: None,
        id_header: None,
        type_header: None,
        signed_id: false,
        signs_url: false,
        signs_method: false,
        timestamp: false,
        asymmetric: false,
        unsigned_body: false,
        handshake_secret: false,
        enrols_secret: false,
    };

    /// A signature in `header`, written in `encoding`, and nothing else: the start of most
    /// providers' facts.
    pub const fn signature(header: &'static str, encoding: Encoding) -> Self {
        Self {
            signature: Some(header),
            encoding: Some(encoding),
            ..Self::UNSIGNED
        }
    }
}

impl Provider {
    pub fn facts(&self) -> Facts {
        match &self.how {
            How::Hmac(custom) | How::Answering(custom, _) => custom.facts(),
            How::Token(token) => token.facts(),
            How::Code(code) => code.facts,
        }
    }

    /// What is signed, in a few words.
    pub fn signed(&self) -> String {
        match &self.how {
            How::Hmac(custom) | How::Answering(custom, _) => custom.describe(),
            How::Token(token) => token.describe(),
            How::Code(code) => code.signed.to_owned(),
        }
    }

    /// The configured secret's format.
    pub fn key_format(&self) -> &'static str {
        match &self.how {
            How::Hmac(custom) | How::Answering(custom, _) => custom.key_format(),
            How::Token(_) => "the shared token, as text",
            How::Code(code) => code.key_format,
        }
    }

    pub fn key(&self, secret: &str) -> Result<Key, KeyError> {
        match &self.how {
            How::Hmac(custom) | How::Answering(custom, _) => custom.key(secret),
            How::Token(_) => Ok(Key::secret(secret.as_bytes())),
            How::Code(code) => (code.key)(secret),
        }
    }

    pub fn signing_key(&self, secret: &str) -> Result<Key, KeyError> {
        match &self.how {
            How::Code(code) => (code.signing_key)(secret),
            _ => self.key(secret),
        }
    }

    pub fn verify(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
        window: Window,
    ) -> Result<Verified, SignatureError> {
        match &self.how {
            How::Hmac(custom) | How::Answering(custom, _) => custom.verify(delivery, keys, window),
            How::Token(token) => token.verify(delivery, keys),
            How::Code(code) => (code.verify)(delivery, keys, window),
        }
    }

    pub fn sign(
        &self,
        delivery: &Delivery<'_>,
        key: &Key,
        now: i64,
    ) -> Result<Vec<SignedHeader>, SignError> {
        match &self.how {
            How::Hmac(custom) | How::Answering(custom, _) => custom.sign(delivery, key, now),
            How::Token(token) => Ok(token.sign(key)),
            How::Code(code) => (code.sign)(delivery, key, now),
        }
    }

    /// The body with the signature written in, for providers that carry it there; `None` when
    /// the body stays as it is.
    pub fn sign_body(
        &self,
        body: &[u8],
        key: &Key,
        now: i64,
    ) -> Option<Result<Vec<u8>, SignError>> {
        match &self.how {
            How::Code(Code {
                sign_body: Some(sign_body),
                ..
            }) => Some(sign_body(body, key, now)),
            _ => None,
        }
    }

    /// Answers a handshake that is not a signed delivery; `None` when `delivery` is not one.
    pub fn unsigned_handshake(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
    ) -> Option<Result<Handshake, SignatureError>> {
        match &self.how {
            How::Code(Code {
                unsigned_handshake: Some(answer),
                ..
            })
            | How::Answering(_, answer) => answer(delivery, keys),
            _ => None,
        }
    }

    /// Secrets for tests and samples, made from `seed`.
    pub fn secrets_for_seed(&self, seed: &[u8]) -> Secrets {
        match &self.how {
            How::Hmac(custom) | How::Answering(custom, _) => {
                Secrets::shared(custom.secret_for_seed(seed))
            }
            How::Token(_) => Secrets::shared(String::from_utf8_lossy(seed).into_owned()),
            How::Code(code) => (code.secrets_for_seed)(seed),
        }
    }

    /// The catalogue row `inlet providers` prints.
    pub fn summary(&self) -> Summary {
        let facts = self.facts();
        Summary {
            name: self.name,
            aliases: self.aliases,
            title: self.title,
            signature_header: facts.signature,
            signed: self.signed(),
            key_format: self.key_format(),
            asymmetric: facts.asymmetric,
            timestamp: facts.timestamp,
            handshake: self.handshake,
            docs: self.docs,
            official_vectors: self.official_vectors,
        }
    }
}

impl std::fmt::Debug for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hmac(custom) => f.debug_tuple("Hmac").field(custom).finish(),
            Self::Answering(custom, _) => f.debug_tuple("Answering").field(custom).finish(),
            Self::Token(token) => f.debug_tuple("Token").field(token).finish(),
            Self::Code(code) => f.debug_tuple("Code").field(&code.signed).finish(),
        }
    }
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Provider").field(&self.name).finish()
    }
}

/// One provider as `inlet providers --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub title: &'static str,
    pub signature_header: Option<&'static str>,
    pub signed: String,
    pub key_format: &'static str,
    pub asymmetric: bool,
    pub timestamp: bool,
    pub handshake: Option<&'static str>,
    pub docs: &'static str,
    /// Whether its test vectors include one the provider or its official SDK published.
    pub official_vectors: bool,
}
