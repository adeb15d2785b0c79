//! The idempotency store on DynamoDB: the claim, completion and release of an event key, with
//! the routes each try settled and the retry state of those still waiting (architecture.md
//! § Idempotency record).

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use inlet_core::ports::{Claim, ClaimOutcome, IdempotencyStore, Progress, RouteRetry, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The idempotency table (architecture.md § Idempotency record): key `pk`, one item per event
/// key.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
}

const IN_PROGRESS: &str = "IN_PROGRESS";
/// Released with some routes settled (`done_routes`, `dead_routes`): claimable at once.
const PARTIAL: &str = "PARTIAL";
const COMPLETED: &str = "COMPLETED";
/// New, released with progress, or an abandoned claim whose lease has run out: for the same
/// payload only.
const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR (payload_sha256 = :sha AND (#status = :partial OR (#status = :in_progress AND lease_until < :now)))";
/// An update, not a put: the routes earlier tries settled stay in the item, and come back in
/// the old item (`ReturnValues = ALL_OLD`), so the claim costs one write whatever it finds.
const CLAIM_UPDATE: &str = "SET #status = :in_progress, #token = :token, lease_until = :lease, payload_sha256 = :sha, attempts = :attempts, first_seen = if_not_exists(first_seen, :first_seen), expires_at = :expires";
const DONE_ROUTES: &str = "done_routes";
const DEAD_ROUTES: &str = "dead_routes";
/// Map of route name to its retry state (`RouteRetry`); absent when no route waits.
const ROUTE_STATE: &str = "route_state";
/// A completed event has no route left to retry, so its retry state goes.
const COMPLETE_UPDATE: &str = "SET #status = :completed, completed_at = :now, expires_at = :expires REMOVE lease_until, route_state";
const OWNED_CONDITION: &str = "#token = :token";

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Any DynamoDB failure other than a failed condition: throttling, outages and timeouts may pass
/// on a later try, so they are all transient to the pipeline.
pub(crate) fn store_unavailable<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

/// The answer to a write conditioned on our claim token: a failed condition means the claim is no
/// longer ours.
fn owned_write<O, E: ProvideErrorMetadata + std::error::Error + 'static>(
    result: Result<
        O,
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
    condition_failed: impl FnOnce(&E) -> bool,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.as_service_error().is_some_and(condition_failed) => {
            Err(StoreError::ClaimLost)
        }
        Err(error) => Err(store_unavailable(&error)),
    }
}

/// BatchGetItem takes at most 100 keys per call.
const BATCH_GET_KEYS: usize = 100;
/// Calls for one batch's keys, when DynamoDB leaves some unprocessed (throttling).
const BATCH_GET_ATTEMPTS: u32 = 5;

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The store for `table`, with a client of its own built from `sdk`.
    pub fn from_config(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(sdk), table)
    }

    /// Which of `keys` the table records as completed. Not a pipeline step (the pipelines never
    /// read the table): `inlet replay --id` asks it which of its run's claim keys
    /// (`replay:<id>:<key>`) are already done, so as not to send them again. Strongly
    /// consistent `BatchGetItem`s of `pk` and `status` only, 100 keys each; keys DynamoDB leaves
    /// unprocessed are asked again, a few times.
    pub async fn completed(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut done = std::collections::HashSet::new();
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let mut pending: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|key| HashMap::from([("pk".to_owned(), s(key))]))
                .collect();
            for attempt in 1..=BATCH_GET_ATTEMPTS {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .projection_expression("pk, #status")
                    .expression_attribute_names("#status", "status")
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|error| store_unavailable(&error))?;
                let items = output
                    .responses
                    .and_then(|mut tables| tables.remove(&self.table))
                    .unwrap_or_default();
                for item in items {
                    let field = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
                    if field("status").is_some_and(|status| status == COMPLETED)
                        && let Some(key) = field("pk")
                    {
                        done.insert(key.clone());
                    }
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(&self.table))
                    .map(|left| left.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == BATCH_GET_ATTEMPTS {
                    return Err(StoreError::Unavailable(format!(
                        "DynamoDB left {} key(s) unprocessed {BATCH_GET_ATTEMPTS} times",
                        pending.len()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
        Ok(done)
    }

    /// The routes an item records as settled (string sets; absent when empty).
    fn progress(old: Option<&HashMap<String, AttributeValue>>) -> Progress {
        let set = |name: &str| {
            old.and_then(|item| item.get(name)?.as_ss().ok())
                .map(|values| values.iter().cloned().collect())
                .unwrap_or_default()
        };
        Progress {
            done: set(DONE_ROUTES),
            dead: set(DEAD_ROUTES),
            waiting: old
                .and_then(|item| item.get(ROUTE_STATE)?.as_m().ok())
                .map(waiting_routes)
                .unwrap_or_default(),
        }
    }

    /// What a failed claim condition found, from the old item DynamoDB returned.
    fn classify(old: Option<&HashMap<String, AttributeValue>>, sha: &str) -> ClaimOutcome {
        let field = |name: &str| old.and_then(|item| item.get(name)?.as_s().ok().cloned());
        match (field("status").as_deref(), field("payload_sha256")) {
            (_, Some(recorded)) if recorded != sha => ClaimOutcome::Conflict {
                recorded_sha256: recorded,
            },
            (Some(COMPLETED), _) => ClaimOutcome::Duplicate,
            _ => ClaimOutcome::Busy,
        }
    }
}

impl IdempotencyStore for DynamoStore {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&claim.key))
            .update_expression(CLAIM_UPDATE)
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":partial", s(PARTIAL))
            .expression_attribute_values(":token", s(&claim.token))
            .expression_attribute_values(":lease", n(claim.lease_until))
            .expression_attribute_values(":sha", s(&claim.payload_sha256))
            .expression_attribute_values(":attempts", n(claim.attempts))
            .expression_attribute_values(":first_seen", s(&claim.first_seen))
            .expression_attribute_values(":expires", n(claim.expires_at))
            .expression_attribute_values(":now", n(claim.now))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(ClaimOutcome::New {
                progress: Self::progress(output.attributes()),
            }),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(Self::classify(failed.item(), &claim.payload_sha256))
                }
                _ => Err(store_unavailable(&error)),
            },
        }
    }

    async fn complete(
        &self,
        key: &str,
        token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(COMPLETE_UPDATE)
            .condition_expression(OWNED_CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        owned_write(
            result,
            UpdateItemError::is_conditional_check_failed_exception,
        )
    }

    async fn release(&self, key: &str, token: &str, progress: &Progress) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        if progress.is_empty() {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(key))
                .condition_expression(OWNED_CONDITION)
                .expression_attribute_names("#token", "token")
                .expression_attribute_values(":token", s(token))
                .send()
                .await;
            return owned_write(
                result,
                DeleteItemError::is_conditional_check_failed_exception,
            );
        }
        // Kept, unleased, with what is settled and what waits. A string set cannot be empty: an
        // empty one is removed instead, and so is an empty retry state, so nothing of an
        // earlier try lingers.
        let mut set = vec!["#status = :partial"];
        let mut remove = vec!["lease_until"];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .condition_expression(OWNED_CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":partial", s(PARTIAL))
            .expression_attribute_values(":token", s(token));
        for (attribute, assignment, placeholder, routes) in [
            (DONE_ROUTES, "done_routes = :done", ":done", &progress.done),
            (DEAD_ROUTES, "dead_routes = :dead", ":dead", &progress.dead),
        ] {
            if routes.is_empty() {
                remove.push(attribute);
            } else {
                set.push(assignment);
                request = request.expression_attribute_values(
                    placeholder,
                    AttributeValue::Ss(routes.iter().cloned().collect()),
                );
            }
        }
        if progress.waiting.is_empty() {
            remove.push(ROUTE_STATE);
        } else {
            set.push("route_state = :state");
            request = request.expression_attribute_values(":state", route_state(&progress.waiting));
        }
        let result = request
            .update_expression(format!(
                "SET {} REMOVE {}",
                set.join(", "),
                remove.join(", ")
            ))
            .send()
            .await;
        owned_write(
            result,
            UpdateItemError::is_conditional_check_failed_exception,
        )
    }
}

/// The `route_state` map: one map per waiting route, with `last_error` left out when empty and
/// `slot_ms` when 0 (they usually are, and every byte of the item is paid on each write).
fn route_state(waiting: &BTreeMap<String, RouteRetry>) -> AttributeValue {
    let routes = waiting
        .iter()
        .map(|(route, retry)| {
            let mut fields = HashMap::from([
                ("attempts".to_owned(), n(retry.attempts)),
                ("next_at_ms".to_owned(), n(retry.next_at_ms)),
            ]);
            if !retry.last_error.is_empty() {
                fields.insert("last_error".to_owned(), s(&retry.last_error));
            }
            if retry.slot_ms != 0 {
                fields.insert("slot_ms".to_owned(), n(retry.slot_ms));
            }
            (route.clone(), AttributeValue::M(fields))
        })
        .collect();
    AttributeValue::M(routes)
}

/// The waiting routes of a `route_state` map. An entry that is not a map, or lacks its
/// `attempts` or `next_at_ms`, or has a field of the wrong type, is skipped: the route then runs
/// as if it had not been tried, which costs an early call at worst, where failing the claim
/// would stall the whole event.
fn waiting_routes(state: &HashMap<String, AttributeValue>) -> BTreeMap<String, RouteRetry> {
    state
        .iter()
        .filter_map(|(route, entry)| Some((route.clone(), route_retry(entry.as_m().ok()?)?)))
        .collect()
}

fn route_retry(fields: &HashMap<String, AttributeValue>) -> Option<RouteRetry> {
    let number = |name: &str| fields.get(name)?.as_n().ok()?.parse::<i64>().ok();
    let optional_number = |name: &str| match fields.get(name) {
        None => Some(0),
        Some(_) => number(name),
    };
    let last_error = match fields.get("last_error") {
        None => String::new(),
        Some(value) => value.as_s().ok()?.clone(),
    };
    Some(RouteRetry {
        attempts: u32::try_from(number("attempts")?).ok()?,
        next_at_ms: number("next_at_ms")?,
        last_error,
        slot_ms: optional_number("slot_ms")?,
    })
}
