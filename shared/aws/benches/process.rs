//! A batch of 10 new events against a store that takes 10 ms per call: run concurrently, the batch
//! takes about one record's three calls (claim, complete, plus scheduling); in series, ten times
//! that. Both run the same pipeline code; only `concurrency` differs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use inlet_core::actions::{Event, Handler};
use inlet_core::config::ProcessSettings;
use inlet_core::envelope::{self, Envelope};
use inlet_core::ports::memory::{MemoryQueue, MemoryStore, MemoryVisibility};
use inlet_core::process::{Deadline, Process, QueuedRecord};
use std::collections::BTreeMap;
use std::time::Duration;

const STORE_LATENCY: Duration = Duration::from_millis(10);

/// An action that takes as long as one store call, like a quick forward.
struct Act;

impl Handler for Act {
    async fn handle(&self, _: &str, _: Event<'_>) -> Result<(), inlet_core::actions::ActionError> {
        tokio::time::sleep(STORE_LATENCY).await;
        Ok(())
    }
}

fn bodies(run: usize) -> Vec<(String, String)> {
    (0..10)
        .map(|i| {
            let event_id = format!("run{run}-event{i}");
            let mut envelope = Envelope {
                v: envelope::VERSION,
                key: envelope::idempotency_key("github", &event_id),
                source: "github".into(),
                scheme: "github".into(),
                event_type: Some("push".into()),
                event_id,
                received_at: "2026-11-22T13:00:00.000Z".into(),
                headers: BTreeMap::new(),
                body: None,
                body_b64: None,
                replay: None,
                body_ref: None,
                schema_errors: None,
                traceparent: None,
                tracestate: None,
            };
            envelope.set_body(br#"{"ref":"refs/heads/main"}"#);
            (format!("m{i}"), envelope.to_json())
        })
        .collect()
}

fn batch_of_ten(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("process");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (name, concurrency) in [
        ("batch10_store10ms_concurrent", 10),
        ("batch10_store10ms_sequential", 1),
    ] {
        let settings = ProcessSettings {
            concurrency,
            ..ProcessSettings::default()
        };
        let process = Process::new(
            MemoryStore::with_latency(STORE_LATENCY),
            MemoryQueue::new(),
            MemoryVisibility::default(),
            Act,
            settings,
        );
        let mut run = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                // Fresh keys each time, so every record is new (claim, action, complete).
                run += 1;
                let owned = bodies(run);
                let records: Vec<QueuedRecord<'_>> = owned
                    .iter()
                    .map(|(id, body)| QueuedRecord {
                        message_id: id,
                        receipt_handle: id,
                        body,
                        receive_count: 1,
                        group_id: None,
                        source: None,
                        origin_message_id: None,
                        routes: None,
                    })
                    .collect();
                let clock = Deadline {
                    now_ms: 1_795_352_400_000,
                    deadline_ms: 1_795_352_430_000,
                };
                let outcome = runtime.block_on(process.handle_batch(&records, clock));
                assert!(outcome.failures().is_empty());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, batch_of_ten);
criterion_main!(benches);
