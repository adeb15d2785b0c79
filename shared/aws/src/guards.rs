//! The delivery guards on DynamoDB: each destination's circuit breaker and rate-limit slot, in
//! the idempotency table, shared by every process function (architecture.md § Outages,
//! § Idempotency record). One item per destination, never one per delivery; every change is a
//! conditional `UpdateItem`, so functions racing on a destination agree without a lock.
//!
//! Requests per operation:
//! - `breaker_failed`: one `UpdateItem` (`ADD failures`, `ALL_NEW`); a second when that count
//!   reaches the threshold of a closed breaker (the conditional open).
//! - `breaker_reopen`, `breaker_probe`: one `UpdateItem`.
//! - `breaker_succeeded`: one `UpdateItem` (`ALL_OLD`); a second, only when it closed an open
//!   breaker, to stamp `changed_at_ms`.
//! - `rate_slot`: one `UpdateItem` when the slot is free; two when it is taken (the second
//!   reserves the next). Only if the item vanished between the two (TTL) do both go once more:
//!   four at most, then `Unavailable`.
//! - `breakers`: one `Scan` per page of the table (the local inspector only).

use crate::dynamo::{DynamoStore, n, s, store_unavailable};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use inlet_core::ports::{
    BreakerFailure, BreakerState, DeliveryGuards, DestinationId, Guarding, ProbeOutcome, StoreError,
};
use std::collections::HashMap;

const BREAKER_PREFIX: &str = "breaker#";
const RATE_PREFIX: &str = "rate#";
const OPEN: &str = "open";
const CLOSED: &str = "closed";
/// A guard item outlives any outage worth remembering, and goes once its destination is gone
/// from the config (TTL, refreshed on each write).
const GUARD_TTL_SECS: i64 = 30 * 24 * 60 * 60;

/// Counts a failure; the new item tells whether it is time to open.
const FAILED_UPDATE: &str = "ADD failures :one SET #label = :label, expires_at = :expires";
const OPEN_UPDATE: &str = "SET #state = :open, open_until_ms = :open_until, failed_probes = :zero, changed_at_ms = :now, #label = :label, expires_at = :expires REMOVE probe_until_ms";
/// Only a closed breaker opens, so of functions racing past the threshold one opens it (and
/// says so) and the others find it open.
const OPEN_CONDITION: &str = "attribute_not_exists(#state) OR #state = :closed";
const REOPEN_UPDATE: &str = "SET #state = :open, open_until_ms = :open_until, changed_at_ms = :now, #label = :label, expires_at = :expires ADD failed_probes :one REMOVE probe_until_ms";
const SUCCEEDED_UPDATE: &str = "SET #state = :closed, failures = :zero, failed_probes = :zero, #label = :label, expires_at = :expires REMOVE open_until_ms, probe_until_ms";
/// After a close: stamped only while it is still closed, so a reopening in between keeps its own.
const CLOSED_AT_UPDATE: &str = "SET changed_at_ms = :now";
const CLOSED_AT_CONDITION: &str = "#state = :closed";
const PROBE_UPDATE: &str = "SET probe_until_ms = :lease, expires_at = :expires";
/// Open, cooled down, and no other probe out (or its lease has run out): one caller wins.
const PROBE_CONDITION: &str = "#state = :open AND open_until_ms <= :now AND (attribute_not_exists(probe_until_ms) OR probe_until_ms <= :now)";
/// The slot is free: the caller calls now, and the next slot is an interval on.
const SLOT_FREE_UPDATE: &str = "SET next_slot_ms = :next, expires_at = :expires";
const SLOT_FREE_CONDITION: &str = "attribute_not_exists(next_slot_ms) OR next_slot_ms <= :now";
/// The slot is taken: the caller reserves the next free one (the old value) and moves it on.
const SLOT_AHEAD_UPDATE: &str =
    "SET next_slot_ms = next_slot_ms + :interval, expires_at = :expires";
const SLOT_AHEAD_CONDITION: &str = "next_slot_ms > :now";
const BREAKERS_FILTER: &str = "begins_with(pk, :breaker)";

type Item = HashMap<String, AttributeValue>;

/// What a conditional write found: the new or old item it returned, or the old item when its
/// condition failed.
enum Written {
    Done(Option<Item>),
    ConditionFailed(Option<Item>),
}

fn expires_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000) + GUARD_TTL_SECS
}

fn number(item: Option<&Item>, name: &str) -> i64 {
    item.and_then(|item| item.get(name)?.as_n().ok()?.parse().ok())
        .unwrap_or(0)
}

fn count(item: Option<&Item>, name: &str) -> u32 {
    u32::try_from(number(item, name).max(0)).unwrap_or(u32::MAX)
}

/// The breaker an item records; a missing item is a closed breaker with no failures.
fn breaker_state(destination: &DestinationId, item: Option<&Item>) -> BreakerState {
    let text = |name: &str| item.and_then(|item| item.get(name)?.as_s().ok().cloned());
    BreakerState {
        key: destination.key.clone(),
        label: text("label").unwrap_or_else(|| destination.label.clone()),
        open: text("state").as_deref() == Some(OPEN),
        failures: count(item, "failures"),
        open_until_ms: number(item, "open_until_ms"),
        failed_probes: count(item, "failed_probes"),
        probe_until_ms: number(item, "probe_until_ms"),
        changed_at_ms: number(item, "changed_at_ms"),
    }
}

impl DynamoStore {
    fn guard_update(&self, pk: String) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
    }

    fn breaker_update(&self, destination: &DestinationId, now_ms: i64) -> UpdateItemFluentBuilder {
        self.guard_update(format!("{BREAKER_PREFIX}{}", destination.key))
            .expression_attribute_names("#label", "label")
            .expression_attribute_values(":label", s(&destination.label))
            .expression_attribute_values(":expires", n(expires_at(now_ms)))
    }

    /// Sends a write; a failed condition is an answer, anything else `Unavailable`.
    async fn written(request: UpdateItemFluentBuilder) -> Result<Written, StoreError> {
        match request.send().await {
            Ok(output) => Ok(Written::Done(output.attributes)),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(Written::ConditionFailed(failed.item.clone()))
                }
                _ => Err(store_unavailable(&error)),
            },
        }
    }

    async fn count_failure(
        &self,
        destination: &DestinationId,
        now_ms: i64,
        threshold: u32,
        cooldown_ms: i64,
    ) -> Result<BreakerFailure, StoreError> {
        let counted = self
            .breaker_update(destination, now_ms)
            .update_expression(FAILED_UPDATE)
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|error| store_unavailable(&error))?;
        let state = breaker_state(destination, counted.attributes.as_ref());
        if state.open || state.failures < threshold {
            return Ok(BreakerFailure {
                state,
                opened: false,
            });
        }
        let open = self
            .breaker_update(destination, now_ms)
            .update_expression(OPEN_UPDATE)
            .condition_expression(OPEN_CONDITION)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":open", s(OPEN))
            .expression_attribute_values(":closed", s(CLOSED))
            .expression_attribute_values(":open_until", n(now_ms.saturating_add(cooldown_ms)))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        Ok(match Self::written(open).await? {
            Written::Done(new) => BreakerFailure {
                state: breaker_state(destination, new.as_ref()),
                opened: true,
            },
            // Another function opened it between our two writes.
            Written::ConditionFailed(old) => BreakerFailure {
                state: breaker_state(destination, old.as_ref()),
                opened: false,
            },
        })
    }

    async fn reopen(
        &self,
        destination: &DestinationId,
        now_ms: i64,
        cooldown_ms: i64,
    ) -> Result<BreakerState, StoreError> {
        let output = self
            .breaker_update(destination, now_ms)
            .update_expression(REOPEN_UPDATE)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":open", s(OPEN))
            .expression_attribute_values(":open_until", n(now_ms.saturating_add(cooldown_ms)))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|error| store_unavailable(&error))?;
        Ok(breaker_state(destination, output.attributes.as_ref()))
    }

    async fn close(&self, destination: &DestinationId, now_ms: i64) -> Result<bool, StoreError> {
        let output = self
            .breaker_update(destination, now_ms)
            .update_expression(SUCCEEDED_UPDATE)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":closed", s(CLOSED))
            .expression_attribute_values(":zero", n(0))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|error| store_unavailable(&error))?;
        let was_open = breaker_state(destination, output.attributes.as_ref()).open;
        if was_open {
            // Only the close is a transition worth a time; a success that merely clears failures
            // must not move it. A failure here loses the time alone: the breaker is closed, and
            // the transition is reported either way (no other function will see it open).
            let stamp = self
                .guard_update(format!("{BREAKER_PREFIX}{}", destination.key))
                .update_expression(CLOSED_AT_UPDATE)
                .condition_expression(CLOSED_AT_CONDITION)
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":closed", s(CLOSED))
                .expression_attribute_values(":now", n(now_ms));
            let _ = Self::written(stamp).await;
        }
        Ok(was_open)
    }

    async fn probe(
        &self,
        destination: &DestinationId,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<ProbeOutcome, StoreError> {
        let request = self
            .guard_update(format!("{BREAKER_PREFIX}{}", destination.key))
            .update_expression(PROBE_UPDATE)
            .condition_expression(PROBE_CONDITION)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":open", s(OPEN))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":lease", n(lease_until_ms))
            .expression_attribute_values(":expires", n(expires_at(now_ms)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        Ok(match Self::written(request).await? {
            Written::Done(_) => ProbeOutcome::Granted,
            Written::ConditionFailed(old) => {
                ProbeOutcome::Denied(breaker_state(destination, old.as_ref()))
            }
        })
    }

    async fn take_slot(
        &self,
        destination: &DestinationId,
        now_ms: i64,
        interval_ms: i64,
    ) -> Result<i64, StoreError> {
        let pk = format!("{RATE_PREFIX}{}", destination.key);
        let expires = n(expires_at(now_ms));
        // The next slot only moves forward, so once it is found ahead of `now_ms` the second
        // write succeeds; only an item that vanished in between (TTL) sends us round again.
        for _ in 0..2 {
            let free = self
                .guard_update(pk.clone())
                .update_expression(SLOT_FREE_UPDATE)
                .condition_expression(SLOT_FREE_CONDITION)
                .expression_attribute_values(":next", n(now_ms.saturating_add(interval_ms)))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":expires", expires.clone());
            if let Written::Done(_) = Self::written(free).await? {
                return Ok(now_ms);
            }
            let ahead = self
                .guard_update(pk.clone())
                .update_expression(SLOT_AHEAD_UPDATE)
                .condition_expression(SLOT_AHEAD_CONDITION)
                .expression_attribute_values(":interval", n(interval_ms))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":expires", expires.clone())
                .return_values(ReturnValue::UpdatedOld);
            if let Written::Done(old) = Self::written(ahead).await? {
                let reserved = old
                    .as_ref()
                    .and_then(|item| item.get("next_slot_ms")?.as_n().ok()?.parse().ok());
                return reserved.ok_or_else(|| {
                    StoreError::Unavailable(format!(
                        "the rate slot of {} came back without its old next_slot_ms",
                        destination.label
                    ))
                });
            }
        }
        Err(StoreError::Unavailable(format!(
            "the rate slot of {} kept changing under the conditional writes",
            destination.label
        )))
    }

    async fn all_breakers(&self) -> Result<Vec<BreakerState>, StoreError> {
        let mut all = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(BREAKERS_FILTER)
                .expression_attribute_values(":breaker", s(BREAKER_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| store_unavailable(&error))?;
            for item in page.items.unwrap_or_default() {
                let Some(key) = item
                    .get("pk")
                    .and_then(|pk| pk.as_s().ok())
                    .and_then(|pk| pk.strip_prefix(BREAKER_PREFIX))
                else {
                    continue;
                };
                let destination = DestinationId {
                    key: key.to_owned(),
                    label: String::new(),
                };
                all.push(breaker_state(&destination, Some(&item)));
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        all.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(all)
    }
}

impl DeliveryGuards for DynamoStore {
    fn breaker_failed<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        threshold: u32,
        cooldown_ms: i64,
    ) -> Guarding<'a, BreakerFailure> {
        Box::pin(self.count_failure(destination, now_ms, threshold, cooldown_ms))
    }

    fn breaker_reopen<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        cooldown_ms: i64,
    ) -> Guarding<'a, BreakerState> {
        Box::pin(self.reopen(destination, now_ms, cooldown_ms))
    }

    fn breaker_succeeded<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
    ) -> Guarding<'a, bool> {
        Box::pin(self.close(destination, now_ms))
    }

    fn breaker_probe<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Guarding<'a, ProbeOutcome> {
        Box::pin(self.probe(destination, now_ms, lease_until_ms))
    }

    fn rate_slot<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        interval_ms: i64,
    ) -> Guarding<'a, i64> {
        Box::pin(self.take_slot(destination, now_ms, interval_ms))
    }

    fn breakers(&self) -> Guarding<'_, Vec<BreakerState>> {
        Box::pin(self.all_breakers())
    }
}
