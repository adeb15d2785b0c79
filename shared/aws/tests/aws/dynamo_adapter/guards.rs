//! The delivery guards (circuit breakers, rate-limit slots) on the idempotency table: the exact
//! requests (architecture.md § Idempotency record) and how each answer maps onto the port. The
//! races themselves run against the emulator (`tests/tests/stack/guards.rs`).

use super::*;
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use inlet_core::ports::{
    BreakerFailure, BreakerState, DeliveryGuards, DestinationId, ProbeOutcome,
};

const NOW_MS: i64 = 1_763_816_400_123;
/// `NOW_MS` in seconds plus 30 days: the guard items' TTL.
const EXPIRES: i64 = 1_763_816_400 + 30 * 24 * 60 * 60;
const BREAKER_PK: &str = "breaker#forward:3f1a9c";
const RATE_PK: &str = "rate#forward:3f1a9c";

fn destination() -> DestinationId {
    DestinationId {
        key: "forward:3f1a9c".into(),
        label: "https://agent.example.com/hook".into(),
    }
}

/// A rule that keeps the request and answers with `item` as its returned attributes.
fn answers(
    seen: &Seen<UpdateItemInput>,
    item: &[(&str, AttributeValue)],
) -> aws_smithy_mocks::Rule {
    let keep = seen.clone();
    let item = values(item);
    mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |req| keep.keep(req))
        .then_output(move || {
            UpdateItemOutput::builder()
                .set_attributes(Some(item.clone()))
                .build()
        })
}

/// A rule that keeps the request and fails its condition, returning `old`.
fn refuses(seen: &Seen<UpdateItemInput>, old: &[(&str, AttributeValue)]) -> aws_smithy_mocks::Rule {
    let keep = seen.clone();
    let old: Vec<(String, AttributeValue)> = old
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |req| keep.keep(req))
        .then_error(move || {
            let pairs: Vec<(&str, AttributeValue)> =
                old.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            UpdateItemError::ConditionalCheckFailedException(ccf(&pairs))
        })
}

/// One expected `UpdateItem`.
struct Expected<'a> {
    pk: &'a str,
    update: &'a str,
    condition: Option<&'a str>,
    names: &'a [(&'a str, &'a str)],
    values: Vec<(&'a str, AttributeValue)>,
    returns: Option<ReturnValue>,
    returns_on_failure: Option<ReturnValuesOnConditionCheckFailure>,
}

fn assert_request(request: &UpdateItemInput, expected: &Expected<'_>) {
    assert_eq!(request.table_name(), Some(TABLE));
    assert_eq!(request.key(), Some(&values(&[("pk", s(expected.pk))])));
    assert_eq!(request.update_expression(), Some(expected.update));
    assert_eq!(request.condition_expression(), expected.condition);
    let names_sent = request
        .expression_attribute_names()
        .cloned()
        .unwrap_or_default();
    assert_eq!(names_sent, names(expected.names), "{}", expected.update);
    assert_eq!(
        request.expression_attribute_values(),
        Some(&values(&expected.values)),
        "{}",
        expected.update
    );
    assert_eq!(request.return_values(), expected.returns.as_ref());
    assert_eq!(
        request.return_values_on_condition_check_failure(),
        expected.returns_on_failure.as_ref()
    );
    // DynamoDB refuses a placeholder defined and not used, or used and not defined.
    let mut expressions = vec![expected.update];
    expressions.extend(expected.condition);
    assert_eq!(
        placeholders(&expressions),
        defined(
            request.expression_attribute_names(),
            request.expression_attribute_values()
        ),
        "{}",
        expected.update
    );
}

const LABELLED: [(&str, &str); 1] = [("#label", "label")];
const STATED: [(&str, &str); 2] = [("#label", "label"), ("#state", "state")];

fn labelled(mut extra: Vec<(&str, AttributeValue)>) -> Vec<(&str, AttributeValue)> {
    extra.push((":label", s("https://agent.example.com/hook")));
    extra.push((":expires", n(EXPIRES)));
    extra
}

fn breaker_item(
    state: &str,
    failures: i64,
    open_until_ms: i64,
) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("pk", s(BREAKER_PK)),
        ("label", s("https://agent.example.com/hook")),
        ("state", s(state)),
        ("failures", n(failures)),
        ("open_until_ms", n(open_until_ms)),
        ("failed_probes", n(0)),
        ("changed_at_ms", n(NOW_MS - 1_000)),
        ("expires_at", n(EXPIRES)),
    ]
}

fn open_state(failures: u32, open_until_ms: i64, changed_at_ms: i64) -> BreakerState {
    BreakerState {
        key: destination().key,
        label: destination().label,
        open: true,
        failures,
        open_until_ms,
        failed_probes: 0,
        probe_until_ms: 0,
        changed_at_ms,
    }
}

const FAILED_UPDATE: &str = "ADD failures :one SET #label = :label, expires_at = :expires";
const OPEN_UPDATE: &str = "SET #state = :open, open_until_ms = :open_until, failed_probes = :zero, changed_at_ms = :now, #label = :label, expires_at = :expires REMOVE probe_until_ms";
const OPEN_CONDITION: &str = "attribute_not_exists(#state) OR #state = :closed";

fn counted() -> Expected<'static> {
    Expected {
        pk: BREAKER_PK,
        update: FAILED_UPDATE,
        condition: None,
        names: &LABELLED,
        values: labelled(vec![(":one", n(1))]),
        returns: Some(ReturnValue::AllNew),
        returns_on_failure: None,
    }
}

fn opening() -> Expected<'static> {
    Expected {
        pk: BREAKER_PK,
        update: OPEN_UPDATE,
        condition: Some(OPEN_CONDITION),
        names: &STATED,
        values: labelled(vec![
            (":open", s("open")),
            (":closed", s("closed")),
            (":open_until", n(NOW_MS + 30_000)),
            (":zero", n(0)),
            (":now", n(NOW_MS)),
        ]),
        returns: Some(ReturnValue::AllNew),
        returns_on_failure: Some(ReturnValuesOnConditionCheckFailure::AllOld),
    }
}

/// Below the threshold a failure is one write; at it, a second, conditional one opens the
/// breaker, and only the function whose write passed says it opened it.
#[tokio::test]
async fn a_failure_is_one_write_and_the_threshold_th_opens_the_breaker_once() {
    let seen = Seen::<UpdateItemInput>::default();
    let mut fourth = breaker_item("closed", 4, 0);
    fourth.retain(|(name, _)| *name != "open_until_ms" && *name != "changed_at_ms");
    let below = answers(&seen, &fourth);
    let fifth = answers(&seen, &breaker_item("closed", 5, 0));
    let opened = answers(&seen, &breaker_item("open", 5, NOW_MS + 30_000));
    let sixth = answers(&seen, &breaker_item("closed", 6, 0));
    let raced = refuses(&seen, &breaker_item("open", 6, NOW_MS + 29_000));
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&below, &fifth, &opened, &sixth, &raced],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);
    let d = destination();
    let failed = |threshold| store.breaker_failed(&d, NOW_MS, threshold, 30_000);

    let closed = BreakerState {
        key: destination().key,
        label: destination().label,
        failures: 4,
        ..BreakerState::default()
    };
    assert_eq!(
        failed(5).await,
        Ok(BreakerFailure {
            state: closed,
            opened: false
        })
    );
    assert_eq!(
        failed(5).await,
        Ok(BreakerFailure {
            state: open_state(5, NOW_MS + 30_000, NOW_MS - 1_000),
            opened: true
        })
    );
    // Another function opened it between this one's two writes.
    assert_eq!(
        failed(5).await,
        Ok(BreakerFailure {
            state: open_state(6, NOW_MS + 29_000, NOW_MS - 1_000),
            opened: false
        })
    );

    let requests = seen.0.lock().unwrap().clone();
    assert_eq!(requests.len(), 5);
    for (request, expected) in
        requests
            .iter()
            .zip([counted(), counted(), opening(), counted(), opening()])
    {
        assert_request(request, &expected);
    }
}

/// An open breaker's failure (a function that had not yet seen it open) is counted, not opened
/// again.
#[tokio::test]
async fn a_failure_of_an_open_breaker_is_only_counted() {
    let seen = Seen::<UpdateItemInput>::default();
    let rule = answers(&seen, &breaker_item("open", 9, NOW_MS + 10_000));
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoStore::new(client, TABLE);
    assert_eq!(
        store
            .breaker_failed(&destination(), NOW_MS, 5, 30_000)
            .await,
        Ok(BreakerFailure {
            state: open_state(9, NOW_MS + 10_000, NOW_MS - 1_000),
            opened: false
        })
    );
    assert_request(&seen.only(), &counted());
}

#[tokio::test]
async fn a_failed_probe_reopens_with_one_more_failed_probe() {
    let seen = Seen::<UpdateItemInput>::default();
    let mut item = breaker_item("open", 7, NOW_MS + 60_000);
    item.retain(|(name, _)| *name != "failed_probes");
    item.push(("failed_probes", n(2)));
    let rule = answers(&seen, &item);
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoStore::new(client, TABLE);

    let state = store
        .breaker_reopen(&destination(), NOW_MS, 60_000)
        .await
        .unwrap();
    assert!(state.open);
    assert_eq!(
        (state.failed_probes, state.open_until_ms),
        (2, NOW_MS + 60_000)
    );
    assert_request(
        &seen.only(),
        &Expected {
            pk: BREAKER_PK,
            update: "SET #state = :open, open_until_ms = :open_until, changed_at_ms = :now, #label = :label, expires_at = :expires ADD failed_probes :one REMOVE probe_until_ms",
            condition: None,
            names: &STATED,
            values: labelled(vec![
                (":open", s("open")),
                (":open_until", n(NOW_MS + 60_000)),
                (":now", n(NOW_MS)),
                (":one", n(1)),
            ]),
            returns: Some(ReturnValue::AllNew),
            returns_on_failure: None,
        },
    );
}

const SUCCEEDED_UPDATE: &str = "SET #state = :closed, failures = :zero, failed_probes = :zero, #label = :label, expires_at = :expires REMOVE open_until_ms, probe_until_ms";

fn succeeded() -> Expected<'static> {
    Expected {
        pk: BREAKER_PK,
        update: SUCCEEDED_UPDATE,
        condition: None,
        names: &STATED,
        values: labelled(vec![(":closed", s("closed")), (":zero", n(0))]),
        returns: Some(ReturnValue::AllOld),
        returns_on_failure: None,
    }
}

/// A success closes in one write; only when the old breaker was open is it a transition, and
/// then a second write stamps the time (while it is still closed). A missing item was closed.
#[tokio::test]
async fn a_success_closes_and_says_whether_it_was_open() {
    let seen = Seen::<UpdateItemInput>::default();
    let was_open = answers(&seen, &breaker_item("open", 5, NOW_MS - 1));
    let stamped = answers(&seen, &[]);
    let was_closed = answers(&seen, &breaker_item("closed", 2, 0));
    let missing = answers(&seen, &[]);
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&was_open, &stamped, &was_closed, &missing]
    );
    let store = DynamoStore::new(client, TABLE);
    assert_eq!(
        store.breaker_succeeded(&destination(), NOW_MS).await,
        Ok(true)
    );
    assert_eq!(
        store.breaker_succeeded(&destination(), NOW_MS).await,
        Ok(false)
    );
    assert_eq!(
        store.breaker_succeeded(&destination(), NOW_MS).await,
        Ok(false)
    );

    let requests = seen.0.lock().unwrap().clone();
    assert_eq!(requests.len(), 4);
    let stamp = Expected {
        pk: BREAKER_PK,
        update: "SET changed_at_ms = :now",
        condition: Some("#state = :closed"),
        names: &[("#state", "state")],
        values: vec![(":closed", s("closed")), (":now", n(NOW_MS))],
        returns: None,
        returns_on_failure: None,
    };
    for (request, expected) in requests
        .iter()
        .zip([succeeded(), stamp, succeeded(), succeeded()])
    {
        assert_request(request, &expected);
    }
}

/// One conditional write grants the probe; a failed condition is a denial with the breaker as
/// the store has it (a missing item: closed).
#[tokio::test]
async fn a_probe_is_granted_by_its_condition_and_denied_with_the_breaker() {
    let seen = Seen::<UpdateItemInput>::default();
    let granted = answers(&seen, &[]);
    let mut probing = breaker_item("open", 5, NOW_MS - 1);
    probing.push(("probe_until_ms", n(NOW_MS + 9_000)));
    let probe_out = refuses(&seen, &probing);
    let missing = refuses(&seen, &[]);
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&granted, &probe_out, &missing],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);
    let d = destination();
    let probe = || store.breaker_probe(&d, NOW_MS, NOW_MS + 10_000);
    assert_eq!(probe().await, Ok(ProbeOutcome::Granted));
    assert_eq!(
        probe().await,
        Ok(ProbeOutcome::Denied(BreakerState {
            probe_until_ms: NOW_MS + 9_000,
            ..open_state(5, NOW_MS - 1, NOW_MS - 1_000)
        }))
    );
    assert_eq!(
        probe().await,
        Ok(ProbeOutcome::Denied(BreakerState {
            key: destination().key,
            label: destination().label,
            ..BreakerState::default()
        }))
    );
    let expected = || Expected {
        pk: BREAKER_PK,
        update: "SET probe_until_ms = :lease, expires_at = :expires",
        condition: Some(
            "#state = :open AND open_until_ms <= :now AND (attribute_not_exists(probe_until_ms) OR probe_until_ms <= :now)",
        ),
        names: &[("#state", "state")],
        values: vec![
            (":open", s("open")),
            (":now", n(NOW_MS)),
            (":lease", n(NOW_MS + 10_000)),
            (":expires", n(EXPIRES)),
        ],
        returns: None,
        returns_on_failure: Some(ReturnValuesOnConditionCheckFailure::AllOld),
    };
    let requests = seen.0.lock().unwrap().clone();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_request(request, &expected());
    }
}

fn slot_free() -> Expected<'static> {
    Expected {
        pk: RATE_PK,
        update: "SET next_slot_ms = :next, expires_at = :expires",
        condition: Some("attribute_not_exists(next_slot_ms) OR next_slot_ms <= :now"),
        names: &[],
        values: vec![
            (":next", n(NOW_MS + 250)),
            (":now", n(NOW_MS)),
            (":expires", n(EXPIRES)),
        ],
        returns: None,
        returns_on_failure: None,
    }
}

fn slot_ahead() -> Expected<'static> {
    Expected {
        pk: RATE_PK,
        update: "SET next_slot_ms = next_slot_ms + :interval, expires_at = :expires",
        condition: Some("next_slot_ms > :now"),
        names: &[],
        values: vec![
            (":interval", n(250)),
            (":now", n(NOW_MS)),
            (":expires", n(EXPIRES)),
        ],
        returns: Some(ReturnValue::UpdatedOld),
        returns_on_failure: None,
    }
}

/// A free slot is one write; a taken one two (the second reserves the next, which the old value
/// names); a slot that passed between the two sends the caller back to the free form once.
#[tokio::test]
async fn a_rate_slot_is_taken_now_or_reserved_ahead() {
    let seen = Seen::<UpdateItemInput>::default();
    let free = answers(&seen, &[]);
    let taken = refuses(&seen, &[]);
    let reserved = answers(&seen, &[("next_slot_ms", n(NOW_MS + 500))]);
    let taken_again = refuses(&seen, &[]);
    let passed = refuses(&seen, &[]);
    let free_again = answers(&seen, &[]);
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&free, &taken, &reserved, &taken_again, &passed, &free_again],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);
    let d = destination();
    let slot = || store.rate_slot(&d, NOW_MS, 250);
    assert_eq!(slot().await, Ok(NOW_MS));
    assert_eq!(slot().await, Ok(NOW_MS + 500));
    assert_eq!(slot().await, Ok(NOW_MS));

    let requests = seen.0.lock().unwrap().clone();
    let expected = [
        slot_free(),
        slot_free(),
        slot_ahead(),
        slot_free(),
        slot_ahead(),
        slot_free(),
    ];
    assert_eq!(requests.len(), expected.len());
    for (request, expected) in requests.iter().zip(expected) {
        assert_request(request, &expected);
    }
}

/// Every page of the scan, breaker items only, sorted by destination.
#[tokio::test]
async fn breakers_scans_every_page_for_breaker_items() {
    let seen = Seen::<ScanInput>::default();
    let (first, second) = (seen.clone(), seen.clone());
    let start = values(&[("pk", s("breaker#sqs:77aa"))]);
    let one = mock!(aws_sdk_dynamodb::Client::scan)
        .match_requests(move |req| first.keep(req))
        .then_output(move || {
            ScanOutput::builder()
                .items(values(&breaker_item("open", 5, NOW_MS + 30_000)))
                .last_evaluated_key("pk", s("breaker#sqs:77aa"))
                .build()
        });
    let two = mock!(aws_sdk_dynamodb::Client::scan)
        .match_requests(move |req| second.keep(req))
        .then_output(|| {
            ScanOutput::builder()
                .items(values(&[
                    ("pk", s("breaker#sqs:77aa")),
                    ("label", s("https://sqs.eu-west-1.amazonaws.com/1/orders")),
                    ("state", s("closed")),
                    ("failures", n(2)),
                ]))
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&one, &two]);
    let store = DynamoStore::new(client, TABLE);
    let all = store.breakers().await.unwrap();
    assert_eq!(
        all,
        [
            open_state(5, NOW_MS + 30_000, NOW_MS - 1_000),
            BreakerState {
                key: "sqs:77aa".into(),
                label: "https://sqs.eu-west-1.amazonaws.com/1/orders".into(),
                failures: 2,
                ..BreakerState::default()
            },
        ]
    );
    let requests = seen.0.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.table_name(), Some(TABLE));
        assert_eq!(
            request.filter_expression(),
            Some("begins_with(pk, :breaker)")
        );
        assert_eq!(
            request.expression_attribute_values(),
            Some(&values(&[(":breaker", s("breaker#"))]))
        );
        assert_eq!(request.consistent_read(), Some(true));
    }
    assert_eq!(requests[0].exclusive_start_key(), None);
    assert_eq!(requests[1].exclusive_start_key(), Some(&start));
}

/// Throttling and server errors are `Unavailable`, for every guard write.
#[tokio::test]
async fn throttling_fails_the_guards_as_unavailable() {
    let [provisioned, limit, throttled, server] = update_failures();
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&provisioned, &limit, &throttled, &server],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);
    let d = destination();
    assert_unavailable(
        store.breaker_failed(&d, NOW_MS, 5, 30_000).await,
        MENTIONS[0],
    );
    assert_unavailable(
        store.breaker_probe(&d, NOW_MS, NOW_MS + 1).await,
        MENTIONS[1],
    );
    assert_unavailable(store.rate_slot(&d, NOW_MS, 250).await, MENTIONS[2]);
    assert_unavailable(store.breaker_succeeded(&d, NOW_MS).await, MENTIONS[3]);
}
