//! The `sqs` destination: one `SendMessage` per delivery.
//!
//! The message body is the delivered body (base64, with `content_transfer_encoding = base64`,
//! when SQS would refuse it as text), with the String attributes `source`, `type`, `route`,
//! `event_key`, `content_type` (the module above lists them all). On a FIFO queue (URL ending
//! `.fifo`) the message group is the string, number or boolean at the route's `group_pointer` in
//! the delivered body, else the event key; the deduplication id is per (event, route), so a
//! retry within SQS's five minutes is not delivered twice.

use super::{attributes, deduplication_id, failure, key_group_id, message_text, valid_group_id};
use aws_sdk_sqs::types::MessageAttributeValue;
use inlet_core::actions::ActionError;
use inlet_core::actions::destination::{Delivering, Delivery, Destination};

/// One route's queue.
#[derive(Debug, Clone)]
pub struct SqsDestination {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    group_pointer: Option<String>,
    /// What errors call it: "SQS queue `<url>`".
    name: String,
}

impl SqsDestination {
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: String,
        group_pointer: Option<String>,
    ) -> Self {
        Self {
            client,
            name: format!("SQS queue `{queue_url}`"),
            queue_url,
            group_pointer,
        }
    }

    /// The client it sends with (in the destination's region).
    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    /// FIFO queue URLs end in `.fifo`.
    pub fn is_fifo(&self) -> bool {
        self.queue_url.ends_with(".fifo")
    }

    /// The message group: the value at the route's pointer, else the event key.
    fn group_id(&self, delivery: &Delivery<'_>) -> Result<String, ActionError> {
        let Some(pointer) = &self.group_pointer else {
            return Ok(key_group_id(&delivery.event.envelope.key));
        };
        let refused = |why: String| {
            ActionError::Permanent(format!("no message group for {}: {why}", self.name))
        };
        let body: serde_json::Value = serde_json::from_slice(delivery.body).map_err(|_| {
            refused(format!(
                "the body is not JSON, so group_pointer `{pointer}` finds nothing"
            ))
        })?;
        let group = match body.pointer(pointer) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                value.to_string()
            }
            Some(_) | None => {
                return Err(refused(format!(
                    "group_pointer `{pointer}` finds no string or number in the body"
                )));
            }
        };
        if !valid_group_id(&group) {
            return Err(refused(format!(
                "the value at group_pointer `{pointer}` is not a message group id (1 to 128 \
                 printable ASCII characters, no spaces)"
            )));
        }
        Ok(group)
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<(), ActionError> {
        let message = message_text(delivery.body, &self.name)?;
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message.text);
        for (name, value) in attributes(&delivery, message.base64) {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| {
                    ActionError::Permanent(format!("attribute `{name}` for {}: {e}", self.name))
                })?;
            request = request.message_attributes(name, attribute);
        }
        if self.is_fifo() {
            request = request
                .message_group_id(self.group_id(&delivery)?)
                .message_deduplication_id(deduplication_id(
                    &delivery.event.envelope.claim_key(),
                    delivery.route,
                ));
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|error| failure(&format!("SendMessage to {}", self.name), &error))
    }
}

impl Destination for SqsDestination {
    fn deliver<'a>(&'a self, delivery: Delivery<'a>) -> Delivering<'a> {
        Box::pin(self.send(delivery))
    }
}

/// The region a queue URL names: `https://sqs.<region>.amazonaws.com/…` or the legacy
/// `https://<region>.queue.amazonaws.com/…`.
pub(crate) fn region_of(queue_url: &str) -> Option<&str> {
    let rest = queue_url
        .strip_prefix("https://")
        .or_else(|| queue_url.strip_prefix("http://"))?;
    let host = rest.split('/').next()?;
    let mut labels = host.split('.');
    let (first, second) = (labels.next()?, labels.next()?);
    let region = match (first, second) {
        ("sqs", region) => region,
        (region, "queue") => region,
        _ => return None,
    };
    (host.contains(".amazonaws.com") && !region.is_empty()).then_some(region)
}

#[cfg(test)]
mod tests {
    use super::region_of;

    #[test]
    fn queue_urls_name_their_region() {
        assert_eq!(
            region_of("https://sqs.eu-west-1.amazonaws.com/123456789012/orders"),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of("https://us-west-2.queue.amazonaws.com/123456789012/orders.fifo"),
            Some("us-west-2")
        );
        assert_eq!(
            region_of("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"),
            Some("cn-north-1")
        );
        assert_eq!(region_of("http://127.0.0.1:5055/123456789012/orders"), None);
        assert_eq!(
            region_of("https://queue.amazonaws.com/123456789012/q"),
            None
        );
    }
}
