//! The `log` destination: one structured line per event (key, source, type, route, byte count),
//! never the body.

use crate::actions::destination::{Delivering, Delivery, Destination};

#[derive(Debug, Clone, Copy, Default)]
pub struct LogLine;

impl Destination for LogLine {
    fn deliver<'a>(&'a self, delivery: Delivery<'a>) -> Delivering<'a> {
        let envelope = delivery.event.envelope;
        tracing::info!(
            key = %envelope.key,
            source = %envelope.source,
            event_type = envelope.event_type.as_deref().unwrap_or(""),
            route = delivery.route,
            bytes = delivery.body.len(),
            "event"
        );
        Box::pin(async { Ok(()) })
    }
}
