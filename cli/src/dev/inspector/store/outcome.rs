//! What one receive of a delivery's message made of it: each route's latest outcome, its runs,
//! and where the delivery stands once its routes are counted.

use super::Store;
use super::records::{ActionAttempt, Pickup, Progress, Receive, State};
use super::routes::{RouteStage, RouteState, dead_routes};

impl Store {
    /// Sets what a receive made of delivery `id`. A record that finished while some of its
    /// routes wait in the dead-letter queue (they failed for good on an earlier receive, the
    /// others were retried until done) is dead-lettered, not processed: its letter is there.
    /// The receive is kept, with its times, for the delivery's timeline.
    pub(super) fn apply(
        &mut self,
        id: &str,
        pickup: Pickup,
        runs: Vec<ActionAttempt>,
        routes: Vec<RouteState>,
        progress: Progress,
    ) {
        let Some(delivery) = self.deliveries.iter_mut().find(|d| d.id == id) else {
            return;
        };
        let receive = Receive {
            message_id: pickup.message_id,
            receive_count: pickup.receive_count,
            claimed_at: pickup
                .claimed_at_ms
                .map(inlet_signature::clock::format_rfc3339_millis),
            runs: u32::try_from(runs.len()).unwrap_or(u32::MAX),
            routes: routes.clone(),
            ended_at: inlet_signature::clock::format_rfc3339_millis(pickup.ended_at_ms),
            state: progress.state,
            detail: String::new(),
            next_try_at: None,
        };
        for route in routes {
            match delivery.routes.iter_mut().find(|r| r.route == route.route) {
                Some(known) => *known = route.after(known),
                None => delivery.routes.push(route),
            }
        }
        for run in runs {
            let number = u32::try_from(delivery.action_attempts.len()).unwrap_or(u32::MAX);
            delivery.action_attempts.push(ActionAttempt {
                attempt: number.saturating_add(1),
                ..run
            });
        }
        if progress.dead_letter_at.is_some() {
            // Its receives ran out: SQS moves the whole record, with every route still to run.
            for route in &mut delivery.routes {
                route.moved_by_sqs();
            }
        }
        let earlier_try = delivery.next_try_at.take();
        delivery.state = progress.state;
        delivery.state_detail = progress.detail;
        delivery.next_try_at = progress.next_try_at;
        delivery.dead_letter_at = progress.dead_letter_at;
        delivery.attempts = delivery.attempts.saturating_add(1);
        delivery.last_message_id = Some(receive.message_id.clone());
        delivery.gone = false;
        if matches!(delivery.state, State::Processed | State::DeadLettered) {
            settle_routes(delivery, earlier_try);
        }
        delivery.receives.push(Receive {
            state: delivery.state,
            detail: delivery.state_detail.clone(),
            next_try_at: delivery.next_try_at.clone(),
            ..receive
        });
    }
}

/// Where a delivery whose message is done with its routes stands once its routes are counted:
/// another copy of the delivery (the record, while a redrive of its dead letter runs) may still
/// have routes to run, and a route may wait in the dead-letter queue. `earlier_try`: when the
/// waiting routes were to run next.
fn settle_routes(delivery: &mut super::Delivery, earlier_try: Option<String>) {
    let waiting: Vec<String> = delivery
        .routes
        .iter()
        .filter(|r| r.state.is_waiting())
        .map(|r| {
            let how = if r.state == RouteStage::Held {
                "is held back"
            } else {
                "is retried"
            };
            match r.message.as_deref() {
                Some(message) => format!("route {} {how}: {message}", r.route),
                None => format!("route {} {how}", r.route),
            }
        })
        .collect();
    let dead = dead_routes(&delivery.routes);
    if !waiting.is_empty() {
        let retried = delivery
            .routes
            .iter()
            .any(|r| r.state == RouteStage::Retrying);
        delivery.state = if retried {
            State::Retrying
        } else {
            State::Held
        };
        delivery.next_try_at = earlier_try;
        delivery.state_detail = match dead {
            Some(dead) => format!("{}; {dead}", waiting.join("; ")),
            None => waiting.join("; "),
        };
    } else if delivery.state == State::Processed
        && let Some(dead) = dead
    {
        delivery.state = State::DeadLettered;
        delivery.state_detail = format!("{dead}; the other routes delivered");
    }
}
