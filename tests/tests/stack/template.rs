//! `template.yaml` against what the code assumes: the local stack must build what AWS will run,
//! and the deployed functions must keep the invariants architecture.md § Deploy sets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_local::StackSettings;
use inlet_testkit::repo_root;
use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn resource<'a>(template: &'a Yaml, name: &str) -> &'a Yaml {
    let resource = &template["Resources"][name];
    assert!(
        !resource.is_badvalue(),
        "template.yaml has no resource {name}"
    );
    &resource["Properties"]
}

/// A number written directly, or `!Ref` to a parameter's default (the tag is dropped on load, so
/// a reference reads as the parameter's name).
fn number(template: &Yaml, value: &Yaml) -> i64 {
    match value {
        Yaml::Integer(n) => *n,
        Yaml::String(parameter) => template["Parameters"][parameter.as_str()]["Default"]
            .as_i64()
            .unwrap_or_else(|| {
                panic!("{parameter} is neither a number nor a parameter with a default")
            }),
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn the_local_stack_builds_what_the_template_declares() {
    let template = template();
    let local = StackSettings::default();
    let queue = resource(&template, "EventQueue");
    let dead_letters = resource(&template, "DeadLetterQueue");
    let table = resource(&template, "IdempotencyTable");
    let process = resource(&template, "ProcessFunction");

    assert_eq!(
        number(&template, &queue["VisibilityTimeout"]),
        i64::from(local.visibility_timeout_secs)
    );
    assert_eq!(
        number(&template, &queue["MessageRetentionPeriod"]),
        i64::from(local.queue_retention_secs)
    );
    assert_eq!(
        number(&template, &dead_letters["MessageRetentionPeriod"]),
        i64::from(local.dead_letter_retention_secs)
    );
    let redrive = &queue["RedrivePolicy"];
    assert_eq!(
        number(&template, &redrive["maxReceiveCount"]),
        i64::from(local.max_receive_count)
    );
    assert_eq!(
        redrive["deadLetterTargetArn"].as_str(),
        Some("DeadLetterQueue.Arn")
    );
    assert_eq!(
        number(&template, &process["Timeout"]),
        i64::from(local.process_timeout_secs)
    );
    assert_eq!(
        number(
            &template,
            &process["Events"]["Queue"]["Properties"]["BatchSize"]
        ),
        i64::from(local.batch_size)
    );

    let key = &table["KeySchema"][0];
    assert_eq!(
        key["AttributeName"].as_str(),
        Some(local.table_key.as_str())
    );
    assert_eq!(key["KeyType"].as_str(), Some("HASH"));
    assert_eq!(
        table["KeySchema"].as_vec().map(Vec::len),
        Some(1),
        "a single high-cardinality key"
    );
    assert_eq!(
        table["AttributeDefinitions"][0]["AttributeType"].as_str(),
        Some("S")
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(local.ttl_attribute.as_str())
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn deployment_invariants_hold() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(globals["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(globals["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"));
    for (name, binary) in [("IngestFunction", "ingest"), ("ProcessFunction", "process")] {
        let metadata = &template["Resources"][name]["Metadata"];
        assert_eq!(
            metadata["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
        assert_eq!(
            metadata["BuildProperties"]["Binary"].as_str(),
            Some(binary),
            "{name}"
        );
    }

    let queue = resource(&template, "EventQueue");
    let process = resource(&template, "ProcessFunction");
    let timeout = number(&template, &process["Timeout"]);
    assert!(
        number(&template, &queue["VisibilityTimeout"]) >= 6 * timeout,
        "visibility ≥ 6 × timeout"
    );
    let event = &process["Events"]["Queue"]["Properties"];
    assert_eq!(
        event["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    assert!(template["Parameters"]["MaxReceiveCount"]["Default"].as_i64() == Some(5));
    assert_eq!(
        number(
            &template,
            &resource(&template, "DeadLetterQueue")["MessageRetentionPeriod"]
        ),
        14 * 24 * 3600
    );
    let table = resource(&template, "IdempotencyTable");
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
}

/// Every IAM statement in the template names its actions and resources: no `*` anywhere.
#[test]
fn no_wildcard_permissions() {
    fn walk(node: &Yaml, path: &str, statements: &mut usize) {
        match node {
            Yaml::Hash(map) => {
                if let (Some(action), Some(resource)) = (
                    map.get(&Yaml::from_str("Action")),
                    map.get(&Yaml::from_str("Resource")),
                ) {
                    *statements += 1;
                    for value in [action, resource] {
                        let values = match value {
                            Yaml::Array(items) => items.clone(),
                            single => vec![single.clone()],
                        };
                        for value in values {
                            let text = value.as_str().unwrap_or("");
                            assert!(!text.contains('*'), "wildcard `{text}` at {path}");
                        }
                    }
                }
                for (key, value) in map {
                    walk(
                        value,
                        &format!("{path}.{}", key.as_str().unwrap_or("?")),
                        statements,
                    );
                }
            }
            Yaml::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), statements);
                }
            }
            _ => {}
        }
    }
    let mut statements = 0;
    walk(&template()["Resources"], "Resources", &mut statements);
    assert!(statements >= 4, "found only {statements} IAM statements");
}
