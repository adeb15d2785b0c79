//! Options every command shares: where the config is, and where `env:` secrets come from.

use crate::error::CliError;
use inlet_aws::{self as aws, SecretsManager};
use inlet_core::config::{Config, Source};
use inlet_core::ports::{SecretStore, SecretStoreError};
use inlet_core::secrets::{Env, SecretResolver};
use std::collections::HashMap;
use std::path::PathBuf;
use tokio::sync::OnceCell;

#[derive(Debug, clap::Args)]
pub struct Globals {
    /// The config file.
    #[arg(long, global = true, value_name = "FILE", default_value = "inlet.toml")]
    pub config: PathBuf,
    /// NAME=value lines for `env:` secret references (e.g. local.env); a variable set in the
    /// process environment wins, so a real secret can be passed without editing the file.
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

impl Globals {
    pub fn load_config(&self) -> Result<Config, CliError> {
        Ok(Config::load(&self.config)?)
    }

    pub fn source<'c>(&self, config: &'c Config, name: &str) -> Result<&'c Source, CliError> {
        config.source(name).ok_or_else(|| CliError::UnknownSource {
            name: name.to_owned(),
            config: self.config.display().to_string(),
            known: config
                .sources
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The variables `env:` references read: --env-file's, overridden by the environment's.
    pub fn variables(&self) -> Result<HashMap<String, String>, CliError> {
        let mut vars: HashMap<String, String> = HashMap::new();
        if let Some(path) = &self.env_file {
            let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
            vars.extend(Env::parse_file(&text));
        }
        vars.extend(std::env::vars());
        Ok(vars)
    }

    fn env(&self) -> Result<Env, CliError> {
        Ok(Env::Map(self.variables()?))
    }

    pub fn resolver(&self) -> Result<SecretResolver<LazySecretsManager>, CliError> {
        Ok(SecretResolver::new(
            self.env()?,
            LazySecretsManager::default(),
        ))
    }

    /// A resolver whose `secretsmanager:` references go to `store` (the local stack's emulator).
    pub fn resolver_with<S: SecretStore>(&self, store: S) -> Result<SecretResolver<S>, CliError> {
        Ok(SecretResolver::new(self.env()?, store))
    }
}

/// Secrets Manager, reached only when a `secretsmanager:` reference is resolved: loading the AWS
/// config can wait on credential and region discovery, which a purely local run should never pay.
#[derive(Debug, Default)]
pub struct LazySecretsManager(OnceCell<SecretsManager>);

impl LazySecretsManager {
    async fn store(&self) -> &SecretsManager {
        self.0
            .get_or_init(|| async { SecretsManager::from_config(&aws::sdk_config().await) })
            .await
    }
}

impl SecretStore for LazySecretsManager {
    async fn secret_string(&self, id: &str) -> Result<String, SecretStoreError> {
        self.store().await.secret_string(id).await
    }

    async fn put_secret_string(&self, id: &str, value: &str) -> Result<(), SecretStoreError> {
        self.store().await.put_secret_string(id, value).await
    }
}
