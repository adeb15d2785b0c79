//! `inlet send`: sign a delivery as its provider would, at the current time, and post it.

use crate::Report;
use crate::delivery::parse_headers;
use crate::error::CliError;
use crate::globals::Globals;
use crate::payload::{self, Payload};
use crate::sending::{self, now_secs, sign};
use crate::state::Target;
use clap::ArgGroup;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Where `inlet dev` listens unless told otherwise.
const DEFAULT_BASE_URL: &str = "http://127.0.0.1:3000";

#[derive(Debug, clap::Args)]
#[command(group = ArgGroup::new("what").args(["event", "body"]))]
pub struct SendArgs {
    /// The source in the config whose current secret signs the delivery.
    pub source: String,
    /// A sample from the payloads directory, by file name (`github-push`) or a part of it
    /// (`push`). Default: the source's first sample.
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
    /// Send this raw body instead of a sample (`-` reads stdin).
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// An extra request header, `Name: value`; repeatable. With --body, give the provider's event
    /// and id headers this way.
    #[arg(long = "header", short = 'H', value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// Post the same signed delivery this many times, as a provider's redeliveries would. A
    /// sample is one new event per run: its `{{id}}` is fresh, and shared by the copies.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub times: u32,
    /// Where to post (default: the running `inlet dev`'s /webhooks/SOURCE, as .inlet/stack.json
    /// records it, else http://127.0.0.1:3000/webhooks/SOURCE).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The directory of sample payloads.
    #[arg(long, value_name = "DIR", default_value = "events/payloads")]
    pub payloads: PathBuf,
    /// Sign with this secret instead of the source's (as the provider shows it): to see a
    /// delivery signed with the wrong or a rotated-out secret refused.
    #[arg(long, value_name = "VALUE", conflicts_with = "unsigned")]
    pub secret: Option<String>,
    /// Send without a signature header.
    #[arg(long)]
    pub unsigned: bool,
    /// Sign (and render the sample) as of this many seconds ago: past the source's
    /// tolerance_secs, a timestamped scheme refuses it as stale.
    #[arg(long, value_name = "SECS", conflicts_with = "unsigned")]
    pub stale: Option<u32>,
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The sample to send: by exact name, else the one of this source whose name holds `name`,
/// else the source's first.
fn choose_payload(
    dir: &Path,
    source: &str,
    name: Option<&str>,
) -> Result<(PathBuf, Payload), CliError> {
    if let Some(name) = name {
        let exact = dir.join(format!("{name}.json"));
        if exact.is_file() {
            let payload = Payload::load(&exact)?;
            return Ok((exact, payload));
        }
    }
    let mut all = Vec::new();
    for path in payload::files(dir)? {
        let payload = Payload::load(&path)?;
        all.push((path, payload));
    }
    let of_source: Vec<_> = all.iter().filter(|(_, p)| p.source == source).collect();
    let Some(name) = name else {
        return of_source
            .first()
            .map(|(path, payload)| (path.clone(), payload.clone()))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "no sample for source `{source}` in {}: give --event NAME or --body FILE",
                    dir.display()
                ))
            });
    };
    let wanted = name.to_lowercase();
    let matches = |list: Vec<&(PathBuf, Payload)>| -> Vec<(PathBuf, Payload)> {
        list.into_iter()
            .filter(|(path, _)| stem(path).to_lowercase().contains(&wanted))
            .cloned()
            .collect()
    };
    let mut found = matches(of_source.clone());
    if found.is_empty() {
        found = matches(all.iter().collect());
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            // The source's samples if it has any, else every one: what the user can pick.
            let listed: Vec<String> = if of_source.is_empty() {
                all.iter().map(|(path, _)| stem(path)).collect()
            } else {
                of_source.iter().map(|(path, _)| stem(path)).collect()
            };
            let whose = if of_source.is_empty() {
                String::new()
            } else {
                format!(" for {source}")
            };
            Err(CliError::Usage(format!(
                "unknown sample `{name}`; samples in {}{whose}: {}",
                dir.display(),
                listed.join(", ")
            )))
        }
        _ => Err(CliError::Usage(format!(
            "--event {name}: several samples match ({}); give the whole name",
            found
                .iter()
                .map(|(path, _)| stem(path))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A body from a file, or standard input for `-`.
pub(crate) fn read_body(path: &Path) -> Result<Vec<u8>, CliError> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut body)
            .map_err(CliError::io(path))?;
        return Ok(body);
    }
    std::fs::read(path).map_err(CliError::io(path))
}

/// The key to sign with, and why not to sign when there is none to use.
fn signing_key(
    args: &SendArgs,
    source: &inlet_core::config::Source,
    extra: &http::HeaderMap,
) -> Result<Signing, CliError> {
    if args.unsigned {
        return Ok(Signing::Not);
    }
    // A signature given with -H is what the user wants tested: sent as given, never replaced.
    if let Some(header) = source.scheme.signature_header()
        && extra.contains_key(&header)
    {
        return Ok(Signing::AsGiven(header));
    }
    match &args.secret {
        Some(secret) => Ok(Signing::With(source.scheme.signing_key(secret)?)),
        None => Ok(Signing::Configured),
    }
}

/// How `inlet send` signs.
#[derive(Debug)]
enum Signing {
    /// With the source's current (first) secret.
    Configured,
    /// With --secret.
    With(inlet_signature::Key),
    /// Not at all: --unsigned.
    Not,
    /// Not at all: the user gave this signature header with -H.
    AsGiven(http::HeaderName),
}

pub async fn run(globals: &Globals, args: &SendArgs) -> Result<Report, CliError> {
    let config = globals.load_config()?;
    let source = globals.source(&config, &args.source)?;
    let extra = parse_headers(&args.headers)?;
    let signing = signing_key(args, source, &extra)?;
    let keys = match signing {
        // Only the configured secret needs resolving: with --secret or no signature, a missing
        // variable or an unreachable Secrets Manager is no reason to refuse.
        Signing::Configured => globals.resolver()?.source_keys(source).await?,
        _ => Vec::new(),
    };
    let key = match &signing {
        Signing::Configured => keys.first(),
        Signing::With(key) => Some(key),
        Signing::Not => None,
        Signing::AsGiven(header) => {
            eprintln!("inlet: sending your {header} as given, not signing");
            None
        }
    };
    // With --stale, the whole delivery is as of then: a sample's own timestamps agree with
    // its signature, so the only thing wrong with it is its age.
    let now = now_secs() - i64::from(args.stale.unwrap_or(0));
    let (mut headers, body) = match &args.body {
        Some(path) => {
            let body = read_body(path)?;
            let mut headers = Vec::new();
            if !extra.contains_key(http::header::CONTENT_TYPE)
                && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok()
            {
                headers.push(("content-type".to_owned(), "application/json".to_owned()));
            }
            (headers, body)
        }
        None => {
            let (path, payload) =
                choose_payload(&args.payloads, &args.source, args.event.as_deref())?;
            // A new event id each run: the same id with a body rendered at another time would
            // be a conflict, not a redelivery. The --times copies below share this rendering.
            let rendered = payload
                .render(now)
                .map_err(|why| CliError::fixture(&path, why))?;
            (rendered.headers, rendered.body)
        }
    };
    // The command line's headers replace the sample's of the same name.
    for name in extra.keys() {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_str()));
    }
    for (name, value) in &extra {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.push((name.as_str().to_owned(), value));
    }
    // A source signs with its first secret: during a rotation that is the new one.
    let signed = sign(source, key, &headers, body, now)?;
    // The running `inlet dev`'s address (`make dev LISTEN=…` moves it), else its default.
    let stack = Target::local_stack();
    let guessed = args.url.is_none() && stack.is_none();
    let url = args.url.clone().unwrap_or_else(|| {
        let base = stack.map_or_else(|| DEFAULT_BASE_URL.to_owned(), |s| s.listen);
        sending::webhook_url(&base, &args.source)
    });
    let client = sending::client(inlet_local::emulator::is_loopback_url(&url))?;
    let mut report = String::new();
    let mut all_accepted = true;
    for attempt in 1..=args.times {
        let (status, text) = sending::post(&client, &url, &signed)
            .await
            .map_err(|error| {
                if error.is_connect() && guessed {
                    // Nothing recorded and nothing at the default address: no stack to send to.
                    return CliError::Failed(format!(
                        "no running stack at {url}: start one with `make dev`, or give --url URL"
                    ));
                }
                CliError::Failed(format!(
                    "POST {url}: {}{}",
                    inlet_local::one_line(&error),
                    if error.is_connect() {
                        " (is `inlet dev` running?)"
                    } else {
                        ""
                    }
                ))
            })?;
        all_accepted &= status.is_success();
        let prefix = if args.times > 1 {
            format!("[{attempt}/{}] ", args.times)
        } else {
            String::new()
        };
        let _ = writeln!(report, "{prefix}{status} {}", text.trim_end());
    }
    Ok(Report {
        stdout: report,
        code: if all_accepted { 0 } else { 1 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("events")
            .join("payloads")
    }

    #[test]
    fn samples_are_found_by_name_part_or_source() {
        let dir = samples();
        let (path, _) = choose_payload(&dir, "github", None).unwrap();
        assert_eq!(stem(&path), "github-push");
        let (path, _) = choose_payload(&dir, "github", Some("star")).unwrap();
        assert_eq!(stem(&path), "github-star");
        let (path, _) = choose_payload(&dir, "github", Some("stripe-invoice-paid")).unwrap();
        assert_eq!(stem(&path), "stripe-invoice-paid");
        assert!(choose_payload(&dir, "github", Some("no-such-thing")).is_err());
        assert!(choose_payload(&dir, "nobody", None).is_err());
    }
}
