//! What `sign` and `verify` share: where the key comes from, and the delivery on the command line.

use crate::error::CliError;
use crate::globals::Globals;
use crate::sending::now_secs;
use clap::ArgGroup;
use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_core::config::SourceSchemas;
use inlet_signature::{Delivery, Key, Scheme};
use std::io::Read as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(group = ArgGroup::new("key").required(true).args(["source", "scheme"]))]
pub struct DeliveryArgs {
    /// Take the scheme, secrets and URL from this source in the config.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["scheme", "secret"])]
    pub source: Option<String>,
    /// A named scheme (github, stripe, standard-webhooks, …), with --secret.
    #[arg(long, value_name = "SCHEME", requires = "secret")]
    pub scheme: Option<String>,
    /// The secret, as the provider shows it (with --scheme). For a provider that signs with a
    /// key pair (discord, telnyx, sendgrid, standard-webhooks `whpk_`): the public key to
    /// verify, the private key to sign.
    #[arg(long, value_name = "VALUE", requires = "scheme")]
    pub secret: Option<String>,
    /// A request header, `Name: value`; repeatable.
    #[arg(long = "header", short = 'H', value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// The raw body (`-` reads stdin); without it the body is empty.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// The public URL the provider posts to, for schemes that sign it (twilio, square, hubspot). With
    /// --source it defaults to the source's configured url.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The HTTP method, for schemes that sign it (hubspot); default POST.
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// The time to sign or verify at, in seconds since the Unix epoch (default: now).
    #[arg(long, value_name = "EPOCH", allow_negative_numbers = true)]
    pub now: Option<i64>,
}

/// What the key is for: an asymmetric provider verifies with its public key and signs with the
/// private one, so `--secret` means a different key for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    Sign,
    Verify,
}

/// A delivery read from the command line, with the keys to sign or check it.
#[derive(Debug)]
pub struct Prepared {
    pub scheme: Scheme,
    /// Every key of the source (the first is the current one), or the one from --secret.
    pub keys: Vec<Key>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Option<String>,
    pub method: String,
    pub now: i64,
    /// The source's replay window, when the key came from a source.
    pub tolerance_secs: Option<u64>,
    /// The source's schemas (compiled), when the key came from a source.
    pub schemas: Option<SourceSchemas>,
}

impl Prepared {
    pub fn delivery(&self) -> Delivery<'_> {
        Delivery {
            headers: &self.headers,
            body: &self.body,
            url: self.url.as_deref(),
            method: &self.method,
            query: None,
        }
    }
}

impl DeliveryArgs {
    pub async fn prepare(&self, globals: &Globals, usage: KeyUse) -> Result<Prepared, CliError> {
        let headers = parse_headers(&self.headers)?;
        let body = self.read_body()?;
        let now = self.now.unwrap_or_else(now_secs);
        let (scheme, keys, configured_url, tolerance_secs, schemas) =
            match (&self.source, &self.scheme) {
                (Some(name), _) => {
                    let config = globals.load_config()?;
                    let source = globals.source(&config, name)?;
                    let keys = globals.resolver()?.source_keys(source).await?;
                    (
                        source.scheme.clone(),
                        keys,
                        source.url.clone(),
                        Some(source.tolerance_secs),
                        Some(source.schemas.clone()),
                    )
                }
                (None, Some(name)) => {
                    let scheme = named_scheme(name)?;
                    let secret = self.secret.as_deref().unwrap_or_default();
                    let key = match usage {
                        KeyUse::Verify => scheme.key(secret)?,
                        KeyUse::Sign => scheme.signing_key(secret)?,
                    };
                    (scheme, vec![key], None, None, None)
                }
                // clap's required group rules this out; say so rather than guess.
                (None, None) => {
                    return Err(CliError::Usage(
                        "give --source NAME, or --scheme SCHEME with --secret VALUE".into(),
                    ));
                }
            };
        if self.url.is_some() && !scheme.signs_url() {
            return Err(CliError::Usage(format!(
                "--url: the {} scheme does not sign the URL",
                scheme.name()
            )));
        }
        let url = self.url.clone().or(configured_url);
        // A source has its url from the config (validation requires it); --scheme has only
        // --url. Said here, naming the option, for sign and verify alike, rather than by the
        // scheme's "pass one" or a verdict about a source there is none of.
        if scheme.signs_url() && url.is_none() {
            return Err(CliError::Usage(format!(
                "--url: the {} scheme signs the public URL the provider posts to: give it with \
                 --url URL, exactly as configured at the provider",
                scheme.name()
            )));
        }
        let method = match &self.method {
            None => "POST".to_owned(),
            Some(method) if scheme.signs_method() => method.to_ascii_uppercase(),
            Some(_) => {
                return Err(CliError::Usage(format!(
                    "--method: the {} scheme does not sign the method",
                    scheme.name()
                )));
            }
        };
        Ok(Prepared {
            scheme,
            keys,
            headers,
            body,
            url,
            method,
            now,
            tolerance_secs,
            schemas,
        })
    }

    fn read_body(&self) -> Result<Vec<u8>, CliError> {
        match &self.body_file {
            None => Ok(Vec::new()),
            Some(path) if path.as_os_str() == "-" => {
                let mut body = Vec::new();
                std::io::stdin()
                    .lock()
                    .read_to_end(&mut body)
                    .map_err(CliError::io(path))?;
                Ok(body)
            }
            Some(path) => std::fs::read(path).map_err(CliError::io(path)),
        }
    }
}

/// A scheme that needs no settings beyond its secret.
fn named_scheme(name: &str) -> Result<Scheme, CliError> {
    match name {
        "hmac" => Err(CliError::Usage(
            "--scheme hmac: its header, algorithm and encoding live in the config; use --source"
                .into(),
        )),
        "none" => Err(CliError::Usage(
            "--scheme none: unsigned deliveries have nothing to sign or verify".into(),
        )),
        _ => Scheme::named(name).ok_or_else(|| {
            CliError::Usage(format!(
                "--scheme {name}: unknown scheme; expected one of {} (`inlet providers` \
                 describes each)",
                inlet_signature::registry::names()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }),
    }
}

/// `Name: value` lines into a header map; repeated names are kept, as HTTP allows.
pub fn parse_headers(lines: &[String]) -> Result<HeaderMap, CliError> {
    let mut headers = HeaderMap::new();
    for line in lines {
        let bad = || CliError::Header(line.clone());
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
        headers.append(name, value);
    }
    Ok(headers)
}
