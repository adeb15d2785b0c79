//! The dead-letter queue's side of the store: deliveries redriven, deleted, or no longer held.

use super::Store;
use super::records::{Delivery, LetterMove, State};

impl Store {
    /// The delivery whose dead letter was sent back to the queue (by the page or `inlet dlq`) as
    /// message `message_id`. Told after the move, this can come after process has already taken
    /// that message: then the delivery's state is newer and stays.
    pub(crate) fn redriven(
        &mut self,
        origin: &str,
        message_id: &str,
        detail: String,
    ) -> Option<String> {
        let delivery = self.by_origin(origin)?;
        if delivery.last_message_id.as_deref() == Some(message_id) {
            return Some(delivery.id.clone());
        }
        // The letter of routes that failed for good while others are retried: the record is
        // still in the queue for those, and stays as it is said to be.
        let record_waits =
            delivery.state.is_waiting() && delivery.routes.iter().any(|r| r.state.is_waiting());
        for route in &mut delivery.routes {
            route.redriven(&detail);
        }
        moved(delivery, "redriven", &detail);
        delivery.gone = false;
        if !record_waits {
            delivery.state = State::Queued;
            delivery.next_try_at = None;
            delivery.state_detail = detail;
        }
        let id = delivery.id.clone();
        self.persist(&id);
        Some(id)
    }

    /// The delivery whose dead letter was deleted for good.
    pub(crate) fn deleted(&mut self, origin: &str, detail: String) -> Option<String> {
        let delivery = self.by_origin(origin)?;
        moved(delivery, "deleted", &detail);
        delivery.state = State::Deleted;
        delivery.state_detail = detail;
        delivery.next_try_at = None;
        let id = delivery.id.clone();
        self.persist(&id);
        Some(id)
    }

    /// Marks the dead-lettered deliveries whose dead letters the queue no longer holds as gone:
    /// `present` holds the origins of those it does. Run once at start, against whatever emulator
    /// this run has (a fresh one has none).
    pub(crate) fn reconcile_dead_letters(&mut self, present: &std::collections::HashSet<String>) {
        let mut changed = Vec::new();
        for delivery in &mut self.deliveries {
            if delivery.state != State::DeadLettered {
                continue;
            }
            let held = delivery
                .message_id
                .as_ref()
                .is_some_and(|origin| present.contains(origin));
            if delivery.gone != held {
                continue;
            }
            delivery.gone = !held;
            changed.push(delivery.id.clone());
        }
        for id in changed {
            self.persist(&id);
        }
    }

    /// Marks a dead-lettered delivery as no longer in the dead-letter queue, with why.
    pub(crate) fn left_dead_letter_queue(&mut self, id: &str, detail: String) {
        if let Some(delivery) = self.deliveries.iter_mut().find(|d| d.id == id) {
            delivery.gone = true;
            delivery.state_detail = detail;
            delivery.next_try_at = None;
            self.persist(id);
        }
    }
}

/// Keeps, for the delivery's timeline, that its dead letter was `what` (`redriven`, `deleted`)
/// now.
fn moved(delivery: &mut Delivery, what: &str, detail: &str) {
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    delivery.letter_moves.push(LetterMove {
        at: inlet_signature::clock::format_rfc3339_millis(now_ms),
        what: what.to_owned(),
        detail: detail.to_owned(),
    });
}
