//! Tier 3 (architecture.md § Tests): every file in events/process/ goes through the real Lambda
//! SQS event type into `inlet_aws::lambda::handle_sqs`, over in-memory ports and a handler scripted per key, and
//! must end as its scenarios below state: the batch item failures SQS gets back, which actions
//! ran (once per key), what was dead-lettered, which retries were delayed, and what the
//! idempotency store holds afterwards. A failing route is also followed through its retry
//! schedule, the batch's clock moved from one step to the next, to its `retries_exhausted` dead
//! letter.
//!
//! Each scenario states the outcome of every record in its file, so a file without a scenario,
//! a scenario without a file, or a record without an outcome fails the suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use inlet_aws::lambda::handle_sqs;
use inlet_core::actions::{ActionError, Event, HANDLER_ROUTE, Handler};
use inlet_core::claims::ClaimChecks;
use inlet_core::config::ProcessSettings;
use inlet_core::envelope::{Envelope, idempotency_key};
use inlet_core::ports::FifoIds;
use inlet_core::ports::memory::{
    MemoryObjects, MemoryQueue, MemoryStore, MemoryVisibility, RecordStatus,
};
use inlet_core::process::{Deadline, Process};
use inlet_signature::clock;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

// A failing route followed through its whole retry schedule, the batch's clock moved.
#[path = "events/schedule.rs"]
mod schedule;

/// `events/process` at the repository root: this crate lives in functions/process.
fn events_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .unwrap_or(here)
        .join("events/process")
}

/// How one record of a file must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The action ran and the key was marked completed.
    Processed,
    /// The action ran and no route wanted the event: completed all the same, not failed.
    Unrouted,
    /// Already completed: acknowledged without running the action again.
    Duplicate,
    /// The action failed transiently: a batch item failure, its next try delayed this long (its
    /// route's first attempt, so the schedule's first step, whatever SQS's receive count).
    RetryAfter(u32),
    /// An earlier record of its FIFO group failed: reported, and not attempted; it waits as long
    /// as that record does.
    Skipped,
    /// The action failed permanently: dead-lettered as `action_failed` and acknowledged.
    ActionFailed,
    /// Dead-lettered without running the action, with the `source` attribute it must carry
    /// (`None`: the record's own `source` message attribute, if it has one).
    DeadLetter {
        reason: &'static str,
        source: Option<&'static str>,
    },
}

impl Expect {
    fn ran(self) -> bool {
        matches!(
            self,
            Self::Processed | Self::Unrouted | Self::RetryAfter(_) | Self::ActionFailed
        )
    }

    fn completes(self) -> bool {
        matches!(self, Self::Processed | Self::Unrouted)
    }

    fn fails(self) -> bool {
        matches!(self, Self::RetryAfter(_) | Self::Skipped)
    }

    /// DynamoDB calls (architecture.md § Idempotency record): claim and complete, or claim and
    /// release; one for a claim that finds the key taken; none for a record never claimed.
    fn store_calls(self) -> usize {
        match self {
            Self::Processed | Self::Unrouted | Self::RetryAfter(_) | Self::ActionFailed => 2,
            Self::Duplicate => 1,
            Self::DeadLetter { reason, .. } => match reason {
                "payload_conflict" => 1,
                // Claimed, then released when the body could not be read.
                "payload_missing" | "payload_mismatch" => 2,
                _ => 0,
            },
            Self::Skipped => 0,
        }
    }
}

struct Scenario {
    file: &'static str,
    what: &'static str,
    /// One per record, in the file's order.
    records: &'static [Expect],
    /// Records whose actions must run in this order (FIFO groups).
    order: &'static [&'static [usize]],
}

use Expect::{ActionFailed, DeadLetter, Duplicate, Processed, RetryAfter, Skipped, Unrouted};

const UNPARSEABLE: Expect = DeadLetter {
    reason: "unparseable_envelope",
    source: None,
};

const SCENARIOS: &[Scenario] = &[
    // github, stripe (third receive), svix, slack, twilio, crm (binary body), linear, shopify
    Scenario {
        file: "standard-mixed-sources.json",
        what: "every source's event runs once; twilio has no route",
        records: &[
            Processed, Processed, Processed, Processed, Unrouted, Processed, Processed, Processed,
        ],
        order: &[],
    },
    Scenario {
        file: "standard-mixed-sources.json",
        what: "one record retried, one refused, the rest of the batch unaffected",
        records: &[
            Processed,
            // Stripe's record is on its third receive, but its route's first attempt (nothing in
            // the store): the schedule's first step, 5 s. SQS's receive count is not an attempt.
            RetryAfter(5),
            ActionFailed,
            Processed,
            Processed,
            Processed,
            Processed,
            Processed,
        ],
        order: &[],
    },
    Scenario {
        file: "duplicate-pair.json",
        what: "the second copy of one envelope is acknowledged without running",
        records: &[Processed, Duplicate],
        order: &[],
    },
    Scenario {
        file: "provider-redelivery.json",
        what: "a redelivery of the same payload is a duplicate, not a conflict",
        records: &[Processed, Duplicate],
        order: &[],
    },
    // raw provider JSON, truncated envelope, a good envelope, envelope v2, edited key
    Scenario {
        file: "malformed-records.json",
        what: "unreadable bodies are dead-lettered at once; the good one runs",
        records: &[
            UNPARSEABLE,
            UNPARSEABLE,
            Processed,
            UNPARSEABLE,
            UNPARSEABLE,
        ],
        order: &[],
    },
    // crm 1, github 1, crm 2, github 2
    Scenario {
        file: "fifo-two-groups.json",
        what: "both groups run, each in order",
        records: &[Processed, Processed, Processed, Processed],
        order: &[&[0, 2], &[1, 3]],
    },
    Scenario {
        file: "fifo-two-groups.json",
        what: "the head of one group fails: the rest of that group waits, the other group runs",
        records: &[RetryAfter(5), Processed, Skipped, Processed],
        order: &[&[1, 3]],
    },
    Scenario {
        file: "fifo-two-groups.json",
        what: "a permanent failure is dead-lettered in its group and the group goes on",
        records: &[Processed, ActionFailed, Processed, Processed],
        order: &[&[0, 2], &[1, 3]],
    },
    Scenario {
        file: "payload-conflict.json",
        what: "the same key with a different payload is dead-lettered, never dropped",
        records: &[
            Processed,
            DeadLetter {
                reason: "payload_conflict",
                source: Some("stripe"),
            },
        ],
        order: &[],
    },
    // the github push and the svix event, each redriven from the dead-letter queue by an
    // operator (`inlet dlq redrive`): new messages that name the ones ingest first queued
    Scenario {
        file: "redriven-dead-letters.json",
        what: "redriven dead letters run afresh",
        records: &[Processed, Processed],
        order: &[],
    },
    Scenario {
        file: "redriven-dead-letters.json",
        what: "a redriven record refused again is dead-lettered under the message it first was",
        records: &[Processed, ActionFailed],
        order: &[],
    },
    // github push too large for the queue (events/ingest/github-push-large.json, as queued), the
    // same message again, a hand-sent reference to another bucket, one to an expired object
    Scenario {
        file: "claim-checks.json",
        what: "a claim-checked body reaches the action; hostile and missing references are refused",
        records: &[
            Processed,
            Duplicate,
            DeadLetter {
                reason: "payload_ref_refused",
                source: Some("github"),
            },
            DeadLetter {
                reason: "payload_missing",
                source: Some("stripe"),
            },
        ],
        order: &[],
    },
];

/// The payload bucket the stack's claim checks are in.
const BUCKET: &str = "inlet-payloads";

/// The bodies of the deliveries in events/ingest/, by hex SHA-256: ingest stored the large ones
/// in the payload bucket, so the bucket holds them for the references that name them by hash.
fn ingest_bodies() -> HashMap<String, Vec<u8>> {
    let dir = events_dir().parent().unwrap().join("ingest");
    let mut bodies = HashMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        let Some(body) = event["body"].as_str() else {
            continue;
        };
        let bytes = if event["isBase64Encoded"] == json!(true) {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap()
        } else {
            body.as_bytes().to_vec()
        };
        bodies.insert(sha_hex(&bytes), bytes);
    }
    bodies
}

// ---- the handler ----

#[derive(Debug, Clone, Copy)]
enum Script {
    Transient,
    Permanent,
    Unrouted,
}

/// Records every event it is given; answers per key as scripted, else `Done`.
#[derive(Debug, Default)]
struct ScriptedHandler {
    script: HashMap<String, Script>,
    calls: Mutex<Vec<Call>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    key: String,
    sha256: String,
}

impl Handler for ScriptedHandler {
    fn routes<'s>(&'s self, event: &Event<'_>) -> Vec<&'s str> {
        match self.script.get(&event.envelope.key) {
            Some(Script::Unrouted) => {
                // Seen, but no route takes it.
                self.calls.lock().unwrap().push(Call {
                    key: event.envelope.key.clone(),
                    sha256: sha_hex(event.body),
                });
                Vec::new()
            }
            _ => vec![inlet_core::actions::HANDLER_ROUTE],
        }
    }

    async fn handle(&self, _route: &str, event: Event<'_>) -> Result<(), ActionError> {
        let key = event.envelope.key.clone();
        self.calls.lock().unwrap().push(Call {
            key: key.clone(),
            sha256: sha_hex(event.body),
        });
        match self.script.get(&key) {
            None | Some(Script::Unrouted) => Ok(()),
            Some(Script::Transient) => {
                Err(ActionError::Transient("the target answered 503".into()))
            }
            Some(Script::Permanent) => {
                Err(ActionError::Permanent("the target answered 410".into()))
            }
        }
    }
}

fn sha_hex(bytes: &[u8]) -> String {
    hex(&inlet_signature::sha256(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        write!(text, "{byte:02x}").unwrap();
        text
    })
}

/// MD5 (RFC 1321), only to check the digests SQS puts in its events: a hand-edited body with a
/// stale `md5OfBody` is no longer a real event.
fn md5(data: &[u8]) -> [u8; 16] {
    const SHIFTS: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    let constants: Vec<u32> = (0..64)
        .map(|i| (f64::from(i + 1).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64).wrapping_mul(8).to_le_bytes());
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for block in message.chunks(64) {
        let words: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f
                .wrapping_add(a)
                .wrapping_add(constants[i])
                .wrapping_add(words[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(SHIFTS[(i / 16) * 4 + i % 4]));
        }
        for (word, add) in state.iter_mut().zip([a, b, c, d]) {
            *word = word.wrapping_add(add);
        }
    }
    let mut digest = [0u8; 16];
    for (chunk, word) in digest.chunks_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    digest
}

/// What SQS hashes for `md5OfMessageAttributes`: per attribute, in name order, the name, the data
/// type and the value, each length-prefixed (big-endian u32), the value after a transport byte.
fn attribute_digest_input(attributes: &serde_json::Map<String, Value>) -> Vec<u8> {
    fn put(input: &mut Vec<u8>, bytes: &[u8]) {
        input.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
        input.extend_from_slice(bytes);
    }
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort();
    let mut input = Vec::new();
    for name in names {
        let attribute = &attributes[name];
        put(&mut input, name.as_bytes());
        put(
            &mut input,
            attribute["dataType"]
                .as_str()
                .unwrap_or_default()
                .as_bytes(),
        );
        // 1: a string value (2 would be binary).
        input.push(1);
        put(
            &mut input,
            attribute["stringValue"]
                .as_str()
                .unwrap_or_default()
                .as_bytes(),
        );
    }
    input
}

#[test]
fn the_digests_used_to_check_the_files_are_sqs_digests() {
    assert_eq!(hex(&md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(
        hex(&md5(b"The quick brown fox jumps over the lazy dog")),
        "9e107d9d372bb6826bd81d3542a419d6"
    );
    // Crosses a block boundary: 56 bytes leave no room for the length in the first block.
    assert_eq!(hex(&md5(&[b'a'; 56])), "3b0c8ac703f828b04c6c197006d17218");
    // Published examples of SQS's attribute digest.
    let attributes = |name: &str, data_type: &str, value: &str| {
        let mut map = serde_json::Map::new();
        map.insert(
            name.to_owned(),
            json!({ "stringValue": value, "dataType": data_type }),
        );
        hex(&md5(&attribute_digest_input(&map)))
    };
    assert_eq!(
        attributes("attribName1", "String", "attribValue 1"),
        "19e27d4e946b072f3f58da80d94fd778"
    );
    assert_eq!(
        attributes(
            "customNumberTypeAttrib",
            "Number.float",
            "4563442423554324324264524243.32543234"
        ),
        "9fe1b90bbd9965bdf77bac517c7d2495"
    );
}

// ---- files ----

struct File {
    text: String,
    event: SqsEvent,
}

impl File {
    fn read(name: &str) -> Self {
        let text = std::fs::read_to_string(events_dir().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let event: SqsEvent = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: not an SQS event for Lambda: {e}"));
        Self { text, event }
    }

    fn records(&self) -> &[SqsMessage] {
        &self.event.records
    }

    fn envelope(&self, index: usize) -> Option<Envelope> {
        Envelope::from_json(self.records()[index].body.as_deref()?).ok()
    }

    fn attribute(&self, index: usize, name: &str) -> Option<&str> {
        self.records()[index]
            .attributes
            .get(name)
            .map(String::as_str)
    }

    /// A string message attribute, as ingest set it.
    fn message_attribute(&self, index: usize, name: &str) -> Option<String> {
        self.records()[index]
            .message_attributes
            .get(name)?
            .string_value
            .clone()
    }

    /// The lane a record runs in: its FIFO group, else (a standard queue) its event's key.
    fn lane(&self, index: usize) -> Option<String> {
        match self.attribute(index, "MessageGroupId") {
            Some(group) => Some(group.to_owned()),
            None => self.envelope(index).map(|e| e.key),
        }
    }

    fn message_id(&self, index: usize) -> &str {
        self.records()[index].message_id.as_deref().unwrap()
    }

    /// As in Lambda: the batch is handled a moment after its last record was first received.
    fn clock(&self) -> Deadline {
        let received = (0..self.records().len())
            .map(|i| {
                self.attribute(i, "ApproximateFirstReceiveTimestamp")
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
            })
            .max()
            .unwrap();
        let now_ms = received + 480;
        Deadline {
            now_ms,
            deadline_ms: now_ms + 30_000,
        }
    }
}

/// Every file in events/process/ but the README: each must have a scenario.
fn event_files() -> BTreeSet<String> {
    std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "README.md")
        .collect()
}

fn ensure(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
}

// ---- running a scenario ----

type TestProcess = Process<MemoryStore, MemoryQueue, MemoryVisibility, Arc<ScriptedHandler>>;

/// The test's own handles to what a pipeline runs on: the fakes share their state with the
/// pipeline's clones.
struct Fakes {
    store: MemoryStore,
    objects: MemoryObjects,
    dead_letters: MemoryQueue,
    visibility: MemoryVisibility,
    handler: Arc<ScriptedHandler>,
}

impl Fakes {
    fn new(handler: ScriptedHandler) -> Self {
        Self {
            store: MemoryStore::new(),
            objects: MemoryObjects::new(BUCKET),
            dead_letters: MemoryQueue::new(),
            visibility: MemoryVisibility::default(),
            handler: Arc::new(handler),
        }
    }

    /// Puts in the payload bucket the body of every reference in `file` that ingest stored (the
    /// others are gone: expired); gives their keys.
    fn fill_bucket(&self, file: &File) -> BTreeSet<String> {
        let bodies = ingest_bodies();
        let mut stored = BTreeSet::new();
        for index in 0..file.records().len() {
            let Some(reference) = file.envelope(index).and_then(|e| e.body_ref) else {
                continue;
            };
            if let (BUCKET, Some(body)) = (reference.bucket.as_str(), bodies.get(&reference.sha256))
            {
                self.objects.insert(&reference.key, body.clone());
                stored.insert(reference.key);
            }
        }
        stored
    }

    fn process(&self) -> TestProcess {
        Process::new(
            self.store.clone(),
            self.dead_letters.clone(),
            self.visibility.clone(),
            Arc::clone(&self.handler),
            ProcessSettings::default(),
        )
        .with_payloads(Arc::new(ClaimChecks(self.objects.clone())))
    }
}

fn process_for(file: &File, scenario: &Scenario) -> Result<Fakes, String> {
    let mut script = HashMap::new();
    for (index, expect) in scenario.records.iter().enumerate() {
        let wanted = match expect {
            RetryAfter(_) => Script::Transient,
            ActionFailed => Script::Permanent,
            Unrouted => Script::Unrouted,
            _ => continue,
        };
        let key = file
            .envelope(index)
            .ok_or_else(|| format!("record {index} has no envelope for its action to fail on"))?
            .key;
        script.insert(key, wanted);
    }
    let handler = ScriptedHandler {
        script,
        ..ScriptedHandler::default()
    };
    Ok(Fakes::new(handler))
}

async fn run(scenario: &Scenario) -> Result<(), String> {
    let file = File::read(scenario.file);
    let records = file.records();
    ensure(scenario.records.len() == records.len(), || {
        format!(
            "the scenario states {} outcomes for {} records",
            scenario.records.len(),
            records.len()
        )
    })?;
    let fakes = process_for(&file, scenario)?;
    let stored = fakes.fill_bucket(&file);
    let process = fakes.process();
    let clock = file.clock();
    let fifo = records[0]
        .event_source_arn
        .as_deref()
        .is_some_and(|arn| arn.ends_with(".fifo"));

    let response = handle_sqs(&process, &file.event, clock).await;

    // What SQS reads back, on the wire.
    let failures: Vec<Value> = scenario
        .records
        .iter()
        .enumerate()
        .filter(|(_, expect)| expect.fails())
        .map(|(index, _)| json!({ "itemIdentifier": file.message_id(index) }))
        .collect();
    let answered = serde_json::to_value(&response).unwrap();
    let wanted = json!({ "batchItemFailures": failures });
    ensure(answered == wanted, || {
        format!("batch response {answered}, expected {wanted}")
    })?;

    // Each action that should run ran once, with its record's payload, and nothing else ran.
    let payload = |index: usize| {
        let envelope = file.envelope(index).unwrap();
        Call {
            key: envelope.key.clone(),
            sha256: match &envelope.body_ref {
                Some(reference) => reference.sha256.clone(),
                None => sha_hex(&envelope.body_bytes().unwrap()),
            },
        }
    };
    let calls = fakes.handler.calls.lock().unwrap().clone();
    let mut ran = calls.clone();
    ran.sort();
    let mut should_run: Vec<Call> = scenario
        .records
        .iter()
        .enumerate()
        .filter(|(_, expect)| expect.ran())
        .map(|(index, _)| payload(index))
        .collect();
    should_run.sort();
    ensure(ran == should_run, || {
        format!("actions ran for {ran:#?}, expected {should_run:#?}")
    })?;
    for sequence in scenario.order {
        let positions: Vec<Option<usize>> = sequence
            .iter()
            .map(|&index| calls.iter().position(|call| *call == payload(index)))
            .collect();
        let in_order = positions.iter().all(Option::is_some) && positions.is_sorted();
        ensure(in_order, || {
            format!("records {sequence:?} ran out of order: {calls:#?}")
        })?;
    }

    // Dead letters: the original body, why, from where and when; FIFO ones keep their group.
    type Letter = (String, BTreeMap<String, String>, Option<(String, String)>);
    let mut letters: Vec<Letter> = fakes
        .dead_letters
        .messages()
        .into_iter()
        .map(|message| {
            let attributes = message
                .attributes
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect();
            let fifo = message.fifo.map(
                |FifoIds {
                     group_id,
                     deduplication_id,
                 }| (group_id, deduplication_id),
            );
            (message.body, attributes, fifo)
        })
        .collect();
    letters.sort();
    let mut wanted_letters: Vec<Letter> = Vec::new();
    for (index, expect) in scenario.records.iter().enumerate() {
        let (reason, source) = match *expect {
            ActionFailed => ("action_failed", file.envelope(index).map(|e| e.source)),
            // Unreadable envelopes keep the source ingest put in the message attributes.
            DeadLetter { reason, source } => (
                reason,
                source
                    .map(str::to_owned)
                    .or_else(|| file.message_attribute(index, "source")),
            ),
            _ => continue,
        };
        let mut attributes = BTreeMap::from([
            ("reason".to_owned(), reason.to_owned()),
            (
                "failed_at".to_owned(),
                clock::format_rfc3339_millis(clock.now_ms),
            ),
        ]);
        if let Some(source) = source {
            attributes.insert("source".to_owned(), source);
        }
        // A route failed for good: the letter names it (the handler's one route), why, and on
        // which attempt (its first: a permanent failure is not retried), so its redrive runs
        // only that route.
        if matches!(*expect, ActionFailed) {
            attributes.insert("routes".to_owned(), HANDLER_ROUTE.to_owned());
            attributes.insert(
                "route_errors".to_owned(),
                serde_json::json!({ HANDLER_ROUTE: {
                    "reason": "action_failed",
                    "message": "the target answered 410",
                    "attempts": 1,
                }})
                .to_string(),
            );
            attributes.insert("attempts".to_owned(), "1".to_owned());
        }
        // The message its delivery was first queued as: the record's own, unless it was a
        // redriven dead letter carrying the origin.
        attributes.insert(
            "origin_message_id".to_owned(),
            file.message_attribute(index, "origin_message_id")
                .unwrap_or_else(|| file.message_id(index).to_owned()),
        );
        let fifo_ids = fifo.then(|| {
            (
                file.attribute(index, "MessageGroupId").unwrap().to_owned(),
                file.message_id(index).to_owned(),
            )
        });
        let body = records[index].body.clone().unwrap();
        wanted_letters.push((body, attributes, fifo_ids));
    }
    wanted_letters.sort();
    ensure(letters == wanted_letters, || {
        format!("dead letters {letters:#?}, expected {wanted_letters:#?}")
    })?;

    // Retries are pushed back to their route's next step, and the records that waited behind
    // them (their FIFO group's failed head) as long as it; nothing else is touched.
    let mut delays = fakes.visibility.changes();
    delays.sort();
    let mut wanted_delays: Vec<(String, u32)> = Vec::new();
    for (index, expect) in scenario.records.iter().enumerate() {
        let secs = match expect {
            RetryAfter(secs) => *secs,
            Skipped => {
                let stopper =
                    (0..index)
                        .rev()
                        .find_map(|earlier| match scenario.records[earlier] {
                            RetryAfter(secs) if file.lane(earlier) == file.lane(index) => {
                                Some(secs)
                            }
                            _ => None,
                        });
                stopper.ok_or_else(|| {
                    format!("record {index} is skipped behind no failed record of its lane")
                })?
            }
            _ => continue,
        };
        wanted_delays.push((records[index].receipt_handle.clone().unwrap(), secs));
    }
    wanted_delays.sort();
    ensure(delays == wanted_delays, || {
        format!("visibility changes {delays:?}, expected {wanted_delays:?}")
    })?;

    // A claim-checked body goes once its event is done; a failed one keeps it for the retry or
    // the redrive. Nothing else in the bucket is touched.
    let mut kept = stored.clone();
    for (index, expect) in scenario.records.iter().enumerate() {
        if let (Some(reference), Processed | Unrouted | Duplicate) =
            (file.envelope(index).and_then(|e| e.body_ref), expect)
        {
            kept.remove(&reference.key);
        }
    }
    let left: BTreeSet<String> = fakes.objects.keys().into_iter().collect();
    ensure(left == kept, || {
        format!("the bucket holds {left:?}, expected {kept:?}")
    })?;

    let calls = fakes.store.calls();
    let wanted_calls: usize = scenario.records.iter().map(|e| e.store_calls()).sum();
    ensure(calls == wanted_calls, || {
        format!("{calls} idempotency store calls, expected {wanted_calls}")
    })?;

    // The store: a key is completed by the record that ran it; a route that failed stays in a
    // released claim, dead or waiting for its next step with its attempt counted.
    let mut keys: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for index in 0..records.len() {
        if let Some(envelope) = file.envelope(index) {
            keys.entry(envelope.key).or_default().push(index);
        }
    }
    let now_secs = clock.now_ms.div_euclid(1000);
    for (key, indices) in &keys {
        let record = fakes.store.record(key);
        let completer = indices.iter().find(|&&i| scenario.records[i].completes());
        match completer {
            Some(&index) => {
                let record = record.ok_or_else(|| format!("{key}: no record in the store"))?;
                let claimed = &file.records()[index];
                let receive_count: u32 = claimed.attributes["ApproximateReceiveCount"]
                    .parse()
                    .unwrap();
                ensure(record.status == RecordStatus::Completed, || {
                    format!("{key}: {:?}, expected completed", record.status)
                })?;
                ensure(record.payload_sha256 == payload(index).sha256, || {
                    format!("{key}: the stored payload hash is not record {index}'s")
                })?;
                ensure(record.attempts == receive_count, || {
                    format!(
                        "{key}: {} attempts recorded, expected {receive_count}",
                        record.attempts
                    )
                })?;
                ensure(record.completed_at.is_some(), || {
                    format!("{key}: no completed_at")
                })?;
                ensure(
                    record.expires_at == now_secs + ProcessSettings::default().record_ttl_secs,
                    || format!("{key}: expires_at {}", record.expires_at),
                )?;
            }
            // A route that failed for good stays recorded as dead-lettered (released, no
            // lease), so another copy leaves it to its redrive; any other failure leaves no claim
            // behind, so the retry can claim at once.
            None if indices
                .iter()
                .any(|&i| matches!(scenario.records[i], ActionFailed)) =>
            {
                let record = record.ok_or_else(|| format!("{key}: no record in the store"))?;
                ensure(
                    record.status == RecordStatus::Partial
                        && record.progress.dead.contains(HANDLER_ROUTE)
                        && record.progress.done.is_empty(),
                    || format!("{key}: {record:?}, expected partial with its route dead"),
                )?;
            }
            // A transient failure: released (no lease, so the next try claims at once) with the
            // route waiting for its schedule's next step, its first attempt counted there.
            None if indices
                .iter()
                .any(|&i| matches!(scenario.records[i], RetryAfter(_))) =>
            {
                let secs = indices
                    .iter()
                    .find_map(|&i| match scenario.records[i] {
                        RetryAfter(secs) => Some(i64::from(secs)),
                        _ => None,
                    })
                    .unwrap_or_default();
                let record = record.ok_or_else(|| format!("{key}: no record in the store"))?;
                let waiting = record.progress.waiting.get(HANDLER_ROUTE);
                ensure(
                    record.status == RecordStatus::Partial
                        && record.progress.done.is_empty()
                        && record.progress.dead.is_empty()
                        && waiting.is_some_and(|w| {
                            w.attempts == 1
                                && w.last_error == "the target answered 503"
                                && w.next_at_ms >= clock.now_ms + secs * 1000
                                && w.next_at_ms < clock.deadline_ms + secs * 1000
                        }),
                    || {
                        format!(
                            "{key}: {record:?}, expected partial with its route waiting {secs} s \
                             after its first attempt"
                        )
                    },
                )?;
            }
            None => ensure(record.is_none(), || {
                format!("{key}: {record:?} left in the store after a failed run")
            })?,
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_event_ends_as_its_scenarios_state() {
    let files = event_files();
    let stated: BTreeSet<String> = SCENARIOS.iter().map(|s| s.file.to_owned()).collect();
    let unexplained: Vec<_> = files.difference(&stated).collect();
    assert!(
        unexplained.is_empty(),
        "files in events/process/ with no scenario in {}: {unexplained:?}",
        file!()
    );
    let missing: Vec<_> = stated.difference(&files).collect();
    assert!(missing.is_empty(), "scenarios with no file: {missing:?}");

    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        if let Err(why) = run(scenario).await {
            failures.push(format!("{} ({}): {why}", scenario.file, scenario.what));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios went wrong:\n{}",
        failures.len(),
        SCENARIOS.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_second_batch_of_the_same_file_runs_nothing_again() {
    // What SQS does after a batch whose answer was lost: every record comes back.
    for name in event_files() {
        let file = File::read(&name);
        let fakes = Fakes::new(ScriptedHandler::default());
        fakes.fill_bucket(&file);
        let process = fakes.process();
        let clock = file.clock();
        let first = handle_sqs(&process, &file.event, clock).await;
        let calls = fakes.handler.calls.lock().unwrap().len();
        let dead = fakes.dead_letters.len();
        let again = Deadline {
            now_ms: clock.now_ms + 60_000,
            deadline_ms: clock.deadline_ms + 60_000,
        };
        let second = handle_sqs(&process, &file.event, again).await;
        assert!(first.batch_item_failures.is_empty(), "{name}: {first:?}");
        assert!(second.batch_item_failures.is_empty(), "{name}: {second:?}");
        assert_eq!(
            fakes.handler.calls.lock().unwrap().len(),
            calls,
            "{name}: an action ran twice"
        );
        // Records that can never succeed are dead-lettered on every delivery: SQS would only
        // deliver them again if the first dead-lettering had not been acknowledged.
        assert_eq!(fakes.dead_letters.len(), 2 * dead, "{name}");
    }
}

/// `cargo lambda invoke process --data-file events/process/<file>` under `cargo lambda watch`:
/// its Runtime API sends `Lambda-Runtime-Deadline-Ms: 600000`, which the runtime reads as 00:10 on
/// 1 January 1970. Every file must come out as under a real deadline, not with every action cut
/// off before it starts; so must a missing (0) or unrepresentable deadline.
#[tokio::test]
async fn every_file_runs_under_an_emulators_impossible_deadline() {
    for deadline_ms in [600_000, 0, i64::MAX] {
        for name in event_files() {
            let file = File::read(&name);
            let expected = Fakes::new(ScriptedHandler::default());
            expected.fill_bucket(&file);
            let real = handle_sqs(&expected.process(), &file.event, file.clock()).await;
            let fakes = Fakes::new(ScriptedHandler::default());
            fakes.fill_bucket(&file);
            let odd = Deadline {
                now_ms: file.clock().now_ms,
                deadline_ms,
            };
            let answer = handle_sqs(&fakes.process(), &file.event, odd).await;
            assert!(
                answer.batch_item_failures.is_empty(),
                "{name} under deadline {deadline_ms}: {answer:?}"
            );
            assert_eq!(answer, real, "{name} under deadline {deadline_ms}");
            assert_eq!(
                fakes.handler.calls.lock().unwrap().len(),
                expected.handler.calls.lock().unwrap().len(),
                "{name} under deadline {deadline_ms}: actions run"
            );
            assert_eq!(
                fakes.dead_letters.len(),
                expected.dead_letters.len(),
                "{name} under deadline {deadline_ms}: dead letters"
            );
        }
    }
}

// ---- the files themselves ----

fn check_file(name: &str) -> Result<(), String> {
    let file = File::read(name);
    let raw: Value = serde_json::from_str(&file.text).map_err(|e| e.to_string())?;
    let records = raw["Records"].as_array().ok_or("no Records array")?;
    ensure((1..=10).contains(&records.len()), || {
        format!(
            "{} records: Lambda's SQS batches hold 1 to 10",
            records.len()
        )
    })?;
    let arn = records[0]["eventSourceARN"].as_str().unwrap_or_default();
    let fifo = arn.ends_with(".fifo");
    let mut ids = BTreeSet::new();
    let mut handles = BTreeSet::new();
    let mut last_sequence: HashMap<String, u128> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let at = |what: String| format!("record {index}: {what}");
        for field in [
            "messageId",
            "receiptHandle",
            "body",
            "md5OfBody",
            "awsRegion",
        ] {
            ensure(
                record[field].as_str().is_some_and(|v| !v.is_empty()),
                || at(format!("no {field}")),
            )?;
        }
        ensure(record["eventSource"] == "aws:sqs", || {
            at("eventSource".into())
        })?;
        ensure(record["eventSourceARN"] == arn, || {
            at("one batch comes from one queue".into())
        })?;
        let region = record["awsRegion"].as_str().unwrap();
        ensure(arn.starts_with(&format!("arn:aws:sqs:{region}:")), || {
            at(format!("{arn} is not a queue in {region}"))
        })?;
        let body = record["body"].as_str().unwrap();
        ensure(record["md5OfBody"] == hex(&md5(body.as_bytes())), || {
            at("md5OfBody is not the body's MD5".into())
        })?;
        let message_attributes = record["messageAttributes"]
            .as_object()
            .ok_or_else(|| at("no messageAttributes".into()))?;
        let wanted_md5 = (!message_attributes.is_empty())
            .then(|| hex(&md5(&attribute_digest_input(message_attributes))));
        ensure(
            record["md5OfMessageAttributes"].as_str() == wanted_md5.as_deref(),
            || at("md5OfMessageAttributes is not SQS's digest of the attributes".into()),
        )?;
        ensure(ids.insert(record["messageId"].to_string()), || {
            at("duplicate messageId".into())
        })?;
        ensure(handles.insert(record["receiptHandle"].to_string()), || {
            at("duplicate receiptHandle".into())
        })?;

        let attributes = record["attributes"]
            .as_object()
            .ok_or_else(|| at("no attributes".into()))?;
        for name in [
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        ] {
            ensure(attributes.get(name).is_some_and(Value::is_string), || {
                at(format!(
                    "no {name} attribute (SQS sends every attribute as a string)"
                ))
            })?;
        }
        let number = |name: &str| attributes[name].as_str().unwrap().parse::<u64>().ok();
        ensure(
            number("ApproximateReceiveCount").is_some_and(|n| n >= 1),
            || at("ApproximateReceiveCount".into()),
        )?;
        ensure(
            number("SentTimestamp") <= number("ApproximateFirstReceiveTimestamp"),
            || at("received before it was sent".into()),
        )?;
        let fifo_attributes = ["MessageGroupId", "SequenceNumber", "MessageDeduplicationId"];
        for name in fifo_attributes {
            ensure(attributes.contains_key(name) == fifo, || {
                at(format!("{name} must be present exactly on FIFO queues"))
            })?;
        }
        if fifo {
            let group = attributes["MessageGroupId"].as_str().unwrap().to_owned();
            let sequence: u128 = attributes["SequenceNumber"]
                .as_str()
                .unwrap()
                .parse()
                .map_err(|_| at("SequenceNumber".into()))?;
            let previous = last_sequence.insert(group.clone(), sequence);
            ensure(previous.is_none_or(|p| p < sequence), || {
                at(format!("group {group} is not in sequence order"))
            })?;
        }

        // Envelopes must be byte for byte what ingest queues, with ingest's attributes.
        let Ok(envelope) = Envelope::from_json(body) else {
            continue;
        };
        ensure(envelope.to_json() == body, || {
            at("the envelope is not serialised as ingest serialises it".into())
        })?;
        ensure(
            envelope.key == idempotency_key(&envelope.source, &envelope.event_id),
            || at("key".into()),
        )?;
        let mut wanted = json!({ "source": string_attribute(&envelope.source) });
        if let Some(event_type) = &envelope.event_type {
            wanted["event_type"] = string_attribute(event_type);
        }
        // A redrive (`inlet dlq redrive`) adds the message the delivery was first queued as.
        if let Some(origin) = message_attributes.get("origin_message_id") {
            ensure(
                origin["stringValue"]
                    .as_str()
                    .is_some_and(|o| !o.is_empty()),
                || at("origin_message_id is empty".into()),
            )?;
            wanted["origin_message_id"] = origin.clone();
        }
        ensure(record["messageAttributes"] == wanted, || {
            at(format!("messageAttributes {}", record["messageAttributes"]))
        })?;
        if fifo {
            ensure(
                attributes["MessageGroupId"] == envelope.source.as_str(),
                || at("ingest groups FIFO messages by source".into()),
            )?;
            let dedup = sha_hex(envelope.key.as_bytes());
            ensure(
                attributes["MessageDeduplicationId"] == dedup.as_str(),
                || at("ingest deduplicates FIFO messages by the key's SHA-256".into()),
            )?;
        }
    }
    Ok(())
}

fn string_attribute(value: &str) -> Value {
    json!({
        "stringValue": value,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String"
    })
}

#[test]
fn every_file_is_an_sqs_event_as_lambda_delivers_it() {
    let files = event_files();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for name in &files {
        if !name.ends_with(".json") {
            failures.push(format!("{name}: not a .json event"));
        } else if let Err(why) = check_file(name) {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_files_cover_standard_and_fifo_queues_and_several_sources() {
    let mut sources = BTreeSet::new();
    let mut fifo = false;
    let mut standard = false;
    let mut binary = false;
    for name in event_files() {
        let file = File::read(&name);
        for (index, record) in file.records().iter().enumerate() {
            let arn = record.event_source_arn.as_deref().unwrap();
            fifo |= arn.ends_with(".fifo");
            standard |= !arn.ends_with(".fifo");
            if let Some(envelope) = file.envelope(index) {
                // A body that is not UTF-8 travels as body_b64 and must reach the action too.
                binary |= envelope.body_b64.is_some();
                sources.insert(envelope.source);
            }
        }
    }
    assert!(fifo && standard, "fifo {fifo}, standard {standard}");
    assert!(binary, "no envelope with a body_b64");
    assert!(sources.len() >= 5, "{sources:?}");
}
