//! `inlet events`: regenerate `events/ingest/*.json`, the API Gateway events the ingest tests and
//! `sam local invoke` use, from the sample payloads and `events/ingest.toml`.
//!
//! Everything is a function of the inputs and `--now`, which defaults to a fixed epoch, so a
//! regeneration changes a file only when its payload, case, secret or the signing code changed.

mod apigw;
mod cases;

use crate::Report;
use crate::error::CliError;
use crate::globals::{Globals, LazySecretsManager};
use crate::payload::{EventId, Payload, Rendered};
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use cases::Case;
use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_core::config::Config;
use inlet_core::secrets::SecretResolver;
use inlet_signature::{Delivery, Key};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// 2026-11-22T13:00:00Z: when API Gateway "receives" every fixture unless --now says otherwise.
pub const FIXTURE_EPOCH: i64 = 1_795_352_400;

/// Where deliveries come from when a case does not say: an address in TEST-NET-2.
const DEFAULT_SOURCE_IP: &str = "198.51.100.23";

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// The directory holding payloads/ and ingest.toml.
    #[arg(long, value_name = "DIR", default_value = "events")]
    pub from: PathBuf,
    /// Where to write ingest/ (default: the --from directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// When API Gateway receives the requests, in seconds since the Unix epoch.
    #[arg(long, value_name = "EPOCH", default_value_t = FIXTURE_EPOCH)]
    pub now: i64,
}

/// What generating needs, loaded once.
struct Generator<'a> {
    globals: &'a Globals,
    config: Config,
    resolver: SecretResolver<LazySecretsManager>,
    from: &'a Path,
    now: i64,
    keys: HashMap<String, Vec<Key>>,
    payloads: HashMap<String, Payload>,
}

pub async fn run(globals: &Globals, args: &EventsArgs) -> Result<Report, CliError> {
    let manifest = args.from.join("ingest.toml");
    let cases = cases::load(&manifest)?;
    let mut generator = Generator {
        globals,
        config: globals.load_config()?,
        resolver: globals.resolver()?,
        from: &args.from,
        now: args.now,
        keys: HashMap::new(),
        payloads: HashMap::new(),
    };
    let out = args.out.as_ref().unwrap_or(&args.from).join("ingest");
    std::fs::create_dir_all(&out).map_err(CliError::io(&out))?;
    let mut report = String::new();
    let mut written = BTreeSet::new();
    for case in &cases {
        let event = generator.event(case).await.map_err(|error| match error {
            // Name the case, not just the file, when the case itself is at fault.
            Generate::Case(why) => {
                CliError::fixture(&manifest, format!("case {:?}: {why}", case.name))
            }
            Generate::Cli(error) => error,
        })?;
        let mut text = serde_json::to_string_pretty(&event)
            .map_err(|e| CliError::fixture(&manifest, e.to_string()))?;
        text.push('\n');
        // The point of these files is that Lambda can read them: refuse to write one it cannot.
        serde_json::from_str::<ApiGatewayV2httpRequest>(&text).map_err(|e| {
            CliError::fixture(
                &manifest,
                format!(
                    "case {:?}: not readable as an HTTP API event: {e}",
                    case.name
                ),
            )
        })?;
        let file_name = format!("{}.json", case.name);
        let path = out.join(&file_name);
        std::fs::write(&path, text).map_err(CliError::io(&path))?;
        let _ = writeln!(report, "wrote {}", path.display());
        written.insert(file_name);
    }
    for stale in stale_files(&out, &written)? {
        std::fs::remove_file(&stale).map_err(CliError::io(&stale))?;
        let _ = writeln!(
            report,
            "removed {} (no case for it in {})",
            stale.display(),
            manifest.display()
        );
    }
    Ok(Report::ok(report))
}

/// Files in the generated directory that no case produces any more.
fn stale_files(out: &Path, written: &BTreeSet<String>) -> Result<Vec<PathBuf>, CliError> {
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(out).map_err(CliError::io(out))? {
        let entry = entry.map_err(CliError::io(out))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !written.contains(&name) {
            stale.push(entry.path());
        }
    }
    stale.sort();
    Ok(stale)
}

enum Generate {
    /// The case asks for something that cannot be done.
    Case(String),
    Cli(CliError),
}

impl From<CliError> for Generate {
    fn from(error: CliError) -> Self {
        Self::Cli(error)
    }
}

impl Generator<'_> {
    fn payload(&mut self, name: &str) -> Result<Payload, CliError> {
        if let Some(payload) = self.payloads.get(name) {
            return Ok(payload.clone());
        }
        let path = self.from.join("payloads").join(format!("{name}.json"));
        let payload = Payload::load(&path)?;
        self.payloads.insert(name.to_owned(), payload.clone());
        Ok(payload)
    }

    async fn keys(&mut self, source_name: &str) -> Result<Vec<Key>, CliError> {
        if let Some(keys) = self.keys.get(source_name) {
            return Ok(keys.clone());
        }
        let source = self.globals.source(&self.config, source_name)?;
        let keys = self.resolver.source_keys(source).await?;
        self.keys.insert(source_name.to_owned(), keys.clone());
        Ok(keys)
    }

    async fn event(&mut self, case: &Case) -> Result<apigw::HttpApiEvent, Generate> {
        // A replay is signed (and its body timestamps filled in) before it is received.
        let signed_at = self.now.saturating_sub(case.signed_secs_before);
        let (signer, mut delivery) = match (&case.payload, &case.source) {
            (Some(name), _) => {
                let payload = self.payload(name)?;
                // Every case made from a payload is the same event (a replay, a tampered copy, a
                // rotation), whose id is the payload's at --now: regenerating reproduces it.
                let id = EventId::derived(name, self.now);
                let rendered = payload
                    .render_with(signed_at, id)
                    .map_err(|why| Generate::Case(format!("payload {name}: {why}")))?;
                (payload.source, rendered)
            }
            (None, Some(source)) => (
                source.clone(),
                Rendered {
                    headers: Vec::new(),
                    body: Vec::new(),
                },
            ),
            (None, None) => return Err(Generate::Case("needs a payload or a source".into())),
        };
        delivery
            .headers
            .extend(case.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(size) = case.pad_to {
            pad(&mut delivery.body, size).map_err(Generate::Case)?;
        }
        if case.sign {
            self.sign(case, &signer, &mut delivery, signed_at).await?;
        }
        if let Some([from, to]) = &case.tamper {
            tamper(&mut delivery.body, from, to).map_err(Generate::Case)?;
        }
        let request = apigw::Request {
            id_seed: &case.name,
            method: &case.method,
            source: case.source.as_deref().unwrap_or(&signer),
            route_key: case.route_key.as_deref().unwrap_or(apigw::ROUTE_KEY),
            headers: &delivery.headers,
            body: &delivery.body,
            force_base64: case.base64,
            source_ip: case.source_ip.as_deref().unwrap_or(DEFAULT_SOURCE_IP),
            received_at: self.now,
        };
        Ok(request.event())
    }

    /// Adds the signature headers, as the provider would, with the case's secret of `signer`.
    async fn sign(
        &mut self,
        case: &Case,
        signer: &str,
        delivery: &mut Rendered,
        signed_at: i64,
    ) -> Result<(), Generate> {
        let keys = self.keys(signer).await?;
        let key = keys.get(case.secret).ok_or_else(|| {
            Generate::Case(format!(
                "secret = {}, but source {signer} has {} secret(s)",
                case.secret,
                keys.len()
            ))
        })?;
        let source = self.globals.source(&self.config, signer)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &delivery.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| Generate::Case(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| Generate::Case(format!("invalid value for header {name}")))?;
            headers.append(name, value);
        }
        let added = source
            .scheme
            .sign(
                &Delivery {
                    headers: &headers,
                    body: &delivery.body,
                    url: source.url.as_deref(),
                    method: "POST",
                    query: None,
                },
                key,
                signed_at,
            )
            .map_err(CliError::from)?;
        for (name, value) in added {
            delivery.headers.push((
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
        Ok(())
    }
}

/// Grows a JSON object body to exactly `size` bytes with a `padding` string, which compresses to
/// almost nothing in git.
fn pad(body: &mut Vec<u8>, size: usize) -> Result<(), String> {
    if body.first() != Some(&b'{') || body.last() != Some(&b'}') {
        return Err("pad_to needs a compact JSON object body".into());
    }
    let field: &[u8] = if body.len() == 2 {
        b"\"padding\":\""
    } else {
        b",\"padding\":\""
    };
    // The body keeps its `}` and gains the field, its filler and the filler's closing quote.
    let filler = size
        .checked_sub(body.len() + field.len() + 1)
        .ok_or_else(|| format!("pad_to = {size} is smaller than the body"))?;
    body.pop();
    body.extend_from_slice(field);
    body.resize(body.len() + filler, b'x');
    body.extend_from_slice(b"\"}");
    Ok(())
}

/// Replaces the first `from` in the body with `to`, as an attacker who cannot re-sign would.
fn tamper(body: &mut Vec<u8>, from: &str, to: &str) -> Result<(), String> {
    let from = from.as_bytes();
    let at = body
        .windows(from.len().max(1))
        .position(|window| window == from)
        .filter(|_| !from.is_empty())
        .ok_or_else(|| {
            format!(
                "tamper: {:?} is not in the body",
                String::from_utf8_lossy(from)
            )
        })?;
    body.splice(at..at + from.len(), to.bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_reaches_the_exact_size() {
        for start in [&b"{}"[..], br#"{"a":1}"#] {
            let mut body = start.to_vec();
            pad(&mut body, 100).unwrap();
            assert_eq!(body.len(), 100);
            serde_json::from_slice::<serde_json::Value>(&body).unwrap();
        }
        assert!(pad(&mut br#"{"a":1}"#.to_vec(), 5).is_err());
        assert!(pad(&mut b"a=1".to_vec(), 100).is_err());
    }

    #[test]
    fn tampering_needs_the_text_to_be_there() {
        let mut body = b"amount=100&amount=100".to_vec();
        tamper(&mut body, "100", "1").unwrap();
        assert_eq!(body, b"amount=1&amount=100");
        assert!(tamper(&mut body, "999", "1").is_err());
        assert!(tamper(&mut body, "", "1").is_err());
    }
}
