//! Resolving secret references, and the per-source key ring that caches them.
//!
//! Every reference is resolved at start-up, so a missing secret stops the function before it
//! serves anything (fail closed). Secrets Manager values are then re-read after the refresh
//! interval, so a rotation reaches running functions without a redeploy; if a re-read fails, the
//! keys in hand stay in use and the failure is logged.

use crate::config::{Config, SecretRef, Source};
use crate::ports::{SecretStore, SecretStoreError};
use inlet_signature::{Key, KeyError};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{0}` is not set")]
    EnvMissing(String),
    #[error("secret `{id}`: {source}")]
    Store {
        id: String,
        #[source]
        source: SecretStoreError,
    },
    #[error("secret `{id}` is not a JSON object with the string key `{key}`")]
    JsonKey { id: String, key: String },
    #[error("`{0:?}` resolved to an empty value")]
    Empty(SecretRef),
    #[error("sources.{0}.secrets[0]: not a Secrets Manager secret a handshake can write")]
    NotWritable(String),
    #[error("sources.{source_name}.secrets[{index}]: {error}")]
    Key {
        source_name: String,
        index: usize,
        error: KeyError,
    },
}

/// Where `env:` references are looked up.
#[derive(Debug, Clone, Default)]
pub enum Env {
    /// The process environment.
    #[default]
    Process,
    /// A fixed map, for tests and for the local stack's `--env-file`.
    Map(HashMap<String, String>),
}

impl Env {
    pub fn get(&self, name: &str) -> Option<String> {
        match self {
            Self::Process => std::env::var(name).ok(),
            Self::Map(map) => map.get(name).cloned(),
        }
    }

    /// Reads `NAME=value` lines (blank lines and `#` comments skipped; no quotes or expansion).
    pub fn parse_file(text: &str) -> HashMap<String, String> {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect()
    }
}

/// Turns references into values.
#[derive(Debug)]
pub struct SecretResolver<S> {
    env: Env,
    store: S,
}

impl<S: SecretStore> SecretResolver<S> {
    pub fn new(env: Env, store: S) -> Self {
        Self { env, store }
    }

    pub async fn resolve(&self, reference: &SecretRef) -> Result<String, SecretError> {
        let value =
            match reference {
                SecretRef::Env(name) => self
                    .env
                    .get(name)
                    .ok_or_else(|| SecretError::EnvMissing(name.clone()))?,
                SecretRef::SecretsManager { id, json_key } => {
                    let text = self.store.secret_string(id).await.map_err(|source| {
                        SecretError::Store {
                            id: id.clone(),
                            source,
                        }
                    })?;
                    match json_key {
                        None => text,
                        Some(key) => serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|json| json.get(key)?.as_str().map(str::to_owned))
                            .ok_or_else(|| SecretError::JsonKey {
                                id: id.clone(),
                                key: key.clone(),
                            })?,
                    }
                }
            };
        if value.is_empty() {
            return Err(SecretError::Empty(reference.clone()));
        }
        Ok(value)
    }

    /// The keys of one source, in the order its secrets are listed, and its handshake secret's.
    async fn resolve_source(&self, source: &Source) -> Result<Resolved, SecretError> {
        let keys = self.source_keys(source).await?;
        let handshake = match &source.handshake_secret {
            // Compared as a token: the text itself, whatever the scheme's key format.
            Some(reference) => vec![Key::secret(self.resolve(reference).await?.into_bytes())],
            None => Vec::new(),
        };
        Ok(Resolved { keys, handshake })
    }

    /// The keys of one source, in the order its secrets are listed.
    pub async fn source_keys(&self, source: &Source) -> Result<Vec<Key>, SecretError> {
        let mut keys = Vec::with_capacity(source.secrets.len());
        for (index, reference) in source.secrets.iter().enumerate() {
            let value = self.resolve(reference).await?;
            let key = source
                .scheme
                .key(&value)
                .map_err(|error| SecretError::Key {
                    source_name: source.name.clone(),
                    index,
                    error,
                })?;
            keys.push(key);
        }
        Ok(keys)
    }
}

struct Resolved {
    keys: Vec<Key>,
    handshake: Vec<Key>,
}

#[derive(Debug)]
struct Entry {
    keys: Arc<[Key]>,
    /// The handshake secret's key, for providers whose handshake has its own secret.
    handshake: Arc<[Key]>,
    loaded_at: Instant,
}

/// Every source's keys, resolved once and refreshed lazily.
#[derive(Debug)]
pub struct KeyRing<S> {
    resolver: SecretResolver<S>,
    refresh_every: Duration,
    entries: HashMap<String, RwLock<Entry>>,
}

impl<S: SecretStore> KeyRing<S> {
    /// Resolves every source's secrets; any failure is a start-up error.
    pub async fn load(config: &Config, resolver: SecretResolver<S>) -> Result<Self, SecretError> {
        let mut entries = HashMap::with_capacity(config.sources.len());
        let now = Instant::now();
        for source in config.sources.values() {
            let resolved = resolver.resolve_source(source).await?;
            entries.insert(
                source.name.clone(),
                RwLock::new(Entry {
                    keys: resolved.keys.into(),
                    handshake: resolved.handshake.into(),
                    loaded_at: now,
                }),
            );
        }
        Ok(Self {
            resolver,
            refresh_every: Duration::from_secs(config.defaults.secret_refresh_secs),
            entries,
        })
    }

    /// Overrides the refresh interval (tests use zero to refresh on every call).
    pub fn with_refresh_every(mut self, every: Duration) -> Self {
        self.refresh_every = every;
        self
    }

    fn needs_store(source: &Source) -> bool {
        source
            .secrets
            .iter()
            .chain(&source.handshake_secret)
            .any(|r| matches!(r, SecretRef::SecretsManager { .. }))
    }

    /// The source's keys, re-read first when they are older than the refresh interval. The
    /// process environment cannot change under a running function, so `env:` keys never are.
    pub async fn keys(&self, source: &Source) -> Arc<[Key]> {
        self.entry(source, |entry| Arc::clone(&entry.keys)).await
    }

    /// Keeps a signing secret that a provider's authentic handshake handed over (Asana, Notion)
    /// as the source's first secret, and verifies with it from the next request on. Other
    /// running functions pick it up at their next refresh.
    pub async fn install(&self, source: &Source, value: &str) -> Result<(), SecretError> {
        let key = source.scheme.key(value).map_err(|error| SecretError::Key {
            source_name: source.name.clone(),
            index: 0,
            error,
        })?;
        let Some(SecretRef::SecretsManager { id, json_key: None }) = source.secrets.first() else {
            return Err(SecretError::NotWritable(source.name.clone()));
        };
        self.resolver
            .store
            .put_secret_string(id, value)
            .await
            .map_err(|error| SecretError::Store {
                id: id.clone(),
                source: error,
            })?;
        if let Some(slot) = self.entries.get(&source.name) {
            let mut entry = slot.write().unwrap_or_else(PoisonError::into_inner);
            let rest = entry.keys.iter().skip(1).cloned();
            entry.keys = std::iter::once(key).chain(rest).collect();
            entry.loaded_at = Instant::now();
        }
        Ok(())
    }

    /// The key of the source's handshake secret, refreshed like its signing keys; empty when it
    /// has none.
    pub async fn handshake_keys(&self, source: &Source) -> Arc<[Key]> {
        self.entry(source, |entry| Arc::clone(&entry.handshake))
            .await
    }

    async fn entry(&self, source: &Source, pick: fn(&Entry) -> Arc<[Key]>) -> Arc<[Key]> {
        let Some(slot) = self.entries.get(&source.name) else {
            return Arc::from(Vec::new());
        };
        let (keys, due) = {
            let entry = slot.read().unwrap_or_else(PoisonError::into_inner);
            let due = entry.loaded_at.elapsed() >= self.refresh_every && Self::needs_store(source);
            (pick(&entry), due)
        };
        if !due {
            return keys;
        }
        let fresh = self.resolver.resolve_source(source).await;
        let mut entry = slot.write().unwrap_or_else(PoisonError::into_inner);
        // Whether or not it worked, wait a full interval before asking the store again.
        entry.loaded_at = Instant::now();
        match fresh {
            Ok(fresh) => {
                entry.keys = fresh.keys.into();
                entry.handshake = fresh.handshake.into();
                pick(&entry)
            }
            Err(error) => {
                tracing::warn!(source = %source.name, %error, "secret refresh failed; keeping the keys in hand");
                keys
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::memory::MemorySecrets;

    fn config(secret: &str) -> Config {
        Config::parse(&format!(
            "[sources.billing]\nscheme = \"stripe\"\nsecrets = [\"{secret}\"]\n"
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn env_and_json_references_resolve() {
        let env = Env::Map(HashMap::from([("A".into(), "alpha".into())]));
        let store = MemorySecrets::new([(
            "inlet/stripe".into(),
            r#"{"signing_secret":"whsec_x"}"#.into(),
        )]);
        let resolver = SecretResolver::new(env, store);
        assert_eq!(
            resolver.resolve(&SecretRef::Env("A".into())).await.unwrap(),
            "alpha"
        );
        let json = SecretRef::parse("secretsmanager:inlet/stripe#signing_secret").unwrap();
        assert_eq!(resolver.resolve(&json).await.unwrap(), "whsec_x");
        let missing_key = SecretRef::parse("secretsmanager:inlet/stripe#other").unwrap();
        assert!(matches!(
            resolver.resolve(&missing_key).await,
            Err(SecretError::JsonKey { .. })
        ));
        assert!(matches!(
            resolver.resolve(&SecretRef::Env("B".into())).await,
            Err(SecretError::EnvMissing(name)) if name == "B"
        ));
    }

    #[tokio::test]
    async fn a_missing_secret_fails_start_up() {
        let resolver = SecretResolver::new(Env::Map(HashMap::new()), MemorySecrets::default());
        let error = KeyRing::load(&config("env:NOPE"), resolver)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("NOPE"));
    }

    #[tokio::test]
    async fn rotation_reaches_the_ring_after_the_interval_and_outages_keep_old_keys() {
        let store = MemorySecrets::new([("s".into(), "first".into())]);
        let config = config("secretsmanager:s");
        let resolver = SecretResolver::new(Env::Process, store.clone());
        let ring = KeyRing::load(&config, resolver).await.unwrap();
        let source = config.source("billing").unwrap();

        store.set("s", "second");
        assert_eq!(
            ring.keys(source).await[0].as_bytes(),
            b"first",
            "cached within the interval"
        );

        let ring = ring.with_refresh_every(Duration::ZERO);
        assert_eq!(ring.keys(source).await[0].as_bytes(), b"second");

        store.set_down(true);
        assert_eq!(
            ring.keys(source).await[0].as_bytes(),
            b"second",
            "an outage keeps the keys in hand"
        );
    }

    #[tokio::test]
    async fn env_keys_are_never_re_read() {
        let env = Env::Map(HashMap::from([("A".into(), "alpha".into())]));
        let config = config("env:A");
        let store = MemorySecrets::default();
        let ring = KeyRing::load(&config, SecretResolver::new(env, store.clone()))
            .await
            .unwrap()
            .with_refresh_every(Duration::ZERO);
        let source = config.source("billing").unwrap();
        assert_eq!(ring.keys(source).await[0].as_bytes(), b"alpha");
        assert_eq!(store.reads(), 0);
    }

    #[test]
    fn env_files_parse() {
        let vars = Env::parse_file("# local\nA=1\n\n B = x=y \n");
        assert_eq!(vars.get("A").map(String::as_str), Some("1"));
        assert_eq!(vars.get("B").map(String::as_str), Some("x=y"));
    }
}
