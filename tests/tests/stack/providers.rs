//! The hostile corpus for every provider of the registry, over real HTTP: one `inlet dev` (the
//! built binary, against its own emulator) with one source per provider, all generated from
//! `inlet_signature::registry::all()` when the test runs, so that a provider added to the registry
//! is under this test without any change here. `hostile` spells out the first eleven providers
//! header by header; this suite holds every provider to what can be said of all of them.
//!
//! For each provider, a delivery signed as the provider signs it is accepted and queued exactly
//! once. Hostile variants of it are each refused with their exact status and JSON `error` code,
//! and nothing of them is queued: every authenticating header repeated, the signature header
//! removed, emptied, cut short, holding characters outside its alphabet or bytes outside ASCII,
//! of the wrong length or in the other encoding; the delivery unsigned, signed with another key,
//! stale or from the future, its body changed after signing; bodies the provider never sends; a
//! GET; and the delivery sent to another provider's source. Afterwards the table and the queues,
//! read through the emulator, hold exactly the genuine deliveries, each processed once.
//!
//! A signature of the wrong length is malformed from every provider. Where the code a variant
//! gets still depends on the provider (damaged characters that may still decode, another
//! provider's delivery, a body without a signature for providers that carry it in the body), the
//! test asks `inlet_signature` what it answers, requires that answer to be one of the refusals
//! the variant allows, and then requires exactly that answer from the stack.
//!
//! Last, for every provider whose key has a format of its own (every asymmetric provider among
//! them), `inlet dev` given a secret not in that format refuses to start, naming the key.
//!
//! The binary is `target/debug/inlet` (or `$INLET_BIN`): build it first with
//! `cargo build -p inlet-cli` (`make test` does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::hostile::{Expect, Request, check, exchange};
use aws_sdk_dynamodb::types::AttributeValue;
use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_core::config::Config;
use inlet_local::{self as local, StackSettings};
use inlet_signature::registry::{self, Provider, Secrets};
use inlet_signature::{Delivery, Encoding, Key, Scheme, SignError, Window};
use inlet_testkit::providers as kit;
use inlet_testkit::{Dev, Emulator, Scratch, free_port, inlet_command};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

// ---- the stack: a source per provider ----

const TOLERANCE_SECS: u64 = 300;
/// Outside the window by a minute, either way.
const SKEW_SECS: i64 = 360;

/// A source as the test signs for it. Each has secrets of its own, so that no provider's
/// delivery verifies at another's source by sharing a secret.
struct Src {
    provider: &'static Provider,
    /// The source's name: the provider's.
    name: &'static str,
    scheme: Scheme,
    /// Where the source's secret is read from: a variable of the env file, or, for providers
    /// whose handshake hands the secret over, a Secrets Manager secret ingest may write.
    variable: String,
    stored: Option<String>,
    secrets: Secrets,
    /// What the source verifies with.
    key: Key,
    /// What the provider signs with.
    signing: Key,
    /// What signs for a secret the source does not have.
    stranger: Key,
    /// The variable and value of the source's handshake secret, where the provider has one.
    handshake: Option<(String, String)>,
}

impl Src {
    fn new(provider: &'static Provider) -> Self {
        let scheme = Scheme::Provider(provider);
        let seed = format!("corpus-{}-secret", provider.name);
        let stranger_seed = format!("corpus-{}-stranger", provider.name);
        let variable = format!(
            "INLET_PROVIDERS_{}",
            provider.name.to_ascii_uppercase().replace('-', "_")
        );
        let handshake = scheme.needs_handshake_secret().then(|| {
            (
                format!("{variable}_HANDSHAKE"),
                format!("corpus-{}-handshake", provider.name),
            )
        });
        let stored = scheme
            .enrols_secret()
            .then(|| format!("inlet-providers/{}", provider.name));
        Self {
            provider,
            name: provider.name,
            stored,
            secrets: kit::secrets_from(&scheme, seed.as_bytes()),
            key: kit::key_from(&scheme, seed.as_bytes()),
            signing: kit::signing_key_from(&scheme, seed.as_bytes()),
            stranger: kit::signing_key_from(&scheme, stranger_seed.as_bytes()),
            scheme,
            variable,
            handshake,
        }
    }

    /// The public URL the source is configured with, where the provider signs it.
    fn url(&self) -> Option<&'static str> {
        self.scheme.signs_url().then(public_url)
    }

    /// The source's `secrets` entry.
    fn reference(&self) -> String {
        match &self.stored {
            Some(id) => format!("secretsmanager:{id}"),
            None => format!("env:{}", self.variable),
        }
    }

    fn signature_header(&self) -> Option<String> {
        self.scheme
            .signature_header()
            .map(|name| name.as_str().to_owned())
    }
}

/// The testkit's signed URL without its query: the query travels in the request.
fn public_url() -> &'static str {
    kit::URL.split_once('?').map_or(kit::URL, |(base, _)| base)
}

fn config_text(srcs: &[Src]) -> String {
    let mut text = format!("[defaults]\ntolerance_secs = {TOLERANCE_SECS}\n");
    for src in srcs {
        text.push_str(&format!(
            "\n[sources.{}]\nscheme = \"{}\"\nsecrets = [\"{}\"]\n",
            src.name,
            src.name,
            src.reference()
        ));
        if let Some(url) = src.url() {
            text.push_str(&format!("url = \"{url}\"\n"));
        }
        if let Some((variable, _)) = &src.handshake {
            text.push_str(&format!("handshake_secret = \"env:{variable}\"\n"));
        }
    }
    text
}

fn env_file(srcs: &[Src]) -> String {
    let mut lines = String::new();
    for src in srcs {
        if src.stored.is_none() {
            lines.push_str(&format!("{}={}\n", src.variable, src.secrets.verify));
        }
        if let Some((variable, value)) = &src.handshake {
            lines.push_str(&format!("{variable}={value}\n"));
        }
    }
    lines
}

fn secret_variables(srcs: &[Src]) -> Vec<String> {
    srcs.iter()
        .flat_map(|src| {
            std::iter::once(src.variable.clone())
                .chain(src.handshake.as_ref().map(|(variable, _)| variable.clone()))
        })
        .collect()
}

fn now_secs() -> i64 {
    inlet_signature::clock::epoch_millis(SystemTime::now()).div_euclid(1000)
}

// ---- deliveries ----

/// A signed delivery as bytes to send: its query (for the URL-signing providers) in the path,
/// and a JSON content type where the provider's signing added none.
fn request_of(src: &Src, signed: &kit::Signed) -> Request {
    let mut path = format!("/webhooks/{}", src.name);
    if let Some((_, query)) = signed.url.as_deref().and_then(|url| url.split_once('?')) {
        path.push('?');
        path.push_str(query);
    }
    let mut headers: Vec<(String, Vec<u8>)> = signed
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    if !signed.headers.contains_key(http::header::CONTENT_TYPE)
        && signed.body.trim_ascii_start().first() == Some(&b'{')
    {
        headers.insert(0, ("content-type".to_owned(), b"application/json".to_vec()));
    }
    Request {
        method: "POST".into(),
        path,
        headers,
        body: signed.body.clone(),
    }
}

/// `body` signed for `src` with `key` at `at`, through `sign_body` where the provider carries its
/// signature in the body; or why the provider cannot sign it.
fn try_signed(src: &Src, key: &Key, body: Vec<u8>, at: i64) -> Result<Request, SignError> {
    let signed = kit::try_sign(
        &src.scheme,
        kit::base_headers(&src.scheme),
        body,
        kit::url_for(&src.scheme),
        key,
        at,
    )?;
    Ok(request_of(src, &signed))
}

/// What the provider would send at `at`, signed with `key`.
fn delivery(src: &Src, key: &Key, at: i64) -> Request {
    try_signed(src, key, kit::body_at(&src.scheme, at), at)
        .unwrap_or_else(|e| panic!("{}: cannot sign its own delivery: {e}", src.name))
}

fn genuine(src: &Src, at: i64) -> Request {
    delivery(src, &src.signing, at)
}

/// The request as the server reads it, for asking the library what it makes of it.
fn header_map(request: &Request) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in &request.headers {
        map.append(
            HeaderName::try_from(name.as_str()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    map
}

/// `inlet_signature`'s verdict on `request` at `src`, as ingest would ask for it: "ok" or the
/// error code.
fn library_verdict(src: &Src, request: &Request, now: i64) -> &'static str {
    let headers = header_map(request);
    let query = request.path.split_once('?').map(|(_, query)| query);
    let url = src.url().map(|base| match query {
        Some(query) if !query.is_empty() => format!("{base}?{query}"),
        _ => base.to_owned(),
    });
    let delivery = Delivery {
        headers: &headers,
        body: &request.body,
        url: url.as_deref(),
        method: &request.method,
        query,
    };
    let window = Window {
        now,
        tolerance_secs: TOLERANCE_SECS,
    };
    kit::code(
        &src.scheme
            .verify(&delivery, std::slice::from_ref(&src.key), window),
    )
}

// ---- where the signature sits, and how to damage it ----

/// The request with the signature header's encoded signature replaced by what `edit` makes of it.
fn with_signature(
    src: &Src,
    request: &Request,
    edit: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Option<Request> {
    let name = src.signature_header()?;
    let text = request.text(&name);
    // The encoded signature, whatever framing surrounds it.
    let span = kit::longest_run(&src.scheme, &text);
    if span.is_empty() {
        return None;
    }
    let mut value = text.as_bytes()[..span.start].to_vec();
    value.extend(edit(&text.as_bytes()[span.clone()]));
    value.extend_from_slice(&text.as_bytes()[span.end..]);
    Some(request.clone().with(|r| {
        r.set(&name, value);
    }))
}

fn replace_middle(signature: &[u8], with: u8) -> Vec<u8> {
    let mut out = signature.to_vec();
    out[signature.len() / 2] = with;
    out
}

/// The signature's bytes changed by `edit`, written in `into`.
fn reencoded(
    encoding: Encoding,
    into: Encoding,
    signature: &[u8],
    edit: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let text = String::from_utf8_lossy(signature);
    let mut bytes = encoding.decode("signature", &text).unwrap();
    edit(&mut bytes);
    into.encode(&bytes).into_bytes()
}

// ---- the corpus ----

/// What a variant must get.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// This refusal, whatever the provider.
    Exactly(u16, &'static str),
    /// This answer, as it is (a HEAD's, which has no body).
    Is(Expect),
    /// One of these codes: the one `inlet_signature` gives for this provider.
    OneOf(&'static [&'static str]),
}

const MISSING: Want = Want::Exactly(401, "signature_missing");
const MALFORMED: Want = Want::Exactly(401, "signature_malformed");
const MISMATCH: Want = Want::Exactly(401, "signature_mismatch");
const STALE: Want = Want::Exactly(401, "timestamp_out_of_tolerance");
const BAD_BODY: Want = Want::Exactly(400, "malformed_body");
const NOT_ALLOWED: Want = Want::Exactly(405, "method_not_allowed");
/// A damaged signature that may still decode: refused as malformed, or compared and failing.
const DAMAGED: Want = Want::OneOf(&["signature_malformed", "signature_mismatch"]);
/// Another provider's delivery: whatever this provider's parsing makes of it, a refusal.
const FOREIGN: Want = Want::OneOf(&[
    "signature_missing",
    "signature_malformed",
    "signature_mismatch",
    "malformed_body",
]);

/// The status ingest answers an error code with.
fn status_of(code: &str) -> u16 {
    match code {
        "malformed_body" => 400,
        "method_not_allowed" => 405,
        _ => 401,
    }
}

#[derive(Debug)]
struct Case {
    category: &'static str,
    what: String,
    request: Request,
    expect: Expect,
}

/// The cases of a run, and what was wrong with the corpus itself (a library answer outside what a
/// variant allows) before anything was sent.
struct Corpus {
    now: i64,
    cases: Vec<Case>,
    failures: Vec<String>,
}

impl Corpus {
    fn new(now: i64) -> Self {
        Self {
            now,
            cases: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// A variant sent to `src`: its expectation settled, by the library where it depends on
    /// the provider.
    fn push(
        &mut self,
        category: &'static str,
        src: &Src,
        what: &str,
        request: Request,
        want: Want,
    ) {
        let what = format!("{}: {what}", src.name);
        let expect = match want {
            Want::Exactly(status, code) => Expect::Refused(status, code),
            Want::Is(expect) => expect,
            Want::OneOf(codes) => {
                let verdict = library_verdict(src, &request, self.now);
                let code = codes.iter().copied().find(|c| *c == verdict);
                let code = code.unwrap_or_else(|| {
                    self.failures.push(format!(
                        "{what}: inlet_signature answers {verdict}, not one of {codes:?}"
                    ));
                    codes[0]
                });
                Expect::Refused(status_of(code), code)
            }
        };
        self.cases.push(Case {
            category,
            what,
            request,
            expect,
        });
    }
}

/// The signature header, and every header it depends on, repeated; the signature header removed
/// or emptied.
fn header_cases(corpus: &mut Corpus, src: &Src, good: &Request) {
    let Some(signature) = src.signature_header() else {
        return;
    };
    for name in src.scheme.authenticating_headers() {
        let name = name.as_str();
        let Some(value) = good.get(name).map(<[u8]>::to_vec) else {
            continue;
        };
        corpus.push(
            "repeated headers",
            src,
            &format!("{name} twice, identical copies"),
            good.clone().with(|r| {
                r.add(name, value);
            }),
            MALFORMED,
        );
    }
    let value = good.get(&signature).unwrap().to_vec();
    corpus.push(
        "repeated headers",
        src,
        &format!("{signature} twice, a decoy first"),
        good.clone().with(|r| {
            r.remove(&signature)
                .add(&signature, "decoy")
                .add(&signature, value);
        }),
        MALFORMED,
    );
    corpus.push(
        "missing signatures",
        src,
        &format!("no {signature}"),
        good.clone().with(|r| {
            r.remove(&signature);
        }),
        MISSING,
    );
    corpus.push(
        "missing signatures",
        src,
        &format!("{signature} empty"),
        good.clone().with(|r| {
            r.set(&signature, "");
        }),
        MISSING,
    );
}

/// The encoded signature cut short, with characters outside its alphabet or bytes outside ASCII,
/// of the wrong length, in the other encoding; a token likewise damaged.
fn signature_cases(corpus: &mut Corpus, src: &Src, good: &Request) {
    let category = "damaged signatures";
    let Some(name) = src.signature_header() else {
        return;
    };
    // Obs-text: HTTP lets these bytes through, but no signature or token holds them.
    let latin1 = good.clone().with(|r| {
        let mut bytes = r.get(&name).unwrap().to_vec();
        bytes.insert(bytes.len() / 2, 0xe9);
        r.set(&name, bytes);
    });
    corpus.push(
        category,
        src,
        "a Latin-1 byte in the signature",
        latin1,
        MALFORMED,
    );
    let mut damage = |what: &str, edit: &dyn Fn(&[u8]) -> Vec<u8>, want| {
        if let Some(request) = with_signature(src, good, edit) {
            corpus.push(category, src, what, request, want);
        }
    };
    let Some(encoding) = src.scheme.signature_encoding() else {
        // A token: any text is a token, so damage makes a mismatch, unless the provider reads
        // the token as an encoding of its own (HTTP Basic's base64).
        damage(
            "the token cut short by one character",
            &|t| t[..t.len() - 1].to_vec(),
            DAMAGED,
        );
        damage(
            "punctuation in the token",
            &|t| replace_middle(t, b'!'),
            DAMAGED,
        );
        damage(
            "the token one character longer",
            &|t| [t, b"x"].concat(),
            DAMAGED,
        );
        return;
    };
    let (near, other) = match encoding {
        Encoding::Hex | Encoding::HexUpper => (b'g', Encoding::Base64),
        Encoding::Base64 => (b'-', Encoding::Hex),
        Encoding::Base64Url => (b'+', Encoding::Hex),
    };
    damage(
        "the signature cut short by one character",
        &|s| s[..s.len() - 1].to_vec(),
        MALFORMED,
    );
    damage(
        "punctuation in the signature",
        &|s| replace_middle(s, b'!'),
        MALFORMED,
    );
    damage(
        &format!("{:?} in the signature", char::from(near)),
        &|s| replace_middle(s, near),
        MALFORMED,
    );
    // Well encoded but the wrong length: malformed from every provider, whatever comparison it
    // makes (issue 22).
    damage(
        "the signature one byte longer",
        &|s| reencoded(encoding, encoding, s, |b| b.push(0)),
        MALFORMED,
    );
    damage(
        "the signature half as long",
        &|s| reencoded(encoding, encoding, s, |b| b.truncate(b.len() / 2)),
        MALFORMED,
    );
    // Base64 is never hex (its padding, if nothing else), while hex digits are base64 digits:
    // hex where base64 belongs decodes, to bytes of the wrong length. Malformed either way.
    damage(
        &format!("the signature as {other:?}"),
        &|s| reencoded(encoding, other, s, |_| {}),
        MALFORMED,
    );
}

/// Unsigned, signed with another key, stale or from the future, changed after signing.
fn signing_cases(corpus: &mut Corpus, src: &Src, good: &Request) {
    let now = corpus.now;
    let unsigned = request_of(
        src,
        &kit::Signed {
            scheme: src.scheme.clone(),
            headers: kit::base_headers(&src.scheme),
            body: kit::body_at(&src.scheme, now),
            url: kit::url_for(&src.scheme),
        },
    );
    // A provider that carries its signature in the body (Mailgun, Figma, Adyen) may find a body
    // without one to be no delivery of its at all: the library says which.
    let want = match src.scheme.signature_header() {
        Some(_) => MISSING,
        None => Want::OneOf(&["signature_missing", "malformed_body"]),
    };
    corpus.push("signing", src, "the delivery unsigned", unsigned, want);
    corpus.push(
        "signing",
        src,
        "signed with another key",
        delivery(src, &src.stranger, now),
        MISMATCH,
    );
    if src.scheme.has_timestamp() {
        corpus.push(
            "timestamps",
            src,
            &format!("signed {SKEW_SECS} s ago"),
            genuine(src, now - SKEW_SECS),
            STALE,
        );
        corpus.push(
            "timestamps",
            src,
            &format!("signed {SKEW_SECS} s ahead"),
            genuine(src, now + SKEW_SECS),
            STALE,
        );
    }
    if src.scheme.signs_body() {
        corpus.push(
            "signing",
            src,
            "a space appended to the body after signing",
            good.clone().with(|r| r.body.push(b' ')),
            MISMATCH,
        );
    }
}

/// Bodies the provider never sends, signed where the provider can sign them: malformed however
/// they are signed, for every provider that always posts a JSON object or carries its signature
/// in the body. JSON is UTF-8: a byte that is not, even in a member nothing reads, makes the body
/// something other than JSON.
fn body_cases(corpus: &mut Corpus, src: &Src, good: &Request) {
    if !src.scheme.posts_json_object() && src.scheme.signature_header().is_some() {
        return;
    }
    let invalid_member = b"\"note\":\"caf\xe9\",";
    let open = good.body.iter().position(|b| *b == b'{').unwrap_or(0) + 1;
    let own_invalid = [&good.body[..open], invalid_member, &good.body[open..]].concat();
    for (what, body) in [
        (
            "a body that is not JSON",
            b"event=thing.done&id=evt_1".to_vec(),
        ),
        (
            "a JSON array",
            b"[{\"id\":\"evt_1\",\"type\":\"thing.done\"}]".to_vec(),
        ),
        (
            "a JSON object holding invalid UTF-8",
            b"{\"note\":\"caf\xe9\"}".to_vec(),
        ),
        ("its own delivery with invalid UTF-8 added", own_invalid),
    ] {
        // Linear, Figma, Mailgun: what carries the signature or its timestamp may not be there
        // to sign, and the body goes as it is under the signed delivery's headers.
        let request = try_signed(src, &src.signing, body.clone(), corpus.now)
            .unwrap_or_else(|_| good.clone().with(|r| r.body = body));
        corpus.push("bodies", src, what, request, BAD_BODY);
    }
}

/// The signed delivery as a GET: not allowed, unless the provider answers a GET handshake, which
/// this is not; and as a HEAD.
fn method_cases(corpus: &mut Corpus, src: &Src, good: &Request) {
    let get = good.clone().with(|r| r.method = "GET".into());
    let headers = header_map(&get);
    let as_get = Delivery {
        method: "GET",
        ..Delivery::post(&headers, &get.body)
    };
    let want = match src.scheme.unsigned_handshake(&as_get, &[]) {
        None => NOT_ALLOWED,
        Some(Err(error)) if error.code() == "handshake_invalid" => {
            Want::Exactly(401, "handshake_invalid")
        }
        Some(other) => {
            corpus.failures.push(format!(
                "{}: a signed delivery sent as a GET is taken for a handshake: {other:?}",
                src.name
            ));
            Want::Exactly(401, "handshake_invalid")
        }
    };
    corpus.push("methods", src, "the delivery as a GET", get, want);

    // A HEAD is refused, bodiless, unless the provider checks a URL with one (Trello).
    let head = good.clone().with(|r| {
        r.method = "HEAD".into();
        r.body.clear();
    });
    let as_head = Delivery {
        method: "HEAD",
        ..Delivery::post(&headers, b"")
    };
    let want = match src.scheme.unsigned_handshake(&as_head, &[]) {
        Some(Ok(_)) => Want::Is(Expect::HeadAnswered(200)),
        _ => Want::Is(Expect::HeadRefused),
    };
    corpus.push("methods", src, "the delivery as a HEAD", head, want);
}

/// Each provider's delivery sent to the next provider's source, and to every other provider's
/// source that reads its signature from the same header (GitHub's and Meta's `X-Hub-Signature-256`,
/// Okta's and HTTP Basic's `Authorization`…), where it is parsed as a signature and must still
/// fail.
fn foreign_cases(corpus: &mut Corpus, srcs: &[Src], goods: &[Request]) {
    let mut pairs: Vec<(usize, usize)> = (0..srcs.len())
        .map(|to| ((to + srcs.len() - 1) % srcs.len(), to))
        .collect();
    for (from, a) in srcs.iter().enumerate() {
        for (to, b) in srcs.iter().enumerate() {
            let shared =
                a.signature_header().is_some() && a.signature_header() == b.signature_header();
            if from != to && shared && !pairs.contains(&(from, to)) {
                pairs.push((from, to));
            }
        }
    }
    for (from, to) in pairs {
        let target = &srcs[to];
        let request = goods[from].clone().with(|r| {
            let query = r.path.split_once('?').map(|(_, q)| q.to_owned());
            r.path = format!("/webhooks/{}", target.name);
            if let Some(query) = query {
                r.path = format!("{}?{query}", r.path);
            }
        });
        let what = format!("{}'s delivery", srcs[from].name);
        corpus.push("foreign deliveries", target, &what, request, FOREIGN);
    }
}

fn corpus(srcs: &[Src], now: i64) -> Corpus {
    let mut corpus = Corpus::new(now);
    let goods: Vec<Request> = srcs.iter().map(|src| genuine(src, now)).collect();
    for (src, good) in srcs.iter().zip(&goods) {
        header_cases(&mut corpus, src, good);
        signature_cases(&mut corpus, src, good);
        signing_cases(&mut corpus, src, good);
        body_cases(&mut corpus, src, good);
        method_cases(&mut corpus, src, good);
    }
    foreign_cases(&mut corpus, srcs, &goods);
    corpus
}

// ---- what reached the queue ----

async fn queue_url(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// Every record in the table: its key and status.
async fn table(
    dynamodb: &aws_sdk_dynamodb::Client,
    settings: &StackSettings,
) -> Vec<(String, String)> {
    let scan = dynamodb
        .scan()
        .table_name(&settings.table_name)
        .send()
        .await
        .unwrap();
    let text = |item: &HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    scan.items()
        .iter()
        .map(|item| (text(item, &settings.table_key), text(item, "status")))
        .collect()
}

/// How many lines of the log `matches` says yes to.
fn count_lines(log: &str, matches: impl Fn(&str) -> bool) -> usize {
    log.lines().filter(|line| matches(line)).count()
}

// ---- start-up ----

/// Text in no provider's key format: not hex, not base64, no `user:`.
const NOT_A_KEY: &str = "not-a-key!";

/// `inlet dev` with one source of `src`'s provider whose secrets are `secrets`: how it exited and
/// what it printed on stderr. Killed (and the test failed) if it serves instead of refusing.
async fn start_with_secrets(
    emulator: &Emulator,
    store: &aws_sdk_secretsmanager::Client,
    src: &Src,
    secrets: &[&str],
) -> (i32, String) {
    let scratch = Scratch::with_prefix("inlet-providers-key");
    let mut references = Vec::new();
    let mut env = String::new();
    for (i, secret) in secrets.iter().enumerate() {
        if src.stored.is_some() {
            // Where the provider's secret must be a stored one, the stored value is the bad one.
            let id = inlet_testkit::unique("inlet-providers-key");
            store
                .create_secret()
                .name(&id)
                .secret_string(*secret)
                .send()
                .await
                .unwrap();
            references.push(format!("\"secretsmanager:{id}\""));
        } else {
            references.push(format!("\"env:INLET_KEY_{i}\""));
            env.push_str(&format!("INLET_KEY_{i}={secret}\n"));
        }
    }
    let mut config = format!(
        "[sources.{}]\nscheme = \"{}\"\nsecrets = [{}]\n",
        src.name,
        src.name,
        references.join(", ")
    );
    if let Some(url) = src.url() {
        config.push_str(&format!("url = \"{url}\"\n"));
    }
    if src.handshake.is_some() {
        config.push_str("handshake_secret = \"env:INLET_KEY_HANDSHAKE\"\n");
        env.push_str("INLET_KEY_HANDSHAKE=handshake\n");
    }
    std::fs::write(scratch.0.join("inlet.toml"), config).unwrap();
    std::fs::write(scratch.0.join("local.env"), env).unwrap();
    let mut variables: Vec<String> = (0..secrets.len())
        .map(|i| format!("INLET_KEY_{i}"))
        .collect();
    variables.push("INLET_KEY_HANDSHAKE".into());
    let variables: Vec<&str> = variables.iter().map(String::as_str).collect();
    let mut command = inlet_command(&emulator.endpoint(), &scratch.0, &variables);
    command
        .args([
            "dev",
            "--no-samples",
            "--inspect",
            "127.0.0.1:0",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{}", free_port()))
        .current_dir(&scratch.0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Dropped on a timeout, the child is killed: nothing outlives the test.
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{}: inlet dev with secrets {secrets:?} still ran after 60 s instead of refusing them",
                src.name
            )
        })
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// For every provider whose key has a format of its own (every asymmetric one among them): `inlet
/// dev` refuses a secret in no key format, naming `sources.<name>.secrets[0]` and the format; an
/// asymmetric provider's public key one character too long, behind a good one, is refused naming
/// `secrets[1]`. Returns how many start-ups were refused, and the failures.
async fn start_up_checks(
    emulator: &Emulator,
    store: &aws_sdk_secretsmanager::Client,
    srcs: &[Src],
) -> (usize, Vec<String>) {
    let mut refused = 0;
    let mut failures = Vec::new();
    for src in srcs {
        let Err(error) = src.scheme.key(NOT_A_KEY) else {
            if src.scheme.is_asymmetric() {
                failures.push(format!(
                    "{}: {NOT_A_KEY:?} is accepted as a public key",
                    src.name
                ));
            }
            continue;
        };
        let mut runs = vec![(vec![NOT_A_KEY.to_owned()], 0, error.to_string())];
        if src.scheme.is_asymmetric() {
            let longer = format!("{}0", src.secrets.verify);
            match src.scheme.key(&longer) {
                Err(error) => runs.push((
                    vec![src.secrets.verify.clone(), longer],
                    1,
                    error.to_string(),
                )),
                Ok(_) => failures.push(format!(
                    "{}: {longer:?} is accepted as a public key",
                    src.name
                )),
            }
        }
        for (secrets, index, why) in runs {
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let (code, stderr) = start_with_secrets(emulator, store, src, &secrets).await;
            let named = format!("sources.{}.secrets[{index}]", src.name);
            if code == 2 && stderr.contains(&named) && stderr.contains(&why) {
                refused += 1;
            } else {
                failures.push(format!(
                    "{}: inlet dev with secrets {secrets:?} exited {code}, not 2 naming {named} \
                     ({why}):\n{stderr}",
                    src.name
                ));
            }
        }
    }
    (refused, failures)
}

// ---- the test ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_accepts_its_own_deliveries_once_and_refuses_hostile_ones_exactly() {
    let providers = registry::all();
    assert!(providers.len() >= 45, "{} providers", providers.len());
    let srcs: Vec<Src> = providers.iter().map(|p| Src::new(p)).collect();
    let text = config_text(&srcs);
    let config = Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for src in &srcs {
        let source = config.source(src.name).unwrap();
        assert_eq!(source.scheme, src.scheme, "{}", src.name);
    }
    let scratch = Scratch::with_prefix("inlet-providers");
    std::fs::write(scratch.0.join("inlet.toml"), &text).unwrap();
    std::fs::write(scratch.0.join("local.env"), env_file(&srcs)).unwrap();
    let variables = secret_variables(&srcs);
    let variables: Vec<&str> = variables.iter().map(String::as_str).collect();
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let store = aws_sdk_secretsmanager::Client::new(&sdk);
    for src in &srcs {
        if let Some(id) = &src.stored {
            store
                .create_secret()
                .name(id)
                .secret_string(&src.secrets.verify)
                .send()
                .await
                .unwrap();
        }
    }
    let mut dev = Dev::start(&emulator, &scratch.0, &variables);
    let settings = StackSettings::default();

    // Each provider's own delivery: accepted, and (unless it is a handshake) queued.
    let mut sent = 0;
    let mut failures = Vec::new();
    let mut queued: BTreeMap<String, &str> = BTreeMap::new();
    let mut handshakes = 0;
    for src in &srcs {
        let request = genuine(src, now_secs());
        let response = exchange(dev.port, request.bytes(), false).await;
        sent += 1;
        let Some(response) = response else {
            failures.push(format!(
                "{}: its own delivery: closed without an answer",
                src.name
            ));
            continue;
        };
        let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        let key = json["id"].as_str().unwrap_or_default();
        match response.status {
            202 if json["status"] == "queued" && key.starts_with(&format!("{}#", src.name)) => {
                if queued.insert(key.to_owned(), src.name).is_some() {
                    failures.push(format!("{}: its own delivery: key {key} twice", src.name));
                }
            }
            200 if src.provider.handshake.is_some() => handshakes += 1,
            _ => failures.push(format!(
                "{}: its own delivery: {} {}",
                src.name,
                response.status,
                String::from_utf8_lossy(&response.body)
            )),
        }
    }

    // The hostile corpus, built just before it is sent so that "now" is still now.
    let Corpus {
        cases,
        failures: corpus_failures,
        ..
    } = corpus(&srcs, now_secs());
    failures.extend(corpus_failures);
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut covered = BTreeSet::new();
    for case in &cases {
        *sizes.entry(case.category).or_default() += 1;
        covered.insert(case.what.split(':').next().unwrap_or_default().to_owned());
        let response = exchange(dev.port, case.request.bytes(), false).await;
        if let Err(got) = check(case.expect, response.as_ref()) {
            failures.push(format!(
                "{}: expected {:?}, got {got}",
                case.what, case.expect
            ));
        }
        sent += 1;
    }
    let refusals = cases.len();

    // What the queue received, read through the emulator: process (with no routes) completes
    // each record in the table, so the table holds exactly the genuine deliveries once the queue
    // is drained, and the log shows each queued and processed once.
    let main_queue = queue_url(&sqs, &settings.queue_name).await;
    let dead_letters = queue_url(&sqs, &settings.dead_letter_queue_name).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let records = loop {
        let records = table(&dynamodb, &settings).await;
        let drained = local::depth(&sqs, &main_queue).await.unwrap() == (0, 0);
        let done = records.iter().all(|(_, status)| status == "COMPLETED");
        if (drained && done && records.len() >= queued.len()) || Instant::now() > deadline {
            break records;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let in_table: BTreeMap<String, String> = records.into_iter().collect();
    let expected: BTreeSet<&String> = queued.keys().collect();
    let got: BTreeSet<&String> = in_table.keys().collect();
    if expected != got {
        failures.push(format!(
            "the table does not hold exactly the genuine deliveries: missing {:?}, extra {:?}",
            expected.difference(&got).collect::<Vec<_>>(),
            got.difference(&expected).collect::<Vec<_>>()
        ));
    }
    for (key, status) in &in_table {
        if status != "COMPLETED" {
            failures.push(format!("{key}: {status} in the table"));
        }
    }
    assert_eq!(
        local::depth(&sqs, &main_queue).await.unwrap(),
        (0, 0),
        "the queue is not drained:\n{}",
        dev.tail(40)
    );
    assert_eq!(
        local::depth(&sqs, &dead_letters).await.unwrap(),
        (0, 0),
        "dead letters:\n{}",
        dev.tail(40)
    );
    let log = dev.log();
    let queued_lines = count_lines(&log, |line| line.contains("queued ("));
    if queued_lines != queued.len() {
        failures.push(format!(
            "{queued_lines} deliveries were queued, not the {} genuine ones",
            queued.len()
        ));
    }
    for key in queued.keys() {
        let received = count_lines(&log, |line| line.ends_with(&format!("queued (202) {key}")));
        let processed = count_lines(&log, |line| line.contains(&format!("  {key}: processed")));
        if (received, processed) != (1, 1) {
            failures.push(format!(
                "{key}: queued {received} times and processed {processed} times, not once"
            ));
        }
    }
    for word in ["duplicate (", "dead-lettered", "failed (", "not queued"] {
        if log.contains(word) {
            failures.push(format!("the log says {word:?}"));
        }
    }
    dev.assert_running();
    assert!(!dev.stderr().contains("panicked"), "{log}");
    drop(dev);

    // Start-up: keys not in their provider's format are refused, by name.
    let (start_ups, start_up_failures) = start_up_checks(&emulator, &store, &srcs).await;
    failures.extend(start_up_failures);

    let categories: Vec<String> = sizes.iter().map(|(c, n)| format!("{c}: {n}")).collect();
    // Written past the test harness's capture, as hostile's totals are.
    let totals = format!(
        "provider corpus: {sent} requests to {} providers' sources ({} genuine queued once, \
         {handshakes} handshakes, {refusals} hostile: {}), {start_ups} start-ups refused a key; \
         {} not as expected\n",
        srcs.len(),
        queued.len(),
        categories.join(", "),
        failures.len()
    );
    let _ = std::io::stderr().write_all(totals.as_bytes());
    assert_eq!(
        covered.len(),
        srcs.len(),
        "some providers have no hostile case"
    );
    let asymmetric = srcs.iter().filter(|s| s.scheme.is_asymmetric()).count();
    assert!(
        start_ups >= 2 * asymmetric && asymmetric > 0,
        "{start_ups} start-ups refused for {asymmetric} asymmetric providers"
    );
    assert!(
        failures.is_empty(),
        "{} failures over {sent} requests:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
