//! `DynamoStore::completed`, the one read of the table (for `inlet replay --id`).

use super::*;

/// `inlet replay --id` asks which of its run's claim keys are done: consistent reads of `pk` and
/// `status` only, 100 keys a call, what DynamoDB leaves unprocessed asked again, and only
/// `COMPLETED` records counted.
#[tokio::test]
async fn completed_reads_the_status_of_up_to_100_keys_a_call() {
    use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
    use aws_sdk_dynamodb::types::KeysAndAttributes;

    let keys: Vec<String> = (0..150).map(|i| format!("replay:r-1:github#{i}")).collect();
    let item = |key: &str, status: &str| values(&[("pk", s(key)), ("status", s(status))]);
    let seen = Seen::<BatchGetItemInput>::default();
    let (first, second, third) = (seen.clone(), seen.clone(), seen.clone());
    // The first 100: 0 completed, 1 in progress, 2 left unprocessed; then 2, asked again,
    // completed; then the last 50, of which 149 is completed.
    let left = KeysAndAttributes::builder()
        .keys(values(&[("pk", s(&keys[2]))]))
        .build()
        .unwrap();
    let page =
        |items: Vec<HashMap<String, AttributeValue>>| HashMap::from([(TABLE.to_owned(), items)]);
    let (k0, k1, k2, k149) = (
        keys[0].clone(),
        keys[1].clone(),
        keys[2].clone(),
        keys[149].clone(),
    );
    let one = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .match_requests(move |req| first.keep(req))
        .then_output(move || {
            BatchGetItemOutput::builder()
                .set_responses(Some(page(vec![
                    item(&k0, "COMPLETED"),
                    item(&k1, "IN_PROGRESS"),
                ])))
                .unprocessed_keys(TABLE, left.clone())
                .build()
        });
    let two = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .match_requests(move |req| second.keep(req))
        .then_output(move || {
            BatchGetItemOutput::builder()
                .set_responses(Some(page(vec![item(&k2, "COMPLETED")])))
                .build()
        });
    let three = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .match_requests(move |req| third.keep(req))
        .then_output(move || {
            BatchGetItemOutput::builder()
                .set_responses(Some(page(vec![item(&k149, "COMPLETED")])))
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&one, &two, &three]);
    let done = DynamoStore::new(client, TABLE)
        .completed(&keys)
        .await
        .unwrap();
    let mut done: Vec<String> = done.into_iter().collect();
    done.sort();
    assert_eq!(done, [keys[0].clone(), keys[149].clone(), keys[2].clone()]);

    let requests = seen.0.lock().unwrap().clone();
    let asked: Vec<usize> = requests
        .iter()
        .map(|r| r.request_items().unwrap()[TABLE].keys().len())
        .collect();
    assert_eq!(asked, [100, 1, 50]);
    for request in &requests {
        let wanted = &request.request_items().unwrap()[TABLE];
        assert_eq!(wanted.consistent_read(), Some(true));
        assert_eq!(wanted.projection_expression(), Some("pk, #status"));
        assert_eq!(
            wanted.expression_attribute_names(),
            Some(&names(&[("#status", "status")]))
        );
    }
    assert_eq!(
        requests[1].request_items().unwrap()[TABLE].keys()[0],
        values(&[("pk", s(&keys[2]))])
    );
}
