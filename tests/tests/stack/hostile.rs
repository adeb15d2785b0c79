//! Hostile input over real HTTP: `inlet dev` (the built binary, against its own emulator) gets a
//! corpus of malformed, forged, replayed, oversized and misdirected requests, written byte for
//! byte on raw TCP so that requests no well-behaved client would send can be sent too. Every one
//! must get its exact status and JSON `error` code; afterwards nothing may have been queued or
//! processed, the server must still run without having panicked, and a genuine delivery must
//! still be accepted.
//!
//! The binary is `target/debug/inlet` (or `$INLET_BIN`): build it first with
//! `cargo build -p inlet-cli` (`make test` does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_core::config::Config;
use inlet_local::{self as local, StackSettings};
use inlet_signature::{Delivery, Encoding, Key, Scheme};
use inlet_testkit::providers;
use inlet_testkit::providers::named;
use inlet_testkit::{Dev, Emulator, Scratch};
use std::io::Write as _;
use std::ops::Range;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

// ---- the stack under attack ----

/// Every source the config declares: (name, secret variable, secret). Sources sharing a scheme
/// have different secrets, except `fenced` and `small`, which exist for their own limits.
const SOURCES: &[(&str, &str, &str)] = &[
    ("github", "INLET_HOSTILE_GITHUB", "hostile-github-secret"),
    (
        "github-other",
        "INLET_HOSTILE_GITHUB_OTHER",
        "hostile-other-github-secret",
    ),
    (
        "stripe",
        "INLET_HOSTILE_STRIPE",
        "whsec_hostile_stripe_secret",
    ),
    (
        "svix",
        "INLET_HOSTILE_SVIX",
        "whsec_aG9zdGlsZS1zdGFuZGFyZC13ZWJob29rcy1rZXk=",
    ),
    ("shopify", "INLET_HOSTILE_SHOPIFY", "hostile-shopify-secret"),
    ("slack", "INLET_HOSTILE_SLACK", "hostile-slack-secret"),
    ("twilio", "INLET_HOSTILE_TWILIO", "hostile-twilio-token"),
    (
        "paddle",
        "INLET_HOSTILE_PADDLE",
        "pdl_ntfset_hostile_paddle",
    ),
    ("zendesk", "INLET_HOSTILE_ZENDESK", "hostile-zendesk-secret"),
    ("square", "INLET_HOSTILE_SQUARE", "hostile-square-key"),
    ("linear", "INLET_HOSTILE_LINEAR", "hostile-linear-secret"),
    ("twitch", "INLET_HOSTILE_TWITCH", "hostile-twitch-secret"),
    ("crm", "INLET_HOSTILE_CRM", "hostile-crm-secret"),
    ("fenced", "INLET_HOSTILE_GITHUB", "hostile-github-secret"),
    ("small", "INLET_HOSTILE_GITHUB", "hostile-github-secret"),
];

/// One source per scheme (as `inlet.toml` has), a second GitHub source with its own secret for
/// the confused deputy, one fenced off by address and one with a tiny body limit. No routes:
/// process completes whatever reaches it, which the table would then show.
const CONFIG: &str = r#"
[defaults]
tolerance_secs = 300

[sources.github]
scheme = "github"
secrets = ["env:INLET_HOSTILE_GITHUB"]

[sources.github-other]
scheme = "github"
secrets = ["env:INLET_HOSTILE_GITHUB_OTHER"]

[sources.stripe]
scheme = "stripe"
secrets = ["env:INLET_HOSTILE_STRIPE"]

[sources.svix]
scheme = "standard-webhooks"
secrets = ["env:INLET_HOSTILE_SVIX"]

[sources.shopify]
scheme = "shopify"
secrets = ["env:INLET_HOSTILE_SHOPIFY"]

[sources.slack]
scheme = "slack"
secrets = ["env:INLET_HOSTILE_SLACK"]

[sources.twilio]
scheme = "twilio"
secrets = ["env:INLET_HOSTILE_TWILIO"]
url = "https://hooks.example.com/webhooks/twilio"

[sources.paddle]
scheme = "paddle"
secrets = ["env:INLET_HOSTILE_PADDLE"]

[sources.zendesk]
scheme = "zendesk"
secrets = ["env:INLET_HOSTILE_ZENDESK"]

[sources.square]
scheme = "square"
secrets = ["env:INLET_HOSTILE_SQUARE"]
url = "https://hooks.example.com/webhooks/square"

[sources.linear]
scheme = "linear"
secrets = ["env:INLET_HOSTILE_LINEAR"]
tolerance_secs = 60

[sources.twitch]
scheme = "twitch"
secrets = ["env:INLET_HOSTILE_TWITCH"]
tolerance_secs = 600

[sources.crm]
scheme = "hmac"
header = "X-Signature"
algorithm = "sha256"
encoding = "hex"
prefix = "sha256="
timestamp_header = "X-Timestamp"
id_header = "X-Event-Id"
type_pointer = "/event"
secrets = ["env:INLET_HOSTILE_CRM"]
allow_ips = ["127.0.0.0/8", "::1/128"]

[sources.fenced]
scheme = "github"
secrets = ["env:INLET_HOSTILE_GITHUB"]
allow_ips = ["203.0.113.0/24"]

[sources.small]
scheme = "github"
secrets = ["env:INLET_HOSTILE_GITHUB"]
max_body_bytes = 1024
"#;

/// The per-source limit every source but `small` has (the default: what API Gateway can hand
/// Lambda).
const MAX_BODY: usize = inlet_core::config::MAX_BODY_BYTES;
/// `inlet dev` refuses bodies over this before any source is looked at, as API Gateway does.
const MAX_REQUEST: usize = 10 * 1024 * 1024;

fn secret_variables() -> Vec<&'static str> {
    SOURCES.iter().map(|(_, variable, _)| *variable).collect()
}

fn env_file() -> String {
    let mut lines: Vec<String> = SOURCES
        .iter()
        .map(|(_, variable, secret)| format!("{variable}={secret}\n"))
        .collect();
    lines.dedup();
    lines.concat()
}

fn now_secs() -> i64 {
    inlet_signature::clock::epoch_millis(SystemTime::now()).div_euclid(1000)
}

/// A source as the test signs for it: its configured scheme, key and public URL, and the headers
/// its scheme reads (from `inlet_signature::Scheme`, so they cannot disagree with the pipeline).
#[derive(Debug, Clone)]
struct Src {
    name: &'static str,
    scheme: Scheme,
    key: Key,
    url: Option<String>,
    tolerance: i64,
    signature_header: HeaderName,
    timestamp_header: Option<HeaderName>,
}

impl Src {
    fn is(&self, name: &str) -> bool {
        self.name == name
    }

    /// Where the scheme keeps its timestamp, for schemes that give it a header of its own.
    fn timestamp_header(&self) -> Option<&str> {
        self.timestamp_header.as_ref().map(HeaderName::as_str)
    }

    fn signature_header(&self) -> &str {
        self.signature_header.as_str()
    }

    fn base64(&self) -> bool {
        self.scheme.signature_encoding() == Some(Encoding::Base64)
    }

    /// Where the encoded signature sits in the signature header, inside its framing.
    fn encoded_span(&self, text: &str) -> Range<usize> {
        providers::encoded_range(&self.scheme, text)
    }

    /// Whether the scheme's timestamp is RFC 3339 text rather than epoch seconds.
    fn rfc3339(&self) -> bool {
        providers::writes_rfc3339(&self.scheme)
    }
}

fn sources(config: &Config) -> Vec<Src> {
    SOURCES
        .iter()
        .map(|(name, _, secret)| {
            let source = config.source(name).unwrap();
            let scheme = source.scheme.clone();
            Src {
                name,
                key: scheme.key(secret).unwrap(),
                url: source.url.clone(),
                tolerance: i64::try_from(source.tolerance_secs).unwrap(),
                signature_header: scheme
                    .signature_header()
                    .expect("every source here is signed"),
                timestamp_header: scheme.timestamp_header(),
                scheme,
            }
        })
        .collect()
}

/// The sources of the confused-deputy matrix: one per scheme, plus GitHub under another secret.
const MATRIX: &[&str] = &[
    "github",
    "github-other",
    "stripe",
    "svix",
    "shopify",
    "slack",
    "twilio",
    "paddle",
    "zendesk",
    "square",
    "linear",
    "twitch",
    "crm",
];

// ---- requests, written as bytes (the registry-wide corpus in `providers` sends them too) ----

/// An HTTP/1.1 request; `bytes` adds Host, Content-Length and Connection: close.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    fn post(path: impl Into<String>) -> Self {
        Self {
            method: "POST".into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    pub(crate) fn text(&self, name: &str) -> String {
        String::from_utf8(self.get(name).unwrap_or_default().to_vec()).unwrap()
    }

    pub(crate) fn remove(&mut self, name: &str) -> &mut Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Replaces every copy of the header.
    pub(crate) fn set(&mut self, name: &str, value: impl Into<Vec<u8>>) -> &mut Self {
        self.remove(name);
        self.add(name, value)
    }

    /// Adds one more copy of the header.
    pub(crate) fn add(&mut self, name: &str, value: impl Into<Vec<u8>>) -> &mut Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub(crate) fn with(mut self, edit: impl FnOnce(&mut Self)) -> Self {
        edit(&mut self);
        self
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            self.method, self.path
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(
            format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        out
    }
}

#[derive(Debug)]
enum Wire {
    Http(Request),
    /// Bytes sent as they are: requests the builder cannot express.
    Raw(Vec<u8>),
    /// Bytes sent as they are, then the end of the stream (a half-close): a request cut short.
    CutShort(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Ingest's refusal: this status, `{"error": code, "message": …}`.
    Refused(u16, &'static str),
    /// A 405 to HEAD: the JSON refusal's headers, and no body (HTTP never has one for HEAD).
    HeadRefused,
    /// A HEAD answered as a handshake (Trello's): this status, and no body.
    HeadAnswered(u16),
    /// hyper's own answer, with no body, to bytes that are not an HTTP/1.1 request at all (or
    /// whose head is past hyper's limits): the service never sees them, as API Gateway would
    /// never pass them to the Lambda either.
    Transport(u16),
    /// The connection closed with no answer: what hyper does with an HTTP/2 preface.
    Closed,
}

#[derive(Debug)]
struct Case {
    what: String,
    wire: Wire,
    expect: Expect,
}

fn case(what: impl Into<String>, request: Request, status: u16, code: &'static str) -> Case {
    Case {
        what: what.into(),
        wire: Wire::Http(request),
        expect: Expect::Refused(status, code),
    }
}

fn raw(what: impl Into<String>, bytes: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case {
        what: what.into(),
        wire: Wire::Raw(bytes.into()),
        expect,
    }
}

fn cut_short(what: impl Into<String>, bytes: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case {
        what: what.into(),
        wire: Wire::CutShort(bytes.into()),
        expect,
    }
}

#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Writes `bytes` on a new connection (then half-closes it when `cut` says so) and reads until
/// the server closes: `None` when it closed or reset without answering.
pub(crate) async fn exchange(port: u16, bytes: Vec<u8>, cut: bool) -> Option<Response> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // Concurrently: a server that answers before reading everything must not deadlock us.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&bytes).await;
        if cut {
            let _ = writer.shutdown().await;
        }
        writer
    });
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), reader.read_to_end(&mut received))
        .await
        .expect("the server neither answered nor closed within 60 s");
    // Held until the answer is read, so the half-closed socket is not dropped early.
    let _writer = writing.await.unwrap();
    if read.is_err() && received.is_empty() {
        return None;
    }
    let end = received.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Response {
        status,
        headers,
        body: received[end + 4..].to_vec(),
    })
}

/// What is wrong with `response` for `expect`, if anything.
pub(crate) fn check(expect: Expect, response: Option<&Response>) -> Result<(), String> {
    let Some(response) = response else {
        return match expect {
            Expect::Closed => Ok(()),
            _ => Err("closed without an answer".into()),
        };
    };
    let got = || {
        format!(
            "{} {}",
            response.status,
            String::from_utf8_lossy(&response.body[..response.body.len().min(300)])
        )
    };
    match expect {
        Expect::Refused(status, code) => {
            let json: serde_json::Value = serde_json::from_slice(&response.body)
                .map_err(|_| format!("not JSON: {}", got()))?;
            let fits = response.status == status
                && response.header("content-type") == Some("application/json")
                && json["error"] == code
                && json["message"].is_string()
                && (status != 405 || response.header("allow") == Some("POST"));
            if fits { Ok(()) } else { Err(got()) }
        }
        Expect::HeadRefused => {
            let fits = response.status == 405
                && response.header("allow") == Some("POST")
                && response.header("content-type") == Some("application/json")
                && response.body.is_empty();
            if fits { Ok(()) } else { Err(got()) }
        }
        Expect::Transport(status) | Expect::HeadAnswered(status)
            if response.status == status && response.body.is_empty() =>
        {
            Ok(())
        }
        Expect::HeadAnswered(_) => Err(got()),
        Expect::Transport(_) | Expect::Closed => Err(got()),
    }
}

// ---- signing ----

/// A JSON body carrying every field a scheme reads (Linear's millisecond timestamp first, so
/// cases can rewrite it), or Twilio's form.
fn body_for(src: &Src, at: i64, id: &str) -> Vec<u8> {
    match src.scheme.name() {
        "twilio" => b"CallSid=CA1&From=%2B15551230000&Body=hello+world".to_vec(),
        _ => linear_body(&(at * 1000).to_string(), id).into_bytes(),
    }
}

fn linear_body(timestamp_json: &str, id: &str) -> String {
    format!(
        r#"{{"webhookTimestamp":{timestamp_json},"id":"{id}","event_id":"{id}","type":"thing.created","event_type":"thing.created","event":"thing.created","data":{{"n":1}}}}"#
    )
}

/// What the provider sends besides the signature: content type, and the event id and type under
/// the headers the scheme reads them from.
fn unsigned_headers(src: &Src, id: &str) -> Vec<(String, Vec<u8>)> {
    let content_type = match src.scheme.name() {
        "twilio" => "application/x-www-form-urlencoded",
        _ => "application/json",
    };
    let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
    if let Some(name) = src.scheme.id_header() {
        headers.push((name.as_str().to_owned(), id.to_owned()));
    }
    if let Some(name) = src.scheme.type_header() {
        headers.push((name.as_str().to_owned(), "thing.created".to_owned()));
    }
    if src.scheme == named("twitch") {
        // A notification, not the subscription handshake.
        headers.push((
            "twitch-eventsub-message-type".to_owned(),
            "notification".to_owned(),
        ));
    }
    headers
        .into_iter()
        .map(|(n, v)| (n, v.into_bytes()))
        .collect()
}

/// `request` (its headers, body and, for the URL-signing schemes, its query) signed for `src`
/// with `key` at `at`: the signature headers replace any the request has.
fn sign_with(src: &Src, key: &Key, request: Request, at: i64) -> Request {
    try_sign_with(src, key, request, at)
        .unwrap_or_else(|e| panic!("{}: cannot sign: {e}", src.name))
}

/// [`sign_with`], or why the scheme cannot sign this request (Linear, a body without its
/// timestamp).
fn try_sign_with(
    src: &Src,
    key: &Key,
    mut request: Request,
    at: i64,
) -> Result<Request, inlet_signature::SignError> {
    let mut map = HeaderMap::new();
    for (name, value) in &request.headers {
        map.append(
            HeaderName::try_from(name.as_str()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let url = src
        .url
        .as_ref()
        .map(|base| match request.path.split_once('?') {
            Some((_, query)) => format!("{base}?{query}"),
            None => base.clone(),
        });
    let added = src.scheme.sign(
        &Delivery {
            headers: &map,
            body: &request.body,
            url: url.as_deref(),
            method: "POST",
            query: None,
        },
        key,
        at,
    )?;
    for (name, value) in added {
        request.set(name.as_str(), value.as_bytes());
    }
    Ok(request)
}

fn sign(src: &Src, request: Request, at: i64) -> Request {
    sign_with(src, &src.key, request, at)
}

/// A genuine delivery for `src`, signed at `at`: what its provider would send.
fn genuine_at(src: &Src, at: i64, id: &str) -> Request {
    let request = Request {
        method: "POST".into(),
        path: format!("/webhooks/{}", src.name),
        headers: unsigned_headers(src, id),
        body: body_for(src, at, id),
    };
    sign(src, request, at)
}

fn genuine(src: &Src, now: i64) -> Request {
    genuine_at(src, now, &format!("hostile-{}", src.name))
}

/// `request` with its body replaced, signed again: the signature is right for what is sent.
fn resigned(src: &Src, request: Request, body: impl Into<Vec<u8>>, now: i64) -> Request {
    let mut request = request;
    request.body = body.into();
    sign(src, request, now)
}

/// A well-formed signature that no configured secret made.
fn stranger_key(src: &Src) -> Key {
    src.scheme
        .key("whsec_bm90IHRoZSBjb25maWd1cmVkIHNlY3JldA==")
        .unwrap()
}

/// The signature header with its encoded signature replaced by `encoded`, framing kept.
fn with_encoded(src: &Src, request: &Request, encoded: &str) -> Request {
    let name = src.signature_header();
    let text = request.text(name);
    let changed = providers::replace_range(&text, src.encoded_span(&text), encoded);
    request.clone().with(|r| {
        r.set(name, changed);
    })
}

fn encoded(src: &Src, request: &Request) -> String {
    let text = request.text(src.signature_header());
    text[src.encoded_span(&text)].to_owned()
}

/// Rewrites where the scheme keeps its timestamp, leaving the signature as it was.
fn with_timestamp(src: &Src, request: &Request, text: &str) -> Request {
    let mut request = request.clone();
    if let Some(header) = src.timestamp_header() {
        request.set(header, text);
        return request;
    }
    let name = src.signature_header();
    match src.scheme.name() {
        "stripe" | "paddle" => {
            let signature = request.text(name);
            let (marker, separator) = if src.is("stripe") {
                ("t=", ',')
            } else {
                ("ts=", ';')
            };
            let start = signature.find(marker).unwrap() + marker.len();
            let end = start + signature[start..].find(separator).unwrap();
            let changed = format!("{}{text}{}", &signature[..start], &signature[end..]);
            request.set(name, changed);
        }
        "linear" => {
            request.body = linear_body(text, "hostile-linear").into_bytes();
        }
        _ => unreachable!("{} has no timestamp", src.name),
    }
    request
}

// ---- the corpus, by category ----

/// Missing, empty, repeated, mis-encoded and wrong signatures, for every scheme.
fn signature_cases(srcs: &[Src], now: i64) -> Vec<Case> {
    let mut cases = Vec::new();
    for src in srcs.iter().filter(|s| MATRIX.contains(&s.name)) {
        let good = genuine(src, now);
        let name = src.signature_header();
        let signature = good.text(name);
        let sig = encoded(src, &good);
        let what = |w: &str| format!("{}: {w}", src.name);
        let missing = "signature_missing";
        let malformed = "signature_malformed";
        let mismatch = "signature_mismatch";

        cases.push(case(
            what("no signature header"),
            good.clone().with(|r| {
                r.remove(name);
            }),
            401,
            missing,
        ));
        for blank in ["", "   ", "\t"] {
            cases.push(case(
                what(&format!("signature header {blank:?}")),
                good.clone().with(|r| {
                    r.set(name, blank);
                }),
                401,
                missing,
            ));
        }
        cases.push(case(
            what("the signature header twice, identical copies"),
            good.clone().with(|r| {
                r.add(name, signature.clone());
            }),
            401,
            malformed,
        ));
        cases.push(case(
            what("the signature header twice, a decoy first"),
            good.clone().with(|r| {
                r.remove(name)
                    .add(name, "decoy")
                    .add(name, signature.clone());
            }),
            401,
            malformed,
        ));
        cases.push(case(
            what("the signature is punctuation"),
            good.clone().with(|r| {
                r.set(name, "!!!!");
            }),
            401,
            malformed,
        ));
        cases.push(case(
            what("a well-formed signature from another secret"),
            sign_with(src, &stranger_key(src), good.clone(), now),
            401,
            mismatch,
        ));
        cases.push(case(
            what("the signature cut short by one character"),
            with_encoded(src, &good, &sig[..sig.len() - 1]),
            401,
            malformed,
        ));
        // Obs-text: HTTP allows these bytes in a value, but no signature holds them.
        cases.push(case(
            what("Latin-1 bytes in the signature"),
            good.clone().with(|r| {
                let mut bytes = signature.clone().into_bytes();
                bytes.insert(bytes.len() / 2, 0xe9);
                r.set(name, bytes);
            }),
            401,
            malformed,
        ));
        cases.push(case(
            what("invalid UTF-8 in the signature"),
            good.clone().with(|r| {
                let mut bytes = signature.clone().into_bytes();
                bytes.extend_from_slice(b"\xc3\x28\xff");
                r.set(name, bytes);
            }),
            401,
            malformed,
        ));
        cases.push(case(
            what("64 KiB of junk as the signature"),
            good.clone().with(|r| {
                r.set(name, "!".repeat(64 * 1024));
            }),
            401,
            malformed,
        ));
        // Well encoded, only absurdly long: no digest has that length, so every scheme calls it
        // malformed (issue 22), whatever comparison it makes.
        cases.push(case(
            what("256 KiB of well-encoded digits as the signature"),
            with_encoded(src, &good, &"a".repeat(256 * 1024)),
            401,
            malformed,
        ));
        if src.base64() {
            for (how, bad) in [
                (
                    "base64url alphabet",
                    sig.replace('+', "-").replace('/', "_") + "-_",
                ),
                ("padding removed", sig.trim_end_matches('=').to_owned()),
                ("padding only", "====".to_owned()),
                ("a space inside", format!("{} {}", &sig[..8], &sig[8..])),
            ] {
                cases.push(case(
                    what(&format!("bad base64 signature ({how})")),
                    with_encoded(src, &good, &bad),
                    401,
                    malformed,
                ));
            }
            // Hex digits are base64 digits too: this decodes, to bytes of the wrong length.
            cases.push(case(
                what("the signature as hex where base64 belongs"),
                with_encoded(src, &good, &hex_of_base64(&sig)),
                401,
                malformed,
            ));
        } else {
            for (how, bad) in [
                ("odd length", format!("{sig}a")),
                ("letters past f", "g".repeat(sig.len())),
                ("0x prefix", format!("0x{sig}")),
                ("base64 where hex belongs", "q83vEjRWeJA=".to_owned()),
            ] {
                cases.push(case(
                    what(&format!("bad hex signature ({how})")),
                    with_encoded(src, &good, &bad),
                    401,
                    malformed,
                ));
            }
        }
        cases.push(case(
            what("a space appended to the body after signing"),
            good.clone().with(|r| r.body.push(b' ')),
            401,
            mismatch,
        ));
    }
    cases
}

/// The hex digits of a base64 signature's bytes.
fn hex_of_base64(sig: &str) -> String {
    // The bytes do not matter, only that the text is hex of a plausible length.
    sig.bytes().take(32).map(|b| format!("{b:02x}")).collect()
}

/// Each scheme's own framing and versions, and the headers the signature covers besides its own.
fn scheme_specific_cases(srcs: &[Src], now: i64) -> Vec<Case> {
    let src = |name: &str| srcs.iter().find(|s| s.is(name)).unwrap();
    let mut cases = Vec::new();

    let github = src("github");
    let good = genuine(github, now);
    let sig = encoded(github, &good);
    cases.push(case(
        "github: only the legacy SHA-1 X-Hub-Signature",
        good.clone().with(|r| {
            r.remove(github.signature_header())
                .set("x-hub-signature", format!("sha1={}", &sig[..40]));
        }),
        401,
        "signature_missing",
    ));
    for framing in [format!("sha1={sig}"), format!("sha512={sig}"), sig.clone()] {
        cases.push(case(
            format!(
                "github: signature framed as {}",
                &framing[..framing.len().min(9)]
            ),
            good.clone().with(|r| {
                r.set(github.signature_header(), framing.clone());
            }),
            401,
            "signature_malformed",
        ));
    }

    let stripe = src("stripe");
    let good = genuine(stripe, now);
    let sig = encoded(stripe, &good);
    let many: Vec<String> = (0..17).map(|_| format!("v1={sig}")).collect();
    for (what, text, code) in [
        (
            "only a v0 signature",
            format!("t={now},v0={sig}"),
            "signature_malformed",
        ),
        ("no t=", format!("v1={sig}"), "signature_malformed"),
        // The same t= again is a group per secret (Persona's rotation); two that differ leave
        // it open which one was signed.
        (
            "two different t=",
            format!("t={now},t={},v1={sig}", now + 1),
            "signature_malformed",
        ),
        (
            "an item without =",
            format!("t={now},v1,{sig}"),
            "signature_malformed",
        ),
        (
            "17 v1 signatures",
            format!("t={now},{}", many.join(",")),
            "signature_malformed",
        ),
        (
            "semicolons (Paddle's layout)",
            format!("t={now};v1={sig}"),
            "signature_malformed",
        ),
        // Nothing is no digest's length.
        ("an empty v1", format!("t={now},v1="), "signature_malformed"),
    ] {
        cases.push(case(
            format!("stripe: {what}"),
            good.clone().with(|r| {
                r.set(stripe.signature_header(), text);
            }),
            401,
            code,
        ));
    }

    let paddle = src("paddle");
    let good = genuine(paddle, now);
    let sig = encoded(paddle, &good);
    for (what, text) in [
        ("commas (Stripe's layout)", format!("ts={now},h1={sig}")),
        ("no ts=", format!("h1={sig}")),
        ("only an h2 signature", format!("ts={now};h2={sig}")),
        (
            "two different ts=",
            format!("ts={now};h1={sig};ts={}", now + 1),
        ),
    ] {
        cases.push(case(
            format!("paddle: {what}"),
            good.clone().with(|r| {
                r.set(paddle.signature_header(), text);
            }),
            401,
            "signature_malformed",
        ));
    }

    let svix = src("svix");
    let good = genuine(svix, now);
    let sig = encoded(svix, &good);
    let id = svix.scheme.id_header().unwrap();
    let id = id.as_str();
    let signature = svix.signature_header();
    for (what, request, code) in [
        (
            "no webhook-id",
            good.clone().with(|r| {
                r.remove(id);
            }),
            "signature_missing",
        ),
        (
            "webhook-id twice",
            good.clone().with(|r| {
                r.add(id, "msg_other");
            }),
            "signature_malformed",
        ),
        (
            "another webhook-id than was signed",
            good.clone().with(|r| {
                r.set(id, "msg_other");
            }),
            "signature_mismatch",
        ),
        (
            "only v1a (asymmetric) signatures",
            good.clone().with(|r| {
                r.set(signature, format!("v1a,{sig}"));
            }),
            "signature_malformed",
        ),
        (
            "a v2 signature",
            good.clone().with(|r| {
                r.set(signature, format!("v2,{sig}"));
            }),
            "signature_malformed",
        ),
        (
            "v1 without a comma",
            good.clone().with(|r| {
                r.set(signature, format!("v1{sig}"));
            }),
            "signature_malformed",
        ),
        (
            // Svix's names, but its id and timestamp under the standard ones: not a set.
            "svix-signature with webhook-id and webhook-timestamp",
            good.clone().with(|r| {
                let text = r.text(signature);
                r.remove(signature).set("svix-signature", text);
            }),
            "signature_missing",
        ),
    ] {
        cases.push(case(format!("svix: {what}"), request, 401, code));
    }

    let slack = src("slack");
    let good = genuine(slack, now);
    let sig = encoded(slack, &good);
    cases.push(case(
        "slack: v1= instead of v0=",
        good.clone().with(|r| {
            r.set(slack.signature_header(), format!("v1={sig}"));
        }),
        401,
        "signature_malformed",
    ));
    // The handshake is answered only once the signature checks out.
    let challenge = Request::post("/webhooks/slack").with(|r| {
        r.set("content-type", "application/json");
        r.body = br#"{"type":"url_verification","challenge":"steal-me"}"#.to_vec();
    });
    cases.push(case(
        "slack: an unsigned url_verification",
        challenge.clone(),
        401,
        "signature_missing",
    ));
    cases.push(case(
        "slack: a url_verification signed with another secret",
        sign_with(slack, &stranger_key(slack), challenge, now),
        401,
        "signature_mismatch",
    ));

    let twitch = src("twitch");
    let good = genuine(twitch, now);
    let id = twitch.scheme.id_header().unwrap();
    let id = id.as_str();
    cases.push(case(
        "twitch: no message id",
        good.clone().with(|r| {
            r.remove(id);
        }),
        401,
        "signature_missing",
    ));
    cases.push(case(
        "twitch: another message id than was signed",
        good.clone().with(|r| {
            r.set(id, "someone-else");
        }),
        401,
        "signature_mismatch",
    ));
    let verification = Request::post("/webhooks/twitch").with(|r| {
        r.set("content-type", "application/json")
            .set(id, "challenge-1")
            .set(
                "twitch-eventsub-message-type",
                "webhook_callback_verification",
            );
        r.body = br#"{"challenge":"steal-me","subscription":{}}"#.to_vec();
    });
    cases.push(case(
        "twitch: an unsigned challenge",
        verification.clone().with(|r| {
            r.set(
                twitch.timestamp_header().unwrap(),
                inlet_signature::clock::format_rfc3339_secs(now),
            );
        }),
        401,
        "signature_missing",
    ));
    cases.push(case(
        "twitch: a challenge signed with another secret",
        sign_with(twitch, &stranger_key(twitch), verification, now),
        401,
        "signature_mismatch",
    ));

    let twilio = src("twilio");
    let good = genuine(twilio, now);
    let query = |q: &str| {
        let mut r = good.clone();
        r.path = format!("/webhooks/twilio?{q}");
        r
    };
    for (what, request, code) in [
        // Twilio signs the URL: a query it did not sign changes what is signed.
        (
            "a query added to the signed URL",
            query("x=1"),
            "signature_mismatch",
        ),
        (
            "a bodySHA256 that is not hex",
            query("bodySHA256=not-hex"),
            "signature_malformed",
        ),
        (
            "a bodySHA256 of another body",
            query(&format!("bodySHA256={}", "ab".repeat(32))),
            "signature_mismatch",
        ),
        (
            // Content-Type is not signed: a JSON body is covered only through bodySHA256.
            "a form delivery relabelled as JSON",
            good.clone().with(|r| {
                r.set("content-type", "application/json");
            }),
            "signature_malformed",
        ),
        (
            "a form parameter changed after signing",
            good.clone()
                .with(|r| r.body = b"CallSid=CA1&From=%2B15551230000&Body=goodbye".to_vec()),
            "signature_mismatch",
        ),
    ] {
        cases.push(case(format!("twilio: {what}"), request, 401, code));
    }

    let square = src("square");
    let mut moved = genuine(square, now);
    moved.path = "/webhooks/square?via=elsewhere".into();
    cases.push(case(
        "square: a query added to the signed URL",
        moved,
        401,
        "signature_mismatch",
    ));

    let crm = src("crm");
    let good = genuine(crm, now);
    let sig = encoded(crm, &good);
    cases.push(case(
        "crm: the signature without its configured prefix",
        good.clone().with(|r| {
            r.set(crm.signature_header(), sig.clone());
        }),
        401,
        "signature_malformed",
    ));
    cases.push(case(
        "crm: a SHA-1 length signature",
        with_encoded(crm, &good, &sig[..40]),
        401,
        "signature_malformed",
    ));
    cases
}

/// Replays, clocks far off, and timestamps that are not timestamps, for every timestamped scheme.
fn timestamp_cases(srcs: &[Src], now: i64) -> Vec<Case> {
    let mut cases = Vec::new();
    let out = "timestamp_out_of_tolerance";
    for src in srcs.iter().filter(|s| s.scheme.has_timestamp()) {
        let what = |w: &str| format!("{}: {w}", src.name);
        let id = format!("hostile-{}", src.name);
        for (how, at) in [
            ("replayed an hour later", now - 3600),
            ("replayed 30 s past the window", now - src.tolerance - 30),
            ("signed an hour in the future", now + 3600),
        ] {
            cases.push(case(what(how), genuine_at(src, at, &id), 401, out));
        }

        let good = genuine(src, now);
        // How each kind of timestamp writes a few instants, and things that are none.
        // Far-off instants are out of the window; what is not an instant is malformed.
        let stamps: [(&str, &str); 4] = if src.rfc3339() {
            [
                ("1970-01-01T00:00:00Z", out),
                ("9999-12-31T23:59:59Z", out),
                ("2025-13-45T25:61:61Z", "signature_malformed"),
                ("-001-01-01T00:00:00Z", "signature_malformed"),
            ]
        } else if src.is("linear") {
            // A JSON value in the body: a number of milliseconds, or text that must be one.
            [
                ("0", out),
                ("9223372036854775807", out),
                ("\"yesterday\"", "signature_malformed"),
                ("\"1e12\"", "signature_malformed"),
            ]
        } else {
            [
                ("0", out),
                ("999999999999", out),
                ("yesterday", "signature_malformed"),
                ("-60", "signature_malformed"),
            ]
        };
        for (text, code) in stamps {
            cases.push(case(
                what(&format!("timestamp {text}")),
                with_timestamp(src, &good, text),
                401,
                code,
            ));
        }
        if src.rfc3339() {
            for text in [
                // No zone: which instant it names is a guess.
                inlet_signature::clock::format_rfc3339_secs(now)
                    .trim_end_matches('Z')
                    .to_owned(),
                (now).to_string(),
                // A date that does not exist.
                "2026-02-30T12:00:00Z".to_owned(),
            ] {
                cases.push(case(
                    what(&format!("timestamp {text}")),
                    with_timestamp(src, &good, &text),
                    401,
                    "signature_malformed",
                ));
            }
        } else if !src.is("linear") {
            for text in [
                // Milliseconds where seconds belong: 13 digits are refused, not misread.
                (now * 1000).to_string(),
                format!("+{now}"),
                format!("{now}.5"),
                format!("0x{now:x}"),
            ] {
                cases.push(case(
                    what(&format!("timestamp {text}")),
                    with_timestamp(src, &good, &text),
                    401,
                    "signature_malformed",
                ));
            }
        }
        match src.timestamp_header() {
            Some(header) => {
                cases.push(case(
                    what("no timestamp header"),
                    good.clone().with(|r| {
                        r.remove(header);
                    }),
                    401,
                    "signature_missing",
                ));
                cases.push(case(
                    what("the timestamp header twice"),
                    good.clone().with(|r| {
                        let stamp = r.text(header);
                        r.add(header, stamp);
                    }),
                    401,
                    "signature_malformed",
                ));
            }
            None if src.is("linear") => {
                cases.push(case(
                    what("no webhookTimestamp in the body"),
                    // Unsigned: Linear cannot sign without it, and it is looked for first.
                    good.clone()
                        .with(|r| r.body = br#"{"id":"x","type":"Issue"}"#.to_vec()),
                    401,
                    "signature_missing",
                ));
            }
            // Stripe and Paddle: the timestamp is inside the signature header (cases above).
            None => {}
        }
    }
    cases
}

/// Bodies that are not what the provider sends, signed correctly: refused after verification.
fn body_cases(srcs: &[Src], now: i64) -> Vec<Case> {
    let mut cases = Vec::new();
    let deep = "{\"a\":".repeat(100_000);
    let bodies: [(&str, Vec<u8>); 7] = [
        (
            "truncated JSON",
            br#"{"id":"evt_1","type":"thing.cre"#.to_vec(),
        ),
        ("a JSON array", br#"[{"id":"evt_1"}]"#.to_vec()),
        ("a JSON string", br#""evt_1""#.to_vec()),
        ("an empty body", Vec::new()),
        ("invalid UTF-8", b"{\"id\":\"\xff\xfe\"}".to_vec()),
        ("a form", b"id=evt_1&type=thing.created".to_vec()),
        ("100,000 nested objects", deep.into_bytes()),
    ];
    // Providers that always post a JSON object, as `Scheme::posts_json_object` says: anything
    // else is malformed however it is signed. Signed where the scheme can sign it; Linear
    // cannot (its timestamp is in the body), so its genuine signature stays on the new body,
    // and the body is refused before any signature is checked.
    for src in srcs.iter().filter(|s| s.scheme.posts_json_object()) {
        let good = genuine(src, now);
        for (what, body) in &bodies {
            let unsigned = good.clone().with(|r| r.body = body.clone());
            let (request, how) = match try_sign_with(src, &src.key, unsigned.clone(), now) {
                Ok(signed) => (signed, ", signed"),
                Err(_) => (unsigned, ""),
            };
            cases.push(case(
                format!("{}: {what}{how}", src.name),
                request,
                400,
                "malformed_body",
            ));
        }
    }
    let twitch = srcs.iter().find(|s| s.is("twitch")).unwrap();
    let challenge = genuine(twitch, now).with(|r| {
        r.set(
            "twitch-eventsub-message-type",
            "webhook_callback_verification",
        );
    });
    cases.push(case(
        "twitch: a signed challenge message without a challenge",
        resigned(twitch, challenge, br#"{"subscription":{}}"#.to_vec(), now),
        400,
        "malformed_body",
    ));
    cases
}

/// Bodies over the limits, and the IP allow-list.
fn limit_cases(srcs: &[Src], now: i64) -> Vec<Case> {
    let src = |name: &str| srcs.iter().find(|s| s.is(name)).unwrap();
    let mut cases = Vec::new();
    let stripe = src("stripe");
    let over = format!(
        r#"{{"id":"evt_big","type":"x","pad":"{}"}}"#,
        "a".repeat(MAX_BODY)
    );
    cases.push(case(
        "stripe: a signed body over the limit",
        resigned(stripe, genuine(stripe, now), over, now),
        413,
        "payload_too_large",
    ));
    cases.push(case(
        "github: an unsigned body of the limit + 1",
        Request::post("/webhooks/github").with(|r| r.body = vec![b'a'; MAX_BODY + 1]),
        413,
        "payload_too_large",
    ));
    cases.push(case(
        "github: a body over inlet dev's 10 MiB request limit",
        Request::post("/webhooks/github").with(|r| r.body = vec![b'{'; MAX_REQUEST + 1]),
        413,
        "payload_too_large",
    ));
    cases.push(case(
        "nobody: a body over 10 MiB to an unknown source",
        Request::post("/webhooks/nobody").with(|r| r.body = vec![b'{'; MAX_REQUEST + 1]),
        413,
        "payload_too_large",
    ));
    let small = src("small");
    cases.push(case(
        "small: a signed body of 1025 bytes (its limit is 1024)",
        resigned(small, genuine(small, now), vec![b' '; 1025], now),
        413,
        "payload_too_large",
    ));
    // At the limit the size is fine, so the signature decides.
    cases.push(case(
        "small: 1024 bytes with a signature from another secret",
        sign_with(
            small,
            &stranger_key(small),
            genuine(small, now).with(|r| r.body = vec![b' '; 1024]),
            now,
        ),
        401,
        "signature_mismatch",
    ));
    let fenced = src("fenced");
    for (what, header) in [
        ("from a loopback address", None),
        (
            "claiming an allowed address in X-Forwarded-For",
            Some(("X-Forwarded-For", "203.0.113.7")),
        ),
        (
            "claiming an allowed address in Forwarded",
            Some(("Forwarded", "for=203.0.113.7")),
        ),
        (
            "claiming an allowed address in X-Real-IP",
            Some(("X-Real-IP", "203.0.113.7")),
        ),
    ] {
        let mut request = genuine(fenced, now);
        if let Some((name, value)) = header {
            request.set(name, value);
        }
        cases.push(case(
            format!("fenced: signed, {what}"),
            request,
            403,
            "ip_not_allowed",
        ));
    }
    cases
}

/// Methods other than POST; paths that are not `/webhooks/{a configured source}`.
fn routing_cases(srcs: &[Src], now: i64) -> Vec<Case> {
    let github = srcs.iter().find(|s| s.is("github")).unwrap();
    let good = genuine(github, now);
    let mut cases = Vec::new();
    for method in [
        "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO",
        // Methods are case-sensitive: this is not POST.
        "post", "Post",
    ] {
        cases.push(case(
            format!("{method} of a signed delivery"),
            good.clone().with(|r| r.method = method.into()),
            405,
            "method_not_allowed",
        ));
    }
    cases.push(Case {
        what: "HEAD of a signed delivery".into(),
        wire: Wire::Http(good.clone().with(|r| {
            r.method = "HEAD".into();
            r.body.clear();
        })),
        expect: Expect::HeadRefused,
    });
    // The source is looked up first: a wrong method to nowhere is still nowhere.
    cases.push(case(
        "GET of an unknown source",
        good.clone().with(|r| {
            r.method = "GET".into();
            r.path = "/webhooks/nobody".into();
        }),
        404,
        "unknown_source",
    ));
    cases.push(case(
        "DELETE /webhooks",
        good.clone().with(|r| {
            r.method = "DELETE".into();
            r.path = "/webhooks".into();
        }),
        404,
        "not_found",
    ));

    // A genuine GitHub delivery, so that only the path can be what is wrong.
    let long = format!("/webhooks/{}", "a".repeat(1000));
    let longer = format!("/webhooks/{}", "b".repeat(8000));
    for (path, code) in [
        ("/webhooks/../webhooks/github", "not_found"),
        ("/webhooks/./github", "not_found"),
        ("/webhooks/github/extra", "not_found"),
        ("/webhooks/github/..", "not_found"),
        ("/webhooks//github", "not_found"),
        ("//webhooks/github", "not_found"),
        ("/webhooks%2Fgithub", "not_found"),
        ("/WEBHOOKS/github", "not_found"),
        ("/webhook/github", "not_found"),
        ("/hooks/github", "not_found"),
        ("/webhooks/", "not_found"),
        ("/webhooks//", "not_found"),
        ("/webhooks", "not_found"),
        ("/", "not_found"),
        ("*", "not_found"),
        ("/webhooks/github%2Fextra", "unknown_source"),
        // Not decoded: the configured name is the only spelling.
        ("/webhooks/%67ithub", "unknown_source"),
        ("/webhooks/github%00", "unknown_source"),
        ("/webhooks/github%20", "unknown_source"),
        ("/webhooks/GITHUB", "unknown_source"),
        ("/webhooks/Github", "unknown_source"),
        ("/webhooks/github-", "unknown_source"),
        ("/webhooks/github.json", "unknown_source"),
        ("/webhooks/..", "unknown_source"),
        ("/webhooks/.", "unknown_source"),
        ("/webhooks/g\u{ef}thub", "unknown_source"),
        ("/webhooks/nobody", "unknown_source"),
        ("/webhooks/__proto__", "unknown_source"),
        ("/webhooks/sources.github", "unknown_source"),
        (long.as_str(), "unknown_source"),
        (longer.as_str(), "unknown_source"),
    ] {
        cases.push(case(
            format!("path {}", &path[..path.len().min(40)]),
            good.clone().with(|r| r.path = path.to_owned()),
            404,
            code,
        ));
    }
    cases
}

/// A genuine delivery for each source, sent to each other source: never accepted there.
fn confused_deputy_cases(srcs: &[Src], now: i64) -> Vec<Case> {
    let mut cases = Vec::new();
    let matrix: Vec<&Src> = srcs.iter().filter(|s| MATRIX.contains(&s.name)).collect();
    for from in &matrix {
        let delivery = genuine(from, now);
        for to in matrix.iter().filter(|to| to.name != from.name) {
            // Same scheme, another secret: a mismatch. Any other scheme looks for a signature
            // header this delivery does not have.
            let code = if to.scheme == from.scheme {
                "signature_mismatch"
            } else {
                "signature_missing"
            };
            cases.push(case(
                format!("{}'s delivery sent to {}", from.name, to.name),
                delivery
                    .clone()
                    .with(|r| r.path = format!("/webhooks/{}", to.name)),
                401,
                code,
            ));
        }
    }
    // The signatures moved under the header the other source reads.
    let src = |name: &str| srcs.iter().find(|s| s.is(name)).unwrap();
    let (github, crm) = (src("github"), src("crm"));
    cases.push(case(
        "github's signature and body under crm's X-Signature",
        genuine(github, now).with(|r| {
            let signature = r.text(github.signature_header());
            r.path = "/webhooks/crm".into();
            r.set(crm.signature_header(), signature)
                .set(crm.timestamp_header().unwrap(), now.to_string());
        }),
        401,
        "signature_mismatch",
    ));
    let (stripe, paddle) = (src("stripe"), src("paddle"));
    cases.push(case(
        "stripe's signature header under paddle's name",
        genuine(stripe, now).with(|r| {
            let signature = r.text(stripe.signature_header());
            r.path = "/webhooks/paddle".into();
            r.set(paddle.signature_header(), signature);
        }),
        401,
        "signature_malformed",
    ));
    let (shopify, square) = (src("shopify"), src("square"));
    cases.push(case(
        "shopify's signature under square's header",
        genuine(shopify, now).with(|r| {
            let signature = r.text(shopify.signature_header());
            r.path = "/webhooks/square".into();
            r.set(square.signature_header(), signature);
        }),
        401,
        "signature_mismatch",
    ));
    cases
}

/// Invalid UTF-8 and control characters where text belongs, and protocol-level damage.
fn protocol_cases(srcs: &[Src], now: i64) -> Vec<Case> {
    let github = srcs.iter().find(|s| s.is("github")).unwrap();
    let good = genuine(github, now);
    let head = "POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    let with_head = |extra: &str, body: &str| format!("{head}{extra}\r\n{body}").into_bytes();
    let mut cases = vec![
        // Framing the service sees: the body cannot be read, and it says so.
        cut_short(
            "a Content-Length longer than the body, then the client half-closes",
            with_head("Content-Length: 100\r\n", "{}"),
            Expect::Refused(400, "malformed_request"),
        ),
        raw(
            "a chunked body with a chunk size that is not hex",
            with_head("Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n"),
            Expect::Refused(400, "malformed_request"),
        ),
        cut_short(
            "a chunked body cut off before its last chunk",
            with_head("Transfer-Encoding: chunked\r\n", "2\r\n{}\r\n"),
            Expect::Refused(400, "malformed_request"),
        ),
        // Not HTTP/1.1 at all, or a head hyper cannot take: its own bare answer.
        raw(
            "garbage instead of a request line",
            "GARBAGE\r\n\r\n",
            Expect::Transport(400),
        ),
        raw(
            "a request line without a version",
            "POST /webhooks/github\r\n\r\n",
            Expect::Transport(400),
        ),
        raw(
            "HTTP/9.9",
            "POST /webhooks/github HTTP/9.9\r\nHost: x\r\n\r\n",
            Expect::Transport(400),
        ),
        raw(
            "a space inside the path",
            "POST /webhooks/git hub HTTP/1.1\r\nHost: x\r\n\r\n",
            Expect::Transport(400),
        ),
        raw(
            "a NUL byte in the path",
            &b"POST /webhooks/git\0hub HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            Expect::Transport(400),
        ),
        raw(
            "invalid UTF-8 in the path",
            &b"POST /webhooks/git\xffhub HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            Expect::Transport(400),
        ),
        raw(
            "an escape sequence in the path",
            "POST /webhooks/\x1b[31mgithub HTTP/1.1\r\nHost: x\r\n\r\n",
            Expect::Transport(400),
        ),
        raw(
            "a control character in a header value",
            with_head(
                "X-Hub-Signature-256: sha\x01256=00\r\nContent-Length: 0\r\n",
                "",
            ),
            Expect::Transport(400),
        ),
        raw(
            "a space inside a header name",
            with_head(
                "X Hub-Signature-256: sha256=00\r\nContent-Length: 0\r\n",
                "",
            ),
            Expect::Transport(400),
        ),
        raw(
            "a non-ASCII header name",
            &b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-\xe9: 1\r\nContent-Length: 0\r\n\r\n"
                [..],
            Expect::Transport(400),
        ),
        raw(
            "an obsolete folded header line",
            with_head(
                "X-Hub-Signature-256: sha256=00\r\n 11\r\nContent-Length: 0\r\n",
                "",
            ),
            Expect::Transport(400),
        ),
        raw(
            "two different Content-Lengths",
            with_head("Content-Length: 2\r\nContent-Length: 3\r\n", "{}"),
            Expect::Transport(400),
        ),
        raw(
            "a Content-Length that is not a number",
            with_head("Content-Length: two\r\n", "{}"),
            Expect::Transport(400),
        ),
        raw(
            "a transfer coding other than chunked",
            with_head("Transfer-Encoding: gzip\r\n", "{}"),
            Expect::Transport(400),
        ),
        raw(
            "a TLS ClientHello on the plain-text port",
            &b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"[..],
            Expect::Transport(400),
        ),
        // Valid HTTP, but past hyper's limits (100 headers, 64 KiB of path): refused before any
        // of Inlet runs, as API Gateway refuses heads over its own, lower, limit.
        raw(
            "more than 100 headers",
            with_head(
                &(0..120)
                    .map(|i| format!("X-Filler-{i}: {i}\r\n"))
                    .collect::<String>(),
                "",
            ),
            Expect::Transport(431),
        ),
        raw(
            "a path over 64 KiB",
            format!(
                "POST /webhooks/{} HTTP/1.1\r\nHost: x\r\n\r\n",
                "a".repeat(70_000)
            ),
            Expect::Transport(414),
        ),
        raw(
            "an HTTP/2 connection preface",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            Expect::Closed,
        ),
    ];
    // Complete requests whose client then half-closes (HTTP/1.1 allows it): still answered.
    let stranger = sign_with(github, &stranger_key(github), good.clone(), now);
    for (what, request, status, code) in [
        ("a forged delivery", stranger, 401, "signature_mismatch"),
        (
            "an unsigned delivery",
            good.clone().with(|r| {
                r.remove(github.signature_header());
            }),
            401,
            "signature_missing",
        ),
        (
            "a delivery to an unknown source",
            good.clone().with(|r| r.path = "/webhooks/nobody".into()),
            404,
            "unknown_source",
        ),
        (
            "a GET",
            good.clone().with(|r| r.method = "GET".into()),
            405,
            "method_not_allowed",
        ),
    ] {
        cases.push(cut_short(
            format!("{what}, then the client half-closes"),
            request.bytes(),
            Expect::Refused(status, code),
        ));
    }
    // Text where the service reads text: refused with the reason, never guessed at.
    let (id, kind) = (
        github.scheme.id_header().unwrap(),
        github.scheme.type_header().unwrap(),
    );
    for (what, header) in [
        ("Latin-1 in X-GitHub-Event", kind.as_str()),
        ("Latin-1 in X-GitHub-Delivery", id.as_str()),
    ] {
        cases.push(case(
            format!("github: signed, {what}"),
            good.clone().with(|r| {
                r.set(header, b"caf\xe9".to_vec());
            }),
            401,
            "signature_malformed",
        ));
    }
    cases.push(case(
        "github: signed, X-GitHub-Delivery twice",
        good.clone().with(|r| {
            r.add(id.as_str(), "another-id");
        }),
        401,
        "signature_malformed",
    ));
    cases.push(case(
        "github: unsigned, an 8 KiB header of Latin-1",
        good.clone().with(|r| {
            r.remove(github.signature_header())
                .set("x-junk", vec![0xe9; 8192]);
        }),
        401,
        "signature_missing",
    ));
    cases.push(case(
        "github: 64 KiB of junk in a header hyper accepts, no signature",
        good.clone().with(|r| {
            r.remove(github.signature_header())
                .set("x-junk", "j".repeat(64 * 1024));
        }),
        401,
        "signature_missing",
    ));
    cases
}

// ---- the test ----

/// Builds one category of the corpus from the sources, signed at a given instant.
type Category = fn(&[Src], i64) -> Vec<Case>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_their_exact_refusal_and_nothing_is_queued() {
    let scratch = Scratch::new();
    std::fs::write(scratch.0.join("inlet.toml"), CONFIG).unwrap();
    std::fs::write(scratch.0.join("local.env"), env_file()).unwrap();
    let config = Config::parse(CONFIG).unwrap();
    let srcs = sources(&config);
    // A source for every scheme the code knows, so that none is left out of the corpus (the
    // per-scheme cases and the confused-deputy matrix) without anyone noticing.
    for name in inlet_testkit::providers::DESCRIBED {
        let scheme = Scheme::named(name).unwrap();
        assert!(
            srcs.iter()
                .any(|s| s.scheme == scheme && MATRIX.contains(&s.name)),
            "CONFIG has no source of scheme {name} in the matrix"
        );
    }
    let emulator = Emulator::start();
    let mut dev = Dev::start(&emulator, &scratch.0, &secret_variables());
    let sdk = emulator.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);

    // Built per category just before it is sent, so signatures made "now" are still in the
    // window (Linear's is one minute) when they arrive.
    let categories: [(&str, Category); 8] = [
        ("signatures", signature_cases),
        ("scheme specifics", scheme_specific_cases),
        ("timestamps", timestamp_cases),
        ("bodies", body_cases),
        ("limits and addresses", limit_cases),
        ("methods and paths", routing_cases),
        ("confused deputy", confused_deputy_cases),
        ("protocol", protocol_cases),
    ];
    let mut sent = 0;
    let mut sizes = Vec::new();
    let mut failures = Vec::new();
    for (category, make) in categories {
        let cases = make(&srcs, now_secs());
        sizes.push(format!("{category}: {}", cases.len()));
        for case in cases {
            let (bytes, cut) = match &case.wire {
                Wire::Http(request) => (request.bytes(), false),
                Wire::Raw(bytes) => (bytes.clone(), false),
                Wire::CutShort(bytes) => (bytes.clone(), true),
            };
            let response = exchange(dev.port, bytes, cut).await;
            if let Err(got) = check(case.expect, response.as_ref()) {
                failures.push(format!(
                    "{}: expected {:?}, got {got}",
                    case.what, case.expect
                ));
            }
            sent += 1;
        }
    }
    // Written past the test harness's capture, so that `make test` shows the totals the docs
    // point at rather than restate.
    let totals = format!(
        "hostile corpus: {sent} requests, {} not answered as expected ({})\n",
        failures.len(),
        sizes.join(", ")
    );
    let _ = std::io::stderr().write_all(totals.as_bytes());
    assert!(sent >= 200, "the corpus has only {sent} requests");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests were not answered as expected:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Nothing got through: the server never said queued, and neither the queues nor the
    // table (which process writes for anything it receives) hold anything.
    dev.assert_running();
    let log = dev.log();
    assert!(!log.contains("queued ("), "something was queued:\n{log}");
    assert!(!dev.stderr().contains("panicked"), "{log}");
    let settings = StackSettings::default();
    for name in [&settings.queue_name, &settings.dead_letter_queue_name] {
        let url = sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        assert_eq!(local::depth(&sqs, &url).await.unwrap(), (0, 0), "{name}");
    }
    let items = dynamodb
        .scan()
        .table_name(&settings.table_name)
        .send()
        .await
        .unwrap();
    assert_eq!(items.count(), 0, "the table holds {:?}", items.items());

    // And it still serves: a genuine delivery afterwards is queued.
    let github = srcs.iter().find(|s| s.is("github")).unwrap();
    let delivery = genuine_at(github, now_secs(), "after-the-storm");
    let response = exchange(dev.port, delivery.bytes(), false).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    assert_eq!(
        (response.status, json["id"].as_str()),
        (202, Some("github#after-the-storm")),
        "{json}"
    );
    dev.assert_running();
    assert!(!dev.stderr().contains("panicked"), "{}", dev.log());
}
