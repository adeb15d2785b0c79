//! Tier 2 (architecture.md § Tests): the DynamoDB idempotency store and the SQS visibility
//! adapter against mocked AWS responses — the exact requests (architecture.md § Idempotency
//! record) and how every answer maps to the port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// `inlet replay --id`'s lookup, the delivery guards' requests, and the retry state kept in the
// event's item.
mod completed;
mod guards;
mod route_state;

use aws_sdk_dynamodb::operation::delete_item::{
    DeleteItemError, DeleteItemInput, DeleteItemOutput,
};
use aws_sdk_dynamodb::operation::update_item::{
    UpdateItemError, UpdateItemInput, UpdateItemOutput,
};
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, ProvisionedThroughputExceededException, RequestLimitExceeded,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_sqs::operation::change_message_visibility::{
    ChangeMessageVisibilityError, ChangeMessageVisibilityInput, ChangeMessageVisibilityOutput,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use inlet_aws::{DynamoStore, SqsQueue};
use inlet_core::ports::{
    Claim, ClaimOutcome, IdempotencyStore, Progress, QueueError, StoreError, Visibility,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

const TABLE: &str = "inlet-idempotency";
const KEY: &str = "github#72d3162e-cc78-11e3-81ab-4c9367dc0958";
const TOKEN: &str = "msg-1/1/1763816400123";
const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const OTHER_SHA: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/inlet-events";
/// The expressions the adapter must send, as the architecture documents them.
const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR (payload_sha256 = :sha AND (#status = :partial OR (#status = :in_progress AND lease_until < :now)))";
const CLAIM_UPDATE: &str = "SET #status = :in_progress, #token = :token, lease_until = :lease, payload_sha256 = :sha, attempts = :attempts, first_seen = if_not_exists(first_seen, :first_seen), expires_at = :expires";
const COMPLETE_UPDATE: &str = "SET #status = :completed, completed_at = :now, expires_at = :expires REMOVE lease_until, route_state";
const OWNED_CONDITION: &str = "#token = :token";

fn claim() -> Claim {
    Claim {
        key: KEY.into(),
        token: TOKEN.into(),
        payload_sha256: SHA.into(),
        now: 1_763_816_400,
        lease_until: 1_763_816_440,
        expires_at: 1_764_421_200,
        attempts: 2,
        first_seen: "2025-11-22T13:00:00.123Z".into(),
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn ss(values: &[&str]) -> AttributeValue {
    AttributeValue::Ss(values.iter().map(|v| (*v).to_owned()).collect())
}

fn routes(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|v| (*v).to_owned()).collect()
}

fn progress(done: &[&str], dead: &[&str]) -> Progress {
    Progress {
        done: routes(done),
        dead: routes(dead),
        waiting: Default::default(),
    }
}

fn new(done: &[&str], dead: &[&str]) -> Result<ClaimOutcome, StoreError> {
    Ok(ClaimOutcome::New {
        progress: progress(done, dead),
    })
}

fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn values(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Every `#name` and `:value` placeholder an expression uses. DynamoDB refuses a request that
/// defines one it does not use, or uses one it does not define, so the sets must match exactly.
fn placeholders(expressions: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut found = (BTreeSet::new(), BTreeSet::new());
    for expression in expressions {
        let mut chars = expression.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            if c != '#' && c != ':' {
                continue;
            }
            let mut end = start + 1;
            while let Some(&(i, next)) = chars.peek() {
                if !(next.is_ascii_alphanumeric() || next == '_') {
                    break;
                }
                end = i + next.len_utf8();
                chars.next();
            }
            let name = expression[start..end].to_owned();
            if c == '#' {
                found.0.insert(name);
            } else {
                found.1.insert(name);
            }
        }
    }
    found
}

fn defined(
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    (
        names.into_iter().flat_map(|m| m.keys().cloned()).collect(),
        values.into_iter().flat_map(|m| m.keys().cloned()).collect(),
    )
}

/// Keeps every request a rule sees, so assertions can show a readable difference instead of a
/// rule that silently did not match.
struct Seen<T>(Arc<Mutex<Vec<T>>>);

impl<T> Default for Seen<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T> Clone for Seen<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: Clone> Seen<T> {
    fn keep(&self, request: &T) -> bool {
        self.0.lock().unwrap().push(request.clone());
        true
    }

    fn only(&self) -> T {
        let seen = self.0.lock().unwrap();
        assert_eq!(seen.len(), 1, "expected exactly one request");
        seen[0].clone()
    }
}

fn ccf(item: &[(&str, AttributeValue)]) -> ConditionalCheckFailedException {
    let mut builder =
        ConditionalCheckFailedException::builder().message("The conditional request failed");
    for (name, value) in item {
        builder = builder.item(*name, value.clone());
    }
    builder.build()
}

fn old_item(status: &str, sha: &str) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("pk", s(KEY)),
        ("status", s(status)),
        ("token", s("someone-else")),
        ("lease_until", n(1_763_816_500)),
        ("payload_sha256", s(sha)),
        ("attempts", n(1)),
        ("first_seen", s("2025-11-22T12:59:59.000Z")),
        ("expires_at", n(1_764_421_100)),
    ]
}

fn http(status: u16, body: &str) -> Response {
    let mut response = Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    );
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    response
}

/// An error DynamoDB sends that this SDK version may not model: the code is only in `__type`.
const RAW_THROTTLING: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>, mentions: &str) {
    match result {
        Err(StoreError::Unavailable(detail)) => assert!(
            detail.contains(mentions),
            "the error should carry `{mentions}` for the logs: {detail}"
        ),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn claim_is_one_conditional_update_returning_the_old_item() {
    let seen = Seen::<UpdateItemInput>::default();
    let keep = seen.clone();
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |req| keep.keep(req))
        .then_output(|| UpdateItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoStore::new(client, TABLE);

    // No old item: a key never seen, nothing settled.
    assert_eq!(store.claim(&claim()).await, new(&[], &[]));

    let request = seen.only();
    assert_eq!(request.table_name(), Some(TABLE));
    assert_eq!(request.key(), Some(&values(&[("pk", s(KEY))])));
    assert_eq!(request.update_expression(), Some(CLAIM_UPDATE));
    assert_eq!(request.condition_expression(), Some(CLAIM_CONDITION));
    assert_eq!(
        request.expression_attribute_names(),
        Some(&names(&[("#status", "status"), ("#token", "token")]))
    );
    assert_eq!(
        request.expression_attribute_values(),
        Some(&values(&[
            (":in_progress", s("IN_PROGRESS")),
            (":partial", s("PARTIAL")),
            (":token", s(TOKEN)),
            (":lease", n(1_763_816_440)),
            (":sha", s(SHA)),
            (":attempts", n(2)),
            (":first_seen", s("2025-11-22T13:00:00.123Z")),
            (":expires", n(1_764_421_200)),
            (":now", n(1_763_816_400)),
        ]))
    );
    // One round trip must tell new (with what earlier tries settled), duplicate, busy and
    // conflict apart (architecture.md § Idempotency record).
    assert_eq!(request.return_values(), Some(&ReturnValue::AllOld));
    assert_eq!(
        request.return_values_on_condition_check_failure(),
        Some(&ReturnValuesOnConditionCheckFailure::AllOld)
    );
    assert_eq!(
        placeholders(&[CLAIM_UPDATE, CLAIM_CONDITION]),
        defined(
            request.expression_attribute_names(),
            request.expression_attribute_values()
        )
    );
    // The legacy parameters would conflict with the expressions.
    assert!(
        request.expected().is_none()
            && request.conditional_operator().is_none()
            && request.attribute_updates().is_none()
    );
}

#[tokio::test]
async fn a_claim_of_a_record_with_progress_returns_its_route_sets() {
    let both = mock!(aws_sdk_dynamodb::Client::update_item).then_output(|| {
        let mut old = old_item("PARTIAL", SHA);
        old.retain(|(name, _)| *name != "lease_until");
        old.push(("done_routes", ss(&["archive", "slack"])));
        old.push(("dead_routes", ss(&["crm"])));
        UpdateItemOutput::builder()
            .set_attributes(Some(values(&old)))
            .build()
    });
    // An abandoned claim taken over: its sets come back as well, here only `done_routes`.
    let done_only = mock!(aws_sdk_dynamodb::Client::update_item).then_output(|| {
        let mut old = old_item("IN_PROGRESS", SHA);
        old.push(("done_routes", ss(&["archive"])));
        UpdateItemOutput::builder()
            .set_attributes(Some(values(&old)))
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&both, &done_only]);
    let store = DynamoStore::new(client, TABLE);

    assert_eq!(
        store.claim(&claim()).await,
        new(&["archive", "slack"], &["crm"])
    );
    assert_eq!(store.claim(&claim()).await, new(&["archive"], &[]));
}

#[test]
fn the_claim_admits_new_keys_released_records_and_expired_claims_of_the_same_payload() {
    assert!(CLAIM_CONDITION.starts_with("attribute_not_exists(pk) OR "));
    for clause in [
        "payload_sha256 = :sha AND ",
        "#status = :partial OR ",
        "#status = :in_progress AND lease_until < :now",
    ] {
        assert!(
            CLAIM_CONDITION.contains(clause),
            "{clause} missing from {CLAIM_CONDITION}"
        );
    }
    // An update, so the route sets stay; `first_seen` is the first delivery's.
    assert!(!CLAIM_UPDATE.contains("done_routes") && !CLAIM_UPDATE.contains("dead_routes"));
    assert!(!CLAIM_UPDATE.contains("REMOVE"));
    assert!(CLAIM_UPDATE.contains("first_seen = if_not_exists(first_seen, :first_seen)"));
    assert_eq!(OWNED_CONDITION, "#token = :token");
}

#[tokio::test]
async fn complete_is_an_update_conditioned_on_our_token() {
    let seen = Seen::<UpdateItemInput>::default();
    let keep = seen.clone();
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |req| keep.keep(req))
        .then_output(|| UpdateItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoStore::new(client, TABLE);

    assert_eq!(
        store
            .complete(KEY, TOKEN, 1_763_816_405, 1_764_421_205)
            .await,
        Ok(())
    );

    let request = seen.only();
    assert_eq!(request.table_name(), Some(TABLE));
    assert_eq!(request.key(), Some(&values(&[("pk", s(KEY))])));
    assert_eq!(request.update_expression(), Some(COMPLETE_UPDATE));
    assert_eq!(request.condition_expression(), Some(OWNED_CONDITION));
    assert_eq!(
        request.expression_attribute_names(),
        Some(&names(&[("#status", "status"), ("#token", "token")]))
    );
    assert_eq!(
        request.expression_attribute_values(),
        Some(&values(&[
            (":completed", s("COMPLETED")),
            (":now", n(1_763_816_405)),
            (":expires", n(1_764_421_205)),
            (":token", s(TOKEN)),
        ]))
    );
    assert_eq!(
        placeholders(&[COMPLETE_UPDATE, OWNED_CONDITION]),
        defined(
            request.expression_attribute_names(),
            request.expression_attribute_values()
        )
    );
    for effect in [
        "#status = :completed",
        "completed_at = :now",
        "expires_at = :expires",
        "REMOVE lease_until, route_state",
    ] {
        assert!(
            COMPLETE_UPDATE.contains(effect),
            "{effect} missing from {COMPLETE_UPDATE}"
        );
    }
}

#[tokio::test]
async fn release_with_nothing_settled_is_a_delete_conditioned_on_our_token() {
    let seen = Seen::<DeleteItemInput>::default();
    let keep = seen.clone();
    let rule = mock!(aws_sdk_dynamodb::Client::delete_item)
        .match_requests(move |req| keep.keep(req))
        .then_output(|| DeleteItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoStore::new(client, TABLE);

    assert_eq!(
        store.release(KEY, TOKEN, &Progress::default()).await,
        Ok(())
    );

    let request = seen.only();
    assert_eq!(request.table_name(), Some(TABLE));
    assert_eq!(request.key(), Some(&values(&[("pk", s(KEY))])));
    assert_eq!(request.condition_expression(), Some(OWNED_CONDITION));
    assert_eq!(
        request.expression_attribute_names(),
        Some(&names(&[("#token", "token")]))
    );
    assert_eq!(
        request.expression_attribute_values(),
        Some(&values(&[(":token", s(TOKEN))]))
    );
    assert_eq!(
        placeholders(&[OWNED_CONDITION]),
        defined(
            request.expression_attribute_names(),
            request.expression_attribute_values()
        )
    );
}

/// Released with routes settled, the record stays, unleased and `PARTIAL`, with the sets; an
/// empty set is removed (DynamoDB refuses an empty string set), and so is the retry state when no
/// route waits, so nothing of an earlier try lingers. (Waiting routes: `route_state.rs`.)
#[tokio::test]
async fn release_with_progress_keeps_the_record_partial_with_its_route_sets() {
    let seen = Seen::<UpdateItemInput>::default();
    let keep = seen.clone();
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |req| keep.keep(req))
        .then_output(|| UpdateItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let store = DynamoStore::new(client, TABLE);

    let cases = [
        (
            progress(&["archive", "slack"], &["crm"]),
            "SET #status = :partial, done_routes = :done, dead_routes = :dead REMOVE lease_until, route_state",
            vec![
                (":done", ss(&["archive", "slack"])),
                (":dead", ss(&["crm"])),
            ],
        ),
        (
            progress(&["archive"], &[]),
            "SET #status = :partial, done_routes = :done REMOVE lease_until, dead_routes, route_state",
            vec![(":done", ss(&["archive"]))],
        ),
        (
            progress(&[], &["crm"]),
            "SET #status = :partial, dead_routes = :dead REMOVE lease_until, done_routes, route_state",
            vec![(":dead", ss(&["crm"]))],
        ),
    ];
    for (settled, _, _) in &cases {
        assert_eq!(store.release(KEY, TOKEN, settled).await, Ok(()));
    }

    let requests = seen.0.lock().unwrap().clone();
    assert_eq!(requests.len(), cases.len());
    for (request, (settled, update, sets)) in requests.iter().zip(&cases) {
        assert_eq!(request.table_name(), Some(TABLE));
        assert_eq!(request.key(), Some(&values(&[("pk", s(KEY))])));
        assert_eq!(request.update_expression(), Some(*update), "{settled:?}");
        assert_eq!(request.condition_expression(), Some(OWNED_CONDITION));
        assert_eq!(
            request.expression_attribute_names(),
            Some(&names(&[("#status", "status"), ("#token", "token")]))
        );
        let mut expected = vec![(":partial", s("PARTIAL")), (":token", s(TOKEN))];
        expected.extend(sets.iter().cloned());
        assert_eq!(
            request.expression_attribute_values(),
            Some(&values(&expected)),
            "{settled:?}"
        );
        assert_eq!(
            placeholders(&[update, OWNED_CONDITION]),
            defined(
                request.expression_attribute_names(),
                request.expression_attribute_values()
            )
        );
    }
}

#[tokio::test]
async fn a_failed_claim_is_told_apart_by_the_old_item() {
    let failed = |status: &'static str, sha: &'static str| {
        mock!(aws_sdk_dynamodb::Client::update_item).then_error(move || {
            UpdateItemError::ConditionalCheckFailedException(ccf(&old_item(status, sha)))
        })
    };
    let completed = failed("COMPLETED", SHA);
    let in_progress = failed("IN_PROGRESS", SHA);
    let completed_other = failed("COMPLETED", OTHER_SHA);
    let in_progress_other = failed("IN_PROGRESS", OTHER_SHA);
    let partial_other = failed("PARTIAL", OTHER_SHA);
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [
            &completed,
            &in_progress,
            &completed_other,
            &in_progress_other,
            &partial_other
        ],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);

    assert_eq!(store.claim(&claim()).await, Ok(ClaimOutcome::Duplicate));
    assert_eq!(store.claim(&claim()).await, Ok(ClaimOutcome::Busy));
    let conflict = Ok(ClaimOutcome::Conflict {
        recorded_sha256: OTHER_SHA.into(),
    });
    assert_eq!(store.claim(&claim()).await, conflict);
    assert_eq!(store.claim(&claim()).await, conflict);
    // Released with progress, but for another payload: still a conflict.
    assert_eq!(store.claim(&claim()).await, conflict);
}

#[tokio::test]
async fn the_old_item_is_read_from_dynamodb_wire_format() {
    // As DynamoDB sends it for ReturnValuesOnConditionCheckFailure = ALL_OLD.
    let body = format!(
        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{{"pk":{{"S":"{KEY}"}},"status":{{"S":"COMPLETED"}},"token":{{"S":"someone-else"}},"payload_sha256":{{"S":"{SHA}"}},"attempts":{{"N":"1"}},"completed_at":{{"N":"1763816401"}},"expires_at":{{"N":"1764421201"}},"done_routes":{{"SS":["archive","slack"]}}}}}}"#
    );
    let duplicate =
        mock!(aws_sdk_dynamodb::Client::update_item).then_http_response(move || http(400, &body));
    // As DynamoDB sends a successful claim's old item for ReturnValues = ALL_OLD.
    let body = format!(
        r#"{{"Attributes":{{"pk":{{"S":"{KEY}"}},"status":{{"S":"PARTIAL"}},"token":{{"S":"someone-else"}},"payload_sha256":{{"S":"{SHA}"}},"attempts":{{"N":"1"}},"first_seen":{{"S":"2025-11-22T12:59:59.000Z"}},"expires_at":{{"N":"1764421100"}},"done_routes":{{"SS":["slack","archive"]}},"dead_routes":{{"SS":["crm"]}}}}}}"#
    );
    let partial =
        mock!(aws_sdk_dynamodb::Client::update_item).then_http_response(move || http(200, &body));
    // No old item: DynamoDB sends an empty object.
    let fresh = mock!(aws_sdk_dynamodb::Client::update_item).then_http_response(|| http(200, "{}"));
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&duplicate, &partial, &fresh],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);
    assert_eq!(store.claim(&claim()).await, Ok(ClaimOutcome::Duplicate));
    assert_eq!(
        store.claim(&claim()).await,
        new(&["archive", "slack"], &["crm"])
    );
    assert_eq!(store.claim(&claim()).await, new(&[], &[]));
}

#[tokio::test]
async fn a_lost_claim_on_complete_or_release_is_claim_lost() {
    let update = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_error(|| UpdateItemError::ConditionalCheckFailedException(ccf(&[])));
    let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
        .then_error(|| DeleteItemError::ConditionalCheckFailedException(ccf(&[])));
    let partial = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_error(|| UpdateItemError::ConditionalCheckFailedException(ccf(&[])));
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&update, &delete, &partial],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);
    assert_eq!(
        store
            .complete(KEY, TOKEN, 1_763_816_405, 1_764_421_205)
            .await,
        Err(StoreError::ClaimLost)
    );
    assert_eq!(
        store.release(KEY, TOKEN, &Progress::default()).await,
        Err(StoreError::ClaimLost)
    );
    assert_eq!(
        store
            .release(KEY, TOKEN, &progress(&["archive"], &["crm"]))
            .await,
        Err(StoreError::ClaimLost)
    );
}

const PROVISIONED: &str =
    "The level of configured provisioned throughput for the table was exceeded.";
const LIMIT: &str = "Throughput exceeds the current throughput limit for your account.";

/// The four ways UpdateItem fails for a reason worth retrying: modelled throughput and request
/// limit errors, a throttling error this SDK version may not model, a server error.
fn update_failures() -> [aws_smithy_mocks::Rule; 4] {
    [
        mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
            UpdateItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message(PROVISIONED)
                    .build(),
            )
        }),
        mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
            UpdateItemError::RequestLimitExceeded(
                RequestLimitExceeded::builder().message(LIMIT).build(),
            )
        }),
        mock!(aws_sdk_dynamodb::Client::update_item)
            .then_http_response(|| http(400, RAW_THROTTLING)),
        mock!(aws_sdk_dynamodb::Client::update_item).then_http_response(|| http(500, "{}")),
    ]
}

const MENTIONS: [&str; 4] = [PROVISIONED, LIMIT, "ThrottlingException", "500"];

#[tokio::test]
async fn throttling_and_server_errors_fail_a_claim_as_unavailable() {
    let [provisioned, limit, throttled, server] = update_failures();
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&provisioned, &limit, &throttled, &server],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);
    for mentions in MENTIONS {
        assert_unavailable(store.claim(&claim()).await, mentions);
    }
}

#[tokio::test]
async fn throttling_and_server_errors_fail_complete_and_release_as_unavailable() {
    let [
        update_provisioned,
        update_limit,
        update_throttled,
        update_server,
    ] = update_failures();
    let delete_provisioned = mock!(aws_sdk_dynamodb::Client::delete_item).then_error(|| {
        DeleteItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .message(PROVISIONED)
                .build(),
        )
    });
    let delete_limit = mock!(aws_sdk_dynamodb::Client::delete_item).then_error(|| {
        DeleteItemError::RequestLimitExceeded(
            RequestLimitExceeded::builder().message(LIMIT).build(),
        )
    });
    let delete_throttled = mock!(aws_sdk_dynamodb::Client::delete_item)
        .then_http_response(|| http(400, RAW_THROTTLING));
    let delete_server =
        mock!(aws_sdk_dynamodb::Client::delete_item).then_http_response(|| http(500, "{}"));
    let [
        partial_provisioned,
        partial_limit,
        partial_throttled,
        partial_server,
    ] = update_failures();
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [
            &update_provisioned,
            &update_limit,
            &update_throttled,
            &update_server,
            &delete_provisioned,
            &delete_limit,
            &delete_throttled,
            &delete_server,
            &partial_provisioned,
            &partial_limit,
            &partial_throttled,
            &partial_server
        ],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);
    for mentions in MENTIONS {
        assert_unavailable(
            store
                .complete(KEY, TOKEN, 1_763_816_405, 1_764_421_205)
                .await,
            mentions,
        );
    }
    for mentions in MENTIONS {
        assert_unavailable(
            store.release(KEY, TOKEN, &Progress::default()).await,
            mentions,
        );
    }
    let settled = progress(&["archive"], &["crm"]);
    for mentions in MENTIONS {
        assert_unavailable(store.release(KEY, TOKEN, &settled).await, mentions);
    }
}

#[tokio::test]
async fn visibility_delay_changes_the_message_visibility() {
    let seen = Seen::<ChangeMessageVisibilityInput>::default();
    let keep = seen.clone();
    let ok = mock!(aws_sdk_sqs::Client::change_message_visibility)
        .match_requests(move |req| keep.keep(req))
        .then_output(|| ChangeMessageVisibilityOutput::builder().build());
    let gone = mock!(aws_sdk_sqs::Client::change_message_visibility).then_error(|| {
        ChangeMessageVisibilityError::ReceiptHandleIsInvalid(
            aws_sdk_sqs::types::error::ReceiptHandleIsInvalid::builder().build(),
        )
    });
    let client = mock_client!(aws_sdk_sqs, RuleMode::Sequential, [&ok, &gone], |c| c
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled()));
    let queue = SqsQueue::new(client, QUEUE);

    assert_eq!(
        queue.delay("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a", 40).await,
        Ok(())
    );
    let request = seen.only();
    assert_eq!(request.queue_url(), Some(QUEUE));
    assert_eq!(
        request.receipt_handle(),
        Some("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a")
    );
    assert_eq!(request.visibility_timeout(), Some(40));

    // The pipeline only logs this: the record falls back to the queue's visibility timeout.
    let result = queue.delay("expired-handle", 40).await;
    assert!(
        matches!(result, Err(QueueError::Unavailable(_))),
        "{result:?}"
    );
}
