//! One W3C trace (Trace Context, `traceparent`) from the provider to the agent.
//!
//! Ingest continues the provider's `traceparent` when it sent a valid one, else starts a trace
//! whose id is the Lambda's X-Ray trace id (so the W3C id and the X-Ray console's are the same),
//! else a random one. The envelope carries ingest's `traceparent`; process continues it with a
//! span of its own per queue message, and every destination receives that: the `traceparent`
//! header on forwards, a `traceparent` message attribute on SQS and SNS, and a resource
//! `inlet:trace/<trace id>` on EventBridge. Event log lines carry `trace_id` beside `key`.

use std::fmt;

/// The header (and SQS/SNS message attribute) that carries a trace.
pub const TRACEPARENT: &str = "traceparent";
/// The vendors' part of a trace, passed on as it came when the provider sent one.
pub const TRACESTATE: &str = "tracestate";
/// W3C's limit on `tracestate` that a receiver must accept; a longer one is dropped.
const MAX_TRACESTATE: usize = 512;
/// The `sampled` flag: set on traces Inlet starts, since their ids are in its logs.
const SAMPLED: u8 = 0x01;

/// A trace id: 16 bytes, shown as 32 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// One span of a trace, as `traceparent` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: TraceId,
    /// The span that sent (or, for Inlet's own, is) this step.
    pub span_id: [u8; 8],
    pub flags: u8,
}

impl TraceContext {
    /// A `traceparent` value, as W3C Trace Context level 1 reads it: version `00` exactly
    /// (`00-<32 hex>-<16 hex>-<2 hex>`), a later version by its first four fields, lower-case
    /// hex, neither id all zeros. `None` for anything else.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim_matches(|c| c == ' ' || c == '\t');
        let bytes = header.as_bytes();
        // ASCII only, so the fields below are sliced on character boundaries.
        if bytes.len() < 55 || !header.is_ascii() {
            return None;
        }
        let version = lower_hex::<1>(&header[..2])?[0];
        let exact = bytes.len() == 55;
        // Version ff is invalid; 00 has exactly four fields; a later one may add fields after
        // a dash.
        if version == 0xff || (version == 0 && !exact) || (!exact && bytes[55] != b'-') {
            return None;
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let trace_id = lower_hex::<16>(&header[3..35])?;
        let span_id = lower_hex::<8>(&header[36..52])?;
        let flags = lower_hex::<1>(&header[53..55])?[0];
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id: TraceId(trace_id),
            span_id,
            // Only `sampled` is defined in version 00; others are passed on as zero.
            flags: if version == 0 { flags } else { flags & SAMPLED },
        })
    }

    /// The `traceparent` header value of this span (always version `00`).
    pub fn traceparent(&self) -> String {
        // Written into one buffer: it is built for every delivery and every destination.
        let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
        let filled = hex::encode_to_slice(self.trace_id.0, &mut out[3..35]).and_then(|()| {
            hex::encode_to_slice(self.span_id, &mut out[36..52])?;
            hex::encode_to_slice([self.flags], &mut out[53..55])
        });
        match (filled, std::str::from_utf8(&out)) {
            (Ok(()), Ok(text)) => text.to_owned(),
            // Neither can fail: the slices are exactly twice the bytes, and hex is ASCII.
            _ => String::new(),
        }
    }

    /// The same trace, one step on, as span `span_id`.
    pub fn child(&self, span_id: [u8; 8]) -> Self {
        Self { span_id, ..*self }
    }

    /// Process's span for queue message `message_id`: derived from ingest's span and the
    /// message, so every log line and destination of one message names the same span without
    /// carrying it around, and copies of one event (replays) have spans of their own.
    pub fn for_message(&self, message_id: &str) -> Self {
        let mut input = Vec::with_capacity(8 + message_id.len());
        input.extend_from_slice(&self.span_id);
        input.extend_from_slice(message_id.as_bytes());
        self.child(nonzero_span(&inlet_signature::sha256(&input)))
    }
}

/// The trace ingest starts for one delivery: the provider's `traceparent` (and `tracestate`)
/// continued when valid, else `xray` (the Lambda's `Root=1-…;Parent=…;Sampled=…` header) as the
/// trace id, else a random one. Ingest's own span id is random.
pub fn start(headers: &http::HeaderMap, xray: Option<&str>) -> (TraceContext, Option<String>) {
    let span_id = nonzero_span(&random::<8>());
    let mut provider = headers.get_all(TRACEPARENT).iter();
    // Two traceparent headers cannot be told apart: W3C says start a new trace.
    let sent = match (provider.next(), provider.next()) {
        (Some(value), None) => value.to_str().ok().and_then(TraceContext::parse),
        _ => None,
    };
    if let Some(parent) = sent {
        let state = headers
            .get(TRACESTATE)
            .and_then(|value| value.to_str().ok())
            .filter(|state| valid_tracestate(state))
            .map(str::to_owned);
        return (parent.child(span_id), state);
    }
    let (trace_id, flags) = match xray.and_then(xray_trace) {
        Some((id, sampled)) => (id, if sampled { SAMPLED } else { 0 }),
        None => {
            let id = random::<16>();
            let id = if id == [0; 16] { [1; 16] } else { id };
            (TraceId(id), SAMPLED)
        }
    };
    let context = TraceContext {
        trace_id,
        span_id,
        flags,
    };
    (context, None)
}

/// An event's trace as ingest left it: its `traceparent` when that reads, else the one its key
/// gives it ([`from_key`]). What process continues, and what the inspector names.
pub fn carried(traceparent: Option<&str>, key: &str) -> TraceContext {
    traceparent
        .and_then(TraceContext::parse)
        .unwrap_or_else(|| from_key(key))
}

/// The trace of an envelope that carries none (queued before traces, or written by hand):
/// derived from its key, so every step of that event still shares one id.
pub fn from_key(key: &str) -> TraceContext {
    let digest = inlet_signature::sha256(format!("trace:{key}").as_bytes());
    let mut trace_id = [0; 16];
    trace_id.copy_from_slice(&digest[..16]);
    if trace_id == [0; 16] {
        trace_id = [1; 16];
    }
    TraceContext {
        trace_id: TraceId(trace_id),
        span_id: nonzero_span(&digest[16..24]),
        flags: SAMPLED,
    }
}

/// The trace id in an X-Ray trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;…`), which
/// is the W3C id in other clothes: its epoch (8 hex) and random part (24 hex) joined. With
/// whether X-Ray samples it (`Sampled=1`).
pub fn xray_trace(header: &str) -> Option<(TraceId, bool)> {
    let mut root = None;
    let mut sampled = false;
    for part in header.split(';') {
        match part.trim().split_once('=') {
            Some(("Root", value)) => root = Some(value),
            Some(("Sampled", value)) => sampled = value == "1",
            _ => {}
        }
    }
    let root = root?;
    let (epoch, random) = root.strip_prefix("1-")?.split_once('-')?;
    if epoch.len() != 8 || random.len() != 24 {
        return None;
    }
    let id = lower_hex::<16>(&format!("{epoch}{random}"))?;
    (id != [0; 16]).then_some((TraceId(id), sampled))
}

/// A `tracestate` worth passing on: at most 512 printable ASCII characters (its list syntax is
/// the vendors' business; a broken one is theirs to ignore).
fn valid_tracestate(state: &str) -> bool {
    !state.is_empty()
        && state.len() <= MAX_TRACESTATE
        && state.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

/// `N` bytes from lower-case hex of exactly `2 * N` digits (W3C allows no upper case).
fn lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// A span id from the first 8 bytes of `bytes`, never all zeros (which W3C reserves).
fn nonzero_span(bytes: &[u8]) -> [u8; 8] {
    let mut span = [0; 8];
    span.copy_from_slice(&bytes[..8]);
    if span == [0; 8] { [1; 8] } else { span }
}

/// `N` random bytes for ids: SplitMix64 over a counter, seeded once per process from the
/// operating system's generator. Trace and span ids must be unique, not secret; a system call per
/// delivery cost ingest more than everything else a trace adds.
fn random<const N: usize>() -> [u8; N] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: std::sync::OnceLock<AtomicU64> = std::sync::OnceLock::new();
    const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
    let state = STATE.get_or_init(|| AtomicU64::new(seed()));
    let mut out = [0; N];
    for chunk in out.chunks_mut(8) {
        let mut z = state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
    out
}

/// The generator's starting point: from the OS, or should that ever fail, from the clock.
fn seed() -> u64 {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0; 8];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = inlet_signature::sha256(nanos.to_string().as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    // The example of W3C Trace Context (Recommendation, § 3.2.2.1 and the examples after it).
    const W3C_EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    // The example trace header of AWS X-Ray's developer guide ("Tracing header").
    const XRAY_EXAMPLE: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_valid_traceparent_reads_and_writes_back_the_same() {
        let context = TraceContext::parse(W3C_EXAMPLE).unwrap();
        assert_eq!(
            context.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(hex::encode(context.span_id), "00f067aa0ba902b7");
        assert_eq!(context.flags, 1);
        assert_eq!(context.traceparent(), W3C_EXAMPLE);
    }

    #[test]
    fn broken_traceparents_are_not_read() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_later_version_is_read_by_its_first_fields() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-more";
        let context = TraceContext::parse(later).unwrap();
        assert_eq!(
            context.traceparent(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
    }

    #[test]
    fn the_providers_trace_is_continued_with_a_span_of_our_own() {
        let (context, state) = start(
            &headers(&[("traceparent", W3C_EXAMPLE), ("tracestate", "vendor=abc")]),
            Some(XRAY_EXAMPLE),
        );
        assert_eq!(
            context.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_ne!(hex::encode(context.span_id), "00f067aa0ba902b7");
        assert_eq!(state.as_deref(), Some("vendor=abc"));
    }

    #[test]
    fn without_one_the_xray_trace_id_is_the_trace_id() {
        let (context, state) = start(&HeaderMap::new(), Some(XRAY_EXAMPLE));
        assert_eq!(
            context.trace_id.to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(context.flags, 1);
        assert_eq!(state, None);
        let (unsampled, _) = start(
            &HeaderMap::new(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"),
        );
        assert_eq!(unsampled.flags, 0);
    }

    #[test]
    fn a_broken_or_doubled_traceparent_starts_a_new_trace() {
        let doubled = headers(&[("traceparent", W3C_EXAMPLE), ("traceparent", W3C_EXAMPLE)]);
        let broken = headers(&[("traceparent", "00-zz"), ("tracestate", "vendor=abc")]);
        for request in [doubled, broken] {
            let (context, state) = start(&request, None);
            assert_ne!(
                context.trace_id.to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            assert_eq!(
                state, None,
                "tracestate goes only with the trace it belongs to"
            );
        }
        let (one, _) = start(&HeaderMap::new(), None);
        let (two, _) = start(&HeaderMap::new(), None);
        assert_ne!(one.trace_id, two.trace_id);
    }

    #[test]
    fn an_oversized_or_unprintable_tracestate_is_dropped() {
        let long = "a=".to_owned() + &"b".repeat(600);
        for state in [long.as_str(), "a=\u{7f}"] {
            let Ok(value) = HeaderValue::from_str(state) else {
                continue;
            };
            let mut request = headers(&[("traceparent", W3C_EXAMPLE)]);
            request.insert("tracestate", value);
            assert_eq!(start(&request, None).1, None);
        }
    }

    #[test]
    fn a_messages_span_is_its_own_and_stable() {
        let ingest = TraceContext::parse(W3C_EXAMPLE).unwrap();
        let one = ingest.for_message("m-1");
        assert_eq!(one, ingest.for_message("m-1"));
        assert_ne!(one.span_id, ingest.for_message("m-2").span_id);
        assert_ne!(one.span_id, ingest.span_id);
        assert_eq!(one.trace_id, ingest.trace_id);
    }

    #[test]
    fn xray_headers_without_a_proper_root_give_nothing() {
        for bad in [
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            "Root=1-5759E988-bd862e3fe1be46a994272793",
        ] {
            assert_eq!(xray_trace(bad), None, "{bad}");
        }
    }
}
