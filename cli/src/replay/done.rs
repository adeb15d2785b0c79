//! What a resumed run already did: its events' claim keys looked up in the idempotency table.

use crate::state::Target;
use inlet_aws::DynamoStore;
use inlet_core::envelope::Envelope;
use inlet_core::ports::StoreError;
use inlet_local::StackSettings;
use std::collections::HashSet;

/// Where a run's finished events are recorded: the idempotency table, under each event's claim key
/// (`replay:<id>:<key>`).
pub(super) trait Done {
    /// Which of `claim_keys` are completed.
    async fn completed(&self, claim_keys: &[String]) -> Result<HashSet<String>, StoreError>;
}

impl Done for DynamoStore {
    async fn completed(&self, claim_keys: &[String]) -> Result<HashSet<String>, StoreError> {
        DynamoStore::completed(self, claim_keys).await
    }
}

/// Takes out of `events` (each already carrying its run's id) those the run has done, and gives
/// how many. Sending them again would change nothing (process acknowledges them as duplicates),
/// but the count is what tells the user the run had got that far.
pub(super) async fn leave_out_done(
    done: &impl Done,
    events: &mut Vec<Envelope>,
) -> Result<usize, StoreError> {
    let keys: Vec<String> = events.iter().map(Envelope::claim_key).collect();
    let completed = done.completed(&keys).await?;
    let before = events.len();
    events.retain(|event| !completed.contains(&event.claim_key()));
    Ok(before - events.len())
}

/// The idempotency table: the running `inlet dev`'s, `INLET_TABLE`, or against an emulator the
/// local stack's name. AWS's is generated (the stack's `IdempotencyTableName`): without
/// `INLET_TABLE` there is none to ask.
pub(super) fn table_name(target: &Target, local: bool) -> Option<String> {
    if let Target::Local(state) = target {
        return Some(state.table_name.clone());
    }
    std::env::var("INLET_TABLE")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| local.then(|| StackSettings::default().table_name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::replay::tests::event;

    /// A table that records `completed` as done, or is down.
    struct Table {
        completed: Vec<String>,
        down: bool,
        asked: std::sync::Mutex<Vec<String>>,
    }

    impl Done for Table {
        async fn completed(&self, claim_keys: &[String]) -> Result<HashSet<String>, StoreError> {
            self.asked
                .lock()
                .unwrap()
                .extend(claim_keys.iter().cloned());
            if self.down {
                return Err(StoreError::Unavailable("throttled".into()));
            }
            Ok(claim_keys
                .iter()
                .filter(|k| self.completed.contains(k))
                .cloned()
                .collect())
        }
    }

    #[tokio::test]
    async fn what_the_run_already_did_is_left_out_and_counted() {
        let mut events: Vec<Envelope> = ["a", "b", "c"]
            .iter()
            .map(|id| {
                let mut e = event("github", id, "push", "2026-11-28T14:00:00.000Z");
                e.replay = Some("r-1".into());
                e
            })
            .collect();
        let table = Table {
            // Done in this run, and (under its own key) the original of c: only the run counts.
            completed: vec!["replay:r-1:github#a".into(), "github#c".into()],
            down: false,
            asked: std::sync::Mutex::default(),
        };
        assert_eq!(leave_out_done(&table, &mut events).await, Ok(1));
        let left: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(left, ["github#b", "github#c"]);
        assert_eq!(
            *table.asked.lock().unwrap(),
            [
                "replay:r-1:github#a",
                "replay:r-1:github#b",
                "replay:r-1:github#c"
            ]
        );

        let down = Table {
            completed: Vec::new(),
            down: true,
            asked: std::sync::Mutex::default(),
        };
        assert!(leave_out_done(&down, &mut events).await.is_err());
        assert_eq!(
            events.len(),
            2,
            "nothing is taken out when the table cannot tell"
        );
    }
}
