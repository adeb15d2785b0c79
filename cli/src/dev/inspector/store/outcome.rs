//! What one receive of a delivery's message made of it: each route's latest outcome, its runs,
//! and where the delivery stands once its routes are counted.

use super::Store;
use super::records::{ActionAttempt, Progress, State};
use super::routes::{RouteStage, RouteState, dead_routes};

impl Store {
    /// Sets what a receive made of delivery `id`. A record that finished while some of its
    /// routes wait in the dead-letter queue (they failed for good on an earlier receive, the
    /// others were retried until done) is dead-lettered, not processed: its letter is there.
    pub(super) fn apply(
        &mut self,
        id: &str,
        message_id: &str,
        runs: Vec<ActionAttempt>,
        routes: Vec<RouteState>,
        progress: Progress,
    ) {
        let Some(delivery) = self.deliveries.iter_mut().find(|d| d.id == id) else {
            return;
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
        delivery.last_message_id = Some(message_id.to_owned());
        delivery.gone = false;
        if !matches!(delivery.state, State::Processed | State::DeadLettered) {
            return;
        }
        // This message is done with its routes, but another copy of the delivery (the record,
        // while a redrive of its dead letter runs) may not be: the routes say where it stands.
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
}
