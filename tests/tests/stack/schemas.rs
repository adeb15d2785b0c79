//! Sources' JSON Schemas through `inlet dev` on the emulator: a conforming push is forwarded;
//! one missing a required field is accepted and dead-lettered as `schema_invalid` with its
//! errors, no route run (`on_invalid = "dead_letter"`, the default), or refused with a 422 that
//! lists them and nothing queued (`"reject"`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::dev_rig::{Rig, Wait, assert_forward, config, forward, github, route, settle};
use inlet_testkit::target::{Script, Target};

/// The schema `events/schemas/github/push.json` is: a realistic one, kept with the samples.
fn push_schema() -> String {
    std::fs::read_to_string(inlet_testkit::repo_root().join("events/schemas/github/push.json"))
        .unwrap()
}

/// A push as GitHub sends it (the fields the schema requires), with `repository` as given.
fn push(repository: &str) -> String {
    format!(
        "{{\"ref\":\"refs/heads/main\",\"before\":\"6113728f27ae82c7b1a177c8d03f9e96e0adf246\",\
         \"after\":\"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c\",\"repository\":{repository},\
         \"pusher\":{{\"name\":\"octocat\"}},\"sender\":{{\"login\":\"octocat\",\"id\":583231}},\
         \"commits\":[],\"head_commit\":null}}"
    )
}

const REPOSITORY: &str = r#"{"id":79929171,"name":"inlet","full_name":"example-org/inlet"}"#;
/// No `id`: the schema requires one.
const REPOSITORY_WITHOUT_ID: &str = r#"{"name":"inlet","full_name":"example-org/inlet"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_breaks_its_schema_is_dead_lettered_or_refused_and_a_good_one_forwarded() {
    let target = Target::start(&[("agent", Script::Ok)]).await;
    let sources = "[sources.github.schemas]\npush = \"schemas/github/push.json\"\n\n\
                   [sources.strict]\nscheme = \"github\"\nsecrets = [\"env:INLET_ROUTING_GITHUB\"]\n\
                   on_invalid = \"reject\"\n\n[sources.strict.schemas]\n\"*\" = \"schemas/github/push.json\"\n\n";
    let routes = route("agent", "", &forward(&target, "agent"));
    let schema = push_schema();
    let mut rig = Rig::start_with_files(
        &config(&format!("{sources}{routes}")),
        &[("schemas/github/push.json", &schema)],
        &[],
    )
    .await;

    let good = github("push", "schema-good", "application/json", &push(REPOSITORY));
    let bad = github(
        "push",
        "schema-bad",
        "application/json",
        &push(REPOSITORY_WITHOUT_ID),
    );
    rig.post_queued(&good).await;
    rig.post_queued(&bad).await;

    // The strict source refuses the same bad push outright.
    let (status, text) = rig.post("strict", &bad).await;
    assert_eq!(status, 422, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["error"], "schema_invalid", "{answer}");
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{answer}");
    assert_eq!(errors[0]["pointer"], "/repository", "{answer}");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("'id'"),
        "{answer}"
    );

    let wait = Wait::until("the good push forwarded, the bad one dead-lettered, the queue empty");
    while !(target.count(|h| h.succeeded()) > 0
        && rig.idle().await
        && rig.depth("inlet-events-dlq").await.0 > 0)
    {
        wait.tick(&mut rig, || format!("{:#?}", target.all_hits()))
            .await;
    }
    settle(&mut rig).await;

    let hits = target.all_hits();
    assert_eq!(
        hits.len(),
        1,
        "only the good push reached the route: {hits:#?}"
    );
    assert_forward(&hits[0], &good.key, "agent", &good.body);

    let letters = rig.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let letter = &letters[0];
    assert_eq!(letter["key"], bad.key.as_str(), "{letter:#}");
    assert_eq!(letter["reason"], "schema_invalid", "{letter:#}");
    assert_eq!(
        letter["schema_errors"][0]["pointer"], "/repository",
        "{letter:#}"
    );
    assert_eq!(
        letter["body"].as_str().unwrap().as_bytes(),
        bad.body.as_slice(),
        "the body is kept byte for byte"
    );
    // No route ran it, so it was never claimed either.
    assert!(rig.record(&bad.key).await.is_empty());
    let peek = rig.inlet(&["dlq", "peek"]).await;
    assert!(
        peek.stdout.contains("  reason:    schema_invalid")
            && peek.stdout.contains("  schema:    /repository: "),
        "{peek:?}"
    );
    // The strict source queued nothing: the one dead letter is the github source's.
    let log = rig.dev.log();
    assert!(!log.contains("strict#schema-bad"), "{log}");
}
