//! The retry state of waiting routes (`Progress::waiting`), kept in the event's item as the map
//! `route_state`: written by a release, read back by the next claim from the old item.

use super::*;
use inlet_core::ports::RouteRetry;
use std::collections::BTreeMap;

fn retry(attempts: u32, next_at_ms: i64, last_error: &str, slot_ms: i64) -> RouteRetry {
    RouteRetry {
        attempts,
        next_at_ms,
        last_error: last_error.into(),
        slot_ms,
    }
}

fn map(pairs: &[(&str, AttributeValue)]) -> AttributeValue {
    AttributeValue::M(values(pairs))
}

/// Waiting routes are written as one map; a route's `last_error` is left out when empty and its
/// `slot_ms` when 0. A release of waiting routes only keeps the record (no DeleteItem), with the
/// route sets removed.
#[tokio::test]
async fn release_writes_the_waiting_routes_as_the_route_state_map() {
    let seen = Seen::<UpdateItemInput>::default();
    let keep = seen.clone();
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |req| keep.keep(req))
        .then_output(|| UpdateItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoStore::new(client, TABLE);

    let progress = Progress {
        done: routes(&["archive"]),
        dead: BTreeSet::new(),
        waiting: BTreeMap::from([
            (
                "crm".to_owned(),
                retry(3, 1_763_816_700_000, "503 Service Unavailable", 0),
            ),
            (
                "slack".to_owned(),
                retry(0, 1_763_816_401_500, "", 1_763_816_401_500),
            ),
        ]),
    };
    assert_eq!(store.release(KEY, TOKEN, &progress).await, Ok(()));

    let request = seen.only();
    let update = "SET #status = :partial, done_routes = :done, route_state = :state REMOVE lease_until, dead_routes";
    assert_eq!(request.update_expression(), Some(update));
    assert_eq!(request.condition_expression(), Some(OWNED_CONDITION));
    assert_eq!(
        request.expression_attribute_values(),
        Some(&values(&[
            (":partial", s("PARTIAL")),
            (":token", s(TOKEN)),
            (":done", ss(&["archive"])),
            (
                ":state",
                map(&[
                    (
                        "crm",
                        map(&[
                            ("attempts", n(3)),
                            ("next_at_ms", n(1_763_816_700_000)),
                            ("last_error", s("503 Service Unavailable")),
                        ])
                    ),
                    (
                        "slack",
                        map(&[
                            ("attempts", n(0)),
                            ("next_at_ms", n(1_763_816_401_500)),
                            ("slot_ms", n(1_763_816_401_500)),
                        ])
                    ),
                ])
            ),
        ]))
    );
    assert_eq!(
        placeholders(&[update, OWNED_CONDITION]),
        defined(
            request.expression_attribute_names(),
            request.expression_attribute_values()
        )
    );
}

/// The claim reads the waiting routes from the old item, as DynamoDB sends it. Entries it cannot
/// read are skipped, never an error: such a route runs as if never tried, where an error would
/// stall the whole event.
#[tokio::test]
async fn a_claim_reads_the_route_state_and_skips_entries_it_cannot_read() {
    let body = format!(
        r#"{{"Attributes":{{"pk":{{"S":"{KEY}"}},"status":{{"S":"PARTIAL"}},"payload_sha256":{{"S":"{SHA}"}},"done_routes":{{"SS":["archive"]}},"route_state":{{"M":{{
            "crm":{{"M":{{"attempts":{{"N":"3"}},"next_at_ms":{{"N":"1763816700000"}},"last_error":{{"S":"timed out"}}}}}},
            "slack":{{"M":{{"attempts":{{"N":"1"}},"next_at_ms":{{"N":"0"}},"slot_ms":{{"N":"1763816401500"}}}}}},
            "not_a_map":{{"S":"3"}},
            "no_attempts":{{"M":{{"next_at_ms":{{"N":"1"}}}}}},
            "negative":{{"M":{{"attempts":{{"N":"-1"}},"next_at_ms":{{"N":"1"}}}}}},
            "error_not_text":{{"M":{{"attempts":{{"N":"1"}},"next_at_ms":{{"N":"1"}},"last_error":{{"N":"5"}}}}}},
            "slot_not_number":{{"M":{{"attempts":{{"N":"1"}},"next_at_ms":{{"N":"1"}},"slot_ms":{{"S":"soon"}}}}}}
        }}}}}}}}"#
    );
    let partial =
        mock!(aws_sdk_dynamodb::Client::update_item).then_http_response(move || http(200, &body));
    // Not a map at all: no route waits.
    let body = format!(
        r#"{{"Attributes":{{"pk":{{"S":"{KEY}"}},"status":{{"S":"PARTIAL"}},"payload_sha256":{{"S":"{SHA}"}},"done_routes":{{"SS":["archive"]}},"route_state":{{"S":"garbled"}}}}}}"#
    );
    let garbled =
        mock!(aws_sdk_dynamodb::Client::update_item).then_http_response(move || http(200, &body));
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&partial, &garbled],
        |c| c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    );
    let store = DynamoStore::new(client, TABLE);

    let expected = Progress {
        done: routes(&["archive"]),
        dead: BTreeSet::new(),
        waiting: BTreeMap::from([
            (
                "crm".to_owned(),
                retry(3, 1_763_816_700_000, "timed out", 0),
            ),
            ("slack".to_owned(), retry(1, 0, "", 1_763_816_401_500)),
        ]),
    };
    assert_eq!(
        store.claim(&claim()).await,
        Ok(ClaimOutcome::New { progress: expected })
    );
    assert_eq!(store.claim(&claim()).await, new(&["archive"], &[]));
}

/// Only waiting routes keep a record that has nothing settled: it is released, not deleted.
#[tokio::test]
async fn release_with_only_waiting_routes_keeps_the_record() {
    let seen = Seen::<UpdateItemInput>::default();
    let keep = seen.clone();
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |req| keep.keep(req))
        .then_output(|| UpdateItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let store = DynamoStore::new(client, TABLE);

    let progress = Progress {
        waiting: BTreeMap::from([("crm".to_owned(), retry(1, 1_763_816_405_000, "", 0))]),
        ..Progress::default()
    };
    assert_eq!(store.release(KEY, TOKEN, &progress).await, Ok(()));
    assert_eq!(
        seen.only().update_expression(),
        Some(
            "SET #status = :partial, route_state = :state REMOVE lease_until, done_routes, dead_routes"
        )
    );
}
