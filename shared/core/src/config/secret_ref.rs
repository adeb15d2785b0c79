//! Secret references: where a secret lives, never its value.

use std::fmt;

/// Where a secret lives. The value itself is resolved at start-up, never written in the config.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    SecretsManager {
        id: String,
        json_key: Option<String>,
    },
}

impl SecretRef {
    /// Reads `env:NAME` or `secretsmanager:<name-or-ARN>[#json-key]`. Anything else is refused,
    /// above all a literal value: a secret pasted into the config would end up in the template.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if let Some(name) = text.strip_prefix("env:") {
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err("`env:` needs a variable name of letters, digits and `_`".into());
            }
            return Ok(Self::Env(name.to_owned()));
        }
        if let Some(rest) = text.strip_prefix("secretsmanager:") {
            let (id, json_key) = match rest.split_once('#') {
                Some((id, key)) if !key.is_empty() => (id, Some(key.to_owned())),
                Some(_) => return Err("`#` must be followed by a JSON key".into()),
                None => (rest, None),
            };
            if id.is_empty() {
                return Err("`secretsmanager:` needs a secret name or ARN".into());
            }
            return Ok(Self::SecretsManager {
                id: id.to_owned(),
                json_key,
            });
        }
        if text.is_empty() {
            return Err("empty secret reference".into());
        }
        Err(
            "a secret must be a reference, `env:NAME` or `secretsmanager:NAME[#key]`, \
             never the value itself"
                .into(),
        )
    }
}

/// The reference is not secret, but printing it beside values is a habit worth not forming.
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::SecretsManager { id, json_key } => match json_key {
                Some(key) => write!(f, "secretsmanager:{id}#{key}"),
                None => write!(f, "secretsmanager:{id}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_parse() {
        assert_eq!(
            SecretRef::parse("secretsmanager:inlet/stripe#signing_secret"),
            Ok(SecretRef::SecretsManager {
                id: "inlet/stripe".into(),
                json_key: Some("signing_secret".into())
            })
        );
        assert_eq!(
            SecretRef::parse("secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:x"),
            Ok(SecretRef::SecretsManager {
                id: "arn:aws:secretsmanager:eu-west-1:1:secret:x".into(),
                json_key: None
            })
        );
        assert_eq!(
            SecretRef::parse("env:GH_2"),
            Ok(SecretRef::Env("GH_2".into()))
        );
        assert!(SecretRef::parse("secretsmanager:").is_err());
        assert!(SecretRef::parse("secretsmanager:x#").is_err());
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("env:A-B").is_err());
        assert!(SecretRef::parse("").is_err());
        assert!(SecretRef::parse("hunter2").is_err());
    }

    #[test]
    fn debug_shows_the_reference_as_written() {
        let reference = SecretRef::parse("secretsmanager:inlet/stripe#signing_secret").unwrap();
        assert_eq!(
            format!("{reference:?}"),
            "secretsmanager:inlet/stripe#signing_secret"
        );
        assert_eq!(format!("{:?}", SecretRef::Env("GH".into())), "env:GH");
    }
}
