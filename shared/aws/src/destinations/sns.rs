//! The `sns` destination: one `Publish` per delivery.
//!
//! `Message` is the delivered body as text (base64, with `content_transfer_encoding = base64`,
//! under the same rule as SQS: a subscribed queue must take it), with the String message
//! attributes `source`, `type` (only when the event has one: SNS refuses an empty value),
//! `route`, `event_key` and `content_type`, which subscription filter policies can match. On a
//! FIFO topic (ARN ending `.fifo`) the message group is the event key and the deduplication id
//! is per (event, route).

use super::{attributes, deduplication_id, failure, key_group_id, message_text};
use aws_sdk_sns::types::MessageAttributeValue;
use inlet_core::actions::ActionError;
use inlet_core::actions::destination::{Delivering, Delivery, Destination};

/// One route's topic.
#[derive(Debug, Clone)]
pub struct SnsDestination {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    /// What errors call it: "SNS topic `<arn>`".
    name: String,
}

impl SnsDestination {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self {
            client,
            name: format!("SNS topic `{topic_arn}`"),
            topic_arn,
        }
    }

    /// The client it sends with (in the destination's region).
    pub fn client(&self) -> &aws_sdk_sns::Client {
        &self.client
    }

    /// FIFO topic ARNs end in `.fifo`.
    pub fn is_fifo(&self) -> bool {
        self.topic_arn.ends_with(".fifo")
    }

    async fn publish(&self, delivery: Delivery<'_>) -> Result<(), ActionError> {
        let message = message_text(delivery.body, &self.name)?;
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message.text);
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
            let envelope = delivery.event.envelope;
            request = request
                .message_group_id(key_group_id(&envelope.key))
                .message_deduplication_id(deduplication_id(&envelope.claim_key(), delivery.route));
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|error| failure(&format!("Publish to {}", self.name), &error))
    }
}

impl Destination for SnsDestination {
    fn deliver<'a>(&'a self, delivery: Delivery<'a>) -> Delivering<'a> {
        Box::pin(self.publish(delivery))
    }
}
