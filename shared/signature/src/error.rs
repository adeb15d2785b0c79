//! Why a delivery, a secret or a signing request was refused: each with the stable code or
//! message its caller shows.

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
    /// A GET that is not this provider's handshake, or a provider that answers none.
    #[error("{0}")]
    NotAHandshake(&'static str),
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
            Self::NotAHandshake(_) => "handshake_invalid",
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
    /// The provider publishes its key in one format, and this is not it.
    #[error("expected {0}")]
    Format(&'static str),
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
    #[error("this is a public key, which verifies but cannot sign: pass the private key")]
    PublicKey,
    #[error("the body must be {0} to be signed this way")]
    Body(&'static str),
}
